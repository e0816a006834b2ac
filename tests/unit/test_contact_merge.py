"""Three-way field-level merge."""

from __future__ import annotations

from datetime import UTC, datetime

from clio_xero.sync.contacts.merge import merge, parse_iso, parse_xero_date
from clio_xero.sync.contacts.projection import SharedContact

NOW = datetime(2026, 11, 25, tzinfo=UTC)
EARLY = datetime(2026, 11, 24, 9, tzinfo=UTC)
LATE = datetime(2026, 11, 24, 10, tzinfo=UTC)
BASE = SharedContact(kind="person", name="Ada L", first_name="Ada", last_name="L", email="a@x.test", tax_number="1")


def test_one_sided_changes_flow_to_the_other_side() -> None:
    clio = BASE.model_copy(update={"email": "new@x.test"})
    xero = BASE.model_copy(update={"tax_number": "2"})
    result = merge(BASE, clio, xero, clio_changed_at=EARLY, xero_changed_at=LATE, now=NOW)
    assert result.merged == BASE.model_copy(update={"email": "new@x.test", "tax_number": "2"})
    assert result.conflicts == []
    assert result.writes_clio(clio) and result.writes_xero(xero)


def test_a_real_conflict_goes_to_the_newest_change_and_is_recorded() -> None:
    clio = BASE.model_copy(update={"email": "clio@x.test"})
    xero = BASE.model_copy(update={"email": "xero@x.test"})
    newest_xero = merge(BASE, clio, xero, clio_changed_at=EARLY, xero_changed_at=LATE, now=NOW)
    assert newest_xero.merged.email == "xero@x.test"
    [conflict] = newest_xero.conflicts
    assert (conflict.field, conflict.winner, conflict.clio_value, conflict.xero_value) == (
        "email",
        "xero",
        "clio@x.test",
        "xero@x.test",
    )
    newest_clio = merge(BASE, clio, xero, clio_changed_at=LATE, xero_changed_at=EARLY, now=NOW)
    assert newest_clio.merged.email == "clio@x.test"
    tie = merge(BASE, clio, xero, clio_changed_at=None, xero_changed_at=LATE, now=NOW)
    assert tie.merged.email == "clio@x.test"
    assert "no timestamps" in tie.conflicts[0].reason


def test_same_change_on_both_sides_is_no_conflict() -> None:
    both = BASE.model_copy(update={"email": "same@x.test"})
    result = merge(BASE, both, both, clio_changed_at=EARLY, xero_changed_at=LATE, now=NOW)
    assert result.conflicts == []
    assert not result.writes_clio(both) and not result.writes_xero(both)


def test_first_link_prefers_clio_and_fills_its_gaps_from_xero() -> None:
    clio = SharedContact(kind="person", name="Ada L", first_name="Ada", last_name="L", email="a@x.test")
    xero = SharedContact(kind="company", name="Ada L.", email="other@x.test", phone_work="123", tax_number="T")
    merged = merge(None, clio, xero, clio_changed_at=None, xero_changed_at=None, now=NOW).merged
    assert (merged.name, merged.email, merged.phone_work, merged.tax_number, merged.kind) == (
        "Ada L",
        "a@x.test",
        "123",
        "T",
        "person",
    )


def test_dates() -> None:
    assert parse_xero_date("/Date(1764000000000+0000)/") == datetime(2025, 11, 24, 16, 0, tzinfo=UTC)
    assert parse_xero_date("2026-01-01T00:00:00") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_xero_date(None) is None
    assert parse_iso("2026-11-24T10:00:00-05:00") == datetime(2026, 11, 24, 15, tzinfo=UTC)
    assert parse_iso("garbage") is None
