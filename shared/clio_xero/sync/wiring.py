"""Build the sync worker (and the sweep) from their environment.

Connection clients come from the one wiring place (:mod:`clio_xero.wiring`); the engine runs the
registered record types (:mod:`clio_xero.sync.core`). Settings are re-read for every record so a
`settings set` takes effect at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from clio_xero.aws.queue import SqsEventPublisher
from clio_xero.clock import Clock, default_clock
from clio_xero.observe import Counter, Log
from clio_xero.store.connections import ConnectionStatus, DynamoConnectionStore
from clio_xero.store.mappings import DynamoMappingStore
from clio_xero.store.settings import DynamoSettingsStore
from clio_xero.sync.core import Registry, SyncContext, SyncEngine
from clio_xero.sync.mapping import MappingStore
from clio_xero.sync.record_types import default_registry
from clio_xero.sync.settings import SettingsStore
from clio_xero.sync.worker import SqsDeadLetters, SyncWorker
from clio_xero.wiring import ConnectionClients, ProviderUrls, connection_clients


class WorkerSettings(ProviderUrls):
    """Environment of the worker and sweep functions (set by template.yaml)."""

    table_name: str
    queue_url: str
    dead_letter_queue_url: str
    kms_key_id: str
    config_path: str
    max_receive_count: int = 5
    api_timeout_seconds: float = 10.0  # per HTTP call to Clio or Xero; a timeout is retried

    def clients(
        self,
        *,
        dynamodb: Any,
        clock: Clock,
        transport: httpx.BaseTransport | None,
        on_reconnect_needed: Callable[[str, str], None] | None = None,
    ) -> ConnectionClients:
        import boto3

        return connection_clients(
            table_name=self.table_name,
            kms_key_id=self.kms_key_id,
            config_path=self.config_path,
            urls=self.only(),
            dynamodb=dynamodb,
            kms=boto3.client("kms"),
            ssm=boto3.client("ssm"),
            clock=clock,
            transport=transport,
            timeout_seconds=self.api_timeout_seconds,
            on_reconnect_needed=on_reconnect_needed,
        )


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
    import boto3

    clock = default_clock()
    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    connections = DynamoConnectionStore(settings.table_name, dynamodb)
    mappings = DynamoMappingStore(settings.table_name, dynamodb)

    def reconnect_needed(connection_id: str, provider: str) -> None:
        log.error("connection needs reconnecting", extra={"connection_id": connection_id, "provider": provider})
        count("TokenRefreshFailures")

    clients = settings.clients(
        dynamodb=dynamodb, clock=clock, transport=transport, on_reconnect_needed=reconnect_needed
    )
    worker = SyncWorker(
        engine=sync_engine(clients, mappings, DynamoSettingsStore(settings.table_name, dynamodb), clock),
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
    import boto3

    from clio_xero.store.cursors import DynamoCursorStore
    from clio_xero.sync.sweep import Sweep

    clock = default_clock()
    dynamodb = boto3.client("dynamodb")
    return Sweep(
        connections=DynamoConnectionStore(settings.table_name, dynamodb),
        clients=settings.clients(dynamodb=dynamodb, clock=clock, transport=transport),
        settings=DynamoSettingsStore(settings.table_name, dynamodb),
        cursors=DynamoCursorStore(settings.table_name, dynamodb),
        publisher=SqsEventPublisher(settings.queue_url, boto3.client("sqs")),
        clock=clock,
        log=log,
        count=count,
    )
