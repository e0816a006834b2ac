"""Bill backfill at firm scale: a year of a mid-size firm (2,000 approved bills of 8 lines, 300
clients) into an empty Xero organisation.

Both sandboxes run in this process (httpx WSGI transport) on one :class:`ManualClock` with the
real limits (Xero 60 calls/min and 5 concurrent per tenant, Clio 50/min per token); the clients'
own rate budgets run on the same clock. When a call is throttled the backfill's ``wait`` advances
the clock by ``retry_after`` and the benchmark adds those seconds up. "Simulated wall time" = real
elapsed + simulated waits. The clients are linked first with `backfill contacts` (batches of 50),
then `backfill bills` hands the bill plug-in 50 bills per Xero call. Mappings and checkpoints are
in memory (the API budget is what this measures; tests/billing covers the DynamoDB path).
"""

from __future__ import annotations

import math
import resource
import time
from datetime import UTC, datetime, timedelta

from bench.common import RunOptions, Section, in_process_clients, table
from clio_xero.clock import ManualClock
from clio_xero.sync.backfill import ClioSource, ContactBackfill, InMemoryCheckpointStore, Patience, XeroSource
from clio_xero.sync.bills.backfill import BillBackfill
from clio_xero.sync.bills.plugin import BillPlugin
from clio_xero.sync.bills.reader import ChartCache
from clio_xero.sync.core import SyncContext, SyncEngine
from clio_xero.sync.mapping import InMemoryMappingStore
from clio_xero.sync.record_types import default_registry
from clio_xero.sync.settings import ConnectionSettings, ContactScope
from clio_xero_tools.sandbox.clio import ClioSandbox, domain
from clio_xero_tools.sandbox.xero import XeroSandbox
from clio_xero_tools.sandbox.xero.store import Currency

CLIENTS = 300
BILLS = 2000
TIME_LINES, EXPENSE_LINES, FREE_LINES = 5, 1, 2  # 8 lines a bill
SIMULATED_TARGET_SECONDS = 300.0
FLOOR_SLACK = 1.25
XERO_DAILY = 5000
CLIO_PER_MINUTE, XERO_PER_MINUTE = 50, 60
CONNECTION = "bench-firm"


def _seed(clio_sb: ClioSandbox, clock: ManualClock) -> None:
    """300 clients with a matter each; 2,000 bills approved over the past year, each with five time
    entries, one expense and two free lines; no webhooks (the data "already existed")."""
    store = clio_sb.store
    now = clock.now()
    with store.lock, store.muted():
        matters = []
        for i in range(CLIENTS):
            with store.at(now - timedelta(days=400)):
                client = domain.create_contact(store, {"type": "Company", "name": f"Client {i:03d} Pty Ltd"})
                matters.append(
                    (
                        client.id,
                        domain.create_matter(store, {"client": {"id": client.id}, "description": f"Matter {i}"}).id,
                    )
                )
        for b in range(BILLS):
            when = now - timedelta(days=365) + timedelta(seconds=int(b * 364 * 86_400 / BILLS))
            client_id, matter_id = matters[b % CLIENTS]
            with store.at(when):
                activity_ids = []
                for t in range(TIME_LINES):
                    activity_ids.append(
                        domain.create_activity(
                            store,
                            {"matter": {"id": matter_id}, "type": "TimeEntry", "quantity": 1800 * (t + 1),
                             "price": 250 + 10 * t, "tax_setting": "tax_1_only", "date": when.date().isoformat()},
                            user_id=clio_sb.default_user_id,
                        ).id
                    )  # fmt: skip
                for _ in range(EXPENSE_LINES):
                    activity_ids.append(
                        domain.create_activity(
                            store,
                            {"matter": {"id": matter_id}, "type": "ExpenseEntry", "price": 37.5, "quantity": 2,
                             "tax_setting": "no_tax", "date": when.date().isoformat()},
                            user_id=clio_sb.default_user_id,
                        ).id
                    )  # fmt: skip
                domain.create_bill(
                    store,
                    client_id=client_id,
                    matter_ids=[matter_id],
                    activity_ids=activity_ids,
                    line_items=[
                        {"description": f"Disbursement {k}", "price": 12.5 * (k + 1)} for k in range(FREE_LINES)
                    ],
                    issued_at=when.date().isoformat(),
                    state="awaiting_payment",
                )


