"""Access tokens for API clients, with refresh serialised per connection across all workers.

Why: Xero rotates the refresh token on every use and the used one dies 30 minutes later
(docs/facts-xero.md#oauth, #pitfalls). Two workers refreshing with the same token both succeed at first, but the
one whose rotated token is not stored loses the connection half an hour later. So:

1. read the stored token; if it is not within ``leeway_seconds`` of expiry, use it;
2. otherwise take the per-connection **lease** (a conditional write in the token store);
3. the lease holder re-reads (someone may have refreshed in between), calls the token endpoint
   once, **saves the rotated tokens conditionally on the version it read**, releases the lease, and
   only then hands out the new access token;
4. everyone else waits (through the injected ``wait``, bounded by ``max_wait_seconds``) and re-reads
   until the stored token is fresh; if a lease holder dies its lease expires after ``lease_seconds``
   and the next reader takes over. A waiter that runs out of patience raises a retryable
   :class:`RefreshInProgressError` (the record goes back to the queue; no Lambda time is burnt).

A refresh answered ``invalid_grant`` means the grant is dead: ``on_reconnect_needed`` is called and
:class:`~clio_xero.errors.NeedsReconnectError` raised with a message a person can act on.

**Reading less** (docs/cost.md#the-token-item): with ``recheck_seconds`` > 0 the manager keeps the
token it last read for that long (on the injected clock) and hands out its access token without
reading the item again, as long as it is not within the leeway of its expiry. Neither provider
says a refresh elsewhere revokes the access token we hold (nor that it does not); if a provider
answers 401, :meth:`TokenManager.force_refresh` always re-reads the item (and finds the rotated
token), and every refresh re-reads under the lease and saves conditionally on the version, exactly
as without the cache.
"""

from __future__ import annotations

import logging
import time
import uuid
import warnings
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal, NoReturn, Protocol

import httpx

from clio_xero.clients.tls import tls_context
from clio_xero.clients.tokens import PROVIDER_NAMES, Provider, StaleTokenError, StoredToken, TokenSet, TokenStore
from clio_xero.clock import Clock, SystemClock
from clio_xero.errors import (
    ConfigurationError,
    NeedsReconnectError,
    RefreshInProgressError,
    ThrottledError,
    UpstreamUnavailableError,
)

__all__ = [
    "AccessTokenSource",
    "AuthlibRefresher",
    "RefreshInProgressError",
    "Refresher",
    "StaticTokenSource",
    "TokenManager",
    "exchange_code",
    "reconnect_message",
    "token_set_from_response",
]

with warnings.catch_warnings():
    # authlib >= 1.7 warns at import that it prefers the "httpx2" distribution and falls back to
    # httpx, which is what we use (and what the rest of the stack is tested with). Its own
    # ``authlib.deprecate`` installs an "always" filter on import, so load that first.
    import authlib.deprecate  # type: ignore[import-untyped]  # noqa: F401

    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.base_client.errors import OAuthError  # type: ignore[import-untyped]
    from authlib.integrations.httpx_client import OAuth2Client  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

AuthMethod = Literal["client_secret_basic", "client_secret_post"]
#: Xero authenticates the client with HTTP Basic; Clio takes id and secret in the form.
DEFAULT_AUTH_METHOD: dict[str, AuthMethod] = {"xero": "client_secret_basic", "clio": "client_secret_post"}


class AccessTokenSource(Protocol):
    """What API clients need from token handling."""

    def access_token(self) -> str: ...

    def force_refresh(self, stale_access_token: str) -> str: ...


class Refresher(Protocol):
    def refresh(self, refresh_token: str) -> TokenSet: ...


def reconnect_message(provider: str, why: str = "refresh token expired or revoked") -> str:
    return f"{PROVIDER_NAMES.get(provider, provider)} connection needs reconnecting: {why}"


class StaticTokenSource:
    """A fixed access token (scripts, tests); a 401 cannot be fixed by refreshing it."""

    def __init__(self, token: str, provider: str = "xero") -> None:
        self._token = token
        self._provider = provider

    def access_token(self) -> str:
        return self._token

    def force_refresh(self, stale_access_token: str) -> str:
        raise NeedsReconnectError(reconnect_message(self._provider, "the access token was rejected"))


