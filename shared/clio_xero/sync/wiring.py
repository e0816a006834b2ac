"""Build the sync worker (and the sweep) from their environment.

Connection clients come from the one wiring place (:mod:`clio_xero.wiring`); the engine runs the
registered record types (:mod:`clio_xero.sync.core`). Settings are re-read for every record so a
`settings set` takes effect on the next record; the reads are eventually consistent (half the read
units; docs/cost.md#the-settings-item), so "next" means one that starts a moment after the write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from clio_xero.aws.clients import aws_client
from clio_xero.aws.queue import SqsDeadLetters, SqsEventPublisher
from clio_xero.clock import Clock, default_clock
from clio_xero.observe import Counter, Log
from clio_xero.store.connections import ConnectionStatus, DynamoConnectionStore
from clio_xero.store.mappings import DynamoMappingStore
from clio_xero.store.settings import DynamoSettingsStore
from clio_xero.sync.core import Registry, SyncContext, SyncEngine
from clio_xero.sync.mapping import MappingStore
from clio_xero.sync.record_types import default_registry
from clio_xero.sync.settings import SettingsStore
from clio_xero.sync.worker import SyncWorker
from clio_xero.wiring import ConnectionClients, StackSettings


class WorkerSettings(StackSettings):
    """Environment of the worker and sweep functions (set by template.yaml)."""

    queue_url: str
    dead_letter_queue_url: str
    max_receive_count: int = 5

    def clients(
        self,
        *,
        dynamodb: Any,
        clock: Clock,
        transport: httpx.BaseTransport | None,
        on_reconnect_needed: Callable[[str, str], None] | None = None,
    ) -> ConnectionClients:
        stack = self.stack(clock=clock, dynamodb=dynamodb, transport=transport)
        return stack.connection_clients(on_reconnect_needed)


def sync_engine(
    clients: ConnectionClients,
    mappings: MappingStore,
    settings_store: SettingsStore,
    clock: Clock,
    registry: Registry | None = None,
) -> SyncEngine:
    """The engine over the registered record types; settings are re-read for every record."""

    def context(connection_id: str) -> SyncContext:
        return SyncContext(
            connection_id=connection_id,
            mappings=mappings,
            settings=settings_store.get(connection_id),
            clock=clock,
            apis=lambda: clients.for_connection(connection_id),
        )

    return SyncEngine(registry=registry or default_registry(), contexts=context)


def build_worker(
    settings: WorkerSettings, *, log: Log, count: Counter, transport: httpx.BaseTransport | None = None
) -> tuple[SyncWorker, Any]:
    """The worker and the SQS client its Lambda entry uses to delay throttled messages."""
    clock = default_clock()
    dynamodb, sqs = aws_client("dynamodb"), aws_client("sqs")
    connections = DynamoConnectionStore(settings.table_name, dynamodb)
    mappings = DynamoMappingStore(settings.table_name, dynamodb)

    def reconnect_needed(connection_id: str, provider: str) -> None:
        log.error("connection needs reconnecting", extra={"connection_id": connection_id, "provider": provider})
        count("TokenRefreshFailures")

    clients = settings.clients(
        dynamodb=dynamodb, clock=clock, transport=transport, on_reconnect_needed=reconnect_needed
    )
    worker = SyncWorker(
        engine=sync_engine(
            clients, mappings, DynamoSettingsStore(settings.table_name, dynamodb, consistent=False), clock
        ),
        mappings=mappings,
        dead_letters=SqsDeadLetters(settings.dead_letter_queue_url, sqs),
        requeue=SqsEventPublisher(settings.queue_url, sqs),
        on_needs_reconnect=lambda connection_id, why: connections.set_status(
            connection_id, ConnectionStatus.NEEDS_RECONNECT, why
        ),
        clock=clock,
        log=log,
        count=count,
        max_receive_count=settings.max_receive_count,
    )
    return worker, sqs


def build_sweep(
    settings: WorkerSettings, *, log: Log, count: Counter, transport: httpx.BaseTransport | None = None
) -> Any:
    """The scheduled sweep (clio_xero.sync.sweep), wired like the worker."""
    from clio_xero.store.cursors import DynamoCursorStore
    from clio_xero.sync.sweep import Sweep

    clock = default_clock()
    dynamodb = aws_client("dynamodb")
    return Sweep(
        connections=DynamoConnectionStore(settings.table_name, dynamodb),
        clients=settings.clients(dynamodb=dynamodb, clock=clock, transport=transport),
        settings=DynamoSettingsStore(settings.table_name, dynamodb, consistent=False),
        cursors=DynamoCursorStore(settings.table_name, dynamodb),
        publisher=SqsEventPublisher(settings.queue_url, aws_client("sqs")),
        clock=clock,
        log=log,
        count=count,
    )
