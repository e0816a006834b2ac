"""The sync worker: one :class:`~clio_xero.events.SyncEvent` in, the other side upserted.

What happens to a record, by the exception it ends in (``clio_xero.errors``):

* nothing raised → done (the message is deleted);
* :class:`ThrottledError` → raised; the Lambda entry delays the message by ``retry_after``
  (its visibility) so no Lambda time is slept away; near the receive limit a fresh copy is queued
  instead, so waiting for a rate limit never lands a record in the DLQ;
* other :class:`RetryableError` → raised for SQS to redeliver; on the last allowed receive the
  worker dead-letters it itself, **with the reason attached**;
* :class:`PermanentError`, :class:`NeedsReconnectError` → recorded on the mapping (the error list
  `clio-xero errors` shows) and dead-lettered at once with the reason: retrying the same input
  cannot help until a person acts (fix a setting, reconnect), after which `dlq redrive` or
  `retry` re-runs it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from clio_xero.aws.queue import EventPublisher
from clio_xero.clock import Clock
from clio_xero.errors import (
    NeedsReconnectError,
    PermanentError,
    RetryableError,
    SyncError,
    ThrottledError,
    ValidationFailedError,
)
from clio_xero.events import RecordType, Source, SyncEvent, dedupe_key
from clio_xero.intake.observe import Counter, Log
from clio_xero.sync.contacts.engine import ContactSyncer, SyncResult
from clio_xero.sync.hints import hint_for
from clio_xero.sync.mapping import Mapping, MappingStatus, MappingStore

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class DeadLetters(Protocol):
    def send(self, event_body: str, *, group_id: str, dedupe_id: str, reason: dict[str, str]) -> None: ...


class SqsDeadLetters:
    """Writes to the FIFO dead-letter queue with the failure reason as message attributes."""

    def __init__(self, queue_url: str, sqs: SQSClient) -> None:
        self._url = queue_url
        self._sqs = sqs

    def send(self, event_body: str, *, group_id: str, dedupe_id: str, reason: dict[str, str]) -> None:
        from clio_xero.aws.errors import aws_errors

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


@dataclass
class Disposition:
    """What became of one queue message."""

    result: SyncResult | None = None
    dead_lettered: bool = False
    reason: str | None = None


class SyncWorker:
    def __init__(
        self,
        *,
        syncer_for: Callable[[str], ContactSyncer],
        mappings: MappingStore,
        dead_letters: DeadLetters,
        clock: Clock,
        log: Log,
        count: Counter,
        requeue: EventPublisher | None = None,
        on_needs_reconnect: Callable[[str, str], None] | None = None,
        max_receive_count: int = 5,
    ) -> None:
        self._requeue = requeue
        self._on_needs_reconnect = on_needs_reconnect
        self._syncer_for = syncer_for
        self._mappings = mappings
        self._dead_letters = dead_letters
        self._clock = clock
        self._log = log
        self._count = count
        self._max_receive_count = max_receive_count

    def handle_body(self, body: str, *, receive_count: int, first_received: datetime | None = None) -> Disposition:
        """Process one message body; raises only when the message should come back later."""
        try:
            event = SyncEvent.model_validate_json(body)
        except ValueError as exc:
            reason = {"failure_kind": "invalid_message", "failure_reason": f"not a SyncEvent: {str(exc)[:300]}"}
            self._dead_letters.send(
                body, group_id="invalid", dedupe_id=hashlib.sha256(body.encode()).hexdigest(), reason=reason
            )
            self._count("DeadLettered")
            return Disposition(dead_lettered=True, reason=reason["failure_reason"])
        return self.handle(event, body=body, receive_count=receive_count, first_received=first_received)

    def handle(
        self, event: SyncEvent, *, body: str, receive_count: int, first_received: datetime | None = None
    ) -> Disposition:
        try:
            result = self._dispatch(event)
        except ThrottledError:
            self._count("Throttled")
            if self._requeue is not None and receive_count >= self._max_receive_count - 1:
                # Waiting for a rate limit is not a failure: rather than let SQS count this
                # receive towards the DLQ, queue a fresh copy (receive count 1) and let this go.
                fresh = dedupe_key("requeue", event.dedupe_key, receive_count, self._clock.now().isoformat())
                self._requeue.publish([event.model_copy(update={"dedupe_key": fresh})])
                self._count("RequeuedAfterThrottle")
                return Disposition(reason="throttled: requeued")
            raise
        except RetryableError as exc:
            if receive_count < self._max_receive_count:
                self._log.warning("sync will be retried", extra={"reason": exc.message, "attempt": receive_count})
                raise
            return self._park(event, body, exc, receive_count, first_received)
        except NeedsReconnectError as exc:
            # Dead tokens or an organisation disconnected in Xero (403): show it on the connection
            # at once, so `status` says "reconnect" rather than a pile of failed records.
            if self._on_needs_reconnect is not None:
                self._on_needs_reconnect(event.connection_id, exc.message)
            if receive_count < self._max_receive_count:
                raise
            return self._park(event, body, exc, receive_count, first_received)
        except PermanentError as exc:
            return self._park(event, body, exc, receive_count, first_received)
        if result is not None:
            self._count("Synced")
            self._count(f"Outcome_{result.outcome.value}")
        return Disposition(result=result)

    def _dispatch(self, event: SyncEvent) -> SyncResult | None:
        if event.record_type is not RecordType.CONTACT:
            # Billing records are a later issue: acknowledge, count, do not lose silently.
            self._log.info("record type not synced yet", extra={"record_type": event.record_type.value})
            self._count("Unhandled")
            return None
        syncer = self._syncer_for(event.connection_id)
        if not syncer.settings.sync_contacts:
            return None
        if event.source is Source.CLIO:
            return syncer.sync_from_clio(event.record_id)
        return syncer.sync_from_xero(event.record_id)

    def _park(
        self, event: SyncEvent, body: str, exc: SyncError, receive_count: int, first_received: datetime | None
    ) -> Disposition:
        messages = exc.provider_messages if isinstance(exc, ValidationFailedError) else []
        reason_text = exc.message + (": " + "; ".join(messages) if messages else "")
        hint = hint_for(exc, messages)
        now = self._clock.now()
        self._record_on_mapping(event, reason_text, hint)
        reason = {
            "failure_kind": type(exc).__name__,
            "failure_reason": reason_text,
            "hint": hint or "",
            "attempts": str(receive_count),
            "first_failure": (first_received or now).isoformat(),
            "last_failure": now.isoformat(),
            "connection_id": event.connection_id,
            "record": f"{event.source.value}:{event.record_type.value}:{event.record_id}",
        }
        self._dead_letters.send(
            body, group_id=event.message_group_id, dedupe_id=f"{event.dedupe_key}-{receive_count}", reason=reason
        )
        self._log.error("record parked in the dead-letter queue", extra={"reason": reason_text, "hint": hint})
        self._count("DeadLettered")
        return Disposition(dead_lettered=True, reason=reason_text)

    def _record_on_mapping(self, event: SyncEvent, reason: str, hint: str | None) -> None:
        """Put the failure in the per-record error list (the mapping), creating it if needed."""
        if event.record_type is not RecordType.CONTACT:
            return
        clio_id = (
            event.record_id
            if event.source is Source.CLIO
            else self._mappings.clio_id_for(event.connection_id, "contact", event.record_id)
        )
        if clio_id is None:
            return
        now = self._clock.now()
        mapping = self._mappings.get(event.connection_id, "contact", clio_id)
        values: dict[str, Any] = {
            "status": MappingStatus.ERROR,
            "last_error": reason,
            "error_hint": hint,
            "updated_at": now,
        }
        try:
            if mapping is None:
                self._mappings.create(
                    Mapping(
                        connection_id=event.connection_id,
                        record_type="contact",
                        clio_id=clio_id,
                        created_at=now,
                        attempts=1,
                        **values,
                    )
                )
            else:
                values["attempts"] = mapping.attempts + 1
                self._mappings.update(mapping.model_copy(update=values), previous_xero_id=mapping.xero_id)
        except SyncError as exc:  # the DLQ still carries the reason
            self._log.warning("could not record the error on the mapping", extra={"reason": exc.message})


def event_json(event: SyncEvent) -> str:
    return json.dumps(event.model_dump(mode="json"))
