"""Property-based tests (hypothesis) of both receivers and the normalisers.

Over generated bodies and headers: no 5xx ever; nothing queued without a valid signature; what a
correctly signed body queues carries ids a provider would send. Fakes stand in for AWS here (the
hostile inputs also run through the local runtime in tests/integration/test_hostile_intake.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from clio_xero.clock import ManualClock
from clio_xero.errors import MalformedPayloadError
from clio_xero.events import (
    ClioWebhookPayload,
    RecordType,
    XeroWebhookPayload,
    clio_id,
    event_from_clio,
    event_from_xero,
    xero_id,
)
from clio_xero.intake.clio import ClioIntake
from clio_xero.intake.http import HttpRequest
from clio_xero.intake.xero import XeroIntake
from clio_xero.store.connections import Connection
from clio_xero.webhooks.signing import sign_clio, sign_xero
from tests.fakes.intake import Counts, FakeArchive, FakeConnections, FakePublisher, FakeSecrets, RecordingLog

CLIO_SECRET = "property-clio-secret"
XERO_KEY = "property-xero-key"
TENANT = "4d0b3a7e-1111-4222-8333-444455556666"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
any_id = st.integers() | st.text(max_size=30) | st.just("1" * 200) | st.none() | st.uuids().map(str) | st.booleans()
clio_shaped = st.fixed_dictionaries(
    {
        "data": st.fixed_dictionaries({"id": any_id}, optional={"etag": json_scalars, "x": json_values}),
        "meta": st.fixed_dictionaries(
            {"event": st.sampled_from(["created", "updated", "deleted", "exploded", ""]), "webhook_id": any_id}
        ),
    }
)
xero_event = st.fixed_dictionaries(
    {
        "resourceId": any_id,
        "eventCategory": st.sampled_from(["CONTACT", "INVOICE", "CREDITNOTE", "SUBSCRIPTION", ""]),
        "eventType": st.sampled_from(["CREATE", "UPDATE", "DELETE", ""]),
        "tenantId": st.sampled_from([TENANT, "tenant-1", ""]) | any_id,
    },
    optional={"eventDateUtc": st.sampled_from(["2026-12-01T00:00:00", "yesterday"]), "extra": json_values},
)
xero_shaped = st.fixed_dictionaries({"events": st.lists(xero_event, max_size=3)}, optional={"entropy": json_values})


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


bodies = (
    st.binary(max_size=200)
    | json_values.map(lambda v: json.dumps(v).encode())
    | clio_shaped.map(lambda v: json.dumps(v).encode())
    | xero_shaped.map(lambda v: json.dumps(v).encode())
    | st.sampled_from([5_000, 100_000]).map(nested)
)
header_values = st.text(max_size=80) | st.sampled_from(["", "00", "sha256=", "=" * 44])


def clio_intake() -> tuple[ClioIntake, FakeSecrets, FakeArchive, FakePublisher]:
    secrets = FakeSecrets()
    secrets.remember("c1", "7", CLIO_SECRET, "contact")  # webhook 7 is active
    archive, publisher = FakeArchive(), FakePublisher()
    connections = FakeConnections({"c1": Connection(connection_id="c1", created_at=NOW)})
    intake = ClioIntake(
        connections=connections,
        secrets=secrets,
        archive=archive,
        publisher=publisher,
        clock=ManualClock(NOW),
        log=RecordingLog(),
        count=Counts(),
    )
    return intake, secrets, archive, publisher


def xero_intake() -> tuple[XeroIntake, FakeArchive, FakePublisher]:
    archive, publisher = FakeArchive(), FakePublisher()
    connections = FakeConnections({"c1": Connection(connection_id="c1", xero_tenant_id=TENANT, created_at=NOW)})
    intake = XeroIntake(
        webhook_key=lambda: XERO_KEY,
        connections=connections,
        archive=archive,
        publisher=publisher,
        clock=ManualClock(NOW),
        log=RecordingLog(),
        count=Counts(),
    )
    return intake, archive, publisher


def clio_request(body: bytes, headers: dict[str, str], query: dict[str, str]) -> HttpRequest:
    return HttpRequest(
        method="POST",
        path="/webhooks/clio/c1",
        body=body,
        headers={k.lower(): v for k, v in headers.items()},
        path_params={"connection_id": "c1"},
        query=query,
    )


def assert_queued_ids_are_real(events: list[Any]) -> None:
    for event in events:
        (clio_id if event.source.value == "clio" else xero_id)(event.record_id)


@PROPERTY_SETTINGS
@given(
    body=bodies,
    signature=header_values,
    hook_secret=st.none() | header_values,
    query=st.sampled_from([{}, {"model": "contact"}, {"model": "bill"}, {"model": "nonsense"}]),
)
def test_clio_receiver_unsigned_or_missigned_never_queues_never_5xx(
    body: bytes, signature: str, hook_secret: str | None, query: dict[str, str]
) -> None:
    intake, secrets, archive, publisher = clio_intake()
    headers = {"X-Hook-Signature": signature}
    if hook_secret is not None:
        headers["X-Hook-Secret"] = hook_secret
    response = intake.handle(clio_request(body, headers, query))
    assert response.status < 500
    assert publisher.events == []  # the signature is never valid here (a random string)
    assert set(secrets.hooks) == {("c1", "7")}  # no handshake was expected: nothing stored
    assert secrets.pending_secrets == {}
    if response.status != 200:
        assert archive.stored == []


@PROPERTY_SETTINGS
@given(body=bodies, query=st.sampled_from([{}, {"model": "contact"}, {"model": "nonsense"}]))
def test_clio_receiver_correctly_signed_never_5xx_and_queues_only_real_ids(body: bytes, query: dict[str, str]) -> None:
    intake, _, archive, publisher = clio_intake()
    response = intake.handle(clio_request(body, {"X-Hook-Signature": sign_clio(body, CLIO_SECRET)}, query))
    assert response.status < 500
    assert_queued_ids_are_real(publisher.events)
    if response.status == 400:
        assert archive.stored == [] and publisher.events == []


@PROPERTY_SETTINGS
@given(body=bodies, signature=st.none() | header_values, sign=st.booleans())
def test_xero_receiver_never_5xx_and_queues_only_signed_real_ids(
    body: bytes, signature: str | None, sign: bool
) -> None:
    intake, archive, publisher = xero_intake()
    header = sign_xero(body, XERO_KEY) if sign else signature
    headers = {} if header is None else {"x-xero-signature": header}
    response = intake.handle(HttpRequest(method="POST", path="/webhooks/xero", body=body, headers=headers))
    assert response.status < 500
    if not sign:
        assert response.status == 401 and publisher.events == [] and archive.stored == []
    assert_queued_ids_are_real(publisher.events)


@PROPERTY_SETTINGS
@given(payload=clio_shaped, model=st.sampled_from(list(RecordType)))
def test_clio_normaliser_refuses_or_returns_a_valid_event(payload: dict[str, Any], model: RecordType) -> None:
    try:
        parsed = ClioWebhookPayload.model_validate_json(json.dumps(payload))
    except ValidationError:
        return
    try:
        event = event_from_clio(parsed, connection_id="c1", model=model, received_at=NOW, delivery_id=None)
    except MalformedPayloadError:
        return
    assert clio_id(event.record_id) == event.record_id


@PROPERTY_SETTINGS
@given(payload=xero_shaped)
def test_xero_normaliser_refuses_or_returns_valid_events(payload: dict[str, Any]) -> None:
    try:
        parsed = XeroWebhookPayload.model_validate_json(json.dumps(payload))
    except ValidationError:
        return
    for item in parsed.events:
        event = event_from_xero(item, connection_id="c1", received_at=NOW, delivery_id=None)
        if event is not None:
            assert xero_id(event.record_id) == event.record_id
