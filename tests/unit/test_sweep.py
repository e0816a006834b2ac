"""The sweep over fakes: first run sets cursors, later runs queue only what changed, failures isolate."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from clio_xero.clock import ManualClock
from clio_xero.errors import UpstreamUnavailableError
from clio_xero.events import Source
from clio_xero.store.connections import Connection, ConnectionStatus
from clio_xero.sync.settings import InMemorySettingsStore
from clio_xero.sync.sweep import OVERLAP, Sweep
from tests.fakes.intake import Counts, FakePublisher, RecordingLog


class Cursors:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], datetime] = {}

    def get(self, connection_id: str, name: str) -> datetime | None:
        return self.values.get((connection_id, name))

    def put(self, connection_id: str, name: str, value: datetime) -> None:
        self.values[(connection_id, name)] = value


class Side:
    """A provider that answers "changed since" from a list of (time, record)."""

    def __init__(self, id_key: str) -> None:
        self.id_key = id_key
        self.changes: list[tuple[datetime, dict[str, Any]]] = []
        self.calls: list[datetime | None] = []
        self.fail = False

    def _since(self, since: datetime | None) -> Iterator[dict[str, Any]]:
        self.calls.append(since)
        if self.fail:
            raise UpstreamUnavailableError("503")
        return iter([r for t, r in self.changes if since is None or t >= since])

    def iter_contacts(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        return self._since(kwargs.get("updated_since") or kwargs.get("modified_since"))


class Clients:
    def __init__(self) -> None:
        self.sides: dict[str, tuple[Side, Side]] = {}

    def for_connection(self, connection_id: str) -> tuple[Side, Side]:
        return self.sides.setdefault(connection_id, (Side("id"), Side("ContactID")))


class Connections:
    def __init__(self, *ids: str) -> None:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        self.items = [
            Connection(connection_id=i, status=ConnectionStatus.ACTIVE, xero_tenant_id=f"t-{i}", created_at=now)
            for i in ids
        ]

    def list_all(self) -> list[Connection]:
        return self.items


def make(*ids: str) -> tuple[Sweep, Clients, FakePublisher, ManualClock, Cursors]:
    clock, clients, publisher, cursors = ManualClock(), Clients(), FakePublisher(), Cursors()
    sweep = Sweep(
        connections=Connections(*ids),
        clients=clients,
        cursors=cursors,
        publisher=publisher,
        clock=clock,
        log=RecordingLog(),
        count=Counts(),
        settings=InMemorySettingsStore(),  # the defaults: contacts swept, billing off
    )
    return sweep, clients, publisher, clock, cursors


def test_first_run_only_sets_cursors() -> None:
    sweep, clients, publisher, clock, cursors = make("a")
    report = sweep.run()
    assert (report.first_runs, report.queued, publisher.events) == (1, 0, [])
    assert cursors.get("a", "clio:contact") == clock.now()
    assert clients.sides == {}  # not a single API call


def test_later_runs_queue_what_changed_and_nothing_else() -> None:
    sweep, clients, publisher, clock, _ = make("a")
    sweep.run()
    start = clock.now()
    clock.advance(900)
    clio, xero = clients.for_connection("a")
    clio.changes.append((start + timedelta(minutes=3), {"id": 42, "etag": '"e"'}))
    xero.changes.append((start + timedelta(minutes=4), {"ContactID": "x-1", "UpdatedDateUTC": "/Date(1)/"}))
    assert sweep.run().queued == 2
    assert {(e.source, e.record_id) for e in publisher.events} == {(Source.CLIO, "42"), (Source.XERO, "x-1")}
    assert clio.calls == [start - OVERLAP] and xero.calls == [start - OVERLAP]
    # Nothing new: two calls, nothing queued (near-free), and the same record is not re-queued anew.
    clock.advance(900)
    publisher.events.clear()
    assert sweep.run().queued == 0
    assert len(clio.calls) == len(xero.calls) == 2


def test_a_failing_connection_does_not_stop_the_others_and_keeps_its_cursor() -> None:
    sweep, clients, publisher, clock, cursors = make("a", "b")
    sweep.run()
    before = cursors.get("a", "clio:contact")
    clock.advance(900)
    clients.for_connection("a")[0].fail = True
    clients.for_connection("b")[0].changes.append((clock.now(), {"id": 1, "etag": "x"}))
    report = sweep.run()
    assert report.failed == {"a": "503"}
    assert [e.connection_id for e in publisher.events] == ["b"]
    assert cursors.get("a", "clio:contact") == before  # retried from the same point next run
