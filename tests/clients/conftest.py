"""Fixtures for the API clients: both sandboxes in-process, token managers, moto for DynamoDB/KMS."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest

from clio_xero.clients import (
    AuthlibRefresher,
    ClioClient,
    ClioEndpoints,
    InMemoryRateBudget,
    InMemoryTokenStore,
    RateBudget,
    TokenManager,
    TokenStore,
    XeroClient,
    XeroEndpoints,
)
from clio_xero.clients.oauth import token_set_from_response
from clio_xero.clock import ManualClock
from clio_xero_tools.local.cfn_yaml import load_template
from clio_xero_tools.local.moto_server import AtomicMotoServer
from clio_xero_tools.local.stack import create_table_args
from clio_xero_tools.local.template import SamTemplate
from clio_xero_tools.sandbox._base import wsgi_transport
from clio_xero_tools.sandbox.clio import ClioSandbox
from clio_xero_tools.sandbox.xero import XeroSandbox
from clio_xero_tools.sandbox.xero.store import Org
from tests.conftest import ROOT, TEMPLATE

CREDS = {"aws_access_key_id": "local", "aws_secret_access_key": "local", "region_name": "us-east-1"}
XERO_CLIENT = ("xero-sandbox-client", "xero-sandbox-secret")
CLIO_CLIENT = ("clio-sandbox-client", "clio-sandbox-secret")


def no_wait(seconds: float) -> None:
    """A ``wait`` that returns at once (tests that do not exercise waiting)."""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


# ---------------------------------------------------------------------------- Xero


@dataclass
class XeroWorld:
    """A Xero sandbox with one org, tokens stored for connection ``conn-x``, and a client factory."""

    clock: ManualClock
    sandbox: XeroSandbox
    org: Org
    store: TokenStore
    transport: httpx.BaseTransport
    endpoints: XeroEndpoints
    reconnects: list[tuple[str, str]]

    def refresher(self) -> AuthlibRefresher:
        return AuthlibRefresher(
            provider="xero",
            token_url=self.endpoints.token_url,
            client_id=XERO_CLIENT[0],
            client_secret=XERO_CLIENT[1],
            transport=self.transport,
            clock=self.clock,
        )

    def manager(self, **kwargs: Any) -> TokenManager:
        options: dict[str, Any] = {
            "connection_id": "conn-x",
            "provider": "xero",
            "store": self.store,
            "refresher": self.refresher(),
            "clock": self.clock,
            "on_reconnect_needed": lambda c, p: self.reconnects.append((c, p)),
            "wait": no_wait,
        }
        options.update(kwargs)
        return TokenManager(**options)

    def client(self, *, budget: RateBudget | None = None, manager: TokenManager | None = None) -> XeroClient:
        return XeroClient(
            endpoints=self.endpoints,
            tenant_id=self.org.organisation_id,
            tokens=manager or self.manager(),
            budget=budget if budget is not None else InMemoryRateBudget(self.clock),
            transport=self.transport,
        )

    def token_calls(self) -> int:
        return len(self.sandbox.request_log.entries(path_prefix="/connect/token"))


def make_xero_world(clock: ManualClock, store: TokenStore | None = None, **sandbox_kwargs: Any) -> XeroWorld:
    sandbox = XeroSandbox(clock=clock, validate_responses=True, **sandbox_kwargs)
    org = sandbox.create_organisation("Demo Law")
    store = store or InMemoryTokenStore(clock)
    store.save("conn-x", "xero", token_set_from_response(sandbox.issue_tokens([org.organisation_id]), clock),
               expected_version=None)  # fmt: skip
    transport = wsgi_transport(sandbox.wsgi_app)
    return XeroWorld(clock, sandbox, org, store, transport, XeroEndpoints.sandbox("http://xero.test"), [])


@pytest.fixture
def xero(clock: ManualClock) -> XeroWorld:
    return make_xero_world(clock)


# ---------------------------------------------------------------------------- Clio


@dataclass
class ClioWorld:
    clock: ManualClock
    sandbox: ClioSandbox
    store: TokenStore
    transport: httpx.BaseTransport
    endpoints: ClioEndpoints

    def refresher(self) -> AuthlibRefresher:
        return AuthlibRefresher(
            provider="clio",
            token_url=self.endpoints.token_url,
            client_id=CLIO_CLIENT[0],
            client_secret=CLIO_CLIENT[1],
            transport=self.transport,
            clock=self.clock,
        )

    def manager(self, **kwargs: Any) -> TokenManager:
        options: dict[str, Any] = {
            "connection_id": "conn-c",
            "provider": "clio",
            "store": self.store,
            "refresher": self.refresher(),
            "clock": self.clock,
            "wait": no_wait,
        }
        options.update(kwargs)
        return TokenManager(**options)

    def client(self, *, budget: RateBudget | None = None, manager: TokenManager | None = None) -> ClioClient:
        return ClioClient(
            endpoints=self.endpoints,
            tokens=manager or self.manager(),
            budget=budget if budget is not None else InMemoryRateBudget(self.clock),
            budget_key="conn-c",
            transport=self.transport,
        )


def make_clio_world(clock: ManualClock, **sandbox_kwargs: Any) -> ClioWorld:
    sandbox = ClioSandbox(clock=clock, validate_responses=True, **sandbox_kwargs)
    store = InMemoryTokenStore(clock)
    store.save("conn-c", "clio", token_set_from_response(sandbox.issue_token(), clock), expected_version=None)
    return ClioWorld(clock, sandbox, store, wsgi_transport(sandbox.wsgi_app), ClioEndpoints("http://clio.test"))


@pytest.fixture
def clio(clock: ManualClock) -> ClioWorld:
    return make_clio_world(clock)


# ---------------------------------------------------------------------------- AWS (moto server)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = AtomicMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass
class Aws:
    dynamodb: Any
    kms: Any
    table: str
    key_id: str

    def raw_item(self, pk: str, sk: str) -> dict[str, Any]:
        item: dict[str, Any] = self.dynamodb.get_item(
            TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
        ).get("Item", {})
        return item


@pytest.fixture
def aws(moto_endpoint: str) -> Aws:
    ddb = boto3.client("dynamodb", endpoint_url=moto_endpoint, **CREDS)  # type: ignore[call-overload]
    kms = boto3.client("kms", endpoint_url=moto_endpoint, **CREDS)  # type: ignore[call-overload]
    template = SamTemplate.from_dict(load_template(TEMPLATE), ROOT)
    name = f"t-{uuid.uuid4().hex[:8]}"
    ddb.create_table(**create_table_args(template, "Table", name))
    return Aws(ddb, kms, name, kms.create_key()["KeyMetadata"]["Arn"])


Factory = Callable[..., Any]
