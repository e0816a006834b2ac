"""How long runs (backfill, the trust report's reads) call the APIs: waiting out throttles and
retrying uncertain failures, instead of handing them to a queue as the worker does."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from clio_xero.clients._http import RecordPage
from clio_xero.errors import ThrottledError, UpstreamUnavailableError

__all__ = ["Patience", "patient_pages"]

T = TypeVar("T")


class Patience:
    """Runs one API call, waiting out throttles and retrying uncertain failures.

    A throttled call waits ``retry_after`` and is sent again; an uncertain failure (timeout, 5xx)
    is sent again after ``backoff`` seconds *with the same idempotency key* (Xero answers a replay
    with the first outcome). ``waited`` sums the seconds asked for (the benchmark reports it).
    """

    def __init__(
        self, wait: Callable[[float], object] = time.sleep, *, max_attempts: int = 30, backoff: float = 2.0
    ) -> None:
        self.wait = wait
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.waited = 0.0
        self.throttles = 0

    def call(self, fn: Callable[[], T]) -> T:
        for attempt in range(1, self.max_attempts + 1):
            try:
                return fn()
            except ThrottledError as exc:
                if attempt == self.max_attempts:
                    raise
                self.throttles += 1
                seconds = exc.retry_after if exc.retry_after is not None else self.backoff
                self.waited += seconds
                self.wait(seconds)
            except UpstreamUnavailableError:
                if attempt >= min(self.max_attempts, 4):
                    raise
                self.waited += self.backoff
                self.wait(self.backoff)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def patient_pages(read: Callable[[str | None], RecordPage], patience: Patience) -> Iterator[dict[str, Any]]:
    """Every row of a paged read, each page through ``patience``: a throttle waits and asks for the
    same page again, where a client's ``iter_records`` generator would end on the exception."""
    cursor: str | None = None
    while True:
        page = patience.call(functools.partial(read, cursor))
        yield from page.rows
        if page.next is None:
            return
        cursor = page.next
