"""The daily check of every active connection: renew Clio webhooks, notice dead Xero links.

Run by ``WebhookRenewalFunction`` (``rate(1 day)``). Per active connection:

1. Xero: ``GET /connections`` with the connection's token. If its organisation is no longer
   listed (someone disconnected the app inside Xero), or the token is dead, the connection is
   marked ``needs_reconnect`` with the reason: ``clio-xero connect --connection <id>`` fixes it.
2. Clio: :meth:`WebhookManager.ensure` at the recorded URLs: renew when fewer than 7 days are left,
   recreate missing or suspended webhooks, record the results (``webhooks status`` shows them).

Time comes from :func:`clio_xero.clock.default_clock`: the wall clock in Lambda, the local
runtime's clock when hosted there (tests move it together with the sandboxes').
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from clio_xero.clock import Clock, default_clock
from clio_xero.errors import NeedsReconnectError, SyncError
from clio_xero.observe import Counter, Log
from clio_xero.store.connections import Connection, ConnectionStatus, DynamoConnectionStore
from clio_xero.store.settings import DynamoSettingsStore
from clio_xero.store.webhook_secrets import KmsDynamoWebhookSecrets
from clio_xero.sync.record_types import default_registry
from clio_xero.sync.settings import SettingsStore
from clio_xero.webhooks.registration import (
    ClioClientWebhooks,
    DynamoWebhookRecords,
    WebhookManager,
    WebhookRecord,
    webhook_specs,
)
from clio_xero.wiring import ConnectionClients, ProviderUrls, connection_clients

XERO_TENANT_GONE = "xero: the organisation was disconnected from this app in Xero"


class RenewalSettings(ProviderUrls):
    """Environment of ``WebhookRenewalFunction`` (set by template.yaml)."""

    table_name: str
    kms_key_id: str
    config_path: str


@dataclass
class ConnectionCheck:
    connection_id: str
    webhooks: list[WebhookRecord] = field(default_factory=list)
    needs_reconnect: str | None = None
    error: str | None = None


@dataclass
class Services:
    """The AWS-backed pieces one run needs (built once per container, or by the CLI)."""

    connections: DynamoConnectionStore
    clients: ConnectionClients
    records: DynamoWebhookRecords
    secrets: KmsDynamoWebhookSecrets
    settings: SettingsStore

    def manager(self, connection_id: str) -> WebhookManager:
        clio, _ = self.clients.for_connection(connection_id)
        return WebhookManager(
            connection_id=connection_id,
            api=ClioClientWebhooks(clio),
            records=self.records,
            secrets=self.secrets,
            # The models the record types switched on for this connection need.
            specs=webhook_specs(default_registry(), self.settings.get(connection_id)),
        )


def build_services(
    *,
    table_name: str,
    kms_key_id: str,
    config_path: str,
    urls: ProviderUrls,
    dynamodb: Any,
    kms: Any,
    ssm: Any,
    clock: Clock,
    transport: httpx.BaseTransport | None = None,
    log: Log | None = None,
) -> Services:
    def reconnect_needed(connection_id: str, provider: str) -> None:
        if log is not None:
            log.error("connection needs reconnecting", extra={"connection_id": connection_id, "provider": provider})

    clients = connection_clients(
        table_name=table_name,
        kms_key_id=kms_key_id,
        config_path=config_path,
        urls=urls,
        dynamodb=dynamodb,
        kms=kms,
        ssm=ssm,
        clock=clock,
        transport=transport,
        on_reconnect_needed=reconnect_needed,
    )
    connections = DynamoConnectionStore(table_name, dynamodb)
    return Services(
        connections=connections,
        clients=clients,
        records=DynamoWebhookRecords(table_name, dynamodb),
        secrets=KmsDynamoWebhookSecrets(table_name, dynamodb, kms, kms_key_id, clock),
        settings=DynamoSettingsStore(table_name, dynamodb),
    )


def check_xero(services: Services, connection: Connection) -> str | None:
    """Why the connection's Xero side needs reconnecting, or None when it is fine."""
    try:
        _, xero = services.clients.for_connection(connection.connection_id)
        tenants = {str(c.get("tenantId", "")).lower() for c in xero.connections()}
    except NeedsReconnectError as exc:
        return f"xero: {exc.message}"
    if (connection.xero_tenant_id or "").lower() not in tenants:
        return XERO_TENANT_GONE
    return None


def renew_all(services: Services, now: datetime, *, log: Log, count: Counter) -> list[ConnectionCheck]:
    checks = []
    for connection in services.connections.list_all():
        if connection.status is not ConnectionStatus.ACTIVE:
            continue
        check = ConnectionCheck(connection.connection_id)
        checks.append(check)
        try:
            check.needs_reconnect = check_xero(services, connection)
            if check.needs_reconnect:
                services.connections.set_status(
                    connection.connection_id, ConnectionStatus.NEEDS_RECONNECT, check.needs_reconnect
                )
                count("NeedsReconnect")
                log.error("connection needs reconnecting", extra={"connection_id": connection.connection_id})
            check.webhooks = services.manager(connection.connection_id).ensure(now)
        except NeedsReconnectError as exc:
            check.needs_reconnect = exc.message
            count("NeedsReconnect")
        except SyncError as exc:
            check.error = exc.message
            log.error(
                "webhook renewal failed", extra={"connection_id": connection.connection_id, "reason": exc.message}
            )
            count("WebhookRenewalFailures")
        for record in check.webhooks:
            count(f"Webhooks_{record.action}")
    return checks


def build_renewal(settings: RenewalSettings, *, log: Log, clock: Clock | None = None) -> Services:
    import boto3

    return build_services(
        table_name=settings.table_name,
        kms_key_id=settings.kms_key_id,
        config_path=settings.config_path,
        urls=settings.only(),
        dynamodb=boto3.client("dynamodb"),
        kms=boto3.client("kms"),
        ssm=boto3.client("ssm"),
        clock=clock or default_clock(),
        log=log,
    )


def summary(checks: list[ConnectionCheck]) -> dict[str, Any]:
    actions: dict[str, int] = {}
    for check in checks:
        for record in check.webhooks:
            actions[record.action] = actions.get(record.action, 0) + 1
    return {
        "connections": len(checks),
        "webhooks": actions,
        "needs_reconnect": [c.connection_id for c in checks if c.needs_reconnect],
        "errors": {c.connection_id: c.error for c in checks if c.error},
    }
