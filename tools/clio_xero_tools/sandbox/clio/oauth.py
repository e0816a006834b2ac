"""OAuth 2.0 authorization-code flow as Clio Manage runs it (docs/facts-clio.md#oauth).

* ``/oauth/authorize`` auto-approves (or shows a one-click page with ``prompt=consent``) and
  redirects to ``redirect_uri`` with ``code`` and ``state``;
* ``/oauth/token`` (form-encoded) exchanges a code or a refresh token;
* refresh tokens never expire and are **not rotated**; the refresh response carries no new
  ``refresh_token`` (UNCONFIRMED: Clio's own step-2 text is not retrievable; clients must keep
  the one they have, and store a new one if it ever appears);
* an expired, revoked or unknown access token answers 401 ``invalid_token``.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from clio_xero.clock import Clock

CODE_TTL = timedelta(minutes=10)  # UNCONFIRMED: Clio does not publish the code lifetime
INVALID_TOKEN_DESCRIPTION = "The access token provided is expired, revoked, malformed or invalid for other reasons."


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class Grant:
    """One user's authorisation of the app: a refresh token and the access tokens it minted."""

    id: int
    user_id: int
    refresh_token: str
    revoked: bool = False


@dataclass
class AccessToken:
    token: str
    grant_id: int
    user_id: int
    expires_at: datetime


@dataclass
class _Code:
    user_id: int
    redirect_uri: str
    expires_at: datetime
    used: bool = False


@dataclass
class OAuthServer:
    clock: Clock
    client_id: str
    client_secret: str
    access_token_ttl: int
    redirect_uris: set[str] = field(default_factory=set)  # empty: any redirect_uri is accepted
    _codes: dict[str, _Code] = field(default_factory=dict)
    _grants: dict[int, Grant] = field(default_factory=dict)
    _tokens: dict[str, AccessToken] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- authorize ---------------------------------------------------------------------------------
    def authorize(
        self, *, client_id: str | None, redirect_uri: str | None, response_type: str | None, user_id: int
    ) -> str:
        """Validate the request and mint a one-time code."""
        if client_id != self.client_id:
            raise OAuthError(400, "invalid_client", "Unknown client_id")
        if response_type != "code":
            raise OAuthError(400, "unsupported_response_type", "response_type must be 'code'")
        if not redirect_uri or (self.redirect_uris and redirect_uri not in self.redirect_uris):
            raise OAuthError(400, "invalid_request", "redirect_uri does not match the application's")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(user_id, redirect_uri, self.clock.now() + CODE_TTL)
        return code

    # -- token -------------------------------------------------------------------------------------
    def _check_client(self, client_id: str | None, client_secret: str | None) -> None:
        if (
            client_id != self.client_id
            or client_secret is None
            or not secrets.compare_digest(client_secret, self.client_secret)
        ):
            raise OAuthError(401, "invalid_client", "Client authentication failed")

    def token(self, form: dict[str, str]) -> dict[str, object]:
        self._check_client(form.get("client_id"), form.get("client_secret"))
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(form.get("code"), form.get("redirect_uri"))
        if grant_type == "refresh_token":
            return self._refresh(form.get("refresh_token"))
        raise OAuthError(400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported")

    def _exchange_code(self, code: str | None, redirect_uri: str | None) -> dict[str, object]:
        with self._lock:
            entry = self._codes.get(code or "")
            if entry is None or entry.used or entry.expires_at <= self.clock.now():
                raise OAuthError(400, "invalid_grant", "The authorization code is invalid, expired or used")
            if redirect_uri != entry.redirect_uri:
                raise OAuthError(400, "invalid_grant", "redirect_uri does not match the authorization request")
            entry.used = True
            grant = Grant(len(self._grants) + 1, entry.user_id, secrets.token_urlsafe(32))
            self._grants[grant.id] = grant
            access = self._mint(grant)
        return {
            "token_type": "bearer",
            "access_token": access.token,
            "expires_in": self.access_token_ttl,
            "refresh_token": grant.refresh_token,
        }

    def _refresh(self, refresh_token: str | None) -> dict[str, object]:
        with self._lock:
            grant = next((g for g in self._grants.values() if g.refresh_token == refresh_token), None)
            if grant is None or grant.revoked:
                raise OAuthError(400, "invalid_grant", "The refresh token is invalid or revoked")
            access = self._mint(grant)
        return {"token_type": "bearer", "access_token": access.token, "expires_in": self.access_token_ttl}

    def _mint(self, grant: Grant) -> AccessToken:
        access = AccessToken(
            secrets.token_urlsafe(32),
            grant.id,
            grant.user_id,
            self.clock.now() + timedelta(seconds=self.access_token_ttl),
        )
        self._tokens[access.token] = access
        return access

    def issue(self, user_id: int) -> dict[str, object]:
        """Tests and the admin surface: a token pair without the browser round trip."""
        with self._lock:
            grant = Grant(len(self._grants) + 1, user_id, secrets.token_urlsafe(32))
            self._grants[grant.id] = grant
            access = self._mint(grant)
        return {
            "token_type": "bearer",
            "access_token": access.token,
            "expires_in": self.access_token_ttl,
            "refresh_token": grant.refresh_token,
        }

    # -- using tokens ------------------------------------------------------------------------------
    def authenticate(self, authorization: str | None) -> AccessToken:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise OAuthError(401, "invalid_token", INVALID_TOKEN_DESCRIPTION)
        token = authorization[7:].strip()
        with self._lock:
            access = self._tokens.get(token)
            grant = self._grants.get(access.grant_id) if access else None
        if access is None or grant is None or grant.revoked or access.expires_at <= self.clock.now():
            raise OAuthError(401, "invalid_token", INVALID_TOKEN_DESCRIPTION)
        return access

    def deauthorize(self, access: AccessToken) -> None:
        """Revoke the whole grant: its refresh token and every access token minted from it."""
        with self._lock:
            self._grants[access.grant_id].revoked = True
