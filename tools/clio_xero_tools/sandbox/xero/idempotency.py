"""``Idempotency-Key`` handling (docs/facts-xero.md#idempotency).

Per app; honoured on POST/PUT/PATCH; keys up to 128 characters; remembered 6 minutes from the
first call by the sandbox clock. The same key with an identical request replays the stored
response, errors included; with a different method, URL or body it answers 400. A concurrent
duplicate waits for the first call and gets its answer (the per-key lock below).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clio_xero.clock import Clock

__all__ = ["IDEMPOTENCY_TTL", "MAX_KEY_LENGTH", "IdempotencyStore", "StoredResponse", "fingerprint"]

IDEMPOTENCY_TTL = timedelta(minutes=6)
MAX_KEY_LENGTH = 128


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    content_type: str


@dataclass
class _Entry:
    fingerprint: str
    expires: datetime
    response: StoredResponse | None = None


def fingerprint(method: str, tenant_id: str, path_and_query: str, body: bytes) -> str:
    """What makes two requests "the same": method, tenant, URL and exact body bytes."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), tenant_id.encode(), path_and_query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class IdempotencyStore:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._key_locks: dict[str, threading.Lock] = {}

    def key_lock(self, key: str) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def lookup(self, key: str, fp: str) -> StoredResponse | bool | None:
        """The stored response to replay, ``None`` if the key is new (or expired), ``False`` if the
        key was used with a different request."""
        now = self.clock.now()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or now >= entry.expires:
                self._entries.pop(key, None)
                return None
            if entry.fingerprint != fp:
                return False
            return entry.response

    def remember(self, key: str, fp: str, response: StoredResponse) -> None:
        with self._lock:
            self._entries[key] = _Entry(fp, self.clock.now() + IDEMPOTENCY_TTL, response)
