"""The dead-letter queue, decoded: list, show, redrive (losing and doubling nothing), purge.

SQS has no "peek": listing receives every message with a short visibility timeout and then makes
them visible again at once. Nothing consumes the DLQ, so that is invisible to the system. Looking
must not change what is looked at: each look adds one to a message's SQS receive count, so the
*attempts* we show never come from it. They are the worker's own count (its ``attempts`` reason
attribute) or, for a message SQS moved itself after ``maxReceiveCount`` receives, that count from
the sync queue's redrive policy. ``dlq list`` and ``errors`` both read them (and the hint) from
:class:`DeadLetter`, so they agree. In a FIFO queue a message group with a message in flight hides
the rest of the group, so a record parked more than ten times shows its first ten.

**Purge** deletes the messages; the records SQS moved without a mapping in error (nothing else
remembers them) are first written down (``sk=PURGED#<record>``) so `errors` keeps listing them
until they are retried or sync, as docs/runbook.md says. SQS allows one purge per queue every 60
seconds; a second one inside that minute is explained, not shown as a raw AWS error.

**Redrive.** ``StartMessageMoveTask`` (SQS moves the messages itself) is used for ``--all`` where
the endpoint supports it. Otherwise (moto; a region or queue type without move tasks; a single
message) it is receive → send to the sync queue → delete from the DLQ, per message, with a marker
item in the table so a crash at any point followed by a re-run neither drops nor doubles:

1. claim ``pk=OPS#redrive, sk=<DLQ message id>`` with ``state=sending`` (conditional put);
2. send to the sync queue with ``MessageDeduplicationId = redrive-<DLQ message id>``;
3. set ``state=sent``;
4. delete from the DLQ.

A re-run finds the marker: ``sent`` → only delete (crash between 3 and 4, or between 2 and 4 once
3 ran); ``sending`` → send again with the same deduplication id (crash between 1 and 2 must not
lose it). The one window where a resend can repeat a message is a crash between 2 and 3, and
there SQS FIFO deduplicates the resend within 5 minutes (the local runtime applies the same rule:
local/sqs_fidelity.py).
Even past that, a repeat is one more hint for an idempotent worker, never a second write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from clio_xero.admin.stack import OpsStack
from clio_xero.aws.errors import aws_errors, error_code, is_condition_failure, translate
from clio_xero.errors import NotFoundError, RetryableError
from clio_xero.events import SyncEvent
from clio_xero.store.dynamo import connection_pk, from_item, key, to_item

MARKER_PK = "OPS#redrive"
MARKER_TTL = timedelta(days=15)  # the DLQ keeps messages 14 days
PEEK_VISIBILITY_SECONDS = 30
REDRIVE_VISIBILITY_SECONDS = 300
PARKED_DURING_RUN_MARGIN = timedelta(seconds=5)  # SQS's clock and ours may differ a little
MAX_RECEIVES = 1000  # 10 000 messages: far beyond a firm's DLQ; the loop never runs unbounded
_MOVE_TASK_UNSUPPORTED = {
    "NotImplemented",
    "UnsupportedOperation",
    "AWS.SimpleQueueService.UnsupportedOperation",
    "InvalidAction",
    "UnknownOperationException",
}
REASON_FIELDS = (
    "failure_kind",
    "failure_reason",
    "hint",
    "attempts",
    "first_failure",
    "last_failure",
    "connection_id",
    "record",
)


MOVED_BY_SQS = "moved_by_sqs"
PURGE_INTERVAL = timedelta(seconds=60)  # SQS: one PurgeQueue per queue every 60 seconds
PURGE_PK = "OPS#purge"
PURGED_PREFIX = "PURGED#"

# When the worker had no specific hint, the kind of failure still says what to do next.
KIND_HINTS = {
    "UpstreamUnavailableError": "the provider was unavailable: once it is back, `clio-xero dlq redrive --all`",
    "ThrottledError": "the API budget was spent: `clio-xero dlq redrive --all` later",
    "NotFoundError": "the record is gone on the other side: check it, then `clio-xero retry RECORD`",
    MOVED_BY_SQS: "it failed {attempts} times without a reason recorded: see the worker logs, then `dlq redrive`",
}


def kind_hint(kind: str | None, attempts: int | None = None) -> str | None:
    hint = KIND_HINTS.get(kind or "")
    return hint.format(attempts=attempts or "several") if hint else None


@dataclass(frozen=True)
class DeadLetter:
    """One DLQ message, decoded. ``reason`` holds the worker's attributes (absent when SQS moved it)."""

    message_id: str
    body: str
    group_id: str | None
    sent_at: datetime | None
    receive_count: int  # SQS's, which every look raises: shown by `dlq show` only, never as attempts
    reason: dict[str, str]
    receipt_handle: str = field(repr=False, compare=False)
    max_receives: int | None = field(default=None, compare=False)  # the sync queue's maxReceiveCount

    @property
    def kind(self) -> str:
        return self.reason.get("failure_kind") or (MOVED_BY_SQS if self.event else "invalid_message")

    @property
    def attempts(self) -> int | None:
        """How often the record was tried: the worker's count, or SQS's move threshold."""
        recorded = self.reason.get("attempts", "")
        if recorded.isdigit():
            return int(recorded)
        return self.max_receives if self.kind == MOVED_BY_SQS else None

    @property
    def hint(self) -> str | None:
        return self.reason.get("hint") or kind_hint(self.kind, self.attempts)

    @property
    def event(self) -> SyncEvent | None:
        try:
            return SyncEvent.model_validate_json(self.body)
        except (ValidationError, ValueError):
            return None

    @property
    def connection_id(self) -> str | None:
        event = self.event
        return self.reason.get("connection_id") or (event.connection_id if event else None)

    @property
    def record(self) -> str | None:
        event = self.event
        if "record" in self.reason:
            return self.reason["record"]
        return f"{event.source.value}:{event.record_type.value}:{event.record_id}" if event else None

    def summary(self) -> dict[str, Any]:
        """What ``dlq list --json`` prints for the message (no receipt handle)."""
        return {
            "message_id": self.message_id,
            "connection_id": self.connection_id,
            "record": self.record,
            "failure_kind": self.kind,
            "failure_reason": self.reason.get("failure_reason"),
            "hint": self.hint,
            "attempts": self.attempts,
            "first_failure": self.reason.get("first_failure"),
            "last_failure": self.reason.get("last_failure"),
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
        }

    def details(self) -> dict[str, Any]:
        """``dlq show``: the summary plus the body and every attribute."""
        return {**self.summary(), "group_id": self.group_id, "body": self.body, "attributes": dict(self.reason)}


