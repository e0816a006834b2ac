"""Deliveries no sync needs never reach the queue (docs/billing.md "Activities on no bill never
reach the queue"): the pure rule, the plug-ins' declaration and its merge, registration carrying
it, and the Clio receiver applying it (in-memory fakes; tests/integration/test_queue_rule_e2e.py
is the real path)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from clio_xero.events import ClioWebhookPayload, RecordType, SyncEvent, clio_delivery_needed
from clio_xero.intake.clio import ClioIntake
from clio_xero.intake.http import HttpRequest
from clio_xero.sync.core.plugin import ClioWebhook, Done, RecordTypePlugin, SyncContext, top_level_fields
from clio_xero.sync.core.registry import Registry
from clio_xero.sync.record_types import default_registry
from clio_xero.sync.settings import ConnectionSettings
from clio_xero.webhooks.registration import WebhookManager, webhook_specs
from clio_xero.webhooks.signing import sign_clio
from tests.fakes.intake import FakeSecrets
from tests.unit.test_intake_clio import SECRET, intake, parts
from tests.unit.test_intake_properties import clio_request
from tests.unit.test_webhook_registration import API, NOW, FakeClio, MemoryRecords

BILLING = ConnectionSettings(sync_bills=True)


def payload(data: dict[str, Any], event: str = "updated") -> ClioWebhookPayload:
    return ClioWebhookPayload.model_validate({"data": data, "meta": {"event": event, "webhook_id": 7}})


# ------------------------------------------------------------------ the rule (pure)
@pytest.mark.parametrize(
    ("data", "event", "rule", "needed"),
    [
        ({"id": 1, "bill": None}, "updated", ("bill",), False),  # on no bill: nothing to sync
        ({"id": 1, "bill": None}, "created", ("bill",), False),
        ({"id": 1, "bill": {"id": 9}}, "updated", ("bill",), True),  # moved onto a bill
        ({"id": 1, "bill": {"id": 9}}, "created", ("bill",), True),
        ({"id": 1, "etag": "e"}, "deleted", ("bill",), True),  # deletions are never dropped
        ({"id": 1, "bill": None}, "deleted", ("bill",), True),
        ({"id": 1}, "updated", ("bill",), True),  # absent is not "none": older fields
        ({"id": 1, "bill": None}, "updated", (), True),  # no declaration: as before
        ({"id": 1, "bill": None, "matter": {"id": 3}}, "updated", ("bill", "matter"), True),  # any one set
        ({"id": 1, "bill": None, "matter": None}, "updated", ("bill", "matter"), False),
    ],
)
def test_a_delivery_is_dropped_only_when_every_declared_field_is_null(
    data: dict[str, Any], event: str, rule: tuple[str, ...], needed: bool
) -> None:
    assert clio_delivery_needed(payload(data, event), rule) is needed


# ------------------------------------------------------------------ the declaration
def test_the_activity_webhook_declares_bill_and_the_others_declare_nothing() -> None:
    hooks = {h.model: h for h in default_registry().clio_webhooks(BILLING)}
    assert hooks["activity"].queue_only_with == "bill"
    assert hooks["bill"].queue_only_with == ""
    assert hooks["contact"].queue_only_with == ""
    specs = {s.model: s for s in webhook_specs(default_registry(), BILLING)}
    assert specs["activity"].queue_only_with == ("bill",)
    assert specs["contact"].queue_only_with == ()


def test_a_rule_on_a_field_the_webhook_does_not_send_is_refused() -> None:
    with pytest.raises(ValueError, match="matter"):
        ClioWebhook("activity", "id,etag,bill", queue_only_with="matter")
    assert top_level_fields("id,bill{id,state},matter") == ["id", "bill", "matter"]
    ClioWebhook("activity", "id,bill{id,state}", queue_only_with="bill")  # nested fields are fine


class _Plugin(RecordTypePlugin):
    record_type = RecordType.MATTER

    def sync(self, ctx: SyncContext, event: SyncEvent) -> Done:
        return Done()


def _plugin(hook: ClioWebhook, record_type: RecordType) -> RecordTypePlugin:
    plugin = _Plugin()
    # ClassVars, set per instance for the test: three types sharing one Clio model.
    plugin.clio_webhooks = (hook,)  # type: ignore[misc]
    plugin.record_type = record_type  # type: ignore[misc]
    return plugin


def test_types_sharing_a_model_drop_a_delivery_only_if_every_one_allows_it() -> None:
    ruled = _plugin(ClioWebhook("activity", "id,bill", queue_only_with="bill"), RecordType.MATTER)
    other_rule = _plugin(ClioWebhook("activity", "id,matter", queue_only_with="matter"), RecordType.CREDIT_MEMO)
    needs_all = _plugin(ClioWebhook("activity", "id,user"), RecordType.ALLOCATION)
    [both] = Registry([ruled, other_rule]).clio_webhooks()
    assert (both.fields, both.queue_only_with) == ("id,bill,matter", "bill,matter")
    [merged] = Registry([ruled, needs_all]).clio_webhooks()
    assert merged.queue_only_with == ""
    [merged] = Registry([needs_all, ruled]).clio_webhooks()
    assert merged.queue_only_with == ""


# ------------------------------------------------------------------ registration carries it
def test_registration_hands_the_rule_to_the_handshake_and_declares_it_on_existing_webhooks() -> None:
    clio, records, secrets = FakeClio(), MemoryRecords(), FakeSecrets()
    specs = tuple(s for s in webhook_specs(default_registry(), BILLING) if s.model == "activity")
    # A webhook registered before the rule existed: its secret is stored without one.
    old = clio.add(model="activity", url=f"{API}/webhooks/clio/conn-1?model=activity", fields=specs[0].fields)
    secrets.remember("conn-1", str(old["id"]), "old-secret", "activity")
    manager = WebhookManager(connection_id="conn-1", api=clio, records=records, secrets=secrets, specs=specs)
    [record] = manager.ensure(NOW, api_url=API)
    assert record.webhook_id == old["id"] and record.message == ""
    assert secrets.hooks[("conn-1", str(old["id"]))].queue_only_with == ("bill",)

    # A new webhook: the expected activation carries the rule for the receiver's handshake.
    clio.hooks.clear()
    manager.ensure(NOW, api_url=API)
    assert secrets.expected[("conn-1", "activity")].queue_only_with == ("bill",)


def test_registration_removes_a_rule_the_record_types_no_longer_allow() -> None:
    clio, records, secrets = FakeClio(), MemoryRecords(), FakeSecrets()
    spec = next(s for s in webhook_specs(default_registry(), BILLING) if s.model == "activity")
    old = clio.add(model="activity", url=f"{API}/webhooks/clio/conn-1?model=activity", fields=spec.fields)
    secrets.remember("conn-1", str(old["id"]), "s", "activity")
    secrets.declare("conn-1", str(old["id"]), ("bill",))
    unruled = type(spec)(spec.model, spec.fields)
    WebhookManager(connection_id="conn-1", api=clio, records=records, secrets=secrets, specs=(unruled,)).ensure(
        NOW, api_url=API
    )
    assert secrets.hooks[("conn-1", str(old["id"]))].queue_only_with == ()


# ------------------------------------------------------------------ the receiver
# The receiver's fakes as tests/unit/test_intake_clio.py builds them (imported: pytest finds them here).
__all__ = ["intake", "parts"]


def activity_request(raw: bytes, headers: dict[str, str]) -> HttpRequest:
    """A POST to the Clio receiver's activity webhook URL."""
    return clio_request(raw, headers, {"model": "activity"})


