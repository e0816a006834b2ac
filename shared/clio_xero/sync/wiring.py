"""Build the sync worker (and the sweep) from settings: the only place they get AWS and API clients.

Per connection, API clients are built once per container and reused (their httpx connection
pools too); settings are re-read for every record so a `settings set` takes effect at once.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import httpx

from clio_xero.aws.queue import SqsEventPublisher
from clio_xero.clients.clio import ClioClient
from clio_xero.clients.endpoints import ClioEndpoints, XeroEndpoints
from clio_xero.clients.oauth import AuthlibRefresher, TokenManager
from clio_xero.clients.ratelimit import DynamoRateBudget, RateBudget
from clio_xero.clients.tokens import DynamoTokenStore, TokenStore
from clio_xero.clients.xero import XeroClient
from clio_xero.clock import Clock, default_clock
from clio_xero.config import EnvSettings
from clio_xero.errors import ConfigurationError, NotFoundError
from clio_xero.intake.observe import Counter, Log
from clio_xero.store.connections import ConnectionStatus, DynamoConnectionStore
from clio_xero.sync.core import Registry, SyncContext, SyncEngine, default_registry
from clio_xero.sync.mapping import DynamoMappingStore, MappingStore
from clio_xero.sync.settings import DynamoSettingsStore, SettingsStore
from clio_xero.sync.worker import SqsDeadLetters, SyncWorker


class WorkerSettings(EnvSettings):
    """Environment of the worker and sweep functions (set by template.yaml)."""

    table_name: str
    queue_url: str
    dead_letter_queue_url: str
    kms_key_id: str
    config_path: str
    max_receive_count: int = 5
    clio_base_url: str = ""  # empty: the connection's Clio region decides
    xero_api_url: str = "https://api.xero.com"
    xero_identity_url: str = "https://identity.xero.com"
    xero_login_url: str = "https://login.xero.com/identity"
    api_timeout_seconds: float = 10.0  # per HTTP call to Clio or Xero; a timeout is retried


class AppCredentials:
    """OAuth client id/secret per provider from SSM SecureStrings under the config path."""

    def __init__(self, config_path: str, ssm: Any) -> None:
        self._path = config_path.rstrip("/")
        self._ssm = ssm

    @cache  # noqa: B019 - one instance per container; the cache lives as long as it does
    def get(self, provider: str) -> tuple[str, str]:
        names = [f"{self._path}/{provider}/client-id", f"{self._path}/{provider}/client-secret"]
        from clio_xero.aws.errors import aws_errors

        with aws_errors(f"read {provider} app credentials"):
            found = self._ssm.get_parameters(Names=names, WithDecryption=True)
        values = {p["Name"]: p["Value"] for p in found.get("Parameters", [])}
        missing = [n for n in names if n not in values]
        if missing:
            raise ConfigurationError(f"missing SSM parameters {', '.join(missing)} (see README, Deploy)")
        return values[names[0]], values[names[1]]


class ConnectionClients:
    """Builds and caches the Clio and Xero clients of each connection."""

    def __init__(
        self,
        *,
        settings: WorkerSettings,
        connections: DynamoConnectionStore,
        tokens: TokenStore,
        budget: RateBudget,
        credentials: AppCredentials,
        clock: Clock,
        transport: httpx.BaseTransport | None = None,
        on_reconnect_needed: Callable[[str, str], None] | None = None,
    ) -> None:
        self._settings = settings
        self._connections = connections
        self._tokens = tokens
        self._budget = budget
        self._credentials = credentials
        self._clock = clock
        self._transport = transport
        self._on_reconnect_needed = on_reconnect_needed
        self._cache: dict[str, tuple[ClioClient, XeroClient]] = {}

    def _token_manager(self, connection_id: str, provider: str, token_url: str) -> TokenManager:
        client_id, client_secret = self._credentials.get(provider)
        refresher = AuthlibRefresher(
            provider=provider,  # type: ignore[arg-type]
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            transport=self._transport,
            timeout=self._settings.api_timeout_seconds,
            clock=self._clock,
        )
        return TokenManager(
            connection_id=connection_id,
            provider=provider,  # type: ignore[arg-type]
            store=self._tokens,
            refresher=refresher,
            clock=self._clock,
            on_reconnect_needed=self._on_reconnect_needed,
        )

    def for_connection(self, connection_id: str) -> tuple[ClioClient, XeroClient]:
        if connection_id in self._cache:
            return self._cache[connection_id]
        connection = self._connections.get(connection_id)
        if connection is None:
            raise NotFoundError(f"connection {connection_id} does not exist")
        if not connection.xero_tenant_id:
            raise ConfigurationError(f"connection {connection_id} has no Xero organisation yet: finish `connect`")
        s = self._settings
        clio_endpoints = (
            ClioEndpoints(base_url=s.clio_base_url)
            if s.clio_base_url
            else ClioEndpoints.for_region(connection.clio_region.value)
        )
        xero_endpoints = XeroEndpoints(
            api_url=s.xero_api_url, identity_url=s.xero_identity_url, login_url=s.xero_login_url
        )
        clio = ClioClient(
            endpoints=clio_endpoints,
            tokens=self._token_manager(connection_id, "clio", clio_endpoints.token_url),
            budget=self._budget,
            budget_key=connection_id,
            transport=self._transport,
            timeout=s.api_timeout_seconds,
            clock=self._clock,
        )
        xero = XeroClient(
            endpoints=xero_endpoints,
            tenant_id=connection.xero_tenant_id,
            tokens=self._token_manager(connection_id, "xero", xero_endpoints.token_url),
            budget=self._budget,
            transport=self._transport,
            timeout=s.api_timeout_seconds,
            clock=self._clock,
        )
        self._cache[connection_id] = (clio, xero)
        return clio, xero


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
        connections.set_status(connection_id, ConnectionStatus.NEEDS_RECONNECT, f"{provider} refresh failed")

    clients = ConnectionClients(
        settings=settings,
        connections=connections,
        tokens=DynamoTokenStore(settings.table_name, dynamodb, boto3.client("kms"), settings.kms_key_id, clock),
        budget=DynamoRateBudget(settings.table_name, dynamodb, clock),
        credentials=AppCredentials(settings.config_path, boto3.client("ssm")),
        clock=clock,
        transport=transport,
        on_reconnect_needed=reconnect_needed,
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

    from clio_xero.sync.sweep import DynamoCursorStore, Sweep

    clock = default_clock()
    dynamodb = boto3.client("dynamodb")
    connections = DynamoConnectionStore(settings.table_name, dynamodb)
    clients = ConnectionClients(
        settings=settings,
        connections=connections,
        tokens=DynamoTokenStore(settings.table_name, dynamodb, boto3.client("kms"), settings.kms_key_id, clock),
        budget=DynamoRateBudget(settings.table_name, dynamodb, clock),
        credentials=AppCredentials(settings.config_path, boto3.client("ssm")),
        clock=clock,
        transport=transport,
    )
    return Sweep(
        connections=connections,
        clients=clients,
        cursors=DynamoCursorStore(settings.table_name, dynamodb),
        publisher=SqsEventPublisher(settings.queue_url, boto3.client("sqs")),
        clock=clock,
        log=log,
        count=count,
    )
