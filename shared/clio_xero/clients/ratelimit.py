"""Rate budgets shared by every Lambda working for one connection (docs/facts-xero.md#rate-limits,
docs/facts-clio.md#rate-limits).

Each API call does ``acquire`` → HTTP → ``observe`` → ``release``. ``acquire`` never sleeps: when
the budget is spent it raises :class:`~clio_xero.errors.ThrottledError` with ``retry_after``, and
the worker puts the record back on the queue with that delay.

What is counted, per (provider, key) (key = Xero tenant id / Clio connection):

* **fixed windows**: calls per UTC minute and per UTC day, each a counter item incremented only
  while below the limit (a conditional ``ADD``), expiring via TTL;
* **concurrency**: N slot items, each leased for ``slot_lease_seconds`` (a crashed Lambda's slot
  frees itself);
* **blocked until**: set by ``observe`` from a 429's ``Retry-After`` (or a ``...-Remaining: 0``
  header), so every other Lambda backs off too instead of spending its own 429.

**Leases** (docs/cost.md#the-rate-budget): a budget built with ``lease=N`` takes up to N calls of a
window in one conditional write (never more than a tenth of the window's limit) and hands them out
to its own calls, so a busy container pays one write per N calls instead of one per call. The shared
counter counts every leased call, made or not, so the provider's limit is never passed; the price
is that calls leased and not made before the window ends are lost for that window (at most N per
container, 10% of the limit). A refused call gives its tokens of other windows back to the lease.

**Blocked-until, read less** (docs/cost.md#the-blocked-until-read): a budget built with
``blocked_recheck_seconds=S`` reads the shared blocked-until at most every S seconds, and always when
it is about to take a new lease (so at least once per ``lease`` calls), instead of before every call.
Its own 429s and remaining-headers block it at once; another container's are heeded within S
seconds (or its next lease, if sooner). Until then a call may meet a 429 of its own, which it records.

Our windows are aligned to the UTC clock; Xero's start at each tenant's first call (docs/facts-xero.md#rate-limits),
so the two drift apart by up to a window. That is why the provider's own signals (429 +
Retry-After, remaining-headers) override our counters through ``blocked until``.
"""

from __future__ import annotations

import math
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol

from clio_xero.clock import Clock, SystemClock
from clio_xero.errors import ThrottledError

__all__ = [
    "CLIO_LIMITS",
    "DEFAULT_LIMITS",
    "XERO_LIMITS",
    "XERO_STARTER_LIMITS",
    "InMemoryRateBudget",
    "RateBudget",
    "RateLimits",
    "UnlimitedBudget",
    "WindowedBudget",
    "parse_retry_after",
]

#: When a 429 carries no usable Retry-After (Xero's app-wide minute limit, docs/facts-xero.md#rate-limits).
DEFAULT_BACKOFF_SECONDS = 30.0


@dataclass(frozen=True)
class RateLimits:
    """One provider's limits per key. ``None`` means not limited by us."""

    per_minute: int | None
    per_day: int | None = None
    concurrent: int | None = None
    slot_lease_seconds: int = 60


XERO_LIMITS = RateLimits(per_minute=60, per_day=5000, concurrent=5)
#: Starter tier from March 2026 (docs/facts-xero.md#tiers): 1,000 calls per day per org.
XERO_STARTER_LIMITS = RateLimits(per_minute=60, per_day=1000, concurrent=5)
#: Clio: ~50/min per token at peak, higher off-peak (docs/facts-clio.md#rest); we budget for peak always.
CLIO_LIMITS = RateLimits(per_minute=50)
DEFAULT_LIMITS: Mapping[str, RateLimits] = {"xero": XERO_LIMITS, "clio": CLIO_LIMITS}


class RateBudget(Protocol):
    def acquire(self, provider: str, key: str) -> None:
        """Take one call from the budget or raise ``ThrottledError(retry_after=...)``; never sleeps."""
        ...

    def release(self, provider: str, key: str) -> None:
        """Give the concurrency slot back (after the call, whatever its outcome)."""
        ...

    def observe(self, provider: str, key: str, status: int, headers: Mapping[str, str]) -> None:
        """Learn from a response: 429/Retry-After and remaining-quota headers block everyone."""
        ...


class UnlimitedBudget:
    """A budget that never throttles (scripts; tests that are not about limits)."""

    def acquire(self, provider: str, key: str) -> None:
        return None

    def release(self, provider: str, key: str) -> None:
        return None

    def observe(self, provider: str, key: str, status: int, headers: Mapping[str, str]) -> None:
        return None


def parse_retry_after(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds from ``Retry-After`` (seconds or HTTP-date) or Clio's older ``Retry-At``."""
    for name in ("Retry-After", "Retry-At"):
        raw = _header(headers, name)
        if raw is None:
            continue
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lower = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lower), None)
    return value


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    raw = _header(headers, name)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def _minute_end(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0) + timedelta(minutes=1)


