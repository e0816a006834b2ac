"""The sync core with toy record types: parents first (or waiting, visibly), bursts coalesced,
registry rules, one disposition table."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from clio_xero.clock import ManualClock
from clio_xero.errors import (
    ConfigurationError,
    DependencyPendingError,
    NeedsReconnectError,
    SyncError,
    ThrottledError,
    UpstreamUnavailableError,
    ValidationFailedError,
)
from clio_xero.events import Action, RecordType, Source, SyncEvent
from clio_xero.store.connections import Connection, ConnectionStatus
from clio_xero.sync.core import (
    BatchedPlugin,
    ClioWebhook,
    Done,
    RecordTypePlugin,
    Registry,
    SyncContext,
    SyncedRecord,
    SyncEngine,
    Verdict,
    decide,
)
from clio_xero.sync.mapping import InMemoryMappingStore, Mapping, MappingStatus, record_ref
from clio_xero.sync.settings import ConnectionSettings, InMemorySettingsStore
from clio_xero.sync.sweep import OVERLAP, Sweep
from clio_xero.sync.worker import Message, SyncWorker
from tests.fakes.intake import Counts, FakePublisher, RecordingLog

NOW = datetime(2026, 11, 25, tzinfo=UTC)


@dataclass
class Side:
    """A toy source (records by id) and a toy target (written records by id)."""

    source: dict[str, dict[str, Any]] = field(default_factory=dict)
    target: dict[str, dict[str, Any]] = field(default_factory=dict)
    reads: list[list[str]] = field(default_factory=list)
    writes: list[int] = field(default_factory=list)
    fail_next: list[SyncError] = field(default_factory=list)

    def read(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        self.reads.append(list(ids))
        return {i: self.source[i] for i in ids if i in self.source}

    def write(self, records: list[dict[str, Any]]) -> list[str]:
        if self.fail_next:
            raise self.fail_next.pop(0)
        self.writes.append(len(records))
        out = []
        for record in records:
            xero_id = f"x-{record['kind']}-{record['id']}"
            self.target[xero_id] = record
            out.append(xero_id)
        return out


def link(ctx: SyncContext, record_type: str, clio_id: str, xero_id: str, depends_on: str | None = None) -> None:
    mapping = ctx.mappings.get(ctx.connection_id, record_type, clio_id)
    values: dict[str, Any] = {"xero_id": xero_id, "status": MappingStatus.OK, "last_error": None, "updated_at": NOW}
    if depends_on:
        values["depends_on"] = depends_on
    if mapping is None:
        ctx.mappings.create(
            Mapping(connection_id=ctx.connection_id, record_type=record_type, clio_id=clio_id, created_at=NOW, **values)
        )
    else:
        ctx.mappings.update(mapping.model_copy(update=values), previous_xero_id=mapping.xero_id)


class ToyParent(RecordTypePlugin):
    record_type = RecordType.MATTER
    clio_webhooks = (ClioWebhook("matter", "id,etag"),)

    def __init__(self, side: Side) -> None:
        self.side = side

    def sync(self, ctx: SyncContext, event: SyncEvent) -> SyncedRecord:
        record = self.side.read([event.record_id]).get(event.record_id)
        if record is None:
            return Done(clio_id=event.record_id)
        [xero_id] = self.side.write([{"kind": "parent", **record}])
        link(ctx, self.name, event.record_id, xero_id)
        return Done(clio_id=event.record_id, xero_id=xero_id)


class ToyChild(BatchedPlugin):
    record_type = RecordType.ACTIVITY
    depends_on = RecordType.MATTER
    switch = "sync_time_entries"
    clio_webhooks = (ClioWebhook("activity", "id,etag"), ClioWebhook("matter", "id,status"))

    def __init__(self, side: Side) -> None:
        self.side = side
        self.batches: list[int] = []

    def sync_batch(self, ctx: SyncContext, events: Sequence[SyncEvent]) -> list[SyncedRecord | SyncError]:
        self.batches.append(len(events))
        records = self.side.read([e.record_id for e in events])  # one read for the burst
        ready: list[tuple[SyncEvent, dict[str, Any]]] = []
        out: dict[str, SyncedRecord | SyncError] = {}
        for event in events:
            record = records[event.record_id]
            try:
                parent = ctx.linked_parent(RecordType.MATTER, record["parent"])
            except SyncError as exc:
                out[event.record_id] = exc
                continue
            ready.append((event, {"kind": "child", **record, "parent_xero_id": parent.xero_id}))
        if ready:
            ids = self.side.write([r for _, r in ready])  # one write for the burst
            for (event, record), xero_id in zip(ready, ids, strict=True):
                link(ctx, self.name, event.record_id, xero_id, depends_on=record_ref("matter", record["parent"]))
                out[event.record_id] = Done(clio_id=event.record_id, xero_id=xero_id)
        return [out[e.record_id] for e in events]


@dataclass
class DeadLetters:
    sent: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def send(self, event_body: str, *, group_id: str, dedupe_id: str, reason: dict[str, str]) -> None:
        self.sent.append((event_body, reason))


class World:
    def __init__(self, **settings: Any) -> None:
        self.side = Side()
        self.parent, self.child = ToyParent(self.side), ToyChild(self.side)
        self.registry = Registry([self.parent, self.child])
        self.mappings = InMemoryMappingStore()
        self.settings = ConnectionSettings(**{"sync_time_entries": True, **settings})
        self.dead = DeadLetters()
        self.count = Counts()
        self.engine = SyncEngine(registry=self.registry, contexts=self.context)
        self.worker = SyncWorker(
            engine=self.engine,
            mappings=self.mappings,
            dead_letters=self.dead,
            requeue=FakePublisher(),
            clock=ManualClock(NOW),
            log=RecordingLog(),
            count=self.count,
        )

    def context(self, connection_id: str) -> SyncContext:
        return SyncContext(
            connection_id=connection_id,
            mappings=self.mappings,
            settings=self.settings,
            clock=ManualClock(NOW),
            apis=lambda: pytest.fail("the toys need no API clients"),
        )


def event(record_id: str, record_type: RecordType = RecordType.ACTIVITY) -> SyncEvent:
    return SyncEvent(
        connection_id="c1",
        source=Source.CLIO,
        record_type=record_type,
        record_id=record_id,
        action=Action.UPDATED,
        received_at=NOW,
        dedupe_key=f"{record_type.value}-{record_id}".ljust(16, "-"),
    )


# ------------------------------------------------------------------------------ parents first
def test_a_child_whose_parent_is_not_linked_syncs_the_parent_first() -> None:
    w = World()
    w.side.source.update({"p1": {"id": "p1"}, "c1": {"id": "c1", "parent": "p1"}})
    disposition = w.worker.handle_body(event("c1").model_dump_json(), receive_count=1)
    assert disposition.result is not None
    parent = w.mappings.get("c1", "matter", "p1")
    child = w.mappings.get("c1", "activity", "c1")
    assert parent is not None and parent.xero_id == "x-parent-p1"
    assert child is not None and child.depends_on == "matter:p1"
    assert w.side.target[child.xero_id or ""]["parent_xero_id"] == "x-parent-p1"


def test_a_child_waits_visibly_while_its_parent_cannot_be_linked_and_writes_nothing() -> None:
    w = World()
    w.side.source.update({"p1": {"id": "p1"}, "c1": {"id": "c1", "parent": "p1"}})
    w.side.fail_next.append(UpstreamUnavailableError("Xero answered 503: Organisation offline"))
    with pytest.raises(DependencyPendingError) as caught:
        w.worker.handle_body(event("c1").model_dump_json(), receive_count=1)
    assert caught.value.parent == "matter:p1" and "Organisation offline" in caught.value.message
    assert w.side.target == {}  # no orphan
    waiting = w.mappings.get("c1", "activity", "c1")
    assert waiting is not None and waiting.status is MappingStatus.WAITING and waiting.xero_id is None
    assert waiting.depends_on == "matter:p1" and waiting.last_error is not None
    assert "matter:p1" in waiting.last_error and "Organisation offline" in waiting.last_error
    assert waiting.error_hint is not None and "matter:p1" in waiting.error_hint
    # The queue brings it back; the parent is fine now: both synced, the child is no longer waiting.
    w.worker.handle_body(event("c1").model_dump_json(), receive_count=2)
    child = w.mappings.get("c1", "activity", "c1")
    assert child is not None and child.status is MappingStatus.OK and child.xero_id == "x-child-c1"


def test_a_throttled_parent_is_a_throttle_not_a_wait() -> None:
    w = World()
    w.side.source.update({"p1": {"id": "p1"}, "c1": {"id": "c1", "parent": "p1"}})
    w.side.fail_next.append(ThrottledError("Xero minute limit", retry_after=30))
    with pytest.raises(ThrottledError):
        w.worker.handle_body(event("c1").model_dump_json(), receive_count=1)
    assert w.mappings.get("c1", "activity", "c1") is None and w.side.target == {}


def test_a_parent_that_is_gone_keeps_the_child_waiting_then_parked_with_the_reason() -> None:
    w = World()
    w.side.source["c1"] = {"id": "c1", "parent": "p-missing"}
    for attempt in range(1, 5):
        with pytest.raises(DependencyPendingError):
            w.worker.handle_body(event("c1").model_dump_json(), receive_count=attempt)
    disposition = w.worker.handle_body(event("c1").model_dump_json(), receive_count=5)
    assert disposition.dead_lettered and "matter:p-missing" in (disposition.reason or "")
    [(_, reason)] = w.dead.sent
    assert reason["failure_kind"] == "DependencyPendingError"
    assert w.side.target == {}


# ------------------------------------------------------------------------------ bursts
def test_a_burst_reaches_the_plugin_as_one_batch_and_one_failure_stays_its_own() -> None:
    w = World()
    w.side.source.update({"p1": {"id": "p1"}})
    for i in range(1, 6):
        w.side.source[f"c{i}"] = {"id": f"c{i}", "parent": "p1" if i != 3 else "p-missing"}
    messages = [Message(event(f"c{i}").model_dump_json(), receive_count=1) for i in range(1, 6)]
    messages.insert(2, Message('{"not": "an event"}', receive_count=1))
    results = w.worker.handle_batch(messages)
    assert len(results) == 6
    assert w.child.batches == [5]  # one call for the five events
    assert w.side.writes == [1, 4]  # the parent once, then the four children in one write
    assert [r for r in w.side.reads if len(r) > 1] == [["c1", "c2", "c3", "c4", "c5"]]
    assert isinstance(results[3], DependencyPendingError)  # c3's parent does not exist
    assert not isinstance(results[2], SyncError) and results[2].dead_lettered  # the bad body
    assert all(not isinstance(r, SyncError) and r.result is not None for i, r in enumerate(results) if i not in (2, 3))


def test_disabled_and_unregistered_types_are_acknowledged() -> None:
    w = World(sync_time_entries=False)
    w.side.source["c1"] = {"id": "c1", "parent": "p1"}
    assert w.worker.handle_body(event("c1").model_dump_json(), receive_count=1).result is None
    assert w.side.writes == []
    assert w.count.values["SkippedSwitchedOff"] == 1  # counted, so a quiet switch is visible
    w.worker.handle_body(event("b1", RecordType.BILL).model_dump_json(), receive_count=1)
    assert w.count.values["Unhandled"] == 1


# ------------------------------------------------------------------------------ registry
def test_the_registry_refuses_what_cannot_work_and_merges_webhooks() -> None:
    side = Side()
    with pytest.raises(ValueError, match="registered first"):
        Registry([ToyChild(side)])  # its parent type is unknown
    registry = Registry([ToyParent(side), ToyChild(side)])
    with pytest.raises(ValueError, match="already registered"):
        registry.register(ToyParent(side))
    with pytest.raises(ValueError, match="activity needs 'matter'"):
        registry.unregister(RecordType.MATTER)

    class BadSwitch(ToyParent):
        record_type = RecordType.BILL
        switch = "sync_everything"

    with pytest.raises(TypeError, match="not a setting"):
        registry.register(BadSwitch(side))
    hooks = {h.model: h.fields for h in registry.clio_webhooks()}
    assert hooks == {"matter": "id,etag,status", "activity": "id,etag"}
    off = ConnectionSettings(sync_time_entries=False)
    assert [h.model for h in registry.clio_webhooks(off)] == ["matter"]
    assert registry.names() == ["matter", "activity"]
    with pytest.raises(KeyError, match="not synced"):
        registry.get(RecordType.BILL)


def test_a_belonging_record_shares_its_owners_fifo_group() -> None:
    class Line(ToyParent):
        record_type = RecordType.ACTIVITY
        belongs_to = RecordType.BILL

    line = Line(Side())
    assert line.fifo_group(event("a1"), owner_id="77") == "c1#clio:bill:77"
    assert line.fifo_group(event("a1")) == event("a1").message_group_id


# ------------------------------------------------------------------------------ dispositions
@pytest.mark.parametrize(
    ("error", "receive_count", "verdict", "delay"),
    [
        (None, 1, Verdict.DONE, None),
        (ThrottledError("minute limit", retry_after=30), 1, Verdict.RETRY_LATER, 30),
        (ThrottledError("minute limit", retry_after=10**9), 1, Verdict.RETRY_LATER, 12 * 3600),
        (ThrottledError("minute limit", retry_after=30), 4, Verdict.REQUEUE, None),
        (UpstreamUnavailableError("503"), 4, Verdict.RETRY_LATER, None),
        (UpstreamUnavailableError("503"), 5, Verdict.PARK, None),
        (DependencyPendingError("waiting", parent="contact:1"), 5, Verdict.PARK, None),
        (NeedsReconnectError("reconnect"), 1, Verdict.RETRY_LATER, None),
        (ValidationFailedError("refused"), 1, Verdict.PARK, None),
        (ConfigurationError("archived code"), 1, Verdict.PARK, None),
    ],
)
def test_one_table_decides_every_disposition(
    error: SyncError | None, receive_count: int, verdict: Verdict, delay: int | None
) -> None:
    decision = decide(error, receive_count=receive_count, max_receive_count=5, can_requeue=True)
    assert (decision.verdict, decision.delay_seconds) == (verdict, delay)


# ------------------------------------------------------------------------------ sweep
class SweptChild(ToyChild):
    sweep_sources = (Source.CLIO,)

    def __init__(self, side: Side) -> None:
        super().__init__(side)
        self.asked: list[datetime] = []

    def changed_since(self, clio: Any, xero: Any, source: Source, since: datetime) -> Iterator[tuple[str, object]]:
        self.asked.append(since)
        yield from [("c1", "v1"), ("c2", "v1")]


def test_the_sweep_lists_changes_of_every_registered_type_switched_on() -> None:
    side = Side()
    child = SweptChild(side)
    registry = Registry([ToyParent(side), child])
    settings = InMemorySettingsStore()
    cursors = InMemoryCursors()
    publisher = FakePublisher()
    clock = ManualClock(NOW)
    connection = Connection(connection_id="c1", status=ConnectionStatus.ACTIVE, xero_tenant_id="t", created_at=NOW)
    sweep = Sweep(
        connections=StaticConnections([connection]),
        clients=NoClients(),
        cursors=cursors,
        publisher=publisher,
        clock=clock,
        log=RecordingLog(),
        count=Counts(),
        registry=registry,
        settings=settings,
    )
    settings.put("c1", ConnectionSettings(sync_time_entries=True))
    assert sweep.sweep_connection("c1") == (0, True)  # first run: cursors only
    assert cursors.values == {("c1", "clio:activity"): NOW}
    clock.advance(900)
    assert sweep.sweep_connection("c1") == (2, False)
    assert [e.record_type for e in publisher.events] == [RecordType.ACTIVITY] * 2
    assert child.asked == [NOW - OVERLAP]
    settings.put("c1", ConnectionSettings(sync_time_entries=False))  # switched off: no call, cursor waits
    clock.advance(900)
    assert sweep.sweep_connection("c1") == (0, False)
    assert len(child.asked) == 1 and cursors.values[("c1", "clio:activity")] == NOW + timedelta(seconds=900)


class InMemoryCursors:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], datetime] = {}

    def get(self, connection_id: str, name: str) -> datetime | None:
        return self.values.get((connection_id, name))

    def put(self, connection_id: str, name: str, value: datetime) -> None:
        self.values[(connection_id, name)] = value


@dataclass
class StaticConnections:
    items: list[Connection]

    def list_all(self) -> list[Connection]:
        return self.items


class NoClients:
    def for_connection(self, connection_id: str) -> tuple[Any, Any]:
        return None, None


def test_a_mapping_stored_before_record_types_reads_the_same() -> None:
    old_item = {
        "connection_id": "c1",
        "record_type": "contact",
        "clio_id": "7",
        "xero_id": "x-7",
        "xero_name": "Ada Lovelace (7)",  # the contact-only field's old name
        "created_at": NOW.isoformat(),
        "updated_at": NOW.isoformat(),
    }
    mapping = Mapping.model_validate(old_item)
    assert mapping.xero_label == "Ada Lovelace (7)"
    assert (mapping.depends_on, mapping.belongs_to, mapping.status) == (None, None, MappingStatus.OK)
    assert "xero_label" in mapping.model_dump() and "xero_name" not in mapping.model_dump()
