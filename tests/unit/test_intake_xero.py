"""The Xero receiver with in-memory fakes: every answer Xero's rules require."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from clio_xero.clock import ManualClock
from clio_xero.intake.http import HttpRequest
from clio_xero.intake.limits import MAX_BODY_BYTES
from clio_xero.intake.xero import XeroIntake
from clio_xero.store.connections import Connection
from clio_xero.webhooks.signing import sign_xero
from tests.fakes.intake import Counts, FakeArchive, FakeConnections, FakePublisher, RecordingLog

KEY = "xero-webhook-key-for-tests"
TENANT = "4d0b3a7e-1111-4222-8333-444455556666"
RESOURCE = "0f3c5c8e-2f0c-4b8a-9a34-6b1f0d8e9a71"
KNOWN = "0f3c5c8e-2f0c-4b8a-9a34-6b1f0d8e9a72"
STRANGER = "0f3c5c8e-2f0c-4b8a-9a34-6b1f0d8e9a73"


def event(category: str = "CONTACT", resource_id: str = RESOURCE, tenant: str = TENANT) -> dict[str, Any]:
    return {
        "resourceUrl": f"https://api.xero.com/api.xro/2.0/x/{resource_id}",
        "resourceId": resource_id,
        "eventDateUtc": "2026-11-25T08:00:00.000",
        "eventType": "UPDATE",
        "eventCategory": category,
        "tenantId": tenant,
        "tenantType": "ORGANISATION",
    }


def body(*events: dict[str, Any]) -> bytes:
    return json.dumps(
        {"events": list(events), "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "E"}
    ).encode()


def request(raw: bytes, signature: str | None) -> HttpRequest:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["x-xero-signature"] = signature
    return HttpRequest(method="POST", path="/webhooks/xero", body=raw, headers=headers)


@pytest.fixture
def parts() -> dict[str, Any]:
    connections = FakeConnections(
        {"c1": Connection(connection_id="c1", xero_tenant_id=TENANT, created_at=datetime(2026, 1, 1, tzinfo=UTC))}
    )
    return {
        "connections": connections,
        "archive": FakeArchive(),
        "publisher": FakePublisher(),
        "log": RecordingLog(),
        "count": Counts(),
    }


@pytest.fixture
def intake(parts: dict[str, Any]) -> XeroIntake:
    return XeroIntake(webhook_key=lambda: KEY, clock=ManualClock(), **parts)


def test_intent_to_receive_good_signature_is_200_empty_and_queues_nothing(
    intake: XeroIntake, parts: dict[str, Any]
) -> None:
    raw = body()
    response = intake.handle(request(raw, sign_xero(raw, KEY)))
    assert (response.status, response.body) == (200, "")
    assert parts["publisher"].events == []
    assert parts["archive"].stored == []
    assert parts["count"].values == {"IntentToReceive": 1}


@pytest.mark.parametrize("signature", [None, "", "bm9wZQ==", sign_xero(b"other body", KEY)])
def test_bad_or_missing_signature_is_401_empty_and_nothing_stored(
    intake: XeroIntake, parts: dict[str, Any], signature: str | None
) -> None:
    raw = body(event())
    response = intake.handle(request(raw, signature))
    assert (response.status, response.body) == (401, "")
    assert parts["publisher"].events == []
    assert parts["archive"].stored == []


def test_each_event_becomes_one_queued_event(intake: XeroIntake, parts: dict[str, Any]) -> None:
    a, b, c = (f"0f3c5c8e-2f0c-4b8a-9a34-6b1f0d8e9a8{n}" for n in range(3))
    raw = body(event("CONTACT", a), event("INVOICE", b), event("CREDITNOTE", c))
    response = intake.handle(request(raw, sign_xero(raw, KEY)))
    assert (response.status, response.body) == (200, "")
    queued = parts["publisher"].events
    assert [(e.record_type.value, e.record_id) for e in queued] == [
        ("contact", a),
        ("invoice", b),
        ("credit_note", c),
    ]
    assert {e.delivery_id for e in queued} == {parts["archive"].stored[0]["key"]}
    assert parts["archive"].stored[0]["body"] == raw  # the raw bytes, for replay


def test_unknown_tenant_is_counted_and_dropped_but_still_200(intake: XeroIntake, parts: dict[str, Any]) -> None:
    raw = body(event(resource_id=KNOWN), event(resource_id=STRANGER, tenant="99999999-0000-0000-0000-000000000000"))
    response = intake.handle(request(raw, sign_xero(raw, KEY)))
    assert response.status == 200
    assert [e.record_id for e in parts["publisher"].events] == [KNOWN]
    assert parts["count"].values["UnknownTenantEvents"] == 1


def test_categories_we_do_not_sync_are_counted(intake: XeroIntake, parts: dict[str, Any]) -> None:
    raw = body(event("SUBSCRIPTION"))
    assert intake.handle(request(raw, sign_xero(raw, KEY))).status == 200
    assert parts["publisher"].events == []
    assert parts["count"].values["IgnoredEvents"] == 1


def test_signed_but_malformed_body_is_archived_and_200(intake: XeroIntake, parts: dict[str, Any]) -> None:
    raw = b'{"events": "not a list"}'
    response = intake.handle(request(raw, sign_xero(raw, KEY)))
    assert response.status == 200
    assert parts["archive"].stored[0]["body"] == raw
    assert parts["count"].values["MalformedDeliveries"] == 1
    assert parts["log"].records[-1][0] == "error"


@pytest.mark.parametrize("broken", ["archive", "publisher"])
def test_storage_failure_answers_503_so_xero_redelivers(intake: XeroIntake, parts: dict[str, Any], broken: str) -> None:
    parts[broken].fail = True
    raw = body(event())
    assert intake.handle(request(raw, sign_xero(raw, KEY))).status == 503
    assert parts["count"].values["IntakeFailures"] == 1


def test_oversized_body_is_413_before_any_work(intake: XeroIntake, parts: dict[str, Any]) -> None:
    raw = b" " * (MAX_BODY_BYTES + 1)
    assert intake.handle(request(raw, sign_xero(raw, KEY))).status == 413
    assert parts["archive"].stored == []


def test_one_delivery_for_two_connections_of_the_same_org(intake: XeroIntake, parts: dict[str, Any]) -> None:
    parts["connections"].items["c2"] = Connection(
        connection_id="c2", xero_tenant_id=TENANT.upper(), created_at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    raw = body(event())
    assert intake.handle(request(raw, sign_xero(raw, KEY))).status == 200
    assert sorted(e.connection_id for e in parts["publisher"].events) == ["c1", "c2"]


def test_logs_hold_no_key_or_signature(intake: XeroIntake, parts: dict[str, Any]) -> None:
    raw = body(event())
    signature = sign_xero(raw, KEY)
    intake.handle(request(raw, signature))
    intake.handle(request(raw, "forged"))
    text = parts["log"].text()
    assert KEY not in text
    assert signature not in text
