"""The per-record error list: mappings in error or waiting for review, joined with the DLQ's reasons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clio_xero.admin.stack import OpsStack
from clio_xero.aws.dlq import MOVED_BY_SQS, DeadLetter, DeadLetterQueue, PurgedRecords, kind_hint
from clio_xero.store.mappings import DynamoMappingStore
from clio_xero.sync.mapping import Mapping, MappingStatus
from clio_xero.sync.record_types import default_registry

PROBLEM_STATUSES = (MappingStatus.ERROR, MappingStatus.NEEDS_REVIEW, MappingStatus.WAITING)


@dataclass(frozen=True)
class RecordError:
    connection_id: str
    record: str  # clio:contact:123 (the Clio side names the mapping)
    status: str  # error | needs_review | dead_lettered
    what_failed: str | None  # the failure kind
    message: str | None  # the provider's own words where it gave any
    attempts: int | None
    hint: str | None
    updated_at: datetime | None
    xero_id: str | None = None
    dlq_message_ids: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "connection_id": self.connection_id,
            "record": self.record,
            "status": self.status,
            "what_failed": self.what_failed,
            "message": self.message,
            "attempts": self.attempts,
            "hint": self.hint,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "xero_id": self.xero_id,
            "dlq_message_ids": list(self.dlq_message_ids),
        }


def problem_mappings(stack: OpsStack, connection_id: str) -> list[Mapping]:
    store = DynamoMappingStore(stack.table_name, stack.dynamodb)
    out: list[Mapping] = []
    for record_type in default_registry().names():
        out.extend(m for m in store.list(connection_id, record_type) if m.status in PROBLEM_STATUSES)
    return out


def _record_names(mapping: Mapping) -> set[str]:
    names = {f"clio:{mapping.record_type}:{mapping.clio_id}"}
    if mapping.xero_id:
        names.add(f"xero:{mapping.record_type}:{mapping.xero_id}")
    return names


def error_list(
    stack: OpsStack, connection_ids: list[str], *, dead_letters: list[DeadLetter] | None = None
) -> list[RecordError]:
    """Every record that needs a person, newest first.

    A mapping in error takes the DLQ's reason attributes, attempts and hint for the same record
    when they are there (so this list and ``dlq list`` agree). A DLQ message whose record has no
    mapping in error (it failed before anything was linked, or on the Xero side of an unlinked
    contact) is listed on its own, and so is such a record after its message was purged, until it
    is retried. A DLQ message for a record that synced since (its mapping is fine and newer) is
    stale: ``dlq list`` shows it, this list does not.
    """
    letters = dead_letters if dead_letters is not None else DeadLetterQueue(stack).list()
    mappings_store = DynamoMappingStore(stack.table_name, stack.dynamodb)
    out: list[RecordError] = []
    claimed: set[str] = set()
    for connection_id in connection_ids:
        for mapping in problem_mappings(stack, connection_id):
            names = _record_names(mapping)
            mine = [m for m in letters if m.connection_id == connection_id and m.record in names]
            claimed.update(m.message_id for m in mine)
            latest = max(mine, key=lambda m: m.reason.get("last_failure", ""), default=None)
            reason = latest.reason if latest else {}
            out.append(
                RecordError(
                    connection_id=connection_id,
                    record=f"clio:{mapping.record_type}:{mapping.clio_id}",
                    status=mapping.status.value,
                    what_failed=reason.get("failure_kind")
                    or ("needs review" if mapping.status is MappingStatus.NEEDS_REVIEW else None),
                    message=mapping.last_error or reason.get("failure_reason"),
                    attempts=(latest.attempts if latest else None) or mapping.attempts or None,
                    hint=(latest.hint if latest else None) or mapping.error_hint or _review_hint(mapping),
                    updated_at=mapping.updated_at,
                    xero_id=mapping.xero_id,
                    dlq_message_ids=tuple(m.message_id for m in mine),
                )
            )
        for letter in letters:
            if letter.message_id in claimed or letter.connection_id != connection_id:
                continue
            if _synced_since(mappings_store, letter):
                continue
            out.append(
                RecordError(
                    connection_id=connection_id,
                    record=letter.record or "?",
                    status="dead_lettered",
                    what_failed=letter.kind,
                    message=letter.reason.get("failure_reason"),
                    attempts=letter.attempts,
                    hint=letter.hint,
                    updated_at=letter.sent_at,
                    dlq_message_ids=(letter.message_id,),
                )
            )
        listed = {(e.connection_id, e.record) for e in out}
        for purged in PurgedRecords(stack).list(connection_id):
            if (connection_id, purged["record"]) in listed or _synced_after(mappings_store, connection_id, purged):
                continue
            out.append(
                RecordError(
                    connection_id=connection_id,
                    record=purged["record"],
                    status="dead_lettered",
                    what_failed=purged.get("failure_kind") or MOVED_BY_SQS,
                    message=purged.get("failure_reason"),
                    attempts=int(purged["attempts"]) if purged.get("attempts") is not None else None,
                    hint=(purged.get("hint") or kind_hint(MOVED_BY_SQS) or "") + "; its DLQ message was purged: "
                    f"`clio-xero retry {purged['record']}`",
                    updated_at=datetime.fromisoformat(purged["parked_at"]),
                )
            )
    return sorted(out, key=lambda e: e.updated_at.isoformat() if e.updated_at else "", reverse=True)


def only_in_the_dlq(stack: OpsStack, letters: Sequence[DeadLetter]) -> list[DeadLetter]:
    """The letters whose records nothing but the DLQ remembers (what a purge must write down)."""
    connection_ids = sorted({c for c in (m.connection_id for m in letters) if c})
    listed = error_list(stack, connection_ids, dead_letters=list(letters))
    ids = {i for e in listed if e.status == "dead_lettered" for i in e.dlq_message_ids}
    return [m for m in letters if m.message_id in ids]


def _synced_after(store: DynamoMappingStore, connection_id: str, purged: dict[str, Any]) -> bool:
    source, record_type, record_id = str(purged["record"]).split(":", 2)
    clio_id = record_id if source == "clio" else store.clio_id_for(connection_id, record_type, record_id)
    mapping = store.get(connection_id, record_type, clio_id) if clio_id else None
    return (
        mapping is not None
        and mapping.status is MappingStatus.OK
        and mapping.updated_at >= datetime.fromisoformat(purged["purged_at"])
    )


def _review_hint(mapping: Mapping) -> str | None:
    if mapping.status is MappingStatus.NEEDS_REVIEW:
        return "several Xero contacts could match: `clio-xero contacts review`"
    return None


def _synced_since(store: DynamoMappingStore, letter: DeadLetter) -> bool:
    event = letter.event
    if event is None:
        return False
    clio_id = (
        event.record_id
        if event.source.value == "clio"
        else store.clio_id_for(event.connection_id, event.record_type.value, event.record_id)
    )
    if clio_id is None:
        return False
    mapping = store.get(event.connection_id, event.record_type.value, clio_id)
    if mapping is None or mapping.status is not MappingStatus.OK:
        return False
    return letter.sent_at is None or mapping.updated_at >= letter.sent_at
