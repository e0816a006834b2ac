"""``retry``: put a fresh event for a record on the sync queue (after its cause was fixed)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from clio_xero.admin.errorlist import problem_mappings
from clio_xero.admin.records import RecordRef
from clio_xero.admin.stack import OpsStack
from clio_xero.aws.dlq import PurgedRecords
from clio_xero.aws.queue import SqsEventPublisher
from clio_xero.events import Action, RecordType, Source, SyncEvent, dedupe_key
from clio_xero.sync.mapping import MappingStatus


def retry_event(connection_id: str, record: RecordRef, *, stack: OpsStack, nonce: str | None = None) -> SyncEvent:
    """A new hint for ``record``. The nonce gives it its own dedupe key: SQS must not drop it as a
    repeat of the event that failed (or of a retry a minute ago)."""
    return SyncEvent(
        connection_id=connection_id,
        source=record.source,
        record_type=record.record_type,
        record_id=record.record_id,
        action=Action.UPDATED,  # the worker reads current state; the action is informational
        received_at=stack.clock.now(),
        dedupe_key=dedupe_key("retry", connection_id, str(record), nonce or uuid.uuid4().hex),
    )


def retry_records(stack: OpsStack, connection_id: str, records: Sequence[RecordRef]) -> list[SyncEvent]:
    events = [retry_event(connection_id, r, stack=stack) for r in records]
    if events:
        SqsEventPublisher(stack.queue_url, stack.sqs).publish(events)
        # A record kept in `errors` after its DLQ message was purged leaves the list once retried.
        PurgedRecords(stack).forget(connection_id, [str(r) for r in records])
    return events


def error_records(stack: OpsStack, connection_id: str) -> list[RecordRef]:
    """Every record whose mapping is in error or waiting for its parent (``--all-errors``), named
    by its Clio side, and records kept in `errors` after their DLQ message was purged."""
    refs = [
        RecordRef(Source.CLIO, RecordType(m.record_type), m.clio_id)
        for m in problem_mappings(stack, connection_id)
        if m.status in {MappingStatus.ERROR, MappingStatus.WAITING}
    ]
    for purged in PurgedRecords(stack).list(connection_id):
        try:
            ref = RecordRef.parse(str(purged["record"]))
        except ValueError:
            continue
        if ref not in refs:
            refs.append(ref)
    return refs
