"""OAuth tokens at rest: the model, the store port and a fake (the DynamoDB + KMS adapter is
:mod:`clio_xero.store.tokens`).

Item layout (the one table, docs/architecture.md): ``pk=CONN#<connection id>``,
``sk=TOKEN#<provider>`` with

* ``version`` (N): bumped by every save; saves are conditional on it, so a writer that lost the
  refresh race cannot overwrite a newer (rotated) refresh token;
* ``data_key`` (B): the AES-256 data key, encrypted by KMS ``GenerateDataKey`` under the encryption
  context ``{"purpose": "oauth-token", "connection_id": ..., "provider": ...}``;
* ``nonce`` (B) + ``ciphertext`` (B): the TokenSet JSON under AES-GCM with that data key, the
  associated data naming the same connection and provider. A ciphertext copied to another item or
  altered does not decrypt (KMS refuses the context; GCM refuses the tag);
* ``lease_owner`` (S) / ``lease_until`` (N, epoch ms): who is refreshing right now (see oauth.py).

Plaintext tokens never leave the process: the only cache is the decrypted copy of the latest
version read, per (connection, provider), which saves one KMS call per warm invocation.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from clio_xero.clock import Clock, SystemClock
from clio_xero.errors import StaleTokenError

__all__ = [
    "InMemoryTokenStore",
    "Provider",
    "StaleTokenError",
    "StoredToken",
    "TokenSet",
    "TokenStore",
    "token_sk",
]

Provider = Literal["clio", "xero"]
PROVIDER_NAMES: dict[str, str] = {"clio": "Clio", "xero": "Xero"}


class TokenSet(BaseModel):
    """One OAuth grant's tokens. ``repr``/``str`` never show the token values."""

    model_config = ConfigDict(frozen=True)

    access_token: str = Field(repr=False)
    refresh_token: str | None = Field(repr=False)
    expires_at: datetime
    scope: str | None = None

    def expires_within(self, now: datetime, seconds: float) -> bool:
        return (self.expires_at - now).total_seconds() <= seconds


class StoredToken(BaseModel):
    """A token as stored: its version (for conditional saves) and the refresh lease."""

    model_config = ConfigDict(frozen=True)

    token: TokenSet
    version: int
    lease_owner: str | None = None
    lease_until: datetime | None = None


class TokenStore(Protocol):
    """Where a connection's tokens live. Every write is conditional (see module docstring)."""

    def load(self, connection_id: str, provider: Provider) -> StoredToken | None: ...

    def save(self, connection_id: str, provider: Provider, token: TokenSet, *, expected_version: int | None) -> int:
        """Store ``token`` if the stored version is still ``expected_version`` (``None``: only if
        nothing is stored); return the new version, or raise :class:`StaleTokenError`."""
        ...

    def acquire_lease(self, connection_id: str, provider: Provider, owner: str, until: datetime) -> bool:
        """Take the refresh lease if it is free or expired; False when someone else holds it."""
        ...

    def release_lease(self, connection_id: str, provider: Provider, owner: str) -> None:
        """Give the lease back (a no-op unless ``owner`` still holds it)."""
        ...

    def delete(self, connection_id: str, provider: Provider) -> None:
        """Forget the connection's tokens for ``provider`` (disconnect); a no-op when none are stored."""
        ...


def token_sk(provider: str) -> str:
    return f"TOKEN#{provider}"


def check_provider(provider: str) -> None:
    if provider not in PROVIDER_NAMES:
        raise ValueError(f"unknown provider {provider!r}")


# ---------------------------------------------------------------------------- in memory


class InMemoryTokenStore:
    """:class:`TokenStore` in a dict, thread-safe, with an injectable clock (tests, local runs)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str], StoredToken] = {}
        #: How many saves happened (tests assert on it).
        self.saves = 0

    def load(self, connection_id: str, provider: Provider) -> StoredToken | None:
        with self._lock:
            return self._items.get((connection_id, provider))

    def save(self, connection_id: str, provider: Provider, token: TokenSet, *, expected_version: int | None) -> int:
        check_provider(provider)
        with self._lock:
            current = self._items.get((connection_id, provider))
            if (current.version if current else None) != expected_version:
                raise StaleTokenError(f"{PROVIDER_NAMES[provider]} token for {connection_id} changed meanwhile")
            version = (expected_version or 0) + 1
            self._items[(connection_id, provider)] = StoredToken(
                token=token,
                version=version,
                lease_owner=current.lease_owner if current else None,
                lease_until=current.lease_until if current else None,
            )
            self.saves += 1
            return version

    def acquire_lease(self, connection_id: str, provider: Provider, owner: str, until: datetime) -> bool:
        now = self._clock.now()
        with self._lock:
            current = self._items.get((connection_id, provider))
            if current is None:
                return False
            if current.lease_until is not None and current.lease_until > now and current.lease_owner != owner:
                return False
            self._items[(connection_id, provider)] = current.model_copy(
                update={"lease_owner": owner, "lease_until": until}
            )
            return True

    def release_lease(self, connection_id: str, provider: Provider, owner: str) -> None:
        with self._lock:
            current = self._items.get((connection_id, provider))
            if current is not None and current.lease_owner == owner:
                self._items[(connection_id, provider)] = current.model_copy(
                    update={"lease_owner": None, "lease_until": None}
                )

    def delete(self, connection_id: str, provider: Provider) -> None:
        with self._lock:
            self._items.pop((connection_id, provider), None)