class TokenManager:
    """One per (connection, provider): hands out access tokens, refreshing them serially."""

    def __init__(
        self,
        *,
        connection_id: str,
        provider: Provider,
        store: TokenStore,
        refresher: Refresher,
        clock: Clock,
        on_reconnect_needed: Callable[[str, str], None] | None = None,
        leeway_seconds: int = 120,
        lease_seconds: int = 30,
        wait: Callable[[float], None] = time.sleep,
        max_wait_seconds: float = 10,
        poll_seconds: float = 0.25,
        recheck_seconds: float = 0,
    ) -> None:
        self.connection_id = connection_id
        self.provider: Provider = provider
        self._store = store
        self._refresher = refresher
        self._clock = clock
        self._on_reconnect_needed = on_reconnect_needed
        self._leeway = leeway_seconds
        self._lease = lease_seconds
        self._wait = wait
        self._max_wait = max_wait_seconds
        self._poll = poll_seconds
        self._owner_prefix = uuid.uuid4().hex[:12]
        self._recheck = recheck_seconds
        # The token last read from the store and when (our clock): reused for ``recheck_seconds``.
        self._known: tuple[StoredToken, datetime] | None = None
        #: Refresh calls this manager made (tests and benchmarks read it).
        self.refreshes = 0

    def access_token(self) -> str:
        """A usable access token, refreshed first when it expires within the leeway."""
        known = self._known
        if known is not None and self._fresh(known[0]) and self._age(known[1]) < self._recheck:
            return known[0].token.access_token
        stored = self._load()
        if self._fresh(stored):
            return stored.token.access_token
        return self._refresh(self._fresh, stored.version)

    def force_refresh(self, stale_access_token: str) -> str:
        """After a 401 with ``stale_access_token``: refresh, unless someone already replaced it."""
        stored = self._load()
        if stored.token.access_token != stale_access_token and self._fresh(stored):
            return stored.token.access_token
        return self._refresh(lambda s: s.token.access_token != stale_access_token and self._fresh(s), stored.version)

    # ------------------------------------------------------------------ internals

    def _load(self) -> StoredToken:
        stored = self._store.load(self.connection_id, self.provider)
        if stored is None:
            self._known = None
            raise NeedsReconnectError(reconnect_message(self.provider, "no tokens are stored for this connection"))
        self._known = (stored, self._clock.now())
        return stored

    def _age(self, read_at: datetime) -> float:
        return (self._clock.now() - read_at).total_seconds()

    def _fresh(self, stored: StoredToken) -> bool:
        return not stored.token.expires_within(self._clock.now(), self._leeway)

    def _refresh(self, wanted: Callable[[StoredToken], bool], seen_version: int) -> str:
        def done(stored: StoredToken) -> bool:
            # Someone else saved a new, unexpired token since we looked: use it even if it is
            # already inside the leeway (a provider issuing tokens shorter than the leeway must
            # not make every worker refresh in turn).
            replaced = stored.version != seen_version and stored.token.expires_at > self._clock.now()
            return wanted(stored) or replaced

        waited = 0.0
        while True:
            owner = f"{self._owner_prefix}:{uuid.uuid4().hex[:12]}"
            until = self._clock.now() + timedelta(seconds=self._lease)
            if self._store.acquire_lease(self.connection_id, self.provider, owner, until):
                try:
                    return self._refresh_holding_lease(done)
                finally:
                    self._store.release_lease(self.connection_id, self.provider, owner)
            if waited >= self._max_wait:
                stored = self._load()
                left = (stored.lease_until - self._clock.now()).total_seconds() if stored.lease_until else 1.0
                raise RefreshInProgressError(
                    f"{PROVIDER_NAMES[self.provider]} token refresh for {self.connection_id} is in progress elsewhere",
                    retry_after=max(1.0, left),
                )
            self._wait(self._poll)
            waited += self._poll
            stored = self._load()
            if done(stored):
                return stored.token.access_token

    def _refresh_holding_lease(self, done: Callable[[StoredToken], bool]) -> str:
        current = self._load()  # re-read under the lease: the previous holder may have just saved
        if done(current):
            return current.token.access_token
        refresh_token = current.token.refresh_token
        if not refresh_token:
            self._reconnect_needed("no refresh token is stored")
        try:
            new = self._refresher.refresh(refresh_token)
        except NeedsReconnectError:
            self._reconnect_needed("refresh token expired or revoked")
        self.refreshes += 1
        if new.refresh_token is None:
            # Clio Manage does not rotate refresh tokens (docs/facts-clio.md#oauth): keep the one we have.
            new = new.model_copy(update={"refresh_token": refresh_token})
        try:
            # Persist the (rotated) refresh token before anyone uses the new access token.
            version = self._store.save(self.connection_id, self.provider, new, expected_version=current.version)
        except StaleTokenError:
            # Our lease expired and another worker refreshed and saved meanwhile: theirs is stored.
            latest = self._load()
            if done(latest):
                return latest.token.access_token
            raise
        self._known = (StoredToken(token=new, version=version), self._clock.now())
        return new.access_token

    def _reconnect_needed(self, why: str) -> NoReturn:
        message = reconnect_message(self.provider, why)
        log.error("%s (connection %s)", message, self.connection_id)
        if self._on_reconnect_needed is not None:
            self._on_reconnect_needed(self.connection_id, self.provider)
        raise NeedsReconnectError(message)


# ---------------------------------------------------------------------------- authlib


