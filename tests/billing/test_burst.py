"""A burst of bills (issue 11's month-end run): hints that cost nothing, the read-ahead, clients
linked in bulk and two workers racing on one bill.

Real engine, real bill and contact plug-ins, real clients, both sandboxes in process
(tests/payments/harness.py); the path through the local runtime is test_burst_real_path.py.
"""

from __future__ import annotations

from typing import Any, cast

from clio_xero.clients import XeroClient
from clio_xero.errors import RetryableError, ThrottledError
from clio_xero.events import Action, RecordType, Source, SyncEvent, dedupe_key
from clio_xero.payments.plugins import payment_plugins
from clio_xero.sync.bills.plugin import ActivityPlugin, BillOutcome, BillPlugin, BillResult
from clio_xero.sync.contacts.plugin import ContactPlugin
from clio_xero.sync.core import Registry, SyncContext, SyncEngine
from clio_xero.sync.core.engine import Handled
from clio_xero.sync.mapping import MappingStatus
from clio_xero_tools.sandbox.clio.store import Record
from tests.payments.harness import CONNECTION, PaymentsWorld, make_world

INVOICES = "/api.xro/2.0/Invoices"


def hint(world: PaymentsWorld, bill_id: object, *, version: str | None, action: Action = Action.UPDATED) -> SyncEvent:
    """A bill webhook as the intake normalises it (Clio's etag carried as ``version``)."""
    return SyncEvent(
        connection_id=CONNECTION,
        source=Source.CLIO,
        record_type=RecordType.BILL,
        record_id=str(bill_id),
        action=action,
        received_at=world.clock.now(),
        dedupe_key=dedupe_key("burst-test", bill_id, version, action),
        version=version,
    )


def run(engine: SyncEngine, events: list[SyncEvent]) -> list[Any]:
    """What the plug-in answered for each event (a result, or the error the worker would apply)."""
    return [r.result if isinstance(r, Handled) else r for r in engine.sync_batch(events)]


def etag(world: PaymentsWorld, bill: Record) -> str:
    [row] = world.clio.iter_records("bills", fields="id,etag", params={"ids[]": [bill.id]})
    return str(row["etag"])


def calls(world: PaymentsWorld) -> int:
    return len(world.clio_world.sandbox.request_log.entries()) + len(world.xero_world.sandbox.request_log.entries())


def clear_logs(world: PaymentsWorld) -> None:
    world.clio_world.sandbox.request_log.clear()
    world.xero_world.sandbox.request_log.clear()


def invoice_numbers(world: PaymentsWorld) -> list[str]:
    org = world.xero_world.sandbox.store.orgs[world.tenant]
    return [d.number for d in org.invoices.values() if d.type == "ACCREC" and d.number]


def new_client_bill(world: PaymentsWorld, name: str, amount: float) -> tuple[Record, int]:
    sandbox = world.clio_world.sandbox
    client = sandbox.act_create("contacts", {"type": "Company", "name": name})
    matter = sandbox.act_create("matters", {"client": {"id": client.id}, "description": name})
    return sandbox.create_bill(
        client_id=client.id,
        matter_ids=[matter.id],
        state="awaiting_payment",
        line_items=[{"description": "Advice", "price": amount, "quantity": 1, "taxable": False}],
    ), client.id


def test_a_hint_naming_the_synced_etag_costs_no_api_call() -> None:
    world = make_world()
    bill = world.bill(120)
    assert world.engine is not None
    [first] = run(world.engine, [hint(world, bill.id, version=None)])
    assert isinstance(first, BillResult) and first.outcome is BillOutcome.CREATED
    version = etag(world, bill)
    clear_logs(world)

    [again] = run(world.engine, [hint(world, bill.id, version=version)])

    assert isinstance(again, BillResult) and again.outcome is BillOutcome.UNCHANGED
    assert calls(world) == 0  # neither Clio nor Xero was asked
    # Another etag, a delete, or changed settings: the bill is read again.
    for event in (
        hint(world, bill.id, version='"another-etag"'),
        hint(world, bill.id, version=version, action=Action.DELETED),
    ):
        clear_logs(world)
        run(world.engine, [event])
        assert world.clio_world.sandbox.request_log.entries(method="GET", path_prefix="/api/v4/bills")
    world.settings = world.settings.changed(time_account_code="210")
    clear_logs(world)
    run(world.engine, [hint(world, bill.id, version=version)])
    assert world.clio_world.sandbox.request_log.entries(method="GET", path_prefix="/api/v4/bills")


