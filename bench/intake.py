"""Webhook intake through the local runtime: warm latency of the Xero receiver, and sustained load.

Everything goes over loopback HTTP exactly as ``make demo`` does: httpx → the local HTTP API →
the handler (in this process) → moto's server over HTTP for DynamoDB, SSM, S3 and SQS.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.common import TEMPLATE, RunOptions, Section, percentile, quiet_stdout, table
from clio_xero.store.connections import Connection, DynamoConnectionStore
from clio_xero.webhooks.signing import sign_clio, sign_xero
from clio_xero_tools.local.runtime import LocalRuntime, RuntimeOptions

CONNECTION = "bench-firm"
TENANT = "5c1b7a9e-2d4f-4e6a-8b3c-7d9e0f1a2b3c"
SEED = 20261125
STRICT_PURGE = "MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR"

LATENCY_WARMUP = 20
LATENCY_REQUESTS = 300
LATENCY_EVENTS = 10
XERO_DEADLINE_MS = 5000.0  # Xero wants an answer within 5 s (docs/facts-xero.md#webhooks)

SUSTAINED_DELIVERIES = 1000
SUSTAINED_QUICK = 100
SUSTAINED_THREADS = 4
XERO_SHARE = 0.7  # the rest are Clio deliveries
SUSTAINED_CHUNK = 100  # the queue is counted and purged between chunks (see moto_fast_sqs_clock)
QUEUE_WAIT_SECONDS = 30.0  # bounded wait for the queue count to settle (moto is synchronous)

CLIO_HOOKS = {"contact": (201, "bench-clio-secret-201"), "bill": (202, "bench-clio-secret-202")}
_XERO_KINDS = (("CONTACT", "Contacts"), ("INVOICE", "Invoices"), ("CREDITNOTE", "CreditNotes"))


@dataclass(frozen=True)
class Delivery:
    """One signed webhook request and how many events it should put on the queue."""

    path: str
    body: bytes
    headers: dict[str, str]
    events: int
    source: str


@dataclass
class Outcome:
    statuses: list[int] = field(default_factory=list)


def xero_delivery(key: str, events: int, rng: random.Random, at: datetime) -> Delivery:
    """A signed Xero delivery of ``events`` events, each on its own new record (no dedup merges)."""
    items = []
    for i in range(events):
        category, resource = rng.choice(_XERO_KINDS)
        record = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        items.append(
            {
                "resourceUrl": f"https://api.xero.com/api.xro/2.0/{resource}/{record}",
                "resourceId": record,
                "eventDateUtc": (at + timedelta(milliseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
                "eventType": rng.choice(("CREATE", "UPDATE")),
                "eventCategory": category,
                "tenantId": TENANT,
                "tenantType": "ORGANISATION",
            }
        )
    body = json.dumps(
        {"events": items, "firstEventSequence": 1, "lastEventSequence": events, "entropy": uuid.uuid4().hex}
    ).encode()
    headers = {"content-type": "application/json", "x-xero-signature": sign_xero(body, key)}
    return Delivery("/webhooks/xero", body, headers, events, "xero")


def clio_delivery(model: str, record_id: int) -> Delivery:
    """A signed Clio delivery for a new record id and etag (one event)."""
    webhook_id, secret = CLIO_HOOKS[model]
    body = json.dumps(
        {
            "data": {"id": record_id, "etag": f'"{record_id}-{uuid.uuid4().hex[:8]}"'},
            "meta": {"event": "updated", "webhook_id": webhook_id},
        }
    ).encode()
    headers = {"content-type": "application/json", "X-Hook-Signature": sign_clio(body, secret)}
    return Delivery(f"/webhooks/clio/{CONNECTION}?model={model}", body, headers, 1, "clio")


@contextmanager
def moto_fast_sqs_clock() -> Iterator[None]:
    """Let moto's SQS read the clock with ``time.time()`` instead of two datetime round trips.

    moto (in this process, behind its HTTP server) recomputes every queued message's visibility
    and delay from the wall clock several times per message sent, through ``unix_time_millis()``
    (``datetime`` arithmetic, about 4 us a call). Real SQS has no such O(queue depth) cost. The
    replacement returns the same value (milliseconds since the epoch) about 30x faster; moto's
    behaviour is otherwise unchanged. Its purge cool-down (60 s, as in AWS) is lifted too, so the
    benchmarks can empty the queue between measured units.
    """
    from moto.sqs import models

    saved_clock: Callable[..., float] = vars(models)["unix_time_millis"]
    saved_env = os.environ.get(STRICT_PURGE)

    def fast_clock(dt: datetime | None = None) -> float:
        return time.time() * 1000.0 if dt is None else saved_clock(dt)

    setattr(models, "unix_time_millis", fast_clock)  # noqa: B010 - moto does not export it
    os.environ[STRICT_PURGE] = "false"
    try:
        yield
    finally:
        setattr(models, "unix_time_millis", saved_clock)  # noqa: B010
        if saved_env is None:
            os.environ.pop(STRICT_PURGE, None)
        else:
            os.environ[STRICT_PURGE] = saved_env


@contextmanager
def local_stack(name: str) -> Iterator[LocalRuntime]:
    """The local runtime (no pollers, no scheduler) with one connection for :data:`TENANT`.

    moto's state lives in this process and outlives its server, so every benchmark gets its own
    stack name and resets moto when done. Functions log at the template's default level (INFO) to
    stdout, which goes to /dev/null meanwhile: every log and metric line is still formatted and written.
    """
    options = RuntimeOptions(template=TEMPLATE, stack_name=name, poll=False, schedule=False)
    with moto_fast_sqs_clock(), quiet_stdout(), LocalRuntime(options) as runtime:
        try:
            store = DynamoConnectionStore(runtime.physical_id("Table"), runtime.client("dynamodb"))
            store.put_new(Connection(connection_id=CONNECTION, xero_tenant_id=TENANT, created_at=datetime.now(UTC)))
            yield runtime
        finally:
            httpx.post(f"{runtime.aws_endpoint}/moto-api/reset", timeout=30)


def post(http: httpx.Client, delivery: Delivery) -> int:
    return http.post(delivery.path, content=delivery.body, headers=delivery.headers).status_code


def fmt(value: float) -> str:
    return f"{value:.1f}"


MOTO_NOTE = (
    "**moto's SQS.** moto re-derives every queued message's visibility and delay from the wall clock "
    "(through `datetime`) several times for each message sent, so a send costs O(queue depth): with "
    "3,000 messages queued a 10-message batch took over 1 s on this machine, and the measurements "
    "would show moto's queue growing rather than the intake. Real SQS has no such cost. So the "
    "benchmarks (a) give moto's SQS a `time.time()` clock helper returning the same value about 30x "
    "faster (`bench/intake.py: moto_fast_sqs_clock`; moto's logic is unchanged) and (b) empty the "
    "queue, untimed, between measured units, lifting moto's 60 s purge cool-down for that."
)


# ------------------------------------------------------------------------------ warm latency
def run_latency(opts: RunOptions) -> Section:
    del opts  # the same on --quick: 300 requests take seconds
    rng = random.Random(SEED)
    with local_stack("bench-latency") as runtime, httpx.Client(base_url=runtime.api_url, timeout=10) as http:
        sqs = runtime.client("sqs")
        queue_url = runtime.queue_url("SyncQueue")
        now = datetime.now(UTC)
        deliveries = [
            xero_delivery(runtime.xero_webhook_key, LATENCY_EVENTS, rng, now)
            for _ in range(LATENCY_WARMUP + LATENCY_REQUESTS)
        ]
        statuses: list[int] = []
        timings: list[float] = []  # every request; the first LATENCY_WARMUP are dropped below
        for delivery in deliveries:
            start = time.perf_counter()
            status = post(http, delivery)
            timings.append((time.perf_counter() - start) * 1000)
            statuses.append(status)
            sqs.purge_queue(QueueUrl=queue_url)  # untimed: every request meets an empty queue
    first_ms, timings = timings[0], timings[LATENCY_WARMUP:]
    all_ok = all(s == 200 for s in statuses)
    p50, p95, p99 = (percentile(timings, p) for p in (50, 95, 99))
    worst = max(timings)
    targets = [
        (f"every Xero delivery answered 200 ({statuses.count(200)}/{len(statuses)})", all_ok),
        (
            f"Xero receiver warm p99 < {XERO_DEADLINE_MS:.0f} ms, Xero's answer deadline ({p99:.1f} ms)",
            p99 < XERO_DEADLINE_MS,
        ),
    ]
    body = "\n\n".join(
        [
            f"A signed Xero delivery of {LATENCY_EVENTS} events (each on a new record) posted to "
            "`POST /webhooks/xero` of the local runtime (`LocalRuntime(RuntimeOptions(poll=False, "
            "schedule=False))` over `template.yaml`, a connection whose `xero_tenant_id` matches the events) "
            f"with one httpx client over loopback, one request at a time: {LATENCY_WARMUP} warm-up requests "
            f"(the first is the function's first invocation in this process: boto3 and pydantic are already "
            "imported by the runtime, so it shows the handler import and AWS client set-up, not a Lambda cold "
            "start), then {LATENCY_REQUESTS} timed "
            "requests (`time.perf_counter()` around each POST; bodies and signatures are built beforehand). "
            "After each request, untimed, the queue is purged, so every request meets the same empty queue "
            "(moto's SQS costs O(queue depth) per message sent; see *moto's SQS* below).",
            "Each request does the whole intake: signature check (key from SSM, cached), one DynamoDB query "
            "for the tenant, the raw delivery archived (a table item; S3 for a large one) and one "
            "`SendMessageBatch` of 10 events to the "
            "FIFO queue, plus the Powertools log line and metrics. **The numbers include moto over HTTP** "
            "(DynamoDB query and archive, SQS send) and the local HTTP API server, all on this machine and "
            "mostly in this one Python process: they are not AWS latencies.",
            MOTO_NOTE,
            table(
                ["timed requests", "p50 ms", "p95 ms", "p99 ms", "max ms", "first request ms"],
                [[LATENCY_REQUESTS, fmt(p50), fmt(p95), fmt(p99), fmt(worst), fmt(first_ms)]],
            ),
        ]
    )
    return Section("Xero receiver warm latency (10-event delivery, local runtime)", body, targets)


# ------------------------------------------------------------------------------ sustained intake
def sustained_deliveries(key: str, count: int, rng: random.Random) -> list[Delivery]:
    now = datetime.now(UTC)
    record_ids = iter(range(1_000_000, 2_000_000))
    out: list[Delivery] = []
    for _ in range(count):
        if rng.random() < XERO_SHARE:
            out.append(xero_delivery(key, rng.randint(1, 10), rng, now))
        else:
            out.append(clio_delivery(rng.choice(sorted(CLIO_HOOKS)), next(record_ids)))
    return out


def activate_clio_hooks(http: httpx.Client, runtime: LocalRuntime) -> None:
    """The Clio activation handshake for each benchmark webhook (not timed). The receiver accepts
    a handshake only for a webhook registration said it awaits, so that is recorded first."""
    for model, (webhook_id, secret) in CLIO_HOOKS.items():
        runtime.expect_clio_activation(CONNECTION, model, str(webhook_id))
        response = http.post(
            f"/webhooks/clio/{CONNECTION}?model={model}",
            content=json.dumps({"data": {"webhook_id": webhook_id}}).encode(),
            headers={"content-type": "application/json", "X-Hook-Secret": secret},
        )
        if response.status_code != 200:
            raise RuntimeError(f"Clio handshake for {model} answered {response.status_code}")


class Sender:
    """A pool of threads, each with its own httpx client, posting deliveries."""

    def __init__(self, base_url: str, threads: int) -> None:
        self._base_url = base_url
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bench-sender")

    def _send(self, delivery: Delivery) -> int:
        http: httpx.Client | None = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = httpx.Client(base_url=self._base_url, timeout=30)
            with self._lock:
                self._clients.append(http)
        return post(http, delivery)

    def send(self, deliveries: list[Delivery]) -> tuple[list[int], float]:
        """POST every delivery; their statuses (in order) and the wall seconds it took."""
        start = time.perf_counter()
        statuses = list(self._pool.map(self._send, deliveries))
        return statuses, time.perf_counter() - start

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for http in self._clients:
            http.close()


def wait_for(read: Callable[[], int], expected: int, timeout: float) -> tuple[int, float]:
    """Poll ``read`` until it returns ``expected`` or ``timeout`` passes; last value and seconds waited."""
    start = time.perf_counter()
    value = read()
    while value != expected and time.perf_counter() - start < timeout:
        time.sleep(0.05)
        value = read()
    return value, time.perf_counter() - start


QUEUE_COUNTS = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


def queue_counts(sqs: Any, url: str) -> dict[str, int]:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=QUEUE_COUNTS)["Attributes"]
    return {name: int(attrs.get(name, 0)) for name in QUEUE_COUNTS}


def archived(s3: Any, bucket: str, dynamodb: Any, table_name: str) -> int:
    """Archived deliveries: S3 objects (large ones) plus table items (small ones; docs/cost.md)."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="deliveries/")
    objects = sum(int(page.get("KeyCount", 0)) for page in pages)
    items = dynamodb.get_paginator("scan").paginate(
        TableName=table_name,
        FilterExpression="begins_with(pk, :p)",
        ExpressionAttributeValues={":p": {"S": "DELIVERY#"}},
        Select="COUNT",
    )
    return objects + sum(int(page.get("Count", 0)) for page in items)


