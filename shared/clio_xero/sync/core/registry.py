"""The registry of record types: the one list the worker, sweep, backfill, webhook registration
(and renewal) and the CLI's ``retry``, ``errors`` and ``status`` read.

:func:`clio_xero.sync.record_types.default_registry` holds what ships (contacts today); the
core itself knows no record type. For tests and experiments, a registry of one's own::

    registry = Registry([ContactPlugin(), MyPlugin()])
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from clio_xero.events import RecordType, Source
from clio_xero.sync.core.plugin import ClioWebhook, RecordTypePlugin, split_names
from clio_xero.sync.settings import ConnectionSettings

__all__ = ["Registry"]


class Registry:
    """Record-type plug-ins by :class:`~clio_xero.events.RecordType`, in registration order."""

    def __init__(self, plugins: Iterable[RecordTypePlugin] = ()) -> None:
        self._plugins: dict[RecordType, RecordTypePlugin] = {}
        for plugin in plugins:
            self.register(plugin)

    def register(self, plugin: RecordTypePlugin) -> RecordTypePlugin:
        """Add a plug-in; refused when its type is taken or it names an unknown parent or owner."""
        plugin.check()
        if plugin.record_type in self._plugins:
            raise ValueError(f"record type {plugin.name!r} is already registered")
        for related in (plugin.depends_on, plugin.belongs_to):
            if related is not None and related not in self._plugins:
                raise ValueError(f"{plugin.name} needs {related.value!r} registered first")
        self._plugins[plugin.record_type] = plugin
        return plugin

    def unregister(self, record_type: RecordType) -> None:
        """Remove a plug-in (tests that register a toy on the default registry clean up with it);
        refused while another registered type depends on or belongs to it."""
        for plugin in self:
            if record_type in (plugin.depends_on, plugin.belongs_to):
                raise ValueError(f"{plugin.name} needs {record_type.value!r}")
        self._plugins.pop(record_type, None)

    def __iter__(self) -> Iterator[RecordTypePlugin]:
        return iter(self._plugins.values())

    def __contains__(self, record_type: object) -> bool:
        return record_type in self._plugins

    def find(self, record_type: RecordType | str) -> RecordTypePlugin | None:
        try:
            return self._plugins.get(RecordType(record_type))
        except ValueError:
            return None

    def get(self, record_type: RecordType | str) -> RecordTypePlugin:
        plugin = self.find(record_type)
        if plugin is None:
            raise KeyError(f"record type {record_type!s} is not synced (synced: {', '.join(self.names())})")
        return plugin

    def names(self) -> list[str]:
        """The mapping ``record_type`` of every registered type (what `errors`/`status` list)."""
        return [p.name for p in self]

    def enabled(self, settings: ConnectionSettings) -> list[RecordTypePlugin]:
        return [p for p in self if p.enabled(settings)]

    def clio_webhooks(self, settings: ConnectionSettings | None = None) -> list[ClioWebhook]:
        """One webhook per Clio model the (enabled) types need; fields of types sharing a model
        are joined. A delivery is kept off the queue only if every type sharing the model says
        it may be: one type without a ``queue_only_with`` needs every delivery, else a delivery
        carrying any type's field is queued."""
        by_model: dict[str, list[str]] = {}
        only_with: dict[str, list[str] | None] = {}
        for plugin in self if settings is None else self.enabled(settings):
            for hook in plugin.clio_webhooks:
                fields = by_model.setdefault(hook.model, [])
                fields.extend(f for f in hook.fields.split(",") if f not in fields)
                wanted = split_names(hook.queue_only_with)
                known = only_with.get(hook.model, [])
                only_with[hook.model] = None if not wanted or known is None else known + wanted
        return [
            ClioWebhook(model, ",".join(fields), ",".join(dict.fromkeys(only_with[model] or [])))
            for model, fields in by_model.items()
        ]

    def swept(self, source: Source) -> list[RecordTypePlugin]:
        return [p for p in self if source in p.sweep_sources]

    def backfill_order(self) -> list[RecordTypePlugin]:
        """Types with a backfill, parents first."""
        with_phase = [p for p in self if p.backfill_phase is not None]
        return sorted(with_phase, key=lambda p: p.backfill_phase or 0)
