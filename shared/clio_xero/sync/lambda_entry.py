"""The worker's Lambda side: an SQS FIFO batch in, partial batch failures out (Powertools)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from clio_xero.aws.errors import aws_errors
from clio_xero.errors import ThrottledError
from clio_xero.sync.core.disposition import retry_delay_seconds
from clio_xero.sync.worker import SyncWorker


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
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)

    def record_handler(record: SQSRecord) -> None:
        if logger is not None:
            logger.set_correlation_id(record.attributes.message_group_id or record.message_id)
        attributes = record.attributes
        first = attributes.approximate_first_receive_timestamp
        try:
            worker.handle_body(
                record.body,
                receive_count=int(attributes.approximate_receive_count or 1),
                first_received=first if isinstance(first, datetime) else _from_ms(first),
            )
        except ThrottledError as exc:
            # Put the record back with the delay the disposition chose instead of sleeping here.
            delay = retry_delay_seconds(exc)
            if delay is not None:
                with aws_errors("delay a throttled record"):
                    sqs.change_message_visibility(
                        QueueUrl=queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=delay
                    )
            raise

    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


def _from_ms(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError):
        return None
