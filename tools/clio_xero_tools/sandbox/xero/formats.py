"""Pure helpers for Xero's wire formats: MS-JSON dates, money rounding, GUIDs.

Kept free of sandbox state so the rules can be unit-tested on their own and reused by the seed.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from email.utils import parsedate_to_datetime

__all__ = [
    "CENT",
    "ROUNDING",
    "is_guid",
    "iso_datetime",
    "money",
    "ms_date",
    "ms_datetime",
    "parse_if_modified_since",
    "parse_input_date",
    "round2",
    "to_decimal",
]

CENT = Decimal("0.01")
# UNCONFIRMED: Xero does not document its midpoint rule. It rounds "per line to 2 dp"
# (docs/facts-xero.md#guidance); we use half-up (commercial rounding, what the Xero UI shows for .005 cases we know of).
# Change it here only: every total in the sandbox goes through round2().
ROUNDING = ROUND_HALF_UP

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def is_guid(value: str) -> bool:
    return bool(_GUID.match(value))


def new_guid() -> str:
    return str(uuid.uuid4())


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUNDING)


def to_decimal(value: object) -> Decimal:
    """Parse a JSON number (or numeric string) exactly; floats go through ``str`` so 0.1 stays 0.1."""
    if isinstance(value, bool):
        raise ValueError("boolean is not a number")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | float | str):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
    raise ValueError(f"not a number: {value!r}")


def money(value: Decimal) -> float:
    """A 2-dp Decimal as the JSON number Xero sends (e.g. ``115.0``, ``12.35``)."""
    return float(round2(value))


def _ms(dt: datetime) -> int:
    return int((dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1))


def ms_datetime(dt: datetime) -> str:
    """``UpdatedDateUTC`` style: ``/Date(1551399321043+0000)/``."""
    return f"/Date({_ms(dt.astimezone(UTC))}+0000)/"


def ms_date(d: date) -> str:
    """Document dates (``Date``, ``DueDate``): midnight UTC in MS-JSON, ``/Date(1551139200000+0000)/``."""
    return ms_datetime(datetime(d.year, d.month, d.day, tzinfo=UTC))


def iso_datetime(dt: datetime) -> str:
    """``UpdatedDateUTCString`` / ``DateString`` style: ``2019-11-14T18:10:38``."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_input_date(value: object) -> date:
    """Accept what clients send for dates: ``YYYY-MM-DD``, an ISO datetime, or ``/Date(ms)/``."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"invalid date {value!r}")
    m = _MS_DATE.match(value)
    if m:
        return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(m.group(1)))).date()
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise ValueError(f"invalid date {value!r}") from None


def parse_if_modified_since(value: str) -> datetime:
    """``If-Modified-Since``: RFC 1123 (HTTP-date) or ISO 8601; a naive time is taken as UTC."""
    text = value.strip()
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            dt = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            raise ValueError(f"invalid If-Modified-Since {value!r}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def xero_date_string(d: date) -> str:
    """``DateString`` companion of a document date: ``2026-01-05T00:00:00``."""
    return f"{d.isoformat()}T00:00:00"
