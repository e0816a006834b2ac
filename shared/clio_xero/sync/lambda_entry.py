"""The worker's Lambda side: an SQS FIFO batch in, partial batch failures out.

Message groups whose record types coalesce bursts (their plug-in overrides ``sync_batch``: bulk
reads by ids, Xero writes of up to 50) go to :meth:`SyncWorker.handle_batch` together; every
other group is processed record by record with Powertools' FIFO processor, as before. Either way a
failing record fails the rest of its message group (FIFO order), and a throttled record is put
back with the delay the disposition chose instead of sleeping in the Lambda.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from clio_xero.aws.errors import aws_errors
from clio_xero.errors import SyncError, ThrottledError
from clio_xero.sync.core.disposition import retry_delay_seconds
from clio_xero.sync.worker import Message, SyncWorker


class CorrelatedLogger(Protocol):
    def set_correlation_id(self, value: str | None) -> None: ...


def process_sqs_batch(
    event: dict[str, Any],
    context: Any,
    *,
    worker: SyncWorker,
    sqs: Any,
    queue_url: str,
    logger: CorrelatedLogger | None = None,
) -> Any:
    """Process a batch; a failing record fails the rest of its message group (FIFO order).

    Each record's log lines carry its own correlation id (the message's group, i.e. the record),
    so one record's story can be followed across retries and redrives.
    """
    records = [SQSRecord(r) for r in event.get("Records") or []]
    together = _coalescing_groups(records, worker)
    failures = _process_together([r for r in records if _group(r) in together], worker, sqs, queue_url, logger)
    alone = [r.raw_event for r in records if _group(r) not in together]
    if alone:
        response = _process_alone(
            {**event, "Records": alone}, context, worker=worker, sqs=sqs, queue_url=queue_url, logger=logger
        )
        failures.extend(f["itemIdentifier"] for f in response.get("batchItemFailures") or [])
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failures]}


def _group(record: SQSRecord) -> str:
    return record.attributes.message_group_id or record.message_id


def _coalescing_groups(records: list[SQSRecord], worker: SyncWorker) -> set[str]:
    return {_group(r) for r in records if worker.coalesces(r.body)}


def _received(record: SQSRecord) -> tuple[int, datetime | None]:
    attributes = record.attributes
    first = attributes.approximate_first_receive_timestamp
    return int(attributes.approximate_receive_count or 1), first if isinstance(first, datetime) else _from_ms(first)


def _delay(exc: ThrottledError, record: SQSRecord, sqs: Any, queue_url: str) -> None:
    """Put a throttled record back with the disposition's delay instead of sleeping here."""
    delay = retry_delay_seconds(exc)
    if delay is not None:
        with aws_errors("delay a throttled record"):
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=delay
            )


def _process_together(
    records: list[SQSRecord], worker: SyncWorker, sqs: Any, queue_url: str, logger: CorrelatedLogger | None
) -> list[str]:
    if not records:
        return []
    if logger is not None:
        logger.set_correlation_id(",".join(sorted({_group(r) for r in records}))[:512])
    messages = []
    for record in records:
        count, first = _received(record)
        messages.append(Message(body=record.body, receive_count=count, first_received=first))
    failures: list[str] = []
    failed_groups: set[str] = set()
    for record, outcome in zip(records, worker.handle_batch(messages), strict=True):
        if _group(record) in failed_groups:
            failures.append(record.message_id)  # FIFO: nothing after a failure in its group
        elif isinstance(outcome, SyncError):
            if isinstance(outcome, ThrottledError):
                _delay(outcome, record, sqs, queue_url)
            failures.append(record.message_id)
            failed_groups.add(_group(record))
    return failures


def _process_alone(
    event: dict[str, Any],
    context: Any,
    *,
    worker: SyncWorker,
    sqs: Any,
    queue_url: str,
    logger: CorrelatedLogger | None,
) -> Any:
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)

    def record_handler(record: SQSRecord) -> None:
        if logger is not None:
            logger.set_correlation_id(_group(record))
        count, first = _received(record)
        try:
            worker.handle_body(record.body, receive_count=count, first_received=first)
        except ThrottledError as exc:
            _delay(exc, record, sqs, queue_url)
            raise

    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


def _from_ms(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError):
        return None
