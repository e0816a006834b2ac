"""The local runtime over a small fixture template: HTTP API v2 events, SQS semantics, schedules.

Everything goes through real HTTP (the local API on 127.0.0.1, moto's server on 127.0.0.1).
Queues are driven with ``poll_once`` and the scheduler with a manual clock: no test sleeps.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from clio_xero.clock import ManualClock
from clio_xero_tools.local.runtime import LocalRuntime, RuntimeOptions
from clio_xero_tools.local.sqs_poller import SqsPoller
from tests.conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "runtime" / "template.yaml"
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="module")
def runtime(clock: ManualClock) -> Iterator[LocalRuntime]:
    options = RuntimeOptions(template=FIXTURE, poll=False, schedule=False, failed_visibility=0, stack_name="rt-test")
    with LocalRuntime(options, clock=clock) as rt:
        yield rt


@pytest.fixture
def http(runtime: LocalRuntime) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=runtime.api_url, timeout=10) as client:
        yield client


def poller(runtime: LocalRuntime, function: str) -> SqsPoller:
    return next(p for p in runtime.pollers if p.function.spec.logical_id == function)


def seen(runtime: LocalRuntime, record_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = runtime.client("dynamodb").query(
        TableName=runtime.physical_id("LogTable"),
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": f"seen#{record_id}"}},
        ConsistentRead=True,
    )["Items"]
    return items


def depth(runtime: LocalRuntime, logical_id: str) -> int:
    attrs = runtime.client("sqs").get_queue_attributes(
        QueueUrl=runtime.queue_url(logical_id),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def empty(runtime: LocalRuntime, logical_id: str) -> None:
    """Delete whatever earlier tests left on a queue (moto allows one purge a minute)."""
    sqs = runtime.client("sqs")
    url = runtime.queue_url(logical_id)
    for _ in range(100):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return
        for m in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def send(runtime: LocalRuntime, queue: str, *bodies: dict[str, Any], group: str | None = None) -> None:
    sqs = runtime.client("sqs")
    for i, body in enumerate(bodies):
        extra = {"MessageGroupId": group, "MessageDeduplicationId": f"{body['id']}-{i}"} if group else {}
        sqs.send_message(QueueUrl=runtime.queue_url(queue), MessageBody=json.dumps(body), **extra)


# ---------------------------------------------------------------------------- resources
def test_data_resources_come_from_the_template(runtime: LocalRuntime) -> None:
    assert runtime.stack is not None
    assert set(runtime.stack.physical_ids) >= {"LogTable", "WorkQueue", "WorkDeadLetters", "OrderedQueue"}
    ttl = runtime.client("dynamodb").describe_time_to_live(TableName=runtime.physical_id("LogTable"))
    assert ttl["TimeToLiveDescription"] == {"AttributeName": "expires_at", "TimeToLiveStatus": "ENABLED"}
    redrive = runtime.client("sqs").get_queue_attributes(
        QueueUrl=runtime.queue_url("WorkQueue"), AttributeNames=["RedrivePolicy"]
    )["Attributes"]["RedrivePolicy"]
    assert json.loads(redrive)["maxReceiveCount"] == 2


def test_each_function_sees_exactly_its_own_environment(runtime: LocalRuntime, http: httpx.Client) -> None:
    response = http.post("/items/7", json={})
    env = response.json()["env"]
    assert "LOG_TABLE" in env and "GREETING" in env
    assert "ROLE" not in env  # the Worker's variable, not the Echo function's
    assert response.json()["greeting"] == "hello"


# ---------------------------------------------------------------------------- HTTP API
def test_http_event_is_api_gateway_v2_with_path_params_and_raw_text_body(http: httpx.Client) -> None:
    response = http.post("/items/42?a=1&a=2&b=x", content=b'{"k": 1}', headers={"content-type": "application/json"})
    assert response.status_code == 201
    assert response.headers["x-echo"] == "1"
    event = response.json()["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /items/{item_id}"
    assert event["rawPath"] == "/items/42"
    assert event["pathParameters"] == {"item_id": "42"}
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x"}
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["isBase64Encoded"] is False
    assert event["body"] == '{"k": 1}'


def test_binary_bodies_arrive_base64_encoded_byte_for_byte(http: httpx.Client) -> None:
    raw = bytes(range(256))
    response = http.put("/files/a/b/c.bin", content=raw, headers={"content-type": "application/octet-stream"})
    event = response.json()["event"]
    assert event["pathParameters"] == {"path": "a/b/c.bin"}
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


def test_unknown_route_is_404_like_api_gateway(http: httpx.Client) -> None:
    response = http.get("/nowhere")
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}
    assert http.get("/items/1").status_code == 404  # route exists for POST only


# ---------------------------------------------------------------------------- SQS
def test_batches_respect_batch_size_and_successes_are_deleted(runtime: LocalRuntime) -> None:
    send(runtime, "WorkQueue", *({"id": f"ok{i}"} for i in range(5)))
    results = poller(runtime, "Worker").drain()
    assert sum(r.received for r in results) == 5
    assert max(r.received for r in results) <= 3
    assert all(r.failed == 0 for r in results)
    assert depth(runtime, "WorkQueue") == 0
    assert seen(runtime, "ok0")[0]["role"]["S"] == "worker"


def test_partial_failure_deletes_only_the_successes(runtime: LocalRuntime) -> None:
    empty(runtime, "WorkQueue")
    send(runtime, "WorkQueue", {"id": "good"}, {"id": "bad", "fail": True})
    first = poller(runtime, "Worker").poll_once()
    assert (first.received, first.deleted, first.failed) == (2, 1, 1)
    assert depth(runtime, "WorkQueue") == 1


def test_poison_message_moves_to_the_dlq_after_max_receives(runtime: LocalRuntime) -> None:
    sqs = runtime.client("sqs")
    worker = poller(runtime, "Worker")
    empty(runtime, "WorkQueue")
    empty(runtime, "WorkDeadLetters")
    dlq = runtime.queue_url("WorkDeadLetters")
    send(runtime, "WorkQueue", {"id": "poison", "fail": True})
    results = [worker.poll_once() for _ in range(4)]  # receive 1, receive 2, then the DLQ has it
    assert [r.received for r in results] == [1, 1, 0, 0]
    assert [item["sk"]["S"] for item in seen(runtime, "poison")] == ["1", "2"]  # maxReceiveCount = 2
    assert depth(runtime, "WorkQueue") == 0
    moved = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["id"] for m in moved] == ["poison"]


def test_an_exception_fails_the_whole_batch(runtime: LocalRuntime) -> None:
    empty(runtime, "WorkQueue")
    send(runtime, "WorkQueue", {"id": "fine"}, {"id": "explodes", "raise": True})
    result = poller(runtime, "Worker").poll_once()
    assert (result.received, result.deleted, result.failed) == (2, 0, 2)


def test_a_report_naming_an_unknown_id_fails_the_whole_batch(runtime: LocalRuntime) -> None:
    empty(runtime, "WorkQueue")
    send(runtime, "WorkQueue", {"id": "x1"}, {"id": "x2", "bad_report": True})
    result = poller(runtime, "Worker").poll_once()
    assert (result.deleted, result.failed) == (0, 2)


def test_without_report_batch_item_failures_a_normal_return_deletes_all(runtime: LocalRuntime) -> None:
    send(runtime, "OrderedQueue", {"id": "o1"}, {"id": "o2", "fail": True}, group="g")
    result = poller(runtime, "PlainWorker").poll_once()
    assert (result.received, result.deleted, result.failed) == (2, 2, 0)
    assert depth(runtime, "OrderedQueue") == 0


# ---------------------------------------------------------------------------- schedules
def test_schedules_run_at_their_rate_on_the_injected_clock(runtime: LocalRuntime, clock: ManualClock) -> None:
    [job] = runtime.scheduler.jobs  # the disabled schedule is not registered
    assert job.source.interval_seconds == 300
    assert runtime.scheduler.run_due() == 0
    clock.advance(299)
    assert runtime.scheduler.run_due() == 0
    clock.advance(1)
    assert runtime.scheduler.run_due() == 1
    clock.advance(3 * 300)  # missed runs are not replayed, like EventBridge
    assert runtime.scheduler.run_due() == 1
    ticks = runtime.client("dynamodb").query(
        TableName=runtime.physical_id("LogTable"),
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "tick"}},
    )["Items"]
    assert len(ticks) == 2


def test_drain_stops_when_a_batch_makes_no_progress(runtime: LocalRuntime) -> None:
    empty(runtime, "WorkQueue")
    send(runtime, "WorkQueue", {"id": "stuck", "fail": True})
    results = poller(runtime, "Worker").drain()
    assert [(r.received, r.deleted, r.failed) for r in results] == [(1, 0, 1)]
