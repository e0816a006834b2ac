"""What the console's pages read and change, per connection: the same operator code the CLI runs.

:class:`ConsoleBackend` is the seam (tests may give a fake); :class:`StackBackend` is the real one
over the stack's table, queues, KMS and SSM: status and the error list from :mod:`clio_xero.admin`,
retry as ``clio-xero retry``, settings through :func:`clio_xero.admin.settings.updated_settings`, the
chart of accounts read live from Xero, connect links and disconnect from :mod:`clio_xero.connect`,
"why didn't this bill sync?" as ``clio-xero billing explain`` (:mod:`clio_xero.sync.bills.explain`)
and the receivables report as ``clio-xero report receivables`` (:mod:`clio_xero.payments.report`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from pydantic import BaseModel

from clio_xero.admin.errorlist import RecordError, error_list
from clio_xero.admin.records import RecordRef
from clio_xero.admin.retry import error_records, retry_records
from clio_xero.admin.settings import updated_settings
from clio_xero.admin.stack import OpsStack
from clio_xero.admin.status import StackReport, stack_report
from clio_xero.billing.preflight import check_settings
from clio_xero.billing.settings import BillingSettings
from clio_xero.billing.xero_models import OrgChart, XeroAccount
from clio_xero.connect.flow import ProviderEndpoints
from clio_xero.connect.operator import ConnectLinks, Disconnector, DisconnectReport, issue_links
from clio_xero.errors import SyncError
from clio_xero.payments.report import Receivables, read_receivables
from clio_xero.store.connections import Connection
from clio_xero.store.mappings import DynamoMappingStore
from clio_xero.store.settings import DynamoSettingsStore
from clio_xero.store.tokens import DynamoTokenStore
from clio_xero.store.webhook_records import DynamoWebhookRecords
from clio_xero.sync.bills.explain import BillExplanation, explain_bill, find_bills
from clio_xero.sync.settings import ConnectionSettings
from clio_xero.webhooks.registration import WebhookRecord

if TYPE_CHECKING:
    from clio_xero.clients.clio import ClioClient
    from clio_xero.clients.xero import XeroClient


@dataclass(frozen=True)
class Finding:
    """One preflight finding shown after a save: ``severity`` error or notice."""

    severity: str
    message: str
    setting: str | None = None


@dataclass
class Chart:
    """The organisation's chart (accounts, tax rates, tracking), or why it could not be read (the
    form then takes typed codes and the preflight says it could not check)."""

    org: OrgChart = field(default_factory=OrgChart)
    problem: str | None = None

    @property
    def accounts(self) -> list[XeroAccount]:
        return list(self.org.accounts)


class ConsoleBackend(Protocol):
    def connection(self, connection_id: str) -> Connection | None: ...

    def status(self, connection_id: str) -> StackReport: ...

    def webhooks(self, connection_id: str) -> list[WebhookRecord]: ...

    def errors(self, connection_id: str) -> list[RecordError]: ...

    def retry(self, connection_id: str, record: str | None) -> list[str]: ...

    def settings(self, connection_id: str) -> ConnectionSettings: ...

    def save_settings(self, connection_id: str, updates: Mapping[str, Any], now: datetime) -> ConnectionSettings: ...

    def chart(self, connection_id: str, *, full: bool = False) -> Chart: ...

    def preflight(self, connection_id: str, settings: ConnectionSettings) -> list[Finding]: ...

    def connect_links(self, connection_id: str, api_url: str, now: datetime) -> ConnectLinks: ...

    def disconnect(self, connection_id: str, *, purge: bool) -> DisconnectReport: ...

    def explain_bill(self, connection_id: str, number: str) -> list[BillExplanation]: ...

    def receivables(self, connection_id: str) -> Receivables: ...


# (connection, full): the accounts alone for a page view; with ``full``, also tax rates, tracking
# categories and currencies, as the preflight on save needs them (several Xero calls).
ChartReader = Callable[[Connection, bool], OrgChart]


class StackBackend:
    """The real backend. ``read_chart`` reads the organisation's chart from Xero for a connection
    (built in :mod:`clio_xero.console.wiring` from the connection's stored tokens)."""

    def __init__(
        self,
        stack: OpsStack,
        *,
        link_key: Callable[[], bytes],
        credentials: Any,
        endpoints: ProviderEndpoints,
        read_chart: ChartReader,
        clients_for: Callable[[str], tuple[ClioClient, XeroClient]],
        remove_clio_webhooks: Callable[[Connection, str], list[str]] | None = None,
        link_ttl: timedelta = timedelta(minutes=30),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._stack = stack
        self._link_key = link_key
        self._credentials = credentials
        self._endpoints = endpoints
        self._read_chart = read_chart
        self._clients_for = clients_for
        self._remove_clio_webhooks = remove_clio_webhooks
        self._link_ttl = link_ttl
        self._transport = transport

    def _settings_store(self) -> DynamoSettingsStore:
        return DynamoSettingsStore(self._stack.table_name, self._stack.dynamodb)

    def connection(self, connection_id: str) -> Connection | None:
        return self._stack.connections().get(connection_id)

    def status(self, connection_id: str) -> StackReport:
        return stack_report(self._stack, connection_id)

    def webhooks(self, connection_id: str) -> list[WebhookRecord]:
        return DynamoWebhookRecords(self._stack.table_name, self._stack.dynamodb).list(connection_id)

    def errors(self, connection_id: str) -> list[RecordError]:
        return error_list(self._stack, [connection_id])

    def retry(self, connection_id: str, record: str | None) -> list[str]:
        """Queue one record (``clio:contact:123``) or, with None, every record in error."""
        refs = [RecordRef.parse(record)] if record else error_records(self._stack, connection_id)
        events = retry_records(self._stack, connection_id, refs)
        return [f"{e.source.value}:{e.record_type.value}:{e.record_id}" for e in events]

    def settings(self, connection_id: str) -> ConnectionSettings:
        return self._settings_store().get(connection_id)

    def save_settings(self, connection_id: str, updates: Mapping[str, Any], now: datetime) -> ConnectionSettings:
        store = self._settings_store()
        settings = updated_settings(store.get(connection_id), updates, now)
        store.put(connection_id, settings)
        return settings

    def explain_bill(self, connection_id: str, number: str) -> list[BillExplanation]:
        """Every bill numbered ``number`` (or whose Clio id it is), explained; empty when none."""
        clio, _ = self._clients_for(connection_id)
        billing = self.settings(connection_id).billing
        mappings = DynamoMappingStore(self._stack.table_name, self._stack.dynamodb)
        return [
            explain_bill(clio=clio, mappings=mappings, connection_id=connection_id, billing=billing, bill_id=bill)
            for bill in find_bills(clio, number)
        ]

    def receivables(self, connection_id: str) -> Receivables:
        clio, xero = self._clients_for(connection_id)
        return read_receivables(
            clio=clio,
            xero=xero,
            mappings=DynamoMappingStore(self._stack.table_name, self._stack.dynamodb),
            connection_id=connection_id,
            settings=self.settings(connection_id),
        )

    def chart(self, connection_id: str, *, full: bool = False) -> Chart:
        connection = self.connection(connection_id)
        if connection is None or not connection.xero_tenant_id:
            return Chart(problem="Xero is not connected: account codes are typed by hand until it is.")
        try:
            return Chart(org=self._read_chart(connection, full))
        except SyncError as exc:
            return Chart(problem=f"Xero's chart of accounts could not be read ({exc.message}): type codes by hand.")

    def preflight(self, connection_id: str, settings: ConnectionSettings) -> list[Finding]:
        return billing_preflight(settings, lambda: self.chart(connection_id, full=True))

    def connect_links(self, connection_id: str, api_url: str, now: datetime) -> ConnectLinks:
        return issue_links(self._link_key(), connection_id=connection_id, api_url=api_url, now=now, ttl=self._link_ttl)

    def disconnect(self, connection_id: str, *, purge: bool) -> DisconnectReport:
        stack = self._stack
        connection = self.connection(connection_id)
        if connection is None:
            raise ValueError(f"no connection {connection_id}")
        disconnector = Disconnector(
            connections=stack.connections(),
            purge_mappings=DynamoMappingStore(stack.table_name, stack.dynamodb).purge,
            tokens=DynamoTokenStore(
                stack.table_name, stack.dynamodb, stack.client("kms"), stack.data_key_arn, stack.clock
            ),
            credentials=self._credentials,
            endpoints=self._endpoints,
            clock=stack.clock,
            transport=self._transport,
            remove_clio_webhooks=self._remove_clio_webhooks if connection.xero_tenant_id else None,
        )
        return disconnector.disconnect(connection, purge=purge)


def billing_preflight(settings: BaseModel, read_chart: Callable[[], Chart]) -> list[Finding]:
    """The billing preflight (``clio-xero billing check``) over every section that holds billing
    settings; nothing (and no Xero call) when the settings have none."""
    sections = [getattr(settings, name) for name in type(settings).model_fields]
    billing = [s for s in sections if isinstance(s, BillingSettings)]
    if not billing:
        return []
    chart = read_chart()
    if chart.problem:
        return [Finding("notice", f"The billing settings were not checked against Xero: {chart.problem}")]
    findings: list[Finding] = []
    for section in billing:
        report = check_settings(section, chart.org)
        findings += [Finding(p.severity, p.message, p.setting) for p in report.problems]
    return findings
