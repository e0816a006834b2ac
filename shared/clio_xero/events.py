"""The one normalised event type on the sync queue, and the provider payloads it is made from.

A :class:`SyncEvent` is a *hint*: "record X of type T in system S changed". Workers fetch the
record's current state from its source before acting, so the order of delivery and duplicates do
not matter, and the event never carries record data or secrets.

Normalising is pure: :func:`events_from_xero` and :func:`events_from_clio` turn a parsed provider
payload into events without I/O.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from clio_xero.errors import MalformedPayloadError

SCHEMA_VERSION: Literal[1] = 1


class Source(StrEnum):
    CLIO = "clio"
    XERO = "xero"


class RecordType(StrEnum):
    """Record types the sync knows. Clio webhook models map 1:1; Xero categories map below."""

    CONTACT = "contact"
    MATTER = "matter"
    ACTIVITY = "activity"
    BILL = "bill"
    CLIO_PAYMENT = "clio_payments_payment"
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    # Clio allocations (payments applied to a bill) and credit memos: Clio sends no webhooks for
    # them, so their events come from the sweep and the backfill (docs/payments.md).
    ALLOCATION = "allocation"
    CREDIT_MEMO = "credit_memo"


class Action(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    MATTER_OPENED = "matter_opened"
    MATTER_PENDED = "matter_pended"
    MATTER_CLOSED = "matter_closed"


class SyncEvent(BaseModel):
    """A change hint on the sync queue. Safe to log: it holds ids and times, no data or secrets."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    connection_id: str = Field(min_length=1, max_length=64)
    source: Source
    record_type: RecordType
    record_id: str = Field(min_length=1, max_length=128)
    action: Action
    occurred_at: datetime | None = None  # the provider's event time, when it gives one (Xero)
    received_at: datetime
    dedupe_key: str = Field(min_length=16, max_length=128)
    delivery_id: str | None = None  # the raw delivery this came from (for replay and audit)
    #: The record's version the provider named in the hint (Clio's ``etag``), when it sent one.
    #: Optional (older messages have none): a plug-in may answer a hint whose version is the one
    #: it last synced without any API call (docs/billing.md "A burst of bills").
    version: str | None = Field(default=None, max_length=256)

    @property
    def message_group_id(self) -> str:
        """FIFO group: one per (connection, root record), so work on a record is serialised."""
        return f"{self.connection_id}#{self.source.value}:{self.record_type.value}:{self.record_id}"


# --------------------------------------------------------------------------------- ids
# Every id that reaches the queue is checked first: a signed delivery with an id no provider would
# send (200 digits, "abc") is refused at intake instead of becoming a poison message (docs/threat-model.md).
MAX_CLIO_ID = 2**63 - 1  # Clio ids are 64-bit integers (the official spec types them int64)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def clio_id(value: object) -> str:
    """A Clio record or webhook id as text: a positive integer that fits int64; else ``ValueError``."""
    if isinstance(value, bool):
        raise ValueError("a Clio id is a number, not a boolean")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        text = value
    else:
        raise ValueError(f"not a Clio id (a positive whole number): {str(value)[:40]!r}")
    if not 0 < int(text) <= MAX_CLIO_ID:
        raise ValueError(f"not a Clio id (a positive whole number up to 2^63-1): {text[:40]!r}")
    return str(int(text))


def xero_id(value: object) -> str:
    """A Xero id (ContactID, InvoiceID, tenant id...): a GUID, kept as written; else ``ValueError``."""
    if not isinstance(value, str) or not _GUID.match(value):
        raise ValueError(f"not a Xero id (a GUID): {str(value)[:40]!r}")
    return value


def record_id_for(source: Source, value: str) -> str:
    """``value`` checked as a record id of ``source`` (``ValueError`` saying what is expected)."""
    return clio_id(value) if source is Source.CLIO else xero_id(value)


ClioId = Annotated[str, BeforeValidator(clio_id)]
XeroId = Annotated[str, BeforeValidator(xero_id)]


def dedupe_key(*parts: object) -> str:
    """A stable key over the parts that identify one provider event (SQS dedup id ≤ 128 chars)."""
    joined = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------- Xero
class XeroWebhookEvent(BaseModel):
    """One element of ``events`` (xero-webhooks.yaml ``Event``)."""

    model_config = ConfigDict(extra="ignore")

    resourceUrl: str | None = None
    resourceId: XeroId
    eventDateUtc: datetime | None = None
    eventType: str = Field(max_length=64)
    eventCategory: str = Field(max_length=64)
    tenantId: XeroId
    tenantType: str | None = None


class XeroWebhookPayload(BaseModel):
    """A Xero delivery. An intent-to-receive request has ``events == []``."""

    model_config = ConfigDict(extra="ignore")

    events: list[XeroWebhookEvent]
    firstEventSequence: int | None = None
    lastEventSequence: int | None = None
    entropy: str | None = None


