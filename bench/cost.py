"""AWS cost a month for a firm with 5,000 changes a day, metered through the local runtime.

A day's mix of changes is made in the Clio and Xero sandboxes and flows through the whole local
system (webhooks → receivers → SQS FIFO → worker → both sandboxes over loopback), on a simulated
clock with the real rate limits; the scheduled sweep runs at its rate on the same clock. Every AWS
API call the functions and the event-source poller make is counted by service and operation (a
wrapper around botocore's ``BaseClient._make_api_call`` in this process: the functions run here,
in-process, with their own clients), and every Lambda invocation is timed per function. The
per-change figures are scaled to 150,000 changes a month and priced with AWS list prices
(us-east-1, arm64; see PRICES). The fixed part (schedules, the KMS key, alarms, idle SQS polling)
is listed on its own lines.

What is computed rather than metered (moto does not bill): DynamoDB capacity units, from item
sizes by DynamoDB's documented rules (an update costs the larger of the item before and after, a
failed conditional write still costs, a GSI write costs again, a transaction doubles); SQS requests
in 64 KB chunks; Lambda GB-seconds, from the local wall time of each invocation (a proxy: a Lambda
arm64 container at 256-512 MB has a fraction of a vCPU, and AWS services answer in milliseconds
where moto answers in under one).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.common import RunOptions, Section, table
from clio_xero.clock import ManualClock
from clio_xero.sync.settings import ConnectionSettings, ContactScope

DAY_CHANGES = 5000
MONTH_CHANGES = DAY_CHANGES * 30
SECONDS_APART = 86_400 / DAY_CHANGES  # 17.3 s: changes spread evenly over the day (least batching)
TARGET_DOLLARS = 1.0
CLIENTS = 20  # the firm's clients with open matters, linked before the day starts

#: The changes a firm makes in a day, per 500: what the sandboxes and the plug-ins support.
MIX: tuple[tuple[str, int], ...] = (
    ("time entry recorded (Clio activity created)", 220),
    ("time entry edited (Clio activity updated)", 60),
    ("contact edited (Clio)", 70),
    ("contact created (Clio)", 30),
    ("bill drafted (Clio; never synced)", 45),
    ("bill approved (Clio → Xero invoice)", 45),
    ("payment recorded in Xero on an invoice", 30),
)

# ------------------------------------------------------------------ prices (us-east-1, arm64)
#: (price in dollars, unit, always-free allowance a month in the same unit, source). List prices as
#: published on the pages named; copied on 2026-12-06 from what those pages said at their last
#: known revision (2025), not re-read live from this machine: UNCONFIRMED for today's date.
PRICES: dict[str, tuple[float, str, float, str]] = {
    "lambda_requests": (0.20 / 1e6, "request", 1_000_000, "https://aws.amazon.com/lambda/pricing/"),
    "lambda_gb_s": (0.0000133334, "GB-second (arm64)", 400_000, "https://aws.amazon.com/lambda/pricing/"),
    "sqs_fifo": (0.50 / 1e6, "request (64 KB chunk)", 1_000_000, "https://aws.amazon.com/sqs/pricing/"),
    "ddb_wru": (0.625 / 1e6, "write request unit", 0, "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "ddb_rru": (0.125 / 1e6, "read request unit", 0, "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "s3_put": (0.005 / 1000, "PUT/COPY/POST/LIST", 0, "https://aws.amazon.com/s3/pricing/"),
    "s3_get": (0.0004 / 1000, "GET and other", 0, "https://aws.amazon.com/s3/pricing/"),
    "s3_gb_month": (0.023, "GB-month (Standard)", 0, "https://aws.amazon.com/s3/pricing/"),
    "kms_request": (0.03 / 10_000, "request", 20_000, "https://aws.amazon.com/kms/pricing/"),
    "kms_key": (1.0, "customer managed key a month", 0, "https://aws.amazon.com/kms/pricing/"),
    "apigw_http": (1.00 / 1e6, "HTTP API request", 0, "https://aws.amazon.com/api-gateway/pricing/"),
    "logs_gb": (0.50, "GB of logs ingested", 5, "https://aws.amazon.com/cloudwatch/pricing/"),
    "cw_metric": (0.30, "custom metric a month", 10, "https://aws.amazon.com/cloudwatch/pricing/"),
    "cw_alarm": (0.10, "standard alarm a month", 10, "https://aws.amazon.com/cloudwatch/pricing/"),
    "xray_trace": (5.0 / 1e6, "trace recorded", 100_000, "https://aws.amazon.com/xray/pricing/"),
    "ssm_standard": (0.0, "standard parameter / API call", 0, "https://aws.amazon.com/systems-manager/pricing/"),
}


# ------------------------------------------------------------------ DynamoDB item sizes


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").lstrip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def attribute_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value by DynamoDB's rules (docs: "Item sizes and formats")."""
    kind, raw = next(iter(value.items()))
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        return _number_size(str(raw))
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(v).encode()) for v in raw)
    if kind == "NS":
        return sum(_number_size(str(v)) for v in raw)
    if kind == "BS":
        return sum(len(v) for v in raw)
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in raw.items())
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in raw)
    return len(json.dumps(raw, default=str))


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(k.encode()) + attribute_size(v) for k, v in (item or {}).items())


