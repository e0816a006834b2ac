"""Pure rules: line maths, transitions, the where subset, wire formats; plus schema-validation proof."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest

from clio_xero_tools.sandbox.xero import SchemaViolationError, XeroSandbox, contacts
from clio_xero_tools.sandbox.xero.formats import ms_date, ms_datetime, parse_if_modified_since, parse_input_date, round2
from clio_xero_tools.sandbox.xero.rules import compute_line, document_totals, invoice_transition_error
from clio_xero_tools.sandbox.xero.where import WhereError, parse_where

D = Decimal


def line(**kw: object) -> tuple[Decimal, Decimal]:
    args: dict[str, object] = {
        "quantity": None, "unit_amount": None, "line_amount": None, "discount_rate": None,
        "discount_amount": None, "tax_rate": D(10), "line_amount_types": "Exclusive", "tax_amount": None,
    }  # fmt: skip
    args.update(kw)
    math = compute_line(**args)  # type: ignore[arg-type]
    return math.line_amount, math.tax_amount


def test_round2_is_half_up() -> None:
    assert round2(D("0.005")) == D("0.01")
    assert round2(D("0.015")) == D("0.02")
    assert round2(D("-0.005")) == D("-0.01")


def test_compute_line_cases() -> None:
    assert line(quantity=D(3), unit_amount=D("10.005")) == (D("30.02"), D("3.00"))
    assert line(quantity=D(1), unit_amount=D(110), line_amount_types="Inclusive") == (D("110.00"), D("10.00"))
    assert line(quantity=D(1), unit_amount=D(99), line_amount_types="NoTax") == (D("99.00"), D(0))
    assert line(quantity=D(2), unit_amount=D(50), discount_amount=D("12.5")) == (D("87.50"), D("8.75"))
    assert line(line_amount=D(40)) == (D("40.00"), D("4.00"))
    assert line() == (D(0), D(0))
    assert line(quantity=D(1), unit_amount=D(1), tax_amount=D("0.5")) == (D("1.00"), D("0.50"))
    with pytest.raises(ValueError, match="does not match"):
        line(quantity=D(2), unit_amount=D(5), line_amount=D(12))


def test_totals_sum_rounded_lines() -> None:
    lines = [(D("0.05"), D("0.01"))] * 3
    assert document_totals(lines, "Exclusive") == (D("0.15"), D("0.03"), D("0.18"))
    assert document_totals(lines, "Inclusive") == (D("0.12"), D("0.03"), D("0.15"))


@pytest.mark.parametrize(
    ("current", "wanted", "paid", "ok"),
    [
        ("DRAFT", "SUBMITTED", False, True),
        ("DRAFT", "AUTHORISED", False, True),
        ("DRAFT", "DELETED", False, True),
        ("SUBMITTED", "AUTHORISED", False, True),
        ("SUBMITTED", "DELETED", False, True),
        ("AUTHORISED", "VOIDED", False, True),
        ("AUTHORISED", "VOIDED", True, False),
        ("AUTHORISED", "DELETED", False, False),
        ("AUTHORISED", "DRAFT", False, False),
        ("DRAFT", "VOIDED", False, False),
        ("DRAFT", "PAID", False, False),
        ("PAID", "VOIDED", True, False),
        ("VOIDED", "AUTHORISED", False, False),
        ("DELETED", "DRAFT", False, False),
    ],
)
def test_transition_table(current: str, wanted: str, paid: bool, ok: bool) -> None:
    assert (invoice_transition_error(current, wanted, has_payments=paid) is None) is ok


def test_where_parser() -> None:
    row = {"Name": "Harbour Ltd", "Status": "AUTHORISED", "AmountDue": 10.5, "Contact": {"ContactID": "ABC"},
           "Date": "/Date(1767571200000+0000)/", "IsCustomer": True, "Number": None}  # fmt: skip
    assert parse_where('Status=="AUTHORISED" && AmountDue>10')(row)
    assert parse_where('Status=="DRAFT" OR Name.EndsWith("ltd")')(row)
    assert parse_where('NOT (Status=="DRAFT")')(row)
    assert parse_where('Contact.ContactID=guid("abc")')(row)
    assert parse_where("Date>=DateTime(2026,01,05) AND Date<DateTime(2026,01,06)")(row)
    assert parse_where("IsCustomer==true AND Number==null")(row)
    assert not parse_where('Name.StartsWith("x")')(row)
    assert parse_where("")(row)
    for bad in ('Name ~= "x"', "Name==", '(Status=="A"', 'Name.Foo("x")x'):
        with pytest.raises(WhereError):
            parse_where(bad)


def test_wire_formats() -> None:
    assert ms_datetime(datetime(2019, 3, 1, 0, 15, 21, 43000, tzinfo=UTC)) == "/Date(1551399321043+0000)/"
    assert ms_date(date(2019, 2, 26)) == "/Date(1551139200000+0000)/"
    assert parse_input_date("/Date(1551139200000+0000)/") == date(2019, 2, 26)
    assert parse_input_date("2026-01-05T10:00:00") == date(2026, 1, 5)
    assert parse_if_modified_since("2020-02-06T12:17:43.202-08:00") == datetime(
        2020, 2, 6, 20, 17, 43, 202000, tzinfo=UTC
    )
    assert parse_if_modified_since("Thu, 06 Feb 2020 20:17:43 GMT").tzinfo is not None
    with pytest.raises(ValueError, match="invalid date"):
        parse_input_date("05/01/2026")


def test_validation_really_checks_bodies(
    api: httpx.Client, sandbox: XeroSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proof the fidelity net is live: a body that breaks the official schema raises."""
    original = contacts.contact_json

    def broken(c: object, *, full: bool = True) -> dict[str, object]:
        out = original(c, full=full)  # type: ignore[arg-type]
        out["ContactStatus"] = "SOMETIMES"
        return out

    api.put("Contacts", json={"Contacts": [{"Name": "Schema Probe"}]})
    monkeypatch.setattr(contacts, "contact_json", broken)
    with pytest.raises(SchemaViolationError, match="ContactStatus"):
        api.get("Contacts")
    assert sandbox.schema_violations
    sandbox.schema_violations.clear()
