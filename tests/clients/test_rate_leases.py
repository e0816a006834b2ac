"""Rate-budget leases (docs/cost.md#the-rate-budget): a budget takes several calls of a window in one
write and hands them out itself, and the shared limit still holds across concurrent Lambdas; with
the workers' blocked-until bound, one Lambda's 429 still stops the others."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from clio_xero.clients import InMemoryRateBudget, RateLimits, XeroClient
from clio_xero.clock import ManualClock
from clio_xero.errors import ThrottledError
from clio_xero.store.rate_budget import WORKER_BLOCKED_RECHECK_SECONDS, WORKER_LEASE, DynamoRateBudget
from clio_xero_tools.sandbox._base import FaultPlan
from tests.clients.conftest import Aws, make_xero_world


class CountingBudget(InMemoryRateBudget):
    """Counts the writes to the shared counters (what a DynamoDB budget pays for)."""

    writes = 0

    def _increment(
        self, provider: str, key: str, window: str, limit: int, expires: datetime, *, calls: int = 1
    ) -> bool:
        self.writes += 1
        return super()._increment(provider, key, window, limit, expires, calls=calls)


def minute(clock: ManualClock) -> str:
    return "m#" + clock.now().strftime("%Y%m%d%H%M")


def test_a_lease_pays_one_write_for_several_calls(clock: ManualClock) -> None:
    budget = CountingBudget(clock, {"clio": RateLimits(per_minute=50)}, lease=5)
    for _ in range(5):
        budget.acquire("clio", "c")
    assert budget.writes == 1
    assert budget.count("clio", "c", minute(clock)) == 5  # every leased call is counted at once
    budget.acquire("clio", "c")
    assert (budget.writes, budget.count("clio", "c", minute(clock))) == (2, 10)
    clock.advance(60)  # a new window: the calls left in the old lease are not carried over
    budget.acquire("clio", "c")
    assert (budget.writes, budget.count("clio", "c", minute(clock))) == (3, 5)


def test_a_lease_is_at_most_a_tenth_of_the_limit(clock: ManualClock) -> None:
    budget = CountingBudget(clock, {"xero": RateLimits(per_minute=20)}, lease=5)
    budget.acquire("xero", "t")
    assert budget.count("xero", "t", minute(clock)) == 2
    tight = CountingBudget(clock, {"xero": RateLimits(per_minute=5)}, lease=5)
    tight.acquire("xero", "t2")
    assert tight.count("xero", "t2", minute(clock)) == 1  # below 10 calls: no lease at all


def test_the_last_calls_of_a_window_are_taken_one_by_one(clock: ManualClock) -> None:
    limits = {"xero": RateLimits(per_minute=60)}
    other = InMemoryRateBudget(clock, limits)
    leasing = InMemoryRateBudget(clock, limits, lease=5)
    leasing._counts = other._counts  # one shared counter, two "Lambdas"
    for _ in range(58):
        other.acquire("xero", "t")
    leasing.acquire("xero", "t")  # no room for 5: one call
    other.acquire("xero", "t")
    assert other.count("xero", "t", minute(clock)) == 60
    with pytest.raises(ThrottledError, match="minute"):
        leasing.acquire("xero", "t")


def test_a_refused_call_keeps_its_minute_call_in_the_lease(clock: ManualClock) -> None:
    budget = CountingBudget(clock, {"xero": RateLimits(per_minute=60, per_day=20)}, lease=5)
    for _ in range(20):  # the day's 20 calls (leases of 2: a tenth of 20)
        budget.acquire("xero", "t")
    assert budget.count("xero", "t", minute(clock)) == 20  # the minute's leases are used up exactly
    with pytest.raises(ThrottledError, match="day"):
        budget.acquire("xero", "t")  # took a new minute lease, then the day refused
    writes = budget.writes
    assert budget.count("xero", "t", minute(clock)) == 25
    for _ in range(3):
        with pytest.raises(ThrottledError, match="day"):
            budget.acquire("xero", "t")
    # The minute call of each refused acquire went back to the lease: no new minute lease was taken.
    assert budget.count("xero", "t", minute(clock)) == 25
    assert budget.writes == writes + 3 * 2  # only the day's refused attempts: a lease of 2, then 1 call


@pytest.mark.integration
def test_concurrent_lambdas_with_leases_never_pass_the_shared_limit(aws: Aws, clock: ManualClock) -> None:
    limits = {"xero": RateLimits(per_minute=60, per_day=5000, concurrent=5)}
    lambdas = [DynamoRateBudget(aws.table, aws.dynamodb, clock, limits, lease=WORKER_LEASE) for _ in range(8)]
    made: list[int] = []
    refused: list[int] = []
    start = threading.Barrier(len(lambdas))

    def work(index: int, budget: DynamoRateBudget) -> None:
        start.wait()
        for _ in range(20):
            try:
                budget.acquire("xero", "tenant")
            except ThrottledError:
                refused.append(index)
                continue
            made.append(index)
            budget.release("xero", "tenant")

    threads = [threading.Thread(target=work, args=(i, b)) for i, b in enumerate(lambdas)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    counted = lambdas[0].count("xero", "tenant", minute(clock))
    assert len(made) + len(refused) == 160
    assert len(made) <= counted <= 60  # the shared counter holds every call made, and never passes 60
    assert len(made) >= 60 - len(lambdas) * (WORKER_LEASE - 1)  # at most 4 calls a Lambda left unused


@pytest.mark.integration
def test_leasing_workers_never_get_a_429_from_xero(aws: Aws, clock: ManualClock) -> None:
    """Six "Lambdas", each with its own budget and client, call the Xero sandbox (60 a minute, 5 at a
    time per tenant) at once: the budget throttles them, Xero never has to."""
    xero = make_xero_world(clock)
    calls_made: list[int] = []
    throttled: list[int] = []
    start = threading.Barrier(6)

    def work() -> None:
        client = xero.client(budget=DynamoRateBudget(aws.table, aws.dynamodb, clock, lease=WORKER_LEASE))
        start.wait()
        for _ in range(15):
            try:
                client.request("GET", "/Organisation")
            except ThrottledError:
                throttled.append(1)
            else:
                calls_made.append(1)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    statuses = [e.status for e in xero.sandbox.request_log.entries(path_prefix="/api.xro/2.0/Organisation")]
    assert 429 not in statuses
    assert len(calls_made) == len(statuses) <= 60
    assert len(calls_made) + len(throttled) == 90


@pytest.mark.integration
def test_a_429_stops_every_leasing_worker_within_its_lease_or_the_bound(aws: Aws, clock: ManualClock) -> None:
    """The workers' budgets (leases, and blocked-until re-read per lease or every 15 s: docs/cost.md
    "The blocked-until read"): after one worker's 429 the others spend at most the calls left in
    their leases, and none once the bound has passed."""
    xero = make_xero_world(clock)
    organisation = "/api.xro/2.0/Organisation"

    def worker() -> XeroClient:
        budget = DynamoRateBudget(
            aws.table, aws.dynamodb, clock, lease=WORKER_LEASE, blocked_recheck_seconds=WORKER_BLOCKED_RECHECK_SECONDS
        )
        return xero.client(budget=budget)

    def calls() -> int:
        return len(xero.sandbox.request_log.entries(path_prefix=organisation))

    def until_refused(client: XeroClient) -> int:
        made = 0
        while True:
            try:
                client.request("GET", "/Organisation")
            except ThrottledError:
                return made
            made += 1

    workers = [worker() for _ in range(4)]
    for client in workers:
        client.request("GET", "/Organisation")  # each now holds a lease with 4 calls left
    xero.sandbox.set_faults(FaultPlan(burst_429=1))
    with pytest.raises(ThrottledError):
        workers[0].request("GET", "/Organisation")  # Xero's 429 (Retry-After 60), recorded for all
    seen = calls()
    with pytest.raises(ThrottledError):
        workers[0].request("GET", "/Organisation")  # its own budget refuses at once
    assert calls() == seen
    assert [until_refused(c) for c in workers[1:]] == [WORKER_LEASE - 1] * 3  # the lease's calls, then the read
    assert calls() == seen + 3 * (WORKER_LEASE - 1)

    clock.advance(61)  # the block is over; a new minute: every worker leases (and reads) again
    for client in workers:
        client.request("GET", "/Organisation")
    xero.sandbox.set_faults(FaultPlan(burst_429=1))
    with pytest.raises(ThrottledError):
        workers[0].request("GET", "/Organisation")
    clock.advance(WORKER_BLOCKED_RECHECK_SECONDS)
    seen = calls()
    assert [until_refused(c) for c in workers[1:]] == [0, 0, 0]  # past the bound: read, and heeded
    assert calls() == seen
