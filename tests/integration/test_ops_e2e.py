"""Operator journeys through the real path: sandboxes → local API → SQS → worker, and the CLI on top.

The CLI runs with ``--local`` semantics: the world's runtime is written as a local state file and
``CLIO_XERO_LOCAL_STATE`` points the commands at it, so every command resolves the stack from its
CloudFormation outputs exactly as it would for `clio-xero local up`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from clio_xero.admin.stack import OpsStack
from clio_xero.aws.archive import ArchivedDeliveries
from clio_xero.events import SyncEvent
from clio_xero.store.settings import DynamoSettingsStore
from clio_xero.sync.mapping import MappingStatus
from clio_xero.sync.settings import ConnectionSettings, ContactScope
from clio_xero_tools.local.world import LocalWorld
from clio_xero_tools.sandbox.clio.store import Record
from tests.integration.conftest import WorldPool

pytestmark = pytest.mark.integration

runner = CliRunner()


@pytest.fixture
def world(shared_world: WorldPool) -> Iterator[LocalWorld]:
    with shared_world(settings=ConnectionSettings(contact_scope=ContactScope.ALL), function_output=io.StringIO()) as w:
        yield w


def ops_stack(world: LocalWorld) -> OpsStack:
    runtime = world.runtime
    return OpsStack(
        table_name=runtime.physical_id("Table"),
        queue_url=runtime.queue_url("SyncQueue"),
        dead_letter_queue_url=runtime.queue_url("SyncDeadLetterQueue"),
        delivery_bucket=runtime.physical_id("DeliveryBucket"),
        data_key_arn=runtime.physical_id("DataKey"),
        clients=runtime.client,
        receive_wait_seconds=0,
    )


def xero_contact_writes(world: LocalWorld) -> int:
    return len(
        [
            r
            for r in world.sandboxes.xero.request_log.entries()
            if r.method in ("POST", "PUT") and r.path.startswith("/api.xro/2.0/Contacts")
        ]
    )


def queued_events(world: LocalWorld, queue: str = "SyncQueue") -> list[SyncEvent]:
    """Every message on a queue, without consuming it (received, then made visible again)."""
    sqs = world.runtime.client("sqs")
    url = world.runtime.queue_url(queue)
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(100):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
        if not batch:
            break
        seen.update({m["MessageId"]: m for m in batch})
    for m in seen.values():
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    return [SyncEvent.model_validate_json(m["Body"]) for m in seen.values()]


def create_clio_contact(world: LocalWorld, name: str, email: str | None = None) -> Record:
    body: dict[str, Any] = {"type": "Company", "name": name}
    if email:
        body["email_addresses"] = [{"address": email, "name": "Work", "primary": True}]
    return world.sandboxes.clio.act_create("contacts", body)


# ------------------------------------------------------------------------------ errors → retry
def test_failed_record_shows_in_errors_with_hint_then_retry_syncs_it(world: LocalWorld, cli: Any) -> None:
    # Clio accepts "billing@acme" (it has an @); Xero does not: the record fails permanently.
    record = create_clio_contact(world, "Acme Pty Ltd", email="billing@acme")
    world.pump()
    mapping = world.mappings.get(world.connection_id, "contact", str(record.id))
    assert mapping is not None and mapping.status is MappingStatus.ERROR

    code, listed = cli("errors", "--json")
    assert code == 1
    assert [(e["record"], e["status"]) for e in listed] == [(f"clio:contact:{record.id}", "error")]
    entry = listed[0]
    assert "Email address must be valid" in entry["message"]  # Xero's own words
    assert entry["hint"] == "fix the contact's email address in Clio; it syncs again on save"
    assert entry["what_failed"] == "ValidationFailedError" and entry["attempts"] == 1
    assert len(entry["dlq_message_ids"]) == 1  # joined with the DLQ's reason attributes

    code, text = cli("errors")
    assert code == 1 and f"clio:contact:{record.id}" in text and "Email address must be valid" in text

    # The firm fixes the address; Clio's webhook for that edit never arrives (suspended hook),
    # so the person asks for a retry.
    with world.sandboxes.clio.store.muted():
        email_id = record.link_ids("email_addresses")[0]
        world.sandboxes.clio.act_update(
            "contacts", record, {"email_addresses": [{"id": email_id, "address": "billing@acme.test"}]}
        )
    assert world.pump() == 0  # nothing arrives by itself
    code, out = cli("retry", f"clio:contact:{record.id}", "--json")
    assert (code, out["queued"]) == (0, [f"clio:contact:{record.id}"])
    world.pump()

    mapping = world.mappings.get(world.connection_id, "contact", str(record.id))
    assert mapping is not None and mapping.status is MappingStatus.OK and mapping.xero_id
    store = world.sandboxes.xero.store
    with store.lock:
        assert store.orgs[world.tenant_id].contacts[mapping.xero_id].email == "billing@acme.test"
    code, listed = cli("errors", "--json")
    assert (code, listed) == (0, [])  # the DLQ copy is stale now: `dlq list` keeps it, `errors` does not
    code, parked = cli("dlq", "list", "--json")
    assert code == 1 and [m["record"] for m in parked] == [f"clio:contact:{record.id}"]


def test_retry_all_errors_and_bad_record_names(world: LocalWorld, cli: Any) -> None:
    first = create_clio_contact(world, "One Ltd", email="a@one")
    second = create_clio_contact(world, "Two Ltd", email="b@two")
    world.pump()
    code, out = cli("retry", "--all-errors", "--json")
    assert code == 0
    assert sorted(out["queued"]) == sorted([f"clio:contact:{first.id}", f"clio:contact:{second.id}"])
    assert len(queued_events(world)) == 2  # fresh dedupe keys: SQS does not drop them as repeats

    code, text = cli("retry", "clio:contact")
    assert code == 2 and "SOURCE:TYPE:ID" in text
    code, text = cli("retry", "quickbooks:contact:1")
    assert code == 2 and "clio|xero" in text
    code, text = cli("retry")
    assert code == 2 and "--all-errors" in text
    code, text = cli("errors", "--connection", "nobody")
    assert code == 3 and "no connection 'nobody'" in text


# ------------------------------------------------------------------------------ replay
def test_replay_redrives_archived_deliveries_with_their_original_dedupe_keys(world: LocalWorld, cli: Any) -> None:
    first = create_clio_contact(world, "Replay One Ltd")
    second = create_clio_contact(world, "Replay Two Ltd")
    assert world.sandboxes.clio.deliver_due_webhooks() == 2  # received, archived, queued...
    original = {e.dedupe_key for e in queued_events(world)}
    assert len(original) == 2
    world.runtime.client("sqs").purge_queue(QueueUrl=world.runtime.queue_url("SyncQueue"))  # ...and lost
    assert queued_events(world) == []
    # Within 5 minutes SQS FIFO would drop the replayed events as duplicates (the local runtime
    # applies that rule too): replay is for deliveries lost longer ago.
    world.runtime.advance_queue_time(301)
    stack = ops_stack(world)
    archive = ArchivedDeliveries(
        table_name=stack.table_name, dynamodb=stack.dynamodb, bucket=stack.delivery_bucket, s3=stack.client("s3")
    )
    now = world.runtime.clock.now()
    stored = archive.keys("clio", now - timedelta(hours=1), now)  # small: table items (docs/cost.md)
    document = archive.document(stored[0])
    assert document is not None
    assert document["path"] == f"/webhooks/clio/{world.connection_id}?model=contact"  # replay reads the model here

    code, out = cli("replay", "--since", "10m", "--source", "clio", "--dry-run", "--json")
    assert code == 0 and (out["deliveries"], out["events"], out["published"]) == (2, 2, 0)
    assert queued_events(world) == []  # a dry run queues nothing

    code, out = cli("replay", "--since", "10m", "--source", "clio", "--json")
    assert code == 0 and (out["events"], out["published"]) == (2, 2)
    assert {e.dedupe_key for e in queued_events(world)} == original
    world.pump()
    for record in (first, second):
        mapping = world.mappings.get(world.connection_id, "contact", str(record.id))
        assert mapping is not None and mapping.status is MappingStatus.OK
    writes = xero_contact_writes(world)
    assert writes == 2

    # Replaying everything again (both sources now: Xero echoed our writes) is harmless.
    code, out = cli("replay", "--since", "1h", "--json")
    assert code == 0 and out["deliveries"] >= 2
    world.pump()
    assert xero_contact_writes(world) == writes

    code, text = cli("replay", "--since", "yesterday-ish")
    assert code == 2 and "relative" in text
    code, out = cli("replay", "--since", "2h", "--until", "1h", "--json")
    assert code == 0 and out["deliveries"] == 0


# ------------------------------------------------------------------------------ status
def test_status_shows_health_tokens_counts_budget_and_queues(world: LocalWorld, cli: Any) -> None:
    create_clio_contact(world, "Fine Ltd")
    create_clio_contact(world, "Broken Ltd", email="x@broken")
    world.pump()
    code, out = cli("status", "--json")
    assert code == 1  # a failed record and a parked message are problems
    assert out["dead_letter_queue"]["visible"] == 1 and out["queue"]["visible"] == 0
    (connection,) = out["connections"]
    assert connection["status"] == "active" and not connection["healthy"]
    assert (connection["counts"]["synced"], connection["counts"]["failed"]) == (1, 1)
    assert set(connection["tokens"]) == {"clio", "xero"}
    assert all(t["expires_at"] and t["problem"] is None for t in connection["tokens"].values())
    assert "contact" in connection["last_sync"]
    xero_budget = connection["rate_budget"]["xero"]
    assert xero_budget["used_day"] > 0 and xero_budget["day_left"] == 5000 - xero_budget["used_day"]
    raw = json.dumps(out)
    assert "access_token" not in raw and world.clio_token not in raw  # expiry only, never token text

    code, text = cli("status")
    assert code == 1 and "local-firm" in text and "1 record(s) failed" in text


# ------------------------------------------------------------------------------ settings
def test_settings_are_validated_before_they_are_stored(world: LocalWorld, cli: Any) -> None:
    store = DynamoSettingsStore(world.runtime.physical_id("Table"), world.runtime.client("dynamodb"))
    code, out = cli("settings", "show", "--json")
    assert code == 0 and out["settings"]["contact_scope"] == "all"

    code, text = cli("settings", "set", "contact_scope=everyone", "sync_contacts=false")
    assert code == 2 and "contact_scope" in text and "all | clients | billed" in text
    assert store.get(world.connection_id).sync_contacts is True  # all or nothing
    code, text = cli("settings", "set", "colour=blue")
    assert code == 2 and "unknown setting" in text
    code, text = cli("settings", "set", "contact_scope")
    assert code == 2 and "KEY=VALUE" in text

    code, out = cli("settings", "set", "contact_scope=clients", "import_xero_only_contacts=true", "--json")
    assert code == 0
    stored = store.get(world.connection_id)
    assert (stored.contact_scope, stored.import_xero_only_contacts) == (ContactScope.CLIENTS, True)
    assert stored.updated_at is not None
