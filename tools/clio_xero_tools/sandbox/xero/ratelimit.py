"""Xero's API limits (docs/facts-xero.md#rate-limits): per tenant 5 concurrent, 60/min, 5,000/day; 10,000/min app-wide.

Windows are fixed and start at the first call after the previous window ended, so they reset at
different moments for each tenant, as Xero describes ("use Retry-After rather than clock maths").
Only calls that pass count; a 429 does not consume quota (UNCONFIRMED: Xero does not say).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clio_xero.clock import Clock

__all__ = ["Decision", "RateLimiter", "XeroLimits"]

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class XeroLimits:
    """Limits per tenant (per app) and for the whole app. ``per_day=1000`` models the Starter tier."""

    concurrent: int = 5
    per_minute: int = 60
    per_day: int = 5000
    app_per_minute: int = 10000


@dataclass
class _Window:
    length: timedelta
    start: datetime | None = None
    count: int = 0

    def roll(self, now: datetime) -> None:
        if self.start is None or now >= self.start + self.length:
            self.start, self.count = now, 0

    def retry_after(self, now: datetime) -> int:
        assert self.start is not None
        return max(1, math.ceil((self.start + self.length - now).total_seconds()))


@dataclass
class _Tenant:
    minute: _Window = field(default_factory=lambda: _Window(MINUTE))
    day: _Window = field(default_factory=lambda: _Window(DAY))
    in_flight: int = 0


@dataclass(frozen=True)
class Decision:
    """Outcome of one admission check; ``headers`` go on the response either way."""

    allowed: bool
    headers: dict[str, str]
    problem: str | None = None  # X-Rate-Limit-Problem value
    retry_after: int | None = None


class RateLimiter:
    def __init__(self, clock: Clock, limits: XeroLimits) -> None:
        self.clock = clock
        self.limits = limits
        self._lock = threading.Lock()
        self._tenants: dict[str, _Tenant] = {}
        self._app = _Window(MINUTE)

    def acquire(self, tenant_id: str) -> Decision:
        """Admit one call for ``tenant_id`` (then :meth:`release` it) or say which limit it hit."""
        now = self.clock.now()
        lim = self.limits
        with self._lock:
            t = self._tenants.setdefault(tenant_id, _Tenant())
            t.minute.roll(now)
            t.day.roll(now)
            self._app.roll(now)
            # UNCONFIRMED: header values for X-Rate-Limit-Problem. Legacy docs show "Daily"/"Minute";
            # we send the lower-case names the current limits page uses; clients should compare
            # case-insensitively and treat "day"/"daily" alike.
            problem: str | None = None
            retry: int | None = None
            if self._app.count >= lim.app_per_minute:
                problem = "appminute"  # reportedly without Retry-After (docs/facts-xero.md#rate-limits)
            elif t.day.count >= lim.per_day:
                problem, retry = "day", t.day.retry_after(now)
            elif t.minute.count >= lim.per_minute:
                problem, retry = "minute", t.minute.retry_after(now)
            elif t.in_flight >= lim.concurrent:
                problem, retry = "concurrent", 1  # UNCONFIRMED: Retry-After on concurrent breaches
            if problem is None:
                t.minute.count += 1
                t.day.count += 1
                self._app.count += 1
                t.in_flight += 1
            return Decision(problem is None, self._headers(t), problem, retry)

    def release(self, tenant_id: str) -> None:
        with self._lock:
            t = self._tenants.get(tenant_id)
            if t is not None and t.in_flight > 0:
                t.in_flight -= 1

    def headers(self, tenant_id: str) -> dict[str, str]:
        with self._lock:
            return self._headers(self._tenants.setdefault(tenant_id, _Tenant()))

    def _headers(self, t: _Tenant) -> dict[str, str]:
        lim = self.limits
        return {
            "X-DayLimit-Remaining": str(max(0, lim.per_day - t.day.count)),
            "X-MinLimit-Remaining": str(max(0, lim.per_minute - t.minute.count)),
            "X-AppMinLimit-Remaining": str(max(0, lim.app_per_minute - self._app.count)),
        }