def decode(message: dict[str, Any], max_receives: int | None = None) -> DeadLetter:
    attributes = message.get("Attributes", {})
    reason = {
        name: str(value.get("StringValue", ""))
        for name, value in message.get("MessageAttributes", {}).items()
        if value.get("DataType", "").startswith("String") and value.get("StringValue") not in (None, "-")
    }
    sent = attributes.get("SentTimestamp")
    return DeadLetter(
        message_id=message["MessageId"],
        body=message.get("Body", ""),
        group_id=attributes.get("MessageGroupId"),
        sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None,
        receive_count=int(attributes.get("ApproximateReceiveCount", "0")),
        reason=reason,
        receipt_handle=message["ReceiptHandle"],
        max_receives=max_receives,
    )


@dataclass
class RedriveReport:
    method: str  # "move_task" | "loop"
    sent: int = 0  # sent to the sync queue and deleted from the DLQ
    deleted_already_sent: int = 0  # a previous, interrupted run had sent them: deleted only
    skipped: list[str] = field(default_factory=list)  # message ids left in the DLQ (not a sync event)
    not_found: list[str] = field(default_factory=list)
    parked_during_run: int = 0  # parked again while this run went on: left for the next run
    task_handle: str | None = None
    moved: int | None = None  # move task: messages SQS reports moved

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "sent": self.sent,
            "deleted_already_sent": self.deleted_already_sent,
            "skipped": self.skipped,
            "not_found": self.not_found,
            "parked_during_run": self.parked_during_run,
            "task_handle": self.task_handle,
            "moved": self.moved,
        }


Progress = Callable[[int], None]