def run(opts: RunOptions) -> Section:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    clio_sb, xero_sb = ClioSandbox(clock=clock), XeroSandbox(clock=clock)
    _seed(clio_sb, clock)
    org = xero_sb.create_organisation("Bench Firm Pty Ltd")
    tenant = org.organisation_id
    with xero_sb.store.lock:  # the Clio sandbox firm bills in USD
        xero_sb.store.orgs[tenant].currencies["USD"] = Currency(code="USD", description="US Dollar")
    clio, xero = in_process_clients(clio_sb, xero_sb, tenant, clock)
    settings = ConnectionSettings(
        contact_scope=ContactScope.ALL,
        sync_bills=True,
        tax_type_primary="OUTPUT",
        use_clio_category_codes=False,
    )
    mappings = InMemoryMappingStore()
    patience = Patience(clock.advance)
    clio_sb.request_log.clear()
    xero_sb.request_log.clear()
    t0 = time.perf_counter()
    contacts = ContactBackfill(
        connection_id=CONNECTION,
        clio=ClioSource(clio, patience),
        xero=XeroSource(xero, patience),
        mappings=mappings,
        settings=settings,
        checkpoints=InMemoryCheckpointStore(),
        clock=clock,
    ).run()
    contact_xero, contact_clio = len(xero_sb.request_log.entries()), len(clio_sb.request_log.entries())
    engine = SyncEngine(
        registry=default_registry(),
        contexts=lambda cid: SyncContext(
            connection_id=cid, mappings=mappings, settings=settings, clock=clock, apis=lambda: (clio, xero)
        ),
    )
    backfill = BillBackfill(
        ctx=engine.context(CONNECTION),
        plugin=BillPlugin(charts=ChartCache()),
        checkpoints=InMemoryCheckpointStore(),
        patience=patience,
    )
    plan = backfill.plan()
    report = backfill.run(plan)
    real = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: KiB; both sandboxes included

    xlog, clog = xero_sb.request_log, clio_sb.request_log
    x_total, c_total = len(xlog.entries()), len(clog.entries())
    invoice_writes = len(xlog.entries(method="PUT", path_prefix="/api.xro/2.0/Invoices"))
    bill_reads = len(clog.entries(method="GET", path_prefix="/api/v4/bills"))
    line_reads = len(clog.entries(method="GET", path_prefix="/api/v4/line_items"))
    activity_reads = len(clog.entries(method="GET", path_prefix="/api/v4/activities"))
    invoices = [d for d in xero_sb.store.orgs[tenant].invoices.values() if d.type == "ACCREC"]
    created = report.counts.get("invoice_created", 0)
    duplicates = len(invoices) - len({d.number for d in invoices})
    floor = max(c_total / CLIO_PER_MINUTE, x_total / XERO_PER_MINUTE) * 60
    simulated = real + patience.waited
    write_budget = math.ceil(BILLS / 50)
    rows = [
        ["bills / lines per bill / clients", f"{BILLS} / {TIME_LINES + EXPENSE_LINES + FREE_LINES} / {CLIENTS}"],
        ["contacts created (backfill contacts first)", str(contacts.counts.get("created", 0))],
        ["plan: create / other", f"{plan.counts()['create']} / {len(plan.rows) - plan.counts()['create']}"],
        ["invoices created / errors / duplicates", f"{created} / {len(report.errors)} / {duplicates}"],
        ["Xero calls: invoice writes / contact work / total", f"{invoice_writes} / {contact_xero} / {x_total}"],
        [
            "Clio calls: bill pages / line-item pages / activity reads / contact work / total",
            f"{bill_reads} / {line_reads} / {activity_reads} / {contact_clio} / {c_total}",
        ],
        ["rate-limit floor (Clio 50/min, Xero 60/min, the longer)", f"{floor:.0f} s"],
        ["throttled calls waited out", f"{patience.throttles} ({patience.waited:.0f} s simulated)"],
        ["simulated wall time (real + simulated waits)", f"{simulated:.1f} s"],
        ["real elapsed", f"{real:.1f} s"],
        ["peak resident memory of the process (sandboxes and seed included)", f"{peak_kib / 1024:.0f} MiB"],
        ["one-by-one estimate", f"{BILLS + 2 * CLIENTS} Xero calls ≈ {(BILLS + 2 * CLIENTS) / 60:.0f} min at 60/min"],
    ]
    if report.errors:
        rows.append(["first error", report.errors[0][1][:200]])
    body = "\n\n".join([__doc__.split("\n\n", 1)[1].strip() if __doc__ else "", table(["", "result"], rows)])
    targets = [
        (f"invoice writes ≤ ceil({BILLS}/50) = {write_budget} (was {invoice_writes})", invoice_writes <= write_budget),
        (
            f"every bill became one invoice (created {created}, duplicates {duplicates})",
            created == BILLS and duplicates == 0,
        ),
        (f"Xero calls under the daily {XERO_DAILY} (was {x_total})", x_total < XERO_DAILY),
        (
            f"Clio reads never one per bill (bill-page reads {bill_reads}, line reads {line_reads})",
            line_reads < BILLS / 10,
        ),
        (
            f"simulated wall time within {FLOOR_SLACK}x the floor {floor:.0f} s and < {SIMULATED_TARGET_SECONDS:.0f} s "
            f"(was {simulated:.0f} s)",
            simulated <= FLOOR_SLACK * floor and simulated < SIMULATED_TARGET_SECONDS,
        ),
    ]
    return Section(
        title="Bill backfill (a year of a firm: 2,000 bills x 8 lines, 300 clients)", body=body, targets=targets
    )


