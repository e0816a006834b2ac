"""Deliver SQS messages to a function the way a Lambda event-source mapping does.

* Receives up to ``BatchSize`` (≤ 10 per receive) messages and invokes the function once.
* With ``ReportBatchItemFailures``: deletes every record not listed in ``batchItemFailures``;
  a malformed response (unknown id) fails the whole batch, as Lambda does.
* Without it: a normal return deletes the batch.
* A raised exception deletes nothing.
* Records left undeleted come back after the queue's visibility timeout, or after
  ``failed_visibility`` seconds if set (quick local retries): that is the visibility timeout the
  poller *receives* with, as a shorter queue timeout would be, and the poller never touches a
  message's visibility afterwards. So a function that sets a record's visibility itself (the
  worker delays a throttled record by the provider's ``Retry-After``) is honoured, as on AWS.
  Receiving with a short timeout is safe here because one poller, under a lock, is the only
  consumer of its queue and invokes the function synchronously.
* The queue's redrive policy moves a record to the DLQ after ``maxReceiveCount`` receives. That
  part is SQS's own (moto's) behaviour.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clio_xero_tools.local.functions import REGION, LocalFunction

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

log = logging.getLogger(__name__)
# How long the background poller rests after an empty receive (the delivery latency it adds).
IDLE_PAUSE_SECONDS = 0.2


@dataclass(frozen=True)
class PollResult:
    received: int
    deleted: int
    failed: int


def sqs_record(message: MessageTypeDef, queue_arn: str) -> dict[str, Any]:
    """One ``Records[]`` element as Lambda builds it from a received message."""
    attributes = message.get("MessageAttributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType"),
            }
            for name, value in attributes.items()
        },
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def failed_ids(result: Any, batch_ids: set[str]) -> set[str] | None:
    """The ids the function reported as failed; ``None`` means "the whole batch failed"."""
    if not isinstance(result, dict) or "batchItemFailures" not in result:
        return set()
    failures = result.get("batchItemFailures") or []
    ids: set[str] = set()
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not ident or ident not in batch_ids:
            return None  # Lambda treats an invalid report as a failure of the whole batch
        ids.add(str(ident))
    return ids


class SqsPoller:
    def __init__(
        self,
        sqs: SQSClient,
        *,
        queue_url: str,
        queue_arn: str,
        function: LocalFunction,
        batch_size: int,
        report_batch_item_failures: bool,
        failed_visibility: int | None = None,
    ) -> None:
        self._sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.function = function
        self.batch_size = max(1, min(batch_size, 10))
        self.report_failures = report_batch_item_failures
        self.failed_visibility = failed_visibility
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # The background thread and a test's drain() may poll the same queue: one batch at a time.
        self._lock = threading.Lock()

    def poll_once(self, wait_seconds: int = 0) -> PollResult:
        with self._lock:
            return self._poll_once(wait_seconds)

    def _poll_once(self, wait_seconds: int) -> PollResult:
        receive: dict[str, Any] = {}
        if self.failed_visibility is not None:
            receive["VisibilityTimeout"] = self.failed_visibility
        received = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            **receive,
        )
        messages = received.get("Messages", [])
        if not messages:
            return PollResult(0, 0, 0)
        event = {"Records": [sqs_record(m, self.queue_arn) for m in messages]}
        ids = {m["MessageId"] for m in messages}
        try:
            result = self.function.invoke(event)
            failed = failed_ids(result, ids) if self.report_failures else set()
        except Exception:
            log.exception("%s failed on a batch of %d", self.function.spec.logical_id, len(messages))
            failed = None
        failed = ids if failed is None else failed
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return PollResult(len(messages), len(done), len(failed))

    def drain(self, max_batches: int = 1000) -> list[PollResult]:
        """Poll until a receive comes back empty or a batch makes no progress (bounded).

        A batch in which every record failed ends the drain: what failed will fail again until
        something changes (time passes, a fault clears), so the caller decides what happens next.
        """
        results = []
        for _ in range(max_batches):
            result = self.poll_once()
            if result.received == 0:
                break
            results.append(result)
            if result.deleted == 0:
                break
        return results

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"sqs-{self.function.spec.logical_id}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # Short receives, and the idle pause taken WITHOUT the lock: a long poll (WaitTimeSeconds)
        # would hold the lock while it waits, and as Python's locks are not fair, a caller's
        # drain() (the world's pump during `local up --sandbox` start-up) waited up to 5 s a call
        # behind a loop that released and took the lock again straight away.
        while not self._stop.is_set():
            try:
                if self.poll_once().received == 0:
                    self._stop.wait(IDLE_PAUSE_SECONDS)
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("polling %s failed", self.queue_url)
                self._stop.wait(1)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