class RedriveMarkers:
    """The ``OPS#redrive`` items that make the receive-send-delete loop safe to re-run."""

    def __init__(self, stack: OpsStack) -> None:
        self._stack = stack

    def claim(self, message_id: str) -> str:
        """``"new"`` if this run created the marker, else the state a previous run left."""
        now = self._stack.clock.now()
        item = to_item(
            {
                "pk": MARKER_PK,
                "sk": message_id,
                "state": "sending",
                "claimed_at": now.isoformat(),
                "expires_at": int((now + MARKER_TTL).timestamp()),
            }
        )
        try:
            self._stack.dynamodb.put_item(
                TableName=self._stack.table_name, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except (ClientError, BotoCoreError) as exc:
            if not is_condition_failure(exc):
                raise translate("claim redrive marker", exc) from exc
            with aws_errors("read redrive marker"):
                found = self._stack.dynamodb.get_item(
                    TableName=self._stack.table_name, Key=key(MARKER_PK, message_id), ConsistentRead=True
                ).get("Item")
            return str(from_item(found).get("state", "sending")) if found else "sending"
        return "new"

    def mark_sent(self, message_id: str) -> None:
        with aws_errors("update redrive marker"):
            self._stack.dynamodb.update_item(
                TableName=self._stack.table_name,
                Key=key(MARKER_PK, message_id),
                UpdateExpression="SET #s = :sent",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={":sent": {"S": "sent"}},
            )


class DeadLetterQueue:
    def __init__(self, stack: OpsStack, *, sqs: Any | None = None) -> None:
        self.stack = stack
        self._stack = stack
        self._sqs = sqs or stack.sqs  # injectable: tests wrap it to crash mid-redrive
        self._url = stack.dead_letter_queue_url
        self.markers = RedriveMarkers(stack)
        self._max_receives: int | None = None

    def max_receives(self) -> int | None:
        """The sync queue's ``maxReceiveCount``: after that many receives SQS moved a message here."""
        import json

        if self._max_receives is None:
            with aws_errors("read the sync queue's redrive policy"):
                attributes = self._sqs.get_queue_attributes(
                    QueueUrl=self._stack.queue_url, AttributeNames=["RedrivePolicy"]
                ).get("Attributes", {})
            try:
                self._max_receives = int(json.loads(attributes.get("RedrivePolicy", "{}"))["maxReceiveCount"])
            except (KeyError, TypeError, ValueError):
                return None
        return self._max_receives

    # ------------------------------------------------------------------ reading
    def depth(self) -> dict[str, int]:
        return queue_depth(self._sqs, self._url)

    def _receive(self, visibility: int) -> list[dict[str, Any]]:
        with aws_errors("read the dead-letter queue"):
            result = self._sqs.receive_message(
                QueueUrl=self._url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=visibility,
                WaitTimeSeconds=self._stack.receive_wait_seconds,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
        messages: list[dict[str, Any]] = result.get("Messages", [])
        return messages

    def _release(self, letters: Iterable[DeadLetter]) -> None:
        """Make held messages visible again now (what a peek must always end with)."""
        pending = list(letters)
        for start in range(0, len(pending), 10):
            chunk = pending[start : start + 10]
            with aws_errors("release dead-letter messages"):
                self._sqs.change_message_visibility_batch(
                    QueueUrl=self._url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": 0}
                        for i, m in enumerate(chunk)
                    ],
                )

    def _hold_all(self, visibility: int) -> dict[str, DeadLetter]:
        held: dict[str, DeadLetter] = {}
        max_receives = self.max_receives()
        for _ in range(MAX_RECEIVES):
            batch = self._receive(visibility)
            if not batch:
                break
            for message in batch:
                held[message["MessageId"]] = decode(message, max_receives)  # a re-receive refreshes the handle
        return held

    def list(self, connection_id: str | None = None) -> list[DeadLetter]:
        """Every message (decoded), oldest first; the queue is left as it was."""
        held = self._hold_all(PEEK_VISIBILITY_SECONDS)
        self._release(held.values())
        letters = sorted(held.values(), key=lambda m: (m.sent_at or datetime.min.replace(tzinfo=UTC), m.message_id))
        return [m for m in letters if connection_id is None or m.connection_id == connection_id]

    def show(self, message_id: str) -> DeadLetter:
        found = next((m for m in self.list() if m.message_id == message_id), None)
        if found is None:
            raise NotFoundError(f"no message {message_id} in the dead-letter queue (see `clio-xero dlq list`)")
        return found

    # ------------------------------------------------------------------ redrive
    def redrive(
        self,
        message_ids: set[str] | None = None,
        *,
        use_move_task: bool = True,
        progress: Progress | None = None,
        sleep: Callable[[float], None] | None = None,
        move_task_timeout: float = 600,
    ) -> RedriveReport:
        """Send messages back to the sync queue: all (``None``) or the given ids."""
        if message_ids is None and use_move_task and self._stack.move_task_available:
            report = self._try_move_task(progress, sleep, move_task_timeout)
            if report is not None:
                return report
        return self._redrive_loop(message_ids, progress)

    def _queue_arn(self, url: str) -> str:
        with aws_errors("read queue ARN"):
            attributes = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        return str(attributes["QueueArn"])

    def _try_move_task(
        self, progress: Progress | None, sleep: Callable[[float], None] | None, timeout: float
    ) -> RedriveReport | None:
        """Run SQS's own move task; ``None`` when this endpoint or queue cannot (then we loop)."""
        import time

        source_arn = self._queue_arn(self._url)
        try:
            started = self._sqs.start_message_move_task(
                SourceArn=source_arn,
                # Messages the worker parked itself have no "original source": name it.
                DestinationArn=self._queue_arn(self._stack.queue_url),
            )
        except ClientError as exc:
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            if error_code(exc) in _MOVE_TASK_UNSUPPORTED or status in (500, 501) or "FIFO" in str(exc):
                return None
            raise translate("start the dead-letter move task", exc) from exc
        report = RedriveReport(method="move_task", task_handle=started.get("TaskHandle"))
        pause = sleep or time.sleep
        waited = 0.0
        while waited <= timeout:
            with aws_errors("read the move task"):
                tasks = self._sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=1).get("Results", [])
            task = tasks[0] if tasks else {}
            report.moved = int(task.get("ApproximateNumberOfMessagesMoved", 0))
            if progress:
                progress(report.moved)
            if task.get("Status") in ("COMPLETED", "CANCELLED", "FAILED"):
                if task.get("Status") != "COMPLETED":
                    report.skipped.append(f"move task {task.get('Status')}: {task.get('FailureReason', '')}")
                report.sent = report.moved
                return report
            pause(2)
            waited += 2
        report.skipped.append("move task still running: check `clio-xero dlq list` later")
        return report

    def _redrive_loop(self, message_ids: set[str] | None, progress: Progress | None) -> RedriveReport:
        report = RedriveReport(method="loop")
        started = self._stack.clock.now()
        held: dict[str, DeadLetter] = {}
        done: set[str] = set()
        try:
            for _ in range(MAX_RECEIVES):
                batch = self._receive(REDRIVE_VISIBILITY_SECONDS)
                if not batch:
                    break
                # Hold the whole batch first: if this run dies, ``finally`` releases every
                # message it received, so none stays hidden for the visibility timeout.
                letters = [decode(m) for m in batch]
                held.update({m.message_id: m for m in letters if m.message_id not in done})
                for letter in letters:
                    if letter.message_id in done:
                        continue
                    if not self._wanted(letter, message_ids, started, report):
                        continue
                    self._redrive_one(letter, report)
                    done.add(letter.message_id)
                    held.pop(letter.message_id)
                    if progress:
                        progress(1)
        finally:
            self._release(held.values())
        if message_ids is not None:
            report.not_found = sorted(message_ids - done)
        return report

    def _wanted(self, letter: DeadLetter, ids: set[str] | None, started: datetime, report: RedriveReport) -> bool:
        if ids is not None:
            return letter.message_id in ids
        if letter.sent_at is not None and letter.sent_at > started + PARKED_DURING_RUN_MARGIN:
            # Parked (again) after this run began: leave it for the next run, so a record that
            # keeps failing cannot keep one run going.
            report.parked_during_run += 1
            return False
        if letter.event is None:
            if letter.message_id not in report.skipped:
                report.skipped.append(letter.message_id)
            return False
        return True

    def _redrive_one(self, letter: DeadLetter, report: RedriveReport) -> None:
        state = self.markers.claim(letter.message_id)
        if state != "sent":
            self._send_back(letter)
            self.markers.mark_sent(letter.message_id)
            report.sent += 1
        else:
            report.deleted_already_sent += 1
        with aws_errors("delete a redriven message"):
            self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=letter.receipt_handle)

    def _send_back(self, letter: DeadLetter) -> None:
        event = letter.event
        group = letter.group_id or (event.message_group_id if event else "invalid")
        attributes: dict[str, Any] = {"redriven_from": {"DataType": "String", "StringValue": letter.message_id}}
        if event is not None:
            attributes.update(
                connection_id={"DataType": "String", "StringValue": event.connection_id},
                record_type={"DataType": "String", "StringValue": event.record_type.value},
                source={"DataType": "String", "StringValue": event.source.value},
            )
        with aws_errors("send a redriven message"):
            self._sqs.send_message(
                QueueUrl=self._stack.queue_url,
                MessageBody=letter.body,
                MessageGroupId=group,
                MessageDeduplicationId=f"redrive-{letter.message_id}"[:128],
                MessageAttributes=attributes,
            )

    # ------------------------------------------------------------------ purge
    def purge(self, keep_in_errors: Callable[[Sequence[DeadLetter]], Sequence[DeadLetter]] | None = None) -> int:
        """Delete every message; returns how many there were (approximately, as SQS counts).

        ``keep_in_errors`` picks the letters whose records only the DLQ remembers; they are written
        down first (:class:`PurgedRecords`) so `errors` keeps them until they are retried.
        """
        depth = self.depth()
        before = depth["visible"] + depth["in_flight"]
        last = self._last_purge()
        now = self._stack.clock.now()
        if last is not None and now - last < PURGE_INTERVAL:
            raise _purge_too_soon(last)
        if keep_in_errors is not None:
            PurgedRecords(self._stack).keep(keep_in_errors(self.list()))
        try:
            self._sqs.purge_queue(QueueUrl=self._url)
        except ClientError as exc:
            if "PurgeQueueInProgress" in error_code(exc):
                raise _purge_too_soon(last) from None
            raise translate("purge the dead-letter queue", exc) from exc
        except BotoCoreError as exc:
            raise translate("purge the dead-letter queue", exc) from exc
        with aws_errors("record the purge time"):
            self._stack.dynamodb.put_item(
                TableName=self._stack.table_name,
                Item=to_item(
                    {
                        "pk": PURGE_PK,
                        "sk": self._url,
                        "purged_at": now.isoformat(),
                        "expires_at": int((now + timedelta(days=1)).timestamp()),
                    }
                ),
            )
        return before

    def _last_purge(self) -> datetime | None:
        with aws_errors("read the last purge time"):
            item = self._stack.dynamodb.get_item(
                TableName=self._stack.table_name, Key=key(PURGE_PK, self._url), ConsistentRead=True
            ).get("Item")
        return datetime.fromisoformat(from_item(item)["purged_at"]) if item else None


