"""One-time, short-lived, signed connect links (pure).

``clio-xero connect`` prints one link per provider: ``GET <api>/connect/<provider>?link=<token>``.
The token is ``v1.<payload>.<mac>``: the payload (base64url JSON) names the connection, the
provider, the expiry and a random nonce; the MAC is HMAC-SHA256 over ``v1.<payload>`` with the
stack's connect-link key (SSM SecureString ``<ConfigPath>/connect-link-key``). Without the key
nobody can mint a link, so a stranger who finds the API URL cannot start OAuth and link their own
Xero organisation or Clio account to a connection. Single use is enforced by the caller recording
the nonce with a conditional write (:class:`~clio_xero.connect.store.ConnectStore`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from clio_xero.errors import LinkRefusal, LinkRefused

__all__ = [
    "DEFAULT_LINK_TTL",
    "ConnectLink",
    "LinkRefusal",
    "LinkRefused",
    "mint_link",
    "sign",
    "verify_link",
]

DEFAULT_LINK_TTL = timedelta(minutes=30)
MAX_LINK_TTL = timedelta(days=1)
_VERSION = "v1"
MIN_KEY_BYTES = 32

# "console": a sign-in link for the settings and status page (clio_xero.console), same machinery.
Provider = Literal["clio", "xero", "console"]


class ConnectLink(BaseModel):
    """What a link grants: start ``provider``'s OAuth for ``connection_id`` once, before ``expires``."""

    model_config = ConfigDict(frozen=True)

    connection_id: str = Field(alias="c", min_length=1, max_length=64)
    provider: Provider = Field(alias="p")
    expires: int = Field(alias="e", description="epoch seconds")
    nonce: str = Field(alias="n", min_length=16, max_length=64)
    # Who the link was issued to (console sign-in links: recorded with every change made).
    label: str | None = Field(default=None, alias="l", min_length=1, max_length=64)

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.expires, UTC)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, message: str) -> str:
    return _b64(hmac.new(key, message.encode("ascii"), hashlib.sha256).digest())


def _check_key(key: bytes) -> None:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the connect-link key must be at least {MIN_KEY_BYTES} bytes")


def mint_link(
    key: bytes,
    *,
    connection_id: str,
    provider: Provider,
    now: datetime,
    ttl: timedelta = DEFAULT_LINK_TTL,
    label: str | None = None,
) -> tuple[str, ConnectLink]:
    """A fresh token for ``provider`` and what it says."""
    _check_key(key)
    if not timedelta(0) < ttl <= MAX_LINK_TTL:
        raise ValueError(f"link lifetime must be between 0 and {MAX_LINK_TTL}")
    link = ConnectLink(
        c=connection_id, p=provider, e=int((now + ttl).timestamp()), n=secrets.token_urlsafe(18), l=label
    )
    payload = _b64(json.dumps(link.model_dump(by_alias=True, exclude_none=True), separators=(",", ":")).encode())
    signed = f"{_VERSION}.{payload}"
    return f"{signed}.{sign(key, signed)}", link


def verify_link(key: bytes, token: str | None, *, provider: Provider, now: datetime) -> ConnectLink:
    """The link's claims, or :class:`LinkRefused` saying why not (single use is the caller's check).

    The MAC is checked before anything in the payload is believed, in constant time."""
    _check_key(key)
    if not token:
        raise LinkRefused(LinkRefusal.MISSING)
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _VERSION or len(token) > 1024:
        raise LinkRefused(LinkRefusal.MALFORMED)
    signed = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(sign(key, signed), parts[2]):
        raise LinkRefused(LinkRefusal.FORGED)
    try:
        link = ConnectLink.model_validate(json.loads(_unb64(parts[1])))
    except (ValueError, binascii.Error, ValidationError):
        raise LinkRefused(LinkRefusal.MALFORMED) from None
    if link.provider != provider:
        raise LinkRefused(LinkRefusal.WRONG_PROVIDER)
    if now.timestamp() >= link.expires:
        raise LinkRefused(LinkRefusal.EXPIRED, f"expired at {link.expires_at.isoformat()}")
    return link
