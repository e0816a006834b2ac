"""Clio per-webhook shared secrets, encrypted with the stack's KMS key.

Clio hands each webhook a secret once, in the ``X-Hook-Secret`` header of the activation
handshake; every later delivery is signed with it. We store it encrypted (KMS ``Encrypt`` with an
encryption context naming the connection and webhook, so a ciphertext copied to another item
will not decrypt) and keep decrypted secrets in memory for a few minutes per warm container.

First writer wins: a handshake for a webhook id that already has a *different* secret is refused,
so someone who learns a connection URL cannot replace a live webhook's secret. Clio's handshake
body is believed to carry ``data.webhook_id`` (UNCONFIRMED, docs/facts-clio.md#webhooks); if
it does not, the secret is kept as *pending* for a day and bound to the first webhook id whose
delivery it verifies.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from clio_xero.aws.errors import aws_errors, is_condition_failure, translate
from clio_xero.clock import Clock
from clio_xero.store.dynamo import connection_pk, from_item, key, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kms import KMSClient

PENDING_TTL = timedelta(days=1)
CACHE_TTL = timedelta(minutes=5)
MAX_PENDING = 20


class ClioWebhookSecrets(Protocol):
    def remember(self, connection_id: str, webhook_id: str | None, secret: str, model: str | None) -> bool: ...

    def lookup(self, connection_id: str, webhook_id: str) -> StoredHook | None: ...

    def pending(self, connection_id: str) -> list[str]: ...

    def bind(self, connection_id: str, webhook_id: str, secret: str) -> None: ...


@dataclass(frozen=True)
class StoredHook:
    secret: str
    model: str | None


def hook_sk(webhook_id: str) -> str:
    return f"CLIOHOOK#{webhook_id}"


def pending_sk(secret: str) -> str:
    return f"CLIOHOOK#pending#{hashlib.sha256(secret.encode()).hexdigest()[:32]}"


class KmsDynamoWebhookSecrets:
    """:class:`ClioWebhookSecrets` on DynamoDB + KMS."""

    def __init__(self, table_name: str, dynamodb: DynamoDBClient, kms: KMSClient, key_id: str, clock: Clock) -> None:
        self._table = table_name
        self._ddb = dynamodb
        self._kms = kms
        self._key_id = key_id
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[datetime, StoredHook]] = {}

    # ------------------------------------------------------------------ crypto
    def _context(self, connection_id: str) -> dict[str, str]:
        return {"purpose": "clio-webhook-secret", "connection_id": connection_id}

    def _encrypt(self, connection_id: str, secret: str) -> bytes:
        with aws_errors("encrypt webhook secret"):
            out = self._kms.encrypt(
                KeyId=self._key_id, Plaintext=secret.encode(), EncryptionContext=self._context(connection_id)
            )
        return out["CiphertextBlob"]

    def _decrypt(self, connection_id: str, blob: bytes) -> str:
        with aws_errors("decrypt webhook secret"):
            out = self._kms.decrypt(CiphertextBlob=blob, EncryptionContext=self._context(connection_id))
        return out["Plaintext"].decode()

    # ------------------------------------------------------------------ API
    def remember(self, connection_id: str, webhook_id: str | None, secret: str, model: str | None) -> bool:
        """Store ``secret``; False when the webhook already has a different one."""
        now = self._clock.now()
        sk = hook_sk(webhook_id) if webhook_id else pending_sk(secret)
        values: dict[str, object] = {
            "pk": connection_pk(connection_id),
            "sk": sk,
            "secret_ciphertext": self._encrypt(connection_id, secret),
            "model": model,
            "created_at": now.isoformat(),
        }
        if not webhook_id:
            values["expires_at"] = int((now + PENDING_TTL).timestamp())
        try:
            self._ddb.put_item(
                TableName=self._table, Item=to_item(values), ConditionExpression="attribute_not_exists(pk)"
            )
        except (ClientError, BotoCoreError) as exc:
            if not is_condition_failure(exc):
                raise translate("store webhook secret", exc) from exc
            if not webhook_id:
                return True  # the same pending secret again
            existing = self.lookup(connection_id, webhook_id)
            # Clio repeating the same handshake is fine; a different secret is not.
            return existing is not None and hmac.compare_digest(existing.secret, secret)
        return True

    def lookup(self, connection_id: str, webhook_id: str) -> StoredHook | None:
        now = self._clock.now()
        cached = self._cache.get((connection_id, webhook_id))
        if cached and cached[0] > now:
            return cached[1]
        with aws_errors("read webhook secret"):
            result = self._ddb.get_item(
                TableName=self._table,
                Key=key(connection_pk(connection_id), hook_sk(webhook_id)),
                ConsistentRead=True,
            )
        item = result.get("Item")
        if not item:
            return None
        values = from_item(item)
        hook = StoredHook(self._decrypt(connection_id, values["secret_ciphertext"]), values.get("model"))
        self._cache[(connection_id, webhook_id)] = (now + CACHE_TTL, hook)
        return hook

    def pending(self, connection_id: str) -> list[str]:
        now_epoch = int(self._clock.now().timestamp())
        with aws_errors("read pending webhook secrets"):
            result = self._ddb.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={
                    ":pk": {"S": connection_pk(connection_id)},
                    ":prefix": {"S": "CLIOHOOK#pending#"},
                },
                Limit=MAX_PENDING,
            )
        items = [from_item(i) for i in result.get("Items", [])]
        # DynamoDB deletes expired items lazily, so expiry is checked here too.
        return [
            self._decrypt(connection_id, i["secret_ciphertext"])
            for i in items
            if int(i.get("expires_at", 0)) > now_epoch
        ]

    def bind(self, connection_id: str, webhook_id: str, secret: str) -> None:
        """Attach a verified pending secret to its webhook id (first writer wins)."""
        self.remember(connection_id, webhook_id, secret, model=None)
