"""The webhook's ``queue_only_with`` rule kept with its secret, on DynamoDB + KMS (moto server), and
the Clio receiver reading it from there (docs/billing.md "Activities on no bill never reach the
queue")."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from clio_xero.clock import ManualClock
from clio_xero.intake.clio import ClioIntake
from clio_xero.store.connections import Connection
from clio_xero.store.webhook_secrets import QUEUE_ONLY_WITH, KmsDynamoWebhookSecrets, hook_sk
from clio_xero.webhooks.signing import sign_clio
from tests.clients.conftest import Aws
from tests.fakes.intake import Counts, FakeArchive, FakeConnections, FakePublisher, RecordingLog
from tests.unit.test_queue_rule import activity_request

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def store(aws: Aws, clock: ManualClock | None = None) -> KmsDynamoWebhookSecrets:
    return KmsDynamoWebhookSecrets(aws.table, aws.dynamodb, aws.kms, aws.key_id, clock or ManualClock())


def test_the_rule_is_declared_removed_and_read_with_the_secret(aws: Aws) -> None:
    secrets = store(aws)
    assert secrets.declare("c1", "7", ("bill",)) is False  # no secret stored yet: nothing to attach to
    assert aws.raw_item("CONN#c1", hook_sk("7")) == {}

    assert secrets.queue_rule("c1", "7") is None  # `webhooks status`: no secret yet

    secrets.remember("c1", "7", "s3cret", "activity")
    assert store(aws).lookup("c1", "7").queue_only_with == ()  # type: ignore[union-attr]  # as before the rule
    assert secrets.queue_rule("c1", "7") == ()

    assert secrets.declare("c1", "7", ("bill",)) is True
    assert aws.raw_item("CONN#c1", hook_sk("7"))[QUEUE_ONLY_WITH] == {"S": "bill"}
    hook = store(aws).lookup("c1", "7")
    assert hook is not None and (hook.secret, hook.model, hook.queue_only_with) == ("s3cret", "activity", ("bill",))
    assert secrets.lookup("c1", "7").queue_only_with == ("bill",)  # type: ignore[union-attr]  # cache refreshed
    assert secrets.queue_rule("c1", "7") == ("bill",)

    assert secrets.declare("c1", "7", ()) is True
    assert QUEUE_ONLY_WITH not in aws.raw_item("CONN#c1", hook_sk("7"))
    assert store(aws).lookup("c1", "7").queue_only_with == ()  # type: ignore[union-attr]


def test_the_expected_activation_carries_the_rule_to_the_receiver_which_keeps_it(aws: Aws) -> None:
    clock = ManualClock()
    secrets = store(aws, clock)
    secrets.expect_activation("c1", "activity", ("bill",))
    secrets.expect_activation("c1", "contact")
    [activity, contact] = sorted(secrets.expected_activations("c1"), key=lambda e: e.model)
    assert (activity.queue_only_with, contact.queue_only_with) == (("bill",), ())

    publisher = FakePublisher()
    intake = ClioIntake(
        connections=FakeConnections(
            {"c1": Connection(connection_id="c1", created_at=datetime(2026, 1, 1, tzinfo=UTC))}
        ),
        secrets=store(aws, clock),
        archive=FakeArchive(),
        publisher=publisher,
        clock=clock,
        log=RecordingLog(),
        count=Counts(),
    )

    def post(raw: bytes, headers: dict[str, str]) -> int:
        return intake.handle(activity_request(raw, headers)).status

    assert post(b'{"data":{"webhook_id":7}}', {"X-Hook-Secret": "s3cret"}) == 200
    assert store(aws).lookup("c1", "7").queue_only_with == ("bill",)  # type: ignore[union-attr]
    for bill in (None, {"id": 5}):
        raw = json.dumps({"data": {"id": 42, "bill": bill}, "meta": {"event": "updated", "webhook_id": 7}}).encode()
        assert post(raw, {"X-Hook-Signature": sign_clio(raw, "s3cret")}) == 200
    assert len(publisher.events) == 1  # only the one on a bill
