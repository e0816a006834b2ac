"""The Connect function's logic: signed link → provider consent → callback → tokens stored.

Routes (all GET, served by ``ConnectFunction``)::

    /connect/clio?link=...            /connect/xero?link=...          start OAuth (valid link only)
    /connect/clio/callback            /connect/xero/callback          finish it (valid state only)
    /connect/xero/tenant?state=...&tenant=...                         pick one of several Xero orgs

A forged, expired or reused link is answered 403 with a page saying which. A callback needs a
live, unused ``state`` made by the same browser. Tokens are stored encrypted (``DynamoTokenStore``);
a reconnect overwrites them conditionally on the stored version. The connection becomes
``active`` once both sides have tokens and a Xero organisation is chosen.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import httpx

from clio_xero.clients.endpoints import ClioEndpoints, XeroEndpoints
from clio_xero.clients.oauth import exchange_code
from clio_xero.clients.tokens import StaleTokenError, TokenSet, TokenStore
from clio_xero.clock import Clock
from clio_xero.connect import pages
from clio_xero.connect.links import LinkRefusal, LinkRefused, verify_link
from clio_xero.connect.providers import (
    XERO_SCOPES,
    XeroIdentity,
    XeroTenant,
    authorize_url,
    clio_who_am_i,
    xero_auth_event_id,
)
from clio_xero.connect.state import (
    BROWSER_COOKIE,
    STATE_TTL,
    OAuthState,
    TenantChoice,
    browser_hash,
    browser_matches,
    new_browser_secret,
    new_pkce_verifier,
    new_state_id,
    pkce_challenge,
)
from clio_xero.connect.store import ConnectStore
from clio_xero.errors import NeedsReconnectError, SyncError
from clio_xero.intake.http import HttpRequest, HttpResponse
from clio_xero.observe import Counter, Log
from clio_xero.store.connections import Connection, ConnectionStatus

Provider = Literal["clio", "xero"]
NAMES = {"clio": "Clio", "xero": "Xero"}


class Connections(Protocol):
    def get(self, connection_id: str) -> Connection | None: ...

    def update_fields(self, connection_id: str, values: dict[str, object]) -> None: ...


class Credentials(Protocol):
    def get(self, provider: str) -> tuple[str, str]: ...


@dataclass(frozen=True)
class ProviderEndpoints:
    """Where each provider lives for this stack (``ClioBaseUrl`` empty: the connection's region)."""

    clio_base_url: str
    xero: XeroEndpoints

    def clio(self, connection: Connection) -> ClioEndpoints:
        if self.clio_base_url:
            return ClioEndpoints(self.clio_base_url)
        return ClioEndpoints.for_region(connection.clio_region.value)


def cookie_of(request: HttpRequest, name: str) -> str | None:
    for part in (request.header("cookie") or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


class ConnectFlow:
    def __init__(
        self,
        *,
        connections: Connections,
        tokens: TokenStore,
        store: ConnectStore,
        link_key: Callable[[], bytes],
        credentials: Credentials,
        endpoints: ProviderEndpoints,
        clock: Clock,
        log: Log,
        count: Counter,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._connections = connections
        self._tokens = tokens
        self._store = store
        self._link_key = link_key
        self._credentials = credentials
        self._endpoints = endpoints
        self._clock = clock
        self._log = log
        self._count = count
        self._transport = transport

    def handle(self, request: HttpRequest, base_url: str) -> HttpResponse:
        path = request.path.rstrip("/")
        self._count("ConnectRequests")
        try:
            if path in ("/connect/clio", "/connect/xero"):
                return self.start(request, path.rsplit("/", 1)[1], base_url)  # type: ignore[arg-type]
            if path in ("/connect/clio/callback", "/connect/xero/callback"):
                return self.callback(request, path.split("/")[2])  # type: ignore[arg-type]
            if path == "/connect/xero/tenant":
                return self.choose_tenant(request)
        except SyncError as exc:
            # Upstream or configuration trouble: say what failed, never a token or secret.
            self._log.error("connect step failed", extra={"reason": exc.message, "path": path})
            self._count("ConnectFailures")
            return pages.page(
                502, "Connecting failed", [exc.message, "Nothing was changed. Try again with a new link."]
            )
        return pages.page(404, "Not found", ["There is nothing here."])

    # ------------------------------------------------------------------ start

    def start(self, request: HttpRequest, provider: Provider, base_url: str) -> HttpResponse:
        now = self._clock.now()
        try:
            link = verify_link(self._link_key(), request.query.get("link"), provider=provider, now=now)
        except LinkRefused as refused:
            self._log.warning("connect link refused", extra={"reason": refused.reason.value, "provider": provider})
            self._count("ConnectLinksRefused")
            return pages.refused(refused.explanation)
        connection = self._connections.get(link.connection_id)
        if connection is None:
            return pages.refused("The connection this link was made for no longer exists.")
        if not self._store.use_link(link, now):
            self._count("ConnectLinksRefused")
            return pages.refused(LinkRefused(LinkRefusal.USED).explanation)
        client_id, _ = self._credentials.get(provider)
        browser = new_browser_secret()
        verifier = new_pkce_verifier() if provider == "xero" else None  # Clio documents no PKCE
        state = OAuthState(
            state_id=new_state_id(),
            connection_id=connection.connection_id,
            provider=provider,
            redirect_uri=f"{base_url}/connect/{provider}/callback",
            code_verifier=verifier,
            browser_hash=browser_hash(browser),
            expires=int((now + STATE_TTL).timestamp()),
        )
        self._store.put_state(state)
        base = (
            self._endpoints.clio(connection).authorize_url if provider == "clio" else self._endpoints.xero.authorize_url
        )
        location = authorize_url(
            base,
            client_id=client_id,
            redirect_uri=state.redirect_uri,
            state=state.state_id,
            scope=XERO_SCOPES if provider == "xero" else None,
            code_challenge=pkce_challenge(verifier) if verifier else None,
        )
        self._log.info("connect started", extra={"connection_id": connection.connection_id, "provider": provider})
        return pages.redirect(location, cookies={"set-cookie": self._cookie(browser, base_url)})

    @staticmethod
    def _cookie(value: str, base_url: str) -> str:
        secure = "; Secure" if base_url.startswith("https://") else ""
        max_age = int(STATE_TTL.total_seconds())
        # SameSite=Lax: the provider's redirect back is a top-level GET, which Lax allows.
        return f"{BROWSER_COOKIE}={value}; Path=/connect; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"

    # ------------------------------------------------------------------ callback

    def _take(
        self, request: HttpRequest, state_id: str | None, provider: Provider, kind: str
    ) -> OAuthState | HttpResponse:
        state = self._store.take_state(state_id or "", self._clock.now())
        if state is None or state.provider != provider or state.kind != kind:
            self._count("ConnectStatesRefused")
            return pages.page(
                400,
                "This sign-in cannot be completed",
                ["It has expired, was already completed, or did not start here. Start again with a new connect link."],
            )
        if not browser_matches(state.browser_hash, cookie_of(request, BROWSER_COOKIE)):
            self._count("ConnectStatesRefused")
            return pages.page(
                403,
                "This sign-in cannot be completed",
                ["It was started in a different browser. Open the connect link in this browser and try again."],
            )
        return state

    def callback(self, request: HttpRequest, provider: Provider) -> HttpResponse:
        state = self._take(request, request.query.get("state"), provider, "authorize")
        if isinstance(state, HttpResponse):
            return state
        if request.query.get("error"):
            error = request.query.get("error_description") or request.query["error"]
            return pages.page(
                400,
                f"{NAMES[provider]} did not connect",
                [f"{NAMES[provider]} answered: {error}", "Nothing was stored."],
            )
        connection = self._connections.get(state.connection_id)
        if connection is None:
            return pages.refused("The connection this sign-in was for no longer exists.")
        client_id, client_secret = self._credentials.get(provider)
        token_url = self._endpoints.clio(connection).token_url if provider == "clio" else self._endpoints.xero.token_url
        token = exchange_code(
            provider=provider,
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            code=request.query.get("code", ""),
            redirect_uri=state.redirect_uri,
            code_verifier=state.code_verifier,
            transport=self._transport,
            clock=self._clock,
        )
        if provider == "clio":
            return self._clio_connected(connection, token)
        return self._xero_connected(request, connection, token, state)

    def _clio_connected(self, connection: Connection, token: TokenSet) -> HttpResponse:
        user = clio_who_am_i(self._endpoints.clio(connection), token.access_token, self._transport)
        if connection.clio_user_id is not None and connection.clio_user_id != user.id:
            self._log.warning("Clio reconnected by another user", extra={"connection_id": connection.connection_id})
        self._save_tokens(connection.connection_id, "clio", token)
        self._connections.update_fields(
            connection.connection_id, {"clio_user_id": user.id, "clio_user_name": user.name}
        )
        return self._done(connection.connection_id, "clio", [f"Clio is connected as {user.name} (user {user.id})."])

    def _xero_connected(
        self, request: HttpRequest, connection: Connection, token: TokenSet, state: OAuthState
    ) -> HttpResponse:
        identity = XeroIdentity(self._endpoints.xero, self._transport)
        event = xero_auth_event_id(token.access_token)
        tenants = identity.tenants(token.access_token, event)
        if not tenants and event is None:
            tenants = identity.tenants(token.access_token)
        if connection.xero_tenant_id:
            # A reconnect: the connection's mappings belong to its organisation; keep it.
            same = [t for t in tenants if t.tenant_id.lower() == connection.xero_tenant_id.lower()]
            if not same:
                return pages.page(
                    409,
                    "A different Xero organisation was connected",
                    [
                        f"This connection syncs with {connection.xero_tenant_name or connection.xero_tenant_id}. "
                        "Start again and tick that organisation on Xero's consent screen.",
                        "Nothing was stored.",
                    ],
                )
            tenants = same
        if not tenants:
            return pages.page(400, "No Xero organisation was connected", ["Start again and tick an organisation."])
        self._save_tokens(connection.connection_id, "xero", token)
        if len(tenants) == 1:
            return self._use_tenant(connection.connection_id, tenants[0])
        return self._tenant_choice(request, connection, tenants, state)

    def _tenant_choice(
        self, request: HttpRequest, connection: Connection, tenants: list[XeroTenant], previous: OAuthState
    ) -> HttpResponse:
        choice = OAuthState(
            state_id=new_state_id(),
            kind="tenant",
            connection_id=connection.connection_id,
            provider="xero",
            browser_hash=previous.browser_hash,
            expires=int((self._clock.now() + STATE_TTL).timestamp()),
            choices=[
                TenantChoice(tenant_id=t.tenant_id, tenant_name=t.tenant_name, xero_connection_id=t.connection_id)
                for t in tenants
            ],
        )
        self._store.put_state(choice)
        links = [
            (
                t.tenant_name or t.tenant_id,
                "/connect/xero/tenant?" + urllib.parse.urlencode({"state": choice.state_id, "tenant": t.tenant_id}),
            )
            for t in tenants
        ]
        return pages.page(
            200,
            "Choose the Xero organisation",
            [f"You connected {len(tenants)} organisations. Which one should this connection sync with?"],
            links=links,
        )

    def choose_tenant(self, request: HttpRequest) -> HttpResponse:
        state = self._take(request, request.query.get("state"), "xero", "tenant")
        if isinstance(state, HttpResponse):
            return state
        wanted = request.query.get("tenant", "")
        chosen = next((c for c in state.choices if c.tenant_id == wanted), None)
        if chosen is None:
            return pages.page(400, "Unknown organisation", ["That organisation was not offered. Start again."])
        tenant = XeroTenant(chosen.xero_connection_id, chosen.tenant_id, chosen.tenant_name, "ORGANISATION")
        return self._use_tenant(state.connection_id, tenant)

    def _use_tenant(self, connection_id: str, tenant: XeroTenant) -> HttpResponse:
        self._connections.update_fields(
            connection_id,
            {
                "xero_tenant_id": tenant.tenant_id,
                "xero_tenant_name": tenant.tenant_name,
                "xero_connection_id": tenant.connection_id,
            },
        )
        return self._done(connection_id, "xero", [f"Xero is connected to {tenant.tenant_name or tenant.tenant_id}."])

    # ------------------------------------------------------------------ shared

    def _save_tokens(self, connection_id: str, provider: Provider, token: TokenSet) -> None:
        for _ in range(3):
            try:
                stored = self._tokens.load(connection_id, provider)
            except NeedsReconnectError:
                stored = None  # unreadable (altered) tokens: a reconnect replaces them below
            try:
                self._tokens.save(connection_id, provider, token, expected_version=stored.version if stored else None)
                return
            except StaleTokenError:
                continue  # a worker refreshed the old grant meanwhile: ours is newer, save over it
        raise StaleTokenError(f"{NAMES[provider]} tokens for {connection_id} keep changing; try again")

    def _done(self, connection_id: str, provider: Provider, lines: list[str]) -> HttpResponse:
        connection = self._connections.get(connection_id)
        assert connection is not None
        other: Provider = "xero" if provider == "clio" else "clio"
        other_ready = self._has_tokens(connection_id, other) and (other == "clio" or bool(connection.xero_tenant_id))
        ready = other_ready and (provider == "clio" or bool(connection.xero_tenant_id))
        other_broken = connection.status is ConnectionStatus.NEEDS_RECONNECT and (
            connection.status_reason or ""
        ).startswith(other)
        if ready and not other_broken:
            self._connections.update_fields(connection_id, {"status": ConnectionStatus.ACTIVE, "status_reason": None})
            lines.append("Both sides are connected: the connection is active.")
            lines.append("Next: run `clio-xero webhooks register` so Clio tells us about changes.")
        if not ready or other_broken:
            lines.append(f"Next: connect {NAMES[other]} with its own connect link.")
        self._count("Connected")
        self._log.info("provider connected", extra={"connection_id": connection_id, "provider": provider})
        return pages.page(200, f"{NAMES[provider]} connected", lines)

    def _has_tokens(self, connection_id: str, provider: Provider) -> bool:
        try:
            return self._tokens.load(connection_id, provider) is not None
        except NeedsReconnectError:
            return False
