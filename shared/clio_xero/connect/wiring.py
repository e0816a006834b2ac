"""Build the Connect function from its environment, and its Lambda side (event in, response out)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from clio_xero.clients.tokens import DynamoTokenStore
from clio_xero.clock import default_clock
from clio_xero.connect.flow import ConnectFlow, ProviderEndpoints
from clio_xero.connect.store import DynamoConnectStore, LinkKey
from clio_xero.intake.http import request_from_apigw
from clio_xero.observe import Counter, Log
from clio_xero.store.connections import DynamoConnectionStore
from clio_xero.wiring import AppCredentials, ProviderUrls

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


class ConnectSettings(ProviderUrls):
    """Environment of ``ConnectFunction`` (set by template.yaml)."""

    table_name: str
    kms_key_id: str
    config_path: str

    @property
    def endpoints(self) -> ProviderEndpoints:
        return ProviderEndpoints(clio_base_url=self.clio_base_url, xero=self.xero_endpoints())


def build_connect_flow(
    settings: ConnectSettings, *, log: Log, count: Counter, transport: httpx.BaseTransport | None = None
) -> ConnectFlow:
    import boto3

    clock = default_clock()  # the wall clock in Lambda; the local runtime lends its own
    dynamodb, ssm = boto3.client("dynamodb"), boto3.client("ssm")
    return ConnectFlow(
        connections=DynamoConnectionStore(settings.table_name, dynamodb),
        tokens=DynamoTokenStore(settings.table_name, dynamodb, boto3.client("kms"), settings.kms_key_id, clock),
        store=DynamoConnectStore(settings.table_name, dynamodb),
        link_key=LinkKey(settings.config_path, ssm).get,
        credentials=AppCredentials(settings.config_path, ssm),
        endpoints=settings.endpoints,
        clock=clock,
        log=log,
        count=count,
        transport=transport,
    )


def base_url_of(event: Mapping[str, Any]) -> str:
    """The API's own base URL, from the request (no circular template reference needed).

    API Gateway is https only; the local runtime serves plain http on loopback."""
    context = event.get("requestContext") or {}
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    host = str(context.get("domainName") or headers.get("host") or "")
    proto = headers.get("x-forwarded-proto")
    if proto not in ("http", "https"):
        proto = "http" if host.split(":", maxsplit=1)[0] in LOOPBACK or host.startswith("[::1]") else "https"
    return f"{proto}://{host}"


def serve_connect(flow: ConnectFlow, event: Mapping[str, Any]) -> dict[str, Any]:
    response = flow.handle(request_from_apigw(event), base_url_of(event)).to_apigw()
    # Payload v2 returns cookies in their own list.
    cookie = response["headers"].pop("set-cookie", None)
    if cookie:
        response["cookies"] = [cookie]
    return response