def _units(size: int, per: int) -> int:
    return max(1, math.ceil(size / per))


# ------------------------------------------------------------------ the meter


@dataclass
class Meter:
    """What the AWS side did while ``active``: calls by (service, operation) and billed units."""

    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    ddb_wru: float = 0.0
    ddb_rru: float = 0.0
    ddb_by_item: dict[str, float] = field(
        default_factory=lambda: defaultdict(float)
    )  # WRU+RRU by the item's sort-key family
    sqs_requests: int = 0
    s3_put_bytes: int = 0
    s3_puts: int = 0
    s3_gets: int = 0
    kms_requests: int = 0
    invocations: Counter[str] = field(default_factory=Counter)
    #: per function: (wall seconds, CPU seconds of the invoking thread) of each invocation
    durations: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    empty_receives: int = 0  # the local poller's empty polls; AWS's idle polling is modelled instead
    active: bool = False


_GUARD = threading.local()


def _family(sk: str) -> str:
    """``RATE#xero#m#202612011201`` → ``RATE#xero#m``: which kind of item a unit was spent on."""
    if sk.startswith("deliveries/"):
        return "deliveries/... (the raw delivery archive)"
    parts = sk.split("#")
    if parts[0] == "RATE" and len(parts) >= 3:
        return "#".join(parts[:3])
    return "#".join(parts[:2]) if len(parts) > 1 else sk


def _key_of(params: dict[str, Any]) -> dict[str, Any] | None:
    if "Key" in params:
        return dict(params["Key"])
    item = params.get("Item")
    if item and "pk" in item:
        return {"pk": item["pk"], **({"sk": item["sk"]} if "sk" in item else {})}
    return None


