"""Payments and credit notes at firm scale: the year-of-a-firm bill backfill (bench/bills.py: 2,000
bills x 8 lines, 300 clients) extended with 1,500 payments and 100 credit notes received over the
year, run as `clio-xero backfill bills` runs it: the bills phase, then the payments phase, then
the credit-notes phase of the bills it covered (BillBackfill, then MoneyBackfill in the registry's
order; the contacts are backfilled first, as `backfill contacts` would).

Both sandboxes in process on one simulated clock, the real rate limits, the clients' own budgets.
Measured per phase: Xero calls (payment writes of up to 50, invoice reads of 50, credit-note
lookups by number and writes of up to 50, one allocation call per credit note), Clio calls,
simulated wall time, and the whole chain's Xero calls against the daily cap. Before credit notes
went in bursts (main at f2d100f) the money phases took 460 Xero calls (400 of them for the 100
credit notes: a lookup, a write, an invoice read and an allocation each), 254 Clio calls and 507 s
of simulated time.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bench.bills import BILLS, CLIENTS, CONNECTION, XERO_DAILY, _seed
from bench.common import RunOptions, Section, in_process_clients, table
from clio_xero.clock import ManualClock
from clio_xero.payments.backfill import MoneyBackfill
from clio_xero.sync.backfill import ClioSource, ContactBackfill, InMemoryCheckpointStore, Patience, XeroSource
from clio_xero.sync.bills.backfill import BillBackfill
from clio_xero.sync.bills.plugin import BillPlugin
from clio_xero.sync.bills.reader import ChartCache
from clio_xero.sync.core import SyncContext, SyncEngine
from clio_xero.sync.mapping import InMemoryMappingStore
from clio_xero.sync.record_types import default_registry
from clio_xero.sync.settings import ConnectionSettings, ContactScope
from clio_xero_tools.sandbox._base import LoggedRequest
from clio_xero_tools.sandbox.clio import ClioSandbox, domain
from clio_xero_tools.sandbox.clio.resources import bill_totals
from clio_xero_tools.sandbox.xero import XeroSandbox
from clio_xero_tools.sandbox.xero.store import Currency

PAYMENTS = 1500
CREDIT_NOTES = 100
CLIO_PER_MINUTE, XERO_PER_MINUTE = 50, 60
FLOOR_SLACK = 1.25
API = "/api.xro/2.0"


def _money(clio_sb: ClioSandbox, clock: ManualClock) -> None:
    """1,500 payments (a quarter of them partial, some bills paid twice) and 100 credit notes,
    dated through the year after their bills."""
    store = clio_sb.store
    rng = random.Random(7)
    bills = sorted(store.all("bills"), key=lambda b: b.id)
    with store.lock, store.muted():
        for n in range(CREDIT_NOTES):
            bill = bills[(n * 17) % len(bills)]
            with store.at(clock.now() - timedelta(days=rng.randint(1, 300))):
                domain.issue_credit_memo(store, bill, amount=round(rng.uniform(10, 80), 2))
        made = 0
        index = 0
        while made < PAYMENTS:
            bill = bills[index % len(bills)]
            index += 1
            balance = bill_totals(store, bill)["balance"]
            if bill.attrs.get("state") != "awaiting_payment" or balance <= 0:
                continue
            amount = balance if rng.random() < 0.75 else round(balance / 2, 2)
            with store.at(clock.now() - timedelta(days=rng.randint(1, 300))):
                domain.record_payment(store, bill, amount=amount)
            made += 1


def _count(entries: list[LoggedRequest], method: str, path: str, *, suffix: str | None = None) -> int:
    """Calls of ``method`` on exactly ``path`` (or on paths under it ending in ``suffix``)."""
    if suffix is None:
        return sum(1 for e in entries if e.method == method and e.path == path)
    return sum(1 for e in entries if e.method == method and e.path.startswith(path) and e.path.endswith(suffix))


@dataclass
class _Firm:
    xero_sb: XeroSandbox
    clio_sb: ClioSandbox
    tenant: str
    ctx: SyncContext
    patience: Patience


def _firm(clock: ManualClock) -> _Firm:
    """The year of a firm in Clio, an empty Xero organisation, and its contacts backfilled."""
    clio_sb, xero_sb = ClioSandbox(clock=clock), XeroSandbox(clock=clock)
    _seed(clio_sb, clock)
    _money(clio_sb, clock)
    org = xero_sb.create_organisation("Bench Firm Pty Ltd")
    tenant = org.organisation_id
    with xero_sb.store.lock:  # the Clio sandbox firm bills in USD
        xero_sb.store.orgs[tenant].currencies["USD"] = Currency(code="USD", description="US Dollar")
    clio, xero = in_process_clients(clio_sb, xero_sb, tenant, clock)
    settings = ConnectionSettings(
        contact_scope=ContactScope.ALL,
        sync_bills=True,
        sync_payments=True,
        sync_credit_notes=True,
        tax_type_primary="OUTPUT",
        use_clio_category_codes=False,
    )
    mappings = InMemoryMappingStore()

    patience = Patience(clock.advance)  # throttles are waited out on the simulated clock
    xero_sb.request_log.clear()
    clio_sb.request_log.clear()
    ContactBackfill(
        connection_id=CONNECTION,
        clio=ClioSource(clio, patience),
        xero=XeroSource(xero, patience),
        mappings=mappings,
        settings=settings,
        checkpoints=InMemoryCheckpointStore(),
        clock=clock,
    ).run()
    engine = SyncEngine(
        registry=default_registry(),
        contexts=lambda cid: SyncContext(
            connection_id=cid, mappings=mappings, settings=settings, clock=clock, apis=lambda: (clio, xero)
        ),
    )
    return _Firm(xero_sb, clio_sb, tenant, engine.context(CONNECTION), patience)


def _phase_rows(marks: dict[str, tuple[int, int, float]]) -> list[list[object]]:
    """Each phase's own calls and time, from the running totals marked at the end of each."""
    rows: list[list[object]] = []
    previous = (0, 0, 0.0)
    for phase in ("contacts", "bills", "payments", "credit_notes"):
        x, c, s = marks[phase]
        rows.append([phase, x - previous[0], c - previous[1], f"{s - previous[2]:.1f} s"])
        previous = marks[phase]
    return rows