LATENCY_BILLS = 6  # one at a time, inside Clio's 50 calls a minute on the wall clock
LATENCY_TARGET_P50 = 5.0


def run_latency(opts: RunOptions) -> Section:
    """One bill approved in Clio until its invoice exists in Xero, through the local runtime: the
    Clio sandbox's webhook → the receiver → SQS (moto) → the worker → both sandboxes over loopback,
    on the wall clock (no simulated time). The first bill also links its client and reads the chart;
    later ones are the steady state (chart cached, client linked)."""
    import io

    from bench.common import median, percentile
    from clio_xero_tools.local.world import local_world

    settings = ConnectionSettings(sync_bills=True, tax_type_primary="OUTPUT", use_clio_category_codes=False)
    samples: list[float] = []
    with local_world(settings=settings, function_output=io.StringIO()) as world:
        world.xero_user_call("PUT", "/Currencies", {"Code": "USD"})
        clio = world.sandboxes.clio
        client = clio.act_create("contacts", {"type": "Company", "name": "Latency Client Ltd"})
        matter = clio.act_create("matters", {"client": {"id": client.id}, "description": "Latency"})
        world.pump()
        for i in range(LATENCY_BILLS):
            entry = clio.act_create(
                "activities",
                {"matter": {"id": matter.id}, "type": "TimeEntry", "quantity": 3600, "price": 200 + i,
                 "tax_setting": "tax_1_only"},
            )  # fmt: skip
            bill = clio.create_bill(client_id=client.id, matter_ids=[matter.id], activity_ids=[entry.id])
            world.pump()
            t0 = time.perf_counter()
            clio.act_update("bills", bill, {"state": "awaiting_payment"})
            world.pump()
            elapsed = time.perf_counter() - t0
            store = world.sandboxes.xero.store
            with store.lock:
                sent = any(d.number == str(bill.attrs["number"]) for d in store.orgs[world.tenant_id].invoices.values())
            if sent:
                samples.append(elapsed)
    p50 = median(samples) if samples else float("inf")
    p95 = percentile(samples, 95) if samples else float("inf")
    rows = [
        ["bills approved one at a time / invoiced", f"{LATENCY_BILLS} / {len(samples)}"],
        ["first bill (links the client, reads the chart)", f"{samples[0]:.2f} s" if samples else "-"],
        ["p50 / p95", f"{p50:.2f} s / {p95:.2f} s"],
        ["Clio's own integration (anchors: users report)", "5-30 minutes"],
    ]
    body = "\n\n".join([run_latency.__doc__ or "", table(["", "result"], rows)])
    targets = [
        (f"every approved bill invoiced ({len(samples)} of {LATENCY_BILLS})", len(samples) == LATENCY_BILLS),
        (f"p50 < {LATENCY_TARGET_P50:.0f} s (was {p50:.2f} s)", p50 < LATENCY_TARGET_P50),
    ]
    return Section(title="Bill latency (approved in Clio → invoice in Xero, local runtime)", body=body, targets=targets)


