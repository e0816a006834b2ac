"""The one wiring place for what several functions and the CLI share: where the providers live,
the app's OAuth credentials, and each connection's API clients.

The worker and the sweep (:mod:`clio_xero.sync.wiring`), the connect flow, the webhook renewal and
the CLI all build their clients here, from a :class:`Stack` (the table, key and parameters and the
AWS clients that reach them), so there is one way to get a connection's Clio and Xero clients
(tokens, shared rate budget, reconnect handling). boto3 clients come from :mod:`clio_xero.aws.clients`.

Per connection, API clients are built once per container and reused (their httpx connection pools
too).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from clio_xero.aws.parameters import AppCredentials
from clio_xero.clients.clio import ClioClient
from clio_xero.clients.endpoints import ClioEndpoints, XeroEndpoints
from clio_xero.clients.oauth import AuthlibRefresher, TokenManager
from clio_xero.clients.ratelimit import RateBudget
from clio_xero.clients.tokens import TokenStore
from clio_xero.clients.xero import XeroClient
from clio_xero.clock import Clock
from clio_xero.config import EnvSettings
from clio_xero.errors import ConfigurationError, NotFoundError
from clio_xero.store.connections import ConnectionStatus, DynamoConnectionStore
from clio_xero.store.rate_budget import WORKER_BLOCKED_RECHECK_SECONDS, WORKER_LEASE, DynamoRateBudget
from clio_xero.store.tokens import DynamoTokenStore

__all__ = ["AppCredentials", "ConnectionClients", "ProviderUrls", "Stack", "StackSettings", "connection_clients"]

_XERO = XeroEndpoints()

#: How long a container hands out the access token it last read before reading the token item again
#: (docs/cost.md#the-token-item). A 401 re-reads at once and every refresh re-reads under the lease;
#: the bound only limits how long a container keeps a token the store replaced meanwhile.
TOKEN_RECHECK_SECONDS = 60.0


class ProviderUrls(EnvSettings):
    """Where Clio and Xero live (template parameters ``ClioBaseUrl``, ``XeroApiUrl``,
    ``XeroIdentityUrl``, ``XeroLoginUrl``; the sandboxes in local runs). Declared once; every
    function's settings that talk to a provider extend it."""

    clio_base_url: str = ""  # empty: the connection's Clio region decides
    xero_api_url: str = _XERO.api_url
    xero_identity_url: str = _XERO.identity_url
    xero_login_url: str = _XERO.login_url

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, str]) -> ProviderUrls:
        """From a deployed stack's parameters (an empty parameter keeps the default)."""
        names = {
            "ClioBaseUrl": "clio_base_url",
            "XeroApiUrl": "xero_api_url",
            "XeroIdentityUrl": "xero_identity_url",
            "XeroLoginUrl": "xero_login_url",
        }
        return cls.model_validate({field: parameters[p] for p, field in names.items() if parameters.get(p)})

    def only(self) -> ProviderUrls:
        """Just the URLs (for callers holding a function's wider settings)."""
        return ProviderUrls.model_validate(self.model_dump(include=set(ProviderUrls.model_fields)))

    def clio_endpoints(self, region: str) -> ClioEndpoints:
        return ClioEndpoints(self.clio_base_url) if self.clio_base_url else ClioEndpoints.for_region(region)

    def xero_endpoints(self) -> XeroEndpoints:
        return XeroEndpoints(
            api_url=self.xero_api_url, identity_url=self.xero_identity_url, login_url=self.xero_login_url
        )


class ConnectionClients:
    """Builds and caches the Clio and Xero clients of each connection."""

    def __init__(
        self,
        *,
        urls: ProviderUrls,
        connections: DynamoConnectionStore,
        tokens: TokenStore,
        budget: RateBudget,
        credentials: AppCredentials,
        clock: Clock,
        transport: httpx.BaseTransport | None = None,
        on_reconnect_needed: Callable[[str, str], None] | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._urls = urls
        self._timeout = timeout_seconds
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
            timeout=self._timeout,
            clock=self._clock,
        )
        return TokenManager(
            connection_id=connection_id,
            provider=provider,  # type: ignore[arg-type]
            store=self._tokens,
            refresher=refresher,
            clock=self._clock,
            on_reconnect_needed=self._on_reconnect_needed,
            recheck_seconds=TOKEN_RECHECK_SECONDS,
        )

    def for_connection(self, connection_id: str) -> tuple[ClioClient, XeroClient]:
        if connection_id in self._cache:
            return self._cache[connection_id]
        connection = self._connections.get(connection_id)
        if connection is None:
            raise NotFoundError(f"connection {connection_id} does not exist")
        if not connection.xero_tenant_id:
            raise ConfigurationError(f"connection {connection_id} has no Xero organisation yet: finish `connect`")
        clio_endpoints = self._urls.clio_endpoints(connection.clio_region.value)
        xero_endpoints = self._urls.xero_endpoints()
        clio = ClioClient(
            endpoints=clio_endpoints,
            tokens=self._token_manager(connection_id, "clio", clio_endpoints.token_url),
            budget=self._budget,
            budget_key=connection_id,
            transport=self._transport,
            timeout=self._timeout,
            clock=self._clock,
        )
        xero = XeroClient(
            endpoints=xero_endpoints,
            tenant_id=connection.xero_tenant_id,
            tokens=self._token_manager(connection_id, "xero", xero_endpoints.token_url),
            budget=self._budget,
            transport=self._transport,
            timeout=self._timeout,
            clock=self._clock,
        )
        self._cache[connection_id] = (clio, xero)
        return clio, xero