@dataclass
class Tally:
    statuses: list[int] = field(default_factory=list)
    seconds: float = 0.0
    accepted_deliveries: int = 0
    accepted_events: int = 0
    queued: int = 0  # ApproximateNumberOfMessages summed over the chunks
    in_flight_or_delayed: int = 0
    waited: float = 0.0


def run_sustained(opts: RunOptions) -> Section:
    count = opts.deliveries or (SUSTAINED_QUICK if opts.quick else SUSTAINED_DELIVERIES)
    rng = random.Random(SEED + 1)
    tally = Tally()
    with local_stack("bench-sustained") as runtime:
        with httpx.Client(base_url=runtime.api_url, timeout=10) as http:
            activate_clio_hooks(http, runtime)
        deliveries = sustained_deliveries(runtime.xero_webhook_key, count, rng)
        sqs = runtime.client("sqs")
        queue_url = runtime.queue_url("SyncQueue")
        sender = Sender(runtime.api_url, SUSTAINED_THREADS)
        try:
            for start in range(0, len(deliveries), SUSTAINED_CHUNK):
                chunk = deliveries[start : start + SUSTAINED_CHUNK]
                statuses, seconds = sender.send(chunk)  # the only timed part
                tally.statuses += statuses
                tally.seconds += seconds
                accepted = [d for d, s in zip(chunk, statuses, strict=True) if s == 200]
                events = sum(d.events for d in accepted)
                tally.accepted_deliveries += len(accepted)
                tally.accepted_events += events
                counts: dict[str, int] = {}

                def visible(counts: dict[str, int] = counts) -> int:
                    counts.update(queue_counts(sqs, queue_url))
                    return counts["ApproximateNumberOfMessages"]

                _, waited = wait_for(visible, events, QUEUE_WAIT_SECONDS)
                tally.waited = max(tally.waited, waited)
                tally.queued += counts["ApproximateNumberOfMessages"]
                tally.in_flight_or_delayed += (
                    counts["ApproximateNumberOfMessagesNotVisible"] + counts["ApproximateNumberOfMessagesDelayed"]
                )
                sqs.purge_queue(QueueUrl=queue_url)
        finally:
            sender.close()
        archive_count = archived(
            runtime.client("s3"),
            runtime.physical_id("DeliveryBucket"),
            runtime.client("dynamodb"),
            runtime.physical_id("Table"),
        )
    return sustained_section(opts, deliveries, tally, archive_count)


