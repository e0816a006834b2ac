"""Poison messages → DLQ → `dlq redrive` → synced; and redrive interrupted at every step loses and doubles nothing.

moto has no ``StartMessageMoveTask``, so these runs take the receive-send-delete path (the move
task path is unit-tested with a stubbed client). moto also deduplicates FIFO messages only while
the first copy is still queued, so the crash tests drain the sync queue between the crash and the
re-run where that matters: then only the redrive markers stand between a re-run and a double.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from clio_xero.aws.dlq import DeadLetterQueue
from clio_xero.aws.queue import SqsDeadLetters
from clio_xero.clock import ManualClock
from clio_xero.events import Action, RecordType, Source, SyncEvent, dedupe_key
from clio_xero.sync.mapping import MappingStatus
from clio_xero.sync.settings import ConnectionSettings, ContactScope
from clio_xero_tools.local.world import LocalWorld
from clio_xero_tools.sandbox._base import FaultPlan
from tests.integration.conftest import WorldPool
from tests.integration.test_ops_e2e import create_clio_contact, ops_stack, queued_events, xero_contact_writes

pytestmark = pytest.mark.integration


@pytest.fixture
def world(shared_world: WorldPool) -> Iterator[LocalWorld]:
    with shared_world(settings=ConnectionSettings(contact_scope=ContactScope.ALL), function_output=io.StringIO()) as w:
        yield w


def depth(world: LocalWorld, queue: str) -> int:
    attributes = world.runtime.client("sqs").get_queue_attributes(
        QueueUrl=world.runtime.queue_url(queue),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def xero_contacts_for(world: LocalWorld, clio_ids: list[int]) -> dict[str, int]:
    """How many Xero contacts carry each of our Contact Codes (a double would show as 2)."""
    store = world.sandboxes.xero.store
    with store.lock:
        numbers = [c.contact_number for c in store.orgs[world.tenant_id].contacts.values()]
    return {f"CLIO-{i}": numbers.count(f"CLIO-{i}") for i in clio_ids}


def park(world: LocalWorld, clio_ids: list[int]) -> None:
    """Put events in the DLQ the way the worker parks them (reason attributes included)."""
    dead_letters = SqsDeadLetters(world.runtime.queue_url("SyncDeadLetterQueue"), world.runtime.client("sqs"))
    for clio_id in clio_ids:
        event = SyncEvent(
            connection_id=world.connection_id,
            source=Source.CLIO,
            record_type=RecordType.CONTACT,
            record_id=str(clio_id),
            action=Action.CREATED,
            received_at=world.runtime.clock.now(),
            dedupe_key=dedupe_key("test", clio_id),
        )
        dead_letters.send(
            event.model_dump_json(),
            group_id=event.message_group_id,
            dedupe_id=event.dedupe_key,
            reason={"failure_kind": "UpstreamUnavailableError", "failure_reason": "Xero 503", "attempts": "5"},
        )


def quiet_contacts(world: LocalWorld, count: int) -> list[int]:
    """Clio contacts whose webhooks never fire (so only the DLQ knows about them)."""
    with world.sandboxes.clio.store.muted():
        return [create_clio_contact(world, f"Parked {i} Ltd").id for i in range(count)]


class CrashingSqs:
    """The real SQS client, except that one chosen call dies (the operator's laptop sleeps)."""

    def __init__(self, sqs: Any, *, operation: str, on_call: int, after: bool = False) -> None:
        self._sqs = sqs
        self._operation = operation
        self._on_call = on_call
        self._after = after  # True: the call reaches SQS, then the process dies
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._sqs, name)
        if name != self._operation:
            return real

        def call(**kwargs: Any) -> Any:
            self.calls += 1
            if self.calls != self._on_call:
                return real(**kwargs)
            if self._after:
                real(**kwargs)
            raise RuntimeError(f"crash in {name}")

        return call


# ------------------------------------------------------------------------------ the journey
def test_poison_messages_reach_the_dlq_and_redrive_syncs_them_once(world: LocalWorld, cli: Any) -> None:
    world.sandboxes.xero.set_faults(FaultPlan(error_rate=1.0, status_codes=(503,)))  # Xero is down
    records = [create_clio_contact(world, f"Poison {i} Ltd").id for i in range(3)]
    world.pump()  # failed_visibility=0: every retry comes at once, until the worker parks them
    assert depth(world, "SyncDeadLetterQueue") == 3 and depth(world, "SyncQueue") == 0

    code, parked = cli("dlq", "list", "--json")
    assert code == 1
    assert sorted(m["record"] for m in parked) == sorted(f"clio:contact:{i}" for i in records)
    assert {(m["connection_id"], m["failure_kind"], m["attempts"]) for m in parked} == {
        (world.connection_id, "UpstreamUnavailableError", 5)
    }
    assert all(m["first_failure"] and m["last_failure"] and m["failure_reason"] for m in parked)
    assert depth(world, "SyncDeadLetterQueue") == 3  # listing left every message where it was
    code, shown = cli("dlq", "show", parked[0]["message_id"], "--json")
    assert code == 0 and SyncEvent.model_validate_json(shown["body"]).record_id in {str(i) for i in records}
    code, text = cli("dlq", "show", "no-such-message")
    assert code == 1 and "no message" in text
    code, errors = cli("errors", "--json")
    assert code == 1 and {e["record"] for e in errors} == {f"clio:contact:{i}" for i in records}
    assert all("dlq redrive --all" in e["hint"] for e in errors)  # a hint even where Xero gave no words

    world.sandboxes.xero.set_faults(FaultPlan())  # Xero is back
    writes_before = xero_contact_writes(world)
    code, report = cli("dlq", "redrive", "--all", "--json")
    assert code == 0 and (report["method"], report["sent"]) == ("loop", 3)
    assert (depth(world, "SyncDeadLetterQueue"), depth(world, "SyncQueue")) == (0, 3)  # moved, not copied
    world.pump()

    assert xero_contacts_for(world, records) == {f"CLIO-{i}": 1 for i in records}
    assert xero_contact_writes(world) - writes_before == 3  # one create each, nothing doubled
    for clio_id in records:
        mapping = world.mappings.get(world.connection_id, "contact", str(clio_id))
        assert mapping is not None and mapping.status is MappingStatus.OK
    assert cli("dlq", "list", "--json") == (0, [])
    assert cli("errors", "--json") == (0, [])
    assert cli("status", "--json")[0] == 0