def test_the_read_ahead_syncs_the_bills_whose_hints_are_still_queued() -> None:
    world = make_world()
    bills = [world.bill(100 + i) for i in range(6)]
    assert world.engine is not None
    clear_logs(world)

    [result] = run(world.engine, [hint(world, bills[0].id, version=etag(world, bills[0]))])

    assert isinstance(result, BillResult) and result.outcome is BillOutcome.CREATED
    assert len(world.xero_world.sandbox.request_log.entries(method="PUT", path_prefix=INVOICES)) == 1
    assert sorted(invoice_numbers(world)) == sorted(str(b.attrs["number"]) for b in bills)
    for bill in bills:
        mapping = world.mappings.get(CONNECTION, "bill", str(bill.id))
        assert mapping is not None and mapping.status is MappingStatus.OK
    # The hints that were queued behind it now cost nothing.
    later = [hint(world, b.id, version=etag(world, b)) for b in bills[1:]]
    clear_logs(world)
    results = run(world.engine, later)
    assert all(isinstance(r, BillResult) and r.outcome is BillOutcome.UNCHANGED for r in results)
    assert calls(world) == 0


def test_a_read_ahead_leaves_synced_bills_alone_after_a_settings_change() -> None:
    """Which synced invoices follow a new setting must not depend on timing: only a bill's own
    change (or its own hint) applies it, never another bill's read-ahead that lists it."""
    world = make_world()
    synced = world.bill(100)
    assert world.engine is not None
    run(world.engine, [hint(world, synced.id, version=None)])
    world.settings = world.settings.changed(time_account_code="210")
    fresh = world.bill(200)
    clear_logs(world)

    [result] = run(world.engine, [hint(world, fresh.id, version=etag(world, fresh))])

    assert isinstance(result, BillResult) and result.outcome is BillOutcome.CREATED
    writes = world.xero_world.sandbox.request_log.entries(method="PUT", path_prefix=INVOICES)
    writes += world.xero_world.sandbox.request_log.entries(method="POST", path_prefix=INVOICES)
    assert len(writes) == 1  # the new bill only: the synced one was listed by the read-ahead, not rewritten
    mapping = world.mappings.get(CONNECTION, "bill", str(synced.id))
    assert mapping is not None and mapping.clio_version == etag(world, synced)


def test_during_a_burst_new_webhook_hints_wait_for_its_window_then_go_together() -> None:
    world = make_world()
    assert world.engine is not None
    opening = [world.bill(400 + i) for i in range(3)]
    run(world.engine, [hint(world, opening[0].id, version=etag(world, opening[0]))])  # a burst: 3 bills
    later = [world.bill(500 + i) for i in range(4)]
    hints = [hint(world, b.id, version=etag(world, b)) for b in later]
    clear_logs(world)

    held = run(world.engine, hints)

    assert all(isinstance(r, ThrottledError) and r.retry_after and 0 < r.retry_after <= 20 for r in held)
    assert calls(world) == 0  # waiting costs nothing

    world.clock.advance(20)
    clear_logs(world)
    results = run(world.engine, hints)

    assert all(isinstance(r, BillResult) and r.outcome is BillOutcome.CREATED for r in results)
    assert len(world.xero_world.sandbox.request_log.entries(method="PUT", path_prefix=INVOICES)) == 1
    assert sorted(invoice_numbers(world)) == sorted(str(b.attrs["number"]) for b in opening + later)
    # That was a burst too (4 bills): a new window. A hint without an etag (the sweep, a retry)
    # is not held by it.
    last = world.bill(600)
    [with_etag] = run(world.engine, [hint(world, last.id, version=etag(world, last))])
    assert isinstance(with_etag, ThrottledError)
    [swept] = run(world.engine, [hint(world, last.id, version=None)])
    assert isinstance(swept, BillResult) and swept.outcome is BillOutcome.CREATED


def test_the_activity_hints_of_a_burst_wait_with_it_then_cost_nothing() -> None:
    world = make_world()
    bills_plugin = BillPlugin()  # the harness registers no activity plug-in: the shipped registry does
    world.engine = SyncEngine(
        registry=Registry([ContactPlugin(), bills_plugin, ActivityPlugin(bills_plugin), *payment_plugins()]),
        contexts=world.context,
    )
    sandbox = world.clio_world.sandbox
    entries, bills = [], []
    for i in range(3):
        entry = sandbox.act_create(
            "activities",
            {"matter": {"id": world.matter_id}, "type": "TimeEntry", "quantity": 3600, "price": 200 + i},
        )
        entries.append(entry)
        bills.append(
            sandbox.create_bill(
                client_id=world.client_id, matter_ids=[world.matter_id], activity_ids=[entry.id],
                state="awaiting_payment",
            )
        )  # fmt: skip
    [activity_etags] = [
        {str(a["id"]): str(a["etag"]) for a in world.clio.iter_records(
            "activities", fields="id,etag", params={"ids[]": [e.id for e in entries]})}
    ]  # fmt: skip
    activity_hints = [
        hint(world, e.id, version=activity_etags[str(e.id)]).model_copy(update={"record_type": RecordType.ACTIVITY})
        for e in entries
    ]
    run(world.engine, [hint(world, bills[0].id, version=etag(world, bills[0]))])  # a burst of 3: a window
    clear_logs(world)

    answered = run(world.engine, activity_hints)

    # Their bills were synced by the read-ahead, which read these very etags: nothing to do.
    assert all(isinstance(r, BillResult) and r.outcome is BillOutcome.UNCHANGED for r in answered)
    assert calls(world) == 0
    # A new bill's activity during the window waits with the bills, then one read-ahead syncs it.
    late = sandbox.act_create("activities", {"matter": {"id": world.matter_id}, "type": "TimeEntry",
                                             "quantity": 1800, "price": 300})  # fmt: skip
    late_bill = sandbox.create_bill(
        client_id=world.client_id, matter_ids=[world.matter_id], activity_ids=[late.id], state="awaiting_payment"
    )
    [late_row] = world.clio.iter_records("activities", fields="id,etag", params={"ids[]": [late.id]})
    late_hint = hint(world, late.id, version=str(late_row["etag"])).model_copy(
        update={"record_type": RecordType.ACTIVITY}
    )
    [held] = run(world.engine, [late_hint])
    assert isinstance(held, ThrottledError)
    world.clock.advance(20)
    [released] = run(world.engine, [late_hint])
    assert isinstance(released, BillResult) and released.outcome is BillOutcome.UNCHANGED
    assert str(late_bill.attrs["number"]) in invoice_numbers(world)


