"""Issue 12's scenarios end to end: the local runtime (API receiver, SQS and DynamoDB on moto over
127.0.0.1, the real worker and sweep Lambda handlers) and both sandboxes over loopback, with the
real bill plug-in. After every scenario `report receivables` shows zero differences, or exactly
the bills a person was asked about."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from clio_xero.clients.tls import tls_context
from clio_xero.clock import ManualClock
from clio_xero.payments.plugins import PaymentPlugin
from clio_xero_tools.local.scheduler import scheduled_event
from clio_xero_tools.local.world import LocalWorld, register_clio_webhooks
from clio_xero_tools.sandbox.clio import domain
from clio_xero_tools.sandbox.clio.store import Record
from tests.integration.conftest import WorldPool, cli
from tests.payments.harness import SETTINGS

__all__ = ["cli"]

pytestmark = pytest.mark.integration


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))


def xero_api(world: LocalWorld, method: str, path: str, body: Any = None, params: Any = None) -> dict[str, Any]:
    """A Xero user/API call outside the product."""
    grant = world.sandboxes.xero.issue_tokens([world.tenant_id])
    response = httpx.request(
        method,
        f"{world.sandboxes.xero_server.url}/api.xro/2.0{path}",
        json=body,
        params=params,
        headers={"Authorization": f"Bearer {grant['access_token']}", "xero-tenant-id": world.tenant_id},
        timeout=10,
        verify=tls_context(),  # not a new CA bundle load per call
    )
    assert response.status_code < 300, response.text
    result: dict[str, Any] = response.json()
    return result


def xero_admin(world: LocalWorld, method: str, path: str, body: Any = None) -> dict[str, Any]:
    url = f"{world.sandboxes.xero_server.url}/_sandbox/tenants/{world.tenant_id}{path}"
    response = httpx.request(method, url, json=body, timeout=10, verify=tls_context())
    assert response.status_code < 300, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
def world(shared_world: WorldPool, clock: ManualClock) -> Iterator[LocalWorld]:
    with shared_world(settings=SETTINGS, function_output=io.StringIO(), clock=clock, api_timeout_seconds=1) as w:
        register_clio_webhooks(w, clock)
        w.pump()
        xero_api(w, "PUT", "/Currencies", {"Code": "USD"})  # the Clio sandbox bills in USD
        sweep(w, clock)  # the first run only sets the cursors
        yield w


def sweep(world: LocalWorld, clock: ManualClock) -> dict[str, Any]:
    """The scheduled sweep (Clio sends no webhooks for payments or credit notes), then the worker."""
    clock.advance(60)
    report: dict[str, Any] = world.runtime.functions["SweepFunction"].invoke(scheduled_event("sweep", clock.now()))
    world.pump()
    return report


def approved_bill(world: LocalWorld, amount: float) -> Record:
    clio = world.sandboxes.clio
    client = clio.act_create("contacts", {"type": "Company", "name": f"Client {amount}"})
    matter = clio.act_create("matters", {"client": {"id": client.id}, "description": "Lease"})
    bill = clio.create_bill(
        client_id=client.id,
        matter_ids=[matter.id],
        state="awaiting_payment",
        line_items=[{"description": "Advice", "price": amount, "quantity": 1, "taxable": False}],
    )
    world.pump()
    return bill


def invoice_of(world: LocalWorld, bill: Record) -> dict[str, Any]:
    mapping = world.mappings.get(world.connection_id, "bill", str(bill.id))
    assert mapping is not None and mapping.xero_id, f"bill {bill.id} not synced: {mapping}"
    [invoice] = xero_api(world, "GET", f"/Invoices/{mapping.xero_id}")["Invoices"]
    found: dict[str, Any] = invoice
    return found


def live_payments(world: LocalWorld, invoice: dict[str, Any]) -> list[dict[str, Any]]:
    where = f'Invoice.InvoiceID==Guid("{invoice["InvoiceID"]}") AND Status=="AUTHORISED"'
    rows: list[dict[str, Any]] = xero_api(world, "GET", "/Payments", params={"where": where})["Payments"]
    return rows


def report_rows(cli: Any) -> list[dict[str, Any]]:
    """`clio-xero report receivables --format json` through the CLI; exit 1 iff anything differs."""
    code, output = cli("report", "receivables", "--format", "json")
    body = json.loads(output)
    assert code == (1 if body["differences"] else 0), output
    rows: list[dict[str, Any]] = body["rows"]
    return rows


def differences(world: LocalWorld, cli: Any) -> list[tuple[str, list[str]]]:
    return [(r["bill_id"], r["differences"]) for r in report_rows(cli) if r["differences"]]


def test_partial_then_second_payment_then_paid(world: LocalWorld, clock: ManualClock, cli: Any) -> None:
    bill = approved_bill(world, 1000.0)
    assert invoice_of(world, bill)["Status"] == "AUTHORISED"
    world.sandboxes.clio.record_payment(bill.id, 400.0)
    sweep(world, clock)
    invoice = invoice_of(world, bill)
    assert (invoice["Status"], Decimal(str(invoice["AmountDue"]))) == ("AUTHORISED", Decimal(600))
    assert differences(world, cli) == []
    world.sandboxes.clio.record_payment(bill.id, 600.0)
    sweep(world, clock)
    invoice = invoice_of(world, bill)
    assert invoice["Status"] == "PAID" and len(live_payments(world, invoice)) == 2
    assert differences(world, cli) == []
    sweep(world, clock)  # nothing new: nothing written twice
    assert len(live_payments(world, invoice_of(world, bill))) == 2


def test_credit_memo_allocated_and_payment_voided_in_clio_deleted_in_xero(
    world: LocalWorld, clock: ManualClock, cli: Any
) -> None:
    bill = approved_bill(world, 500.0)
    world.sandboxes.clio.issue_credit_memo(bill.id, 100.0, "Goodwill")
    allocation = world.sandboxes.clio.record_payment(bill.id, 150.0)
    sweep(world, clock)
    invoice = invoice_of(world, bill)
    assert Decimal(str(invoice["AmountCredited"])) == 100 and Decimal(str(invoice["AmountPaid"])) == 150
    assert differences(world, cli) == []
    store = world.sandboxes.clio.store
    with store.lock:
        domain.void_allocation(store, allocation)
    sweep(world, clock)
    invoice = invoice_of(world, bill)
    assert live_payments(world, invoice) == [] and Decimal(str(invoice["AmountDue"])) == 400
    assert differences(world, cli) == []


def test_manual_payment_in_xero_first_is_flagged_without_overpayment(
    world: LocalWorld, clock: ManualClock, cli: Any
) -> None:
    bill = approved_bill(world, 800.0)
    invoice = invoice_of(world, bill)
    clock.advance(5)  # a person, a little later (earlier events are the echoes of our own writes)
    manual = xero_admin(world, "POST", "/payments", {"Invoice": {"InvoiceID": invoice["InvoiceID"]}})
    world.pump()  # Xero's INVOICE webhook reaches the worker: the person's payment is flagged
    flag = world.mappings.get(world.connection_id, "invoice", str(bill.id))
    assert flag is not None and flag.status.value == "error" and manual["PaymentID"] in (flag.last_error or "")
    allocation = world.sandboxes.clio.record_payment(bill.id, 800.0)
    sweep(world, clock)
    waiting = world.mappings.get(world.connection_id, "allocation", str(allocation.id))
    assert waiting is not None and waiting.status.value == "error"
    assert "by hand" in (waiting.last_error or "") and "Two ways out" in (waiting.last_error or "")
    invoice = invoice_of(world, bill)
    assert Decimal(str(invoice["AmountPaid"])) == 800 and len(live_payments(world, invoice)) == 1  # no overpayment
    code, listed = cli("errors", "--json")
    assert code == 1 and f"allocation:{allocation.id}" in json.dumps(listed)
    assert differences(world, cli) == []  # both sides say paid; the waiting records are in `errors`
    # Way out 2: it is the same money.
    code, output = cli("payments", "link", str(allocation.id), manual["PaymentID"])
    assert code == 0, output


def test_invoice_voided_in_xero_is_flagged_and_is_the_only_difference(
    world: LocalWorld, clock: ManualClock, cli: Any
) -> None:
    bill = approved_bill(world, 120.0)
    other = approved_bill(world, 75.0)
    invoice = invoice_of(world, bill)
    clock.advance(5)  # a person, a little later (earlier events are the echoes of our own writes)
    xero_admin(world, "POST", f"/invoices/{invoice['InvoiceID']}", {"Status": "VOIDED"})
    world.pump()
    flag = world.mappings.get(world.connection_id, "invoice", str(bill.id))
    assert flag is not None and flag.status.value == "error" and "voided in Xero" in (flag.last_error or "")
    found = differences(world, cli)
    assert found == [(str(bill.id), ["status: Clio awaiting_payment, Xero VOIDED"])]
    assert invoice_of(world, other)["Status"] == "AUTHORISED"
    rows = report_rows(cli)
    assert [r["flagged"] is not None for r in rows if r["differences"]] == [True]  # exactly the flagged one


def test_the_daily_function_counts_the_differences(world: LocalWorld, clock: ManualClock) -> None:
    daily = world.runtime.functions["ReceivablesReportFunction"]
    bill = approved_bill(world, 210.0)
    assert daily.invoke(scheduled_event("receivables", clock.now()))["differences"] == 0
    world.sandboxes.clio.record_payment(bill.id, 10.0)  # not swept yet: Xero does not know it
    assert daily.invoke(scheduled_event("receivables", clock.now()))["differences"] == 1
    day_copy = f"receivables/reports/{world.connection_id}/{clock.now().date().isoformat()}"
    s3, bucket = world.runtime.client("s3"), world.runtime.physical_id("DeliveryBucket")
    kept = json.loads(s3.get_object(Bucket=bucket, Key=f"{day_copy}.json")["Body"].read())
    assert (kept["differences"], kept["rows"][0]["bill_id"]) == (1, str(bill.id))  # the day's copy, kept
    sweep(world, clock)
    assert daily.invoke(scheduled_event("receivables", clock.now()))["differences"] == 0
    kept = json.loads(s3.get_object(Bucket=bucket, Key=f"{day_copy}.json")["Body"].read())
    assert kept["differences"] == 0  # a later run the same day replaces it
    assert "text/csv" in s3.head_object(Bucket=bucket, Key=f"{day_copy}.csv")["ContentType"]


def test_backfill_payments_through_the_cli(world: LocalWorld, clock: ManualClock, cli: Any) -> None:
    world.settings(sync_payments=False, sync_credit_notes=False)
    bill = approved_bill(world, 900.0)
    for _ in range(3):
        world.sandboxes.clio.record_payment(bill.id, 100.0)
    world.sandboxes.clio.issue_credit_memo(bill.id, 50.0)
    world.settings(sync_payments=True, sync_credit_notes=True)
    code, output = cli("backfill", "payments", "--dry-run")
    assert code == 0 and "payments: 3 to write" in output and "credit_notes: 1 to write" in output, output
    assert live_payments(world, invoice_of(world, bill)) == []  # the dry run wrote nothing
    code, output = cli("backfill", "payments")
    assert code == 0 and "payments_written 3" in output, output
    invoice = invoice_of(world, bill)
    assert Decimal(str(invoice["AmountPaid"])) == 300 and Decimal(str(invoice["AmountCredited"])) == 50
    assert differences(world, cli) == []


def xero_documents(world: LocalWorld) -> tuple[int, int, int]:
    """Invoices, live payments and credit notes in the Xero organisation."""
    invoices = xero_api(world, "GET", "/Invoices")["Invoices"]
    payments = xero_api(world, "GET", "/Payments", params={"where": 'Status=="AUTHORISED"'})["Payments"]
    credit_notes = xero_api(world, "GET", "/CreditNotes")["CreditNotes"]
    return len(invoices), len(payments), len(credit_notes)


def test_backfill_bills_brings_the_payments_and_credit_notes_of_its_bills(
    world: LocalWorld, clock: ManualClock, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One command for a firm's receivables: invoices, then payments, then credit notes; planned
    by --dry-run, resumed after an interruption, never written twice."""
    world.settings(sync_bills=False, sync_payments=False, sync_credit_notes=False)
    bills = [approved_bill(world, 5000.0 + n) for n in range(3)]
    for n in range(60):  # two payment batches (50 + 10)
        world.sandboxes.clio.record_payment(bills[n % 3].id, 10.0)
    world.sandboxes.clio.issue_credit_memo(bills[0].id, 100.0, "Goodwill")
    world.sandboxes.clio.issue_credit_memo(bills[1].id, 40.0)
    assert xero_documents(world) == (0, 0, 0)
    world.settings(sync_bills=True, sync_payments=True)  # credit notes still off

    code, plan = cli("backfill", "bills", "--dry-run", "--json")
    assert code == 0 and plan["counts"]["create"] == 3, plan
    assert plan["phases"]["payments"] == {"write": 60, "reasons": {}, "off": None}
    assert plan["phases"]["credit_notes"]["off"] == "switched off (sync_credit_notes=false)"
    world.settings(sync_credit_notes=True)
    code, output = cli("backfill", "bills", "--dry-run")
    assert code == 0 and "3 create" in output, output
    assert "payments: 60 to write." in output and "credit_notes: 2 to write." in output, output
    assert list(json.loads(json.dumps(plan["phases"]))) == ["payments", "credit_notes"]  # the registry's order
    assert xero_documents(world) == (0, 0, 0)  # the dry runs wrote nothing

    # Interrupted (Ctrl-C) while the second payment batch is written: the invoices and the first
    # 50 payments are in Xero, the payments phase's checkpoint names the 50th.
    real_sync_batch = PaymentPlugin.sync_batch
    calls = 0

    def interrupted(self: PaymentPlugin, ctx: Any, events: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt
        return real_sync_batch(self, ctx, events)

    monkeypatch.setattr(PaymentPlugin, "sync_batch", interrupted)
    code, output = cli("backfill", "bills")
    assert code != 0, output
    assert xero_documents(world) == (3, 50, 0)
    monkeypatch.setattr(PaymentPlugin, "sync_batch", real_sync_batch)

    log = world.sandboxes.xero.request_log
    log.clear()
    code, done = cli("backfill", "bills", "--json")
    assert code == 0, done
    # The two credit notes of the chained runner's last phase: one lookup, one write, one
    # allocation call each.
    assert [e.method for e in log.entries(path_prefix="/api.xro/2.0/CreditNotes")].count("PUT") == 3
    assert len([e for e in log.entries(method="PUT") if e.path == "/api.xro/2.0/CreditNotes"]) == 1
    assert len([e for e in log.entries(method="GET") if e.path == "/api.xro/2.0/CreditNotes"]) == 1
    assert done["done"] == {} and done["resumed"] is None  # the bills phase had finished
    phases = done["phases"]
    assert phases["resumed"]["payments"]["last_clio_id"] is not None
    assert phases["done"] == {"payments_written": 10, "credit_notes_written": 2}, phases
    assert phases["errors"] == []
    assert xero_documents(world) == (3, 60, 2)
    for bill, credited in zip(bills, (100, 40, 0), strict=True):
        invoice = invoice_of(world, bill)
        assert Decimal(str(invoice["AmountPaid"])) == 200 and Decimal(str(invoice["AmountCredited"])) == credited
    assert differences(world, cli) == []

    writes_before = len([e for e in log.entries() if e.method != "GET"])
    code, again = cli("backfill", "bills", "--json")  # a rerun writes nothing
    assert len([e for e in log.entries() if e.method != "GET"]) == writes_before
    assert code == 0 and again["done"] == {} and again["phases"]["done"] == {"credit_notes_unchanged": 2}, again
    planned = again["phases"]["plan"]
    assert planned["payments"] == {"write": 0, "reasons": {"payments already in Xero": 60}, "off": None}
    assert planned["credit_notes"]["write"] == 0
    assert xero_documents(world) == (3, 60, 2)


def test_credit_memos_found_by_the_sweep_are_written_in_bursts(world: LocalWorld, clock: ManualClock, cli: Any) -> None:
    """The sweep lists 12 new credit memos; the worker gets them in SQS batches of 10 and writes
    each batch's credit notes in one PUT /CreditNotes (then one allocation call per credit note)."""
    bills = [approved_bill(world, 900.0 + n) for n in range(3)]
    for n in range(12):
        world.sandboxes.clio.issue_credit_memo(bills[n % 3].id, 20.0)
    log = world.sandboxes.xero.request_log
    log.clear()
    sweep(world, clock)
    creates = [e for e in log.entries(method="PUT") if e.path == "/api.xro/2.0/CreditNotes"]
    allocations = [e for e in log.entries(method="PUT") if e.path.endswith("/Allocations")]
    # SQS batches of 10, shared with the bill changes the same sweep found: 2 or 3 bursts (was 12
    # creates and 12 lookups), each with one lookup by number.
    assert 2 <= len(creates) <= 3 and len(allocations) == 12
    assert len(log.entries(method="GET", path_prefix="/api.xro/2.0/CreditNotes")) == len(creates)
    for bill in bills:
        assert Decimal(str(invoice_of(world, bill)["AmountCredited"])) == 80
    assert xero_documents(world)[2] == 12
    assert differences(world, cli) == []


def test_report_receivables_as_of_a_date_through_the_cli(world: LocalWorld, clock: ManualClock, cli: Any) -> None:
    """`report receivables --as-of DATE`: the money dated by DATE on both sides, so a payment of a
    later day that Xero does not have yet makes no difference on an earlier day."""
    bill = approved_bill(world, 1000.0)
    world.sandboxes.clio.record_payment(bill.id, 300.0, when="2026-11-30")
    sweep(world, clock)
    clock.advance(2 * 86400)
    world.sandboxes.clio.record_payment(bill.id, 200.0, when="2026-12-02")  # the sweep has not run yet

    def row(as_of: str) -> tuple[int, dict[str, Any]]:
        code, output = cli("report", "receivables", "--as-of", as_of, "--format", "json")
        body = json.loads(output)
        assert body["as_of"] == as_of
        [found] = [r for r in body["rows"] if r["bill_id"] == str(bill.id)]
        return code, found

    code, before = row("2026-12-01")
    assert code == 0 and (before["clio_paid"], before["xero_paid"], before["clio_balance"]) == (
        "300.00",
        "300.00",
        "700.00",
    )
    code, after = row("2026-12-02")
    assert code == 1 and after["differences"] == [
        "paid: Clio 500.00, Xero 300.00",
        "balance due: Clio 500.00, Xero 700.00",
    ]
    code, table = cli("report", "receivables", "--as-of", "2026-12-01")
    assert code == 0 and "on or before 2026-12-01" in table, table
    assert cli("report", "receivables", "--as-of", "2 Dec")[0] == 2
    sweep(world, clock)
    assert row("2026-12-02")[0] == 0