def test_redrive_one_message_by_id_and_purge(world: LocalWorld, cli: Any) -> None:
    records = quiet_contacts(world, 3)
    park(world, records)
    code, parked = cli("dlq", "list", "--json")
    chosen = parked[0]
    code, report = cli("dlq", "redrive", chosen["message_id"], "--json")
    assert code == 0 and (report["sent"], report["not_found"]) == (1, [])
    assert [e.record_id for e in queued_events(world)] == [chosen["record"].rsplit(":", 1)[1]]
    assert depth(world, "SyncDeadLetterQueue") == 2
    code, report = cli("dlq", "redrive", "missing-id", "--json")
    assert code == 1 and report["not_found"] == ["missing-id"]
    code, text = cli("dlq", "redrive")
    assert code == 2 and "--all" in text

    code, text = cli("dlq", "purge", input="n\n")
    assert code == 1 and "Nothing deleted" in text
    assert depth(world, "SyncDeadLetterQueue") == 2  # declined: nothing deleted
    code, out = cli("dlq", "purge", "--yes", "--json")
    assert code == 0 and out == {"purged": 2} and depth(world, "SyncDeadLetterQueue") == 0


# ------------------------------------------------------------------------------ crash safety
def test_crash_between_send_and_delete_then_rerun_doubles_nothing(world: LocalWorld) -> None:
    records = quiet_contacts(world, 3)
    park(world, records)
    stack = ops_stack(world)
    crashing = CrashingSqs(stack.sqs, operation="delete_message", on_call=2)
    with pytest.raises(RuntimeError, match="crash"):
        DeadLetterQueue(stack, sqs=crashing).redrive()
    # One message fully moved, one sent but still in the DLQ, one untouched: 4 copies of 3.
    assert (depth(world, "SyncQueue"), depth(world, "SyncDeadLetterQueue")) == (2, 2)
    world.pump()  # the worker consumes the sent copies: moto can no longer deduplicate a resend
    assert depth(world, "SyncQueue") == 0

    report = DeadLetterQueue(stack).redrive()
    assert (report.sent, report.deleted_already_sent) == (1, 1)  # the marker said "sent": delete only
    assert (depth(world, "SyncQueue"), depth(world, "SyncDeadLetterQueue")) == (1, 0)
    world.pump()
    assert xero_contacts_for(world, records) == {f"CLIO-{i}": 1 for i in records}


def test_crash_before_send_then_rerun_loses_nothing(world: LocalWorld) -> None:
    records = quiet_contacts(world, 2)
    park(world, records)
    stack = ops_stack(world)
    with pytest.raises(RuntimeError, match="crash"):
        DeadLetterQueue(stack, sqs=CrashingSqs(stack.sqs, operation="send_message", on_call=1)).redrive()
    assert (depth(world, "SyncQueue"), depth(world, "SyncDeadLetterQueue")) == (0, 2)  # claimed, never sent

    report = DeadLetterQueue(stack).redrive()
    assert (report.sent, report.deleted_already_sent) == (2, 0)  # "sending" is resent, not dropped
    assert (depth(world, "SyncQueue"), depth(world, "SyncDeadLetterQueue")) == (2, 0)
    world.pump()
    assert xero_contacts_for(world, records) == {f"CLIO-{i}": 1 for i in records}


def test_crash_after_send_before_marking_is_deduplicated_on_rerun(world: LocalWorld) -> None:
    records = quiet_contacts(world, 2)
    park(world, records)
    stack = ops_stack(world)
    crashing = CrashingSqs(stack.sqs, operation="send_message", on_call=1, after=True)
    with pytest.raises(RuntimeError, match="crash"):
        DeadLetterQueue(stack, sqs=crashing).redrive()
    assert (depth(world, "SyncQueue"), depth(world, "SyncDeadLetterQueue")) == (1, 2)

    report = DeadLetterQueue(stack).redrive()
    # The resend carries the same deduplication id: FIFO keeps one copy.
    assert report.sent == 2
    assert (depth(world, "SyncQueue"), depth(world, "SyncDeadLetterQueue")) == (2, 0)
    world.pump()
    assert xero_contacts_for(world, records) == {f"CLIO-{i}": 1 for i in records}


def test_messages_parked_after_a_run_began_are_left_for_the_next_run(world: LocalWorld) -> None:
    records = quiet_contacts(world, 2)
    park(world, records)
    stack = ops_stack(world)
    stack.clock = ManualClock(datetime.now(UTC) - timedelta(minutes=10))  # this run "began" before they were parked
    report = DeadLetterQueue(stack).redrive()
    assert (report.sent, report.parked_during_run) == (0, 2)
    assert (depth(world, "SyncQueue"), depth(world, "SyncDeadLetterQueue")) == (0, 2)  # untouched, and visible:
    assert DeadLetterQueue(ops_stack(world)).redrive().sent == 2  # the next run takes them at once