def token_set_from_response(data: dict[str, Any], clock: Clock, previous_refresh_token: str | None = None) -> TokenSet:
    """A token endpoint's JSON → :class:`TokenSet` with ``expires_at`` on *our* clock.

    authlib computes ``expires_at`` from the wall clock; tests and sandboxes run on injected
    clocks, so ``expires_in`` is what counts."""
    try:
        expires_in = float(data["expires_in"])
        access = str(data["access_token"])
    except (KeyError, TypeError, ValueError):
        raise UpstreamUnavailableError("token endpoint answered without access_token/expires_in") from None
    refresh = data.get("refresh_token") or previous_refresh_token
    return TokenSet(
        access_token=access,
        refresh_token=str(refresh) if refresh else None,
        expires_at=clock.now() + timedelta(seconds=expires_in),
        scope=str(data["scope"]) if data.get("scope") else None,
    )


def _translate_oauth(provider: str, exc: Exception) -> Exception:
    if isinstance(exc, OAuthError):
        error = str(exc.error or "")
        if error == "invalid_grant":
            return NeedsReconnectError(reconnect_message(provider))
        if error in ("invalid_client", "unauthorized_client"):
            return ConfigurationError(
                f"{PROVIDER_NAMES.get(provider, provider)} rejected our OAuth client credentials ({error})"
            )
        return UpstreamUnavailableError(f"{PROVIDER_NAMES.get(provider, provider)} token endpoint: {error}")
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        if status == 429:
            return ThrottledError("token endpoint rate limited", retry_after=_retry_after(exc.response))
        return UpstreamUnavailableError(f"{PROVIDER_NAMES.get(provider, provider)} token endpoint answered {status}")
    if isinstance(exc, httpx.HTTPError | ValueError):
        return UpstreamUnavailableError(
            f"{PROVIDER_NAMES.get(provider, provider)} token endpoint unreachable: {type(exc).__name__}"
        )
    return exc


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


class _OAuthApp:
    """Shared construction of an authlib client for one provider app."""

    def __init__(
        self,
        *,
        provider: Provider,
        token_url: str,
        client_id: str,
        client_secret: str,
        transport: httpx.BaseTransport | None,
        timeout: float,
        clock: Clock | None,
        auth_method: AuthMethod | None,
    ) -> None:
        self.provider: Provider = provider
        self.token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._transport = transport
        self._timeout = timeout
        self.clock: Clock = clock or SystemClock()
        self.auth_method: AuthMethod = auth_method or DEFAULT_AUTH_METHOD[provider]

    def client(self, **kwargs: Any) -> OAuth2Client:
        return OAuth2Client(
            client_id=self._client_id,
            client_secret=self._client_secret,
            token_endpoint_auth_method=self.auth_method,
            transport=self._transport,
            timeout=self._timeout,
            verify=tls_context(),
            **kwargs,
        )


class AuthlibRefresher(_OAuthApp):
    """:class:`Refresher` over authlib's httpx ``OAuth2Client`` (transport injectable)."""

    def __init__(
        self,
        *,
        provider: Provider,
        token_url: str,
        client_id: str,
        client_secret: str,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        clock: Clock | None = None,
        auth_method: AuthMethod | None = None,
    ) -> None:
        super().__init__(
            provider=provider,
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            transport=transport,
            timeout=timeout,
            clock=clock,
            auth_method=auth_method,
        )

    def refresh(self, refresh_token: str) -> TokenSet:
        with self.client() as client:
            try:
                data = client.refresh_token(self.token_url, refresh_token=refresh_token)
            except Exception as exc:  # authlib raises OAuthError, httpx errors or ValueError
                translated = _translate_oauth(self.provider, exc)
                if translated is exc:
                    raise
                raise translated from None  # never chain: authlib errors can echo request bodies
        return token_set_from_response(dict(data), self.clock, previous_refresh_token=refresh_token)


def exchange_code(
    *,
    provider: Provider,
    token_url: str,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    code_verifier: str | None = None,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 10.0,
    clock: Clock | None = None,
    auth_method: AuthMethod | None = None,
) -> TokenSet:
    """Authorization-code exchange (the connect flow); PKCE via ``code_verifier``."""
    app = _OAuthApp(
        provider=provider,
        token_url=token_url,
        client_id=client_id,
        client_secret=client_secret,
        transport=transport,
        timeout=timeout,
        clock=clock,
        auth_method=auth_method,
    )
    extra: dict[str, str] = {"code_verifier": code_verifier} if code_verifier else {}
    with app.client(redirect_uri=redirect_uri) as client:
        try:
            data = client.fetch_token(
                token_url, grant_type="authorization_code", code=code, redirect_uri=redirect_uri, **extra
            )
        except Exception as exc:
            translated = _translate_oauth(provider, exc)
            if translated is exc:
                raise
            raise translated from None
    return token_set_from_response(dict(data), app.clock)
