"""OAuth tokens at rest: the model, the store port, DynamoDB + KMS envelope encryption, a fake.

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

import json
import os
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict, Field

from clio_xero.aws.errors import aws_errors, error_code, is_condition_failure, translate
from clio_xero.clock import Clock, SystemClock
from clio_xero.errors import NeedsReconnectError, StaleTokenError
from clio_xero.store.dynamo import connection_pk, from_item, key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient

__all__ = [
    "DynamoTokenStore",
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


def token_sk(provider: str) -> str:
    return f"TOKEN#{provider}"


def _check_provider(provider: str) -> None:
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
        _check_provider(provider)
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


# ---------------------------------------------------------------------------- DynamoDB + KMS


def _epoch_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _from_epoch_ms(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, UTC)


class DynamoTokenStore:
    """:class:`TokenStore` on the single table, envelope-encrypted with the stack's KMS key."""

    def __init__(
        self, table_name: str, dynamodb: DynamoDBClient, kms: KMSClient, key_id: str, clock: Clock | None = None
    ) -> None:
        self._table = table_name
        self._ddb = dynamodb
        self._kms = kms
        self._key_id = key_id
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        # (connection, provider) -> (version, decrypted token): the only secret kept in memory.
        self._cache: dict[tuple[str, str], tuple[int, TokenSet]] = {}

    # ------------------------------------------------------------------ crypto

    @staticmethod
    def _context(connection_id: str, provider: str) -> dict[str, str]:
        return {"purpose": "oauth-token", "connection_id": connection_id, "provider": provider}

    @staticmethod
    def _aad(connection_id: str, provider: str) -> bytes:
        return json.dumps(["oauth-token", connection_id, provider]).encode()

    def _encrypt(self, connection_id: str, provider: str, token: TokenSet) -> dict[str, bytes]:
        with aws_errors("generate token data key"):
            out = self._kms.generate_data_key(
                KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=self._context(connection_id, provider)
            )
        nonce = os.urandom(12)
        plaintext = token.model_dump_json().encode()
        ciphertext = AESGCM(out["Plaintext"]).encrypt(nonce, plaintext, self._aad(connection_id, provider))
        return {"data_key": out["CiphertextBlob"], "nonce": nonce, "ciphertext": ciphertext}

    def _decrypt(self, connection_id: str, provider: str, values: dict[str, Any]) -> TokenSet:
        unreadable = NeedsReconnectError(
            f"{PROVIDER_NAMES[provider]} connection needs reconnecting: the stored token for {connection_id} "
            "cannot be decrypted (altered or copied from another connection)"
        )
        try:
            out = self._kms.decrypt(
                CiphertextBlob=values["data_key"], EncryptionContext=self._context(connection_id, provider)
            )
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and error_code(exc) == "InvalidCiphertextException":
                raise unreadable from exc
            raise translate("decrypt token data key", exc) from exc
        try:
            plaintext = AESGCM(out["Plaintext"]).decrypt(
                values["nonce"], values["ciphertext"], self._aad(connection_id, provider)
            )
        except InvalidTag:
            raise unreadable from None
        return TokenSet.model_validate_json(plaintext)

    # ------------------------------------------------------------------ TokenStore

    def load(self, connection_id: str, provider: Provider) -> StoredToken | None:
        _check_provider(provider)
        with aws_errors("read token"):
            result = self._ddb.get_item(
                TableName=self._table,
                Key=key(connection_pk(connection_id), token_sk(provider)),
                ConsistentRead=True,
            )
        item = result.get("Item")
        if not item:
            return None
        values = from_item(item)
        version = int(values["version"])
        with self._lock:
            cached = self._cache.get((connection_id, provider))
        if cached is not None and cached[0] == version:
            token = cached[1]
        else:
            token = self._decrypt(connection_id, provider, values)
            with self._lock:
                self._cache[(connection_id, provider)] = (version, token)
        lease_until = values.get("lease_until")
        return StoredToken(
            token=token,
            version=version,
            lease_owner=values.get("lease_owner"),
            lease_until=_from_epoch_ms(lease_until) if lease_until is not None else None,
        )

    def save(self, connection_id: str, provider: Provider, token: TokenSet, *, expected_version: int | None) -> int:
        _check_provider(provider)
        blobs = self._encrypt(connection_id, provider, token)
        version = (expected_version or 0) + 1
        values: dict[str, Any] = {
            ":v": {"N": str(version)},
            ":k": {"B": blobs["data_key"]},
            ":n": {"B": blobs["nonce"]},
            ":c": {"B": blobs["ciphertext"]},
            ":u": {"S": self._clock.now().isoformat()},
        }
        if expected_version is None:
            condition = "attribute_not_exists(pk)"
        else:
            condition = "version = :expected"
            values[":expected"] = {"N": str(expected_version)}
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=key(connection_pk(connection_id), token_sk(provider)),
                UpdateExpression="SET version = :v, data_key = :k, nonce = :n, ciphertext = :c, updated_at = :u",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except (ClientError, BotoCoreError) as exc:
            if is_condition_failure(exc):
                raise StaleTokenError(
                    f"{PROVIDER_NAMES[provider]} token for {connection_id} changed meanwhile"
                ) from exc
            raise translate("store token", exc) from exc
        with self._lock:
            self._cache[(connection_id, provider)] = (version, token)
        return version

    def acquire_lease(self, connection_id: str, provider: Provider, owner: str, until: datetime) -> bool:
        _check_provider(provider)
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=key(connection_pk(connection_id), token_sk(provider)),
                UpdateExpression="SET lease_owner = :o, lease_until = :until",
                ConditionExpression=(
                    "attribute_exists(pk) AND "
                    "(attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :o)"
                ),
                ExpressionAttributeValues={
                    ":o": {"S": owner},
                    ":until": {"N": str(_epoch_ms(until))},
                    ":now": {"N": str(_epoch_ms(self._clock.now()))},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            if is_condition_failure(exc):
                return False
            raise translate("take token refresh lease", exc) from exc
        return True

    def release_lease(self, connection_id: str, provider: Provider, owner: str) -> None:
        _check_provider(provider)
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=key(connection_pk(connection_id), token_sk(provider)),
                UpdateExpression="REMOVE lease_owner, lease_until",
                ConditionExpression="lease_owner = :o",
                ExpressionAttributeValues={":o": {"S": owner}},
            )
        except (ClientError, BotoCoreError) as exc:
            if not is_condition_failure(exc):  # someone took over an expired lease: nothing to give back
                raise translate("release token refresh lease", exc) from exc
