"""URL routing of the Xero sandbox: werkzeug ``Map``/``Rule`` tables, as the Clio sandbox routes.

Xero matches resource paths case-insensitively (``/Invoices``, ``/invoices`` and ``/INVOICES`` are
one resource; see docs/sandbox-xero.md). werkzeug has no case-insensitive switch, so every rule is
written in lower case and matched against the lower-cased path; the values of the variable
segments (an ``InvoiceNumber``, a ``ContactNumber``, an item ``Code``) are then read back from the
original path, so their case survives the match.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule

__all__ = ["Match", "Router"]


@dataclass(frozen=True)
class Match:
    """The rule's endpoint and the values of its variable segments, in path order, case kept."""

    endpoint: Any
    args: tuple[str, ...]


class Router:
    """Case-insensitive matching over a werkzeug ``Map`` (rules must be written in lower case)."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._map = Map(list(rules), strict_slashes=False, merge_slashes=False)

    def match(self, method: str, path: str) -> Match | None:
        """The matching rule for ``method path``, or ``None`` (no such path, or not that method)."""
        trimmed = path.rstrip("/") or "/"
        adapter = self._map.bind("sandbox")
        try:
            rule, _ = adapter.match(trimmed.lower(), method=method, return_rule=True)
        except HTTPException:  # NotFound / MethodNotAllowed: the caller answers as Xero does
            return None
        segments = trimmed.split("/")
        pattern = str(rule.rule).split("/")
        args = tuple(segments[i] for i, part in enumerate(pattern) if part.startswith("<"))
        return Match(rule.endpoint, args)

    def rules(self) -> list[str]:
        return sorted({str(r.rule) for r in self._map.iter_rules()})
