"""Clio credit memos → ACCRECCREDIT credit notes allocated as in Clio; void → void."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from clio_xero.errors import ValidationFailedError
from clio_xero.events import RecordType
from clio_xero.payments.plugins import MoneyOutcome, MoneyResult
from clio_xero.sync.core import Handled
from clio_xero_tools.sandbox.clio import domain
from tests.payments.harness import CONNECTION, make_world


def test_credit_memo_becomes_an_allocated_credit_note_and_void_voids_it() -> None:
    world = make_world()
    bill = world.bill(500.0)
    world.sync(RecordType.BILL, bill.id)
    memo = world.clio_world.sandbox.issue_credit_memo(bill.id, 150.0, "Goodwill write-off")
    [result] = world.sync(RecordType.CREDIT_MEMO, memo.id)
    assert isinstance(result, Handled) and isinstance(result.result, MoneyResult)
    assert result.result.outcome is MoneyOutcome.WRITTEN
    credit_note = world.xero.get_record("CreditNotes", "CreditNotes", str(result.result.xero_id))
    assert credit_note is not None
    assert (credit_note["Type"], credit_note["Status"], credit_note["CreditNoteNumber"]) == (
        "ACCRECCREDIT",
        "PAID",  # fully allocated
        f"CLIO-CN-{memo.id}",
    )
    assert Decimal(str(credit_note["Total"])) == 150
    invoice = world.invoice(bill)
    assert Decimal(str(invoice["AmountCredited"])) == 150 and Decimal(str(invoice["AmountDue"])) == 350
    # A duplicate hint allocates nothing twice.
    world.sync(RecordType.CREDIT_MEMO, memo.id)
    assert Decimal(str(world.invoice(bill)["AmountCredited"])) == 150

    # Voided in Clio: its allocation is removed and the credit note voided in Xero.
    with world.clio_world.sandbox.store.lock:
        store = world.clio_world.sandbox.store
        store.update(memo, {"voided_at": world.clock.now()})
        for allocation_id in memo.link_ids("allocations"):
            domain.void_allocation(store, domain.require(store, "allocations", allocation_id))
    [voided] = world.sync(RecordType.CREDIT_MEMO, memo.id)
    assert isinstance(voided, Handled) and isinstance(voided.result, MoneyResult)
    assert voided.result.outcome is MoneyOutcome.VOIDED
    credit_note = world.xero.get_record("CreditNotes", "CreditNotes", str(result.result.xero_id))
    assert credit_note is not None and credit_note["Status"] == "VOIDED"
    assert Decimal(str(world.invoice(bill)["AmountDue"])) == 500
    mapping = world.mappings.get(CONNECTION, "credit_memo", str(memo.id))
    assert mapping is not None and mapping.status.value == "tombstoned"


def test_an_uncertain_credit_note_write_is_found_by_number_not_written_twice() -> None:
    world = make_world()
    bill = world.bill(200.0)
    world.sync(RecordType.BILL, bill.id)
    memo = world.clio_world.sandbox.issue_credit_memo(bill.id, 50.0)
    world.sync(RecordType.CREDIT_MEMO, memo.id)
    # The mapping write was lost (the worker died after Xero answered): the retry finds it by number.
    mapping = world.mappings.get(CONNECTION, "credit_memo", str(memo.id))
    assert mapping is not None
    world.mappings.delete(mapping)
    world.sync(RecordType.CREDIT_MEMO, memo.id)
    rows = world.xero.request("GET", "/CreditNotes", params={"where": f'CreditNoteNumber=="CLIO-CN-{memo.id}"'}).json()
    assert len(rows["CreditNotes"]) == 1
    assert Decimal(str(world.invoice(bill)["AmountCredited"])) == 50


def _calls(world: Any, method: str, path: str) -> int:
    """Requests the Xero sandbox logged for exactly ``method path`` (a ``*`` in ``path`` matches one segment)."""
    pattern = re.compile("^/api.xro/2.0" + re.escape(path).replace(r"\*", "[^/]+") + "$")
    return sum(1 for e in world.xero_world.sandbox.request_log.entries(method=method) if pattern.match(e.path))


def test_a_burst_of_credit_notes_is_one_create_call_and_one_allocation_call_each() -> None:
    """12 credit memos arriving together (a sweep, a backfill): one lookup, one PUT /CreditNotes,
    then one allocation call per credit note; an element Xero refuses fails only its own memo."""
    world = make_world()
    bills = [world.bill(1000.0) for _ in range(3)]
    world.sync(RecordType.BILL, *(b.id for b in bills))
    memos = [world.clio_world.sandbox.issue_credit_memo(bills[n % 3].id, 10.0 + n) for n in range(12)]
    # A person's deleted draft holds the number of the last memo: Xero refuses that element only.
    contact = world.mappings.get(CONNECTION, "contact", str(world.client_id))
    assert contact is not None and contact.xero_id
    taken = {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": contact.xero_id},
        "CreditNoteNumber": f"CLIO-CN-{memos[-1].id}",
        "Status": "DRAFT",
        "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 1, "AccountCode": "200"}],
    }
    [draft] = world.xero.request("PUT", "/CreditNotes", json={"CreditNotes": [taken]}).json()["CreditNotes"]
    world.xero.request("POST", f"/CreditNotes/{draft['CreditNoteID']}", json={"CreditNotes": [{"Status": "DELETED"}]})
    world.xero_world.sandbox.request_log.clear()

    results = world.sync(RecordType.CREDIT_MEMO, *(m.id for m in memos))
    assert [type(r.result).__name__ if isinstance(r, Handled) else "error" for r in results] == ["MoneyResult"] * 11 + [
        "error"
    ]
    assert isinstance(results[-1], ValidationFailedError) and "Credit Note # must be unique" in results[-1].message
    assert _calls(world, "GET", "/Invoices") == 1  # the three invoices, with the credit each already has
    assert _calls(world, "GET", "/CreditNotes") == 1  # the uncertain-outcome lookup, by our numbers
    assert _calls(world, "PUT", "/CreditNotes") == 1  # twelve credit notes in one call
    assert _calls(world, "PUT", "/CreditNotes/*/Allocations") == 11  # Xero allocates one credit note per call
    credited = [Decimal(str(world.invoice(b)["AmountCredited"])) for b in bills]
    # bill 0: memos 10, 13, 16, 19; bill 1: 11, 14, 17, 20; bill 2: 12, 15, 18 (21 was refused)
    assert credited == [Decimal(58), Decimal(62), Decimal(45)]
    # That never happened in Xero twice; the refused one waits with Xero's words.
    mapping = world.mappings.get(CONNECTION, "credit_memo", str(memos[-1].id))
    assert mapping is not None and mapping.xero_id is None

    # The answers were lost for three of them (the mapping writes never happened): the next burst
    # finds them by number, writes no credit note and no allocation twice.
    for memo in memos[:3]:
        lost = world.mappings.get(CONNECTION, "credit_memo", str(memo.id))
        assert lost is not None
        world.mappings.delete(lost)
    world.xero_world.sandbox.request_log.clear()
    again = world.sync(RecordType.CREDIT_MEMO, *(m.id for m in memos[:11]))
    outcomes = [r.result.outcome for r in again if isinstance(r, Handled) and isinstance(r.result, MoneyResult)]
    assert outcomes == [MoneyOutcome.WRITTEN] * 3 + [MoneyOutcome.UNCHANGED] * 8
    assert _calls(world, "PUT", "/CreditNotes") == 0 and _calls(world, "PUT", "/CreditNotes/*/Allocations") == 0
    assert [Decimal(str(world.invoice(b)["AmountCredited"])) for b in bills] == credited
    rows = world.xero.request("GET", "/CreditNotes", params={"where": 'Status!="DELETED"'}).json()["CreditNotes"]
    assert len(rows) == 11 == len({r["CreditNoteNumber"] for r in rows})

    # Five voided in Clio together: one read, one DELETE per allocation, one POST of the five voids.
    store = world.clio_world.sandbox.store
    with store.lock:
        for memo in memos[:5]:
            store.update(memo, {"voided_at": world.clock.now()})
            for allocation_id in memo.link_ids("allocations"):
                domain.void_allocation(store, domain.require(store, "allocations", allocation_id))
    world.xero_world.sandbox.request_log.clear()
    voided = world.sync(RecordType.CREDIT_MEMO, *(m.id for m in memos[:5]))
    assert [r.result.outcome for r in voided if isinstance(r, Handled) and isinstance(r.result, MoneyResult)] == [
        MoneyOutcome.VOIDED
    ] * 5
    assert _calls(world, "GET", "/CreditNotes") == 1
    assert _calls(world, "DELETE", "/CreditNotes/*/Allocations/*") == 5
    assert _calls(world, "POST", "/CreditNotes") == 1
    assert sum(Decimal(str(world.invoice(b)["AmountCredited"])) for b in bills) == 165 - (10 + 11 + 12 + 13 + 14)
