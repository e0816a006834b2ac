"""The operator's side of connecting: create a connection, issue links, disconnect.

Used by ``clio-xero connect`` / ``disconnect`` with the operator's own AWS credentials.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from clio_xero.clients.oauth import AuthlibRefresher, TokenManager
from clio_xero.clients.tokens import Provider, TokenStore
from clio_xero.clock import Clock
from clio_xero.connect.flow import ProviderEndpoints
from clio_xero.connect.links import DEFAULT_LINK_TTL, mint_link
from clio_xero.connect.providers import XeroIdentity, clio_deauthorize
from clio_xero.errors import NeedsReconnectError, SyncError
from clio_xero.store.connections import (
    ClioRegion,
    Connection,
    ConnectionStatus,
    DynamoConnectionStore,
    new_connection_id,
)

log = logging.getLogger(__name__)
PROVIDERS: tuple[Provider, ...] = ("clio", "xero")


@dataclass(frozen=True)
class ConnectLinks:
    connection_id: str
    urls: dict[str, str]
    expires_at: datetime


def create_connection(
    connections: DynamoConnectionStore, *, name: str, region: ClioRegion, now: datetime
) -> Connection:
    connection = Connection(
        connection_id=new_connection_id(),
        name=name,
        status=ConnectionStatus.PENDING,
        clio_region=region,
        created_at=now,
    )
    connections.put_new(connection)
    return connection


def issue_links(
    key_bytes: bytes,
    *,
    connection_id: str,
    api_url: str,
    now: datetime,
    ttl: timedelta = DEFAULT_LINK_TTL,
    providers: tuple[Provider, ...] = PROVIDERS,
) -> ConnectLinks:
    urls: dict[str, str] = {}
    expires = now
    for provider in providers:
        token, link = mint_link(key_bytes, connection_id=connection_id, provider=provider, now=now, ttl=ttl)
        urls[provider] = f"{api_url.rstrip('/')}/connect/{provider}?{urllib.parse.urlencode({'link': token})}"
        expires = link.expires_at
    return ConnectLinks(connection_id, urls, expires)


@dataclass
class DisconnectReport:
    connection_id: str
    done: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    mappings_deleted: int = 0


class Disconnector:
    """Revoke both grants, delete the tokens, keep (or purge) the mappings."""

    def __init__(
        self,
        *,
        connections: DynamoConnectionStore,
        tokens: TokenStore,
        purge_mappings: Callable[[str], int],
        credentials: Any,
        endpoints: ProviderEndpoints,
        clock: Clock,
        transport: httpx.BaseTransport | None = None,
        remove_clio_webhooks: Callable[[Connection, str], list[str]] | None = None,
    ) -> None:
        self._purge_mappings = purge_mappings
        self._connections = connections
        self._tokens = tokens
        self._credentials = credentials
        self._endpoints = endpoints
        self._clock = clock
        self._transport = transport
        self._remove_clio_webhooks = remove_clio_webhooks

    def _access_token(self, connection: Connection, provider: Provider) -> str | None:
        """A live access token (refreshed if needed), or None when the grant is already dead."""
        try:
            if self._tokens.load(connection.connection_id, provider) is None:
                return None
            client_id, client_secret = self._credentials.get(provider)
            token_url = (
                self._endpoints.clio(connection).token_url if provider == "clio" else self._endpoints.xero.token_url
            )
            manager = TokenManager(
                connection_id=connection.connection_id,
                provider=provider,
                store=self._tokens,
                clock=self._clock,
                refresher=AuthlibRefresher(
                    provider=provider,
                    token_url=token_url,
                    client_id=client_id,
                    client_secret=client_secret,
                    transport=self._transport,
                    clock=self._clock,
                ),
            )
            return manager.access_token()
        except NeedsReconnectError:
            return None

    def disconnect(self, connection: Connection, *, purge: bool = False) -> DisconnectReport:
        report = DisconnectReport(connection.connection_id)
        cid = connection.connection_id
        clio_token = self._access_token(connection, "clio")
        if clio_token and self._remove_clio_webhooks is not None:
            try:
                report.done += self._remove_clio_webhooks(connection, clio_token)
            except SyncError as exc:
                report.warnings.append(f"Clio webhooks not removed: {exc.message}")
        if clio_token:
            try:
                revoked = clio_deauthorize(self._endpoints.clio(connection), clio_token, self._transport)
                report.done.append("Clio access revoked" if revoked else "Clio access was already revoked")
            except SyncError as exc:
                report.warnings.append(f"Clio deauthorize failed: {exc.message} (revoke the app in Clio's settings)")
        else:
            report.warnings.append("no live Clio tokens: nothing to revoke at Clio")
        xero_token = self._access_token(connection, "xero")
        if xero_token and connection.xero_tenant_id:
            report.done += self._disconnect_xero(connection, xero_token, report)
        elif not xero_token:
            report.warnings.append("no live Xero tokens: nothing to disconnect at Xero")
        for provider in PROVIDERS:
            self._tokens.delete(cid, provider)
        report.done.append("tokens deleted")
        if purge:
            report.mappings_deleted = self._purge_mappings(cid)
            report.done.append(f"{report.mappings_deleted} mapping items deleted")
        else:
            report.done.append("mappings kept for a later reconnect")
        self._connections.set_status(cid, ConnectionStatus.DISCONNECTED, "disconnected by the operator")
        return report

    def _disconnect_xero(self, connection: Connection, token: str, report: DisconnectReport) -> list[str]:
        identity = XeroIdentity(self._endpoints.xero, self._transport)
        try:
            xero_connection_id = next(
                (
                    t.connection_id
                    for t in identity.tenants(token)
                    if t.tenant_id.lower() == (connection.xero_tenant_id or "").lower()
                ),
                None,
            )
            if xero_connection_id is None:
                return ["Xero organisation was already disconnected"]
            identity.disconnect(token, xero_connection_id)
        except SyncError as exc:
            report.warnings.append(f"Xero disconnect failed: {exc.message} (disconnect the app in Xero's settings)")
            return []
        return [f"Xero organisation {connection.xero_tenant_name or connection.xero_tenant_id} disconnected"]
