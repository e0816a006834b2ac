"""Activities on no bill never reach the queue: the real path (docs/billing.md "Activities on no
bill never reach the queue").

`webhooks register` (the world's) registers the activity webhook with the activity plug-in's
``queue_only_with="bill"``; the Clio sandbox's handshake reaches the local receiver, which keeps
the rule with the secret; then time entries recorded in the Clio sandbox are delivered over
loopback to the receiver on the local runtime (moto over 127.0.0.1), and the worker runs from the
real queue. What was queued is read from the receiver's own log lines (one per delivery).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from clio_xero.aws.archive import ArchivedDeliveries
from clio_xero.clock import ManualClock
from clio_xero.store.webhook_secrets import CACHE_TTL, KmsDynamoWebhookSecrets
from clio_xero.webhooks.signing import sign_clio
from clio_xero_tools.local.world import LocalWorld, register_clio_webhooks
from tests.billing.test_real_path import SETTINGS, clio_bill, invoices, one_invoice, xero_api
from tests.integration.conftest import CliCall, WorldPool

pytestmark = pytest.mark.integration


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))


@pytest.fixture
def log() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def world(shared_world: WorldPool, clock: ManualClock, log: io.StringIO) -> Iterator[LocalWorld]:
    with shared_world(settings=SETTINGS, function_output=log, clock=clock, api_timeout_seconds=1) as w:
        register_clio_webhooks(w, clock)
        w.pump()  # the handshakes
        xero_api(w, "PUT", "/TrackingCategories", {"Name": "Matter"})
        xero_api(w, "PUT", "/Currencies", {"Code": "USD"})
        yield w


def receiver_lines(log: io.StringIO, record_type: str = "activity") -> list[tuple[str, str]]:
    """For each Clio delivery of ``record_type``, in order: ("not queued", record id) or ("queued", action)."""
    out = []
    for line in log.getvalue().splitlines():
        start = line.find("{")
        if start < 0 or "clio delivery" not in line:
            continue
        try:
            doc = json.loads(line[start:])
        except json.JSONDecodeError:
            continue
        if doc.get("record_type") != record_type:
            continue
        if doc.get("message") == "clio delivery archived, not queued: no sync needs it":
            out.append(("not queued", str(doc.get("record_id"))))
        elif doc.get("message") == "clio delivery accepted":
            out.append(("queued", str(doc.get("action"))))
    return out


def secrets(world: LocalWorld, clock: ManualClock) -> KmsDynamoWebhookSecrets:
    rt = world.runtime
    return KmsDynamoWebhookSecrets(
        rt.physical_id("Table"), rt.client("dynamodb"), rt.client("kms"), rt.physical_id("DataKey"), clock
    )


def activity_webhook_id(world: LocalWorld) -> str:
    store = world.sandboxes.clio.store
    with store.lock:
        [hook] = [w for w in store.all("webhooks") if w.attrs["model"] == "activity"]
        return str(hook.id)


def time_entry(world: LocalWorld, matter_id: int, seconds: int = 3600) -> Any:
    return world.sandboxes.clio.act_create(
        "activities", {"matter": {"id": matter_id}, "type": "TimeEntry", "quantity": seconds, "price": 200}
    )


def matter(world: LocalWorld) -> tuple[int, int]:
    clio = world.sandboxes.clio
    client = clio.act_create("contacts", {"type": "Company", "name": "Quayside Traders Pty"})
    found = clio.act_create("matters", {"client": {"id": client.id}, "description": "Wharf lease"})
    return int(client.id), int(found.id)


def archived_bodies(world: LocalWorld, clock: ManualClock) -> list[dict[str, Any]]:
    rt = world.runtime
    archive = ArchivedDeliveries(
        table_name=rt.physical_id("Table"),
        dynamodb=rt.client("dynamodb"),
        bucket=rt.physical_id("DeliveryBucket"),
        s3=rt.client("s3"),
    )
    now = clock.now()
    out = []
    for key in archive.keys("clio", now - timedelta(days=1), now + timedelta(days=1)):
        doc = archive.document(key)
        assert doc is not None
        out.append(json.loads(base64.b64decode(doc["body_b64"])))
    return out


def test_an_unbilled_time_entry_is_archived_and_not_queued_a_deleted_one_is_queued(
    world: LocalWorld, clock: ManualClock, log: io.StringIO
) -> None:
    hook = secrets(world, clock).lookup(world.connection_id, activity_webhook_id(world))
    assert hook is not None and hook.queue_only_with == ("bill",)  # kept by the receiver's handshake

    _, matter_id = matter(world)
    entry = time_entry(world, matter_id)
    world.pump()
    assert receiver_lines(log) == [("not queued", str(entry.id))]
    archived = [b for b in archived_bodies(world, clock) if b["data"].get("id") == entry.id]
    assert [(b["meta"]["event"], b["data"]["bill"]) for b in archived] == [("created", None)]

    world.sandboxes.clio.act_delete("activities", entry)
    world.pump()
    assert receiver_lines(log)[1:] == [("queued", "deleted")]  # deletions are never dropped


def test_an_activity_on_an_approved_bill_is_queued_and_brings_its_invoice(
    world: LocalWorld, clock: ManualClock, log: io.StringIO
) -> None:
    client_id, matter_id = matter(world)
    entry = time_entry(world, matter_id, seconds=5400)
    world.pump()
    assert receiver_lines(log) == [("not queued", str(entry.id))]

    # The bill's own webhook is suspended meanwhile, so only the activity's delivery speaks for it.
    clio = world.sandboxes.clio
    with clio.store.lock:
        [bill_hook] = [w for w in clio.store.all("webhooks") if w.attrs["model"] == "bill"]
        bill_hook.attrs["status"] = "suspended"
    bill = clio.create_bill(client_id=client_id, matter_ids=[matter_id], activity_ids=[entry.id], state="draft")
    clio.act_update("bills", bill, {"state": "awaiting_payment"})
    world.pump()
    with clio.store.lock:
        bill_hook.attrs["status"] = "enabled"
    assert receiver_lines(log, "bill") == []
    assert [d for d in invoices(world) if d.number == str(bill.attrs["number"])] == []

    # Clio sends an activity delivery when a bill takes the entry in; the sandbox does not
    # (docs/sandbox-clio.md), so it is sent here as Clio would: the activity's webhook fields,
    # read from the sandbox, signed with the webhook's secret, over HTTP to the local receiver.
    webhook_id = activity_webhook_id(world)
    with world.clio_api() as api:
        data = api.get(f"/activities/{entry.id}.json", params={"fields": "id,etag,updated_at,bill"}).json()["data"]
    assert data["bill"]["id"] == bill.id
    raw = json.dumps({"data": data, "meta": {"event": "updated", "webhook_id": int(webhook_id)}}).encode()
    hook = secrets(world, clock).lookup(world.connection_id, webhook_id)
    assert hook is not None
    response = httpx.post(
        f"{world.runtime.api_url}/webhooks/clio/{world.connection_id}?model=activity",
        content=raw,
        headers={"X-Hook-Signature": sign_clio(raw, hook.secret), "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200
    world.pump()

    assert receiver_lines(log)[1:] == [("queued", "updated")]
    invoice = one_invoice(world, str(bill.attrs["number"]))  # says why when there is none
    assert invoice.status == "AUTHORISED"
    assert invoice.total == Decimal(str(clio_bill(world, bill)["total"]))


def queues_by_model(cli: CliCall) -> dict[str, Any]:
    """`webhooks status --json`: each registered webhook's rule, as the receiver will apply it."""
    code, status = cli("webhooks", "status", "--json")
    assert code == 0, status
    return {row["model"]: row["queue_only_with"] for row in status["clio_webhooks"]}


