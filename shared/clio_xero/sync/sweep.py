"""The scheduled sweep: catch changes whose webhooks never arrived.

Every run, per active connection and per registered record type that lists its changes
(:attr:`~clio_xero.sync.core.RecordTypePlugin.sweep_sources`; contacts: both sides), asks the
plug-in for what changed on each side since that side's cursor (Clio ``updated_since``, Xero
``If-Modified-Since``, through the clients' ``iter_records``), and queues one hint per changed
record: the worker then does exactly what it does for a webhook. When nothing changed that is one
API call per side and type. Cursors move to the run's start time minus nothing; the query looks back an
extra ``OVERLAP`` to absorb clock skew between us and the providers (a record seen twice is a
no-op for the worker). The first run only sets the cursors: history is the backfill's job.

What it cannot see: deletions (neither API lists deleted contacts since a time); those arrive
only by webhook. See docs/mapping-contacts.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from clio_xero.aws.queue import EventPublisher
from clio_xero.clock import Clock
from clio_xero.errors import SyncError
from clio_xero.events import Action, RecordType, Source, SyncEvent, dedupe_key
from clio_xero.observe import Counter, Log
from clio_xero.store.connections import Connection, ConnectionStatus
from clio_xero.sync.core import RecordTypePlugin, Registry
from clio_xero.sync.record_types import default_registry
from clio_xero.sync.settings import SettingsStore

OVERLAP = timedelta(minutes=5)


def _type_part(record_type: RecordType) -> tuple[str, ...]:
    # Contacts' sweep keys predate record types; keep them, so a redeploy re-queues nothing.
    return () if record_type is RecordType.CONTACT else (record_type.value,)


class CursorStore(Protocol):
    def get(self, connection_id: str, name: str) -> datetime | None: ...

    def put(self, connection_id: str, name: str, value: datetime) -> None: ...


class ClientSource(Protocol):
    def for_connection(self, connection_id: str) -> tuple[Any, Any]: ...


class ConnectionList(Protocol):
    def list_all(self) -> list[Connection]: ...


@dataclass
class SweepReport:
    connections: int = 0
    queued: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    first_runs: int = 0


class Sweep:
    def __init__(
        self,
        *,
        connections: ConnectionList,
        clients: ClientSource,
        cursors: CursorStore,
        publisher: EventPublisher,
        clock: Clock,
        log: Log,
        count: Counter,
        registry: Registry | None = None,
        settings: SettingsStore | None = None,
    ) -> None:
        self._registry = registry or default_registry()
        self._settings = settings
        self._connections = connections
        self._clients = clients
        self._cursors = cursors
        self._publisher = publisher
        self._clock = clock
        self._log = log
        self._count = count

    def run(self) -> SweepReport:
        report = SweepReport()
        for connection in self._connections.list_all():
            if connection.status is not ConnectionStatus.ACTIVE or not connection.xero_tenant_id:
                continue
            report.connections += 1
            try:
                queued, first = self.sweep_connection(connection.connection_id)
            except SyncError as exc:
                # One broken connection must not stop the others; it is retried next run.
                report.failed[connection.connection_id] = exc.message
                self._log.error(
                    "sweep failed", extra={"connection_id": connection.connection_id, "reason": exc.message}
                )
                self._count("SweepFailures")
                continue
            report.queued += queued
            report.first_runs += int(first)
        self._count("SweepQueued", report.queued)
        return report

    def _cursors_of(self, connection_id: str) -> list[tuple[RecordTypePlugin, Source, str]]:
        """The (plug-in, side, cursor) to sweep: types the connection switches off are skipped, no
        API call spent on them, and their cursors wait where they are until they are on again."""
        plugins = list(self._registry)
        if self._settings is not None:
            plugins = self._registry.enabled(self._settings.get(connection_id))
        return [(p, source, p.sweep_cursor(source)) for p in plugins for source in p.sweep_sources]

    def sweep_connection(self, connection_id: str) -> tuple[int, bool]:
        started = self._clock.now()
        cursors = self._cursors_of(connection_id)
        if not cursors:
            return 0, False
        since = {name: self._cursors.get(connection_id, name) for _, _, name in cursors}
        fresh = [name for name, value in since.items() if value is None]
        for name in fresh:
            self._cursors.put(connection_id, name, started)
        if len(fresh) == len(cursors):
            return 0, True
        clio, xero = self._clients.for_connection(connection_id)
        events: list[SyncEvent] = []
        for plugin, source, name in cursors:
            cursor = since[name]
            if cursor is None:
                continue  # a type registered since the last run starts from now (history: backfill)
            for record_id, version in plugin.changed_since(clio, xero, source, cursor - OVERLAP):
                events.append(
                    self._event(connection_id, plugin.record_type, source, record_id, version=version, now=started)
                )
        if events:
            self._publisher.publish(events)
        # Cursors move only after the hints are safely queued.
        for _, _, name in cursors:
            if since[name] is not None:
                self._cursors.put(connection_id, name, started)
        return len(events), False

    @staticmethod
    def _event(
        connection_id: str, record_type: RecordType, source: Source, record_id: str, *, version: object, now: datetime
    ) -> SyncEvent:
        return SyncEvent(
            connection_id=connection_id,
            source=source,
            record_type=record_type,
            record_id=record_id,
            action=Action.UPDATED,
            received_at=now,
            # Same record + same version = same key: a sweep repeating itself queues nothing new.
            dedupe_key=dedupe_key("sweep", source.value, *_type_part(record_type), connection_id, record_id, version),
        )
