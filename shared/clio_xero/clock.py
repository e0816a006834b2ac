"""Injectable clocks: production uses the wall clock, tests and sandboxes move time by hand."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that can say what time it is (timezone-aware UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; thread-safe, for tests and the sandboxes."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when


class OffsetClock:
    """Wall clock plus an adjustable offset: served sandboxes let the admin surface move time."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()


_process_clock: Clock = SystemClock()


def default_clock() -> Clock:
    """The clock function wiring uses when none is injected: the wall clock in Lambda.

    The in-process local runtime can swap it (:func:`use_clock`) so that tests move time for the
    functions it hosts exactly as they move it for the sandboxes: no test waits on the wall clock.
    """
    return _process_clock


@contextlib.contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    global _process_clock  # noqa: PLW0603 - one process-wide seam, set only by the local runtime
    previous, _process_clock = _process_clock, clock
    try:
        yield clock
    finally:
        _process_clock = previous
