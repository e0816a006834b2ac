"""Webhook intake through the real path: HTTP → local API → handler → moto SQS / S3 / DynamoDB / KMS."""

from __future__ import annotations

import base64
import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from clio_xero.admin.stack import OpsStack
from clio_xero.aws.archive import ArchivedDeliveries
from clio_xero.events import SyncEvent
from clio_xero.store.connections import Connection, DynamoConnectionStore
from clio_xero.webhooks.signing import sign_clio, sign_xero
from clio_xero_tools.demo import run_scenario
from clio_xero_tools.local.runtime import LocalRuntime, RuntimeOptions
from clio_xero_tools.ops.replay import Replayer
from tests.conftest import TEMPLATE

pytestmark = pytest.mark.integration
KEY = "e2e-xero-webhook-key-0123456789"
TENANT = "0d5c1c7a-7e4b-4c1f-9a55-2b0c8d9e0f11"


@pytest.fixture(scope="module")
def function_log() -> io.StringIO:
    return io.StringIO()


@pytest.fixture(scope="module")
def runtime(function_log: io.StringIO) -> Iterator[LocalRuntime]:
    options = RuntimeOptions(
        template=TEMPLATE, poll=False, schedule=False, xero_webhook_key=KEY, function_output=function_log
    )
    with LocalRuntime(options) as rt:
        store = DynamoConnectionStore(rt.physical_id("Table"), rt.client("dynamodb"))
        store.put_new(Connection(connection_id="firm1", xero_tenant_id=TENANT, created_at=datetime.now(UTC)))
        for model in ("bill", "contact"):  # what `webhooks register` records before creating them
            rt.expect_clio_activation("firm1", model)
        yield rt


@pytest.fixture
def http(runtime: LocalRuntime) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=runtime.api_url, timeout=10) as client:
        yield client


@pytest.fixture
def queue(runtime: LocalRuntime) -> str:
    url = runtime.queue_url("SyncQueue")
    drain(runtime, url)
    return url


def drain(runtime: LocalRuntime, url: str) -> list[dict[str, Any]]:
    """Receive and delete everything on the queue; returns the messages."""
    sqs = runtime.client("sqs")
    out: list[dict[str, Any]] = []
    for _ in range(50):
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return out
        out.extend(messages)
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        )
    raise AssertionError("queue did not drain")


