"""The scheduled trust reconciliation: last month's report for every trust account, in the bucket.

The function runs daily (``rate(1 day)``, which the local runtime also runs) and does the work
only when last month's report is not in the bucket yet, so it reports once a month, catches up
after a failed day, and can be run on demand (``{"as_of": "2026-01-31", "force": true}``).

Bucket layout (docs/trust-report.md, "Scheduled report")::

    trust/statements/<connection>/<clio account id>/<YYYY-MM>/<file>.ofx|.qfx|.csv   the firm uploads
    trust/reports/<connection>/<as-of>/<clio account id>.json|.html|.csv           written here
    trust/snapshots/<connection>.json                                                the last Clio read

Metrics (Powertools EMF, namespace ClioXero): ``TrustAccountsOutOfBalance``,
``TrustNegativeLedgers``, ``TrustReportFailures``, and ``TrustReconciliationProblems`` (their
sum, the one the alarm watches).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from clio_xero.clock import Clock
from clio_xero.errors import PermanentError, SyncError
from clio_xero.intake.observe import Counter, Log
from clio_xero.trust.job import ReportRequest, StatementFile, parse_statements, report_for_account
from clio_xero.trust.reconcile import Status
from clio_xero.trust.render import to_csv, to_html, to_json
from clio_xero.trust.source import ClioReader, ClioTrustSource, XeroReader
from clio_xero.trust.statements import CSV_SUFFIXES, OFX_SUFFIXES

PREFIX = "trust"


def last_month_end(today: date) -> date:
    return today.replace(day=1) - timedelta(days=1)


class S3Objects:
    """The few bucket operations the run needs, on an injected boto3 S3 client."""

    def __init__(self, bucket: str, s3: Any) -> None:
        self.bucket = bucket
        self._s3 = s3

    def keys(self, prefix: str) -> list[str]:
        paginator = self._s3.get_paginator("list_objects_v2")
        return [
            o["Key"] for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix) for o in page.get("Contents", [])
        ]

    def get(self, key: str) -> bytes | None:
        try:
            return bytes(self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except self._s3.exceptions.NoSuchKey:
            return None

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)


class _Snapshots:
    def __init__(self, objects: S3Objects, key: str) -> None:
        self._objects, self._key = objects, key

    def load(self) -> bytes | None:
        return self._objects.get(self._key)

    def save(self, data: bytes) -> None:
        self._objects.put(self._key, data, "application/json")


@dataclass
class AccountOutcome:
    connection_id: str
    account_id: int | None
    status: str  # balanced | out_of_balance | failed | skipped
    key: str | None = None
    negative_ledgers: int = 0
    error: str | None = None


@dataclass
class MonthlyRun:
    as_of: date
    outcomes: list[AccountOutcome] = field(default_factory=list)


class MonthlyTrustReports:
    def __init__(
        self,
        *,
        connection_ids: Callable[[], Sequence[str]],
        clients_for: Callable[[str], tuple[ClioReader, XeroReader]],
        objects: S3Objects,
        clock: Clock,
        log: Log,
        count: Counter,
        firm: str = "",
        xero_account: str | None = None,
    ) -> None:
        self._connection_ids = connection_ids
        self._clients_for = clients_for
        self._objects = objects
        self._clock = clock
        self._log = log
        self._count = count
        self._firm = firm
        self._xero_account = xero_account

    def run(self, as_of: date | None = None, *, force: bool = False) -> MonthlyRun:
        day = as_of or last_month_end(self._clock.now().date())
        result = MonthlyRun(as_of=day)
        for connection_id in self._connection_ids():
            if not force and self._objects.keys(f"{PREFIX}/reports/{connection_id}/{day.isoformat()}/"):
                result.outcomes.append(AccountOutcome(connection_id, None, "skipped"))
                continue
            try:
                result.outcomes += self._connection(connection_id, day)
            except SyncError as exc:  # one firm's failure must not stop the others
                self._log.error("trust report failed", extra={"connection_id": connection_id, "error": exc.message})
                result.outcomes.append(AccountOutcome(connection_id, None, "failed", error=exc.message))
        self._metrics(result)
        return result

    def _connection(self, connection_id: str, day: date) -> list[AccountOutcome]:
        clio, xero = self._clients_for(connection_id)
        snapshots = _Snapshots(self._objects, f"{PREFIX}/snapshots/{connection_id}.json")
        book = ClioTrustSource(clio, snapshots, self._clock).read()
        outcomes = []
        for account in sorted(book.accounts, key=lambda a: a.id):
            base = f"{PREFIX}/reports/{connection_id}/{day.isoformat()}/{account.id}"
            request = ReportRequest(
                as_of=day,
                statements=self._statements(connection_id, account.id, day),
                firm=self._firm,
                xero_account=self._xero_account,
            )
            try:
                report = report_for_account(
                    request, book, account, parse_statements(request), clock=self._clock, xero=xero
                )
            except PermanentError as exc:  # a bad statement or setting: say so where the report would be
                self._objects.put(f"{base}.error.txt", exc.message.encode(), "text/plain; charset=utf-8")
                outcomes.append(
                    AccountOutcome(connection_id, account.id, "failed", f"{base}.error.txt", error=exc.message)
                )
                continue
            self._objects.put(f"{base}.json", to_json(report).encode(), "application/json")
            self._objects.put(f"{base}.csv", to_csv(report).encode(), "text/csv; charset=utf-8")
            self._objects.put(f"{base}.html", to_html(report).encode(), "text/html; charset=utf-8")
            outcomes.append(
                AccountOutcome(
                    connection_id,
                    account.id,
                    report.status.value,
                    f"{base}.html",
                    negative_ledgers=len(report.negative_ledgers),
                )
            )
            self._log.info(
                "trust report written",
                extra={"connection_id": connection_id, "account_id": account.id, "status": report.status.value},
            )
        return outcomes

    def _statements(self, connection_id: str, account_id: int, day: date) -> list[StatementFile]:
        prefix = f"{PREFIX}/statements/{connection_id}/{account_id}/{day:%Y-%m}/"
        files = []
        for key in sorted(self._objects.keys(prefix)):
            if key.lower().endswith(OFX_SUFFIXES + CSV_SUFFIXES):
                data = self._objects.get(key)
                if data is not None:
                    files.append(StatementFile(name=f"s3://{self._objects.bucket}/{key}", data=data))
        return files

    def _metrics(self, result: MonthlyRun) -> None:
        out = sum(1 for o in result.outcomes if o.status == Status.OUT_OF_BALANCE.value)
        failed = sum(1 for o in result.outcomes if o.status == "failed")
        negative = sum(o.negative_ledgers for o in result.outcomes)
        self._count("TrustAccountsOutOfBalance", out)
        self._count("TrustNegativeLedgers", negative)
        self._count("TrustReportFailures", failed)
        self._count("TrustReconciliationProblems", out + failed + negative)


def build_monthly(env: dict[str, str], *, log: Log, count: Counter, transport: Any = None) -> MonthlyTrustReports:
    """Wire the run from the function's environment (template.yaml) through the one wiring place."""
    import boto3

    from clio_xero.clock import default_clock
    from clio_xero.store.connections import DynamoConnectionStore
    from clio_xero.wiring import ProviderUrls, connection_clients

    class TrustSettings(ProviderUrls):
        table_name: str
        kms_key_id: str
        config_path: str
        report_bucket: str
        api_timeout_seconds: float = 10.0
        trust_firm_name: str = ""
        trust_xero_account: str = "-"  # "-": do not compare with Xero; "": the Xero account by number

    settings = TrustSettings.from_env(env)
    clock = default_clock()
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
        clock=clock,
        transport=transport,
        timeout_seconds=settings.api_timeout_seconds,
    )
    return MonthlyTrustReports(
        connection_ids=lambda: [c.connection_id for c in connections.list_all() if c.xero_tenant_id],
        clients_for=clients.for_connection,
        objects=S3Objects(settings.report_bucket, boto3.client("s3")),
        clock=clock,
        log=log,
        count=count,
        firm=settings.trust_firm_name,
        xero_account=None if settings.trust_xero_account == "-" else settings.trust_xero_account,
    )
