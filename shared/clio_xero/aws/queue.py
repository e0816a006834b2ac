"""Publish :class:`~clio_xero.events.SyncEvent` messages on the FIFO sync queue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from clio_xero.aws.errors import aws_errors
from clio_xero.errors import UpstreamUnavailableError
from clio_xero.events import SyncEvent

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

SQS_BATCH_LIMIT = 10


class EventPublisher(Protocol):
    """Where receivers put normalised events."""

    def publish(self, events: Sequence[SyncEvent]) -> int: ...


def message_entry(index: int, event: SyncEvent) -> SendMessageBatchRequestEntryTypeDef:
    """The SendMessageBatch entry for ``event``: FIFO group per record, dedup on the event key."""
    return {
        "Id": str(index),
        "MessageBody": event.model_dump_json(),
        "MessageGroupId": event.message_group_id,
        "MessageDeduplicationId": event.dedupe_key,
        "MessageAttributes": {
            "connection_id": {"DataType": "String", "StringValue": event.connection_id},
            "record_type": {"DataType": "String", "StringValue": event.record_type.value},
            "source": {"DataType": "String", "StringValue": event.source.value},
        },
    }


class SqsEventPublisher:
    """Sends events in batches of ten; a partially failed batch raises a retryable error."""

    def __init__(self, queue_url: str, sqs: SQSClient) -> None:
        self._queue_url = queue_url
        self._sqs = sqs

    def publish(self, events: Sequence[SyncEvent]) -> int:
        sent = 0
        for start in range(0, len(events), SQS_BATCH_LIMIT):
            chunk = events[start : start + SQS_BATCH_LIMIT]
            entries = [message_entry(start + i, e) for i, e in enumerate(chunk)]
            with aws_errors("enqueue sync events"):
                result = self._sqs.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            failed = result.get("Failed", [])
            if failed:
                # The provider will redeliver (we answer 5xx); the events already sent are
                # deduplicated by their dedupe key, so a retry doubles nothing.
                codes = sorted({f.get("Code", "?") for f in failed})
                raise UpstreamUnavailableError(f"SQS refused {len(failed)} event(s): {', '.join(codes)}")
            sent += len(entries)
        return sent


class SqsDeadLetters:
    """Writes to the FIFO dead-letter queue with the failure reason as message attributes."""

    def __init__(self, queue_url: str, sqs: SQSClient) -> None:
        self._url = queue_url
        self._sqs = sqs

    def send(self, event_body: str, *, group_id: str, dedupe_id: str, reason: dict[str, str]) -> None:
        attributes: dict[str, Any] = {
            k: {"DataType": "String", "StringValue": v[:1024] or "-"} for k, v in reason.items()
        }
        with aws_errors("dead-letter a record"):
            self._sqs.send_message(
                QueueUrl=self._url,
                MessageBody=event_body,
                MessageGroupId=group_id,
                MessageDeduplicationId=dedupe_id[:128],
                MessageAttributes=attributes,
            )


def delay_message(sqs: SQSClient, queue_url: str, receipt_handle: str, seconds: int) -> None:
    """Make a received message visible again after ``seconds`` (a throttled record waits on the
    queue, not in the function)."""
    with aws_errors("delay a throttled record"):
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds)
