"""Clio payments → Xero payments on the bill's invoice, through the engine and both sandboxes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from clio_xero.errors import ConfigurationError, XeroSideChangeError
from clio_xero.events import RecordType, Source
from clio_xero.payments.plugins import MoneyOutcome, MoneyResult
from clio_xero.sync.core import Handled
from tests.payments.harness import CONNECTION, PaymentsWorld, make_world


@pytest.fixture
def world() -> PaymentsWorld:
    return make_world()


def outcome(result: object) -> MoneyOutcome:
    assert isinstance(result, Handled), result
    assert isinstance(result.result, MoneyResult), result.result
    return result.result.outcome


def payments_on(world: PaymentsWorld, invoice_id: str) -> list[dict[str, object]]:
    rows = world.xero.request("GET", "/Payments", params={"where": f'Invoice.InvoiceID==Guid("{invoice_id}")'}).json()
    return [p for p in rows["Payments"] if p["Status"] == "AUTHORISED"]


def test_partial_then_second_payment_marks_the_invoice_paid(world: PaymentsWorld) -> None:
    bill = world.bill(1000.0)
    world.sync(RecordType.BILL, bill.id)
    first = world.pay(bill, 400.0)
    [result] = world.sync(RecordType.ALLOCATION, first.id)
    assert outcome(result) is MoneyOutcome.WRITTEN
    invoice = world.invoice(bill)
    assert (invoice["Status"], Decimal(str(invoice["AmountPaid"])), Decimal(str(invoice["AmountDue"]))) == (
        "AUTHORISED",
        Decimal("400"),
        Decimal("600"),
    )
    second = world.pay(bill, 600.0)
    [result] = world.sync(RecordType.ALLOCATION, second.id)
    assert outcome(result) is MoneyOutcome.WRITTEN
    invoice = world.invoice(bill)
    assert invoice["Status"] == "PAID" and Decimal(str(invoice["AmountDue"])) == 0
    payments = payments_on(world, invoice["InvoiceID"])
    assert sorted(str(p["Reference"]) for p in payments) == [f"Clio payment {first.id}", f"Clio payment {second.id}"]
    assert {p["Account"]["Code"] for p in payments} == {"090"}  # type: ignore[index]
    # Synced again (a duplicated sweep hint): nothing is written twice.
    results = world.sync(RecordType.ALLOCATION, first.id, second.id)
    assert [outcome(r) for r in results] == [MoneyOutcome.UNCHANGED, MoneyOutcome.UNCHANGED]
    assert len(payments_on(world, invoice["InvoiceID"])) == 2


def test_a_burst_is_one_write_and_never_overpays(world: PaymentsWorld) -> None:
    bill = world.bill(300.0)
    world.sync(RecordType.BILL, bill.id)
    allocations = [world.pay(bill, 100.0) for _ in range(3)]
    before = len(world.xero_world.sandbox.request_log.entries(path_prefix="/api.xro/2.0/Payments"))
    results = world.sync(RecordType.ALLOCATION, *(a.id for a in allocations))
    assert [outcome(r) for r in results] == [MoneyOutcome.WRITTEN] * 3
    writes = world.xero_world.sandbox.request_log.entries(path_prefix="/api.xro/2.0/Payments")
    assert len(writes) - before == 1  # one PUT /Payments for the burst
    assert world.invoice(bill)["Status"] == "PAID"


def test_voided_in_clio_deletes_the_xero_payment(world: PaymentsWorld) -> None:
    bill = world.bill(500.0)
    world.sync(RecordType.BILL, bill.id)
    allocation = world.pay(bill, 500.0)
    world.sync(RecordType.ALLOCATION, allocation.id)
    assert world.invoice(bill)["Status"] == "PAID"
    from clio_xero_tools.sandbox.clio import domain

    with world.clio_world.sandbox.store.lock:
        domain.void_allocation(world.clio_world.sandbox.store, allocation)
    [result] = world.sync(RecordType.ALLOCATION, allocation.id)
    assert outcome(result) is MoneyOutcome.DELETED
    invoice = world.invoice(bill)
    assert invoice["Status"] == "AUTHORISED" and Decimal(str(invoice["AmountDue"])) == 500
    assert payments_on(world, invoice["InvoiceID"]) == []
    [again] = world.sync(RecordType.ALLOCATION, allocation.id)  # a duplicate hint: nothing more
    assert outcome(again) is MoneyOutcome.UNCHANGED


def test_trust_paid_bill_lands_in_the_mapped_account(world: PaymentsWorld) -> None:
    bill = world.bill(250.0)
    world.sync(RecordType.BILL, bill.id)
    allocation = world.pay(bill, 250.0, bank_account_id=world.trust_account_id())
    world.sync(RecordType.ALLOCATION, allocation.id)
    invoice = world.invoice(bill)
    [payment] = payments_on(world, invoice["InvoiceID"])
    assert payment["Account"]["Code"] == "855"  # type: ignore[index]


def test_trust_paid_without_the_setting_waits_with_the_fix() -> None:
    world = make_world()
    world.settings = world.settings.changed(trust_payment_account_code=None)
    bill = world.bill(250.0)
    world.sync(RecordType.BILL, bill.id)
    allocation = world.pay(bill, 250.0, bank_account_id=world.trust_account_id())
    [result] = world.sync(RecordType.ALLOCATION, allocation.id)
    assert isinstance(result, ConfigurationError)
    assert "trust_payment_account_code" in result.message
    assert world.invoice(bill)["Status"] == "AUTHORISED"


def test_manual_payment_in_xero_first_is_flagged_never_overpaid(world: PaymentsWorld) -> None:
    bill = world.bill(800.0)
    world.sync(RecordType.BILL, bill.id)
    invoice = world.invoice(bill)
    manual = world.xero_world.sandbox.admin.record_payment(
        world.tenant, {"Invoice": {"InvoiceID": invoice["InvoiceID"]}}
    )
    # Xero's invoice webhook: the person's payment is flagged on invoice:<bill>.
    [watched] = world.sync(RecordType.INVOICE, invoice["InvoiceID"], source=Source.XERO)
    assert isinstance(watched, XeroSideChangeError)
    assert manual["PaymentID"] in watched.message and "by hand" in watched.message
    flag = world.mappings.get(CONNECTION, "invoice", str(bill.id))
    assert flag is not None and flag.status.value == "error"
    # Clio's payment arrives: it waits with what was done in Xero and the two ways out.
    allocation = world.pay(bill, 800.0)
    [result] = world.sync(RecordType.ALLOCATION, allocation.id)
    assert isinstance(result, XeroSideChangeError)
    assert "would overpay" in result.message and "Two ways out" in result.message
    assert f"clio-xero retry clio:allocation:{allocation.id}" in result.message
    invoice = world.invoice(bill)
    assert Decimal(str(invoice["AmountPaid"])) == 800 and len(payments_on(world, invoice["InvoiceID"])) == 1
    waiting = world.mappings.get(CONNECTION, "allocation", str(allocation.id))
    assert waiting is not None and waiting.status.value == "error" and "by hand" in (waiting.last_error or "")
    # Way out 1: the person deletes their payment in Xero; the retry writes Clio's.
    world.xero_world.sandbox.admin.delete_payment(world.tenant, manual["PaymentID"])
    [retried] = world.sync(RecordType.ALLOCATION, allocation.id)
    assert outcome(retried) is MoneyOutcome.WRITTEN
    [checked] = world.sync(RecordType.INVOICE, invoice["InvoiceID"], source=Source.XERO)
    assert outcome(checked) is MoneyOutcome.CHECKED
    flag = world.mappings.get(CONNECTION, "invoice", str(bill.id))
    assert flag is not None and flag.status.value == "ok"


def test_invoice_voided_in_xero_is_flagged(world: PaymentsWorld) -> None:
    bill = world.bill(120.0)
    world.sync(RecordType.BILL, bill.id)
    invoice = world.invoice(bill)
    world.xero_world.sandbox.admin.update_invoice(world.tenant, invoice["InvoiceID"], {"Status": "VOIDED"})
    [watched] = world.sync(RecordType.INVOICE, invoice["InvoiceID"], source=Source.XERO)
    assert isinstance(watched, XeroSideChangeError)
    assert "voided in Xero" in watched.message and f"clio-xero retry clio:bill:{bill.id}" in watched.message


def test_our_own_writes_coming_back_as_webhooks_are_not_changes(world: PaymentsWorld) -> None:
    bill = world.bill(90.0)
    world.sync(RecordType.BILL, bill.id)
    allocation = world.pay(bill, 45.0)
    world.sync(RecordType.ALLOCATION, allocation.id)
    [checked] = world.sync(RecordType.INVOICE, world.invoice(bill)["InvoiceID"], source=Source.XERO)
    assert outcome(checked) is MoneyOutcome.CHECKED


def test_our_payment_deleted_in_xero_is_flagged_or_reapplied(world: PaymentsWorld) -> None:
    bill = world.bill(70.0)
    world.sync(RecordType.BILL, bill.id)
    allocation = world.pay(bill, 70.0)
    [written] = world.sync(RecordType.ALLOCATION, allocation.id)
    assert isinstance(written, Handled) and isinstance(written.result, MoneyResult)
    world.xero_world.sandbox.admin.delete_payment(world.tenant, str(written.result.xero_id))
    invoice_id = world.invoice(bill)["InvoiceID"]
    [flagged] = world.sync(RecordType.INVOICE, invoice_id, source=Source.XERO)
    assert isinstance(flagged, XeroSideChangeError) and "was deleted from" in flagged.message
    world.settings = world.settings.changed(xero_change_policy="reapply")
    [reapplied] = world.sync(RecordType.INVOICE, invoice_id, source=Source.XERO)
    assert outcome(reapplied) is MoneyOutcome.REAPPLIED
    assert world.invoice(bill)["Status"] == "PAID"


def test_switched_off_nothing_is_written() -> None:
    world = make_world()
    world.settings = world.settings.changed(sync_payments=False)
    bill = world.bill(60.0)
    world.sync(RecordType.BILL, bill.id)
    allocation = world.pay(bill, 60.0)
    [result] = world.sync(RecordType.ALLOCATION, allocation.id)
    assert isinstance(result, Handled) and result.skipped is not None
    assert world.invoice(bill)["Status"] == "AUTHORISED"


def test_a_payment_whose_answer_was_lost_is_adopted_not_written_twice(world: PaymentsWorld) -> None:
    bill = world.bill(400.0)
    world.sync(RecordType.BILL, bill.id)
    allocation = world.pay(bill, 150.0)
    world.sync(RecordType.ALLOCATION, allocation.id)
    mapping = world.mappings.get(CONNECTION, "allocation", str(allocation.id))
    assert mapping is not None
    world.mappings.delete(mapping)  # the worker died between Xero's write and the mapping write
    [result] = world.sync(RecordType.ALLOCATION, allocation.id)
    assert outcome(result) is MoneyOutcome.ADOPTED
    invoice = world.invoice(bill)
    assert len(payments_on(world, invoice["InvoiceID"])) == 1 and Decimal(str(invoice["AmountPaid"])) == 150


def test_way_out_two_links_the_manual_payment_and_the_report_agrees(world: PaymentsWorld) -> None:
    from clio_xero.payments.plugins import link_payment
    from clio_xero.payments.report import read_receivables

    bill = world.bill(300.0)
    world.sync(RecordType.BILL, bill.id)
    invoice = world.invoice(bill)
    manual = world.xero_world.sandbox.admin.record_payment(
        world.tenant, {"Invoice": {"InvoiceID": invoice["InvoiceID"]}}
    )
    allocation = world.pay(bill, 300.0)
    [waiting] = world.sync(RecordType.ALLOCATION, allocation.id)
    assert isinstance(waiting, XeroSideChangeError)
    world.sync(RecordType.INVOICE, invoice["InvoiceID"], source=Source.XERO)

    def report() -> list[list[str]]:
        found = read_receivables(
            clio=world.clio, xero=world.xero, mappings=world.mappings, connection_id=CONNECTION, settings=world.settings
        )
        return [r.differences for r in found.rows if r.differs]

    # While it waits, the report shows exactly the flagged bill (paid in Xero, not yet in Clio's eyes? no:
    # both say paid, so the books agree; the waiting records are listed by `errors`).
    assert report() == []
    link_payment(
        clio=world.clio,
        xero=world.xero,
        mappings=world.mappings,
        connection_id=CONNECTION,
        allocation_id=str(allocation.id),
        payment_id=manual["PaymentID"],
        now=world.clock.now(),
    )
    [after] = world.sync(RecordType.ALLOCATION, allocation.id)
    assert outcome(after) is MoneyOutcome.UNCHANGED
    [checked] = world.sync(RecordType.INVOICE, invoice["InvoiceID"], source=Source.XERO)
    assert outcome(checked) is MoneyOutcome.CHECKED
    assert len(payments_on(world, invoice["InvoiceID"])) == 1
    assert report() == []


def test_report_finds_a_payment_missing_from_xero_and_a_bill_never_sent(world: PaymentsWorld) -> None:
    from clio_xero.payments.report import read_receivables

    synced, unsent = world.bill(100.0), world.bill(40.0)
    world.sync(RecordType.BILL, synced.id)
    world.pay(synced, 60.0)  # not synced yet (the sweep has not run)
    found = read_receivables(
        clio=world.clio, xero=world.xero, mappings=world.mappings, connection_id=CONNECTION, settings=world.settings
    )
    by_bill = {r.bill_id: r.differences for r in found.rows}
    assert by_bill[str(synced.id)] == ["paid: Clio 60.00, Xero 0.00", "balance due: Clio 40.00, Xero 100.00"]
    assert by_bill[str(unsent.id)][0].startswith("not in Xero: ")
    assert found.differences == 2


def test_with_payments_off_a_payment_entered_in_xero_is_not_a_clash() -> None:
    world = make_world()
    world.settings = world.settings.changed(sync_payments=False)
    bill = world.bill(100.0)
    world.sync(RecordType.BILL, bill.id)
    invoice = world.invoice(bill)
    world.xero_world.sandbox.admin.record_payment(world.tenant, {"Invoice": {"InvoiceID": invoice["InvoiceID"]}})
    [checked] = world.sync(RecordType.INVOICE, invoice["InvoiceID"], source=Source.XERO)
    assert outcome(checked) is MoneyOutcome.CHECKED


def test_the_echo_of_our_own_invoice_write_costs_no_xero_read(world: PaymentsWorld) -> None:
    from clio_xero.sync.contacts.merge import parse_xero_date

    bill = world.bill(100.0)
    world.sync(RecordType.BILL, bill.id)
    mapping = world.mappings.get(CONNECTION, "bill", str(bill.id))
    assert mapping is not None and mapping.xero_id
    written = parse_xero_date(mapping.xero_updated_at)
    assert written is not None
    assert world.engine is not None
    log = world.xero_world.sandbox.request_log
    before = len(log.entries(method="GET", path_prefix="/api.xro/2.0/Invoices"))
    echo = world.event(RecordType.INVOICE, mapping.xero_id, Source.XERO).model_copy(update={"occurred_at": written})
    [result] = world.engine.sync_batch([echo])
    assert outcome(result) is MoneyOutcome.CHECKED
    assert len(log.entries(method="GET", path_prefix="/api.xro/2.0/Invoices")) == before
