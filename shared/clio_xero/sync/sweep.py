"""The scheduled sweep: catch changes whose webhooks never arrived.

Every run, per active connection, asks Clio for contacts ``updated_since`` the stored cursor and
Xero for contacts changed since it (``If-Modified-Since``), and queues one hint per changed record:
the worker then does exactly what it does for a webhook. When nothing changed that is two API
calls per connection. Cursors move to the run's start time minus nothing; the query looks back an
extra ``OVERLAP`` to absorb clock skew between us and the providers (a record seen twice is a
no-op for the worker). The first run only sets the cursors: history is the backfill's job.

What it cannot see: deletions (neither API lists deleted contacts since a time); those arrive
only by webhook. See docs/mapping-contacts.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from clio_xero.aws.errors import aws_errors
from clio_xero.aws.queue import EventPublisher
from clio_xero.clock import Clock
from clio_xero.errors import SyncError
from clio_xero.events import Action, RecordType, Source, SyncEvent, dedupe_key
from clio_xero.intake.observe import Counter, Log
from clio_xero.store.connections import Connection, ConnectionStatus
from clio_xero.store.dynamo import connection_pk, from_item, key, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

OVERLAP = timedelta(minutes=5)
SWEEP_FIELDS = "id,etag,updated_at"


class CursorStore(Protocol):
    def get(self, connection_id: str, name: str) -> datetime | None: ...

    def put(self, connection_id: str, name: str, value: datetime) -> None: ...


class DynamoCursorStore:
    def __init__(self, table_name: str, dynamodb: DynamoDBClient) -> None:
        self._table = table_name
        self._ddb = dynamodb

    def get(self, connection_id: str, name: str) -> datetime | None:
        with aws_errors("read sweep cursor"):
            item = self._ddb.get_item(
                TableName=self._table, Key=key(connection_pk(connection_id), f"#CURSOR#{name}"), ConsistentRead=True
            ).get("Item")
        return datetime.fromisoformat(from_item(item)["value"]) if item else None

    def put(self, connection_id: str, name: str, value: datetime) -> None:
        item = {"pk": connection_pk(connection_id), "sk": f"#CURSOR#{name}", "value": value.isoformat()}
        with aws_errors("write sweep cursor"):
            self._ddb.put_item(TableName=self._table, Item=to_item(item))


class SweepClio(Protocol):
    def iter_contacts(self, *, updated_since: datetime | None = ..., fields: str = ...) -> Iterator[dict[str, Any]]: ...


class SweepXero(Protocol):
    def iter_contacts(self, *, modified_since: datetime | None = ...) -> Iterator[dict[str, Any]]: ...


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
    ) -> None:
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

    def sweep_connection(self, connection_id: str) -> tuple[int, bool]:
        started = self._clock.now()
        clio_since = self._cursors.get(connection_id, "clio:contact")
        xero_since = self._cursors.get(connection_id, "xero:contact")
        if clio_since is None or xero_since is None:
            self._cursors.put(connection_id, "clio:contact", started)
            self._cursors.put(connection_id, "xero:contact", started)
            return 0, True
        clio, xero = self._clients.for_connection(connection_id)
        events: list[SyncEvent] = []
        for record in clio.iter_contacts(updated_since=clio_since - OVERLAP, fields=SWEEP_FIELDS):
            events.append(self._event(connection_id, Source.CLIO, str(record["id"]), record.get("etag"), started))
        for contact in xero.iter_contacts(modified_since=xero_since - OVERLAP):
            events.append(
                self._event(
                    connection_id, Source.XERO, str(contact["ContactID"]), contact.get("UpdatedDateUTC"), started
                )
            )
        if events:
            self._publisher.publish(events)
        # Cursors move only after the hints are safely queued.
        self._cursors.put(connection_id, "clio:contact", started)
        self._cursors.put(connection_id, "xero:contact", started)
        return len(events), False

    def _event(self, connection_id: str, source: Source, record_id: str, version: object, now: datetime) -> SyncEvent:
        return SyncEvent(
            connection_id=connection_id,
            source=source,
            record_type=RecordType.CONTACT,
            record_id=record_id,
            action=Action.UPDATED,
            received_at=now,
            # Same record + same version = same key: a sweep repeating itself queues nothing new.
            dedupe_key=dedupe_key("sweep", source.value, connection_id, record_id, version),
        )
