"""The worker's Lambda entry: groups of coalescing record types go to the plug-in together, other
groups record by record; FIFO failure semantics and throttle delays either way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clio_xero.errors import ThrottledError
from clio_xero.events import RecordType, SyncEvent
from clio_xero.sync.lambda_entry import process_sqs_batch
from tests.unit.test_sync_core import World, event


@dataclass
class FakeSqs:
    delays: list[tuple[str, int]] = field(default_factory=list)

    def change_message_visibility(self, *, QueueUrl: str, ReceiptHandle: str, VisibilityTimeout: int) -> None:
        self.delays.append((ReceiptHandle, VisibilityTimeout))


def sqs_record(e: SyncEvent, message_id: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": e.model_dump_json(),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "ApproximateFirstReceiveTimestamp": "1764000000000",
            "MessageGroupId": e.message_group_id,
            "MessageDeduplicationId": e.dedupe_key,
            "SequenceNumber": message_id.rjust(20, "0"),
            "SentTimestamp": "1764000000000",
            "SenderId": "local",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:sync.fifo",
        "awsRegion": "us-east-1",
    }


def failed(response: dict[str, Any]) -> list[str]:
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


def test_a_coalescing_type_gets_its_burst_in_one_call_and_a_failure_fails_only_its_group() -> None:
    w = World()
    w.side.source["p1"] = {"id": "p1"}
    for i in range(1, 5):
        w.side.source[f"c{i}"] = {"id": f"c{i}", "parent": "p1" if i != 3 else "p-missing"}
    records = [sqs_record(event(f"c{i}"), str(i)) for i in range(1, 5)]
    records.insert(3, sqs_record(event("c3"), "33"))  # a second event for c3, after the first
    records.append(sqs_record(event("b1", RecordType.BILL), "99"))  # no plug-in: record by record
    sqs = FakeSqs()
    response = process_sqs_batch({"Records": records}, None, worker=w.worker, sqs=sqs, queue_url="q")
    assert w.child.batches == [5]  # c1..c4 and c3 again, in one call
    assert w.side.writes == [1, 3]  # the parent, then c1, c2, c4 in one write
    assert failed(response) == ["3", "33"]  # c3's parent does not exist; its later message waits too
    assert w.count.values["Unhandled"] == 1 and sqs.delays == []


def test_a_throttled_burst_is_put_back_with_the_providers_delay() -> None:
    w = World()
    w.side.source.update({"p1": {"id": "p1"}, "c1": {"id": "c1", "parent": "p1"}, "c2": {"id": "c2", "parent": "p1"}})
    w.worker.handle_body(event("p1", RecordType.MATTER).model_dump_json(), receive_count=1)  # parent linked
    w.side.fail_next.append(ThrottledError("Xero minute limit", retry_after=30))
    sqs = FakeSqs()
    response = process_sqs_batch(
        {"Records": [sqs_record(event("c1"), "1"), sqs_record(event("c2"), "2")]},
        None,
        worker=w.worker,
        sqs=sqs,
        queue_url="q",
    )
    assert failed(response) == ["1", "2"]
    assert sqs.delays == [("rh-1", 30), ("rh-2", 30)]
    assert w.count.values["Throttled"] == 2 and w.dead.sent == []
