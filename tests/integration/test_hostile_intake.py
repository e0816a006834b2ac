"""Hostile but correctly signed (or forged-handshake) deliveries, through the local runtime.

One table: each row is posted to the HTTP API on 127.0.0.1 (API Gateway stand-in → the real
receiver function → moto), then the status, the delivery bucket, the sync queue and the stored
webhook secrets are checked against what README and docs/threat-model.md promise: Clio 400 and
nothing archived or queued; Xero 200, archived, nothing queued; a handshake nobody asked for 403
and nothing stored; never a 5xx.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from clio_xero.store.connections import Connection, DynamoConnectionStore
from clio_xero.webhooks.signing import sign_clio, sign_xero
from clio_xero_tools.local.runtime import LocalRuntime, RuntimeOptions
from tests.conftest import TEMPLATE

pytestmark = pytest.mark.integration

KEY = "hostile-xero-key"
TENANT = "4d0b3a7e-1111-4222-8333-444455556666"
CLIO_SECRET = "hostile-clio-secret"
WEBHOOK_ID = 7
GUID = "0f3c5c8e-2f0c-4b8a-9a34-6b1f0d8e9a71"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def clio_body(
    record_id: str, webhook_id: str = str(WEBHOOK_ID), extra: str = "null", event: str = '"updated"'
) -> bytes:
    return (
        f'{{"data":{{"id":{record_id},"etag":"\\"e\\"","x":{extra}}},"meta":{{"event":{event},"webhook_id":{webhook_id}}}}}'
    ).encode()


def xero_body(resource_id: str = f'"{GUID}"', tenant: str = f'"{TENANT}"', extra: str = "null") -> bytes:
    return (
        f'{{"events":[{{"resourceId":{resource_id},"eventCategory":"CONTACT","eventType":"UPDATE",'
        f'"tenantId":{tenant},"eventDateUtc":"2026-12-01T00:00:00"}}],"entropy":{extra}}}'
    ).encode()


@dataclass(frozen=True)
class Hostile:
    name: str
    source: str  # clio | xero | handshake
    body: bytes
    status: int
    archived: bool


CASES = [
    Hostile("clio nested 5,000 levels", "clio", clio_body("1", extra=nested(5_000)), 400, False),
    Hostile("clio nested 100,000 levels", "clio", clio_body("1", extra=nested(100_000)), 400, False),
    Hostile("clio 200-digit record id", "clio", clio_body("1" * 200), 400, False),
    Hostile("clio record id abc", "clio", clio_body('"abc"'), 400, False),
    Hostile("clio record id 12x", "clio", clio_body('"12x"'), 400, False),
    Hostile("clio record id 0", "clio", clio_body("0"), 400, False),
    Hostile("clio non-numeric webhook id", "clio", clio_body("1", webhook_id='"abc"'), 400, False),
    Hostile("clio unknown event", "clio", clio_body("1", event='"exploded"'), 400, False),
    Hostile("xero nested 5,000 levels", "xero", xero_body(extra=nested(5_000)), 200, True),
    Hostile("xero nested 100,000 levels", "xero", xero_body(extra=nested(100_000)), 200, True),
    Hostile("xero 200-digit resource id", "xero", xero_body(resource_id="1" * 200), 200, True),
    Hostile("xero resource id abc", "xero", xero_body(resource_id='"abc"'), 200, True),
    Hostile("xero tenant id not a GUID", "xero", xero_body(tenant='"tenant-1"'), 200, True),
    Hostile("handshake for a webhook never registered", "handshake", b'{"data":{"webhook_id":999}}', 403, False),
    Hostile("handshake body shaped like a delivery", "handshake", clio_body("5", webhook_id="999"), 400, False),
    Hostile("handshake nested 100,000 levels", "handshake", f'{{"data":{nested(100_000)}}}'.encode(), 400, False),
]


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    options = RuntimeOptions(
        template=TEMPLATE, poll=False, schedule=False, xero_webhook_key=KEY, function_output=io.StringIO()
    )
    with LocalRuntime(options) as rt:
        store = DynamoConnectionStore(rt.physical_id("Table"), rt.client("dynamodb"))
        store.put_new(Connection(connection_id="firm1", xero_tenant_id=TENANT, created_at=datetime.now(UTC)))
        rt.expect_clio_activation("firm1", "contact", str(WEBHOOK_ID))
        with httpx.Client(base_url=rt.api_url, timeout=30) as http:
            shake = http.post(
                "/webhooks/clio/firm1?model=contact",
                content=json.dumps({"data": {"webhook_id": WEBHOOK_ID}}).encode(),
                headers={"X-Hook-Secret": CLIO_SECRET},
            )
            assert shake.status_code == 200
        yield rt


def archived_keys(rt: LocalRuntime) -> set[str]:
    """Every archived delivery: S3 objects (large ones) and table items (small ones)."""
    listed = rt.client("s3").list_objects_v2(Bucket=rt.physical_id("DeliveryBucket"))
    items = rt.client("dynamodb").scan(TableName=rt.physical_id("Table"))["Items"]
    inline = {i["sk"]["S"] for i in items if i["pk"]["S"].startswith("DELIVERY#")}
    return {o["Key"] for o in listed.get("Contents", [])} | inline


def queued(rt: LocalRuntime) -> int:
    attributes = rt.client("sqs").get_queue_attributes(
        QueueUrl=rt.queue_url("SyncQueue"),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def hook_items(rt: LocalRuntime) -> list[str]:
    items = rt.client("dynamodb").scan(TableName=rt.physical_id("Table"))["Items"]
    return sorted(i["sk"]["S"] for i in items if i["sk"]["S"].startswith("CLIOHOOK#") and "expect" not in i["sk"]["S"])


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input_gets_the_documented_answer_and_nothing_reaches_the_queue(
    runtime: LocalRuntime, case: Hostile
) -> None:
    before_archive, before_hooks = archived_keys(runtime), hook_items(runtime)
    if case.source == "xero":
        path, headers = "/webhooks/xero", {"x-xero-signature": sign_xero(case.body, KEY)}
    elif case.source == "clio":
        path, headers = "/webhooks/clio/firm1?model=contact", {"X-Hook-Signature": sign_clio(case.body, CLIO_SECRET)}
    else:
        path, headers = "/webhooks/clio/firm1?model=contact", {"X-Hook-Secret": "attacker-chosen-secret"}
    with httpx.Client(base_url=runtime.api_url, timeout=60) as http:
        response = http.post(path, content=case.body, headers={"content-type": "application/json", **headers})
    assert response.status_code == case.status
    assert len(archived_keys(runtime) - before_archive) == (1 if case.archived else 0)
    assert queued(runtime) == 0
    assert hook_items(runtime) == before_hooks  # no secret stored or replaced


def test_a_forged_handshake_secret_cannot_sign_deliveries(runtime: LocalRuntime) -> None:
    with httpx.Client(base_url=runtime.api_url, timeout=30) as http:
        refused = http.post(
            "/webhooks/clio/firm1?model=contact",
            content=b'{"data":{"webhook_id":4242}}',
            headers={"X-Hook-Secret": "mine"},
        )
        raw = clio_body("5", webhook_id="4242")
        forged = http.post(
            "/webhooks/clio/firm1?model=contact", content=raw, headers={"X-Hook-Signature": sign_clio(raw, "mine")}
        )
    assert (refused.status_code, forged.status_code) == (403, 401)
    assert queued(runtime) == 0
