"""What a record type is to the engine: the :class:`RecordTypePlugin` interface and its context.

A plug-in says, for one record type (``contact``, later ``bill``, ``activity``, ...):

* which :class:`~clio_xero.events.RecordType` on the queue it handles and which setting switches it
  on (:attr:`RecordTypePlugin.switch`, a key of :mod:`clio_xero.sync.settings`);
* which Clio webhook models and fields it needs (:attr:`RecordTypePlugin.clio_webhooks`), which
  sides the sweep lists for changes (:attr:`RecordTypePlugin.sweep_sources`,
  :meth:`RecordTypePlugin.changed_since`) and where it comes in the backfill
  (:attr:`RecordTypePlugin.backfill_phase`);
* which record type it depends on (:attr:`RecordTypePlugin.depends_on`: linked in Xero before this
  one is written, e.g. an invoice's contact) and which it belongs to
  (:attr:`RecordTypePlugin.belongs_to`: its FIFO group and Xero document, e.g. a time entry's bill);
* how to sync one change (:meth:`RecordTypePlugin.sync`: fetch from the source, map, write) and,
  optionally, a burst of them (:meth:`RecordTypePlugin.sync_batch`: bulk reads by ids, Xero writes
  of up to 50);
* how a failure is recorded on its mapping (:meth:`RecordTypePlugin.record_failure`).

The engine (:mod:`clio_xero.sync.core.engine`) gives each call a :class:`SyncContext`: the
connection's API clients, mapping store, settings and clock, and :meth:`SyncContext.linked_parent`,
the one way to get a parent's Xero id (it syncs the parent first, or raises
:class:`~clio_xero.errors.DependencyPendingError`; nothing is ever written as an orphan).
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from clio_xero.clock import Clock
from clio_xero.errors import SyncError
from clio_xero.events import Action, RecordType, Source, SyncEvent
from clio_xero.sync.mapping import Mapping, MappingStatus, MappingStore, record_ref
from clio_xero.sync.settings import ConnectionSettings, setting_keys

if TYPE_CHECKING:
    from clio_xero.clients.clio import ClioClient
    from clio_xero.clients.xero import XeroClient

__all__ = [
    "BatchedPlugin",
    "ClioWebhook",
    "Done",
    "RecordTypePlugin",
    "SyncContext",
    "SyncedRecord",
]


class SyncedRecord(Protocol):
    """What a plug-in's :meth:`~RecordTypePlugin.sync` returns: at least an outcome (counted as
    ``Outcome_<value>``); plug-ins add their own detail."""

    @property
    def outcome(self) -> StrEnum: ...


class DoneOutcome(StrEnum):
    SYNCED = "synced"
    SKIPPED = "skipped"


@dataclass
class Done:
    """A plain result for plug-ins with nothing more to say than "synced" or "skipped"."""

    outcome: DoneOutcome = DoneOutcome.SYNCED
    clio_id: str | None = None
    xero_id: str | None = None


@dataclass(frozen=True)
class ClioWebhook:
    """A Clio webhook a record type needs: the model and the ``fields`` Clio watches and sends.

    ``queue_only_with`` names top-level ``fields`` (comma-separated) without which a delivery is of
    no use to the type: the Clio receiver archives a delivery whose data carries every one of them
    as ``null`` and queues nothing for it (``deleted`` events are always queued; a field the data
    does not carry at all counts as set). Empty: every delivery is queued. The rule is
    :func:`clio_xero.events.clio_delivery_needed`; docs/billing.md says why the activity webhook
    declares ``bill``."""

    model: str
    fields: str
    queue_only_with: str = ""

    def __post_init__(self) -> None:
        subscribed = set(top_level_fields(self.fields))
        unknown = [name for name in split_names(self.queue_only_with) if name not in subscribed]
        if unknown:  # a rule on a field the delivery never carries would never drop, silently
            raise ValueError(f"queue_only_with names fields the webhook does not send: {', '.join(unknown)}")


def split_names(names: str) -> list[str]:
    """``"a, b,,c"`` → ``["a", "b", "c"]``."""
    return [n.strip() for n in names.split(",") if n.strip()]


def top_level_fields(fields: str) -> list[str]:
    """The top-level names of a Clio ``fields`` list (``id,bill{id,state}`` → ``id``, ``bill``).

    Hand-written: Clio's ``fields`` syntax is its own (one level of braces, docs/facts-clio.md),
    no library parses it, and a comma split would cut ``bill{id,state}`` in two."""
    names, depth, current = [], 0, ""
    for char in fields:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "," and depth == 0:
            names.append(current)
            current = ""
        elif depth == 0:
            current += char
    names.append(current)
    return [n.strip() for n in names if n.strip()]


@dataclass
class SyncContext:
    """One connection, as a plug-in sees it during one sync.

    ``clio`` and ``xero`` are built on first use (a plug-in that answers from the mapping alone
    costs no client set-up)."""

    connection_id: str
    mappings: MappingStore
    settings: ConnectionSettings
    clock: Clock
    apis: Callable[[], tuple[ClioClient, XeroClient]]
    #: Set by the engine: (record type, Clio id) → the parent's linked mapping.
    resolve_parent: Callable[[SyncContext, RecordType, str], Mapping] | None = None
    #: Set by the engine: link many parents of one type in one go (see :meth:`link_parents`).
    resolve_parents: Callable[[SyncContext, RecordType, Sequence[str]], None] | None = None
    _clients: tuple[ClioClient, XeroClient] | None = field(default=None, repr=False)

    def _built(self) -> tuple[ClioClient, XeroClient]:
        if self._clients is None:
            self._clients = self.apis()
        return self._clients

    @property
    def clio(self) -> ClioClient:
        return self._built()[0]

    @property
    def xero(self) -> XeroClient:
        return self._built()[1]

    def derive(self, **changes: Any) -> SyncContext:
        """The same connection (and its clients, once built) with some parts changed."""
        return dataclasses.replace(self, **changes)

    def linked_parent(self, record_type: RecordType, clio_id: str) -> Mapping:
        """The parent's mapping, linked in Xero (``xero_id`` set): synced first when it is not yet.

        Raises :class:`~clio_xero.errors.DependencyPendingError` (retryable, the reason recorded
        on the child's mapping for `errors`) when the parent cannot be linked now."""
        if self.resolve_parent is None:
            raise RuntimeError("linked_parent needs the engine (SyncEngine.context)")
        return self.resolve_parent(self, record_type, clio_id)

    def link_parents(self, record_type: RecordType, clio_ids: Sequence[str]) -> None:
        """Link the parents of a burst in bulk before the children ask for them one by one (the
        bills of a month-end run name dozens of clients not yet in Xero: one bulk read and one
        write of up to 50 instead of two or three calls each). Best effort: whatever is still not
        linked afterwards is linked (or explained) by :meth:`linked_parent`."""
        if self.resolve_parents is not None:
            self.resolve_parents(self, record_type, clio_ids)


class RecordTypePlugin(ABC):
    """One record type, plugged into the engine. Subclass, set the class attributes, implement
    :meth:`sync`; everything else has a default that suits a one-way Clio → Xero type."""

    #: The queue's name for the type; also the mapping's ``record_type``.
    record_type: ClassVar[RecordType]
    #: The settings key that switches the type on (a key of clio_xero.sync.settings), or ``None``
    #: for a type that always syncs.
    switch: ClassVar[str | None] = None
    #: Clio webhooks the type needs (registered by `webhooks register` and the renewal function
    #: while the switch is on).
    clio_webhooks: ClassVar[tuple[ClioWebhook, ...]] = ()
    #: Sides the scheduled sweep lists for changes (:meth:`changed_since`); empty: none.
    sweep_sources: ClassVar[tuple[Source, ...]] = ()
    #: Backfill order (lower first: contacts before bills before payments); ``None``: no backfill.
    backfill_phase: ClassVar[int | None] = None
    #: The record type that must be linked in Xero before this one is written.
    depends_on: ClassVar[RecordType | None] = None
    #: The record type whose Xero document holds this one and whose FIFO group it shares.
    belongs_to: ClassVar[RecordType | None] = None

    @property
    def name(self) -> str:
        return self.record_type.value

    @property
    def coalesces(self) -> bool:
        """Does the type handle a burst better than one by one (it overrides :meth:`sync_batch`)?
        The Lambda entry then hands it its events of an SQS batch together."""
        return type(self).sync_batch is not RecordTypePlugin.sync_batch

    # ------------------------------------------------------------------ switches
    def enabled(self, settings: ConnectionSettings) -> bool:
        """Is the type switched on for this connection?"""
        if self.switch is None:
            return True
        return bool(getattr(settings, self.switch))

    # ------------------------------------------------------------------ sync
    @abstractmethod
    def sync(self, ctx: SyncContext, event: SyncEvent) -> SyncedRecord:
        """Make Xero (and, for two-way types, Clio) agree with the record ``event`` names.

        Idempotent: fetch the record's current state from its source, map, write only what
        differs. A parent is obtained with ``ctx.linked_parent``; errors are raised from the one
        tree (:mod:`clio_xero.errors`), and the engine decides what becomes of the message."""

    def sync_parent(self, ctx: SyncContext, event: SyncEvent) -> SyncedRecord:
        """Sync a record because a child needs it linked (the engine calls this, never the queue).
        Defaults to :meth:`sync`; a type whose filters would keep a needed parent out overrides it
        (the contact plug-in ignores its scope: a bill's client is always sent)."""
        return self.sync(ctx, event)

    def sync_parents(self, ctx: SyncContext, events: Sequence[SyncEvent]) -> None:
        """Link many records children need, in bulk (:meth:`SyncContext.link_parents`). Best
        effort, no result: the default does nothing and each child then asks for its parent
        through :meth:`sync_parent`; a type that can read and write in bulk overrides it."""
        return None

    def sync_batch(self, ctx: SyncContext, events: Sequence[SyncEvent]) -> list[SyncedRecord | SyncError]:
        """Several changes of this type on one connection that arrived together (one SQS batch).

        The default syncs them one by one. A plug-in that can coalesce a burst overrides it: one
        bulk read by ids (``ClioClient.iter_records(params={"ids[]": ...})``, ``XeroClient.get_records``),
        one Xero write of up to 50 (``XeroClient.save_records``). One result or error per event,
        in order: an error fails only its own event."""
        out: list[SyncedRecord | SyncError] = []
        for event in events:
            try:
                out.append(self.sync(ctx, event))
            except SyncError as exc:
                out.append(exc)
        return out

    # ------------------------------------------------------------------ sweep
    def changed_since(
        self, clio: ClioClient, xero: XeroClient, source: Source, since: datetime
    ) -> Iterator[tuple[str, object]]:
        """(record id, version) of every record changed on ``source`` since ``since``; only called
        for the sides in :attr:`sweep_sources`. Read with the clients' ``iter_records``."""
        raise NotImplementedError(f"{self.name} lists no changes on {source.value}")

    def sweep_cursor(self, source: Source) -> str:
        """The sweep cursor's name (``clio:contact``: unchanged from before plug-ins)."""
        return f"{source.value}:{self.name}"

    # ------------------------------------------------------------------ groups
    def fifo_group(self, event: SyncEvent, owner_id: str | None = None) -> str:
        """The SQS FIFO group: a record's own group, or its owner's when it belongs to one (a bill,
        its lines and its payments are serialised together)."""
        if self.belongs_to is not None and owner_id is not None:
            return f"{event.connection_id}#{Source.CLIO.value}:{self.belongs_to.value}:{owner_id}"
        return event.message_group_id

    # ------------------------------------------------------------------ failures
    def clio_id_of(self, event: SyncEvent, mappings: MappingStore) -> str | None:
        """The Clio id that names the record's mapping (a Xero-side event is looked up)."""
        if event.source is Source.CLIO:
            return event.record_id
        return mappings.clio_id_for(event.connection_id, self.name, event.record_id)

    def record_failure(
        self,
        mappings: MappingStore,
        event: SyncEvent,
        *,
        reason: str,
        hint: str | None,
        now: datetime,
        status: MappingStatus = MappingStatus.ERROR,
        depends_on: str | None = None,
    ) -> None:
        """Put the failure on the record's mapping (the error list `clio-xero errors` shows),
        creating the mapping if needed. ``status`` is ``waiting`` for a parent not linked yet."""
        clio_id = self.clio_id_of(event, mappings)
        if clio_id is None:
            return
        mapping = mappings.get(event.connection_id, self.name, clio_id)
        values: dict[str, Any] = {"status": status, "last_error": reason, "error_hint": hint, "updated_at": now}
        if depends_on is not None:
            values["depends_on"] = depends_on
        if mapping is None:
            mappings.create(
                Mapping(
                    connection_id=event.connection_id,
                    record_type=self.name,
                    clio_id=clio_id,
                    created_at=now,
                    attempts=1,
                    **values,
                )
            )
        else:
            values["attempts"] = mapping.attempts + 1
            mappings.update(mapping.model_copy(update=values), previous_xero_id=mapping.xero_id)

    # ------------------------------------------------------------------ checks
    def check(self) -> None:
        """Refuse a plug-in whose declarations cannot work (called on registration)."""
        if not isinstance(getattr(type(self), "record_type", None), RecordType):
            raise TypeError(f"{type(self).__name__}.record_type must be a RecordType")
        if self.switch is not None and self.switch not in setting_keys():
            raise TypeError(f"{type(self).__name__}.switch {self.switch!r} is not a setting")


class BatchedPlugin(RecordTypePlugin):
    """A record type that always works in bursts: implement :meth:`sync_batch`; one event is a
    burst of one. (Bills will be: one read of their lines by ids, invoices written 50 at a time.)"""

    def sync(self, ctx: SyncContext, event: SyncEvent) -> SyncedRecord:
        [result] = self.sync_batch(ctx, [event])
        if isinstance(result, SyncError):
            raise result
        return result

    @abstractmethod
    def sync_batch(self, ctx: SyncContext, events: Sequence[SyncEvent]) -> list[SyncedRecord | SyncError]:
        """One result or error per event, in order."""


def parent_ref(record_type: RecordType, clio_id: str) -> str:
    return record_ref(record_type.value, clio_id)


def internal_event(ctx: SyncContext, record_type: RecordType, clio_id: str, *, dedupe: str) -> SyncEvent:
    """An "updated in Clio" event the engine or a plug-in makes itself to sync a record now (a
    parent a child needs, an invoice's payment to re-apply); never put on the queue."""
    return SyncEvent(
        connection_id=ctx.connection_id,
        source=Source.CLIO,
        record_type=record_type,
        record_id=clio_id,
        action=Action.UPDATED,
        received_at=ctx.clock.now(),
        dedupe_key=dedupe,
    )
