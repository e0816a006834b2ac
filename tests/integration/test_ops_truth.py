"""The operator commands agree with each other and with the docs (issue 10), through the CLI
against the local runtime and the sandboxes.

* looking (``errors``, ``dlq list``, ``status``) changes nothing it shows: attempts do not grow;
* ``errors`` and ``dlq list`` show the same attempts and hint for a record;
* ``status`` counts dead-lettered records;
* a record SQS moved stays in ``errors`` after ``dlq purge`` until it is retried;
* a second purge within 60 s is explained; a malformed record name is exit 2 and queues nothing;
* tables stay whole when piped.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from clio_xero.events import Action, RecordType, Source, SyncEvent, dedupe_key
from clio_xero.sync.settings import ConnectionSettings, ContactScope
from clio_xero_tools.local.world import LocalWorld
from tests.integration.conftest import WorldPool
from tests.integration.test_dlq_e2e import depth, quiet_contacts

pytestmark = pytest.mark.integration


@pytest.fixture
def world(shared_world: WorldPool) -> Iterator[LocalWorld]:
    with shared_world(settings=ConnectionSettings(contact_scope=ContactScope.ALL), function_output=io.StringIO()) as w:
        yield w


def moved_by_sqs(world: LocalWorld, clio_id: int) -> str:
    """A message as SQS leaves it after maxReceiveCount receives: the event, no reason attributes."""
    event = SyncEvent(
        connection_id=world.connection_id,
        source=Source.CLIO,
        record_type=RecordType.CONTACT,
        record_id=str(clio_id),
        action=Action.UPDATED,
        received_at=world.runtime.clock.now(),
        dedupe_key=dedupe_key("moved", clio_id),
    )
    world.runtime.client("sqs").send_message(
        QueueUrl=world.runtime.queue_url("SyncDeadLetterQueue"),
        MessageBody=event.model_dump_json(),
        MessageGroupId=event.message_group_id,
        MessageDeduplicationId=event.dedupe_key,
    )
    return f"clio:contact:{clio_id}"


def test_looking_changes_nothing_and_errors_agrees_with_dlq_list_and_status(world: LocalWorld, cli: Any) -> None:
    [clio_id] = quiet_contacts(world, 1)
    record = moved_by_sqs(world, clio_id)
    looks = [cli("errors", "--json") for _ in range(4)]
    assert {code for code, _ in looks} == {1}
    rows = [next(e for e in listed if e["record"] == record) for _, listed in looks]
    assert {r["attempts"] for r in rows} == {5}  # the sync queue's maxReceiveCount, look after look
    code, letters = cli("dlq", "list", "--json")
    [letter] = letters
    assert code == 1 and letter["attempts"] == 5 and letter["failure_kind"] == "moved_by_sqs"
    assert letter["hint"] == rows[0]["hint"] and "5 times" in letter["hint"]
    code, status = cli("status", "--json")
    [connection] = status["connections"]
    assert code == 1 and connection["counts"]["dead_lettered"] == 1 and not connection["healthy"]
    assert any("dead-lettered" in p for p in connection["problems"])


def test_a_record_sqs_moved_stays_in_errors_after_purge_until_retried(world: LocalWorld, cli: Any) -> None:
    [clio_id] = quiet_contacts(world, 1)
    record = moved_by_sqs(world, clio_id)
    code, out = cli("dlq", "purge", "--yes", "--json")
    assert code == 0 and out == {"purged": 1} and depth(world, "SyncDeadLetterQueue") == 0
    code, listed = cli("errors", "--json")
    [kept] = [e for e in listed if e["record"] == record]
    assert code == 1 and kept["status"] == "dead_lettered" and f"retry {record}" in kept["hint"]
    code, status = cli("status", "--json")
    assert code == 1 and status["connections"][0]["counts"]["dead_lettered"] == 1

    code, again = cli("dlq", "purge", "--yes")
    assert code == 1 and "60 seconds" in again and "run `clio-xero dlq purge` again after" in again
    assert "PurgeQueueInProgress" not in again

    code, out = cli("retry", record, "--json")
    assert code == 0 and out["queued"] == [record]
    assert record not in [e["record"] for e in cli("errors", "--json")[1]]
    world.pump()
    assert cli("errors", "--json") == (0, [])


def test_a_purge_someone_else_just_ran_is_explained(world: LocalWorld, cli: Any) -> None:
    world.runtime.client("sqs").purge_queue(QueueUrl=world.runtime.queue_url("SyncDeadLetterQueue"))
    code, text = cli("dlq", "purge", "--yes")
    assert code == 1 and "60 seconds" in text and "in a minute" in text


@pytest.mark.parametrize(
    "name", ["clio:contact:abc", "clio:contact:12x", "clio:contact:" + "1" * 200, "xero:contact:1042"]
)
def test_retry_of_a_malformed_record_is_exit_2_and_queues_nothing(world: LocalWorld, cli: Any, name: str) -> None:
    code, text = cli("retry", name)
    assert code == 2 and "is not a record" in text
    assert depth(world, "SyncQueue") == 0


def test_tables_stay_whole_when_piped(world: LocalWorld, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)  # no terminal and no width: rich would assume 80
    [clio_id] = quiet_contacts(world, 1)
    record = moved_by_sqs(world, clio_id)
    code, text = cli("errors")
    assert code == 1
    [row] = [line for line in text.splitlines() if record in line]
    assert "it failed 5 times without a reason recorded: see the worker logs, then `dlq redrive`" in row
    code, text = cli("dlq", "list")
    [row] = [line for line in text.splitlines() if record in line]
    assert "it failed 5 times without a reason recorded" in row
