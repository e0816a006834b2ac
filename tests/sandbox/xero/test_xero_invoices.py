"""/Invoices and /CreditNotes: line maths, account and tax rules, status transitions, reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from clio_xero_tools.sandbox.xero import XeroSandbox
from clio_xero_tools.sandbox.xero.store import Org

Make = Callable[..., dict[str, Any]]
NOT_VALID = "Invoice not of valid status for modification"


def invoice_body(contact_id: str, lines: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"Invoices": [{"Type": "ACCREC", "Contact": {"ContactID": contact_id}, "LineItems": lines, **fields}]}


def first_error(r: httpx.Response) -> str:
    return str(r.json()["Elements"][0]["ValidationErrors"][0]["Message"])


def set_status(api: httpx.Client, invoice_id: str, status: str) -> httpx.Response:
    return api.post(f"Invoices/{invoice_id}", json={"Invoices": [{"Status": status}]})


@pytest.fixture
def client(make_contact: Make) -> dict[str, Any]:
    return make_contact("Invoice Client Pty Ltd")


@pytest.mark.parametrize(
    ("lat", "sub", "tax", "total"),
    [
        # Per-line rounding: 3 x 10.005 = 30.015 -> 30.02; tax per line 10% of 30.02 = 3.002 -> 3.00,
        # 1 x 0.05 -> tax 0.005 -> 0.01 (half-up); summed after rounding.
        ("Exclusive", 30.07, 3.01, 33.08),
        # Inclusive: tax = amount * 10/110 per line: 30.02 -> 2.729 -> 2.73; 0.05 -> 0.0045 -> 0.00.
        ("Inclusive", 27.34, 2.73, 30.07),
        ("NoTax", 30.07, 0.0, 30.07),
    ],
)
def test_line_totals_and_tax_per_line_two_dp(
    api: httpx.Client, client: dict[str, Any], lat: str, sub: float, tax: float, total: float
) -> None:
    lines = [
        {"Description": "Advice", "Quantity": 3, "UnitAmount": 10.005, "AccountCode": "200"},
        {"Description": "Photocopy", "Quantity": 1, "UnitAmount": 0.05, "AccountCode": "200"},
    ]
    r = api.put("Invoices", json=invoice_body(client["ContactID"], lines, LineAmountTypes=lat))
    assert r.status_code == 200, r.text
    inv = r.json()["Invoices"][0]
    assert (inv["SubTotal"], inv["TotalTax"], inv["Total"]) == (sub, tax, total)
    assert inv["LineItems"][0]["LineAmount"] == 30.02
    assert inv["AmountDue"] == total
    assert inv["LineItems"][0]["TaxType"] == ("NONE" if lat == "NoTax" else "OUTPUT")


def test_discounts_line_amount_and_tax_override(api: httpx.Client, client: dict[str, Any]) -> None:
    lines: list[dict[str, Any]] = [
        {"Description": "Discounted", "Quantity": 2, "UnitAmount": 100, "DiscountRate": 12.5, "AccountCode": "200"},
        {"Description": "Given total", "LineAmount": 50, "AccountCode": "200"},
        {"Description": "Manual tax", "Quantity": 1, "UnitAmount": 10, "TaxAmount": 0.99, "AccountCode": "200"},
        {"Description": "Heading only"},
    ]
    inv = api.put("Invoices", json=invoice_body(client["ContactID"], lines)).json()["Invoices"][0]
    amounts = [(li["LineAmount"], li["TaxAmount"]) for li in inv["LineItems"]]
    assert amounts == [(175.0, 17.5), (50.0, 5.0), (10.0, 0.99), (0.0, 0.0)]
    assert inv["LineItems"][1]["Quantity"] == 1.0
    assert inv["IsDiscounted"] is True
    mismatch = [{"Description": "x", "Quantity": 2, "UnitAmount": 5, "LineAmount": 11, "AccountCode": "200"}]
    assert api.put("Invoices", json=invoice_body(client["ContactID"], mismatch)).status_code == 400


def test_account_code_must_exist_and_be_active(
    api: httpx.Client, client: dict[str, Any], sandbox: XeroSandbox, org: Org
) -> None:
    sandbox.admin.update_account(org.organisation_id, "260", {"Status": "ARCHIVED"})
    unknown = api.put(
        "Invoices",
        json=invoice_body(client["ContactID"], [{"Description": "x", "UnitAmount": 1, "AccountCode": "999"}]),
    )
    assert unknown.status_code == 400
    assert first_error(unknown) == "Account code '999' is not a valid code for this document."
    archived = api.put(
        "Invoices",
        json=invoice_body(client["ContactID"], [{"Description": "x", "UnitAmount": 1, "AccountCode": "260"}]),
    )
    assert first_error(archived).startswith("Account code '260' has been archived")
    bad_tax = api.put(
        "Invoices",
        json=invoice_body(
            client["ContactID"], [{"Description": "x", "UnitAmount": 1, "AccountCode": "200", "TaxType": "NOPE"}]
        ),
    )
    assert "TaxType code NOPE" in first_error(bad_tax)


def test_approval_needs_an_account_on_every_line(api: httpx.Client, client: dict[str, Any]) -> None:
    lines = [{"Description": "No account", "Quantity": 1, "UnitAmount": 5}]
    draft = api.put("Invoices", json=invoice_body(client["ContactID"], lines, Status="DRAFT"))
    assert draft.status_code == 200
    approve = set_status(api, draft.json()["Invoices"][0]["InvoiceID"], "AUTHORISED")
    assert approve.status_code == 400


def test_legal_transitions(api: httpx.Client, make_invoice: Make) -> None:
    inv = make_invoice(status="DRAFT")
    iid = inv["InvoiceID"]
    assert set_status(api, iid, "SUBMITTED").json()["Invoices"][0]["Status"] == "SUBMITTED"
    assert set_status(api, iid, "AUTHORISED").json()["Invoices"][0]["Status"] == "AUTHORISED"
    for illegal in ("DRAFT", "SUBMITTED", "DELETED", "PAID"):
        r = set_status(api, iid, illegal)
        assert r.status_code == 400, illegal
        assert first_error(r) == NOT_VALID
    assert set_status(api, iid, "VOIDED").json()["Invoices"][0]["Status"] == "VOIDED"
    assert first_error(set_status(api, iid, "AUTHORISED")) == NOT_VALID


def test_delete_only_from_draft_or_submitted(api: httpx.Client, make_invoice: Make) -> None:
    draft = make_invoice(status="DRAFT")
    assert set_status(api, draft["InvoiceID"], "DELETED").json()["Invoices"][0]["Status"] == "DELETED"
    submitted = make_invoice(status="SUBMITTED")
    assert set_status(api, submitted["InvoiceID"], "DELETED").json()["Invoices"][0]["Status"] == "DELETED"
    draft2 = make_invoice(status="DRAFT")
    assert first_error(set_status(api, draft2["InvoiceID"], "VOIDED")) == NOT_VALID


def test_cannot_create_paid_or_voided(api: httpx.Client, client: dict[str, Any]) -> None:
    lines = [{"Description": "x", "Quantity": 1, "UnitAmount": 1, "AccountCode": "200"}]
    for status in ("PAID", "VOIDED", "DELETED"):
        r = api.put("Invoices", json=invoice_body(client["ContactID"], lines, Status=status))
        assert r.status_code == 400


def test_void_only_without_payments(api: httpx.Client, make_invoice: Make) -> None:
    inv = make_invoice(amount=100)
    pay = api.put(
        "Payments",
        json={"Payments": [{"Invoice": {"InvoiceID": inv["InvoiceID"]}, "Account": {"Code": "090"}, "Amount": 40}]},
    )
    assert pay.status_code == 200
    blocked = set_status(api, inv["InvoiceID"], "VOIDED")
    assert blocked.status_code == 400
    assert "cannot be voided" in first_error(blocked)
    payment_id = pay.json()["Payments"][0]["PaymentID"]
    api.post(f"Payments/{payment_id}", json={"Payments": [{"Status": "DELETED"}]})
    assert set_status(api, inv["InvoiceID"], "VOIDED").json()["Invoices"][0]["Status"] == "VOIDED"


def test_invoice_number_unique_and_auto_generated(
    api: httpx.Client, make_invoice: Make, client: dict[str, Any]
) -> None:
    auto = make_invoice()
    assert auto["InvoiceNumber"] == "INV-0001"
    mine = make_invoice(InvoiceNumber="CLIO-1001", contact=client)
    assert mine["InvoiceNumber"] == "CLIO-1001"
    set_status(api, mine["InvoiceID"], "VOIDED")
    # A voided invoice keeps its number, so re-pushing the same number fails.
    lines = [{"Description": "x", "Quantity": 1, "UnitAmount": 1, "AccountCode": "200"}]
    again = api.put("Invoices", json=invoice_body(client["ContactID"], lines, InvoiceNumber="CLIO-1001"))
    assert again.status_code == 400
    assert api.get("Invoices/CLIO-1001").json()["Invoices"][0]["Status"] == "VOIDED"


def test_contact_by_name_creates_and_reuses(api: httpx.Client, sandbox: XeroSandbox, org: Org) -> None:
    lines = [{"Description": "x", "Quantity": 1, "UnitAmount": 1, "AccountCode": "200"}]
    body = {"Invoices": [{"Type": "ACCREC", "Contact": {"Name": "Implicit Client"}, "LineItems": lines}]}
    one = api.put("Invoices", json=body).json()["Invoices"][0]
    two = api.put("Invoices", json=body).json()["Invoices"][0]
    assert one["Contact"]["ContactID"] == two["Contact"]["ContactID"]
    contact = api.get(f"Contacts/{one['Contact']['ContactID']}").json()["Contacts"][0]
    assert contact["IsCustomer"] is True


def test_over_posting_contact_fields_updates_the_contact(api: httpx.Client, client: dict[str, Any]) -> None:
    lines = [{"Description": "x", "Quantity": 1, "UnitAmount": 1, "AccountCode": "200"}]
    contact = {"ContactID": client["ContactID"], "EmailAddress": "over@post.example"}
    api.put("Invoices", json={"Invoices": [{"Type": "ACCREC", "LineItems": lines, "Contact": contact}]})
    assert api.get(f"Contacts/{client['ContactID']}").json()["Contacts"][0]["EmailAddress"] == "over@post.example"


def test_archived_contact_and_unsubscribed_currency_rejected(api: httpx.Client, client: dict[str, Any]) -> None:
    lines = [{"Description": "x", "Quantity": 1, "UnitAmount": 1, "AccountCode": "200"}]
    usd = api.put("Invoices", json=invoice_body(client["ContactID"], lines, CurrencyCode="USD"))
    assert first_error(usd) == "Organisation is not subscribed to currency USD"
    api.post(f"Contacts/{client['ContactID']}", json={"Contacts": [{"ContactStatus": "ARCHIVED"}]})
    assert api.put("Invoices", json=invoice_body(client["ContactID"], lines)).status_code == 400


def test_line_item_ids_kept_only_when_sent(api: httpx.Client, make_invoice: Make) -> None:
    inv = make_invoice(status="DRAFT")
    line = {k: v for k, v in inv["LineItems"][0].items() if k not in ("LineAmount", "TaxAmount")}
    kept = api.post(
        f"Invoices/{inv['InvoiceID']}",
        json={"Invoices": [{"LineItems": [{**line, "UnitAmount": 120}]}]},
    ).json()["Invoices"][0]
    assert kept["LineItems"][0]["LineItemID"] == line["LineItemID"]
    assert kept["Total"] == 132.0
    line.pop("LineItemID")
    recreated = api.post(f"Invoices/{inv['InvoiceID']}", json={"Invoices": [{"LineItems": [line]}]}).json()
    assert recreated["Invoices"][0]["LineItems"][0]["LineItemID"] != kept["LineItems"][0]["LineItemID"]


def test_list_filters_and_unpaged_omits_lines(api: httpx.Client, make_invoice: Make, make_contact: Make) -> None:
    other = make_contact("Other Client")
    a = make_invoice(status="DRAFT", Reference="Matter 77")
    b = make_invoice(status="AUTHORISED", contact=other)
    unpaged = api.get("Invoices").json()["Invoices"]
    assert all("LineItems" not in i for i in unpaged)
    paged = api.get("Invoices", params={"page": 1}).json()
    assert all("LineItems" in i for i in paged["Invoices"])
    assert paged["pagination"]["itemCount"] == 2
    by_status = api.get("Invoices", params={"Statuses": "AUTHORISED"}).json()["Invoices"]
    assert [i["InvoiceID"] for i in by_status] == [b["InvoiceID"]]
    where = api.get("Invoices", params={"where": 'Status=="DRAFT" AND Type=="ACCREC"'}).json()["Invoices"]
    assert [i["InvoiceID"] for i in where] == [a["InvoiceID"]]
    by_contact = api.get("Invoices", params={"where": f'Contact.ContactID==Guid("{other["ContactID"]}")'})
    assert [i["InvoiceID"] for i in by_contact.json()["Invoices"]] == [b["InvoiceID"]]
    assert len(api.get("Invoices", params={"ContactIDs": other["ContactID"]}).json()["Invoices"]) == 1
    assert len(api.get("Invoices", params={"IDs": a["InvoiceID"]}).json()["Invoices"]) == 1
    assert len(api.get("Invoices", params={"searchTerm": "matter 77"}).json()["Invoices"]) == 1
    assert len(api.get("Invoices", params={"InvoiceNumbers": b["InvoiceNumber"]}).json()["Invoices"]) == 1


def test_invoice_batch_summarize_errors_false(api: httpx.Client, client: dict[str, Any]) -> None:
    good = {"Type": "ACCREC", "Contact": {"ContactID": client["ContactID"]},
            "LineItems": [{"Description": "ok", "Quantity": 1, "UnitAmount": 5, "AccountCode": "200"}]}  # fmt: skip
    bad = {**good, "LineItems": [{"Description": "bad", "Quantity": 1, "UnitAmount": 5, "AccountCode": "000"}]}
    r = api.put("Invoices?summarizeErrors=false", json={"Invoices": [good, bad]})
    out = r.json()["Invoices"]
    assert [i["StatusAttributeString"] for i in out] == ["OK", "ERROR"]
    assert [i["HasErrors"] for i in out] == [False, True]
    summarized = api.put("Invoices", json={"Invoices": [good, bad]})
    assert summarized.status_code == 400
    assert len(api.get("Invoices").json()["Invoices"]) == 2  # both good ones exist


def test_user_approves_in_web_app(api: httpx.Client, make_invoice: Make, sandbox: XeroSandbox, org: Org) -> None:
    inv = make_invoice(status="DRAFT")
    sandbox.admin.update_invoice(org.organisation_id, inv["InvoiceID"], {"Status": "AUTHORISED"})
    assert api.get(f"Invoices/{inv['InvoiceID']}").json()["Invoices"][0]["Status"] == "AUTHORISED"
