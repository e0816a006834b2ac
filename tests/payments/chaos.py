"""The chaos run: N billing changes (bills, interest edits, payments, credit notes, voids) with API
faults on both sandboxes and duplicated, dropped and reordered change hints; afterwards the
receivables report must show zero differences and no invoice, payment or credit note may exist
twice. `make chaos` runs 500 changes (figures in docs/benchmarks.md); `make test` runs a smaller one.

The path is the product's: the real contact, bill and payment plug-ins on the engine, the real
clients (their rate budgets on the simulated clock) and both sandboxes with their fault plans.
Hints that were dropped are found by the plug-ins' own sweep listing (``changed_since``), as the
scheduled sweep does; retryable failures go back on the queue, as SQS does.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from clio_xero.errors import RetryableError, SyncError
from clio_xero.events import RecordType, Source, SyncEvent
from clio_xero.payments.report import read_receivables
from clio_xero_tools.sandbox._base import FaultPlan
from clio_xero_tools.sandbox.clio import domain
from clio_xero_tools.sandbox.clio.resources import bill_totals, by_link
from clio_xero_tools.sandbox.clio.store import Record
from tests.payments.harness import CONNECTION, PaymentsWorld, make_world

BURST = 10  # events handed to the engine together (one SQS batch)
MAX_ATTEMPTS = 25


@dataclass
class ChaosResult:
    changes: Counter[str] = field(default_factory=Counter)
    hints: int = 0
    dropped: int = 0
    duplicated: int = 0
    deliveries: int = 0
    retried: int = 0
    parked: list[str] = field(default_factory=list)
    differences: list[tuple[str, list[str]]] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    xero_calls: int = 0
    clio_calls: int = 0
    xero_faults: int = 0


def _changes(world: PaymentsWorld, rng: random.Random, n: int, result: ChaosResult) -> list[SyncEvent]:
    """Make ``n`` changes in Clio as people would; return the hints (one per change)."""
    sandbox = world.clio_world.sandbox
    store = sandbox.store
    open_bills: list[Record] = []
    payments: list[Record] = []
    hints: list[SyncEvent] = []
    for _ in range(n):
        unpaid = [b for b in open_bills if b.attrs.get("state") == "awaiting_payment"]
        untouched = [b for b in unpaid if not by_link(store, "allocations", "bill", b.id)]
        roll = rng.random()
        if roll < 0.16 or not unpaid:
            bill = world.bill(float(rng.randint(200, 3000)))
            open_bills.append(bill)
            hints.append(world.event(RecordType.BILL, bill.id))
            result.changes["bill"] += 1
        elif roll < 0.28 and untouched:
            bill = rng.choice(untouched)
            sandbox.add_interest(bill.id, round(rng.uniform(1, 40), 2))
            hints.append(world.event(RecordType.BILL, bill.id))
            result.changes["interest edit"] += 1
        elif roll < 0.36:
            bill = rng.choice(unpaid)
            balance = bill_totals(store, bill)["balance"]
            memo = sandbox.issue_credit_memo(bill.id, round(min(balance, rng.uniform(5, 120)), 2))
            hints.append(world.event(RecordType.CREDIT_MEMO, memo.id))
            result.changes["credit note"] += 1
        elif roll < 0.46 and [p for p in payments if not p.attrs.get("voided_at")]:
            payment = rng.choice([p for p in payments if not p.attrs.get("voided_at")])
            with store.lock:
                domain.void_allocation(store, payment)
            hints.append(world.event(RecordType.ALLOCATION, payment.id))
            result.changes["payment voided"] += 1
        else:
            bill = rng.choice(unpaid)
            balance = bill_totals(store, bill)["balance"]
            amount = balance if rng.random() < 0.4 else round(balance * rng.uniform(0.1, 0.6), 2)
            trust = rng.random() < 0.1
            payment = world.pay(bill, amount, **({"bank_account_id": world.trust_account_id()} if trust else {}))
            payments.append(payment)
            hints.append(world.event(RecordType.ALLOCATION, payment.id))
            result.changes["payment from trust" if trust else "payment"] += 1
        world.clock.advance(rng.uniform(1, 30))
    return hints


def _deliver(hints: list[SyncEvent], rng: random.Random, result: ChaosResult) -> list[SyncEvent]:
    """10% dropped, 10% duplicated, then reordered."""
    out: list[SyncEvent] = []
    for hint in hints:
        if rng.random() < 0.10:
            result.dropped += 1
            continue
        out.append(hint)
        if rng.random() < 0.10:
            result.duplicated += 1
            out.append(hint)
    rng.shuffle(out)
    return out


def _process(world: PaymentsWorld, events: list[SyncEvent], result: ChaosResult) -> None:
    """Bursts to the engine; retryable failures back on the queue (SQS), permanent ones parked."""
    assert world.engine is not None
    queue: deque[tuple[SyncEvent, int]] = deque((e, 1) for e in events)
    while queue:
        burst = [queue.popleft() for _ in range(min(BURST, len(queue)))]
        try:
            results: list[Any] = world.engine.sync_batch([e for e, _ in burst])
        except SyncError as exc:
            results = [exc] * len(burst)
        result.deliveries += len(burst)
        for (event, attempt), outcome in zip(burst, results, strict=True):
            if isinstance(outcome, RetryableError) and attempt < MAX_ATTEMPTS:
                result.retried += 1
                world.clock.advance(float(getattr(outcome, "retry_after", None) or 5))
                queue.append((event, attempt + 1))
            elif isinstance(outcome, SyncError):
                result.parked.append(f"{event.record_type.value}:{event.record_id}: {outcome.message}")


def _sweep(world: PaymentsWorld, since: datetime) -> list[SyncEvent]:
    """What the scheduled sweep finds: every record changed on Clio since ``since``."""
    assert world.engine is not None
    events: list[SyncEvent] = []
    for plugin in world.engine.registry.swept(Source.CLIO):
        if not plugin.enabled(world.settings):
            continue
        for _ in range(MAX_ATTEMPTS):  # a failed listing is tried again by the next scheduled run
            try:
                found = [i for i, _v in plugin.changed_since(world.clio, world.xero, Source.CLIO, since)]
            except RetryableError:
                world.clock.advance(60)
                continue
            events.extend(world.event(plugin.record_type, record_id) for record_id in found)
            break
    return events


def _duplicates(world: PaymentsWorld) -> list[str]:
    org = world.xero_world.sandbox.store.orgs[world.tenant]
    found: list[str] = []
    numbers = Counter(d.number for d in org.invoices.values() if d.type == "ACCREC" and d.status != "DELETED")
    found += [f"invoice {n} x{c}" for n, c in numbers.items() if c > 1]
    references = Counter(p.reference for p in org.payments.values() if p.status == "AUTHORISED" and p.reference)
    found += [f"payment {r} x{c}" for r, c in references.items() if c > 1]
    credit = Counter(d.number for d in org.credit_notes.values() if d.status not in {"DELETED", "VOIDED"})
    found += [f"credit note {n} x{c}" for n, c in credit.items() if c > 1]
    return found


def run_chaos(changes: int, *, seed: int = 12, fault_rate: float = 0.10) -> ChaosResult:
    rng = random.Random(seed)
    result = ChaosResult()
    world = make_world()
    start = world.clock.now() - timedelta(seconds=1)
    hints = _changes(world, rng, changes, result)
    result.hints = len(hints)
    world.xero_world.sandbox.set_faults(FaultPlan(seed=seed, error_rate=fault_rate))
    world.clio_world.sandbox.faults = FaultPlan(seed=seed + 1, error_rate=fault_rate)
    _process(world, _deliver(hints, rng, result), result)
    # The scheduled sweep finds what was dropped (still under faults).
    _process(world, _sweep(world, start), result)
    world.xero_world.sandbox.set_faults(FaultPlan())
    world.clio_world.sandbox.faults = FaultPlan()
    # One more quiet sweep, as the next scheduled run would be.
    result.parked.clear()
    _process(world, _sweep(world, start), result)
    report = read_receivables(
        clio=world.clio, xero=world.xero, mappings=world.mappings, connection_id=CONNECTION, settings=world.settings
    )
    result.differences = [(r.bill_id, r.differences) for r in report.rows if r.differs]
    result.duplicates = _duplicates(world)
    log = world.xero_world.sandbox.request_log.entries(path_prefix="/api.xro/2.0")
    result.xero_calls = len(log)
    result.xero_faults = sum(1 for e in log if e.status >= 500)
    result.clio_calls = len(world.clio_world.sandbox.request_log.entries(path_prefix="/api/v4"))
    return result
