"""A failed batch element is echoed back the way Xero's model holds it: numbers as JSON numbers
even when they were sent as strings (``"UnitAmount": "100.00"``), so the answer still validates
against the official spec (the ``sandbox`` fixture fails the test on any violation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from clio_xero_tools.sandbox.xero import XeroSandbox


def line(**fields: Any) -> dict[str, Any]:
    return {"Description": "Advice", "Quantity": "2", "UnitAmount": "100.00", "AccountCode": "200", **fields}


@pytest.mark.parametrize("summarize", ["false", "true"])
def test_a_failed_invoice_echoes_its_amounts_as_numbers(
    api: httpx.Client, sandbox: XeroSandbox, make_contact: Callable[..., dict[str, Any]], summarize: str
) -> None:
    contact = {"ContactID": make_contact("Echo Client")["ContactID"]}
    good = {"Type": "ACCREC", "Contact": contact, "DueDate": "2026-02-05", "LineItems": [line()]}
    bad = {"Type": "ACCREC", "Contact": contact, "DueDate": "2026-02-05", "LineItems": [line(AccountCode="NOPE")]}
    r = api.put(f"Invoices?summarizeErrors={summarize}", json={"Invoices": [good, bad]})
    elements = r.json()["Invoices"] if summarize == "false" else r.json()["Elements"]
    assert r.status_code == (200 if summarize == "false" else 400), r.text
    failed = elements[-1]
    assert failed["ValidationErrors"], failed
    assert failed["LineItems"][0]["UnitAmount"] == 100.0
    assert failed["LineItems"][0]["Quantity"] == 2.0
    assert sandbox.schema_violations == []


def test_an_amount_that_is_not_a_number_is_left_out_of_the_echo(
    api: httpx.Client, make_contact: Callable[..., dict[str, Any]]
) -> None:
    contact = {"ContactID": make_contact("Echo Client")["ContactID"]}
    bad = {"Type": "ACCREC", "Contact": contact, "DueDate": "2026-02-05", "LineItems": [line(UnitAmount="ten")]}
    r = api.put("Invoices?summarizeErrors=false", json={"Invoices": [bad]})
    assert r.status_code == 200, r.text
    [failed] = r.json()["Invoices"]
    assert "UnitAmount must be a number" in [e["Message"] for e in failed["ValidationErrors"]]
    assert "UnitAmount" not in failed["LineItems"][0]
