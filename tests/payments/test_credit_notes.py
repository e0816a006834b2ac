"""Clio credit memos → ACCRECCREDIT credit notes allocated as in Clio; void → void."""

from __future__ import annotations

from decimal import Decimal

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
