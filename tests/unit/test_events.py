"""Normalising provider payloads into the one queue event type (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from clio_xero.events import (
    Action,
    ClioWebhookPayload,
    RecordType,
    Source,
    SyncEvent,
    XeroWebhookEvent,
    clio_record_type,
    event_from_clio,
    event_from_xero,
    record_id_for,
)

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
RESOURCE = "0f3c5c8e-2f0c-4b8a-9a34-6b1f0d8e9a71"
TENANT = "4d0b3a7e-1111-4222-8333-444455556666"


def xero_item(**overrides: str) -> XeroWebhookEvent:
    data = {
        "resourceUrl": f"https://api.xero.com/api.xro/2.0/Contacts/{RESOURCE}",
        "resourceId": RESOURCE,
        "eventDateUtc": "2026-11-25T08:59:00.123",
        "eventType": "UPDATE",
        "eventCategory": "CONTACT",
        "tenantId": TENANT,
        "tenantType": "ORGANISATION",
    }
    data.update(overrides)
    return XeroWebhookEvent.model_validate(data)


@pytest.mark.parametrize(
    ("category", "event_type", "record_type", "action"),
    [
        ("CONTACT", "UPDATE", RecordType.CONTACT, Action.UPDATED),
        ("INVOICE", "CREATE", RecordType.INVOICE, Action.CREATED),
        ("CREDITNOTE", "UPDATE", RecordType.CREDIT_NOTE, Action.UPDATED),
    ],
)
def test_xero_categories_map(category: str, event_type: str, record_type: RecordType, action: Action) -> None:
    event = event_from_xero(
        xero_item(eventCategory=category, eventType=event_type), connection_id="c1", received_at=NOW, delivery_id="d"
    )
    assert event is not None
    assert (event.source, event.record_type, event.action, event.record_id) == (
        Source.XERO,
        record_type,
        action,
        RESOURCE,
    )
    assert event.connection_id == "c1"
    assert event.delivery_id == "d"


@pytest.mark.parametrize(("category", "event_type"), [("SUBSCRIPTION", "UPDATE"), ("CONTACT", "DELETE")])
def test_xero_events_we_do_not_sync_are_none(category: str, event_type: str) -> None:
    item = xero_item(eventCategory=category, eventType=event_type)
    assert event_from_xero(item, connection_id="c1", received_at=NOW, delivery_id=None) is None


def test_xero_dedupe_key_is_stable_and_specific() -> None:
    def key(item: XeroWebhookEvent) -> str:
        event = event_from_xero(item, connection_id="c1", received_at=NOW, delivery_id=None)
        assert event is not None
        return event.dedupe_key

    same = key(xero_item())
    assert same == key(xero_item())  # a redelivery of the same event
    assert same != key(xero_item(eventDateUtc="2026-11-25T09:00:00.000"))  # a later change
    assert same != key(xero_item(resourceId=RESOURCE.replace("0f", "1f")))
    assert same != key(xero_item(tenantId=TENANT.replace("4d", "5d")))


def clio_payload(event: str = "updated", etag: str = '"e1"') -> ClioWebhookPayload:
    return ClioWebhookPayload.model_validate(
        {"data": {"id": 42, "etag": etag, "name": "Ada"}, "meta": {"event": event, "webhook_id": 7}}
    )


def test_clio_payload_normalises_with_derived_dedupe_key() -> None:
    event = event_from_clio(
        clio_payload(), connection_id="c1", model=RecordType.CONTACT, received_at=NOW, delivery_id=None
    )
    assert (event.source, event.record_type, event.record_id, event.action) == (
        Source.CLIO,
        RecordType.CONTACT,
        "42",
        Action.UPDATED,
    )
    again = event_from_clio(
        clio_payload(), connection_id="c1", model=RecordType.CONTACT, received_at=NOW, delivery_id="x"
    )
    changed = event_from_clio(
        clio_payload(etag='"e2"'), connection_id="c1", model=RecordType.CONTACT, received_at=NOW, delivery_id=None
    )
    assert event.dedupe_key == again.dedupe_key
    assert event.dedupe_key != changed.dedupe_key


def test_clio_matter_events_and_unknown_events() -> None:
    closed = event_from_clio(
        clio_payload("matter_closed"), connection_id="c1", model=RecordType.MATTER, received_at=NOW, delivery_id=None
    )
    assert closed.action is Action.MATTER_CLOSED
    with pytest.raises(ValidationError, match="unknown Clio event"):
        clio_payload("exploded")  # refused when parsed, before anything is archived or queued


@pytest.mark.parametrize(
    ("model", "expected"),
    [("contact", RecordType.CONTACT), ("BILL", RecordType.BILL), ("task", None), (None, None)],
)
def test_clio_models(model: str | None, expected: RecordType | None) -> None:
    assert clio_record_type(model) is expected


def test_sync_event_is_a_closed_hint() -> None:
    event = event_from_clio(
        clio_payload(), connection_id="c1", model=RecordType.CONTACT, received_at=NOW, delivery_id=None
    )
    assert event.message_group_id == "c1#clio:contact:42"
    # The queue event carries ids, never record data (the payload's "name" is not in it).
    assert "Ada" not in event.model_dump_json()
    with pytest.raises(ValidationError):
        SyncEvent.model_validate({**event.model_dump(), "access_token": "x"})
    assert SyncEvent.model_validate_json(event.model_dump_json()) == event


@pytest.mark.parametrize("value", ["abc", "12x", "1" * 200, "0", "-5", 2**63, 0, True, 1.5, None, "١٢"])
def test_clio_ids_that_no_clio_sends_are_refused(value: object) -> None:
    with pytest.raises(ValidationError):
        ClioWebhookPayload.model_validate({"data": {"id": value}, "meta": {"event": "created", "webhook_id": 7}})


@pytest.mark.parametrize("value", ["abc", "", "0f3c5c8e2f0c4b8a9a346b1f0d8e9a71", "x" * 200, 42])
def test_xero_ids_must_be_guids(value: object) -> None:
    with pytest.raises(ValidationError):
        xero_item(resourceId=value)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        xero_item(tenantId=value)  # type: ignore[arg-type]


def test_record_ids_as_operators_type_them() -> None:
    assert record_id_for(Source.CLIO, "1042") == "1042"
    assert record_id_for(Source.XERO, RESOURCE) == RESOURCE
    for source, value in ((Source.CLIO, "abc"), (Source.CLIO, "12x"), (Source.XERO, "1042")):
        with pytest.raises(ValueError, match="not a"):
            record_id_for(source, value)