@dataclass(frozen=True)
class Stack:
    """The stack's state (table, key, parameters) and the AWS clients that reach it: what every
    function acting for connections is built from (:meth:`StackSettings.stack` in Lambda, the
    CLI's stack context in tooling)."""

    table_name: str
    kms_key_id: str
    config_path: str
    urls: ProviderUrls
    dynamodb: Any
    kms: Any
    ssm: Any
    clock: Clock
    transport: httpx.BaseTransport | None = None
    timeout_seconds: float = 10.0

    def connections(self) -> DynamoConnectionStore:
        return DynamoConnectionStore(self.table_name, self.dynamodb)

    def connection_clients(self, on_reconnect_needed: Callable[[str, str], None] | None = None) -> ConnectionClients:
        """Every connection's clients over the stack's table (tokens, shared budget) and SSM
        credentials. A grant that cannot be refreshed marks the connection "needs reconnect" and
        then calls ``on_reconnect_needed`` (logs, metrics)."""
        connections = self.connections()

        def reconnect_needed(connection_id: str, provider: str) -> None:
            connections.set_status(connection_id, ConnectionStatus.NEEDS_RECONNECT, f"{provider} refresh failed")
            if on_reconnect_needed is not None:
                on_reconnect_needed(connection_id, provider)

        return ConnectionClients(
            urls=self.urls,
            connections=connections,
            tokens=DynamoTokenStore(self.table_name, self.dynamodb, self.kms, self.kms_key_id, self.clock),
            budget=DynamoRateBudget(
                self.table_name,
                self.dynamodb,
                self.clock,
                lease=WORKER_LEASE,
                blocked_recheck_seconds=WORKER_BLOCKED_RECHECK_SECONDS,
            ),
            credentials=AppCredentials(self.config_path, self.ssm),
            clock=self.clock,
            transport=self.transport,
            on_reconnect_needed=reconnect_needed,
            timeout_seconds=self.timeout_seconds,
        )


class StackSettings(ProviderUrls):
    """Environment of a function that acts for connections (set by template.yaml)."""

    table_name: str
    kms_key_id: str
    config_path: str
    api_timeout_seconds: float = 10.0  # per HTTP call to Clio or Xero; a timeout is retried

    def stack(self, *, clock: Clock, dynamodb: Any = None, transport: httpx.BaseTransport | None = None) -> Stack:
        """The stack over boto3 clients with Lambda's defaults (``dynamodb`` to share one)."""
        from clio_xero.aws.clients import aws_client

        return Stack(
            table_name=self.table_name,
            kms_key_id=self.kms_key_id,
            config_path=self.config_path,
            urls=self.only(),
            dynamodb=dynamodb if dynamodb is not None else aws_client("dynamodb"),
            kms=aws_client("kms"),
            ssm=aws_client("ssm"),
            clock=clock,
            transport=transport,
            timeout_seconds=self.api_timeout_seconds,
        )


def connection_clients(
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
    timeout_seconds: float = 10.0,
    on_reconnect_needed: Callable[[str, str], None] | None = None,
) -> ConnectionClients:
    """:meth:`Stack.connection_clients` for callers holding the pieces one by one."""
    stack = Stack(
        table_name=table_name,
        kms_key_id=kms_key_id,
        config_path=config_path,
        urls=urls,
        dynamodb=dynamodb,
        kms=kms,
        ssm=ssm,
        clock=clock,
        transport=transport,
        timeout_seconds=timeout_seconds,
    )
    return stack.connection_clients(on_reconnect_needed)