_XERO_CATEGORIES: dict[str, RecordType] = {
    "CONTACT": RecordType.CONTACT,
    "INVOICE": RecordType.INVOICE,
    "CREDITNOTE": RecordType.CREDIT_NOTE,
}
_XERO_ACTIONS: dict[str, Action] = {"CREATE": Action.CREATED, "UPDATE": Action.UPDATED}


def xero_record_type(category: str) -> RecordType | None:
    """The record type for a Xero event category; ``None`` for categories we do not sync."""
    return _XERO_CATEGORIES.get(category.upper())


def event_from_xero(
    item: XeroWebhookEvent, *, connection_id: str, received_at: datetime, delivery_id: str | None
) -> SyncEvent | None:
    """Normalise one Xero event; ``None`` when its category or type is not one we sync."""
    record_type = xero_record_type(item.eventCategory)
    action = _XERO_ACTIONS.get(item.eventType.upper())
    if record_type is None or action is None:
        return None
    return SyncEvent(
        connection_id=connection_id,
        source=Source.XERO,
        record_type=record_type,
        record_id=item.resourceId,
        action=action,
        occurred_at=item.eventDateUtc,
        received_at=received_at,
        dedupe_key=dedupe_key(
            "xero", item.tenantId, item.eventCategory, item.resourceId, item.eventType, item.eventDateUtc
        ),
        delivery_id=delivery_id,
    )


# --------------------------------------------------------------------------------- Clio
def _clio_action(value: str) -> str:
    try:
        return Action(value).value
    except ValueError:
        raise ValueError(f"unknown Clio event {value[:40]!r}") from None


class ClioWebhookMeta(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event: Annotated[str, AfterValidator(_clio_action)]
    webhook_id: ClioId


class ClioWebhookData(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: ClioId
    etag: str | None = Field(default=None, max_length=256)
    updated_at: str | None = Field(default=None, max_length=64)


class ClioWebhookPayload(BaseModel):
    """A Clio delivery: ``{"data": {<subscribed fields>}, "meta": {"event", "webhook_id"}}``."""

    model_config = ConfigDict(extra="ignore")

    data: ClioWebhookData
    meta: ClioWebhookMeta


_CLIO_MODELS: dict[str, RecordType] = {
    "contact": RecordType.CONTACT,
    "matter": RecordType.MATTER,
    "activity": RecordType.ACTIVITY,
    "bill": RecordType.BILL,
    "clio_payments_payment": RecordType.CLIO_PAYMENT,
}


def clio_record_type(model: str | None) -> RecordType | None:
    """The record type for a Clio webhook model name (``contact``, ``bill``...)."""
    return _CLIO_MODELS.get((model or "").lower())


def event_from_clio(
    payload: ClioWebhookPayload,
    *,
    connection_id: str,
    model: RecordType,
    received_at: datetime,
    delivery_id: str | None,
) -> SyncEvent:
    """Normalise a Clio delivery.

    Clio sends no event id or timestamp, so the dedupe key is derived from what identifies one
    change: (webhook id, record id, etag, event). A redelivery of the same change gets the same key.
    """
    try:
        action = Action(payload.meta.event)
    except ValueError as exc:
        raise MalformedPayloadError(f"unknown Clio event {payload.meta.event!r}") from exc
    return SyncEvent(
        connection_id=connection_id,
        source=Source.CLIO,
        record_type=model,
        record_id=str(payload.data.id),
        action=action,
        occurred_at=None,
        received_at=received_at,
        dedupe_key=dedupe_key("clio", payload.meta.webhook_id, payload.data.id, payload.data.etag, payload.meta.event),
        delivery_id=delivery_id,
        version=payload.data.etag,
    )


def clio_delivery_needed(payload: ClioWebhookPayload, queue_only_with: Sequence[str]) -> bool:
    """Does any sync need this Clio delivery on the queue?

    ``queue_only_with`` is what the webhook's record types declared (``ClioWebhook.queue_only_with``,
    stored with the webhook's secret): the delivery is needed unless its data carries *every* one
    of those fields and each is ``null`` (e.g. an activity whose ``bill`` is null: on no bill, so
    nothing to sync). Always needed: no declaration (webhooks registered before it existed), a
    ``deleted`` event (its data is only ``id`` and ``etag``), and a declared field the data does not
    carry at all (absent is not "none": the webhook may still have older ``fields``).
    docs/billing.md "Activities on no bill never reach the queue".
    """
    if not queue_only_with or payload.meta.event == Action.DELETED.value:
        return True
    data = payload.data.model_extra or {}
    return any(name not in data or data[name] is not None for name in queue_only_with)