def _day_end(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def _seconds_until(when: datetime, now: datetime) -> float:
    return max(1.0, math.ceil((when - now).total_seconds()))


class WindowedBudget(ABC):
    """The algorithm; subclasses provide the shared state (memory or DynamoDB)."""

    def __init__(
        self,
        clock: Clock | None,
        limits: Mapping[str, RateLimits] | None,
        lease: int = 1,
        blocked_recheck_seconds: float = 0,
    ) -> None:
        self._clock = clock or SystemClock()
        self._limits = dict(limits or DEFAULT_LIMITS)
        self._held_lock = threading.Lock()
        self._held: dict[tuple[str, str], list[str]] = {}
        self._lease = max(1, lease)
        # (provider, key, window kind) -> (window id, calls leased and not yet handed out)
        self._leased: dict[tuple[str, str, str], tuple[str, int]] = {}
        self._blocked_recheck = blocked_recheck_seconds
        # (provider, key) -> (blocked until as last known, when it was read from the shared state)
        self._blocked_known: dict[tuple[str, str], tuple[datetime | None, datetime]] = {}

    def limits_for(self, provider: str) -> RateLimits:
        try:
            return self._limits[provider]
        except KeyError:
            raise ValueError(f"no rate limits configured for provider {provider!r}") from None

    # ------------------------------------------------------------------ RateBudget

    def acquire(self, provider: str, key: str) -> None:
        limits = self.limits_for(provider)
        now = self._clock.now()
        windows = (
            ("m", limits.per_minute, now.strftime("%Y%m%d%H%M"), _minute_end(now)),
            ("d", limits.per_day, now.strftime("%Y-%m-%d"), _day_end(now)),
        )
        leasing = any(not self._lease_covers(provider, key, kind, w) for kind, limit, w, _ in windows if limit)
        blocked = self._current_block(provider, key, now, read=leasing)
        if blocked is not None and blocked > now:
            raise ThrottledError(
                f"{provider} budget for {key} is blocked by the provider", retry_after=_seconds_until(blocked, now)
            )
        slot: str | None = None
        if limits.concurrent:
            slot = self._take_slot(
                provider, key, limits.concurrent, now, now + timedelta(seconds=limits.slot_lease_seconds)
            )
            if slot is None:
                raise ThrottledError(f"{provider} concurrency budget for {key} is in use", retry_after=1.0)
        taken: list[tuple[str, str]] = []
        try:
            for kind, limit, window, end in windows:
                if limit is None:
                    continue
                if not self._take(provider, key, kind, window, limit=limit, end=end):
                    for taken_kind, taken_window in taken:
                        self._give_back(provider, key, taken_kind, taken_window)
                    what = "minute" if kind == "m" else "day"
                    raise ThrottledError(
                        f"{provider} {what} budget for {key} is spent", retry_after=_seconds_until(end, now)
                    )
                taken.append((kind, window))
        except BaseException:
            if slot is not None:
                self._free_slot(provider, key, slot)
            raise
        if slot is not None:
            with self._held_lock:
                self._held.setdefault((provider, key), []).append(slot)

    def _lease_covers(self, provider: str, key: str, kind: str, window: str) -> bool:
        """Does this budget hold a leased call of ``window`` (so taking one writes nothing)?"""
        with self._held_lock:
            held = self._leased.get((provider, key, kind))
        return held is not None and held[0] == window and held[1] > 0

    def _current_block(self, provider: str, key: str, now: datetime, *, read: bool) -> datetime | None:
        """Blocked-until: from the shared state when ``read``, when not known or known for longer
        than ``blocked_recheck_seconds``; otherwise as last read (or learnt from our own calls)."""
        with self._held_lock:
            known = self._blocked_known.get((provider, key))
        if not read and known is not None and (now - known[1]).total_seconds() < self._blocked_recheck:
            return known[0]
        blocked = self._blocked_until(provider, key)
        with self._held_lock:
            self._blocked_known[(provider, key)] = (blocked, now)
        return blocked

    def _take(self, provider: str, key: str, kind: str, window: str, *, limit: int, end: datetime) -> bool:
        """One call of ``window``: from this budget's lease, else a new lease (or a single call,
        when the window has no room for a lease) from the shared counter."""
        lease_key = (provider, key, kind)
        with self._held_lock:
            held = self._leased.get(lease_key)
            if held is not None and held[0] == window and held[1] > 0:
                self._leased[lease_key] = (window, held[1] - 1)
                return True
        size = min(self._lease, max(1, limit // 10))
        for calls in dict.fromkeys((size, 1)):
            if self._increment(provider, key, f"{kind}#{window}", limit, end, calls=calls):
                with self._held_lock:
                    held = self._leased.get(lease_key)
                    spare = held[1] if held is not None and held[0] == window else 0
                    self._leased[lease_key] = (window, spare + calls - 1)
                return True
        return False

    def _give_back(self, provider: str, key: str, kind: str, window: str) -> None:
        """A call taken for a refused acquire: back to the lease, or to the shared counter."""
        if self._lease == 1:
            self._decrement(provider, key, f"{kind}#{window}")
            return
        lease_key = (provider, key, kind)
        with self._held_lock:
            held = self._leased.get(lease_key)
            spare = held[1] if held is not None and held[0] == window else 0
            self._leased[lease_key] = (window, spare + 1)

    def release(self, provider: str, key: str) -> None:
        with self._held_lock:
            held = self._held.get((provider, key))
            slot = held.pop() if held else None
        if slot is not None:
            self._free_slot(provider, key, slot)

    def observe(self, provider: str, key: str, status: int, headers: Mapping[str, str]) -> None:
        now = self._clock.now()
        until: datetime | None = None
        if status == 429:
            retry = parse_retry_after(headers, now)
            until = now + timedelta(seconds=retry if retry is not None else DEFAULT_BACKOFF_SECONDS)
        # The provider says the window is spent: block until our window turns over; if its
        # window turns over later, the next call gets a 429 whose Retry-After we record.
        elif _int_header(headers, "X-DayLimit-Remaining") == 0:
            until = _day_end(now)
        elif _int_header(headers, "X-MinLimit-Remaining") == 0:
            until = _minute_end(now)
        elif _int_header(headers, "X-RateLimit-Remaining") == 0:
            reset = _int_header(headers, "X-RateLimit-Reset")  # Clio: unix seconds
            until = datetime.fromtimestamp(reset, UTC) if reset is not None else _minute_end(now)
        if until is not None and until > now:
            self._block(provider, key, until)
            with self._held_lock:  # heeded by this container's next call without a read
                known = self._blocked_known.get((provider, key))
                if known is None:
                    self._blocked_known[(provider, key)] = (until, now)
                elif known[0] is None or known[0] < until:
                    self._blocked_known[(provider, key)] = (until, known[1])

    # ------------------------------------------------------------------ state primitives

    @abstractmethod
    def _blocked_until(self, provider: str, key: str) -> datetime | None: ...

    @abstractmethod
    def _block(self, provider: str, key: str, until: datetime) -> None:
        """Set blocked-until to ``until`` unless it is already later."""

    @abstractmethod
    def _take_slot(self, provider: str, key: str, slots: int, now: datetime, until: datetime) -> str | None: ...

    @abstractmethod
    def _free_slot(self, provider: str, key: str, slot: str) -> None: ...

    @abstractmethod
    def _increment(
        self, provider: str, key: str, window: str, limit: int, expires: datetime, *, calls: int = 1
    ) -> bool:
        """Add ``calls`` to the window's counter unless that would pass ``limit``; False if it would."""

    @abstractmethod
    def _decrement(self, provider: str, key: str, window: str) -> None: ...


class InMemoryRateBudget(WindowedBudget):
    """Same semantics in one process (tests, the local single-process runtime); thread-safe."""

    def __init__(
        self, clock: Clock | None = None, limits: Mapping[str, RateLimits] | None = None, lease: int = 1
    ) -> None:
        super().__init__(clock, limits, lease)
        self._lock = threading.Lock()
        self._blocked: dict[tuple[str, str], datetime] = {}
        self._slots: dict[tuple[str, str, int], tuple[str, datetime]] = {}
        self._counts: dict[tuple[str, str, str], int] = {}

    def count(self, provider: str, key: str, window: str) -> int:
        """Calls counted in ``window`` (``m#YYYYmmddHHMM`` / ``d#YYYY-mm-dd``); for tests."""
        with self._lock:
            return self._counts.get((provider, key, window), 0)

    def _blocked_until(self, provider: str, key: str) -> datetime | None:
        with self._lock:
            return self._blocked.get((provider, key))

    def _block(self, provider: str, key: str, until: datetime) -> None:
        with self._lock:
            current = self._blocked.get((provider, key))
            if current is None or current < until:
                self._blocked[(provider, key)] = until

    def _take_slot(self, provider: str, key: str, slots: int, now: datetime, until: datetime) -> str | None:
        owner = uuid.uuid4().hex
        with self._lock:
            for i in range(slots):
                held = self._slots.get((provider, key, i))
                if held is None or held[1] <= now:
                    self._slots[(provider, key, i)] = (owner, until)
                    return f"{i}:{owner}"
        return None

    def _free_slot(self, provider: str, key: str, slot: str) -> None:
        index, owner = slot.split(":", 1)
        with self._lock:
            held = self._slots.get((provider, key, int(index)))
            if held is not None and held[0] == owner:
                del self._slots[(provider, key, int(index))]

    def _increment(
        self, provider: str, key: str, window: str, limit: int, expires: datetime, *, calls: int = 1
    ) -> bool:
        with self._lock:
            current = self._counts.get((provider, key, window), 0)
            if current + calls > limit:
                return False
            self._counts[(provider, key, window)] = current + calls
            return True

    def _decrement(self, provider: str, key: str, window: str) -> None:
        with self._lock:
            self._counts[(provider, key, window)] = max(0, self._counts.get((provider, key, window), 0) - 1)
