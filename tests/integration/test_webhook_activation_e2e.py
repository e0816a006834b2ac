"""Clio activation handshakes are accepted only when our registration expects them, and
`webhooks status` shows the activations still awaited (issue 10; docs/threat-model.md)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from clio_xero.clock import ManualClock
from clio_xero.store.webhook_secrets import ACTIVATION_WINDOW
from clio_xero.sync.settings import ConnectionSettings, ContactScope
from clio_xero_tools.local.world import LocalWorld, register_clio_webhooks
from tests.integration.conftest import WorldPool

pytestmark = pytest.mark.integration


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def world(shared_world: WorldPool, clock: ManualClock) -> Iterator[LocalWorld]:
    with shared_world(
        settings=ConnectionSettings(contact_scope=ContactScope.ALL), function_output=io.StringIO(), clock=clock
    ) as w:
        yield w


def stored_hooks(world: LocalWorld) -> list[str]:
    items = world.runtime.client("dynamodb").scan(TableName=world.runtime.physical_id("Table"))["Items"]
    return sorted(i["sk"]["S"] for i in items if i["sk"]["S"].startswith("CLIOHOOK#") and "expect" not in i["sk"]["S"])


def handshake(world: LocalWorld, model: str, webhook_id: int, secret: str) -> int:
    url = f"{world.runtime.api_url}/webhooks/clio/{world.connection_id}?model={model}"
    body = f'{{"data":{{"webhook_id":{webhook_id}}}}}'.encode()
    return httpx.post(url, content=body, headers={"X-Hook-Secret": secret}, timeout=30).status_code


def test_registered_webhook_is_activated_and_nothing_else_is_accepted(world: LocalWorld, cli: Any) -> None:
    code, status = cli("webhooks", "status", "--json")
    [hook] = status["clio_webhooks"]
    assert code == 0 and hook["status"] == "enabled"  # registration expected it; the receiver accepted it
    assert status["pending_activations"] == []  # activated: no longer awaited
    before = stored_hooks(world)
    assert handshake(world, "contact", 987654, "attacker") == 403  # a webhook we never created
    assert handshake(world, "contact", int(hook["webhook_id"]), "attacker") == 409  # cannot replace a live secret
    assert stored_hooks(world) == before


def test_status_shows_awaited_activations_until_their_window_ends(
    world: LocalWorld, cli: Any, clock: ManualClock
) -> None:
    world.runtime.expect_clio_activation(world.connection_id, "bill", "555")
    code, status = cli("webhooks", "status", "--json")
    assert code == 0  # awaiting an activation is not a problem in itself
    assert status["pending_activations"] == [
        {
            "connection_id": world.connection_id,
            "model": "bill",
            "webhook_id": "555",
            "accepted_until": (clock.now() + ACTIVATION_WINDOW).isoformat(),
            "handshakes_left": 3,
        }
    ]
    _, text = cli("webhooks", "status")
    assert "Awaiting activation" in text and "webhook 555" in text
    clock.advance(ACTIVATION_WINDOW.total_seconds() + 1)
    assert cli("webhooks", "status", "--json")[1]["pending_activations"] == []
    assert handshake(world, "bill", 555, "late") == 403  # the window is over: refused, nothing stored


def test_reregistering_after_a_webhook_vanished_is_activated_by_the_handshake(
    world: LocalWorld, clock: ManualClock
) -> None:
    for hook in world.clio_api().get("/webhooks.json", params={"fields": "id"}).json()["data"]:
        world.clio_api().delete(f"/webhooks/{hook['id']}.json")
    [record] = register_clio_webhooks(world, clock)
    assert record.action == "recreated"
    world.pump()  # Clio's handshake reaches the receiver, which expected it
    hooks = world.clio_api().get("/webhooks.json", params={"fields": "id,status"}).json()["data"]
    assert [h["status"] for h in hooks] == ["enabled"]


def test_webhooks_status_table_stays_whole_when_piped(
    world: LocalWorld, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)  # no terminal and no width: rich would assume 80
    _, status = cli("webhooks", "status", "--json")
    [hook] = status["clio_webhooks"]
    code, text = cli("webhooks", "status")
    assert code == 0
    [row] = [line for line in text.splitlines() if str(hook["webhook_id"]) in line and "contact" in line]
    assert world.connection_id in row and hook["expires_at"][:10] in row
