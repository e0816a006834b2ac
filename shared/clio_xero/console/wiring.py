"""Build the console from its function's environment, and its Lambda side (event in, response out)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import httpx

from clio_xero.admin.stack import OpsStack
from clio_xero.aws.clients import aws_client
from clio_xero.aws.objects import S3Objects
from clio_xero.aws.parameters import AppCredentials, LinkKey
from clio_xero.billing.xero_models import OrgChart
from clio_xero.clock import Clock, default_clock
from clio_xero.connect.flow import ProviderEndpoints
from clio_xero.connect.wiring import base_url_of
from clio_xero.console.app import Console
from clio_xero.console.backend import StackBackend
from clio_xero.console.reports import StoredReportShelf
from clio_xero.intake.http import request_from_apigw
from clio_xero.intake.observe import Log
from clio_xero.store.connect_state import DynamoConnectStore
from clio_xero.store.connections import Connection
from clio_xero.store.console_audit import DynamoAuditLog
from clio_xero.store.console_sessions import DynamoSessionStore
from clio_xero.sync.wiring import WorkerSettings
from clio_xero.webhooks.renewal import build_services

# The chart is read on every Settings view; a cap keeps a huge organisation from slowing the page.
MAX_ROWS = 2000


class ConsoleSettings(WorkerSettings):
    """Environment of ``ConsoleFunction`` (set by template.yaml)."""

    session_minutes: int = 120
    report_bucket: str = ""  # where the scheduled reports are (empty: the Reports page is empty)


def build_console(
    settings: ConsoleSettings, *, log: Log, clock: Clock | None = None, transport: httpx.BaseTransport | None = None
) -> Console:
    clock = clock or default_clock()  # the wall clock in Lambda; the local runtime lends its own
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = aws_client(service)
        return clients[service]

    dynamodb, ssm = client("dynamodb"), client("ssm")
    stack = OpsStack(
        table_name=settings.table_name,
        queue_url=settings.queue_url,
        dead_letter_queue_url=settings.dead_letter_queue_url,
        delivery_bucket="",
        data_key_arn=settings.kms_key_id,
        clients=client,
        clock=clock,
        receive_wait_seconds=0,  # a page must answer quickly; the DLQ view may miss a message briefly
    )
    # The renewal function's services: the connections' API clients and the Clio webhook manager,
    # the same pieces `clio-xero disconnect` uses.
    services = build_services(settings.stack(clock=clock, dynamodb=dynamodb, transport=transport), log=log)

    def read_chart(connection: Connection, full: bool) -> OrgChart:
        _, xero = services.clients.for_connection(connection.connection_id)

        def rows(path: str, key: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
            return list(xero.request("GET", path, params=params).json().get(key) or [])[:MAX_ROWS]

        if not full:
            return OrgChart.from_xero(accounts=rows("/Accounts", "Accounts"), tax_rates=[])
        organisation = rows("/Organisation", "Organisations")
        return OrgChart.from_xero(
            accounts=rows("/Accounts", "Accounts"),
            tax_rates=rows("/TaxRates", "TaxRates"),
            tracking_categories=rows("/TrackingCategories", "TrackingCategories", {"includeArchived": "true"}),
            currencies=rows("/Currencies", "Currencies"),
            base_currency=organisation[0].get("BaseCurrency") if organisation else None,
        )

    def remove_clio_webhooks(connection: Connection, _token: str) -> list[str]:
        return list(services.manager(connection.connection_id).remove_all(clock.now()))

    link_key = LinkKey(settings.config_path, ssm).get
    backend = StackBackend(
        stack,
        link_key=link_key,
        credentials=AppCredentials(settings.config_path, ssm),
        endpoints=ProviderEndpoints(clio_base_url=settings.clio_base_url, xero=settings.xero_endpoints()),
        read_chart=read_chart,
        clients_for=services.clients.for_connection,
        remove_clio_webhooks=remove_clio_webhooks,
        transport=transport,
    )
    return Console(
        backend=backend,
        sessions=DynamoSessionStore(settings.table_name, dynamodb),
        audit=DynamoAuditLog(settings.table_name, dynamodb),
        used_links=DynamoConnectStore(settings.table_name, dynamodb),
        link_key=link_key,
        clock=clock,
        log=log,
        session_ttl=timedelta(minutes=settings.session_minutes),
        reports=StoredReportShelf(S3Objects(settings.report_bucket, client("s3"))) if settings.report_bucket else None,
    )


def serve_console(console: Console, event: Mapping[str, Any]) -> dict[str, Any]:
    response = console.handle(request_from_apigw(event), base_url_of(event)).to_apigw()
    # Payload v2 returns cookies in their own list.
    cookie = response["headers"].pop("set-cookie", None)
    if cookie:
        response["cookies"] = [cookie]
    return response
