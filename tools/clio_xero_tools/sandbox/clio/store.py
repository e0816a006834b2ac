"""The in-memory store: records, id sequences, change notifications.

One :class:`Record` type serves every resource. What a resource *shows* (its fields, computed
values and links) lives in :mod:`.resources`; the store only keeps data, bumps versions (so the
``etag`` changes on every write) and tells listeners what changed, which is how webhooks fire for
API writes and admin ("web app user") writes alike.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from clio_xero.clock import Clock

Link = int | list[int] | None
EventName = Literal["created", "updated", "deleted", "matter_opened", "matter_pended", "matter_closed"]


@dataclass
class Record:
    """One stored row. ``attrs`` are JSON-ready values; ``links`` point at other records by id."""

    resource: str
    id: int
    created_at: datetime
    updated_at: datetime
    version: int = 1
    attrs: dict[str, Any] = field(default_factory=dict)
    links: dict[str, Link] = field(default_factory=dict)

    @property
    def etag(self) -> str:
        # Clio etags are quoted hex digests (see the Webhooks tag examples); any write changes it.
        digest = hashlib.md5(f"{self.resource}:{self.id}:{self.version}".encode(), usedforsecurity=False)
        return f'"{digest.hexdigest()}"'

    def link_id(self, name: str) -> int | None:
        value = self.links.get(name)
        return value if isinstance(value, int) else None

    def link_ids(self, name: str) -> list[int]:
        value = self.links.get(name)
        return list(value) if isinstance(value, list) else []


@dataclass(frozen=True)
class Change:
    """A write, as webhooks see it: the record right after the change (or as it was, if deleted)."""

    resource: str
    record: Record
    event: EventName


# Distinct id ranges per resource make "used a contact id as a matter id" bugs fail loudly.
_ID_BASES = {
    "users": 345_000,
    "contacts": 1_100_000,
    "email_addresses": 2_200_000,
    "phone_numbers": 2_300_000,
    "addresses": 2_400_000,
    "matters": 3_300_000,
    "activities": 4_400_000,
    "activity_descriptions": 4_500_000,
    "expense_categories": 4_600_000,
    "bills": 5_500_000,
    "line_items": 5_600_000,
    "credit_memos": 5_700_000,
    "allocations": 5_800_000,
    "interest_charges": 5_900_000,
    "currencies": 100,
    "billing_settings": 1,
    "bank_accounts": 6_600_000,
    "bank_transactions": 6_700_000,
    "webhooks": 7_700_000,
    "practice_areas": 3_400_000,
    "trust_line_items": 5_650_000,
    "trust_requests": 5_750_000,
    "groups": 200,
    "bill_themes": 300,
}


class Store:
    """Tables of records keyed by resource name; every mutation holds one re-entrant lock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._tables: dict[str, dict[int, Record]] = {}
        self._seq: dict[str, Iterator[int]] = {}
        self._listeners: list[Callable[[Change], None]] = []
        self._muted = 0
        # Bumped by every insert/update/delete; derived indexes are rebuilt when it moves.
        self.generation = 0
        self._indexes: dict[str, tuple[int, Any]] = {}
        # Per-table write counters: an index over one table survives writes to the others.
        self._table_generation: dict[str, int] = {}
        self._pinned: datetime | None = None

    # -- time ----------------------------------------------------------------------------------
    def now(self) -> datetime:
        """The time writes are stamped with: the clock, or the moment :meth:`at` pinned."""
        return self._pinned or self.clock.now()

    @contextmanager
    def at(self, when: datetime) -> Iterator[None]:
        """Stamp every write inside the block with ``when`` (the seed replays months of a firm's
        history in date order, so ``created_at``/``updated_at`` agree with business dates)."""
        with self.lock:
            saved, self._pinned = self._pinned, when
            try:
                yield
            finally:
                self._pinned = saved

    # -- reading -------------------------------------------------------------------------------
    def get(self, resource: str, record_id: int) -> Record | None:
        return self._tables.get(resource, {}).get(record_id)

    def all(self, resource: str) -> list[Record]:
        with self.lock:
            return sorted(self._tables.get(resource, {}).values(), key=lambda r: r.id)

    def count(self, resource: str) -> int:
        return len(self._tables.get(resource, {}))

    def index(self, key: str, build: Callable[[Store], Any], *, table: str | None = None) -> Any:
        """A derived lookup (e.g. matters by client), cached until the next write (to ``table``
        only, when the lookup reads one table)."""
        with self.lock:
            stamp = self.generation if table is None else self._table_generation.get(table, 0)
            cached = self._indexes.get(key)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            value = build(self)
            self._indexes[key] = (stamp, value)
            return value

    def touch(self, rec: Record) -> None:
        """Note a change made to ``rec``'s links in place (a child written as part of its parent's
        write: an activity put on a bill), so indexes over its table are rebuilt."""
        with self.lock:
            self._bump(rec.resource)

    def _bump(self, resource: str) -> None:
        self.generation += 1
        self._table_generation[resource] = self._table_generation.get(resource, 0) + 1

    # -- writing -------------------------------------------------------------------------------
    def subscribe(self, listener: Callable[[Change], None]) -> None:
        self._listeners.append(listener)

    @contextmanager
    def muted(self) -> Iterator[None]:
        """Suppress change notifications (child rows written as part of a parent's write)."""
        with self.lock:
            self._muted += 1
            try:
                yield
            finally:
                self._muted -= 1

    def _next_id(self, resource: str) -> int:
        if resource not in self._seq:
            self._seq[resource] = itertools.count(_ID_BASES.get(resource, 9_000_000) + 1)
        return next(self._seq[resource])

    def insert(self, resource: str, attrs: dict[str, Any], links: dict[str, Link] | None = None) -> Record:
        with self.lock:
            now = self.now()
            self._bump(resource)
            rec = Record(resource, self._next_id(resource), now, now, 1, dict(attrs), dict(links or {}))
            self._tables.setdefault(resource, {})[rec.id] = rec
            self._emit(Change(resource, rec, "created"))
            return rec

    def update(
        self,
        rec: Record,
        attrs: dict[str, Any] | None = None,
        links: dict[str, Link] | None = None,
        *,
        extra_events: tuple[EventName, ...] = (),
    ) -> Record:
        """Apply changes, bump version and ``updated_at``, notify (even if nothing changed: Clio
        bumps ``updated_at`` and the etag on every successful PATCH)."""
        with self.lock:
            self._bump(rec.resource)
            rec.attrs.update(attrs or {})
            rec.links.update(links or {})
            rec.version += 1
            rec.updated_at = self.now()
            self._emit(Change(rec.resource, rec, "updated"))
            for ev in extra_events:
                self._emit(Change(rec.resource, rec, ev))
            return rec

    def announce(self, rec: Record, event: EventName = "created") -> None:
        """Emit a change for a record that was built while muted (a bill and its lines are one
        "created" event, sent once the lines exist)."""
        with self.lock:
            self._emit(Change(rec.resource, rec, event))

    def delete(self, rec: Record) -> None:
        with self.lock:
            self._bump(rec.resource)
            self._tables.get(rec.resource, {}).pop(rec.id, None)
            self._emit(Change(rec.resource, rec, "deleted"))

    def _emit(self, change: Change) -> None:
        if self._muted:
            return
        for listener in self._listeners:
            listener(change)