def test_a_webhook_registered_before_the_rule_still_queues_everything(
    world: LocalWorld, clock: ManualClock, log: io.StringIO, cli: CliCall
) -> None:
    ledger = secrets(world, clock)
    webhook_id = activity_webhook_id(world)
    assert queues_by_model(cli)["activity"] == ["bill"]
    assert ledger.declare(world.connection_id, webhook_id, ())  # as stored before this change
    shown = queues_by_model(cli)
    assert shown["activity"] == [] and shown["contact"] == []  # every delivery queued
    code, text = cli("webhooks", "status")
    assert code == 0 and "only with bill" not in text and "every delivery" in text
    clock.advance(CACHE_TTL.total_seconds() + 1)  # the warm receiver's copy of the secret expires

    _, matter_id = matter(world)
    entry = time_entry(world, matter_id)
    world.pump()
    assert receiver_lines(log) == [("queued", "created")]

    # The next `webhooks register` (or the daily renewal) declares the rule on the same webhook,
    # and the next unbilled entry is archived and not queued again.
    register_clio_webhooks(world, clock)
    hook = secrets(world, clock).lookup(world.connection_id, webhook_id)
    assert hook is not None and hook.queue_only_with == ("bill",)
    assert queues_by_model(cli)["activity"] == ["bill"]
    assert "only with bill" in cli("webhooks", "status")[1]
    clock.advance(CACHE_TTL.total_seconds() + 1)
    later = time_entry(world, matter_id)
    world.pump()
    assert receiver_lines(log)[1:] == [("not queued", str(later.id))]
    assert entry.id != later.id
