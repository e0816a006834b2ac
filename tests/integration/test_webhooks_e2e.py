"""Clio webhooks through the real path: `clio-xero webhooks register|status`, the daily
``WebhookRenewalFunction`` run by the local runtime's scheduler, the Clio sandbox's webhooks.

One ManualClock drives the sandboxes, the hosted functions and the CLI: "expiry approaching" is
a clock move, and the renewal runs when the scheduler's day is up.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from clio_xero.clock import ManualClock
from clio_xero.sync.settings import ConnectionSettings, ContactScope
from clio_xero.webhooks.registration import DynamoWebhookRecords, webhook_url
from clio_xero_tools.local.world import LocalWorld
from tests.integration.conftest import WorldPool

pytestmark = pytest.mark.integration

runner = CliRunner()
DAY = 24 * 3600


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def world(shared_world: WorldPool, clock: ManualClock) -> Iterator[LocalWorld]:
    settings = ConnectionSettings(contact_scope=ContactScope.ALL)
    with shared_world(function_output=io.StringIO(), clock=clock, settings=settings) as w:
        yield w


def clio_hooks(world: LocalWorld) -> list[dict[str, Any]]:
    with world.clio_api() as clio:
        body = clio.get("/webhooks.json", params={"fields": "id,url,model,status,expires_at"}).json()
    return list(body["data"])


def expires(hook: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(hook["expires_at"]).replace("Z", "+00:00"))


def run_renewal(world: LocalWorld) -> None:
    job = next(j for j in world.runtime.scheduler.jobs if j.function.spec.logical_id == "WebhookRenewalFunction")
    runs = job.runs
    world.runtime.scheduler.run_due()
    assert job.runs == runs + 1, "the daily renewal did not run"


def test_register_twice_leaves_one_webhook_per_model(world: LocalWorld, cli: Any, clock: ManualClock) -> None:
    # local_world registered once already (the same code); the operator runs it twice more.
    first_code, first = cli("webhooks", "register", "--json")
    second_code, second = cli("webhooks", "register", "--json")

    assert (first_code, second_code) == (0, 0), (first, second)
    hooks = clio_hooks(world)
    assert len(hooks) == 1
    [hook] = hooks
    assert hook["model"] == "contact" and hook["status"] == "enabled"
    assert hook["url"] == webhook_url(world.runtime.api_url, world.connection_id, "contact")
    assert second[0]["webhooks"][0]["action"] == "unchanged"
    assert second[0]["webhooks"][0]["webhook_id"] == hook["id"]
    assert expires(hook) - clock.now() > timedelta(days=29)  # ~30 days out, within Clio's 31
    records = DynamoWebhookRecords(world.runtime.physical_id("Table"), world.runtime.client("dynamodb"))
    [record] = records.list(world.connection_id)
    assert (record.webhook_id, record.status, record.model) == (hook["id"], "enabled", "contact")


def test_duplicates_are_removed_and_a_missing_webhook_is_created(world: LocalWorld, cli: Any) -> None:
    [original] = clio_hooks(world)
    with world.clio_api() as clio:
        clio.post(
            "/webhooks.json",
            json={"data": {"url": original["url"], "model": "contact", "fields": "id,etag", "events": ["created"]}},
        ).raise_for_status()
    assert len(clio_hooks(world)) == 2

    code, _ = cli("webhooks", "register", "--json")

    assert code == 0
    assert [h["id"] for h in clio_hooks(world)] == [original["id"]]  # the enabled one kept

    with world.clio_api() as clio:
        clio.delete(f"/webhooks/{original['id']}.json").raise_for_status()
    code, out = cli("webhooks", "register", "--json")
    assert code == 0
    [hook] = clio_hooks(world)
    assert hook["id"] != original["id"] and hook["status"] == "enabled"  # activated with its secret
    assert out[0]["webhooks"][0]["action"] == "recreated"


def test_renewal_extends_webhooks_close_to_expiry(world: LocalWorld, cli: Any, clock: ManualClock) -> None:
    [before] = clio_hooks(world)
    clock.advance(DAY)  # the first daily run: 29 days left, nothing to do
    run_renewal(world)
    [unchanged] = clio_hooks(world)
    assert unchanged["expires_at"] == before["expires_at"]

    clock.advance(23 * DAY)  # 6 days left: renew
    run_renewal(world)

    [renewed] = clio_hooks(world)
    assert renewed["id"] == before["id"] and renewed["status"] == "enabled"
    assert expires(renewed) - clock.now() > timedelta(days=29)
    code, status = cli("webhooks", "status", "--json")
    assert code == 0, status
    [row] = status["clio_webhooks"]
    assert row["status"] == "enabled" and row["days_left"] > 29 and row["last_action"].startswith("renewed")

    # Deliveries still flow after the renewal.
    record = world.sandboxes.clio.act_create(
        "contacts", {"type": "Person", "first_name": "Grace", "last_name": "Hopper"}
    )
    world.pump()
    assert world.mappings.get(world.connection_id, "contact", str(record.id)) is not None


def test_suspended_webhook_is_recreated_by_the_renewal(world: LocalWorld, clock: ManualClock) -> None:
    sandbox = world.sandboxes.clio
    with sandbox.store.lock:
        [hook] = sandbox.store.all("webhooks")
        sandbox.store.update(hook, {"status": "suspended"})  # what Clio does after failed deliveries
    clock.advance(DAY)
    run_renewal(world)

    [fresh] = clio_hooks(world)
    assert fresh["id"] != hook.id and fresh["status"] == "enabled"
    record = sandbox.act_create("contacts", {"type": "Person", "first_name": "Alan", "last_name": "Turing"})
    world.pump()  # the new webhook delivers, signed with the secret stored at registration
    assert world.mappings.get(world.connection_id, "contact", str(record.id)) is not None


def test_status_shows_webhooks_and_last_xero_delivery(world: LocalWorld, cli: Any, clock: ManualClock) -> None:
    code, before = cli("webhooks", "status", "--json")
    assert code == 0, before
    assert before["xero_last_delivery"] is None  # intent-to-receive is never archived

    world.sandboxes.xero.admin.create_contact(world.tenant_id, {"Name": "Xero Only Ltd"})
    world.pump()
    code, after = cli("webhooks", "status", "--json")
    assert code == 0
    assert after["xero_last_delivery"] is not None
    assert abs(datetime.fromisoformat(after["xero_last_delivery"]) - clock.now()) < timedelta(minutes=1)

    code, text = cli("webhooks", "status")
    assert code == 0 and "enabled" in text and "Xero: last delivery" in text


def test_status_flags_a_webhook_near_expiry(world: LocalWorld, cli: Any, clock: ManualClock) -> None:
    clock.advance(25 * DAY)  # the renewal has not run (no scheduler tick): 5 days left
    code, status = cli("webhooks", "status", "--json")
    assert code == 1
    assert status["clio_webhooks"][0]["days_left"] < 7
