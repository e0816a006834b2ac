"""The daily receivables check (``ReceivablesReportFunction``): every connection's report, the
number of differences as the metric ``ReceivablesDifferences`` (alarm on non-zero), one log line
per connection naming the differing bills. Reads Clio, Xero and the table; writes nothing but the
metric and the log (docs/payments.md "The daily run")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clio_xero.errors import SyncError
from clio_xero.observe import Counter, Log
from clio_xero.payments.report import read_receivables
from clio_xero.sync.mapping import MappingStore
from clio_xero.sync.settings import SettingsStore

if TYPE_CHECKING:
    from clio_xero.clients.clio import ClioClient
    from clio_xero.clients.xero import XeroClient

__all__ = ["METRIC", "DailyReceivables", "build_daily"]

METRIC = "ReceivablesDifferences"
#: A connection whose report could not be made counts as one difference: silence is not agreement.
UNREADABLE = 1


@dataclass
class DailyReceivables:
    connection_ids: Callable[[], list[str]]
    clients_for: Callable[[str], tuple[ClioClient, XeroClient]]
    mappings: MappingStore
    settings: SettingsStore
    log: Log
    count: Counter

    def run(self) -> dict[str, Any]:
        per_connection: dict[str, int] = {}
        for connection_id in self.connection_ids():
            settings = self.settings.get(connection_id)
            if not settings.billing.sync_bills:
                continue  # nothing is synced, nothing to compare
            try:
                clio, xero = self.clients_for(connection_id)
                report = read_receivables(
                    clio=clio, xero=xero, mappings=self.mappings, connection_id=connection_id, settings=settings
                )
            except SyncError as exc:
                per_connection[connection_id] = UNREADABLE
                self.log.error(
                    "receivables report failed", extra={"connection_id": connection_id, "reason": exc.message}
                )
                continue
            per_connection[connection_id] = report.differences
            differing = [r.bill_id for r in report.rows if r.differs]
            self.log.info(
                "receivables compared",
                extra={"connection_id": connection_id, "bills": len(report.rows), "differing_bills": differing[:50]},
            )
        total = sum(per_connection.values())
        self.count(METRIC, total)
        return {"differences": total, "connections": per_connection}


def build_daily(env: dict[str, str], *, log: Log, count: Counter, transport: Any = None) -> DailyReceivables:
    """Wire the run from the function's environment (template.yaml) through the one wiring place."""
    import boto3

    from clio_xero.clock import default_clock
    from clio_xero.store.connections import DynamoConnectionStore
    from clio_xero.store.mappings import DynamoMappingStore
    from clio_xero.store.settings import DynamoSettingsStore
    from clio_xero.wiring import ProviderUrls, connection_clients

    class ReportSettings(ProviderUrls):
        table_name: str
        kms_key_id: str
        config_path: str
        api_timeout_seconds: float = 10.0

    settings = ReportSettings.from_env(env)
    dynamodb = boto3.client("dynamodb")
    connections = DynamoConnectionStore(settings.table_name, dynamodb)
    clients = connection_clients(
        table_name=settings.table_name,
        kms_key_id=settings.kms_key_id,
        config_path=settings.config_path,
        urls=settings.only(),
        dynamodb=dynamodb,
        kms=boto3.client("kms"),
        ssm=boto3.client("ssm"),
        clock=default_clock(),
        transport=transport,
        timeout_seconds=settings.api_timeout_seconds,
    )
    return DailyReceivables(
        connection_ids=lambda: [c.connection_id for c in connections.list_all() if c.xero_tenant_id],
        clients_for=clients.for_connection,
        mappings=DynamoMappingStore(settings.table_name, dynamodb),
        settings=DynamoSettingsStore(settings.table_name, dynamodb),
        log=log,
        count=count,
    )