def run(opts: RunOptions) -> Section:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    firm = _firm(clock)
    xero_sb, clio_sb, tenant, ctx, patience = firm.xero_sb, firm.clio_sb, firm.tenant, firm.ctx, firm.patience
    xlog, clog = xero_sb.request_log, clio_sb.request_log
    t0 = time.perf_counter()

    # `clio-xero backfill bills`: the bills phase, then the money phases of the bills it covered.
    marks: dict[str, tuple[int, int, float]] = {}  # phase → (Xero calls, Clio calls, simulated s) at its end

    def mark(phase: str) -> None:
        marks[phase] = (len(xlog.entries()), len(clog.entries()), time.perf_counter() - t0 + patience.waited)

    def progress(phase: str, done: int, total: int) -> None:
        if done == total:
            mark(phase)

    mark("contacts")
    bills = BillBackfill(
        ctx=ctx, plugin=BillPlugin(charts=ChartCache()), checkpoints=InMemoryCheckpointStore(), patience=patience
    )
    bill_report = bills.run(bills.plan())
    mark("bills")
    money = MoneyBackfill(
        ctx, checkpoints=lambda _record_type: InMemoryCheckpointStore(), patience=patience, progress=progress
    )
    plan = money.plan()
    report = money.run(plan)
    mark("credit_notes")

    entries = xlog.entries()
    start_money = marks["bills"][0]
    payment_calls = entries[start_money : marks["payments"][0]]
    credit_calls = entries[marks["payments"][0] : marks["credit_notes"][0]]
    payment_writes = _count(payment_calls, "PUT", f"{API}/Payments")
    payment_invoice_reads = _count(payment_calls, "GET", f"{API}/Invoices")
    cn_lookups = _count(credit_calls, "GET", f"{API}/CreditNotes")
    cn_writes = _count(credit_calls, "PUT", f"{API}/CreditNotes")
    cn_allocations = _count(credit_calls, "PUT", f"{API}/CreditNotes/", suffix="/Allocations")
    cn_invoice_reads = _count(credit_calls, "GET", f"{API}/Invoices")
    money_x = len(entries) - start_money
    money_c = len(clog.entries()) - marks["bills"][1]
    money_simulated = marks["credit_notes"][2] - marks["bills"][2]
    floor = max(money_c / CLIO_PER_MINUTE, money_x / XERO_PER_MINUTE) * 60

    store = xero_sb.store.orgs[tenant]
    payments = [p for p in store.payments.values() if p.status == "AUTHORISED"]
    credit_notes = [d for d in store.credit_notes.values() if d.status not in {"DELETED", "VOIDED"}]
    duplicates = len(payments) - len({p.reference for p in payments})
    duplicates += len(credit_notes) - len({d.number for d in credit_notes})
    written = report.counts.get("payments_written", 0)
    credited = report.counts.get("credit_notes_written", 0)
    chain_x = len(entries)
    chain_simulated = marks["credit_notes"][2]
    rows = [
        ["bills / clients", f"{BILLS} / {CLIENTS}"],
        ["payments / credit notes in Clio", f"{PAYMENTS} / {CREDIT_NOTES}"],
        ["plan of the money phases", ", ".join(f"{k} {v}" for k, v in plan.counts().items())],
        [
            "invoices / payments / credit notes written; errors",
            f"{bill_report.counts.get('invoice_created', 0)} / {written} / {credited}; "
            f"{len(bill_report.errors) + len(report.errors)}",
        ],
        ["duplicate payments or credit notes in Xero", str(duplicates)],
        [
            "Xero calls, payments phase: payment writes / invoice reads / total",
            f"{payment_writes} / {payment_invoice_reads} / {len(payment_calls)}",
        ],
        [
            "Xero calls, credit-notes phase: lookups by number / credit-note writes / allocation calls / "
            "invoice reads / total",
            f"{cn_lookups} / {cn_writes} / {cn_allocations} / {cn_invoice_reads} / {len(credit_calls)}",
        ],
        ["Xero / Clio calls of the money phases", f"{money_x} / {money_c}"],
        ["rate-limit floor of the money phases (Clio 50/min, Xero 60/min, the longer)", f"{floor:.0f} s"],
        ["simulated wall time of the money phases (real + simulated waits)", f"{money_simulated:.1f} s"],
        [
            "Xero calls of the whole chain (contacts + bills + payments + credit notes)",
            f"{chain_x} (daily cap {XERO_DAILY})",
        ],
        ["simulated wall time of the whole chain", f"{chain_simulated:.1f} s"],
    ]
    if report.errors:
        rows.append(["first error", report.errors[0][1][:200]])
    body = "\n\n".join(
        [
            __doc__.split("\n\n", 1)[1].strip() if __doc__ else "",
            table(["", "result"], rows),
            f"Where the calls go: the {PAYMENTS:,} payments cost {payment_writes} `PUT /Payments` and "
            f"{payment_invoice_reads} invoice reads; the {CREDIT_NOTES} credit notes, in bursts of 50, cost "
            f"{cn_lookups} lookups by number, {cn_writes} `PUT /CreditNotes`, {cn_allocations} allocation calls "
            '(Xero allocates one credit note per call: docs/payments.md "Credit notes in bursts") and '
            f"{cn_invoice_reads} invoice reads (one per burst, and one per retry after Xero's minute limit), "
            f"{len(credit_calls)} in all.",
            "Per phase of the chain:",
            table(["phase", "Xero calls", "Clio calls", "simulated time"], _phase_rows(marks)),
        ]
    )
    targets = [
        (
            f"payment writes ≤ ceil({PAYMENTS}/50) = {math.ceil(PAYMENTS / 50)} (was {payment_writes})",
            payment_writes <= math.ceil(PAYMENTS / 50),
        ),
        (
            f"credit-note writes ≤ ceil({CREDIT_NOTES}/50) = {math.ceil(CREDIT_NOTES / 50)}, allocation calls ≤ "
            f"{CREDIT_NOTES} (was {cn_writes}, {cn_allocations})",
            cn_writes <= math.ceil(CREDIT_NOTES / 50) and cn_allocations <= CREDIT_NOTES,
        ),
        (
            f"every payment and credit note written once (written {written} + {credited}, duplicates {duplicates})",
            written == PAYMENTS and credited == CREDIT_NOTES and duplicates == 0,
        ),
        (f"the whole chain under the daily {XERO_DAILY} Xero calls (was {chain_x})", chain_x < XERO_DAILY),
        (
            f"money phases' simulated time within {FLOOR_SLACK}x their rate-limit floor {floor:.0f} s "
            f"(was {money_simulated:.0f} s)",
            money_simulated <= FLOOR_SLACK * floor,
        ),
    ]
    return Section(
        title="Payments backfill (the year of a firm + 1,500 payments and 100 credit notes)", body=body, targets=targets
    )
