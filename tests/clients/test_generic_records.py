"""The generic record methods of both clients against the sandboxes (every answer spec-validated)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from clio_xero.clients import PreconditionFailedError, UnlimitedBudget
from clio_xero.clients.xero import IDS_PER_REQUEST
from clio_xero.clock import ManualClock
from clio_xero.errors import NotFoundError
from clio_xero_tools.sandbox.clio import seed_firm
from tests.clients.conftest import ClioWorld, XeroWorld

MATTER_FIELDS = "id,etag,description,display_number,updated_at,client{id}"


def test_clio_record_crud_on_another_resource(clio: ClioWorld) -> None:
    client = clio.client()
    contact = client.create_record("contacts", {"type": "Company", "name": "Acme"}, fields="id")
    matter = client.create_record(
        "matters", {"client": {"id": contact["id"]}, "description": "Lease"}, fields=MATTER_FIELDS
    )
    assert matter["client"] == {"id": contact["id"]} and matter["description"] == "Lease"
    fetched = client.get_record("matters", matter["id"], fields=MATTER_FIELDS)
    assert fetched == matter
    updated = client.update_record("matters", matter["id"], {"description": "Lease 2"}, fields=MATTER_FIELDS,
                                   etag=matter["etag"])  # fmt: skip
    assert updated["description"] == "Lease 2" and updated["etag"] != matter["etag"]
    with pytest.raises(PreconditionFailedError):  # the etag read first is stale now
        client.update_record("matters", matter["id"], {"description": "Stale"}, fields="id", etag=matter["etag"])
    assert client.get_record("matters", 999_999, fields="id") is None
    client.delete_record(
        "contacts", client.create_record("contacts", {"type": "Company", "name": "Gone"}, fields="id")["id"]
    )
    with pytest.raises(NotFoundError):
        client.delete_record("contacts", 999_999)
    with pytest.raises(ValueError, match="resource"):  # a resource name can never leave /api/v4
        client.get_record("../oauth", 1, fields="id")


def test_clio_iter_records_pages_filters_and_since(clio: ClioWorld, clock: ManualClock) -> None:
    seed_firm(clio.sandbox, contacts=30, activities=0, bills=0, seed=2)
    client = clio.client(budget=UnlimitedBudget())
    everyone = [r["id"] for r in client.iter_records("contacts", fields="id", page_size=7)]
    assert everyone == sorted(everyone) and len(everyone) == len(clio.sandbox.store.all("contacts"))
    assert client.calls == -(-len(everyone) // 7)
    wanted = everyone[3:20:4]
    picked = client.iter_records("contacts", fields="id,name", params={"ids[]": wanted}, page_size=2)
    assert [r["id"] for r in picked] == wanted
    clock.advance(60)
    cursor = clock.now()
    clock.advance(60)
    client.update_record("contacts", everyone[1], {"title": "Changed"}, fields="id")
    assert [r["id"] for r in client.iter_records("contacts", fields="id", updated_since=cursor)] == [everyone[1]]
    page = client.read_page("contacts", fields="id", page_size=5)
    assert len(page.rows) == 5 and page.next is not None
    second = client.read_page("contacts", fields="id", next_url=page.next)
    assert [r["id"] for r in second.rows] == everyone[5:10]


def _invoice(contact_id: str, amount: float, account: str = "200") -> dict[str, object]:
    return {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "Status": "AUTHORISED",
        "Date": "2026-01-05",
        "DueDate": "2026-02-05",
        "LineAmountTypes": "NoTax",
        "LineItems": [{"Description": "Advice", "Quantity": 1, "UnitAmount": amount, "AccountCode": account}],
    }


def test_xero_save_read_and_page_invoices(xero: XeroWorld) -> None:
    client = xero.client(budget=UnlimitedBudget())
    [contact] = client.save_records("Contacts", "Contacts", [{"Name": "Acme"}], idempotency_key="c-1", create=True)
    assert contact.record is not None
    cid = contact.record["ContactID"]
    batch = [_invoice(cid, 100), _invoice(cid, 5, account="NOPE"), _invoice(cid, 250.5)]
    results = client.save_records("Invoices", "Invoices", batch, idempotency_key="inv-1", create=True)
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].errors and results[1].record is None
    ids = [r.record["InvoiceID"] for r in results if r.record is not None]
    # The same key again is the same call: Xero answers the first outcome, nothing new is made.
    again = client.save_records("Invoices", "Invoices", batch, idempotency_key="inv-1", create=True)
    assert [r.record["InvoiceID"] for r in again if r.record is not None] == ids
    one = client.get_record("Invoices", "Invoices", ids[0])
    assert one is not None and Decimal(str(one["Total"])) == Decimal("100.00") and one["LineItems"]
    assert client.get_record("Invoices", "Invoices", "00000000-0000-0000-0000-000000000000") is None
    both = client.get_records("Invoices", "Invoices", [ids[1], ids[0], ids[1]])
    assert sorted(r["InvoiceID"] for r in both) == sorted(ids) and all(r["LineItems"] for r in both)
    [edited] = client.save_records("Invoices", "Invoices", [{"InvoiceID": ids[0], "Reference": "M-1"}],
                                   idempotency_key="inv-2", create=False)  # fmt: skip
    assert edited.ok and edited.record is not None and edited.record["Reference"] == "M-1"
    paged = list(client.iter_records("Invoices", "Invoices", params={"Statuses": "AUTHORISED"}, page_size=1))
    assert sorted(r["InvoiceID"] for r in paged) == sorted(ids)
    with pytest.raises(ValueError, match="collection"):
        client.get_records("../connections", "x", ["a"])


def test_xero_get_records_chunks_by_fifty(xero: XeroWorld) -> None:
    client = xero.client(budget=UnlimitedBudget())
    rows = [{"Name": f"Client {i:03d}"} for i in range(IDS_PER_REQUEST + 5)]
    created = client.save_records("Contacts", "Contacts", rows, idempotency_key="many", create=True)
    ids = [r.record["ContactID"] for r in created if r.record is not None]
    before = client.calls
    assert len(client.get_records("Contacts", "Contacts", ids)) == len(ids)
    assert client.calls - before == 2
    assert client.get_records("Contacts", "Contacts", []) == [] and client.calls - before == 2
