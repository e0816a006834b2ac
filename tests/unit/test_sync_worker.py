"""The queue worker's dispositions: done, retried, requeued after throttling, parked with a reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from clio_xero.clock import ManualClock
from clio_xero.errors import (
    NeedsReconnectError,
    ThrottledError,
    UpstreamUnavailableError,
    ValidationFailedError,
)
from clio_xero.events import Action, RecordType, Source, SyncEvent
from clio_xero.sync.contacts.engine import Outcome
from clio_xero.sync.contacts.plugin import ContactPlugin
from clio_xero.sync.core import Registry, SyncContext, SyncEngine
from clio_xero.sync.mapping import InMemoryMappingStore, MappingStatus
from clio_xero.sync.settings import ConnectionSettings, ContactScope
from clio_xero.sync.worker import Disposition, SyncWorker
from tests.fakes.contacts import FakeClio, FakeXero
from tests.fakes.intake import Counts, FakePublisher, RecordingLog


@dataclass
class FakeDeadLetters:
    sent: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def send(self, event_body: str, *, group_id: str, dedupe_id: str, reason: dict[str, str]) -> None:
        self.sent.append((event_body, reason))


def unused_apis() -> Any:
    raise AssertionError("the fakes stand in for the API clients")


class Harness:
    def __init__(self, failure: Exception | None = None) -> None:
        self.clio, self.xero = FakeClio(), FakeXero()
        self.mappings = InMemoryMappingStore()
        self.dead = FakeDeadLetters()
        self.requeued = FakePublisher()
        self.reconnect: list[tuple[str, str]] = []
        self.count = Counts()
        self.failure = failure
        plugin = ContactPlugin(ports=lambda ctx: (self.clio, self.xero))
        self.worker = SyncWorker(
            engine=SyncEngine(registry=Registry([plugin]), contexts=self.context),
            mappings=self.mappings,
            dead_letters=self.dead,
            requeue=self.requeued,
            on_needs_reconnect=lambda c, why: self.reconnect.append((c, why)),
            clock=ManualClock(),
            log=RecordingLog(),
            count=self.count,
            max_receive_count=5,
        )

    def context(self, connection_id: str) -> SyncContext:
        if self.failure is not None:
            raise self.failure
        return SyncContext(
            connection_id=connection_id,
            mappings=self.mappings,
            settings=ConnectionSettings(contact_scope=ContactScope.ALL),
            clock=ManualClock(),
            apis=unused_apis,
        )


def event(record_id: str, source: Source = Source.CLIO, record_type: RecordType = RecordType.CONTACT) -> SyncEvent:
    return SyncEvent(
        connection_id="c1",
        source=source,
        record_type=record_type,
        record_id=record_id,
        action=Action.UPDATED,
        received_at=datetime(2026, 11, 25, tzinfo=UTC),
        dedupe_key="k" * 64,
    )


def run(h: Harness, e: SyncEvent, receive_count: int = 1) -> Disposition:
    return h.worker.handle_body(e.model_dump_json(), receive_count=receive_count)


def test_a_contact_event_is_synced() -> None:
    h = Harness()
    clio_id = str(h.clio.add(first_name="Ada", last_name="L")["id"])
    disposition = run(h, event(clio_id))
    assert disposition.result is not None
    assert disposition.result.outcome is Outcome.CREATED_IN_XERO
    assert h.count.values["Synced"] == 1


def test_retryable_errors_are_raised_until_the_last_receive_then_parked_with_the_reason() -> None:
    h = Harness(UpstreamUnavailableError("Xero answered 503 Organisation offline"))
    with pytest.raises(UpstreamUnavailableError):
        run(h, event("1"), receive_count=4)
    assert h.dead.sent == []
    run(h, event("1"), receive_count=5)
    [(body, reason)] = h.dead.sent
    assert SyncEvent.model_validate_json(body).record_id == "1"
    assert reason["failure_kind"] == "UpstreamUnavailableError"
    assert "Organisation offline" in reason["failure_reason"]
    assert reason["attempts"] == "5" and reason["record"] == "clio:contact:1"


def test_permanent_errors_are_parked_at_once_and_listed_on_the_mapping_with_a_hint() -> None:
    h = Harness(ValidationFailedError("Xero refused", provider_messages=["Email address must be valid."]))
    run(h, event("7"), receive_count=1)
    [(_, reason)] = h.dead.sent
    assert reason["failure_reason"] == "Xero refused: Email address must be valid."
    assert "email" in reason["hint"]
    mapping = h.mappings.get("c1", "contact", "7")
    assert mapping is not None and mapping.status is MappingStatus.ERROR
    assert mapping.last_error == reason["failure_reason"] and mapping.attempts == 1


def test_needs_reconnect_is_retried_then_parked_with_the_reconnect_hint() -> None:
    h = Harness(NeedsReconnectError("Xero connection needs reconnecting"))
    with pytest.raises(NeedsReconnectError):
        run(h, event("1"), receive_count=1)
    run(h, event("1"), receive_count=5)
    assert "clio-xero connect" in h.dead.sent[0][1]["hint"]
    assert h.reconnect[0] == ("c1", "Xero connection needs reconnecting")  # the connection shows it at once


def test_throttling_never_dead_letters() -> None:
    h = Harness(ThrottledError("Xero minute limit", retry_after=30))
    with pytest.raises(ThrottledError):
        run(h, event("1"), receive_count=1)
    run(h, event("1"), receive_count=4)  # near the limit: a fresh copy instead of a DLQ-bound retry
    assert h.dead.sent == []
    [copy] = h.requeued.events
    assert copy.record_id == "1" and copy.dedupe_key != event("1").dedupe_key


def test_a_body_that_is_not_a_sync_event_is_parked_not_retried() -> None:
    h = Harness()
    disposition = h.worker.handle_body('{"hello": 1}', receive_count=1)
    assert disposition.dead_lettered
    assert h.dead.sent[0][1]["failure_kind"] == "invalid_message"


def test_record_types_not_synced_yet_are_acknowledged_and_counted() -> None:
    h = Harness()
    run(h, event("5", record_type=RecordType.BILL))
    assert h.count.values["Unhandled"] == 1
    assert h.dead.sent == []