def sustained_section(opts: RunOptions, deliveries: list[Delivery], tally: Tally, archive_count: int) -> Section:
    sent_events = sum(d.events for d in deliveries)
    xero = sum(1 for d in deliveries if d.source == "xero")
    lost_events = tally.accepted_events - tally.queued
    lost_deliveries = tally.accepted_deliveries - archive_count
    rejected = len(deliveries) - tally.accepted_deliveries
    targets = [
        (f"every delivery accepted with 200 ({tally.accepted_deliveries}/{len(deliveries)})", rejected == 0),
        (
            f"queue count equals accepted events ({tally.queued} = {tally.accepted_events})",
            tally.queued == tally.accepted_events and tally.in_flight_or_delayed == 0,
        ),
        (
            f"archived objects equal accepted deliveries ({archive_count} = {tally.accepted_deliveries})",
            archive_count == tally.accepted_deliveries,
        ),
        (
            f"lost: {max(lost_events, 0)} events, {max(lost_deliveries, 0)} deliveries",
            lost_events <= 0 and lost_deliveries <= 0,
        ),
    ]
    throughput = [
        [
            len(deliveries),
            f"{xero} / {len(deliveries) - xero}",
            sent_events,
            SUSTAINED_THREADS,
            f"{tally.seconds:.1f}",
            f"{len(deliveries) / tally.seconds:.1f}",
            f"{sent_events / tally.seconds:.1f}",
        ]
    ]
    counts = [
        [
            tally.accepted_deliveries,
            tally.accepted_events,
            tally.queued,
            tally.in_flight_or_delayed,
            archive_count,
            max(lost_events, 0),
            f"{tally.waited:.2f}",
        ]
    ]
    body = "\n\n".join(
        [
            f"{len(deliveries)} signed deliveries{' (`--quick`)' if opts.quick else ''} posted to the local "
            f"runtime from a pool of {SUSTAINED_THREADS} threads (one httpx client each): about "
            f"{XERO_SHARE:.0%} Xero deliveries of 1-10 events (uniform), the rest Clio deliveries on two "
            "webhooks activated by the handshake beforehand (untimed). Every event is on its own record with "
            "its own resourceId / etag, so FIFO deduplication merges nothing and the queue must hold exactly "
            "one message per accepted event.",
            f"The deliveries go in chunks of {SUSTAINED_CHUNK}. After each chunk, untimed, the FIFO `SyncQueue` "
            "is counted with `GetQueueAttributes` `ApproximateNumberOfMessages` (polled with a bounded wait "
            f"of {QUEUE_WAIT_SECONDS:.0f} s until it equals the chunk's accepted events; nothing consumes "
            "the queue, pollers are off, and in-flight + delayed must stay 0), then purged; the counts are "
            "summed. At the end the archived deliveries are counted: `DeliveryBucket` objects under "
            "`deliveries/` (`ListObjectsV2`) and the table's `DELIVERY#` items (`Scan`). Throughput is over "
            "the timed sending only.",
            "The local runtime runs one invocation at a time (each function sees its own `os.environ`, as "
            "separate Lambda processes would), so the threads overlap only the HTTP and client work: this "
            "measures the intake path in one Python process with moto, not AWS's parallel scaling.",
            table(
                ["deliveries", "Xero / Clio", "events", "threads", "seconds", "deliveries/s", "events/s"], throughput
            ),
            table(
                [
                    "accepted deliveries",
                    "accepted events",
                    "messages counted",
                    "in flight or delayed",
                    "archived objects",
                    "lost events",
                    "longest count wait s",
                ],
                counts,
            ),
        ]
    )
    return Section("Sustained intake (Xero + Clio deliveries, local runtime)", body, targets)
