"""The payments and credit-notes phases of the backfill: planned, batched, resumable, never twice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

from clio_xero.clock import ManualClock
from clio_xero.events import RecordType
from clio_xero.payments.backfill import MoneyBackfill
from clio_xero.sync.backfill import Checkpoint, InMemoryCheckpointStore, Patience
from tests.payments.harness import CONNECTION, make_world


def waiter(clock: ManualClock) -> Callable[[float], None]:
    """Throttles are waited out on the simulated clock."""

    def wait(seconds: float) -> None:
        clock.advance(seconds)

    return wait


def test_backfill_brings_the_payments_and_credit_notes_of_synced_bills_in_batches() -> None:
    world = make_world()
    assert world.engine is not None
    bills = [world.bill(1000.0) for _ in range(3)]
    unsynced = world.bill(50.0)
    world.sync(RecordType.BILL, *(b.id for b in bills))
    payments = [world.pay(bill, 10.0) for bill in bills for _ in range(30)]  # 90 payments
    world.pay(unsynced, 5.0)
    memo = world.clio_world.sandbox.issue_credit_memo(bills[0].id, 25.0)
    checkpoints: defaultdict[str, InMemoryCheckpointStore] = defaultdict(InMemoryCheckpointStore)
    ctx = world.engine.context(CONNECTION)
    backfill = MoneyBackfill(ctx, checkpoints=checkpoints.__getitem__, patience=Patience(waiter(world.clock)))
    plan = backfill.plan()
    assert plan.counts() == {"payments": 90, "credit_notes": 1, "payments on bills not in Xero": 1}

    log = world.xero_world.sandbox.request_log
    before = len(log.entries(path_prefix="/api.xro/2.0/Payments"))
    report = backfill.run(plan)
    assert report.errors == [] and report.counts["payments_written"] == 90
    assert len(log.entries(path_prefix="/api.xro/2.0/Payments")) - before == 2  # 50 + 40
    for bill in bills:
        invoice = world.invoice(bill)
        credited = Decimal(25) if bill.id == bills[0].id else Decimal(0)
        assert Decimal(str(invoice["AmountPaid"])) == 300 and Decimal(str(invoice["AmountCredited"])) == credited
    for record_type in ("allocation", "credit_memo"):  # each phase has its own checkpoint, finished
        done = checkpoints[record_type].get(CONNECTION)
        assert done is not None and done.phase == "done"

    # Run again: nothing left to write, nothing written twice.
    again = MoneyBackfill(ctx, checkpoints=checkpoints.__getitem__, patience=Patience(waiter(world.clock)))
    assert again.plan().payments == []
    assert len(payments) == 90 and memo is not None


def test_an_interrupted_backfill_resumes_after_its_checkpoint() -> None:
    world = make_world()
    assert world.engine is not None
    bill = world.bill(2000.0)
    world.sync(RecordType.BILL, bill.id)
    allocations = [world.pay(bill, 10.0) for _ in range(60)]
    ctx = world.engine.context(CONNECTION)
    checkpoints: defaultdict[str, InMemoryCheckpointStore] = defaultdict(InMemoryCheckpointStore)
    backfill = MoneyBackfill(ctx, checkpoints=checkpoints.__getitem__, patience=Patience(waiter(world.clock)))
    plan = backfill.plan()
    # As if the first 50 were done and the process died: the checkpoint names the 50th.
    now = world.clock.now()
    checkpoints["allocation"].put(
        CONNECTION, Checkpoint(phase="payments", last_clio_id=allocations[49].id, started_at=now, updated_at=now)
    )
    report = backfill.run(plan)
    assert "payments" in report.resumed and report.counts.get("payments_written") == 10
    assert Decimal(str(world.invoice(bill)["AmountPaid"])) == 100


def test_the_plan_covers_only_the_given_bills_and_says_which_phase_is_off() -> None:
    """`backfill bills --since`: the money of the covered bills only; a phase switched off writes nothing."""
    world = make_world()
    assert world.engine is not None
    covered, other = world.bill(300.0), world.bill(200.0)
    world.sync(RecordType.BILL, covered.id, other.id)
    paid = world.pay(covered, 10.0)
    world.pay(other, 20.0)
    memo = world.clio_world.sandbox.issue_credit_memo(covered.id, 5.0)
    world.clio_world.sandbox.issue_credit_memo(other.id, 6.0)
    checkpoints: defaultdict[str, InMemoryCheckpointStore] = defaultdict(InMemoryCheckpointStore)
    ctx = world.engine.context(CONNECTION)
    backfill = MoneyBackfill(ctx, checkpoints=checkpoints.__getitem__, patience=Patience(waiter(world.clock)))
    plan = backfill.plan([str(covered.id)])
    assert (plan.payments, plan.credit_memos) == ([str(paid.id)], [str(memo.id)])
    assert plan.skipped == {
        "payments on bills this backfill does not cover": 1,
        "credit notes of bills this backfill does not cover": 1,
    }

    world.settings = world.settings.changed(sync_payments=False)
    ctx = world.engine.context(CONNECTION)
    backfill = MoneyBackfill(ctx, checkpoints=checkpoints.__getitem__, patience=Patience(waiter(world.clock)))
    plan = backfill.plan([str(covered.id)])
    assert plan.phases()["payments"] == {"write": 0, "reasons": {}, "off": "switched off (sync_payments=false)"}
    report = backfill.run(plan)
    assert report.counts == {"credit_notes_written": 1} and checkpoints["allocation"].writes == 0
    assert Decimal(str(world.invoice(covered)["AmountPaid"])) == 0


def test_the_credit_notes_phase_writes_fifty_credit_notes_per_call() -> None:
    """The chained runner's credit-notes phase: 60 credit memos are two bursts, each one lookup by
    number and one PUT /CreditNotes, then one allocation call per credit note."""
    world = make_world()
    assert world.engine is not None
    bills = [world.bill(1000.0) for _ in range(3)]
    world.sync(RecordType.BILL, *(b.id for b in bills))
    for n in range(60):
        world.clio_world.sandbox.issue_credit_memo(bills[n % 3].id, 5.0)
    checkpoints: defaultdict[str, InMemoryCheckpointStore] = defaultdict(InMemoryCheckpointStore)
    backfill = MoneyBackfill(
        world.engine.context(CONNECTION), checkpoints=checkpoints.__getitem__, patience=Patience(waiter(world.clock))
    )
    plan = backfill.plan()
    log = world.xero_world.sandbox.request_log
    log.clear()
    report = backfill.run(plan)
    assert report.errors == [] and report.counts == {"credit_notes_written": 60} and report.batches == 2
    creates = [e for e in log.entries(method="PUT") if e.path == "/api.xro/2.0/CreditNotes"]
    lookups = [e for e in log.entries(method="GET") if e.path == "/api.xro/2.0/CreditNotes"]
    allocations = [e for e in log.entries(method="PUT") if e.path.endswith("/Allocations")]
    assert (len(creates), len(lookups), len(allocations)) == (2, 2, 60)  # was 60 creates and 60 lookups
    # Plus the invoice read of each burst (and of a retry after Xero's minute limit was reached).
    assert len(log.entries()) - len(log.entries(method="GET", path_prefix="/api.xro/2.0/Invoices")) == 64
    assert [Decimal(str(world.invoice(b)["AmountCredited"])) for b in bills] == [Decimal(100)] * 3