BURST_BILLS = 60


def run_burst(opts: RunOptions) -> Section:
    """A month-end run, scaled down: bills approved within a minute, through the local runtime
    (webhooks → receiver → SQS FIFO → worker → both sandboxes) with the real rate limits on a
    simulated clock (the sandboxes, every function and SQS's clock move together)."""
    import contextlib
    import io

    from clio_xero_tools.local.world import local_world

    clock = ManualClock(datetime(2026, 11, 30, 17, 0, tzinfo=UTC))
    settings = ConnectionSettings(sync_bills=True, tax_type_primary="OUTPUT", use_clio_category_codes=False)
    with local_world(settings=settings, function_output=io.StringIO(), clock=clock) as world:
        world.xero_user_call("PUT", "/Currencies", {"Code": "USD"})
        clio = world.sandboxes.clio
        with clio.store.lock, clio.store.muted():  # the firm's clients and matters already exist
            matters = []
            for i in range(20):
                client = domain.create_contact(clio.store, {"type": "Company", "name": f"Burst Client {i:02d}"})
                matters.append((client.id, domain.create_matter(clio.store, {"client": {"id": client.id}}).id))
        world.pump()
        clio.request_log.clear()
        xero_log = world.sandboxes.xero.request_log
        xero_log.clear()
        start = clock.now()
        numbers = []
        for b in range(BURST_BILLS):
            client_id, matter_id = matters[b % len(matters)]
            lines = [{"description": f"Services {k}", "price": 100 + k, "quantity": 1} for k in range(4)]
            bill = clio.create_bill(
                client_id=client_id, matter_ids=[matter_id], line_items=lines, state="awaiting_payment"
            )
            numbers.append(str(bill.attrs["number"]))
            clock.advance(60 / BURST_BILLS)
        done_at = None
        for _ in range(40):
            with contextlib.suppress(RuntimeError):
                world.pump(max_rounds=10)
            store = world.sandboxes.xero.store
            with store.lock:
                sent = {d.number for d in store.orgs[world.tenant_id].invoices.values()}
            if all(n in sent for n in numbers):
                done_at = clock.now()
                break
            clock.advance(10)
            world.runtime.advance_queue_time(10)
        clio_calls = len(clio.request_log.entries())
        xero_calls = len(xero_log.entries())
        invoice_writes = len(xero_log.entries(method="PUT", path_prefix="/api.xro/2.0/Invoices"))
    seconds = (done_at - start).total_seconds() if done_at else float("inf")
    floor = max(clio_calls / CLIO_PER_MINUTE, xero_calls / XERO_PER_MINUTE) * 60
    one_by_one_floor = max(3 * BURST_BILLS / CLIO_PER_MINUTE, BURST_BILLS / XERO_PER_MINUTE) * 60
    rows = [
        ["bills approved within a minute", str(BURST_BILLS)],
        ["Clio calls / Xero calls / Xero invoice writes", f"{clio_calls} / {xero_calls} / {invoice_writes}"],
        ["time from the first approval to the last invoice (simulated)", f"{seconds:.0f} s"],
        ["rate-limit floor for these calls", f"{floor:.0f} s"],
        ["one by one (3 Clio reads and 1 Xero write a bill): floor", f"{one_by_one_floor:.0f} s"],
    ]
    body = "\n\n".join([run_burst.__doc__ or "", table(["", "result"], rows)])
    targets = [
        (f"every bill invoiced (last at {seconds:.0f} s)", done_at is not None),
        (f"Xero invoice writes < bills ({invoice_writes} for {BURST_BILLS})", invoice_writes < BURST_BILLS),
        (
            f"last invoice within {FLOOR_SLACK}x the floor of the one-by-one reads ({one_by_one_floor:.0f} s)",
            seconds <= FLOOR_SLACK * one_by_one_floor,
        ),
    ]
    return Section(title=f"Month-end burst, scaled ({BURST_BILLS} bills, local runtime)", body=body, targets=targets)
