"""What the billing sync leans on: tax and totals per LineAmountTypes, Xero's error texts for bad
account codes and tax types, InvoiceNumber clashes, 50-invoice batches with per-element errors and
Idempotency-Key replay, bulk reads, and the admin actions that act as a Xero user (with webhooks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from clio_xero_tools.sandbox.xero import XeroSandbox
from clio_xero_tools.sandbox.xero.store import Org

from .conftest import Receiver

Make = Callable[..., dict[str, Any]]


def messages(r: httpx.Response) -> list[str]:
    return [m["Message"] for e in r.json()["Elements"] for m in e["ValidationErrors"]]


def body(contact_id: str, *lines: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"Type": "ACCREC", "Contact": {"ContactID": contact_id}, "Status": "AUTHORISED", "LineItems": list(lines),
            **fields}  # fmt: skip


def line(amount: Any = 100, code: str = "200", **fields: Any) -> dict[str, Any]:
    return {"Description": "Professional fees", "Quantity": 1, "UnitAmount": amount, "AccountCode": code, **fields}


@pytest.fixture
def client(make_contact: Make) -> str:
    return str(make_contact("Billing Client Pty Ltd")["ContactID"])


@pytest.mark.parametrize(
    ("lat", "line_tax", "sub", "tax", "total"),
    [
        # Exclusive: tax = round2(amount x 10%) per line: 33.33 -> 3.333 -> 3.33 (three times), 0.05 -> 0.01.
        ("Exclusive", [3.33, 3.33, 3.33, 0.01], 100.04, 10.00, 110.04),
        # Inclusive: tax = round2(amount x 10/110) per line: 33.33 -> 3.03, 0.05 -> 0.0045 -> 0.00;
        # the total is the sum of the lines as given, SubTotal the total less tax.
        ("Inclusive", [3.03, 3.03, 3.03, 0.0], 90.95, 9.09, 100.04),
        ("NoTax", [0.0, 0.0, 0.0, 0.0], 100.04, 0.0, 100.04),
    ],
)
def test_line_amount_types_round_tax_per_line_then_sum(
    api: httpx.Client, client: str, lat: str, line_tax: list[float], sub: float, tax: float, total: float
) -> None:
    lines = [line(33.33), line(33.33), line(33.33), line(0.05)]
    r = api.put("Invoices", json={"Invoices": [body(client, *lines, LineAmountTypes=lat)]})
    assert r.status_code == 200, r.text
    inv = r.json()["Invoices"][0]
    assert [li["TaxAmount"] for li in inv["LineItems"]] == line_tax
    assert (inv["SubTotal"], inv["TotalTax"], inv["Total"], inv["AmountDue"]) == (sub, tax, total, total)
    # TotalTax is the sum of the rounded line taxes, never the tax of the summed lines.
    assert round(sum(line_tax), 2) == tax


def test_archived_or_unknown_account_without_tax_type_gives_tax_type_mandatory(
    api: httpx.Client, client: str, sandbox: XeroSandbox, org: Org
) -> None:
    sandbox.admin.update_account(org.organisation_id, "260", {"Status": "ARCHIVED"})
    archived = api.put("Invoices", json={"Invoices": [body(client, line(code="260"))]})
    assert messages(archived) == [
        "Account code '260' has been archived, or has been deleted. Each line item must reference a valid account.",
        "TaxType field is mandatory",
    ]
    unknown = api.put("Invoices", json={"Invoices": [body(client, line(code="undefined"))]})
    assert messages(unknown) == [
        "Account code 'undefined' is not a valid code for this document.",
        "TaxType field is mandatory",
    ]
    # With a TaxType given only the account is wrong.
    with_tax = api.put("Invoices", json={"Invoices": [body(client, line(code="260", TaxType="OUTPUT"))]})
    assert messages(with_tax) == [
        "Account code '260' has been archived, or has been deleted. Each line item must reference a valid account."
    ]


def test_tax_type_must_exist_and_suit_the_account(api: httpx.Client, client: str) -> None:
    def refused(tax_type: str, code: str = "200") -> list[str]:
        r = api.put("Invoices", json={"Invoices": [body(client, line(code=code, TaxType=tax_type))]})
        assert r.status_code == 400
        return messages(r)

    assert refused("TAX999") == [
        "The TaxType code TAX999 does not exist or cannot be used for this type of transaction."
    ]
    # INPUT (GST on Expenses) cannot be used on a revenue account (TaxRate CanApplyToRevenue=false).
    assert refused("INPUT") == ["The TaxType code INPUT does not exist or cannot be used for this type of transaction."]
    ok = api.put("Invoices", json={"Invoices": [body(client, line(code="200", TaxType="EXEMPTOUTPUT"))]})
    assert ok.json()["Invoices"][0]["TotalTax"] == 0.0


def test_unsubscribed_currency_is_refused_until_subscribed(api: httpx.Client, client: str) -> None:
    r = api.put("Invoices", json={"Invoices": [body(client, line(), CurrencyCode="EUR")]})
    assert messages(r) == ["Organisation is not subscribed to currency EUR"]
    assert api.put("Currencies", json={"Code": "EUR"}).status_code == 200
    ok = api.put("Invoices", json={"Invoices": [body(client, line(), CurrencyCode="EUR")]})
    assert ok.json()["Invoices"][0]["CurrencyCode"] == "EUR"


def test_invoice_number_in_use_is_refused_never_renumbered(api: httpx.Client, client: str) -> None:
    first = api.put("Invoices", json={"Invoices": [body(client, line(), InvoiceNumber="B-1001")]}).json()["Invoices"][0]
    for method in (api.put, api.post):  # POST without InvoiceID creates too, so it clashes the same way
        clash = method("Invoices", json={"Invoices": [body(client, line(50), InvoiceNumber="B-1001")]})
        assert clash.status_code == 400
        assert messages(clash) == ["Invoice # must be unique."]
    # Voided invoices keep their number (docs/facts-xero.md#invoice).
    api.post(f"Invoices/{first['InvoiceID']}", json={"Invoices": [{"Status": "VOIDED"}]})
    again = api.put("Invoices", json={"Invoices": [body(client, line(), InvoiceNumber="B-1001")]})
    assert messages(again) == ["Invoice # must be unique."]
    found = api.get("Invoices", params={"InvoiceNumbers": "B-1001"}).json()["Invoices"]
    assert [(i["InvoiceID"], i["Status"], i["Total"]) for i in found] == [(first["InvoiceID"], "VOIDED", 110.0)]


def test_draft_then_authorised_edit_keeps_line_item_ids(api: httpx.Client, client: str) -> None:
    draft = api.put("Invoices", json={"Invoices": [body(client, line(100), line(20), Status="DRAFT")]})
    inv = draft.json()["Invoices"][0]
    ids = [li["LineItemID"] for li in inv["LineItems"]]
    approved = api.post(f"Invoices/{inv['InvoiceID']}", json={"Invoices": [{"Status": "AUTHORISED"}]})
    assert approved.json()["Invoices"][0]["Status"] == "AUTHORISED"
    edit = [{**line(150), "LineItemID": ids[0]}, {**line(20), "LineItemID": ids[1]}, line(5)]
    edited = api.post("Invoices", json={"Invoices": [{"InvoiceID": inv["InvoiceID"], "LineItems": edit}]})
    after = edited.json()["Invoices"][0]
    assert [li["LineItemID"] for li in after["LineItems"]][:2] == ids
    assert after["LineItems"][2]["LineItemID"] not in ids
    assert (after["Status"], after["Total"]) == ("AUTHORISED", 192.5)


def test_batch_of_fifty_with_per_element_errors_and_idempotent_replay(
    api: httpx.Client, client: str, sandbox: XeroSandbox
) -> None:
    invoices = [body(client, line(10 + n), InvoiceNumber=f"CLIO-{n:03d}", Reference=f"M-{n}") for n in range(50)]
    invoices[7]["LineItems"] = [line(code="999")]
    invoices[31]["InvoiceNumber"] = "CLIO-030"  # clashes with element 30 of the same batch
    headers = {"Idempotency-Key": "clio:bills:batch:1"}
    url = "Invoices?summarizeErrors=false"
    r = api.put(url, json={"Invoices": invoices}, headers=headers)
    assert r.status_code == 200
    out = r.json()["Invoices"]
    assert len(out) == 50
    errors = {n: [m["Message"] for m in o["ValidationErrors"]] for n, o in enumerate(out) if o["HasErrors"]}
    assert errors == {
        7: ["Account code '999' is not a valid code for this document.", "TaxType field is mandatory"],
        31: ["Invoice # must be unique."],
    }
    assert all(o["StatusAttributeString"] == "OK" and o["InvoiceID"] for n, o in enumerate(out) if n not in errors)
    assert out[49]["Total"] == round((10 + 49) * 1.1, 2)
    # The same key and body replays the stored answer: nothing is created twice.
    replay = api.put(url, json={"Invoices": invoices}, headers=headers)
    assert [o.get("InvoiceID") for o in replay.json()["Invoices"]] == [o.get("InvoiceID") for o in out]
    assert len(sandbox.org(api.headers["xero-tenant-id"]).invoices) == 48
    # After an uncertain outcome the numbers are looked up in one call.
    numbers = ",".join(f"CLIO-{n:03d}" for n in range(50))
    found = api.get("Invoices", params={"InvoiceNumbers": numbers}).json()["Invoices"]
    assert sorted(i["InvoiceNumber"] for i in found) == sorted(f"CLIO-{n:03d}" for n in range(50) if n not in (7, 31))


def test_bulk_reads_by_ids_where_and_pages(api: httpx.Client, client: str) -> None:
    made = api.put("Invoices", json={"Invoices": [body(client, line(n + 1), Reference=f"M-{n % 3}") for n in range(7)]})
    ids = [i["InvoiceID"] for i in made.json()["Invoices"]]
    by_ids = api.get("Invoices", params={"IDs": ",".join(ids[:3]), "page": 1}).json()["Invoices"]
    assert sorted(i["InvoiceID"] for i in by_ids) == sorted(ids[:3])
    assert all(i["LineItems"] for i in by_ids)  # paged reads carry lines
    where = api.get("Invoices", params={"where": 'Reference=="M-1" AND Total>=2', "page": 1}).json()
    assert sorted(i["Total"] for i in where["Invoices"]) == [2.2, 5.5]
    page2 = api.get("Invoices", params={"page": 2, "pageSize": 3, "order": "Total ASC"}).json()
    assert [i["Total"] for i in page2["Invoices"]] == [4.4, 5.5, 6.6]
    assert page2["pagination"] == {"page": 2, "pageSize": 3, "pageCount": 3, "itemCount": 7}


# ---------------------------------------------------------------------------- acting as a Xero user


def test_user_pays_voids_edits_and_deletes_payments_with_webhooks(
    api: httpx.Client, http: httpx.Client, client: str, sandbox: XeroSandbox, org: Org, hooked: Receiver
) -> None:
    tenant = f"/_sandbox/tenants/{org.organisation_id}"
    inv = api.put("Invoices", json={"Invoices": [body(client, line(100))]}).json()["Invoices"][0]
    sandbox.deliver_due_webhooks()
    hooked.posts.clear()

    def invoice_events() -> list[tuple[str, str]]:
        sandbox.deliver_due_webhooks()
        events = [(e["eventCategory"], e["eventType"], e["resourceId"]) for e in hooked.events]
        hooked.posts.clear()
        return [(c, t) for c, t, rid in events if rid == inv["InvoiceID"]]

    # Pay by hand: amount and bank account default to what is due and the first bank account.
    paid = http.post(f"{tenant}/payments", json={"Invoice": {"InvoiceID": inv["InvoiceID"]}})
    assert paid.status_code == 201
    payment = paid.json()
    assert (payment["Amount"], payment["Account"]["Code"], payment["Status"]) == (110.0, "090", "AUTHORISED")
    assert api.get(f"Invoices/{inv['InvoiceID']}").json()["Invoices"][0]["Status"] == "PAID"
    assert invoice_events() == [("INVOICE", "UPDATE")]
    # The sync's own payment now finds the invoice paid: Xero's words.
    late = api.put("Payments", json={"Payments": [{"Invoice": {"InvoiceID": inv["InvoiceID"]},
                                                   "Account": {"Code": "090"}, "Amount": 110}]})  # fmt: skip
    assert messages(late) == ["Payments can only be made against Authorised Documents"]
    # Voiding is refused while the payment exists.
    void = http.post(f"{tenant}/invoices/{inv['InvoiceID']}", json={"Status": "VOIDED"})
    assert void.status_code == 400
    assert "Invoice not of valid status for modification" in void.json()["errors"]
    # The user deletes the payment: the invoice is AUTHORISED again and a webhook says so.
    deleted = http.delete(f"{tenant}/payments/{payment['PaymentID']}")
    assert deleted.json()["Status"] == "DELETED"
    again = api.get(f"Invoices/{inv['InvoiceID']}").json()["Invoices"][0]
    assert (again["Status"], again["AmountDue"], again["Payments"]) == ("AUTHORISED", 110.0, [])
    assert invoice_events() == [("INVOICE", "UPDATE")]
    assert http.delete(f"{tenant}/payments/{payment['PaymentID']}").json() == {
        "errors": ["Payment has already been deleted"]
    }
    # The user edits the invoice (a line's amount), then voids it.
    line_id = again["LineItems"][0]["LineItemID"]
    edited = http.post(
        f"{tenant}/invoices/{inv['InvoiceID']}", json={"LineItems": [{**line(80), "LineItemID": line_id}]}
    )
    assert (edited.json()["Total"], edited.json()["LineItems"][0]["LineItemID"]) == (88.0, line_id)
    voided = http.post(f"{tenant}/invoices/{inv['InvoiceID']}", json={"Status": "VOIDED"})
    assert voided.json()["Status"] == "VOIDED"
    assert invoice_events() == [("INVOICE", "UPDATE"), ("INVOICE", "UPDATE")]
