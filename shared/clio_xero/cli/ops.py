"""``clio-xero status``, ``errors``, ``retry``, ``replay``, ``dlq ...``, ``settings ...`` (issue 5)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
