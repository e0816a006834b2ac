"""Per-access-token rate limiting over a sliding 60-second window (docs/facts-clio.md#rate-limits).

Every API response carries ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and
``X-RateLimit-Reset`` (unix seconds when the oldest counted call leaves the window); over the
limit, 429 with ``Retry-After`` seconds. Peak/off-peak differences are not modelled: the limit is
one configurable number (default 50/min, Clio's peak-hours figure).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

WINDOW = timedelta(seconds=60)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # unix seconds
    retry_after: int  # seconds; 0 when allowed

    def headers(self) -> dict[str, str]:
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def check(self, key: str, now: datetime) -> Verdict:
        """Count a call for ``key`` if the window has room; rejected calls are not counted."""
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - WINDOW:
                hits.popleft()
            allowed = len(hits) < self.per_minute
            if allowed:
                hits.append(now)
            oldest = hits[0] if hits else now
            reset_at = oldest + WINDOW
            retry = 0 if allowed else max(1, math.ceil((reset_at - now).total_seconds()))
            return Verdict(
                allowed=allowed,
                limit=self.per_minute,
                remaining=max(0, self.per_minute - len(hits)),
                reset=math.ceil(reset_at.timestamp()),
                retry_after=retry,
            )

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