def rid(name: str) -> str:
    """A Xero resource id (a GUID) named for the test."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def xero_delivery(*resource_ids: str, tenant: str = TENANT) -> bytes:
    events = [
        {
            "resourceUrl": f"https://api.xero.com/api.xro/2.0/Contacts/{rid(name)}",
            "resourceId": rid(name),
            "eventDateUtc": "2026-11-25T08:00:00.000",
            "eventType": "UPDATE",
            "eventCategory": "CONTACT",
            "tenantId": tenant,
            "tenantType": "ORGANISATION",
        }
        for name in resource_ids
    ]
    return json.dumps({"events": events, "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "x"}).encode()


def test_health(http: httpx.Client) -> None:
    response = http.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_xero_intent_to_receive(http: httpx.Client, runtime: LocalRuntime, queue: str) -> None:
    itr = json.dumps({"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "ITR"}).encode()
    good = http.post("/webhooks/xero", content=itr, headers={"x-xero-signature": sign_xero(itr, KEY)})
    bad = http.post("/webhooks/xero", content=itr, headers={"x-xero-signature": sign_xero(itr, "not-the-key")})
    unsigned = http.post("/webhooks/xero", content=itr)
    assert (good.status_code, good.content) == (200, b"")
    assert (bad.status_code, bad.content) == (401, b"")
    assert (unsigned.status_code, unsigned.content) == (401, b"")
    assert drain(runtime, queue) == []


def test_xero_delivery_lands_on_the_queue_as_normalised_events(
    http: httpx.Client, runtime: LocalRuntime, queue: str
) -> None:
    raw = xero_delivery("c-1", "c-2")
    response = http.post("/webhooks/xero", content=raw, headers={"x-xero-signature": sign_xero(raw, KEY)})
    assert (response.status_code, response.content) == (200, b"")
    messages = drain(runtime, queue)
    events = [SyncEvent.model_validate_json(m["Body"]) for m in messages]
    assert sorted(e.record_id for e in events) == sorted([rid("c-1"), rid("c-2")])
    assert {e.connection_id for e in events} == {"firm1"}
    first = next(m for m in messages if rid("c-1") in m["Body"])
    assert first["Attributes"]["MessageGroupId"] == f"firm1#xero:contact:{rid('c-1')}"
    assert first["MessageAttributes"]["record_type"]["StringValue"] == "contact"
    # The raw delivery is archived, byte for byte, for replay (small: a table item, docs/cost.md).
    document = archive(runtime).document(str(events[0].delivery_id))
    assert document is not None
    assert base64.b64decode(document["body_b64"]) == raw
    assert document["headers"]["x-xero-signature"] == sign_xero(raw, KEY)


def archive(runtime: LocalRuntime) -> ArchivedDeliveries:
    return ArchivedDeliveries(
        table_name=runtime.physical_id("Table"),
        dynamodb=runtime.client("dynamodb"),
        bucket=runtime.physical_id("DeliveryBucket"),
        s3=runtime.client("s3"),
    )


def test_small_deliveries_are_table_items_large_ones_s3_objects_and_replay_reads_both(
    http: httpx.Client, runtime: LocalRuntime, queue: str
) -> None:
    small = xero_delivery("small-1")
    large = xero_delivery(*(f"large-{i}" for i in range(60)))  # 60 events: several KB even compressed
    since = datetime.now(UTC) - timedelta(minutes=1)
    for raw in (small, large):
        response = http.post("/webhooks/xero", content=raw, headers={"x-xero-signature": sign_xero(raw, KEY)})
        assert response.status_code == 200
    events = [SyncEvent.model_validate_json(m["Body"]) for m in drain(runtime, queue)]
    small_key = next(str(e.delivery_id) for e in events if e.record_id == rid("small-1"))
    large_key = next(str(e.delivery_id) for e in events if e.record_id == rid("large-0"))
    bucket = runtime.physical_id("DeliveryBucket")
    in_s3 = {o["Key"] for o in runtime.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert large_key in in_s3 and small_key not in in_s3
    for key, raw in ((small_key, small), (large_key, large)):
        document = archive(runtime).document(key)
        assert document is not None and base64.b64decode(document["body_b64"]) == raw

    stack = OpsStack(
        table_name=runtime.physical_id("Table"),
        queue_url=queue,
        dead_letter_queue_url=runtime.queue_url("SyncDeadLetterQueue"),
        delivery_bucket=bucket,
        data_key_arn=runtime.physical_id("DataKey"),
        clients=runtime.client,
        receive_wait_seconds=0,
    )
    report = Replayer(stack).replay(since=since, until=datetime.now(UTC), sources=["xero"], dry_run=True)
    assert report.skipped == {}  # (earlier tests' deliveries may be in the window too)
    replayed = {(e.delivery_id, e.record_id) for e in report.events}
    assert {(e.delivery_id, e.record_id) for e in events} <= replayed  # 61 events, from both places


def test_a_redelivered_xero_event_is_queued_once(http: httpx.Client, runtime: LocalRuntime, queue: str) -> None:
    raw = xero_delivery("dup-1")
    for _ in range(3):
        assert (
            http.post("/webhooks/xero", content=raw, headers={"x-xero-signature": sign_xero(raw, KEY)}).status_code
            == 200
        )
    assert len(drain(runtime, queue)) == 1


def test_events_for_unknown_tenants_are_dropped_with_200(http: httpx.Client, runtime: LocalRuntime, queue: str) -> None:
    raw = xero_delivery("lost", tenant="00000000-0000-0000-0000-000000000000")
    assert (
        http.post("/webhooks/xero", content=raw, headers={"x-xero-signature": sign_xero(raw, KEY)}).status_code == 200
    )
    assert drain(runtime, queue) == []


def test_forged_xero_delivery_is_401_and_nothing_queued(http: httpx.Client, runtime: LocalRuntime, queue: str) -> None:
    raw = xero_delivery("forged")
    assert (
        http.post("/webhooks/xero", content=raw, headers={"x-xero-signature": sign_xero(raw, "guess")}).status_code
        == 401
    )
    assert drain(runtime, queue) == []


def test_clio_handshake_then_signed_delivery(http: httpx.Client, runtime: LocalRuntime, queue: str) -> None:
    secret = "clio-e2e-hook-secret"
    shake = http.post(
        "/webhooks/clio/firm1?model=bill", content=b'{"data":{"webhook_id":321}}', headers={"X-Hook-Secret": secret}
    )
    assert shake.status_code == 200
    assert shake.headers["x-hook-secret"] == secret
    # Stored encrypted: the plaintext appears nowhere in the table.
    items = runtime.client("dynamodb").scan(TableName=runtime.physical_id("Table"))["Items"]
    assert secret.encode() not in json.dumps(items, default=str).encode()
    raw = json.dumps({"data": {"id": 77, "etag": '"abc"'}, "meta": {"event": "updated", "webhook_id": 321}}).encode()
    ok = http.post(
        "/webhooks/clio/firm1?model=bill",
        content=raw,
        headers={"X-Hook-Signature": sign_clio(raw, secret), "content-type": "application/json"},
    )
    assert ok.status_code == 200
    forged = http.post(
        "/webhooks/clio/firm1?model=bill", content=raw, headers={"X-Hook-Signature": sign_clio(raw, "x")}
    )
    assert forged.status_code == 401
    [message] = drain(runtime, queue)
    event = SyncEvent.model_validate_json(message["Body"])
    assert (event.source.value, event.record_type.value, event.record_id, event.action.value) == (
        "clio",
        "bill",
        "77",
        "updated",
    )


@pytest.mark.parametrize(
    ("path", "body", "headers", "status"),
    [
        ("/webhooks/clio/nobody", b"{}", {"X-Hook-Signature": "00"}, 404),
        ("/webhooks/clio/firm1", b"{not json", {"X-Hook-Signature": "00"}, 400),
        ("/webhooks/clio/firm1", b"x" * 1_000_001, {"X-Hook-Signature": "00"}, 413),
        ("/webhooks/clio/firm1", b"{}", {}, 401),
    ],
)
def test_clio_refusals(
    http: httpx.Client, runtime: LocalRuntime, queue: str, path: str, body: bytes, headers: dict[str, str], status: int
) -> None:
    assert http.post(path, content=body, headers=headers).status_code == status
    assert drain(runtime, queue) == []


def test_demo_scenario_passes_on_the_real_path(runtime: LocalRuntime, queue: str) -> None:
    lines: list[str] = []
    steps = run_scenario(runtime, lines.append)
    assert [s.name for s in steps if not s.ok] == []
    assert len(steps) == 13 == len(lines)
    assert len(drain(runtime, queue)) == 6


def test_no_secret_or_signature_in_function_logs(function_log: io.StringIO, http: httpx.Client) -> None:
    raw = xero_delivery("log-check")
    signature = sign_xero(raw, KEY)
    http.post("/webhooks/xero", content=raw, headers={"x-xero-signature": signature})
    http.post(
        "/webhooks/clio/firm1?model=contact",
        content=b'{"data":{"webhook_id":9}}',
        headers={"X-Hook-Secret": "s-e-c-r-e-t"},
    )
    logs = function_log.getvalue()
    assert "xero delivery accepted" in logs  # the log really is captured here
    for secret in (KEY, signature, "s-e-c-r-e-t", "clio-e2e-hook-secret", "demo-clio-hook-secret"):
        assert secret not in logs
