"""``clio-xero backfill contacts`` and ``clio-xero contacts review|link|unlink`` (issue 4)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
