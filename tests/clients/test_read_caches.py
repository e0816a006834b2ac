"""What each container remembers to read DynamoDB less (docs/cost.md "What changed, and why"), on a
moto server over loopback and an injected clock: every bound holds, and every write still meets the
condition that keeps it correct."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from clio_xero.clients import RateLimits
from clio_xero.clock import ManualClock
from clio_xero.errors import LinkTakenError, StaleMappingError, ThrottledError
from clio_xero.store.connections import Connection, DynamoConnectionStore, RememberedConnections
from clio_xero.store.mappings import DynamoMappingStore
from clio_xero.store.rate_budget import DynamoRateBudget
from clio_xero.store.settings import DynamoSettingsStore
from clio_xero.store.tokens import DynamoTokenStore
from clio_xero.sync.mapping import Mapping
from clio_xero.sync.settings import ConnectionSettings
from tests.clients.conftest import Aws, make_xero_world

pytestmark = pytest.mark.integration

#: A minute's start, so a test's few seconds never cross into the next rate window by accident.
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class CountingDynamo:
    """The boto3 client, recording every call (name and parameters) before passing it on."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)

        def call(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            return method(**kwargs)

        return call

    def reads(self, sk_prefix: str) -> list[dict[str, Any]]:
        return [k for n, k in self.calls if n == "get_item" and k["Key"]["sk"]["S"].startswith(sk_prefix)]

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


# ---------------------------------------------------------------------------- the token item


def test_the_token_item_is_read_once_per_bound_while_the_token_is_fresh(aws: Aws, clock: ManualClock) -> None:
    ddb = CountingDynamo(aws.dynamodb)
    world = make_xero_world(clock, store=DynamoTokenStore(aws.table, ddb, aws.kms, aws.key_id, clock))  # type: ignore[arg-type]
    ddb.calls.clear()
    manager = world.manager(recheck_seconds=60)
    first = manager.access_token()
    assert manager.access_token() == first and manager.access_token() == first
    assert len(ddb.reads("TOKEN#xero")) == 1
    clock.advance(59)
    assert manager.access_token() == first
    assert len(ddb.reads("TOKEN#xero")) == 1
    clock.advance(1)  # the bound: read again
    assert manager.access_token() == first
    assert len(ddb.reads("TOKEN#xero")) == 2
    # Near expiry the token is read (and refreshed) whatever the bound says.
    clock.advance(1800 - 60 - 120)
    renewed = manager.access_token()
    assert renewed != first and world.token_calls() == 1
    assert world.client(manager=manager).connections()


def test_a_token_rotated_by_another_container_is_used_after_the_bound_or_at_once_after_a_401(
    aws: Aws, clock: ManualClock
) -> None:
    world = make_xero_world(clock, store=DynamoTokenStore(aws.table, aws.dynamodb, aws.kms, aws.key_id, clock))
    ours = world.manager(recheck_seconds=60)
    before = ours.access_token()
    # Another container (its own store, its own memory) refreshes: the item now holds version 2.
    other = world.manager(store=DynamoTokenStore(aws.table, aws.dynamodb, aws.kms, aws.key_id, clock))
    rotated = other.force_refresh(before)
    assert rotated != before and world.token_calls() == 1

    clock.advance(30)  # inside the bound we keep ours, which Xero still accepts (it has not expired)
    assert ours.access_token() == before
    assert world.client(manager=ours).connections()
    # A 401 for it (had Xero revoked it) re-reads the item and takes the rotated token: no refresh.
    assert ours.force_refresh(before) == rotated
    assert ours.access_token() == rotated and world.token_calls() == 1

    fresh = world.manager(recheck_seconds=60)
    assert fresh.access_token() == rotated
    again = other.force_refresh(rotated)  # rotated once more elsewhere
    clock.advance(60)  # past the bound: the item is read and the newest token used
    assert fresh.access_token() == again and world.token_calls() == 2
    stored = world.store.load("conn-x", "xero")
    assert stored is not None and stored.version == 3


def test_without_a_bound_the_token_item_is_read_for_every_call(aws: Aws, clock: ManualClock) -> None:
    ddb = CountingDynamo(aws.dynamodb)
    world = make_xero_world(clock, store=DynamoTokenStore(aws.table, ddb, aws.kms, aws.key_id, clock))  # type: ignore[arg-type]
    ddb.calls.clear()
    manager = world.manager()
    for _ in range(3):
        manager.access_token()
    assert len(ddb.reads("TOKEN#xero")) == 3


# ---------------------------------------------------------------------------- blocked-until


def budget(aws: Aws, clock: ManualClock, ddb: Any, recheck: float = 15) -> DynamoRateBudget:
    limits = {"xero": RateLimits(per_minute=60, per_day=5000)}
    return DynamoRateBudget(aws.table, ddb, clock, limits, lease=5, blocked_recheck_seconds=recheck)


def test_blocked_until_is_read_per_lease_or_bound_and_eventually_consistent(aws: Aws, clock: ManualClock) -> None:
    ddb = CountingDynamo(aws.dynamodb)
    two = budget(aws, clock, ddb)
    for _ in range(5):  # one lease of 5 calls: one read
        two.acquire("xero", "t")
        two.release("xero", "t")
    reads = ddb.reads("RATE#xero#blocked")
    assert len(reads) == 1 and reads[0]["ConsistentRead"] is False
    two.acquire("xero", "t")  # the sixth call takes a new lease, and reads again
    assert len(ddb.reads("RATE#xero#blocked")) == 2
    assert DynamoRateBudget(aws.table, aws.dynamodb, clock).count("xero", "t", "m#202601050900") == 10


def test_another_lambdas_429_is_heeded_within_the_bound_or_at_the_next_lease(aws: Aws, clock: ManualClock) -> None:
    one = budget(aws, clock, aws.dynamodb)
    two = budget(aws, clock, aws.dynamodb)
    two.acquire("xero", "t")  # reads: not blocked; leases 5 calls
    one.observe("xero", "t", 429, {"Retry-After": "40"})
    with pytest.raises(ThrottledError):
        one.acquire("xero", "t")  # its own 429 blocks it at once, read or not

    clock.advance(10)
    two.acquire("xero", "t")  # inside the bound, with calls left in its lease: not heeded yet
    clock.advance(5)  # the bound has passed: heeded
    with pytest.raises(ThrottledError) as caught:
        two.acquire("xero", "t")
    assert caught.value.retry_after == 25

    three = budget(aws, clock, aws.dynamodb)
    for _ in range(4):
        three.acquire("xero", "t2")
    one.observe("xero", "t2", 429, {"Retry-After": "30"})
    three.acquire("xero", "t2")  # the lease's last call (no read) ...
    with pytest.raises(ThrottledError):
        three.acquire("xero", "t2")  # ... and the next lease reads first: heeded within the bound


def test_a_budget_without_a_bound_reads_consistently_before_every_call(aws: Aws, clock: ManualClock) -> None:
    ddb = CountingDynamo(aws.dynamodb)
    plain = budget(aws, clock, ddb, recheck=0)
    for _ in range(3):
        plain.acquire("xero", "t")
    reads = ddb.reads("RATE#xero#blocked")
    assert len(reads) == 3 and all(r["ConsistentRead"] is True for r in reads)


# ---------------------------------------------------------------------------- settings, connections


def test_the_worker_reads_settings_eventually_consistent_the_console_consistently(aws: Aws) -> None:
    ddb = CountingDynamo(aws.dynamodb)
    console = DynamoSettingsStore(aws.table, ddb)  # type: ignore[arg-type]
    worker = DynamoSettingsStore(aws.table, ddb, consistent=False)  # type: ignore[arg-type]
    console.put("c1", ConnectionSettings(sync_contacts=False))
    assert console.get("c1").sync_contacts is False
    assert worker.get("c1").sync_contacts is False  # every read is a read: a change is never held back
    assert [r["ConsistentRead"] for r in ddb.reads("#SETTINGS")] == [True, False]


def test_connections_found_are_remembered_for_the_bound_misses_never(aws: Aws, clock: ManualClock) -> None:
    ddb = CountingDynamo(aws.dynamodb)
    store = DynamoConnectionStore(aws.table, ddb)  # type: ignore[arg-type]
    remembered = RememberedConnections(store, clock, 300)
    assert remembered.get("c1") is None
    store.put_new(Connection(connection_id="c1", created_at=clock.now(), xero_tenant_id="T1"))
    assert remembered.get("c1") is not None  # created a moment ago: found at once
    assert remembered.get("c1") is not None
    clock.advance(299)
    assert remembered.get("c1") is not None
    assert len(ddb.reads("#CONNECTION")) == 2
    clock.advance(1)
    assert remembered.get("c1") is not None
    assert len(ddb.reads("#CONNECTION")) == 3
    assert [c.connection_id for c in remembered.find_by_xero_tenant("T1")] == ["c1"]


# ---------------------------------------------------------------------------- mapping writes


def mapping(clio_id: str, xero_id: str | None, clock: ManualClock) -> Mapping:
    now = clock.now()
    return Mapping(
        connection_id="c1", record_type="contact", clio_id=clio_id, xero_id=xero_id, created_at=now, updated_at=now
    )


def test_one_item_mapping_writes_need_no_transaction_and_keep_their_conditions(aws: Aws, clock: ManualClock) -> None:
    ddb = CountingDynamo(aws.dynamodb)
    store = DynamoMappingStore(aws.table, ddb)  # type: ignore[arg-type]
    waiting = store.create(mapping("1", None, clock))  # not linked yet: one item
    with pytest.raises(LinkTakenError):
        store.create(mapping("1", None, clock))
    linked = store.update(waiting.model_copy(update={"xero_id": "X-1"}), previous_xero_id=None)  # link + reverse
    resynced = store.update(linked.model_copy(update={"synced_hash": "h2"}), previous_xero_id="X-1")
    with pytest.raises(StaleMappingError):  # someone else wrote since `linked` was read
        store.update(linked.model_copy(update={"synced_hash": "h3"}), previous_xero_id="X-1")
    assert ddb.names().count("transact_write_items") == 1
    assert ddb.names().count("put_item") == 4
    stored = store.get("c1", "contact", "1")
    assert stored is not None and stored.version == resynced.version == 3 and stored.synced_hash == "h2"

    # Two items must change together: still one transaction each, and a Xero record links once.
    with pytest.raises(LinkTakenError):
        store.create(mapping("2", "x-1", clock))  # the reverse item exists (ids compared lower-case)
    other = store.create(mapping("3", None, clock))
    with pytest.raises(LinkTakenError):
        store.update(other.model_copy(update={"xero_id": "X-1"}), previous_xero_id=None)
    assert store.get("c1", "contact", "2") is None and store.clio_id_for("c1", "contact", "X-1") == "1"
    store.delete(other)  # not linked: one item
    store.delete(resynced)  # linked: the mapping and its reverse item together
    assert store.get("c1", "contact", "3") is None and store.get("c1", "contact", "1") is None
    assert store.clio_id_for("c1", "contact", "X-1") is None
    assert ddb.names().count("delete_item") == 1
    assert ddb.names().count("transact_write_items") == 4


def test_reads_after_an_expired_bound_use_the_injected_clock_only(aws: Aws, clock: ManualClock) -> None:
    """No wall clock: a bound counts only the clock's own advance."""
    store = DynamoConnectionStore(aws.table, aws.dynamodb)
    store.put_new(Connection(connection_id="c9", created_at=clock.now()))
    remembered = RememberedConnections(store, clock, 300)
    assert remembered.get("c9") is not None
    store.update_fields("c9", {"name": "renamed"})
    assert remembered.get("c9").name == ""  # type: ignore[union-attr]
    clock.advance(timedelta(minutes=5).total_seconds())
    assert remembered.get("c9").name == "renamed"  # type: ignore[union-attr]
