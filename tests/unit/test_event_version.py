"""The record version a hint carries (Clio's etag as ``SyncEvent.version``): kept by the Clio
normaliser, optional on the queue so messages written before it still parse."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from clio_xero.events import ClioWebhookPayload, RecordType, SyncEvent, event_from_clio

NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)


def payload(data: dict[str, object]) -> ClioWebhookPayload:
    return ClioWebhookPayload.model_validate({"data": data, "meta": {"event": "updated", "webhook_id": 7}})


def test_the_clio_etag_travels_on_the_event_as_its_version() -> None:
    event = event_from_clio(
        payload({"id": 42, "etag": '"abc123"', "state": "awaiting_payment"}),
        connection_id="c1",
        model=RecordType.BILL,
        received_at=NOW,
        delivery_id=None,
    )
    assert event.version == '"abc123"'
    assert SyncEvent.model_validate_json(event.model_dump_json()) == event  # survives the queue
    bare = event_from_clio(
        payload({"id": 42}), connection_id="c1", model=RecordType.BILL, received_at=NOW, delivery_id=None
    )
    assert bare.version is None  # a webhook registered without `etag` in its fields


def test_a_message_written_before_the_version_existed_still_parses() -> None:
    old = {
        "schema_version": 1,
        "connection_id": "c1",
        "source": "clio",
        "record_type": "bill",
        "record_id": "42",
        "action": "updated",
        "received_at": NOW.isoformat(),
        "dedupe_key": "0123456789abcdef0123",
        "delivery_id": None,
    }
    event = SyncEvent.model_validate_json(json.dumps(old))
    assert event.version is None
