"""The daily receivables check (``ReceivablesReportFunction``): every connection's report, the
number of differences as the metric ``ReceivablesDifferences`` (alarm on non-zero), one log line
per connection naming the differing bills, and (when the stack gives it a bucket) the day's copy of
each connection's report as HTML, CSV and JSON under ``receivables/reports/<connection>/<day>.*``,
which the console's Reports page lists: on a large firm the live report can take longer than a
page may, and the daily copy is there at once (docs/payments.md "The daily run")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clio_xero.aws.objects import S3Objects
from clio_xero.clock import Clock
from clio_xero.errors import SyncError
from clio_xero.observe import Counter, Log
from clio_xero.payments.receivables import ReportFormat, render
from clio_xero.payments.report import Receivables, read_receivables
from clio_xero.sync.mapping import MappingStore
from clio_xero.sync.settings import SettingsStore

if TYPE_CHECKING:
    from clio_xero.clients.clio import ClioClient
    from clio_xero.clients.xero import XeroClient

__all__ = ["METRIC", "PREFIX", "DailyReceivables", "build_daily", "report_key"]

METRIC = "ReceivablesDifferences"
#: A connection whose report could not be made counts as one difference: silence is not agreement.
UNREADABLE = 1
PREFIX = "receivables/reports"
CONTENT_TYPES = {
    ReportFormat.HTML: "text/html; charset=utf-8",
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.JSON: "application/json",
}


def report_key(connection_id: str, day: str, fmt: ReportFormat) -> str:
    return f"{PREFIX}/{connection_id}/{day}.{fmt.value}"


@dataclass
class DailyReceivables:
    connection_ids: Callable[[], list[str]]
    clients_for: Callable[[str], tuple[ClioClient, XeroClient]]
    mappings: MappingStore
    settings: SettingsStore
    log: Log
    count: Counter
    clock: Clock | None = None
    objects: S3Objects | None = None  # where the day's copies go (None: metric and log only)

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
            self._keep(connection_id, report)
            differing = [r.bill_id for r in report.rows if r.differs]
            self.log.info(
                "receivables compared",
                extra={"connection_id": connection_id, "bills": len(report.rows), "differing_bills": differing[:50]},
            )
        total = sum(per_connection.values())
        self.count(METRIC, total)
        return {"differences": total, "connections": per_connection}

    def _keep(self, connection_id: str, report: Receivables) -> None:
        if self.objects is None or self.clock is None:
            return
        day = self.clock.now().date().isoformat()
        for fmt, content_type in CONTENT_TYPES.items():
            body = render(report.rows, fmt, as_of=day).encode("utf-8")
            self.objects.put(report_key(connection_id, day, fmt), body, content_type)


def build_daily(env: dict[str, str], *, log: Log, count: Counter, transport: Any = None) -> DailyReceivables:
    """Wire the run from the function's environment (template.yaml) through the one wiring place."""
    from clio_xero.aws.clients import aws_client
    from clio_xero.clock import default_clock
    from clio_xero.store.mappings import DynamoMappingStore
    from clio_xero.store.settings import DynamoSettingsStore
    from clio_xero.wiring import StackSettings

    settings = StackSettings.from_env(env)
    clock = default_clock()
    stack = settings.stack(clock=clock, transport=transport)
    bucket = env.get("REPORT_BUCKET", "")
    connections = stack.connections()
    clients = stack.connection_clients()
    return DailyReceivables(
        connection_ids=lambda: [c.connection_id for c in connections.list_all() if c.xero_tenant_id],
        clients_for=clients.for_connection,
        mappings=DynamoMappingStore(settings.table_name, stack.dynamodb),
        settings=DynamoSettingsStore(settings.table_name, stack.dynamodb),
        log=log,
        count=count,
        clock=clock,
        objects=S3Objects(bucket, aws_client("s3")) if bucket else None,
    )
