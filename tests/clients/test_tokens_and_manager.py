"""Endpoints, the token model, the in-memory store, and TokenManager's rules with fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clio_xero.clients import (
    ClioEndpoints,
    InMemoryTokenStore,
    RefreshInProgressError,
    StaleTokenError,
    TokenManager,
    TokenSet,
    XeroEndpoints,
)
from clio_xero.clock import ManualClock
from clio_xero.errors import NeedsReconnectError, RetryableError, UpstreamUnavailableError


def test_clio_regions_and_paths() -> None:
    assert ClioEndpoints.for_region("US").api_url == "https://app.clio.com/api/v4"
    au = ClioEndpoints.for_region("au")
    assert au.token_url == "https://au.app.clio.com/oauth/token"
    assert au.authorize_url == "https://au.app.clio.com/oauth/authorize"
    assert au.deauthorize_url == "https://au.app.clio.com/oauth/deauthorize"
    assert ClioEndpoints.for_region("ca").base_url == "https://ca.app.clio.com"
    assert ClioEndpoints.for_region("eu").base_url == "https://eu.app.clio.com"
    with pytest.raises(ValueError, match="unknown Clio region"):
        ClioEndpoints.for_region("uk")
    assert ClioEndpoints("http://127.0.0.1:9/").api_url == "http://127.0.0.1:9/api/v4"


def test_xero_paths_real_and_sandbox() -> None:
    real = XeroEndpoints()
    assert real.accounting_url == "https://api.xero.com/api.xro/2.0"
    assert real.connections_url == "https://api.xero.com/connections"
    assert real.token_url == "https://identity.xero.com/connect/token"
    assert real.authorize_url == "https://login.xero.com/identity/connect/authorize"
    assert real.revocation_url == "https://identity.xero.com/connect/revocation"
    sb = XeroEndpoints.sandbox("http://127.0.0.1:8702/")
    assert sb.token_url == "http://127.0.0.1:8702/connect/token"
    assert sb.accounting_url == "http://127.0.0.1:8702/api.xro/2.0"
    assert sb.authorize_url == "http://127.0.0.1:8702/connect/authorize"


def test_token_values_never_show_in_repr_or_str() -> None:
    token = TokenSet(access_token="AT-secret", refresh_token="RT-secret", expires_at=datetime(2026, 1, 1, tzinfo=UTC))
    for text in (repr(token), str(token), f"{token}", repr([token])):
        assert "AT-secret" not in text and "RT-secret" not in text
    assert token.model_dump()["access_token"] == "AT-secret"  # serialisation (for the store) keeps them


def token(access: str, clock: ManualClock, seconds: int = 1800, refresh: str | None = "rt") -> TokenSet:
    return TokenSet(access_token=access, refresh_token=refresh, expires_at=clock.now() + timedelta(seconds=seconds))


def test_in_memory_store_is_conditional(clock: ManualClock) -> None:
    store = InMemoryTokenStore(clock)
    assert store.save("c", "xero", token("a", clock), expected_version=None) == 1
    with pytest.raises(StaleTokenError):
        store.save("c", "xero", token("b", clock), expected_version=None)
    with pytest.raises(StaleTokenError) as caught:
        store.save("c", "xero", token("b", clock), expected_version=7)
    assert isinstance(caught.value, RetryableError)
    assert store.save("c", "xero", token("b", clock), expected_version=1) == 2
    assert store.acquire_lease("c", "xero", "w1", clock.now() + timedelta(seconds=30))
    assert not store.acquire_lease("c", "xero", "w2", clock.now() + timedelta(seconds=30))
    clock.advance(31)
    assert store.acquire_lease("c", "xero", "w2", clock.now() + timedelta(seconds=30))  # w1's lease expired
    store.release_lease("c", "xero", "w1")  # not the holder: no effect
    assert not store.acquire_lease("c", "xero", "w3", clock.now() + timedelta(seconds=30))
    store.release_lease("c", "xero", "w2")
    assert store.acquire_lease("c", "xero", "w3", clock.now() + timedelta(seconds=30))
    assert not store.acquire_lease("nobody", "xero", "w", clock.now())


class FakeRefresher:
    def __init__(self, clock: ManualClock, *, rotate: bool = True, fail: Exception | None = None) -> None:
        self.clock = clock
        self.rotate = rotate
        self.fail = fail
        self.seen: list[str] = []

    def refresh(self, refresh_token: str) -> TokenSet:
        self.seen.append(refresh_token)
        if self.fail:
            raise self.fail
        n = len(self.seen)
        return token(f"at-{n}", self.clock, refresh=f"rt-{n}" if self.rotate else None)


def manager(store: InMemoryTokenStore, refresher: FakeRefresher, clock: ManualClock, **kw: object) -> TokenManager:
    return TokenManager(
        connection_id="c", provider="xero", store=store, refresher=refresher, clock=clock,
        wait=lambda s: None, **kw  # type: ignore[arg-type]
    )  # fmt: skip


def test_refresh_only_within_leeway_and_rotated_token_saved_first(clock: ManualClock) -> None:
    store = InMemoryTokenStore(clock)
    store.save("c", "xero", token("at-0", clock, refresh="rt-0"), expected_version=None)
    refresher = FakeRefresher(clock)
    tm = manager(store, refresher, clock)
    assert tm.access_token() == "at-0"
    clock.advance(1800 - 121)
    assert tm.access_token() == "at-0"
    clock.advance(2)  # now inside the 120 s leeway
    assert tm.access_token() == "at-1"
    stored = store.load("c", "xero")
    assert stored is not None and stored.token.refresh_token == "rt-1" and stored.version == 2
    assert stored.lease_owner is None  # released
    assert refresher.seen == ["rt-0"]


def test_clio_refresh_without_a_new_refresh_token_keeps_the_old_one(clock: ManualClock) -> None:
    store = InMemoryTokenStore(clock)
    store.save("c", "xero", token("at-0", clock, seconds=10, refresh="rt-keep"), expected_version=None)
    refresher = FakeRefresher(clock, rotate=False)
    assert manager(store, refresher, clock).access_token() == "at-1"
    stored = store.load("c", "xero")
    assert stored is not None and stored.token.refresh_token == "rt-keep"


def test_force_refresh_is_a_no_op_when_someone_already_refreshed(clock: ManualClock) -> None:
    store = InMemoryTokenStore(clock)
    store.save("c", "xero", token("at-0", clock), expected_version=None)
    refresher = FakeRefresher(clock)
    tm = manager(store, refresher, clock)
    assert tm.force_refresh("at-0") == "at-1"
    assert tm.force_refresh("at-0") == "at-1"  # a second worker with the same stale token
    assert refresher.seen == ["rt"]


def test_a_dead_lease_holder_is_taken_over_after_the_lease(clock: ManualClock) -> None:
    store = InMemoryTokenStore(clock)
    store.save("c", "xero", token("at-0", clock, seconds=0), expected_version=None)
    assert store.acquire_lease("c", "xero", "dead-worker", clock.now() + timedelta(seconds=30))
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(5)  # time passes while we wait; the dead worker never saves

    refresher = FakeRefresher(clock)
    tm = TokenManager(connection_id="c", provider="xero", store=store, refresher=refresher, clock=clock,
                      wait=wait, max_wait_seconds=60)  # fmt: skip
    assert tm.access_token() == "at-1"
    assert len(waits) == 6  # 30 s lease / 5 s per wait
    assert refresher.seen == ["rt"]


def test_waiting_is_bounded_and_retryable(clock: ManualClock) -> None:
    store = InMemoryTokenStore(clock)
    store.save("c", "xero", token("at-0", clock, seconds=0), expected_version=None)
    assert store.acquire_lease("c", "xero", "busy-worker", clock.now() + timedelta(seconds=30))
    waits: list[float] = []
    tm = TokenManager(connection_id="c", provider="xero", store=store, refresher=FakeRefresher(clock), clock=clock,
                      wait=waits.append, max_wait_seconds=2, poll_seconds=0.5)  # fmt: skip
    with pytest.raises(RefreshInProgressError) as caught:
        tm.access_token()
    assert waits == [0.5, 0.5, 0.5, 0.5]
    assert caught.value.retry_after == 30


def test_invalid_grant_calls_back_and_raises(clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    store = InMemoryTokenStore(clock)
    store.save("c", "xero", token("at-0", clock, seconds=0), expected_version=None)
    calls: list[tuple[str, str]] = []
    refresher = FakeRefresher(clock, fail=NeedsReconnectError("invalid_grant"))
    tm = manager(store, refresher, clock, on_reconnect_needed=lambda c, p: calls.append((c, p)))
    with pytest.raises(NeedsReconnectError) as caught:
        tm.access_token()
    assert caught.value.message == "Xero connection needs reconnecting: refresh token expired or revoked"
    assert calls == [("c", "xero")]
    assert "needs reconnecting" in caplog.text
    stored = store.load("c", "xero")
    assert stored is not None and stored.lease_owner is None  # lease released on failure


def test_a_failed_refresh_releases_the_lease_and_stays_retryable(clock: ManualClock) -> None:
    store = InMemoryTokenStore(clock)
    store.save("c", "xero", token("at-0", clock, seconds=0), expected_version=None)
    tm = manager(store, FakeRefresher(clock, fail=UpstreamUnavailableError("identity down")), clock)
    with pytest.raises(UpstreamUnavailableError):
        tm.access_token()
    stored = store.load("c", "xero")
    assert stored is not None and stored.lease_owner is None and stored.version == 1


def test_no_stored_token_means_reconnect(clock: ManualClock) -> None:
    with pytest.raises(NeedsReconnectError, match="no tokens are stored"):
        manager(InMemoryTokenStore(clock), FakeRefresher(clock), clock).access_token()


def test_tokens_shorter_than_the_leeway_are_not_refreshed_by_every_waiter(clock: ManualClock) -> None:
    store = InMemoryTokenStore(clock)
    store.save("c", "xero", token("at-0", clock, seconds=0), expected_version=None)

    class Short(FakeRefresher):
        def refresh(self, refresh_token: str) -> TokenSet:
            self.seen.append(refresh_token)
            return token(f"at-{len(self.seen)}", self.clock, seconds=60)  # shorter than the 120 s leeway

    refresher = Short(clock)
    first = manager(store, refresher, clock)
    stale = store.load("c", "xero")
    assert stale is not None
    # A second worker read the old version, then the first one refreshed.
    assert first.access_token() == "at-1"
    second = manager(store, refresher, clock)
    assert second._refresh(second._fresh, stale.version) == "at-1"
    assert refresher.seen == ["rt"]


def test_client_authentication_per_provider_and_pkce(clock: ManualClock) -> None:
    import base64
    import urllib.parse

    import httpx

    from clio_xero.clients import AuthlibRefresher, exchange_code

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"access_token": "a", "expires_in": 60, "token_type": "bearer"})

    transport = httpx.MockTransport(handler)
    for provider in ("xero", "clio"):
        AuthlibRefresher(provider=provider, token_url="https://id.test/token", client_id="cid", client_secret="sec",
                         transport=transport, clock=clock).refresh("rt-1")  # fmt: skip
    xero_req, clio_req = seen
    assert xero_req.headers["Authorization"] == "Basic " + base64.b64encode(b"cid:sec").decode()
    assert "client_secret" not in xero_req.content.decode()
    clio_form = dict(urllib.parse.parse_qsl(clio_req.content.decode()))
    assert "Authorization" not in clio_req.headers
    assert clio_form == {"grant_type": "refresh_token", "refresh_token": "rt-1", "client_id": "cid",
                         "client_secret": "sec"}  # fmt: skip
    got = exchange_code(provider="xero", token_url="https://id.test/token", client_id="cid", client_secret="sec",
                        code="c1", redirect_uri="https://app.test/cb", code_verifier="v" * 43,
                        transport=transport, clock=clock)  # fmt: skip
    form = dict(urllib.parse.parse_qsl(seen[-1].content.decode()))
    assert form["code_verifier"] == "v" * 43 and form["grant_type"] == "authorization_code"
    assert form["redirect_uri"] == "https://app.test/cb" and form["code"] == "c1"
    assert got.refresh_token is None and got.expires_at == clock.now() + timedelta(seconds=60)


def test_token_endpoint_outages_are_retryable(clock: ManualClock) -> None:
    import httpx

    from clio_xero.clients import AuthlibRefresher

    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="Bad gateway")

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    for handler in (down, slow):
        refresher = AuthlibRefresher(
            provider="xero",
            token_url="https://id.test/token",
            client_id="c",
            client_secret="s",
            transport=httpx.MockTransport(handler),
            clock=clock,
        )
        with pytest.raises(UpstreamUnavailableError):
            refresher.refresh("rt")