def _purge_too_soon(last: datetime | None) -> RetryableError:
    when = "in a minute" if last is None else "after " + (last + PURGE_INTERVAL).strftime("%H:%M:%S UTC")
    return RetryableError(
        "the dead-letter queue was purged less than 60 seconds ago and SQS allows one purge a minute: "
        f"nothing was deleted this time; run `clio-xero dlq purge` again {when}"
    )


class PurgedRecords:
    """Records whose only trace was a purged DLQ message (``pk=CONN#<id>, sk=PURGED#<record>``).

    `errors` lists them until `retry` queues them again or they sync.
    """

    def __init__(self, stack: OpsStack) -> None:
        self._stack = stack

    def keep(self, letters: Iterable[DeadLetter]) -> None:
        now = self._stack.clock.now()
        for letter in letters:
            if not letter.connection_id or not letter.record:
                continue
            values = {
                "pk": connection_pk(letter.connection_id),
                "sk": f"{PURGED_PREFIX}{letter.record}",
                "connection_id": letter.connection_id,
                "record": letter.record,
                "failure_kind": letter.kind,
                "failure_reason": letter.reason.get("failure_reason"),
                "attempts": letter.attempts,
                "hint": letter.hint,
                "parked_at": (letter.sent_at or now).isoformat(),
                "purged_at": now.isoformat(),
                "message_id": letter.message_id,
            }
            with aws_errors("remember a purged record"):
                self._stack.dynamodb.put_item(TableName=self._stack.table_name, Item=to_item(values))

    def list(self, connection_id: str) -> list[dict[str, Any]]:
        with aws_errors("read purged records"):
            result = self._stack.dynamodb.query(
                TableName=self._stack.table_name,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={
                    ":pk": {"S": connection_pk(connection_id)},
                    ":prefix": {"S": PURGED_PREFIX},
                },
            )
        return [from_item(i) for i in result.get("Items", [])]

    def forget(self, connection_id: str, records: Iterable[str]) -> None:
        for record in records:
            with aws_errors("forget a purged record"):
                self._stack.dynamodb.delete_item(
                    TableName=self._stack.table_name, Key=key(connection_pk(connection_id), f"{PURGED_PREFIX}{record}")
                )


def queue_depth(sqs: Any, url: str) -> dict[str, int]:
    with aws_errors("read queue depth"):
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
    return {
        "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
        "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
    }
