"""Three-way, field-level merge of a contact (pure).

``base`` is what both sides held after the last sync (kept in the mapping). For each field of
the shared projection:

* both sides equal → that value;
* only one side moved away from ``base`` → that side's value;
* both moved to different values → a **conflict**: the side whose record changed most recently
  (Clio ``updated_at`` vs Xero ``UpdatedDateUTC``) wins; a tie goes to Clio. The conflict is
  recorded so `clio-xero contacts review` can show it.

With no base (a first link), Clio's values win and Clio's empty fields are filled from Xero.
The contact kind (person/company) always follows Clio: Xero has no such flag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from clio_xero.sync.contacts.projection import SharedContact
from clio_xero.sync.mapping import Conflict

_MS_DATE = re.compile(r"/Date\((-?\d+)([+-]\d{4})?\)/")


def parse_xero_date(value: str | None) -> datetime | None:
    """``/Date(1700000000000+0000)/`` (or ISO-8601) → aware datetime."""
    if not value:
        return None
    match = _MS_DATE.fullmatch(value.strip())
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
    return parse_iso(value)


def parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class MergeResult:
    merged: SharedContact
    conflicts: list[Conflict] = field(default_factory=list)

    def writes_clio(self, clio: SharedContact) -> bool:
        return self.merged != clio

    def writes_xero(self, xero: SharedContact) -> bool:
        return self.merged != xero


def merge(
    base: SharedContact | None,
    clio: SharedContact,
    xero: SharedContact,
    *,
    clio_changed_at: datetime | None,
    xero_changed_at: datetime | None,
    now: datetime,
) -> MergeResult:
    clio_values, xero_values = clio.model_dump(), xero.model_dump()
    merged: dict[str, Any] = {}
    conflicts: list[Conflict] = []
    if base is None:
        for name, value in clio_values.items():
            merged[name] = value if value not in ("", None) else xero_values[name]
    else:
        base_values = base.model_dump()
        for name, base_value in base_values.items():
            c, x = clio_values[name], xero_values[name]
            if x in (c, base_value):
                merged[name] = c
            elif c == base_value:
                merged[name] = x
            else:
                xero_newer = bool(clio_changed_at and xero_changed_at and xero_changed_at > clio_changed_at)
                winner = "xero" if xero_newer else "clio"
                merged[name] = x if xero_newer else c
                conflicts.append(
                    Conflict(
                        at=now,
                        field=name,
                        clio_value=c,
                        xero_value=x,
                        winner=winner,
                        reason=f"both changed since the last sync; {winner} changed last"
                        if clio_changed_at and xero_changed_at
                        else "both changed since the last sync; no timestamps, Clio wins",
                    )
                )
    merged["kind"] = clio.kind
    return MergeResult(SharedContact.model_validate(merged), conflicts)
