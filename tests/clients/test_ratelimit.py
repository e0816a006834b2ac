"""InMemoryRateBudget semantics (the same algorithm DynamoRateBudget runs) and header parsing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from clio_xero.clients import CLIO_LIMITS, XERO_LIMITS, InMemoryRateBudget, RateLimits
from clio_xero.clients.ratelimit import parse_retry_after
from clio_xero.clock import ManualClock
from clio_xero.errors import RetryableError, ThrottledError


def test_default_limits() -> None:
    assert (XERO_LIMITS.per_minute, XERO_LIMITS.per_day, XERO_LIMITS.concurrent) == (60, 5000, 5)
    assert (CLIO_LIMITS.per_minute, CLIO_LIMITS.per_day, CLIO_LIMITS.concurrent) == (50, None, None)


def test_retry_after_forms(clock: ManualClock) -> None:
    now = clock.now()
    assert parse_retry_after({"Retry-After": "12"}, now) == 12
    assert parse_retry_after({"retry-after": "3.5"}, now) == 3.5
    assert parse_retry_after({"Retry-After": format_datetime(now + timedelta(seconds=90), usegmt=True)}, now) == 90
    assert parse_retry_after({"Retry-At": "30"}, now) == 30  # Clio's older name (docs/facts-clio.md#rest)
    assert parse_retry_after({"Retry-After": "soon"}, now) is None
    assert parse_retry_after({}, now) is None


def test_minute_window_and_never_sleeps(clock: ManualClock) -> None:
    clock.set(datetime(2026, 1, 5, 9, 0, 45, tzinfo=UTC))
    budget = InMemoryRateBudget(clock)
    for _ in range(50):
        budget.acquire("clio", "conn")
        budget.release("clio", "conn")
    with pytest.raises(ThrottledError) as caught:
        budget.acquire("clio", "conn")
    assert isinstance(caught.value, RetryableError)
    assert caught.value.retry_after == 15  # until the minute turns over
    clock.advance(15)
    budget.acquire("clio", "conn")


def test_concurrency_slots(clock: ManualClock) -> None:
    budget = InMemoryRateBudget(clock, {"xero": RateLimits(per_minute=100, concurrent=2)})
    budget.acquire("xero", "t")
    budget.acquire("xero", "t")
    with pytest.raises(ThrottledError):
        budget.acquire("xero", "t")
    budget.release("xero", "t")
    budget.acquire("xero", "t")
    window = "m#" + clock.now().strftime("%Y%m%d%H%M")
    assert budget.count("xero", "t", window) == 3  # the refused call was not counted


def test_observe_learns_from_headers(clock: ManualClock) -> None:
    clock.set(datetime(2026, 1, 5, 9, 0, 20, tzinfo=UTC))
    budget = InMemoryRateBudget(clock)
    budget.observe("xero", "t", 200, {"X-MinLimit-Remaining": "0", "X-DayLimit-Remaining": "10"})
    with pytest.raises(ThrottledError) as caught:
        budget.acquire("xero", "t")
    assert caught.value.retry_after == 40
    budget.observe("xero", "u", 200, {"X-DayLimit-Remaining": "0"})
    with pytest.raises(ThrottledError) as caught:
        budget.acquire("xero", "u")
    assert caught.value.retry_after == (24 * 3600) - (9 * 3600 + 20)
    reset = int((clock.now() + timedelta(seconds=25)).timestamp())
    budget.observe("clio", "c", 200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
    with pytest.raises(ThrottledError) as caught:
        budget.acquire("clio", "c")
    assert caught.value.retry_after == 25
    budget.observe("xero", "v", 429, {})  # app-minute 429 without Retry-After: our own backoff
    with pytest.raises(ThrottledError) as caught:
        budget.acquire("xero", "v")
    assert caught.value.retry_after == 30
    budget.observe("xero", "w", 200, {"X-MinLimit-Remaining": "12"})
    budget.acquire("xero", "w")


def test_threads_never_exceed_the_budget(clock: ManualClock) -> None:
    budget = InMemoryRateBudget(clock, {"xero": RateLimits(per_minute=60, concurrent=5)})
    admitted: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            try:
                budget.acquire("xero", "t")
            except ThrottledError:
                continue
            with lock:
                admitted.append(1)
            budget.release("xero", "t")

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == 60


def test_unknown_provider(clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="no rate limits"):
        InMemoryRateBudget(clock).acquire("quickbooks", "x")
