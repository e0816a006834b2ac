"""The sync worker: one :class:`~clio_xero.events.SyncEvent` in, its record type's plug-in run.

The worker only dispatches (to :class:`~clio_xero.sync.core.engine.SyncEngine`, which finds the
plug-in in the registry) and applies the one disposition
:func:`~clio_xero.sync.core.disposition.decide` chooses:

* done → the message is deleted;
* retry later → the error is raised for SQS to redeliver (the Lambda entry delays a throttled
  message by ``retry_after``); near the receive limit a throttled record is queued afresh
  instead, so waiting for a rate limit never lands it in the DLQ; a record waiting for its parent
  is shown on its mapping (status ``waiting``) meanwhile;
* park → recorded on the mapping by the record type's plug-in (the error list `clio-xero errors`
  shows) and dead-lettered **with the reason attached**; `dlq redrive` or `retry` re-runs it once
  a person has acted (fixed a setting, reconnected).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from clio_xero.aws.queue import EventPublisher
from clio_xero.clock import Clock
from clio_xero.errors import (
    DependencyPendingError,
    NeedsReconnectError,
    SyncError,
    ThrottledError,
    ValidationFailedError,
)
from clio_xero.events import SyncEvent, dedupe_key
from clio_xero.observe import Counter, Log
from clio_xero.sync.core.disposition import Verdict, decide
from clio_xero.sync.core.engine import Handled, Skip, SyncEngine
from clio_xero.sync.core.plugin import SyncedRecord
from clio_xero.sync.hints import hint_for
from clio_xero.sync.mapping import MappingStatus, MappingStore


class DeadLetters(Protocol):
    def send(self, event_body: str, *, group_id: str, dedupe_id: str, reason: dict[str, str]) -> None: ...


@dataclass
class Disposition:
    """What became of one queue message."""

    result: SyncedRecord | None = None
    dead_lettered: bool = False
    reason: str | None = None


class SyncWorker:
    def __init__(
        self,
        *,
        engine: SyncEngine,
        mappings: MappingStore,
        dead_letters: DeadLetters,
        clock: Clock,
        log: Log,
        count: Counter,
        requeue: EventPublisher | None = None,
        on_needs_reconnect: Callable[[str, str], None] | None = None,
        max_receive_count: int = 5,
    ) -> None:
        self._engine = engine
        self._requeue = requeue
        self._on_needs_reconnect = on_needs_reconnect
        self._mappings = mappings
        self._dead_letters = dead_letters
        self._clock = clock
        self._log = log
        self._count = count
        self._max_receive_count = max_receive_count

    def handle_body(self, body: str, *, receive_count: int, first_received: datetime | None = None) -> Disposition:
        """Process one message body; raises only when the message should come back later."""
        event = self._parse(body)
        if isinstance(event, str):
            return self._invalid(body, event)
        return self.handle(event, body=body, receive_count=receive_count, first_received=first_received)

    def handle(
        self, event: SyncEvent, *, body: str, receive_count: int, first_received: datetime | None = None
    ) -> Disposition:
        try:
            handled: Handled | SyncError = self._engine.sync(event)
        except SyncError as exc:
            handled = exc
        return self._apply(event, handled, body=body, receive_count=receive_count, first_received=first_received)

    def handle_batch(self, messages: Sequence[Message]) -> list[Disposition | SyncError]:
        """Several messages at once (one SQS batch): events of one type and connection reach their
        plug-in together, so it can coalesce them (bulk reads, batched Xero writes). One entry per
        message, in order: a :class:`Disposition`, or the error to raise for that message (retry
        later), exactly as :meth:`handle_body` would have raised it."""
        out: list[Disposition | SyncError | None] = [None] * len(messages)
        events: list[tuple[int, SyncEvent]] = []
        for index, message in enumerate(messages):
            event = self._parse(message.body)
            if isinstance(event, str):
                out[index] = self._invalid(message.body, event)
            else:
                events.append((index, event))
        results = self._engine.sync_batch([e for _, e in events]) if events else []
        for (index, event), handled in zip(events, results, strict=True):
            message = messages[index]
            try:
                out[index] = self._apply(
                    event,
                    handled,
                    body=message.body,
                    receive_count=message.receive_count,
                    first_received=message.first_received,
                )
            except SyncError as exc:
                out[index] = exc
        return [o for o in out if o is not None]

    def coalesces(self, body: str) -> bool:
        """Should this message go through :meth:`handle_batch` (its record type coalesces bursts)?"""
        event = self._parse(body)
        if isinstance(event, str):
            return False
        plugin = self._engine.plugin_for(event)
        return plugin is not None and plugin.coalesces

    # ------------------------------------------------------------------ dispositions
    @staticmethod
    def _parse(body: str) -> SyncEvent | str:
        """The event, or what is wrong with the body."""
        try:
            return SyncEvent.model_validate_json(body)
        except ValueError as exc:
            return str(exc)[:300]

    def _invalid(self, body: str, problem: str) -> Disposition:
        reason = {"failure_kind": "invalid_message", "failure_reason": f"not a SyncEvent: {problem}"}
        self._dead_letters.send(
            body, group_id="invalid", dedupe_id=hashlib.sha256(body.encode()).hexdigest(), reason=reason
        )
        self._count("DeadLettered")
        return Disposition(dead_lettered=True, reason=reason["failure_reason"])

    def _apply(
        self,
        event: SyncEvent,
        handled: Handled | SyncError,
        *,
        body: str,
        receive_count: int,
        first_received: datetime | None,
    ) -> Disposition:
        """Apply the one disposition :func:`decide` chooses; raises ``handled`` to retry later."""
        error = handled if isinstance(handled, SyncError) else None
        decision = decide(
            error,
            receive_count=receive_count,
            max_receive_count=self._max_receive_count,
            can_requeue=self._requeue is not None,
        )
        if error is None:
            assert isinstance(handled, Handled)
            return self._done(event, handled)
        if isinstance(error, ThrottledError):
            self._count("Throttled")
        if isinstance(error, NeedsReconnectError) and self._on_needs_reconnect is not None:
            # Dead tokens or an organisation disconnected in Xero (403): show it on the connection
            # at once, so `status` says "reconnect" rather than a pile of failed records.
            self._on_needs_reconnect(event.connection_id, error.message)
        if decision.verdict is Verdict.REQUEUE:
            assert self._requeue is not None
            # Waiting for a rate limit is not a failure: rather than let SQS count this receive
            # towards the DLQ, queue a fresh copy (receive count 1) and let this one go.
            fresh = dedupe_key("requeue", event.dedupe_key, receive_count, self._clock.now().isoformat())
            self._requeue.publish([event.model_copy(update={"dedupe_key": fresh})])
            self._count("RequeuedAfterThrottle")
            return Disposition(reason="throttled: requeued")
        if decision.verdict is Verdict.RETRY_LATER:
            if isinstance(error, DependencyPendingError):
                self._record(event, error, hint=f"it syncs by itself once {error.parent} is linked",
                             status=MappingStatus.WAITING)  # fmt: skip
            if not isinstance(error, ThrottledError | NeedsReconnectError):
                self._log.warning("sync will be retried", extra={"reason": error.message, "attempt": receive_count})
            raise error
        return self._park(event, body, error, receive_count, first_received)

    def _done(self, event: SyncEvent, handled: Handled) -> Disposition:
        if handled.skipped is Skip.UNHANDLED:
            # A record type with no plug-in yet: acknowledge, count, do not lose silently.
            self._log.info("record type not synced yet", extra={"record_type": event.record_type.value})
            self._count("Unhandled")
            return Disposition()
        if handled.skipped is Skip.DISABLED:
            # Switched off for this connection: acknowledged and counted, so the metric (and a
            # person reading it) sees the event was seen and why nothing was written.
            self._count("SkippedSwitchedOff")
            return Disposition()
        if handled.result is None:
            return Disposition()
        self._count("Synced")
        self._count(f"Outcome_{handled.result.outcome.value}")
        return Disposition(result=handled.result)

    def _park(
        self, event: SyncEvent, body: str, exc: SyncError, receive_count: int, first_received: datetime | None
    ) -> Disposition:
        messages = exc.provider_messages if isinstance(exc, ValidationFailedError) else []
        reason_text = exc.message + (": " + "; ".join(messages) if messages else "")
        hint = hint_for(exc, messages)
        now = self._clock.now()
        self._record(event, exc, hint=hint, reason=reason_text)
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

    def _record(
        self,
        event: SyncEvent,
        exc: SyncError,
        *,
        hint: str | None,
        reason: str | None = None,
        status: MappingStatus = MappingStatus.ERROR,
    ) -> None:
        """Put the failure in the per-record error list, the way the record type's plug-in keeps it."""
        plugin = self._engine.plugin_for(event)
        if plugin is None:
            return
        depends_on = exc.parent if isinstance(exc, DependencyPendingError) else None
        try:
            plugin.record_failure(
                self._mappings,
                event,
                reason=reason or exc.message,
                hint=hint,
                now=self._clock.now(),
                status=status,
                depends_on=depends_on,
            )
        except SyncError as failure:  # the DLQ still carries the reason
            self._log.warning("could not record the error on the mapping", extra={"reason": failure.message})


@dataclass(frozen=True)
class Message:
    """One queue message as :meth:`SyncWorker.handle_batch` takes it."""

    body: str
    receive_count: int
    first_received: datetime | None = None


def event_json(event: SyncEvent) -> str:
    return json.dumps(event.model_dump(mode="json"))
