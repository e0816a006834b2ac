"""The Clio receiver with in-memory fakes: handshake, signatures, and every refusal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from clio_xero.clock import ManualClock
from clio_xero.errors import MalformedPayloadError
from clio_xero.intake.clio import ClioIntake, handshake_webhook_id
from clio_xero.intake.http import HttpRequest
from clio_xero.intake.limits import MAX_BODY_BYTES
from clio_xero.store.connections import Connection
from clio_xero.store.webhook_secrets import StoredHook
from clio_xero.webhooks.signing import sign_clio
from tests.fakes.intake import Counts, FakeArchive, FakeConnections, FakePublisher, FakeSecrets, RecordingLog

SECRET = "clio-hook-secret-for-tests"


def delivery(record_id: int = 42, event: str = "updated", webhook_id: int = 7) -> bytes:
    return json.dumps(
        {"data": {"id": record_id, "etag": f'"{record_id}"'}, "meta": {"event": event, "webhook_id": webhook_id}}
    ).encode()


def request(
    raw: bytes, headers: dict[str, str], connection_id: str = "c1", query: dict[str, str] | None = None
) -> HttpRequest:
    return HttpRequest(
        method="POST",
        path=f"/webhooks/clio/{connection_id}",
        body=raw,
        headers={k.lower(): v for k, v in headers.items()},
        path_params={"connection_id": connection_id},
        query=query if query is not None else {"model": "contact"},
    )


@pytest.fixture
def parts() -> dict[str, Any]:
    secrets = FakeSecrets()
    secrets.expect_activation("c1", "contact")  # our registration asked Clio for this webhook
    return {
        "connections": FakeConnections(
            {"c1": Connection(connection_id="c1", created_at=datetime(2026, 1, 1, tzinfo=UTC))}
        ),
        "secrets": secrets,
        "archive": FakeArchive(),
        "publisher": FakePublisher(),
        "log": RecordingLog(),
        "count": Counts(),
    }


@pytest.fixture
def intake(parts: dict[str, Any]) -> ClioIntake:
    return ClioIntake(clock=ManualClock(), **parts)


def test_handshake_stores_the_secret_and_echoes_the_header(intake: ClioIntake, parts: dict[str, Any]) -> None:
    response = intake.handle(request(b'{"data":{"webhook_id":7}}', {"X-Hook-Secret": SECRET}))
    assert response.status == 200
    assert response.headers["X-Hook-Secret"] == SECRET
    assert parts["secrets"].hooks[("c1", "7")] == StoredHook(SECRET, "contact")
    assert parts["publisher"].events == []
    assert parts["archive"].stored == []  # a handshake carries a secret: never archived


def test_repeated_handshake_is_fine_but_a_different_secret_is_refused(
    intake: ClioIntake, parts: dict[str, Any]
) -> None:
    body = b'{"data":{"webhook_id":7}}'
    assert intake.handle(request(body, {"X-Hook-Secret": SECRET})).status == 200
    assert intake.handle(request(body, {"X-Hook-Secret": SECRET})).status == 200
    refused = intake.handle(request(body, {"X-Hook-Secret": "attacker"}))
    assert refused.status == 409
    assert parts["secrets"].hooks[("c1", "7")].secret == SECRET


def test_signed_delivery_is_queued_as_one_event(intake: ClioIntake, parts: dict[str, Any]) -> None:
    intake.handle(request(b'{"data":{"webhook_id":7}}', {"X-Hook-Secret": SECRET}))
    raw = delivery()
    response = intake.handle(request(raw, {"X-Hook-Signature": sign_clio(raw, SECRET)}))
    assert response.status == 200
    [event] = parts["publisher"].events
    assert (event.connection_id, event.record_type.value, event.record_id, event.action.value) == (
        "c1",
        "contact",
        "42",
        "updated",
    )
    assert parts["archive"].stored[0]["body"] == raw


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"X-Hook-Signature": ""}, 401),
        ({"X-Hook-Signature": sign_clio(delivery(), "wrong")}, 401),
        ({"X-Hook-Signature": sign_clio(delivery(43), SECRET)}, 401),
    ],
)
def test_bad_signatures_are_401_and_nothing_queued(
    intake: ClioIntake, parts: dict[str, Any], headers: dict[str, str], status: int
) -> None:
    intake.handle(request(b'{"data":{"webhook_id":7}}', {"X-Hook-Secret": SECRET}))
    assert intake.handle(request(delivery(), headers)).status == status
    assert parts["publisher"].events == []
    assert parts["archive"].stored == []


def test_delivery_for_a_webhook_never_activated_is_401(intake: ClioIntake, parts: dict[str, Any]) -> None:
    raw = delivery(webhook_id=99)
    assert intake.handle(request(raw, {"X-Hook-Signature": sign_clio(raw, SECRET)})).status == 401
    assert parts["publisher"].events == []


def test_unknown_connection_is_404(intake: ClioIntake, parts: dict[str, Any]) -> None:
    raw = delivery()
    response = intake.handle(request(raw, {"X-Hook-Signature": sign_clio(raw, SECRET)}, connection_id="nobody"))
    assert response.status == 404
    assert intake.handle(request(b"{}", {"X-Hook-Secret": SECRET}, connection_id="nobody")).status == 404
    assert parts["secrets"].hooks == {}


def test_oversized_body_is_413(intake: ClioIntake) -> None:
    raw = b"x" * (MAX_BODY_BYTES + 1)
    assert intake.handle(request(raw, {"X-Hook-Signature": sign_clio(raw, SECRET)})).status == 413


@pytest.mark.parametrize(
    "raw", [b"{oops", b"[]", b'{"data":{"id":1}}', b'{"data":{"etag":"x"},"meta":{"event":"updated","webhook_id":7}}']
)
def test_invalid_json_or_shape_is_400(intake: ClioIntake, parts: dict[str, Any], raw: bytes) -> None:
    response = intake.handle(request(raw, {"X-Hook-Signature": "00"}))
    assert response.status == 400
    assert response.body  # says what is wrong
    assert parts["publisher"].events == []


def test_unknown_event_name_is_400_after_verification(intake: ClioIntake, parts: dict[str, Any]) -> None:
    intake.handle(request(b'{"data":{"webhook_id":7}}', {"X-Hook-Secret": SECRET}))
    raw = delivery(event="exploded")
    response = intake.handle(request(raw, {"X-Hook-Signature": sign_clio(raw, SECRET)}))
    assert response.status == 400
    assert "exploded" in response.body


def test_model_falls_back_to_the_one_stored_at_activation(intake: ClioIntake, parts: dict[str, Any]) -> None:
    parts["secrets"].expect_activation("c1", "bill")
    intake.handle(request(b'{"data":{"webhook_id":7}}', {"X-Hook-Secret": SECRET}, query={"model": "bill"}))
    raw = delivery()
    assert intake.handle(request(raw, {"X-Hook-Signature": sign_clio(raw, SECRET)}, query={})).status == 200
    assert parts["publisher"].events[0].record_type.value == "bill"


def test_unroutable_delivery_is_archived_not_lost(intake: ClioIntake, parts: dict[str, Any]) -> None:
    parts["secrets"].remember("c1", "7", SECRET, None)  # a webhook whose model was never recorded
    raw = delivery()
    assert intake.handle(request(raw, {"X-Hook-Signature": sign_clio(raw, SECRET)}, query={})).status == 200
    assert parts["publisher"].events == []
    assert parts["archive"].stored[0]["body"] == raw
    assert parts["count"].values["UnroutableDeliveries"] == 1


def test_handshake_without_webhook_id_binds_on_first_verified_delivery(
    intake: ClioIntake, parts: dict[str, Any]
) -> None:
    assert intake.handle(request(b"", {"X-Hook-Secret": SECRET})).status == 200
    raw = delivery(webhook_id=55)
    assert intake.handle(request(raw, {"X-Hook-Signature": sign_clio(raw, SECRET)})).status == 200
    assert parts["secrets"].hooks[("c1", "55")].secret == SECRET
    assert len(parts["publisher"].events) == 1


def test_queue_failure_is_503_so_clio_retries(intake: ClioIntake, parts: dict[str, Any]) -> None:
    intake.handle(request(b'{"data":{"webhook_id":7}}', {"X-Hook-Secret": SECRET}))
    parts["publisher"].fail = True
    raw = delivery()
    assert intake.handle(request(raw, {"X-Hook-Signature": sign_clio(raw, SECRET)})).status == 503


def test_logs_hold_no_secret(intake: ClioIntake, parts: dict[str, Any]) -> None:
    intake.handle(request(b'{"data":{"webhook_id":7}}', {"X-Hook-Secret": SECRET}))
    intake.handle(request(b'{"data":{"webhook_id":7}}', {"X-Hook-Secret": "another-secret-value"}))
    raw = delivery()
    intake.handle(request(raw, {"X-Hook-Signature": sign_clio(raw, SECRET)}))
    text = parts["log"].text()
    assert SECRET not in text
    assert "another-secret-value" not in text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"data":{"webhook_id":7}}', "7"),
        (b'{"data":{"webhook_id":"8"}}', "8"),
        (b'{"data":{"id":"8"}}', None),  # a record id is not a webhook id
        (b"", None),
    ],
)
def test_handshake_webhook_id(body: bytes, expected: str | None) -> None:
    assert handshake_webhook_id(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"data":[1]}',
        b'{"data":{"webhook_id":{"x":1}}}',
        b'{"data":{"webhook_id":"abc"}}',
        b'{"data":{"id":1},"meta":{"event":"created","webhook_id":7}}',  # a delivery, not a handshake
        b'{"data":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
)
def test_a_body_that_is_not_a_handshake_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayloadError):
        handshake_webhook_id(body)