def post(intake: ClioIntake, body: dict[str, Any] | bytes, headers: dict[str, str]) -> int:
    """Handshake headers as given; anything else signed with the webhook's secret."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    if "X-Hook-Secret" not in headers:
        headers = {"X-Hook-Signature": sign_clio(raw, SECRET)}
    return intake.handle(activity_request(raw, headers)).status


def activity(bill: dict[str, Any] | None, event: str = "updated", record_id: int = 42) -> dict[str, Any]:
    return {
        "data": {"id": record_id, "etag": f'"{record_id}"', "bill": bill},
        "meta": {"event": event, "webhook_id": 7},
    }


def activate(intake: ClioIntake, parts: dict[str, Any], rule: tuple[str, ...]) -> None:
    parts["secrets"].expect_activation("c1", "activity", rule)
    assert post(intake, b'{"data":{"webhook_id":7}}', {"X-Hook-Secret": SECRET}) == 200


def test_an_activity_on_no_bill_is_archived_logged_and_not_queued(intake: ClioIntake, parts: dict[str, Any]) -> None:
    activate(intake, parts, ("bill",))
    assert parts["secrets"].hooks[("c1", "7")].queue_only_with == ("bill",)  # kept with the secret

    assert post(intake, activity(None), {}) == 200
    assert parts["publisher"].events == []
    assert len(parts["archive"].stored) == 1  # replay can still bring it back
    assert parts["count"].values == {"Handshakes": 1, "Deliveries": 1}  # no metric of its own
    [(level, _message, extra)] = [r for r in parts["log"].records if "not queued" in r[1]]
    assert (level, extra["record_id"], extra["none_of"]) == ("info", "42", "bill")

    for body in (activity({"id": 9}), activity(None, event="deleted", record_id=43)):
        assert post(intake, body, {}) == 200
    assert [(e.record_id, e.action.value) for e in parts["publisher"].events] == [("42", "updated"), ("43", "deleted")]
    assert parts["count"].values["EventsQueued"] == 2 and parts["count"].values["Deliveries"] == 3


def test_a_webhook_activated_without_a_rule_queues_every_delivery(intake: ClioIntake, parts: dict[str, Any]) -> None:
    activate(intake, parts, ())
    assert post(intake, activity(None), {}) == 200
    assert [e.record_id for e in parts["publisher"].events] == ["42"]


def test_a_bad_signature_is_refused_before_the_rule_is_looked_at(intake: ClioIntake, parts: dict[str, Any]) -> None:
    activate(intake, parts, ("bill",))
    raw = json.dumps(activity(None)).encode()
    assert intake.handle(activity_request(raw, {"X-Hook-Signature": sign_clio(raw, "wrong")})).status == 401
    assert parts["archive"].stored == []
