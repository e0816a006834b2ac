"""XeroClient and the OAuth pieces against the Xero sandbox, in-process."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from clio_xero.clients import InMemoryRateBudget, TokenSet, UnlimitedBudget, exchange_code
from clio_xero.clients.ratelimit import RateLimits
from clio_xero.clock import ManualClock
from clio_xero.errors import (
    NeedsReconnectError,
    ThrottledError,
    UpstreamUnavailableError,
    ValidationFailedError,
)
from clio_xero_tools.sandbox._base import FaultPlan
from clio_xero_tools.sandbox.xero import XeroLimits
from tests.clients.conftest import XERO_CLIENT, XeroWorld, make_xero_world


def contacts(n: int, prefix: str = "Client") -> list[dict[str, str]]:
    return [{"Name": f"{prefix} {i:04d}", "ContactNumber": f"CLIO-{prefix}-{i}"} for i in range(n)]


def test_contact_crud_and_lookup_by_number(xero: XeroWorld) -> None:
    client = xero.client()
    assert [c["tenantId"] for c in client.connections()] == [xero.org.organisation_id]
    [created] = client.save_contacts([{"Name": "Ada Lovelace", "ContactNumber": "CLIO-42"}],
                                     idempotency_key="conn-x:contact:42:v1", create=True)  # fmt: skip
    assert created.ok and created.record is not None
    cid = created.record["ContactID"]
    assert client.get_contact(cid)["Name"] == "Ada Lovelace"  # type: ignore[index]
    [updated] = client.save_contacts([{"ContactID": cid, "EmailAddress": "ada@example.com"}],
                                     idempotency_key="conn-x:contact:42:v2", create=False)  # fmt: skip
    assert updated.ok and updated.record is not None and updated.record["EmailAddress"] == "ada@example.com"
    assert client.find_contact_by_number("CLIO-42")["ContactID"] == cid  # type: ignore[index]
    assert client.find_contact_by_number("CLIO-43") is None
    archived = client.archive_contact(cid, idempotency_key="conn-x:contact:42:archive")
    assert archived["ContactStatus"] == "ARCHIVED"
    # The number stays taken by the archived contact, and lookups still find it.
    assert client.find_contact_by_number("CLIO-42")["ContactStatus"] == "ARCHIVED"  # type: ignore[index]
    assert client.get_contact("00000000-0000-0000-0000-000000000000") is None


def test_odd_contact_numbers_use_the_where_filter(xero: XeroWorld) -> None:
    client = xero.client()
    client.save_contacts([{"Name": "Odd", "ContactNumber": 'A/B "C"'}], idempotency_key="odd-1", create=True)
    found = client.find_contact_by_number('A/B "C"')
    assert found is not None and found["Name"] == "Odd"
    assert xero.sandbox.request_log.entries(method="GET")[-1].path == "/api.xro/2.0/Contacts"  # not /Contacts/A/B


def test_batch_with_one_bad_element_reports_per_element(xero: XeroWorld) -> None:
    client = xero.client()
    batch = [{"Name": "Good One"}, {"Name": "Bad Email", "EmailAddress": "not-an-email"}, {"Name": "Good Two"}]
    results = client.save_contacts(batch, idempotency_key="batch-1", create=True)
    assert [r.ok for r in results] == [True, False, True]
    assert [r.index for r in results] == [0, 1, 2]
    assert results[1].errors == ["Email address must be valid."]  # Xero's words, verbatim
    assert results[1].record is None
    assert all(r.record and r.record["ContactID"] for r in (results[0], results[2]))


def test_idempotency_key_replay_and_reuse(xero: XeroWorld) -> None:
    client = xero.client()
    first = client.save_contacts(contacts(2), idempotency_key="replay-1", create=True)
    again = client.save_contacts(contacts(2), idempotency_key="replay-1", create=True)
    assert [r.record["ContactID"] for r in first] == [r.record["ContactID"] for r in again]  # type: ignore[index]
    assert len(list(client.iter_contacts())) == 2  # the replay created nothing
    with pytest.raises(ValidationFailedError) as caught:
        client.save_contacts(contacts(3), idempotency_key="replay-1", create=True)
    assert caught.value.provider_messages == ["Idempotency Key: replay-1 is used with a different request."]


def test_paging_and_ids_chunking(xero: XeroWorld) -> None:
    client = xero.client(budget=UnlimitedBudget())
    created = client.save_contacts(contacts(120), idempotency_key="seed-120", create=True)
    ids = [r.record["ContactID"] for r in created if r.record]
    before = client.calls
    rows = list(client.iter_contacts(page_size=50))
    assert len(rows) == 120 and client.calls - before == 3  # 50 + 50 + 20
    before = client.calls
    logged = len(xero.sandbox.request_log.entries())
    got = client.get_contacts([*ids, ids[0]])  # duplicates are asked once
    assert sorted(c["ContactID"] for c in got) == sorted(ids)
    assert client.calls - before == 3  # 120 ids in chunks of 50
    assert [e.path for e in xero.sandbox.request_log.entries()[logged:]] == ["/api.xro/2.0/Contacts"] * 3


def test_modified_since(xero: XeroWorld, clock: ManualClock) -> None:
    client = xero.client()
    client.save_contacts(contacts(3, "Old"), idempotency_key="old-3", create=True)
    clock.advance(60)
    cursor = clock.now()
    clock.advance(60)
    client.save_contacts(contacts(2, "New"), idempotency_key="new-2", create=True)
    assert sorted(c["Name"] for c in client.iter_contacts(modified_since=cursor)) == ["New 0000", "New 0001"]


def test_429_from_the_sandbox_blocks_the_shared_budget(clock: ManualClock) -> None:
    world = make_xero_world(clock, limits=XeroLimits(per_minute=2))
    budget = InMemoryRateBudget(clock)
    client = world.client(budget=budget)
    list(client.iter_contacts())
    list(client.iter_contacts())  # X-MinLimit-Remaining: 0 now; our budget blocks the next call
    with pytest.raises(ThrottledError) as caught:
        list(client.iter_contacts())
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 60
    assert client.calls == 2  # blocked locally, no HTTP call

    # A budget that did not see those answers (another Lambda, say) gets the sandbox's 429.
    other = world.client(budget=UnlimitedBudget())
    with pytest.raises(ThrottledError) as caught:
        list(other.iter_contacts())
    assert caught.value.retry_after == 60 and "minute" in caught.value.message


def test_burst_of_429s_carries_retry_after(clock: ManualClock) -> None:
    world = make_xero_world(clock, faults=FaultPlan(burst_429=1))
    budget = InMemoryRateBudget(clock)
    client = world.client(budget=budget)
    with pytest.raises(ThrottledError) as caught:
        client.get_contacts(["00000000-0000-0000-0000-000000000001"])
    assert caught.value.retry_after == 60
    with pytest.raises(ThrottledError):  # everyone sharing the budget backs off now
        client.connections()
    clock.advance(61)
    assert client.get_contacts(["00000000-0000-0000-0000-000000000001"]) == []


def test_organisation_offline_and_timeouts_are_retryable(clock: ManualClock) -> None:
    world = make_xero_world(clock, faults=FaultPlan(error_rate=1.0, status_codes=(503,)))
    with pytest.raises(UpstreamUnavailableError, match="Organisation offline"):
        world.client().get_contacts(["00000000-0000-0000-0000-000000000001"])
    world.sandbox.set_faults(FaultPlan(timeout_rate=1.0))
    with pytest.raises(UpstreamUnavailableError, match="timed out"):
        world.client().save_contacts(contacts(1), idempotency_key="t-1", create=True)


def test_disconnected_tenant_needs_reconnect(xero: XeroWorld) -> None:
    xero.sandbox.identity.disconnect_tenant(xero.org.organisation_id)
    with pytest.raises(NeedsReconnectError, match="Xero connection needs reconnecting"):
        xero.client().iter_contacts().__next__()


def test_expiry_mid_run_refreshes_transparently(xero: XeroWorld, clock: ManualClock) -> None:
    client = xero.client(budget=UnlimitedBudget())
    client.save_contacts(contacts(30), idempotency_key="seed-30", create=True)
    seen = 0
    for _ in client.iter_contacts(page_size=10):
        seen += 1
        if seen % 10 == 0:
            clock.advance(1000)  # two pages later the 30-minute token has expired
    assert seen == 30
    assert xero.token_calls() == 1
    stored = xero.store.load("conn-x", "xero")
    assert stored is not None and stored.version == 2


def test_a_401_with_a_token_we_thought_valid_refreshes_once(xero: XeroWorld, clock: ManualClock) -> None:
    stored = xero.store.load("conn-x", "xero")
    assert stored is not None
    # Our copy claims a day of life; the sandbox expires it after 30 minutes.
    lying = stored.token.model_copy(update={"expires_at": clock.now() + timedelta(days=1)})
    xero.store.save("conn-x", "xero", lying, expected_version=stored.version)
    clock.advance(1801)
    client = xero.client()
    assert client.connections()
    assert xero.token_calls() == 1 and client.calls == 2
    assert [e.status for e in xero.sandbox.request_log.entries(path_prefix="/connections")] == [401, 200]


def test_twenty_threads_one_refresh(xero: XeroWorld, clock: ManualClock) -> None:
    clock.advance(1800)  # the stored access token is now expired for everyone
    saved = threading.Event()
    original_save = xero.store.save

    def save(*args: object, **kwargs: object) -> int:
        version = original_save(*args, **kwargs)  # type: ignore[arg-type]
        saved.set()
        return version

    xero.store.save = save  # type: ignore[method-assign]
    start = threading.Barrier(20)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        tm = xero.manager(wait=lambda s: saved.wait(5))  # each worker has its own manager, as Lambdas do
        start.wait()
        try:
            results.append(tm.access_token())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
    assert len(results) == 20 and len(set(results)) == 1
    assert xero.token_calls() == 1
    assert xero.client().connections()  # and the token works


def test_grace_period_then_invalid_grant(xero: XeroWorld, clock: ManualClock) -> None:
    stored = xero.store.load("conn-x", "xero")
    assert stored is not None and stored.token.refresh_token
    old_refresh = stored.token.refresh_token
    refresher = xero.refresher()
    rotated = refresher.refresh(old_refresh)
    assert rotated.refresh_token and rotated.refresh_token != old_refresh
    clock.advance(20 * 60)  # the response was "lost": the old token still works within 30 min
    assert refresher.refresh(old_refresh).access_token
    clock.advance(11 * 60)
    # A manager holding only the superseded token, after the grace: the connection is dead.
    xero.store.save("conn-x", "xero", TokenSet(access_token="x", refresh_token=old_refresh,
                    expires_at=clock.now()), expected_version=stored.version)  # fmt: skip
    with pytest.raises(NeedsReconnectError) as caught:
        xero.client().connections()
    assert caught.value.message == "Xero connection needs reconnecting: refresh token expired or revoked"
    assert xero.reconnects == [("conn-x", "xero")]


def test_refresh_uses_basic_auth_and_a_wrong_secret_is_configuration(xero: XeroWorld) -> None:
    from clio_xero.clients import AuthlibRefresher
    from clio_xero.errors import ConfigurationError

    bad = AuthlibRefresher(provider="xero", token_url=xero.endpoints.token_url, client_id=XERO_CLIENT[0],
                           client_secret="wrong", transport=xero.transport, clock=xero.clock)  # fmt: skip
    with pytest.raises(ConfigurationError, match="invalid_client"):
        bad.refresh("whatever")


def test_code_exchange_with_pkce(xero: XeroWorld) -> None:
    import httpx

    web = httpx.Client(transport=xero.transport, base_url="http://xero.test")
    answer = web.get("/connect/authorize", params={"response_type": "code", "client_id": XERO_CLIENT[0],
                     "redirect_uri": "https://app.test/cb", "scope": "offline_access accounting.contacts",
                     "state": "s1", "code_challenge": "x", "code_challenge_method": "S256"})  # fmt: skip
    code = httpx.URL(answer.headers["Location"]).params["code"]
    token = exchange_code(provider="xero", token_url=xero.endpoints.token_url, client_id=XERO_CLIENT[0],
                          client_secret=XERO_CLIENT[1], code=code, redirect_uri="https://app.test/cb",
                          code_verifier="v" * 43, transport=xero.transport, clock=xero.clock)  # fmt: skip
    assert token.refresh_token and token.expires_at == xero.clock.now() + timedelta(seconds=1800)
    with pytest.raises(NeedsReconnectError):  # codes are single use
        exchange_code(provider="xero", token_url=xero.endpoints.token_url, client_id=XERO_CLIENT[0],
                      client_secret=XERO_CLIENT[1], code=code, redirect_uri="https://app.test/cb",
                      transport=xero.transport, clock=xero.clock)  # fmt: skip


def test_starter_tier_day_limit_from_our_own_budget(xero: XeroWorld, clock: ManualClock) -> None:
    budget = InMemoryRateBudget(clock, {"xero": RateLimits(per_minute=60, per_day=3, concurrent=5)})
    client = xero.client(budget=budget)
    for _ in range(3):
        client.connections()
    with pytest.raises(ThrottledError) as caught:
        client.connections()
    assert caught.value.retry_after is not None and caught.value.retry_after > 3600  # until UTC midnight
