"""Xero identity: OAuth 2.0 authorisation-code flow, rotating refresh tokens, ``/connections``.

Facts modelled (docs/facts-xero.md#oauth): 30-minute access tokens; every refresh returns a new refresh
token and the used one stays valid for a 30-minute grace (by the sandbox clock) so a lost response
can be retried, then answers ``invalid_grant``; refresh tokens die after 60 days unused; auth codes
live 5 minutes and are single use; ``/connections`` lists the orgs the user connected to this app,
filterable by ``authEventId``; ``DELETE /connections/{id}`` disconnects one org; revocation drops
every connection of the user for the app.

Access tokens are JWT-shaped like Xero's (clients read ``authentication_event_id`` from them); the
signature is an HMAC with a per-sandbox key, which nobody outside the sandbox can or should verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from clio_xero_tools.sandbox.xero.formats import new_guid

if TYPE_CHECKING:
    from clio_xero.clock import Clock

__all__ = ["ACCESS_TOKEN_TTL", "REFRESH_GRACE", "AccessGrant", "Connection", "Identity", "OAuthError"]

ACCESS_TOKEN_TTL = timedelta(minutes=30)
REFRESH_GRACE = timedelta(minutes=30)
REFRESH_IDLE_EXPIRY = timedelta(days=60)
AUTH_CODE_TTL = timedelta(minutes=5)
DEFAULT_USER = "sandbox-user"
# The two broad scopes Xero replaced with granular ones (docs/facts-xero.md#scopes): ``accounting.reports.read``
# is split per report (``accounting.reports.banksummary.read``, ...), like ``accounting.transactions``.
BROAD_SCOPES = frozenset({"accounting.transactions", "accounting.transactions.read", "accounting.reports.read"})


class OAuthError(Exception):
    """An OAuth endpoint answer other than success: ``status`` and RFC 6749 ``error`` code."""

    def __init__(self, status: int, error: str, description: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        out = {"error": self.error}
        if self.description:
            out["error_description"] = self.description
        return out


@dataclass
class Connection:
    id: str
    tenant_id: str
    tenant_name: str
    user_id: str
    auth_event_id: str
    created: datetime
    updated: datetime
    active: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "authEventId": self.auth_event_id,
            "tenantId": self.tenant_id,
            "tenantType": "ORGANISATION",
            "tenantName": self.tenant_name,
            # Xero's own format: seven fractional digits and no offset (UTC).
            "createdDateUtc": self.created.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0",
            "updatedDateUtc": self.updated.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0",
        }


@dataclass
class AccessGrant:
    """What a valid access token allows: the user and the auth event it came from."""

    token: str
    user_id: str
    auth_event_id: str
    scope: str
    expires: datetime
    revoked: bool = False


@dataclass
class _RefreshToken:
    token: str
    user_id: str
    auth_event_id: str
    scope: str
    last_used: datetime
    superseded_at: datetime | None = None
    revoked: bool = False


@dataclass
class _AuthCode:
    code: str
    user_id: str
    redirect_uri: str
    scope: str
    auth_event_id: str
    expires: datetime
    used: bool = False


@dataclass
class _Users:
    connections: dict[str, Connection] = field(default_factory=dict)


class Identity:
    """The identity service of one Xero app (one ``client_id``)."""

    def __init__(self, clock: Clock, client_id: str, client_secret: str) -> None:
        self.clock = clock
        self.client_id = client_id
        self.client_secret = client_secret
        self._jwt_key = secrets.token_bytes(32)
        self._lock = threading.RLock()
        self._codes: dict[str, _AuthCode] = {}
        self._access: dict[str, AccessGrant] = {}
        self._refresh: dict[str, _RefreshToken] = {}
        self._connections: dict[str, Connection] = {}
        self.access_token_ttl = ACCESS_TOKEN_TTL
        #: The app was created after 2 Mar 2026: the broad ``accounting.transactions`` scope fails.
        self.granular_only = True

    # ------------------------------------------------------------------ authorisation code flow

    def authorize(
        self, *, client_id: str, redirect_uri: str, scope: str, tenants: list[tuple[str, str]], user_id: str
    ) -> str:
        """Consent is auto-approved for ``tenants`` ([(tenantId, name)]); returns the auth code."""
        if client_id != self.client_id:
            raise OAuthError(400, "unauthorized_client", "Unknown client or client not enabled")
        if not redirect_uri:
            raise OAuthError(400, "invalid_request", "redirect_uri is required")
        scopes = scope.split()
        if not scopes:
            raise OAuthError(400, "invalid_scope", "scope is required")
        if self.granular_only and BROAD_SCOPES & set(scopes):
            # Apps created on/after 2 Mar 2026 get granular scopes only (docs/facts-xero.md#oauth).
            broad = " and ".join(sorted(BROAD_SCOPES & set(scopes)))
            raise OAuthError(400, "invalid_scope", f"{broad} is not available to this app")
        with self._lock:
            event = self.connect(user_id, tenants)
            code = secrets.token_urlsafe(24)
            self._codes[code] = _AuthCode(
                code, user_id, redirect_uri, " ".join(scopes), event, self.clock.now() + AUTH_CODE_TTL
            )
            return code

    def connect(self, user_id: str, tenants: list[tuple[str, str]]) -> str:
        """Connect (or reconnect) orgs for a user in one auth event; returns the authEventId."""
        now = self.clock.now()
        event = new_guid()
        with self._lock:
            for tenant_id, name in tenants:
                existing = self._active_connection(user_id, tenant_id)
                if existing:
                    # Reconnect: same connection, new auth event, updatedDateUtc moves (xero-identity.yaml).
                    existing.auth_event_id = event
                    existing.updated = now
                    existing.tenant_name = name
                else:
                    conn = Connection(new_guid(), tenant_id, name, user_id, event, now, now)
                    self._connections[conn.id] = conn
        return event

    def token(self, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
        """``POST /connect/token`` for ``authorization_code`` and ``refresh_token`` grants."""
        self._check_client(form, authorization)
        grant = form.get("grant_type", "")
        with self._lock:
            if grant == "authorization_code":
                return self._exchange_code(form)
            if grant == "refresh_token":
                return self._refresh_grant(form.get("refresh_token", ""))
        raise OAuthError(400, "unsupported_grant_type")

    def revoke(self, form: dict[str, str], authorization: str | None) -> None:
        """``POST /connect/revocation``: kill the grant and every connection of the user (§1)."""
        self._check_client(form, authorization)
        token = form.get("token", "")
        with self._lock:
            rt = self._refresh.get(token)
            if rt is None:
                return  # RFC 7009: unknown tokens are not an error
            self._revoke_user(rt.user_id)

    def issue(self, user_id: str, tenants: list[tuple[str, str]], scope: str) -> dict[str, Any]:
        """Test/admin shortcut: connect ``tenants`` and return a token response without a browser."""
        with self._lock:
            event = self.connect(user_id, tenants)
            return self._mint(user_id, event, scope)

    # ------------------------------------------------------------------ bearer checks

    def access(self, authorization: str | None) -> AccessGrant | str:
        """The grant behind a Bearer header, or the 401 ``Detail`` string explaining why not."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return "AuthenticationUnsuccessful"
        token = authorization[7:].strip()
        with self._lock:
            grant = self._access.get(token)
            if grant is None or grant.revoked:
                return "AuthenticationUnsuccessful"
            if self.clock.now() >= grant.expires:
                return f"TokenExpired: token expired at {grant.expires.strftime('%m/%d/%Y %H:%M:%S')}"
            return grant

    def connected_tenants(self, user_id: str) -> set[str]:
        with self._lock:
            return {c.tenant_id for c in self._connections.values() if c.user_id == user_id and c.active}

    def connections(self, user_id: str, auth_event_id: str | None = None) -> list[Connection]:
        with self._lock:
            return [
                c
                for c in self._connections.values()
                if c.user_id == user_id and c.active and (auth_event_id is None or c.auth_event_id == auth_event_id)
            ]

    def all_connections(self) -> list[Connection]:
        with self._lock:
            return [c for c in self._connections.values() if c.active]

    def delete_connection(self, user_id: str, connection_id: str) -> bool:
        with self._lock:
            conn = self._connections.get(connection_id)
            if conn is None or not conn.active or conn.user_id != user_id:
                return False
            conn.active = False
            return True

    def disconnect_tenant(self, tenant_id: str) -> int:
        """A user disconnects the app from inside Xero (admin surface); returns connections dropped."""
        with self._lock:
            hits = [c for c in self._connections.values() if c.tenant_id == tenant_id and c.active]
            for c in hits:
                c.active = False
            return len(hits)

    # ------------------------------------------------------------------ internals

    def _check_client(self, form: dict[str, str], authorization: str | None) -> None:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip()).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise OAuthError(401, "invalid_client") from None
            client_id, _, secret = decoded.partition(":")
        if client_id != self.client_id or not hmac.compare_digest(secret or "", self.client_secret):
            raise OAuthError(401, "invalid_client")

    def _exchange_code(self, form: dict[str, str]) -> dict[str, Any]:
        code = self._codes.get(form.get("code", ""))
        if code is None or code.used or self.clock.now() >= code.expires:
            raise OAuthError(400, "invalid_grant")
        if form.get("redirect_uri", "") != code.redirect_uri:
            raise OAuthError(400, "invalid_grant", "redirect_uri does not match")
        code.used = True
        return self._mint(code.user_id, code.auth_event_id, code.scope)

    def _refresh_grant(self, token: str) -> dict[str, Any]:
        now = self.clock.now()
        rt = self._refresh.get(token)
        if rt is None or rt.revoked:
            raise OAuthError(400, "invalid_grant")
        if rt.superseded_at is not None and now >= rt.superseded_at + REFRESH_GRACE:
            raise OAuthError(400, "invalid_grant")
        if now >= rt.last_used + REFRESH_IDLE_EXPIRY:
            raise OAuthError(400, "invalid_grant")
        if rt.superseded_at is None:
            rt.superseded_at = now  # the grace period runs from the first rotation
        rt.last_used = now
        return self._mint(rt.user_id, rt.auth_event_id, rt.scope)

    def _mint(self, user_id: str, auth_event_id: str, scope: str) -> dict[str, Any]:
        now = self.clock.now()
        expires = now + self.access_token_ttl
        access = self._jwt(
            {
                "nbf": int(now.timestamp()),
                "exp": int(expires.timestamp()),
                "iss": "https://identity.xero.com",
                "aud": "https://identity.xero.com/resources",
                "client_id": self.client_id,
                "sub": user_id,
                "auth_time": int(now.timestamp()),
                "xero_userid": user_id,
                "global_session_id": auth_event_id,
                "jti": secrets.token_hex(16),
                "authentication_event_id": auth_event_id,
                "scope": scope.split(),
            }
        )
        refresh = secrets.token_urlsafe(32)
        self._access[access] = AccessGrant(access, user_id, auth_event_id, scope, expires)
        self._refresh[refresh] = _RefreshToken(refresh, user_id, auth_event_id, scope, now)
        return {
            "id_token": self._jwt({"sub": user_id, "iat": int(now.timestamp()), "aud": self.client_id}),
            "access_token": access,
            "expires_in": int(self.access_token_ttl.total_seconds()),
            "token_type": "Bearer",
            "refresh_token": refresh,
            "scope": scope,
        }

    def _jwt(self, claims: dict[str, Any]) -> str:
        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

        head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = b64(json.dumps(claims, separators=(",", ":")).encode())
        sig = hmac.new(self._jwt_key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{b64(sig)}"

    def _active_connection(self, user_id: str, tenant_id: str) -> Connection | None:
        for c in self._connections.values():
            if c.user_id == user_id and c.tenant_id == tenant_id and c.active:
                return c
        return None

    def _revoke_user(self, user_id: str) -> None:
        for rt in self._refresh.values():
            if rt.user_id == user_id:
                rt.revoked = True
        for at in self._access.values():
            if at.user_id == user_id:
                at.revoked = True
        for c in self._connections.values():
            if c.user_id == user_id:
                c.active = False