def test_the_clients_of_a_burst_are_linked_in_one_write() -> None:
    world = make_world()
    made = [new_client_bill(world, f"Burst Client {i}", 200 + i) for i in range(7)]
    bills = [bill for bill, _ in made]
    assert world.engine is not None
    clear_logs(world)

    results = run(world.engine, [hint(world, b.id, version=None) for b in bills])

    assert all(isinstance(r, BillResult) and r.outcome is BillOutcome.CREATED for r in results)
    xero = world.xero_world.sandbox.request_log
    assert len(xero.entries(method="PUT", path_prefix="/api.xro/2.0/Contacts")) == 1
    assert len(xero.entries(path_prefix="/api.xro/2.0/Contacts")) == 2  # one lookup by numbers, one write
    assert len(world.clio_world.sandbox.request_log.entries(path_prefix="/api/v4/contacts")) == 1
    for _, client_id in made:
        mapping = world.mappings.get(CONNECTION, "contact", str(client_id))
        assert mapping is not None and mapping.status is MappingStatus.OK and mapping.xero_id


class RacingXero:
    """Worker A's Xero client: just before A's invoice write goes out, worker B syncs ``bill`` (its
    own hint, in its own message group) to the end. Everything else is the real client."""

    def __init__(self, xero: XeroClient, other: SyncEngine, event: SyncEvent) -> None:
        self._xero, self._other, self._event = xero, other, event
        self.raced: list[Any] = []

    def save_records(self, resource: str, key: str, records: Any, **kw: Any) -> Any:
        if resource == "Invoices" and kw.get("create") and not self.raced:
            self.raced.extend(run(self._other, [self._event]))
        return self._xero.save_records(resource, key, records, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._xero, name)


def test_a_bill_synced_by_a_read_ahead_and_by_its_own_hint_at_once_is_invoiced_once() -> None:
    world = make_world()
    first, second = world.bill(310), world.bill(320)
    # Worker B: its own engine and plug-ins (another Lambda container), the same table and APIs.
    worker_b = SyncEngine(
        registry=Registry([ContactPlugin(), BillPlugin(), *payment_plugins()]), contexts=world.context
    )
    racing = RacingXero(world.xero, worker_b, hint(world, second.id, version=etag(world, second)))

    def worker_a_context(connection_id: str) -> SyncContext:
        return world.context(connection_id).derive(apis=lambda: (world.clio, cast(XeroClient, racing)))

    worker_a = SyncEngine(
        registry=Registry([ContactPlugin(), BillPlugin(), *payment_plugins()]), contexts=worker_a_context
    )
    # A handles the first bill's hint; its read-ahead finds the second bill too.
    [result_a] = run(worker_a, [hint(world, first.id, version=etag(world, first))])

    [result_b] = racing.raced
    assert isinstance(result_b, BillResult) and result_b.outcome is BillOutcome.CREATED
    assert isinstance(result_a, BillResult | RetryableError)
    # A's write went out too (B's and A's: two creates) and Xero refused the second number as taken.
    assert len(world.xero_world.sandbox.request_log.entries(method="PUT", path_prefix=INVOICES)) == 2
    numbers = invoice_numbers(world)
    assert sorted(numbers) == sorted([str(first.attrs["number"]), str(second.attrs["number"])])  # once each
    # Whatever A was told to retry settles on the next attempt, still without a second invoice.
    world.engine = worker_a
    for bill in (first, second):
        [again] = run(worker_a, [hint(world, bill.id, version=etag(world, bill))])
        assert isinstance(again, BillResult), again
        mapping = world.mappings.get(CONNECTION, "bill", str(bill.id))
        assert mapping is not None and mapping.status is MappingStatus.OK and mapping.xero_id
    assert sorted(invoice_numbers(world)) == sorted(numbers)
