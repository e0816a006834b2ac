"""OAuth ``state`` and PKCE (pure): what the connect flow remembers between redirect and callback.

A ``state`` value is 32 random bytes, used once: the callback deletes its record with a
conditional delete, so a replayed callback (or a second tab) finds nothing. It is also bound to
the browser that started the flow: the start sets a cookie whose hash the record keeps, and the
callback refuses a ``state`` arriving without that cookie (someone cannot send a victim a callback
URL carrying the attacker's own code). The record carries the PKCE ``code_verifier`` (RFC 7636,
S256) for providers that support it: Xero does; Clio Manage documents no PKCE parameters
(docs/facts-clio.md#oauth), so none are sent to it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BROWSER_COOKIE",
    "STATE_TTL",
    "OAuthState",
    "browser_hash",
    "browser_matches",
    "new_browser_secret",
    "new_pkce_verifier",
    "new_state_id",
    "pkce_challenge",
]

STATE_TTL = timedelta(minutes=15)
BROWSER_COOKIE = "clio_xero_connect"


def new_state_id() -> str:
    return secrets.token_urlsafe(32)


def new_browser_secret() -> str:
    return secrets.token_urlsafe(32)


def browser_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def browser_matches(expected_hash: str, cookie_value: str | None) -> bool:
    return bool(cookie_value) and hmac.compare_digest(expected_hash, browser_hash(cookie_value or ""))


def new_pkce_verifier() -> str:
    """43-128 characters from the unreserved set (RFC 7636 §4.1): 64 random bytes, base64url."""
    return secrets.token_urlsafe(64)[:96]


def pkce_challenge(verifier: str) -> str:
    """S256: base64url(SHA-256(verifier)) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class TenantChoice(BaseModel):
    tenant_id: str
    tenant_name: str = ""
    xero_connection_id: str = ""


class OAuthState(BaseModel):
    """One pending step of the connect flow.

    ``kind="authorize"``: between the redirect to the provider and its callback.
    ``kind="tenant"``: Xero connected several organisations; the person picks one."""

    model_config = ConfigDict(frozen=True)

    state_id: str = Field(min_length=20)
    kind: Literal["authorize", "tenant"] = "authorize"
    connection_id: str
    provider: Literal["clio", "xero"]
    redirect_uri: str = ""
    code_verifier: str | None = Field(default=None, repr=False)
    browser_hash: str = Field(repr=False)
    expires: int  # epoch seconds; also the table's TTL
    choices: list[TenantChoice] = Field(default_factory=list)

    def live(self, now: datetime) -> bool:
        return now.timestamp() < self.expires
