"""The sync engine: an event (or a burst of them) in, the record type's plug-in run, parents first.

The engine knows no record type. It finds the plug-in in the :class:`Registry`, skips types that
are not registered ("unhandled") or switched off for the connection, builds the connection's
:class:`SyncContext` and calls the plug-in. A plug-in that needs a parent linked asks
:meth:`SyncContext.linked_parent`; the engine then syncs the parent through *its* plug-in (at most
:data:`MAX_PARENT_DEPTH` levels: a payment → its invoice → its contact) and, if the parent still
has no Xero id, raises :class:`~clio_xero.errors.DependencyPendingError`, so the child waits
(retryably) and is never written without its parent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from clio_xero.errors import DependencyPendingError, PermanentError, RetryableError, SyncError, ThrottledError
from clio_xero.events import RecordType, SyncEvent, dedupe_key
from clio_xero.sync.core.plugin import RecordTypePlugin, SyncContext, SyncedRecord, internal_event, parent_ref
from clio_xero.sync.core.registry import Registry
from clio_xero.sync.mapping import Mapping, MappingStatus

__all__ = ["MAX_PARENT_DEPTH", "Handled", "Skip", "SyncEngine"]

MAX_PARENT_DEPTH = 3


class Skip(StrEnum):
    UNHANDLED = "unhandled"  # no plug-in for the record type (yet)
    DISABLED = "disabled"  # the connection's settings switch the type off


@dataclass
class Handled:
    """What the engine did with one event."""

    plugin: RecordTypePlugin | None
    result: SyncedRecord | None = None
    skipped: Skip | None = None


def is_linked(mapping: Mapping | None) -> bool:
    return mapping is not None and bool(mapping.xero_id) and mapping.status is not MappingStatus.TOMBSTONED


class SyncEngine:
    def __init__(self, *, registry: Registry, contexts: Callable[[str], SyncContext]) -> None:
        self.registry = registry
        self._contexts = contexts

    def context(self, connection_id: str) -> SyncContext:
        ctx = self._contexts(connection_id)
        ctx.resolve_parent = self._resolve_parent
        ctx.resolve_parents = self._resolve_parents
        return ctx

    def plugin_for(self, event: SyncEvent) -> RecordTypePlugin | None:
        return self.registry.find(event.record_type)

    # ------------------------------------------------------------------ one event
    def sync(self, event: SyncEvent) -> Handled:
        plugin = self.plugin_for(event)
        if plugin is None:
            return Handled(None, skipped=Skip.UNHANDLED)
        ctx = self.context(event.connection_id)
        if not plugin.enabled(ctx.settings):
            return Handled(plugin, skipped=Skip.DISABLED)
        return Handled(plugin, result=plugin.sync(ctx, event))

    # ------------------------------------------------------------------ a burst
    def sync_batch(self, events: Sequence[SyncEvent]) -> list[Handled | SyncError]:
        """Several events (one SQS batch): those of one type and connection go to the plug-in's
        :meth:`~RecordTypePlugin.sync_batch` together. One entry per event, in order."""
        out: list[Handled | SyncError | None] = [None] * len(events)
        groups: dict[tuple[str, RecordType], list[int]] = {}
        for index, event in enumerate(events):
            groups.setdefault((event.connection_id, event.record_type), []).append(index)
        for (connection_id, record_type), indexes in groups.items():
            plugin = self.registry.find(record_type)
            if plugin is None:
                for i in indexes:
                    out[i] = Handled(None, skipped=Skip.UNHANDLED)
                continue
            try:
                ctx = self.context(connection_id)
                if not plugin.enabled(ctx.settings):
                    for i in indexes:
                        out[i] = Handled(plugin, skipped=Skip.DISABLED)
                    continue
                results = plugin.sync_batch(ctx, [events[i] for i in indexes])
            except SyncError as exc:  # the connection itself failed: every event shares it
                for i in indexes:
                    out[i] = exc
                continue
            if len(results) != len(indexes):
                raise RuntimeError(f"{plugin.name}.sync_batch answered {len(results)} for {len(indexes)} events")
            for i, result in zip(indexes, results, strict=True):
                out[i] = result if isinstance(result, SyncError) else Handled(plugin, result=result)
        return [r for r in out if r is not None]

    # ------------------------------------------------------------------ parents
    def _resolve_parent(self, ctx: SyncContext, record_type: RecordType, clio_id: str) -> Mapping:
        return self._linked(ctx, record_type, clio_id, depth=1)

    def _resolve_parents(self, ctx: SyncContext, record_type: RecordType, clio_ids: Sequence[str]) -> None:
        plugin = self.registry.find(record_type)
        if plugin is None:
            return
        missing = [
            i
            for i in dict.fromkeys(clio_ids)
            if not is_linked(ctx.mappings.get(ctx.connection_id, record_type.value, i))
        ]
        if not missing:
            return
        events = [_parent_event(ctx, record_type, clio_id) for clio_id in missing]
        nested = ctx.derive(resolve_parent=lambda c, t, i: self._linked(c, t, i, depth=2))
        try:
            plugin.sync_parents(nested, events)
        except SyncError:
            return  # best effort: each child's linked_parent then links (or explains) its own parent

    def _linked(self, ctx: SyncContext, record_type: RecordType, clio_id: str, *, depth: int) -> Mapping:
        ref = parent_ref(record_type, clio_id)
        mapping = ctx.mappings.get(ctx.connection_id, record_type.value, clio_id)
        if is_linked(mapping):
            assert mapping is not None
            return mapping
        plugin = self.registry.find(record_type)
        if plugin is None:
            raise DependencyPendingError(f"waiting for {ref}: that record type is not synced", parent=ref)
        if depth > MAX_PARENT_DEPTH:
            raise DependencyPendingError(f"waiting for {ref}: parents nest deeper than {MAX_PARENT_DEPTH}", parent=ref)
        event = _parent_event(ctx, record_type, clio_id)
        nested = ctx.derive(resolve_parent=lambda c, t, i: self._linked(c, t, i, depth=depth + 1))
        try:
            plugin.sync_parent(nested, event)
        except ThrottledError:
            raise  # a rate limit is the whole call's to wait out, with its own delay
        except (RetryableError, PermanentError) as exc:
            raise DependencyPendingError(f"waiting for {ref} to be linked in Xero: {exc.message}", parent=ref) from exc
        mapping = ctx.mappings.get(ctx.connection_id, record_type.value, clio_id)
        if is_linked(mapping):
            assert mapping is not None
            return mapping
        state = f"{mapping.status.value}: {mapping.last_error}" if mapping and mapping.last_error else "not linked"
        raise DependencyPendingError(f"waiting for {ref} to be linked in Xero ({state})", parent=ref)


def _parent_event(ctx: SyncContext, record_type: RecordType, clio_id: str) -> SyncEvent:
    """The event a parent is synced with because a child needs it (never on the queue)."""
    dedupe = dedupe_key("parent", ctx.connection_id, parent_ref(record_type, clio_id))
    return internal_event(ctx, record_type, clio_id, dedupe=dedupe)
