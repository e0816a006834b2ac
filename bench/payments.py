"""Payments and credit notes at firm scale: the year-of-a-firm bill backfill (bench/bills.py: 2,000
bills x 8 lines, 300 clients) extended with 1,500 payments and 100 credit notes received over the
year, brought by the payments phase of the backfill (`clio-xero backfill payments`).

The same set-up as the bill benchmark (both sandboxes in process on one simulated clock, the real
rate limits, the clients' own budgets); the contacts and bills are backfilled first, then the
payments phase runs and is measured on its own: Xero calls (payment writes of up to 50, invoice
reads of 50, credit notes), Clio calls, simulated wall time, and the whole day's Xero calls
against the daily cap.
"""

from __future__ import annotations

import math
import random
import time
from datetime import UTC, datetime, timedelta

from bench.bills import BILLS, CLIENTS, CONNECTION, XERO_DAILY, _seed
from bench.common import RunOptions, Section, table
from clio_xero.clients.clio import ClioClient
from clio_xero.clients.endpoints import ClioEndpoints, XeroEndpoints
from clio_xero.clients.oauth import StaticTokenSource
from clio_xero.clients.ratelimit import InMemoryRateBudget
from clio_xero.clients.xero import XeroClient
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
from clio_xero_tools.sandbox._base import wsgi_transport
from clio_xero_tools.sandbox.clio import ClioSandbox, domain
from clio_xero_tools.sandbox.clio.resources import bill_totals
from clio_xero_tools.sandbox.xero import XeroSandbox
from clio_xero_tools.sandbox.xero.store import Currency

PAYMENTS = 1500
CREDIT_NOTES = 100
CLIO_PER_MINUTE, XERO_PER_MINUTE = 50, 60


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


def run(opts: RunOptions) -> Section:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    clio_sb, xero_sb = ClioSandbox(clock=clock), XeroSandbox(clock=clock)
    _seed(clio_sb, clock)
    _money(clio_sb, clock)
    org = xero_sb.create_organisation("Bench Firm Pty Ltd")
    tenant = org.organisation_id
    with xero_sb.store.lock:  # the Clio sandbox firm bills in USD
        xero_sb.store.orgs[tenant].currencies["USD"] = Currency(code="USD", description="US Dollar")
    clio = ClioClient(
        endpoints=ClioEndpoints(base_url="http://clio.test"),
        tokens=StaticTokenSource(clio_sb.issue_token()["access_token"], "clio"),
        budget=InMemoryRateBudget(clock),
        budget_key="bench",
        transport=wsgi_transport(clio_sb.wsgi_app),
        clock=clock,
    )
    xero = XeroClient(
        endpoints=XeroEndpoints.sandbox("http://xero.test"),
        tenant_id=tenant,
        tokens=StaticTokenSource(xero_sb.issue_tokens([tenant])["access_token"]),
        budget=InMemoryRateBudget(clock),
        transport=wsgi_transport(xero_sb.wsgi_app),
        clock=clock,
    )
    settings = ConnectionSettings(
        contact_scope=ContactScope.ALL,
        sync_bills=True,
        sync_payments=True,
        sync_credit_notes=True,
        tax_type_primary="OUTPUT",
        use_clio_category_codes=False,
    )
    mappings = InMemoryMappingStore()
    patience = Patience(clock.advance)
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
    ctx = engine.context(CONNECTION)
    bills = BillBackfill(
        ctx=ctx, plugin=BillPlugin(charts=ChartCache()), checkpoints=InMemoryCheckpointStore(), patience=patience
    )
    bills.run(bills.plan())
    before_x, before_c = len(xero_sb.request_log.entries()), len(clio_sb.request_log.entries())
    waited_before = patience.waited
    xero_sb.request_log.clear()
    clio_sb.request_log.clear()
    t0 = time.perf_counter()
    money = MoneyBackfill(ctx, checkpoints=lambda _record_type: InMemoryCheckpointStore(), patience=patience)
    plan = money.plan()
    report = money.run(plan)
    real = time.perf_counter() - t0
    waited = patience.waited - waited_before

    xlog, clog = xero_sb.request_log, clio_sb.request_log
    x_total, c_total = len(xlog.entries()), len(clog.entries())
    payment_writes = len(xlog.entries(method="PUT", path_prefix="/api.xro/2.0/Payments"))
    invoice_reads = len(xlog.entries(method="GET", path_prefix="/api.xro/2.0/Invoices"))
    credit_calls = len(xlog.entries(path_prefix="/api.xro/2.0/CreditNotes"))
    payments = [p for p in xero_sb.store.orgs[tenant].payments.values() if p.status == "AUTHORISED"]
    duplicates = len(payments) - len({p.reference for p in payments})
    written = report.counts.get("payments_written", 0)
    credited = report.counts.get("credit_notes_written", 0)
    floor = max(c_total / CLIO_PER_MINUTE, x_total / XERO_PER_MINUTE) * 60
    simulated = real + waited
    write_budget = math.ceil(PAYMENTS / 50)
    day = before_x + x_total
    rows = [
        ["bills / clients (backfilled first)", f"{BILLS} / {CLIENTS}"],
        ["payments / credit notes in Clio", f"{PAYMENTS} / {CREDIT_NOTES}"],
        ["plan", ", ".join(f"{k} {v}" for k, v in plan.counts().items())],
        ["payments written / credit notes written / errors", f"{written} / {credited} / {len(report.errors)}"],
        ["duplicate payments in Xero", str(duplicates)],
        [
            "Xero calls (payments phase): payment writes / invoice reads / credit-note calls / total",
            f"{payment_writes} / {invoice_reads} / {credit_calls} / {x_total}",
        ],
        ["Clio calls (payments phase)", str(c_total)],
        ["Xero calls of the whole backfill (contacts + bills + payments)", f"{day} (daily cap {XERO_DAILY})"],
        ["rate-limit floor of the payments phase (the longer side)", f"{floor:.0f} s"],
        ["simulated wall time of the payments phase (real + simulated waits)", f"{simulated:.1f} s"],
        ["real elapsed (payments phase)", f"{real:.1f} s"],
        ["Clio / Xero calls before the payments phase", f"{before_c} / {before_x}"],
    ]
    if report.errors:
        rows.append(["first error", report.errors[0][1][:200]])
    body = "\n\n".join([__doc__.split("\n\n", 1)[1].strip() if __doc__ else "", table(["", "result"], rows)])
    targets = [
        (
            f"payment writes ≤ ceil({PAYMENTS}/50) = {write_budget} (was {payment_writes})",
            payment_writes <= write_budget,
        ),
        (
            f"every payment written once (written {written}, duplicates {duplicates})",
            written == PAYMENTS and duplicates == 0,
        ),
        (f"every credit note written (was {credited})", credited == CREDIT_NOTES),
        (f"the whole backfill under the daily {XERO_DAILY} Xero calls (was {day})", day < XERO_DAILY),
    ]
    return Section(
        title="Payments backfill (the year of a firm + 1,500 payments and 100 credit notes)", body=body, targets=targets
    )
