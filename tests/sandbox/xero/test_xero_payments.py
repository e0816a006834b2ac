"""/Payments (create, delete via Status=DELETED only, targets, accounts) and credit-note allocations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from clio_xero_tools.sandbox.xero import XeroSandbox
from clio_xero_tools.sandbox.xero.store import Org

Make = Callable[..., dict[str, Any]]


def pay(api: httpx.Client, invoice_id: str, amount: float, code: str = "090", **extra: Any) -> httpx.Response:
    body = {"Invoice": {"InvoiceID": invoice_id}, "Account": {"Code": code}, "Amount": amount, "Date": "2026-01-05"}
    return api.put("Payments", json={"Payments": [{**body, **extra}]})


def error(r: httpx.Response) -> str:
    return str(r.json()["Elements"][0]["ValidationErrors"][0]["Message"])


def invoice(api: httpx.Client, invoice_id: str) -> dict[str, Any]:
    return dict(api.get(f"Invoices/{invoice_id}").json()["Invoices"][0])


def test_partial_then_full_payment_marks_paid(api: httpx.Client, make_invoice: Make) -> None:
    inv = make_invoice(amount=100)  # total 110 incl. GST
    r = pay(api, inv["InvoiceID"], 60, Reference="Part")
    assert r.status_code == 200
    p = r.json()["Payments"][0]
    assert p["PaymentType"] == "ACCRECPAYMENT"
    assert p["Status"] == "AUTHORISED"
    assert p["Account"]["Code"] == "090"
    after = invoice(api, inv["InvoiceID"])
    assert (after["Status"], after["AmountPaid"], after["AmountDue"]) == ("AUTHORISED", 60.0, 50.0)
    assert pay(api, inv["InvoiceID"], 50).status_code == 200
    paid = invoice(api, inv["InvoiceID"])
    assert paid["Status"] == "PAID"
    assert paid["AmountDue"] == 0.0
    assert "FullyPaidOnDate" in paid
    assert len(paid["Payments"]) == 2


def test_payment_rules(api: httpx.Client, make_invoice: Make, sandbox: XeroSandbox, org: Org) -> None:
    draft = make_invoice(status="DRAFT")
    assert error(pay(api, draft["InvoiceID"], 1)) == "Payments can only be made against Authorised Documents"
    inv = make_invoice(amount=100)
    assert error(pay(api, inv["InvoiceID"], 110.01)) == "Payment amount exceeds the amount outstanding on this document"
    assert error(pay(api, inv["InvoiceID"], 0)) == "Payment amount must be greater than zero"
    # Sales (200) is neither a BANK account nor enabled for payments.
    assert error(pay(api, inv["InvoiceID"], 10, code="200")) == "Account type is invalid for making a payment to/from"
    api.post(
        f"Accounts/{_account_id(api, '260')}",
        json={"Accounts": [{"EnablePaymentsToAccount": True}]},
    )
    assert pay(api, inv["InvoiceID"], 10, code="260").status_code == 200
    sandbox.admin.update_account(org.organisation_id, "091", {"Status": "ARCHIVED"})
    assert "archived" in error(pay(api, inv["InvoiceID"], 10, code="091"))


def _account_id(api: httpx.Client, code: str) -> str:
    accounts = api.get("Accounts", params={"where": f'Code=="{code}"'}).json()["Accounts"]
    return str(accounts[0]["AccountID"])


def test_payment_batch_with_summarize_errors_false(api: httpx.Client, make_invoice: Make) -> None:
    inv = make_invoice(amount=100)
    good = {"Invoice": {"InvoiceID": inv["InvoiceID"]}, "Account": {"Code": "090"}, "Amount": 10}
    bad = {**good, "Amount": 1000}
    out = api.put("Payments?summarizeErrors=false", json={"Payments": [good, bad]}).json()["Payments"]
    assert [p["StatusAttributeString"] for p in out] == ["OK", "ERROR"]
    assert "PaymentID" in out[0]


def test_delete_payment_only_via_status_deleted(api: httpx.Client, make_invoice: Make) -> None:
    inv = make_invoice(amount=100)
    payment_id = pay(api, inv["InvoiceID"], 110).json()["Payments"][0]["PaymentID"]
    assert invoice(api, inv["InvoiceID"])["Status"] == "PAID"
    edit = api.post(f"Payments/{payment_id}", json={"Payments": [{"Amount": 5}]})
    assert edit.status_code == 400
    assert error(edit) == "Only Status accepted for updates."
    r = api.post(f"Payments/{payment_id}", json={"Payments": [{"Status": "DELETED"}]})
    assert r.status_code == 200
    assert r.json()["Payments"][0]["Status"] == "DELETED"
    back = invoice(api, inv["InvoiceID"])
    assert (back["Status"], back["AmountDue"], back["Payments"]) == ("AUTHORISED", 110.0, [])
    assert api.post(f"Payments/{payment_id}", json={"Payments": [{"Status": "DELETED"}]}).status_code == 400
    assert api.get(f"Payments/{payment_id}").json()["Payments"][0]["Status"] == "DELETED"


def test_payments_list_where_and_paging(api: httpx.Client, make_invoice: Make) -> None:
    inv = make_invoice(amount=100)
    pay(api, inv["InvoiceID"], 10, Reference="A")
    pay(api, inv["InvoiceID"], 20, Reference="B")
    got = api.get("Payments", params={"where": 'Reference=="B"'}).json()["Payments"]
    assert [p["Amount"] for p in got] == [20.0]
    paged = api.get("Payments", params={"page": 1, "pageSize": 1}).json()
    assert paged["pagination"]["pageCount"] == 2


def test_user_records_manual_payment(api: httpx.Client, make_invoice: Make, http: httpx.Client, org: Org) -> None:
    inv = make_invoice(amount=100)
    r = http.post(
        f"/_sandbox/tenants/{org.organisation_id}/payments",
        json={"Invoice": {"InvoiceID": inv["InvoiceID"]}, "Account": {"Code": "090"}, "Amount": 110},
    )
    assert r.status_code == 201
    assert invoice(api, inv["InvoiceID"])["Status"] == "PAID"
    refused = http.post(
        f"/_sandbox/tenants/{org.organisation_id}/payments",
        json={"Invoice": {"InvoiceID": inv["InvoiceID"]}, "Account": {"Code": "090"}, "Amount": 1},
    )
    assert refused.status_code == 400


# ---------------------------------------------------------------------------- credit notes


@pytest.fixture
def credit_note(api: httpx.Client, make_contact: Make) -> Callable[..., dict[str, Any]]:
    def make(contact_id: str, amount: float = 50, status: str = "AUTHORISED") -> dict[str, Any]:
        r = api.put(
            "CreditNotes",
            json={"CreditNotes": [{"Type": "ACCRECCREDIT", "Contact": {"ContactID": contact_id}, "Status": status,
                                   "LineItems": [{"Description": "Write-off", "Quantity": 1, "UnitAmount": amount,
                                                  "AccountCode": "200"}]}]},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        return dict(r.json()["CreditNotes"][0])

    return make


def allocate(api: httpx.Client, cn_id: str, invoice_id: str, amount: float) -> httpx.Response:
    return api.put(
        f"CreditNotes/{cn_id}/Allocations",
        json={"Allocations": [{"Invoice": {"InvoiceID": invoice_id}, "Amount": amount, "Date": "2026-01-06"}]},
    )


def test_credit_note_totals_and_number(credit_note: Callable[..., dict[str, Any]], make_invoice: Make) -> None:
    inv = make_invoice()
    cn = credit_note(inv["Contact"]["ContactID"])
    assert cn["CreditNoteNumber"] == "CN-0001"
    assert (cn["Total"], cn["RemainingCredit"], cn["Status"]) == (55.0, 55.0, "AUTHORISED")


def test_allocation_reduces_both_and_pays_off(
    api: httpx.Client, credit_note: Callable[..., dict[str, Any]], make_invoice: Make
) -> None:
    inv = make_invoice(amount=50)  # 55.00
    cn = credit_note(inv["Contact"]["ContactID"], amount=100)  # 110.00
    r = allocate(api, cn["CreditNoteID"], inv["InvoiceID"], 55)
    assert r.status_code == 200
    alloc = r.json()["Allocations"][0]
    assert alloc["Amount"] == 55.0
    paid = invoice(api, inv["InvoiceID"])
    assert (paid["Status"], paid["AmountCredited"], paid["AmountDue"]) == ("PAID", 55.0, 0.0)
    assert paid["CreditNotes"][0]["CreditNoteID"] == cn["CreditNoteID"]
    left = api.get(f"CreditNotes/{cn['CreditNoteID']}").json()["CreditNotes"][0]
    assert (left["RemainingCredit"], left["Status"]) == (55.0, "AUTHORISED")
    # Voiding is blocked while credit is allocated.
    assert api.post(f"Invoices/{inv['InvoiceID']}", json={"Invoices": [{"Status": "VOIDED"}]}).status_code == 400
    removed = api.delete(f"CreditNotes/{cn['CreditNoteID']}/Allocations/{alloc['AllocationID']}")
    assert removed.status_code == 200
    assert removed.json()["IsDeleted"] is True
    assert invoice(api, inv["InvoiceID"])["Status"] == "AUTHORISED"


def test_allocation_rules(api: httpx.Client, credit_note: Callable[..., dict[str, Any]], make_invoice: Make) -> None:
    inv = make_invoice(amount=1000)
    contact = inv["Contact"]["ContactID"]
    draft_cn = credit_note(contact, status="DRAFT")
    assert "AUTHORISED" in error(allocate(api, draft_cn["CreditNoteID"], inv["InvoiceID"], 1))
    cn = credit_note(contact, amount=10)  # 11.00
    too_much = allocate(api, cn["CreditNoteID"], inv["InvoiceID"], 11.01)
    assert "remaining credit" in error(too_much)
    draft_inv = make_invoice(status="DRAFT", contact={"ContactID": contact})
    assert "AUTHORISED" in error(allocate(api, cn["CreditNoteID"], draft_inv["InvoiceID"], 1))
    assert allocate(api, cn["CreditNoteID"], inv["InvoiceID"], 11).status_code == 200
    assert api.get(f"CreditNotes/{cn['CreditNoteID']}").json()["CreditNotes"][0]["Status"] == "PAID"


def test_credit_notes_reject_discounts(api: httpx.Client, make_contact: Make) -> None:
    c = make_contact("Discount Seeker")
    r = api.put(
        "CreditNotes",
        json={"CreditNotes": [{"Type": "ACCRECCREDIT", "Contact": {"ContactID": c["ContactID"]},
                               "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 10,
                                              "DiscountRate": 10, "AccountCode": "200"}]}]},
    )  # fmt: skip
    assert r.status_code == 400
