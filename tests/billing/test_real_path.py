"""Bills end to end through the local runtime and both sandboxes over loopback (issue 11's Proof).

Real path: a bill approved in the Clio sandbox → its ``bill`` webhook (registered because the
bill plug-in is in the registry and ``sync_bills`` is on) → the API receiver on the local runtime
→ SQS FIFO (moto over 127.0.0.1) → the real worker Lambda handler → the bill plug-in, which reads
Clio and writes Xero with the real clients. One ManualClock drives the sandboxes and every
function, so rate-limit windows move when the test says so.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from clio_xero.clients.tls import tls_context
from clio_xero.clock import ManualClock
from clio_xero.sync.bills.plugin import BillPlugin
from clio_xero.sync.mapping import MappingStatus
from clio_xero.sync.settings import ConnectionSettings
from clio_xero_tools.local.scheduler import scheduled_event
from clio_xero_tools.local.world import LocalWorld, register_clio_webhooks
from clio_xero_tools.sandbox._base import FaultPlan
from clio_xero_tools.sandbox.clio.store import Record
from clio_xero_tools.sandbox.xero.store import Document
from tests.integration.conftest import WorldPool, cli

__all__ = ["cli"]  # the operator CLI fixture, pointed at this module's world

pytestmark = pytest.mark.integration

TRACKING = "Matter"
SETTINGS = ConnectionSettings(
    sync_bills=True,
    time_account_code="200",
    flat_fee_account_code="260",
    expense_account_code="200",
    interest_account_code="270",
    discount_account_code="200",
    use_clio_category_codes=False,
    tax_type_primary="OUTPUT",  # the sandboxes' Clio GST 10% = Xero AU "GST on Income" 10%
    tax_type_untaxed="EXEMPTOUTPUT",
    tracking_source="matter",
    tracking_category=TRACKING,
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))


@pytest.fixture
def world(shared_world: WorldPool, clock: ManualClock) -> Iterator[LocalWorld]:
    with shared_world(settings=SETTINGS, function_output=io.StringIO(), clock=clock, api_timeout_seconds=1) as w:
        records = register_clio_webhooks(w, clock)  # `webhooks register`, now that sync_bills is on
        assert {r.model for r in records} == {"contact", "bill", "activity"}  # learnt from the registry
        w.pump()
        xero_api(w, "PUT", "/TrackingCategories", {"Name": TRACKING})
        xero_api(w, "PUT", "/Currencies", {"Code": "USD"})  # the Clio sandbox bills in USD
        yield w


def xero_api(world: LocalWorld, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """A Xero user/API call outside the product (setting up the organisation)."""
    return world.xero_user_call(method, path, body)


def xero_admin(world: LocalWorld, path: str, body: Any) -> None:
    url = f"{world.sandboxes.xero_server.url}/_sandbox/tenants/{world.tenant_id}{path}"
    response = httpx.post(url, json=body, timeout=10, verify=tls_context())
    assert response.status_code < 300, response.text


def invoices(world: LocalWorld) -> list[Document]:
    store = world.sandboxes.xero.store
    with store.lock:
        return [d for d in store.orgs[world.tenant_id].invoices.values() if d.type == "ACCREC"]


def one_invoice(world: LocalWorld, number: str) -> Document:
    found = [d for d in invoices(world) if d.number == number]
    parked = [(m.clio_id, m.last_error) for m in world.mappings.list(world.connection_id, "bill") if m.last_error]
    assert len(found) == 1, f"{len(found)} invoices numbered {number}; parked: {parked}"
    return found[0]


def activity(world: LocalWorld, matter: Record, **body: Any) -> int:
    record = world.sandboxes.clio.act_create("activities", {"matter": {"id": matter.id}, **body})
    return int(record.id)


def bill_with_every_kind_of_line(world: LocalWorld, state: str = "draft") -> tuple[Record, Record]:
    clio = world.sandboxes.clio
    client = clio.act_create("contacts", {"type": "Company", "name": "Harbour Freight Ltd"})
    matter = clio.act_create("matters", {"client": {"id": client.id}, "description": "Lease dispute"})
    time_entry = activity(world, matter, type="TimeEntry", quantity=5400, price=300, tax_setting="tax_1_only")
    flat_fee = activity(
        world, matter, type="TimeEntry", quantity=3600, price=750, flat_rate=True, tax_setting="tax_1_only"
    )
    expense = activity(world, matter, type="ExpenseEntry", price=42.5, quantity=2, tax_setting="no_tax")
    bill = clio.create_bill(
        client_id=client.id,
        matter_ids=[matter.id],
        activity_ids=[time_entry, flat_fee, expense],
        state=state,
        discount={"rate": 10, "type": "percentage", "note": "Loyal client"},
    )
    return bill, matter


def approve(world: LocalWorld, bill: Record) -> None:
    world.sandboxes.clio.act_update("bills", bill, {"state": "awaiting_payment"})


def clio_bill(world: LocalWorld, bill: Record) -> dict[str, Any]:
    with world.clio_api() as clio:
        data: dict[str, Any] = clio.get(f"/bills/{bill.id}.json", params={"fields": "id,number,total,state"}).json()[
            "data"
        ]
        return data


def test_an_approved_bill_becomes_one_invoice_then_follows_edits_and_the_void(world: LocalWorld) -> None:
    cid = world.connection_id
    draft, matter = bill_with_every_kind_of_line(world)
    world.pump()
    assert invoices(world) == []  # a draft → nothing
    assert world.mappings.get(cid, "contact", str(draft.attrs.get("client") or "")) is None

    bill = draft
    approve(world, bill)
    world.sandboxes.clio.add_interest(bill.id, 12.34, "Interest on overdue balance")
    world.pump()

    number = str(bill.attrs["number"])
    invoice = one_invoice(world, number)
    assert invoice.status == "AUTHORISED"
    mapping = world.mappings.get(cid, "bill", str(bill.id))
    assert mapping is not None and mapping.status is MappingStatus.OK and mapping.xero_id == invoice.doc_id
    client_id = str(bill.link_id("client"))
    contact = world.mappings.get(cid, "contact", client_id)
    assert contact is not None and invoice.contact_id == contact.xero_id  # the client first, linked
    assert mapping.depends_on == f"contact:{client_id}"

    # Lines: time (200, GST), flat fee (260, GST), expense (200, exempt), interest (270), discount (200).
    by_code: dict[str, list[Any]] = {}
    for line in invoice.lines:
        by_code.setdefault(str(line.account_code), []).append(line)
    assert sorted(by_code) == ["200", "260", "270"]
    assert {line.tax_type for line in by_code["260"]} == {"OUTPUT"}
    assert any(line.tax_type == "EXEMPTOUTPUT" for line in by_code["200"])
    assert any(line.line_amount < 0 for line in by_code["200"])  # the bill discount, a line of its own
    assert [str(line.line_amount) for line in by_code["270"]] == ["12.34"]
    options = {(t["Name"], t["Option"]) for line in invoice.lines for t in line.tracking}
    assert options == {(TRACKING, matter.attrs["display_number"])}  # the option was created on the way
    # What the client owes in Clio to the cent: its total with interest (time 1.5 h x 300 + GST,
    # flat fee 750 + GST, expenses 2 x 42.50 untaxed, interest 12.34) less the bill's 10% discount
    # on the fees and expenses (docs/billing.md "Totals and rounding").
    clio_total = Decimal(str(clio_bill(world, bill)["total"]))
    assert clio_total == Decimal("450") + Decimal("45") + Decimal("750") + Decimal("75") + Decimal("85") + Decimal(
        "12.34"
    )
    assert invoice.total == clio_total - Decimal("128.50")
    line_ids = {line.line_item_id for line in invoice.lines}

    # Edit (a bill edited in Clio, e.g. its subject and one more interest charge) → the same invoice, updated.
    world.sandboxes.clio.add_interest(bill.id, 5.00, "Further interest")
    world.sandboxes.clio.act_update("bills", bill, {"subject": "Lease dispute, stage 1"})
    world.pump()
    invoice = one_invoice(world, number)
    assert len([line for line in invoice.lines if line.account_code == "270"]) == 2
    assert line_ids <= {line.line_item_id for line in invoice.lines}  # LineItemIDs kept
    assert invoice.status == "AUTHORISED"

    # Void in Clio → voided in Xero.
    world.sandboxes.clio.act_update("bills", bill, {"state": "void"})
    world.pump()
    assert one_invoice(world, number).status == "VOIDED"
    assert len(invoices(world)) == 1


def test_an_archived_code_parks_the_bill_until_the_mapping_is_fixed_then_retry_sends_it_once(
    world: LocalWorld, cli: Any
) -> None:
    cid = world.connection_id
    xero_admin(world, "/accounts/260", {"Status": "ARCHIVED"})
    bill, _ = bill_with_every_kind_of_line(world, state="awaiting_payment")
    world.pump()
    assert invoices(world) == []  # never sent to come back as "TaxType field is mandatory"
    mapping = world.mappings.get(cid, "bill", str(bill.id))
    assert mapping is not None and mapping.status is MappingStatus.ERROR
    assert "260" in (mapping.last_error or "") and "flat_fee_account_code" in (mapping.last_error or "")
    code, listed = cli("errors", "--json")
    assert code in (0, 1)
    assert any("260" in str(row) for row in (listed if isinstance(listed, list) else listed.get("errors", [])))

    code, _ = cli("settings", "set", "flat_fee_account_code=200")
    assert code == 0
    code, out = cli("settings", "set", "flat_fee_account_code=")
    assert code == 2 and "accepts" in out  # a bad value: exit 2 with what the key accepts
    code, _ = cli("retry", f"clio:bill:{bill.id}")
    assert code == 0
    world.pump()
    invoice = one_invoice(world, str(bill.attrs["number"]))
    assert invoice.status == "AUTHORISED" and {line.account_code for line in invoice.lines} == {"200"}
    mapping = world.mappings.get(cid, "bill", str(bill.id))
    assert mapping is not None and mapping.status is MappingStatus.OK and mapping.xero_id == invoice.doc_id
    assert len(invoices(world)) == 1


def test_duplicates_drops_a_429_storm_and_a_killed_worker_still_make_exactly_one_invoice(
    world: LocalWorld, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = world.connection_id
    sweep = world.runtime.functions["SweepFunction"]
    assert sweep.invoke(scheduled_event("sweep", clock.now()))["failed"] == {}

    # Duplicated webhooks.
    world.sandboxes.clio.faults = FaultPlan(seed=3, duplicate_rate=1.0, reorder=True)
    first, _ = bill_with_every_kind_of_line(world, state="awaiting_payment")
    world.pump()
    one_invoice(world, str(first.attrs["number"]))

    # A 429 storm on Xero: the worker waits it out on the simulated clock, nothing doubles.
    world.sandboxes.clio.faults = FaultPlan()
    world.sandboxes.xero.set_faults(FaultPlan(seed=4, burst_429=6))
    second, _ = bill_with_every_kind_of_line(world, state="awaiting_payment")
    for _ in range(10):
        world.pump()
        if world.mappings.get(cid, "bill", str(second.id)) and any(
            d.number == str(second.attrs["number"]) for d in invoices(world)
        ):
            break
        clock.advance(61)
        world.runtime.advance_queue_time(61)  # SQS sees the same minute pass (the delayed record returns)
    world.sandboxes.xero.set_faults(FaultPlan())
    world.pump()
    one_invoice(world, str(second.attrs["number"]))

    # The worker dies after Xero's answer and before the mapping write: the retry adopts the invoice.
    died: list[str] = []
    original = BillPlugin._linked

    def dies_once(self: BillPlugin, ctx: Any, work: Any, invoice: Any, digest: str, outcome: Any) -> None:
        if not died:
            died.append(work.clio_id)
            raise RuntimeError("worker killed between the Xero write and the mapping write")
        original(self, ctx, work, invoice, digest, outcome)

    monkeypatch.setattr(BillPlugin, "_linked", dies_once)
    third, _ = bill_with_every_kind_of_line(world, state="awaiting_payment")
    world.pump()
    assert died == [str(third.id)]
    mapping = world.mappings.get(cid, "bill", str(third.id))
    invoice = one_invoice(world, str(third.attrs["number"]))
    assert mapping is not None and mapping.xero_id == invoice.doc_id and mapping.status is MappingStatus.OK

    # A dropped webhook (an interest charge has none anyway): the sweep finds the bill.
    world.sandboxes.clio.faults = FaultPlan(seed=5, drop_rate=1.0)
    clock.advance(60)
    fourth, _ = bill_with_every_kind_of_line(world, state="awaiting_payment")
    world.pump()
    assert not any(d.number == str(fourth.attrs["number"]) for d in invoices(world))
    world.sandboxes.clio.add_interest(first.id, 3.21, "Late interest")  # no webhook exists for this
    world.sandboxes.clio.faults = FaultPlan()
    clock.advance(15 * 60)
    report = sweep.invoke(scheduled_event("sweep", clock.now()))
    assert report["failed"] == {} and report["queued"] >= 2
    world.pump()
    one_invoice(world, str(fourth.attrs["number"]))
    assert any(str(line.line_amount) == "3.21" for line in one_invoice(world, str(first.attrs["number"])).lines)
    assert len(invoices(world)) == 4