class AwsMeter:
    """Wraps ``botocore.client.BaseClient._make_api_call`` for the duration of a ``with``.

    Side reads the meter itself makes (the item before and after a write, to size it) go through
    the same wrapper with a thread-local guard set, so they are neither counted nor recursed into.
    """

    WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})

    def __init__(self, meter: Meter) -> None:
        self.meter = meter
        self._saved: Callable[..., Any] | None = None
        self._lock = threading.Lock()
        self._gsi_key = "gsi1pk"

    @contextlib.contextmanager
    def installed(self) -> Iterator[Meter]:
        from botocore.client import BaseClient

        saved: Callable[..., Any] = vars(BaseClient)["_make_api_call"]
        meter = self

        def metered(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if getattr(_GUARD, "on", False) or not meter.meter.active:
                return saved(client, operation, params)
            return meter._call(saved, client, operation, params)

        setattr(BaseClient, "_make_api_call", metered)  # noqa: B010 - private: there is no public hook for all calls
        try:
            yield self.meter
        finally:
            setattr(BaseClient, "_make_api_call", saved)  # noqa: B010

    def _side(self, saved: Callable[..., Any], client: Any, operation: str, params: dict[str, Any]) -> Any:
        _GUARD.on = True
        try:
            return saved(client, operation, params)
        finally:
            _GUARD.on = False

    def _get(self, saved: Callable[..., Any], client: Any, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        try:
            result = self._side(saved, client, "GetItem", {"TableName": table, "Key": key, "ConsistentRead": True})
        except Exception:  # sizing only: the real call reports its own errors
            return None
        item: dict[str, Any] | None = result.get("Item")
        return item

    def _write_units(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> float:
        units = float(_units(max(item_size(old), item_size(new)), 1024))
        old_in = bool(old and self._gsi_key in old)
        new_in = bool(new and self._gsi_key in new)
        if old_in or new_in:  # the index (projection ALL) is written too; a key change is delete + put
            moved = old_in and new_in and (old or {}).get(self._gsi_key) != (new or {}).get(self._gsi_key)
            units += _units(max(item_size(old) if old_in else 0, item_size(new) if new_in else 0), 1024) * (
                2 if moved else 1
            )
        return units

    def _call(self, saved: Callable[..., Any], client: Any, operation: str, params: dict[str, Any]) -> Any:
        service = client.meta.service_model.service_name
        m = self.meter
        with self._lock:
            m.calls[(service, operation)] += 1
        if service == "dynamodb":
            return self._dynamodb(saved, client, operation, params)
        if service == "sqs":
            result = saved(client, operation, params)
            with self._lock:
                if operation == "ReceiveMessage" and not result.get("Messages"):
                    m.calls[(service, operation)] -= 1
                    m.empty_receives += 1
                else:
                    m.sqs_requests += _sqs_chunks(operation, params)
            return result
        elif service == "s3":
            with self._lock:
                if operation in ("PutObject", "CopyObject", "ListObjectsV2", "ListObjects", "CreateMultipartUpload"):
                    m.s3_puts += 1
                    body = params.get("Body", b"")
                    m.s3_put_bytes += len(body) if isinstance(body, bytes | str) else 0
                else:
                    m.s3_gets += 1
        elif service == "kms":
            with self._lock:
                m.kms_requests += 1
        return saved(client, operation, params)

    def _dynamodb(self, saved: Callable[..., Any], client: Any, operation: str, params: dict[str, Any]) -> Any:
        m = self.meter
        table = params.get("TableName", "")
        if operation in self.WRITES:
            key = _key_of(params)
            old = self._get(saved, client, table, key) if key else None
            try:
                return saved(client, operation, params)
            finally:
                new = (
                    params.get("Item")
                    if operation == "PutItem"
                    else (self._get(saved, client, table, key) if key and operation == "UpdateItem" else None)
                )
                written = self._write_units(old, new)
                with self._lock:
                    m.ddb_wru += written
                    m.ddb_by_item[_family(str((key or {}).get("sk", {}).get("S", "")))] += written
        if operation == "TransactWriteItems":
            sized = []
            for entry in params.get("TransactItems", []):
                kind, body = next(iter(entry.items()))
                key = _key_of(body)
                tbl = body.get("TableName", table)
                old = self._get(saved, client, tbl, key) if key else None
                sized.append((kind, body, key, tbl, old))
            try:
                return saved(client, operation, params)
            finally:
                for kind, body, key, tbl, old in sized:
                    new = body.get("Item") if kind == "Put" else self._get(saved, client, tbl, key) if key else None
                    doubled = 2 * self._write_units(old, new) if kind != "ConditionCheck" else 2.0
                    with self._lock:
                        m.ddb_wru += doubled
                        m.ddb_by_item[_family(str((key or {}).get("sk", {}).get("S", "")))] += doubled
        result = saved(client, operation, params)
        consistent = bool(params.get("ConsistentRead"))
        units: float
        if operation == "GetItem":
            units = _units(item_size(result.get("Item")), 4096) * (1.0 if consistent else 0.5)
            key = params.get("Key", {})
        elif operation in ("Query", "Scan"):
            size = sum(item_size(i) for i in result.get("Items", []))
            units = _units(size, 4096) * (1.0 if consistent else 0.5)
            key = {"sk": {"S": f"{operation}#{params.get('IndexName', 'table')}"}}
        elif operation == "BatchGetItem":
            units = sum(
                _units(item_size(i), 4096) * 0.5 for items in result.get("Responses", {}).values() for i in items
            )
            key = {"sk": {"S": "BatchGet"}}
        else:
            return result
        with self._lock:
            m.ddb_rru += units
            m.ddb_by_item[_family(str(key.get("sk", {}).get("S", "")))] += units
        return result


def _sqs_chunks(operation: str, params: dict[str, Any]) -> int:
    """Billed SQS requests: every 64 KB chunk of a request's payload is one request."""

    def size(entry: dict[str, Any]) -> int:
        attrs = entry.get("MessageAttributes") or {}
        extra = sum(
            len(k) + len(str(v.get("DataType", ""))) + len(str(v.get("StringValue", ""))) for k, v in attrs.items()
        )
        return len(str(entry.get("MessageBody", "")).encode()) + extra

    if operation == "SendMessage":
        return _units(size(params), 65536)
    if operation == "SendMessageBatch":
        return _units(sum(size(e) for e in params.get("Entries", [])), 65536)
    return 1


# ------------------------------------------------------------------ the run


@dataclass
class Measured:
    meter: Meter
    daily: Meter
    changes: int
    deliveries: dict[str, int]
    memory_mb: dict[str, int]
    log_bytes: int
    metric_names: set[str]
    sweep_runs: int
    simulated_seconds: float
    real_seconds: float
    invoices: int
    mix: list[tuple[str, int]]
    api_calls: dict[str, int]


def _timed(fn: Any, holder: AwsMeter) -> None:
    """Time every invocation of a hosted function (the local wall time; see the module doc)."""
    original = fn.invoke
    name = fn.spec.logical_id

    def invoke(event: Any) -> Any:
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return original(event)
        finally:
            meter = holder.meter
            if meter.active:
                meter.invocations[name] += 1
                meter.durations[name].append((time.perf_counter() - t0, time.thread_time() - c0))

    fn.invoke = invoke


def _emf_metrics(output: str) -> set[str]:
    """Distinct (namespace, metric, dimensions) in the functions' EMF lines: CloudWatch bills each."""
    found: set[str] = set()
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        for directive in doc.get("_aws", {}).get("CloudWatchMetrics", []):
            for dims in directive.get("Dimensions", [[]]) or [[]]:
                dim_values = ",".join(f"{d}={doc.get(d)}" for d in dims)
                for metric in directive.get("Metrics", []):
                    found.add(f"{directive.get('Namespace')}/{metric.get('Name')}[{dim_values}]")
    return found


def day_plan(changes: int) -> list[str]:
    """The mix scaled to ``changes``, interleaved round-robin as a day would bring them."""
    scale = changes / sum(n for _, n in MIX)
    remaining = {what: round(n * scale) for what, n in MIX}
    plan: list[str] = []
    while any(remaining.values()):
        for what, _ in MIX:
            if remaining[what]:
                plan.append(what)
                remaining[what] -= 1
    return plan


@dataclass
class Firm:
    """The firm's state while the day runs: who its clients are, what is open, what was approved."""

    world: Any
    matters: list[tuple[int, int]]
    open_entries: list[tuple[Any, int, int]] = field(default_factory=list)
    drafts: list[Any] = field(default_factory=list)
    approved: list[str] = field(default_factory=list)

    def change(self, what: str, n: int) -> None:
        """Make the ``n``-th change of the day, of kind ``what``, as a user in Clio or Xero would."""
        from clio_xero_tools.sandbox.clio import domain

        clio = self.world.sandboxes.clio
        client_id, matter_id = self.matters[n % len(self.matters)]
        if what.startswith("time entry recorded"):
            body = {"matter": {"id": matter_id}, "type": "TimeEntry", "quantity": 1800, "price": 250}
            entry = clio.act_create("activities", {**body, "tax_setting": "tax_1_only"})
            self.open_entries.append((entry, client_id, matter_id))
        elif what.startswith("time entry edited") and self.open_entries:
            clio.act_update("activities", self.open_entries[n % len(self.open_entries)][0], {"quantity": 2400})
        elif what.startswith("contact edited"):
            contact = domain.require(clio.store, "contacts", client_id)
            clio.act_update("contacts", contact, {"title": f"Title {n % 7}"})
        elif what.startswith("contact created"):
            clio.act_create("contacts", {"type": "Person", "first_name": "New", "last_name": f"Person {n}"})
        elif what.startswith("bill drafted"):
            self._draft(client_id, matter_id)
        elif what.startswith("bill approved") and self.drafts:
            bill = self.drafts.pop(0)
            clio.act_update("bills", bill, {"state": "awaiting_payment"})
            self.approved.append(str(bill.attrs["number"]))
        elif what.startswith("payment recorded"):
            self._pay()

    def _draft(self, client_id: int, matter_id: int) -> None:
        """A draft bill over up to three of the matter's unbilled time entries (or a fixed fee)."""
        mine = [e for e in self.open_entries if e[2] == matter_id][:3]
        for entry in mine:
            self.open_entries.remove(entry)
        ids = [e[0].id for e in mine]
        lines = [] if ids else [{"description": "Advice", "price": 300, "quantity": 1}]
        self.drafts.append(
            self.world.sandboxes.clio.create_bill(
                client_id=client_id, matter_ids=[matter_id], activity_ids=ids, line_items=lines
            )
        )

    def _pay(self) -> None:
        """A bookkeeper records part of a payment in Xero against the oldest open invoice."""
        xero, tenant = self.world.sandboxes.xero, self.world.tenant_id
        with xero.store.lock:
            due = [
                d
                for d in xero.store.orgs[tenant].invoices.values()
                if d.type == "ACCREC" and d.status == "AUTHORISED" and d.amount_due > 0
            ]
        if due:
            xero.admin.record_payment(tenant, {"Invoice": {"InvoiceID": due[0].doc_id}, "Amount": "10.00"})

    def invoiced(self) -> int:
        xero = self.world.sandboxes.xero
        with xero.store.lock:
            sent = {d.number for d in xero.store.orgs[self.world.tenant_id].invoices.values()}
        return sum(1 for number in self.approved if number in sent)


def _set_up(world: Any, clock: ManualClock) -> Firm:
    """The firm before the day: its clients, each with a matter, linked to Xero (not metered)."""
    from clio_xero_tools.sandbox.clio import domain

    world.xero_user_call("PUT", "/Currencies", {"Code": "USD"})
    clio = world.sandboxes.clio
    with clio.store.lock, clio.store.muted():
        matters = []
        for i in range(CLIENTS):
            client = domain.create_contact(clio.store, {"type": "Company", "name": f"Firm Client {i:02d} Ltd"})
            matters.append((client.id, domain.create_matter(clio.store, {"client": {"id": client.id}}).id))
    world.pump()
    for client_id, _ in matters:  # their first sync is set-up, not the day's work
        clio.act_update("contacts", domain.require(clio.store, "contacts", client_id), {"title": "Ms"})
        clock.advance(5)
        world.pump()
    return Firm(world=world, matters=matters)


def _step(world: Any, clock: ManualClock, seconds: float) -> int:
    """Let ``seconds`` pass for everything (sandboxes, SQS delays, schedules), then settle."""
    clock.advance(seconds)
    world.runtime.advance_queue_time(seconds)
    world.runtime.scheduler.run_due()
    try:
        return int(world.pump(max_rounds=10))
    except RuntimeError:  # still busy (a record waiting out a rate limit): the next step goes on
        return 1


def run_day(changes: int = 500) -> Measured:
    """Drive ``changes`` changes in the day's mix through the local world and meter them."""
    from bench.intake import moto_fast_sqs_clock
    from clio_xero_tools.local.scheduler import scheduled_event
    from clio_xero_tools.local.world import local_world

    clock = ManualClock(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    settings = ConnectionSettings(
        contact_scope=ContactScope.ALL, sync_bills=True, tax_type_primary="OUTPUT", use_clio_category_codes=False
    )
    meter = Meter()
    aws = AwsMeter(meter)
    output = io.StringIO()
    plan = day_plan(changes)
    t_start = time.perf_counter()
    with (
        moto_fast_sqs_clock(),
        aws.installed(),
        local_world(settings=settings, function_output=output, clock=clock) as world,
    ):
        runtime = world.runtime
        for fn in runtime.functions.values():
            _timed(fn, aws)
        firm = _set_up(world, clock)
        clio, xero = world.sandboxes.clio, world.sandboxes.xero
        output.seek(0)
        output.truncate()
        clio.request_log.clear()
        xero.request_log.clear()
        meter.active = True
        sim0 = clock.now()
        for n, what in enumerate(plan):
            firm.change(what, n)
            _step(world, clock, SECONDS_APART)
        for _ in range(30):  # let retries and delayed records finish
            if _step(world, clock, 30) == 0:
                break
        meter.active = False
        api_calls = {"clio": len(clio.request_log.entries()), "xero": len(xero.request_log.entries())}
        simulated = (clock.now() - sim0).total_seconds()
        day_log = output.getvalue()
        # Once a day: every other scheduled function, each run once on its own meter.
        daily = Meter(active=True)
        aws.meter = daily
        for job in runtime.scheduler.jobs:
            if job.source.interval_seconds >= 86_400:
                with contextlib.suppress(Exception):
                    job.function.invoke(scheduled_event(job.function.spec.logical_id, clock.now()))
        daily.active = False
        aws.meter = meter
        sweep_runs = sum(j.runs for j in runtime.scheduler.jobs if "Sweep" in j.function.spec.logical_id)
        memory = {fid: f.spec.memory_mb for fid, f in runtime.functions.items()}
        invoiced = firm.invoiced()
    return Measured(
        meter=meter,
        daily=daily,
        changes=len(plan),
        deliveries={
            "clio": meter.invocations.get("ClioWebhookFunction", 0),
            "xero": meter.invocations.get("XeroWebhookFunction", 0),
        },
        memory_mb=memory,
        log_bytes=len(day_log.encode()),
        metric_names=_emf_metrics(day_log),
        sweep_runs=sweep_runs,
        simulated_seconds=simulated,
        real_seconds=time.perf_counter() - t_start,
        invoices=invoiced,
        mix=[(what, sum(1 for p in plan if p == what)) for what, _ in MIX],
        api_calls=api_calls,
    )


# ------------------------------------------------------------------ pricing

FULL_VCPU_MB = 1769  # Lambda gives one full vCPU at 1,769 MB, a proportional share below
PLATFORM_LOG_BYTES = 300  # START/END/REPORT lines Lambda writes per invocation (modelled)
RETENTION_DAYS = 30  # DeliveryRetentionDays' default in template.yaml
#: Lambda's SQS poller long-polls an empty queue (20 s waits); the poller count while idle is not
#: published: 5 is the figure AWS has given for the start of scaling. UNCONFIRMED, modelled.
IDLE_POLLERS = 5
#: DynamoDB (SSE with our key) and S3 (bucket key on) ask KMS for data keys themselves; about one
#: call per 5 minutes per caller role each (3 busy roles). UNCONFIRMED, modelled.
SERVICE_KMS_CALLS = 3 * 12 * 24 * 30
#: A Clio or Xero call over the internet takes longer than one to a sandbox on loopback; the
#: worker's Lambda waits (and is billed) for the difference. UNCONFIRMED, modelled.
API_CALL_SECONDS = 0.15
ISSUE_SERVICES = ("Lambda", "SQS", "DynamoDB", "S3", "KMS")


@dataclass
class Line:
    service: str
    what: str
    quantity: float  # a month
    price: str  # a key of PRICES
    note: str = ""
    fixed: bool = False  # does not grow with changes


def billed_seconds(wall: float, cpu: float, memory_mb: int) -> float:
    """Lambda duration for one invocation measured locally: the CPU part stretched by the CPU
    share the memory size buys (a full core here), the waiting part as measured (a model)."""
    share = min(1.0, memory_mb / FULL_VCPU_MB)
    cpu = min(cpu, wall)
    return cpu / share + (wall - cpu)


def lines_for(m: Measured) -> list[Line]:
    factor = MONTH_CHANGES / m.changes
    day, daily = m.meter, m.daily
    invocations = sum(day.invocations.values()) * factor + sum(daily.invocations.values()) * 30
    gb_s = 0.0
    for meter, scale in ((day, factor), (daily, 30.0)):
        for fid, samples in meter.durations.items():
            mem = m.memory_mb.get(fid, 256)
            gb_s += sum(billed_seconds(w, c, mem) for w, c in samples) * mem / 1024 * scale
    worker_mb = m.memory_mb.get("SyncWorkerFunction", 512)
    api_wait_gb_s = sum(m.api_calls.values()) * API_CALL_SECONDS * worker_mb / 1024 * factor
    api_requests = (day.invocations["ClioWebhookFunction"] + day.invocations["XeroWebhookFunction"]) * factor
    worker = day.invocations["SyncWorkerFunction"] * factor
    scheduled = (day.invocations["SweepFunction"]) * factor + sum(daily.invocations.values()) * 30
    log_gb = (m.log_bytes + PLATFORM_LOG_BYTES * sum(day.invocations.values())) * factor / 1e9
    s3_gb = day.s3_put_bytes * factor / 30 * RETENTION_DAYS / 1e9

    def both(attr: str) -> float:
        return float(getattr(day, attr)) * factor + float(getattr(daily, attr)) * 30

    kms_app = both("kms_requests")
    return [
        Line("Lambda", "invocations (every function)", invocations, "lambda_requests"),
        Line("Lambda", "compute, arm64 (modelled from local CPU and wall time)", gb_s, "lambda_gb_s"),
        Line(
            "Lambda",
            f"compute waiting on Clio and Xero ({sum(m.api_calls.values())} calls in the run, "
            f"{API_CALL_SECONDS * 1000:.0f} ms each at the worker's memory)",
            api_wait_gb_s,
            "lambda_gb_s",
            "UNCONFIRMED, modelled",
        ),
        Line(
            "SQS", "FIFO requests: send, receive (with messages), delete, visibility", both("sqs_requests"), "sqs_fifo"
        ),
        Line(
            "SQS",
            f"idle long polls of the worker's poller ({IDLE_POLLERS} x 3 a minute)",
            IDLE_POLLERS * 3 * 60 * 24 * 30,
            "sqs_fifo",
            "UNCONFIRMED, modelled",
            fixed=True,
        ),
        Line("DynamoDB", "write request units (sized from the items)", both("ddb_wru"), "ddb_wru"),
        Line("DynamoDB", "read request units (sized from the items)", both("ddb_rru"), "ddb_rru"),
        Line("S3", "PUT/LIST (the raw delivery archive)", both("s3_puts"), "s3_put"),
        Line("S3", "GET", both("s3_gets"), "s3_get"),
        Line("S3", f"storage, {RETENTION_DAYS} days of deliveries", s3_gb, "s3_gb_month"),
        Line("KMS", "requests by our code (token decrypts, cached per container)", kms_app, "kms_request"),
        Line(
            "KMS",
            "requests by DynamoDB and S3 for their data keys",
            SERVICE_KMS_CALLS,
            "kms_request",
            "UNCONFIRMED, modelled",
            fixed=True,
        ),
        Line(
            "KMS",
            "the customer managed key (none with ExistingDataKeyArn: a key shared or already there)",
            1,
            "kms_key",
            fixed=True,
        ),
        Line("API Gateway", "HTTP API requests (webhook deliveries)", api_requests, "apigw_http"),
        Line("CloudWatch", "logs ingested, GB (functions' JSON + platform lines)", log_gb, "logs_gb"),
        Line(
            "CloudWatch",
            "custom metrics (EMF, distinct name+dimensions seen)",
            len(m.metric_names),
            "cw_metric",
            fixed=True,
        ),
        Line("CloudWatch", "alarms in template.yaml", ALARMS, "cw_alarm", fixed=True),
        Line(
            "X-Ray",
            "traces (Tracing: Active; every request sampled at this rate)",
            api_requests + worker + scheduled,
            "xray_trace",
            "modelled: one trace per invocation",
        ),
        Line(
            "SSM",
            "standard SecureString parameters",
            sum(n for (s, _), n in day.calls.items() if s == "ssm") * factor
            + sum(n for (s, _), n in daily.calls.items() if s == "ssm") * 30,
            "ssm_standard",
        ),
    ]


ALARMS = 8


def price(lines: list[Line]) -> list[tuple[Line, float, float]]:
    """Each line's dollars without and with the always-free allowances (shared per price key, in
    the order listed)."""
    left = {key: p[2] for key, p in PRICES.items()}
    out = []
    for line in lines:
        unit_price, _, _, _ = PRICES[line.price]
        free = min(left[line.price], line.quantity)
        left[line.price] -= free
        out.append((line, line.quantity * unit_price, (line.quantity - free) * unit_price))
    return out


def _qty(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:,.2f}".rstrip("0").rstrip(".") if x else "0"


def _dollars(x: float) -> str:
    return f"${x:,.2f}" if x >= 0.01 or x == 0 else f"${x:,.3f}"


def _per_change(x: float) -> str:
    return f"{x / MONTH_CHANGES:.3g}"


def report(m: Measured) -> tuple[str, list[tuple[str, bool]], dict[str, float]]:
    priced = price(lines_for(m))
    rows = []
    for line, raw, free in priced:
        unit_price, unit, _, _ = PRICES[line.price]
        per_million = unit_price < 1e-3
        rows.append(
            [
                line.service,
                line.what + (f" ({line.note})" if line.note else ""),
                "fixed" if line.fixed else _per_change(line.quantity),
                _qty(line.quantity),
                f"${unit_price * (1e6 if per_million else 1):,.4g}{' / M' if per_million else ''} per {unit}",
                _dollars(raw),
                _dollars(free),
            ]
        )
    issue = [(li, r, f) for li, r, f in priced if li.service in ISSUE_SERVICES]
    variable = [(li, r, f) for li, r, f in issue if not li.fixed]
    totals = {
        "issue_variable": sum(r for _, r, _ in variable),
        "issue_variable_free": sum(f for _, _, f in variable),
        "issue_all": sum(r for _, r, _ in issue),
        "issue_all_free": sum(f for _, _, f in issue),
        "bill": sum(r for _, r, _ in priced),
        "bill_free": sum(f for _, _, f in priced),
    }
    rows += [
        [
            "**sum**",
            "Lambda, SQS, DynamoDB, S3, KMS: the part that grows with changes",
            "",
            "",
            "",
            f"**{_dollars(totals['issue_variable'])}**",
            f"**{_dollars(totals['issue_variable_free'])}**",
        ],
        [
            "**sum**",
            "the same five services, fixed parts included (the KMS key's $1)",
            "",
            "",
            "",
            f"**{_dollars(totals['issue_all'])}**",
            f"**{_dollars(totals['issue_all_free'])}**",
        ],
        [
            "**sum**",
            "the whole bill (API Gateway, CloudWatch, X-Ray too)",
            "",
            "",
            "",
            f"**{_dollars(totals['bill'])}**",
            f"**{_dollars(totals['bill_free'])}**",
        ],
    ]
    calls = sorted(m.meter.calls.items(), key=lambda kv: -kv[1])
    call_rows = [[f"{svc} {op}", n, f"{n / m.changes:.2f}"] for (svc, op), n in calls]
    ddb_rows = [
        [k, f"{v:.0f}", f"{v / m.changes:.2f}"]
        for k, v in sorted(m.meter.ddb_by_item.items(), key=lambda kv: -kv[1])[:12]
    ]
    fn_rows = []
    for fid, samples in sorted(m.meter.durations.items()):
        mem = m.memory_mb.get(fid, 256)
        walls = sorted(w for w, _ in samples)
        cpu = sum(c for _, c in samples) / len(samples)
        billed = sum(billed_seconds(w, c, mem) for w, c in samples) / len(samples)
        fn_rows.append(
            [
                fid,
                len(samples),
                f"{len(samples) / m.changes:.2f}",
                mem,
                f"{walls[len(walls) // 2] * 1000:.0f} ms",
                f"{walls[-1] * 1000:.0f} ms",
                f"{cpu * 1000:.0f} ms",
                f"{billed * 1000:.0f} ms",
            ]
        )
    body = "\n\n".join(
        [
            (__doc__ or "").split("\n\n", 1)[1].strip() if __doc__ else "",
            "**The day's mix** (scaled to the run's size; interleaved, one change every "
            f"{SECONDS_APART:.1f} s simulated, the rate of {DAY_CHANGES:,} a day; the firm's {CLIENTS} clients are "
            "linked before the day starts):",
            table(["change", "count"], m.mix),
            table(
                ["", "result"],
                [
                    [
                        "changes made / invoices that had to appear / appeared",
                        f"{m.changes} / {sum(n for w, n in m.mix if w.startswith('bill approved'))} / {m.invoices}",
                    ],
                    ["webhook deliveries received: Clio / Xero", f"{m.deliveries['clio']} / {m.deliveries['xero']}"],
                    ["sweep runs (every 15 minutes, simulated)", str(m.sweep_runs)],
                    ["Clio / Xero API calls (all functions)", f"{m.api_calls['clio']} / {m.api_calls['xero']}"],
                    ["simulated / real time", f"{m.simulated_seconds:.0f} s / {m.real_seconds:.0f} s"],
                    [
                        "empty receives of the local poller (not billed as such; idle polling is modelled)",
                        str(m.meter.empty_receives),
                    ],
                ],
            ),
            "**AWS calls metered** (the functions' and the poller's; per change = over the changes made):",
            table(["service operation", "calls", "per change"], call_rows),
            "**DynamoDB request units by item** (write + read units):",
            table(["item (sort-key family)", "units", "per change"], ddb_rows),
            "**Lambda invocations** (local wall time; CPU = the invoking thread's CPU time; billed = the model "
            f"in `billed_seconds`: CPU time / (memory / {FULL_VCPU_MB} MB) + waiting time):",
            table(
                ["function", "invocations", "per change", "MB", "wall p50", "wall max", "CPU mean", "billed mean"],
                fn_rows,
            ),
            f"**A month at {DAY_CHANGES:,} changes a day ({MONTH_CHANGES:,} changes)**, priced at us-east-1 list "
            "prices for arm64, without and with the always-free allowances (Lambda 1 M requests and 400,000 GB-s, "
            "SQS 1 M requests, KMS 20,000 requests, CloudWatch 10 metrics, 10 alarms and 5 GB of logs, X-Ray "
            "100,000 traces; DynamoDB on-demand requests, S3 and API Gateway have none that lasts past the "
            "first year):",
            table(["service", "what", "per change", "a month", "price", "no free tier", "with always-free"], rows),
            "**Prices and sources** (copied 2026-12-06 from what these pages said at their last known revision; "
            "not re-read live from this machine: UNCONFIRMED for today's date):",
            table(
                ["price", "unit", "always free a month", "source"],
                [[f"${p:.10g}", unit, _qty(allow), src] for p, unit, allow, src in PRICES.values()],
            ),
        ]
    )
    targets = [
        (
            f"the five services' per-change part under ${TARGET_DOLLARS:.0f} a month, no free tier "
            f"(was {_dollars(totals['issue_variable'])})",
            totals["issue_variable"] < TARGET_DOLLARS,
        ),
        (
            f"the same with the always-free allowances under ${TARGET_DOLLARS:.0f} a month "
            f"(was {_dollars(totals['issue_variable_free'])})",
            totals["issue_variable_free"] < TARGET_DOLLARS,
        ),
        (
            f"every approved bill invoiced ({m.invoices} of "
            f"{sum(n for w, n in m.mix if w.startswith('bill approved'))})",
            m.invoices == sum(n for w, n in m.mix if w.startswith("bill approved")),
        ),
    ]
    return body, targets, totals


def run(opts: RunOptions) -> Section:
    measured = run_day(100 if opts.quick else 500)
    body, targets, _ = report(measured)
    return Section(title=f"AWS cost a month ({DAY_CHANGES:,} changes a day, metered)", body=body, targets=targets)
