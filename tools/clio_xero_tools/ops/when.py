"""``--since`` / ``--until`` values: ISO dates or times (UTC unless they say otherwise) or ``2h``, ``3d``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.I)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(value: str, now: datetime) -> datetime:
    """A point in time from ``value``: ``90m``, ``2h``, ``3d``, ``1w`` ago, or an ISO 8601 date/time.

    A bare date means its midnight UTC; a time without an offset is UTC.

    >>> parse_when("2h", datetime(2026, 1, 5, 12, tzinfo=UTC)).hour
    10
    """
    relative = _RELATIVE.match(value)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        return now - timedelta(**{_UNITS[unit]: amount})
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"cannot read {value!r} as a time: use an ISO date/time (2026-01-05, 2026-01-05T09:30) "
            "or a relative one (30m, 2h, 3d, 1w)"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
