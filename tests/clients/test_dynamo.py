"""DynamoTokenStore and DynamoRateBudget on a moto server (DynamoDB + KMS over loopback HTTP)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from clio_xero.clients import RateLimits, StaleTokenError, TokenSet
from clio_xero.clock import ManualClock
from clio_xero.errors import NeedsReconnectError, ThrottledError
from clio_xero.store.rate_budget import DynamoRateBudget
from clio_xero.store.tokens import DynamoTokenStore
from tests.clients.conftest import Aws, make_xero_world

pytestmark = pytest.mark.integration


def store(aws: Aws, clock: ManualClock) -> DynamoTokenStore:
    return DynamoTokenStore(aws.table, aws.dynamodb, aws.kms, aws.key_id, clock)


def token(clock: ManualClock, access: str = "AT-very-secret-1", refresh: str = "RT-very-secret-1") -> TokenSet:
    return TokenSet(access_token=access, refresh_token=refresh, expires_at=clock.now() + timedelta(minutes=30))


def test_round_trip_versions_and_no_plaintext_at_rest(aws: Aws, clock: ManualClock) -> None:
    s = store(aws, clock)
    assert s.load("c1", "xero") is None
    assert s.save("c1", "xero", token(clock), expected_version=None) == 1
    loaded = s.load("c1", "xero")
    assert loaded is not None and loaded.token == token(clock) and loaded.version == 1
    # Another "Lambda" (no cache) reads it too.
    assert store(aws, clock).load("c1", "xero") == loaded
    raw = aws.raw_item("CONN#c1", "TOKEN#xero")
    assert set(raw) >= {"pk", "sk", "version", "data_key", "nonce", "ciphertext", "updated_at"}
    blob = b"".join(v["B"] for v in raw.values() if "B" in v) + repr(raw).encode()
    assert b"very-secret" not in blob
    with pytest.raises(StaleTokenError):
        s.save("c1", "xero", token(clock), expected_version=None)
    with pytest.raises(StaleTokenError):
        store(aws, clock).save("c1", "xero", token(clock, "AT-2"), expected_version=5)
    other = store(aws, clock)
    assert other.save("c1", "xero", token(clock, "AT-2", "RT-2"), expected_version=1) == 2
    reread = s.load("c1", "xero")  # s cached version 1; version 2 is decrypted afresh
    assert reread is not None and reread.token.access_token == "AT-2" and reread.version == 2


def test_tampered_or_moved_ciphertext_does_not_decrypt(aws: Aws, clock: ManualClock) -> None:
    store(aws, clock).save("victim", "xero", token(clock), expected_version=None)
    raw = aws.raw_item("CONN#victim", "TOKEN#xero")

    # Copied to another connection's item: KMS refuses the encryption context.
    moved = {**raw, "pk": {"S": "CONN#attacker"}}
    aws.dynamodb.put_item(TableName=aws.table, Item=moved)
    with pytest.raises(NeedsReconnectError, match="cannot be decrypted"):
        store(aws, clock).load("attacker", "xero")
    # Copied to the other provider of the same connection: refused as well.
    aws.dynamodb.put_item(TableName=aws.table, Item={**raw, "sk": {"S": "TOKEN#clio"}})
    with pytest.raises(NeedsReconnectError):
        store(aws, clock).load("victim", "clio")
    # One bit of the ciphertext flipped: AES-GCM refuses the tag.
    flipped = bytearray(raw["ciphertext"]["B"])
    flipped[0] ^= 1
    aws.dynamodb.put_item(TableName=aws.table, Item={**raw, "ciphertext": {"B": bytes(flipped)}})
    with pytest.raises(NeedsReconnectError, match="Xero connection needs reconnecting"):
        store(aws, clock).load("victim", "xero")


def test_lease_is_exclusive_until_it_expires(aws: Aws, clock: ManualClock) -> None:
    a, b = store(aws, clock), store(aws, clock)
    assert not a.acquire_lease("c2", "clio", "w1", clock.now())  # no token stored: nothing to refresh
    a.save("c2", "clio", token(clock), expected_version=None)
    assert a.acquire_lease("c2", "clio", "w1", clock.now() + timedelta(seconds=30))
    assert not b.acquire_lease("c2", "clio", "w2", clock.now() + timedelta(seconds=30))
    held = b.load("c2", "clio")
    assert held is not None and held.lease_owner == "w1" and held.lease_until == clock.now() + timedelta(seconds=30)
    clock.advance(31)
    assert b.acquire_lease("c2", "clio", "w2", clock.now() + timedelta(seconds=30))  # w1 died
    a.release_lease("c2", "clio", "w1")  # late release by the dead holder changes nothing
    assert not a.acquire_lease("c2", "clio", "w3", clock.now() + timedelta(seconds=30))
    # A save under the lease keeps the lease; releasing clears it.
    b.save("c2", "clio", token(clock, "AT-3"), expected_version=1)
    assert b.load("c2", "clio").lease_owner == "w2"  # type: ignore[union-attr]
    b.release_lease("c2", "clio", "w2")
    assert a.load("c2", "clio").lease_owner is None  # type: ignore[union-attr]


def test_twenty_workers_on_dynamodb_refresh_xero_once(aws: Aws, clock: ManualClock) -> None:
    world = make_xero_world(clock, store=store(aws, clock))
    clock.advance(1800)
    saved = threading.Event()

    class Signalling(DynamoTokenStore):
        def save(self, *args: object, **kwargs: object) -> int:
            version = super().save(*args, **kwargs)  # type: ignore[arg-type]
            saved.set()
            return version

    start = threading.Barrier(20)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        own = Signalling(aws.table, aws.dynamodb, aws.kms, aws.key_id, clock)  # one store per "Lambda"
        tm = world.manager(store=own, wait=lambda s: saved.wait(5), max_wait_seconds=60)
        start.wait()
        try:
            results.append(tm.access_token())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(results) == 20 and len(set(results)) == 1
    assert world.token_calls() == 1
    stored = world.store.load("conn-x", "xero")
    assert stored is not None and stored.version == 2 and stored.lease_owner is None
    assert stored.token.access_token == results[0]
    assert world.client().connections()


def test_rate_budget_is_shared_by_two_lambdas(aws: Aws, clock: ManualClock) -> None:
    limits = {"xero": RateLimits(per_minute=5, per_day=7, concurrent=2)}
    one = DynamoRateBudget(aws.table, aws.dynamodb, clock, limits)
    two = DynamoRateBudget(aws.table, aws.dynamodb, clock, limits)
    for budget in (one, one, two, one, two):
        budget.acquire("xero", "tenant-1")
        budget.release("xero", "tenant-1")
    window = "m#" + clock.now().strftime("%Y%m%d%H%M")
    assert one.count("xero", "tenant-1", window) == 5
    with pytest.raises(ThrottledError) as caught:
        two.acquire("xero", "tenant-1")
    assert caught.value.retry_after == 60  # the ManualClock starts on a minute boundary
    assert one.count("xero", "tenant-1", window) == 5  # a refused call does not count
    two.acquire("xero", "tenant-2")  # other tenants have their own budget
    two.release("xero", "tenant-2")

    clock.advance(60)  # next minute: 2 more fit in the day budget of 7
    one.acquire("xero", "tenant-1")
    two.acquire("xero", "tenant-1")
    with pytest.raises(ThrottledError) as caught:  # concurrency: both slots are held
        one.acquire("xero", "tenant-1")
    assert caught.value.retry_after == 1
    one.release("xero", "tenant-1")
    two.release("xero", "tenant-1")
    with pytest.raises(ThrottledError, match="day") as caught:
        one.acquire("xero", "tenant-1")
    assert caught.value.retry_after is not None and caught.value.retry_after > 3600
    assert one.count("xero", "tenant-1", "m#" + clock.now().strftime("%Y%m%d%H%M")) == 2


def test_a_429_seen_by_one_lambda_blocks_the_other(aws: Aws, clock: ManualClock) -> None:
    one = DynamoRateBudget(aws.table, aws.dynamodb, clock)
    two = DynamoRateBudget(aws.table, aws.dynamodb, clock)
    one.observe("xero", "t", 429, {"Retry-After": "37", "X-Rate-Limit-Problem": "minute"})
    with pytest.raises(ThrottledError) as caught:
        two.acquire("xero", "t")
    assert caught.value.retry_after == 37
    one.observe("xero", "t", 429, {"Retry-After": "5"})  # a shorter hint never shortens a block
    with pytest.raises(ThrottledError) as caught:
        two.acquire("xero", "t")
    assert caught.value.retry_after == 37
    clock.advance(37)
    two.acquire("xero", "t")
    two.release("xero", "t")


def test_a_crashed_lambda_frees_its_slot_after_the_lease(aws: Aws, clock: ManualClock) -> None:
    limits = {"xero": RateLimits(per_minute=100, concurrent=1, slot_lease_seconds=60)}
    crashed = DynamoRateBudget(aws.table, aws.dynamodb, clock, limits)
    alive = DynamoRateBudget(aws.table, aws.dynamodb, clock, limits)
    crashed.acquire("xero", "t3")  # never released
    with pytest.raises(ThrottledError):
        alive.acquire("xero", "t3")
    clock.advance(60)
    alive.acquire("xero", "t3")
    alive.release("xero", "t3")
