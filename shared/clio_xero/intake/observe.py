"""Logging and metrics protocols, kept importable here for intake's modules; they live in
:mod:`clio_xero.observe`, the one observability module."""

from __future__ import annotations

from clio_xero.observe import Counter, Log

__all__ = ["Counter", "Log"]
