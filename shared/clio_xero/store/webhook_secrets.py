"""Clio per-webhook shared secrets, encrypted with the stack's KMS key.

Clio hands each webhook a secret once, in the ``X-Hook-Secret`` header of the activation
handshake; every later delivery is signed with it. We store it encrypted (KMS ``Encrypt`` with an
encryption context naming the connection and webhook, so a ciphertext copied to another item
will not decrypt) and keep decrypted secrets in memory for a few minutes per warm container.

Only handshakes we asked for are accepted (docs/threat-model.md). Before our registration asks Clio
to create a webhook it records an *expected activation* (``sk=CLIOHOOK#expect#<model>``): valid for
:data:`ACTIVATION_WINDOW`, for at most :data:`MAX_HANDSHAKES` handshakes, and, once Clio has
answered the create call, only for the webhook id Clio gave (a secret stored meanwhile for any
other id is deleted then). A handshake with no such expectation is refused and nothing is
stored. Expectations are one item per (connection, model), so they are bounded in number too,
and carry the table's TTL attribute.

The stored secret's item also carries the webhook's ``queue_only_with`` rule (which deliveries
need not be queued), written by registration (:meth:`KmsDynamoWebhookSecrets.declare`) and read
by the receiver with the secret (docs/billing.md "Activities on no bill never reach the queue").

First writer wins: a handshake for a webhook id that already has a *different* secret is refused,
so someone who learns a connection URL cannot replace a live webhook's secret. Clio's handshake
body is believed to carry ``data.webhook_id`` (UNCONFIRMED: docs/facts-clio.md#webhooks,
docs/threat-model.md); if it does not, the secret is kept as *pending* until the expectation
expires and bound to the first webhook id whose delivery it verifies.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

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
#: How long after registration asked Clio for a webhook its activation handshake is accepted.
ACTIVATION_WINDOW = timedelta(minutes=15)
#: Handshakes accepted per expected activation (Clio may repeat one; an attacker gets no more).
MAX_HANDSHAKES = 3
EXPECT_PREFIX = "CLIOHOOK#expect#"
#: The stored hook's attribute holding ``ClioWebhook.queue_only_with`` (comma-separated).
QUEUE_ONLY_WITH = "queue_only_with"


@dataclass(frozen=True)
class ExpectedActivation:
    """A webhook our registration created (or is creating) and whose handshake we wait for."""

    connection_id: str
    model: str
    webhook_id: str | None  # None until Clio answered the create call
    expires_at: datetime
    handshakes_left: int
    activated_at: datetime | None = None
    #: The webhook's ``queue_only_with`` rule, for the receiver to keep with the secret it stores.
    queue_only_with: tuple[str, ...] = ()


class ActivationLedger(Protocol):
    """What registration records and the receiver checks before trusting an ``X-Hook-Secret``."""

    def expect_activation(self, connection_id: str, model: str, queue_only_with: Sequence[str] = ()) -> None: ...

    def expect_webhook_id(self, connection_id: str, model: str, webhook_id: str) -> None: ...

    def claim_handshake(self, connection_id: str, model: str, webhook_id: str | None) -> ExpectedActivation | None: ...

    def mark_activated(self, connection_id: str, model: str) -> None: ...

    def expected_activations(self, connection_id: str) -> list[ExpectedActivation]: ...

    def declare(self, connection_id: str, webhook_id: str, queue_only_with: Sequence[str]) -> bool: ...


class ClioWebhookSecrets(ActivationLedger, Protocol):
    def remember(self, connection_id: str, webhook_id: str | None, secret: str, model: str | None) -> bool: ...

    def lookup(self, connection_id: str, webhook_id: str) -> StoredHook | None: ...

    def pending(self, connection_id: str) -> list[str]: ...

    def bind(self, connection_id: str, webhook_id: str, secret: str) -> None: ...


@dataclass(frozen=True)
class StoredHook:
    secret: str
    model: str | None
    #: Fields without which a delivery need not be queued (``ClioWebhook.queue_only_with``);
    #: empty for webhooks registered before registration declared it: every delivery is queued.
    queue_only_with: tuple[str, ...] = ()


def hook_sk(webhook_id: str) -> str:
    return f"CLIOHOOK#{webhook_id}"


def expect_sk(model: str) -> str:
    return f"{EXPECT_PREFIX}{model}"


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

    # ------------------------------------------------------------------ expected activations
    def expect_activation(self, connection_id: str, model: str, queue_only_with: Sequence[str] = ()) -> None:
        """Registration is about to create a webhook for ``model``: accept its handshake for a
        while (and hand the receiver the webhook's ``queue_only_with`` rule with it)."""
        now = self._clock.now()
        values: dict[str, object] = {
            "pk": connection_pk(connection_id),
            "sk": expect_sk(model),
            "model": model,
            "handshakes_left": MAX_HANDSHAKES,
            "created_at": now.isoformat(),
            "expires_at": int((now + ACTIVATION_WINDOW).timestamp()),
        }
        if rule := _rule_text(queue_only_with):
            values[QUEUE_ONLY_WITH] = rule
        with aws_errors("record an expected webhook activation"):
            self._ddb.put_item(TableName=self._table, Item=to_item(values))

    def expect_webhook_id(self, connection_id: str, model: str, webhook_id: str) -> None:
        """Clio answered the create call: from now on only this webhook's handshake is accepted.

        A handshake accepted *before* Clio answered named its own webhook id; any id it named that
        is not Clio's was planted by someone racing Clio, so its secret is deleted here.
        """
        try:
            result = self._ddb.update_item(
                TableName=self._table,
                Key=key(connection_pk(connection_id), expect_sk(model)),
                UpdateExpression="SET webhook_id = :id",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":id": {"S": str(webhook_id)}},
                ReturnValues="ALL_NEW",
            )
        except (ClientError, BotoCoreError) as exc:
            if not is_condition_failure(exc):
                raise translate("record the expected webhook id", exc) from exc
            return
        claimed = from_item(result.get("Attributes", {})).get("claimed_ids") or set()
        for planted in sorted(str(i) for i in claimed if str(i) != str(webhook_id)):
            with aws_errors("delete a planted webhook secret"):
                self._ddb.delete_item(TableName=self._table, Key=key(connection_pk(connection_id), hook_sk(planted)))
            self._cache.pop((connection_id, planted), None)

    def claim_handshake(self, connection_id: str, model: str, webhook_id: str | None) -> ExpectedActivation | None:
        """Use up one handshake of an unexpired expectation that matches; ``None`` = refuse."""
        now = self._clock.now()
        names = {"#left": "handshakes_left", "#exp": "expires_at"}
        values: dict[str, dict[str, Any]] = {
            ":one": {"N": "1"},
            ":zero": {"N": "0"},
            ":now": {"N": str(int(now.timestamp()))},
        }
        condition = "attribute_exists(pk) AND #exp > :now AND #left > :zero"
        update = "SET #left = #left - :one"
        if webhook_id is not None:
            condition += " AND (attribute_not_exists(#wid) OR #wid = :wid)"
            names["#wid"] = "webhook_id"
            values[":wid"] = {"S": str(webhook_id)}
            # Remember which ids were claimed, so expect_webhook_id can drop a planted one.
            update += " ADD claimed_ids :ids"
            values[":ids"] = {"SS": [str(webhook_id)]}
        try:
            result = self._ddb.update_item(
                TableName=self._table,
                Key=key(connection_pk(connection_id), expect_sk(model)),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except (ClientError, BotoCoreError) as exc:
            if is_condition_failure(exc):
                return None
            raise translate("check an expected webhook activation", exc) from exc
        return _expected(connection_id, from_item(result.get("Attributes", {})))

    def mark_activated(self, connection_id: str, model: str) -> None:
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=key(connection_pk(connection_id), expect_sk(model)),
                UpdateExpression="SET activated_at = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":now": {"S": self._clock.now().isoformat()}},
            )
        except (ClientError, BotoCoreError) as exc:
            if not is_condition_failure(exc):
                raise translate("record a webhook activation", exc) from exc

    def expected_activations(self, connection_id: str) -> list[ExpectedActivation]:
        """Unexpired expectations (activated or still waiting), for `webhooks status`."""
        now = self._clock.now()
        with aws_errors("read expected webhook activations"):
            result = self._ddb.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={
                    ":pk": {"S": connection_pk(connection_id)},
                    ":prefix": {"S": EXPECT_PREFIX},
                },
            )
        found = [_expected(connection_id, from_item(i)) for i in result.get("Items", [])]
        return [e for e in found if e.expires_at > now]  # TTL deletes lazily

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
            values["expires_at"] = int((now + min(PENDING_TTL, ACTIVATION_WINDOW)).timestamp())
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
        hook = StoredHook(self._decrypt(connection_id, values["secret_ciphertext"]), values.get("model"), _rule(values))
        self._cache[(connection_id, webhook_id)] = (now + CACHE_TTL, hook)
        return hook

    def queue_rule(self, connection_id: str, webhook_id: str) -> tuple[str, ...] | None:
        """The webhook's ``queue_only_with`` rule as the receiver will apply it (empty: every
        delivery is queued), for `webhooks status`; ``None`` when no secret is stored for it yet
        (its handshake not answered). Reads the rule alone: nothing is decrypted."""
        with aws_errors("read webhook queue rule"):
            result = self._ddb.get_item(
                TableName=self._table,
                Key=key(connection_pk(connection_id), hook_sk(webhook_id)),
                ProjectionExpression="pk, #rule",
                ExpressionAttributeNames={"#rule": QUEUE_ONLY_WITH},
            )
        item = result.get("Item")
        return _rule(from_item(item)) if item else None

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

    def declare(self, connection_id: str, webhook_id: str, queue_only_with: Sequence[str]) -> bool:
        """Record on the webhook's stored secret which fields its deliveries need to be queued
        (empty: remove the rule, queue everything). Registration calls this after every
        ``ensure``, so webhooks registered before the rule existed gain it at the next renewal
        without being recreated. False when no secret is stored for the webhook yet (its
        handshake has not been answered): the next renewal declares it.

        Why here and not in the webhook URL's query (as ``model=`` is): the receiver already reads
        this item for the secret (no extra read); a URL change would make Clio repeat the
        handshake and leave the old webhook unmatched by registration; and only our registration
        writes it (a URL's query is whatever the request says)."""
        names = _rule_text(queue_only_with)
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": key(connection_pk(connection_id), hook_sk(webhook_id)),
            "UpdateExpression": "REMOVE #rule",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": {"#rule": QUEUE_ONLY_WITH},
        }
        if names:
            request["UpdateExpression"] = "SET #rule = :rule"
            request["ExpressionAttributeValues"] = {":rule": {"S": names}}
        try:
            self._ddb.update_item(**request)
        except (ClientError, BotoCoreError) as exc:
            if is_condition_failure(exc):
                return False
            raise translate("record which webhook deliveries are queued", exc) from exc
        self._cache.pop((connection_id, webhook_id), None)
        return True


def _rule_text(queue_only_with: Sequence[str]) -> str:
    return ",".join(n for n in queue_only_with if n)


def _rule(values: dict[str, Any]) -> tuple[str, ...]:
    """The stored ``queue_only_with`` rule; none (queue everything) for items written before it."""
    return tuple(n for n in str(values.get(QUEUE_ONLY_WITH) or "").split(",") if n)


def _expected(connection_id: str, values: dict[str, object]) -> ExpectedActivation:
    from datetime import UTC

    activated = values.get("activated_at")
    webhook_id = values.get("webhook_id")
    return ExpectedActivation(
        connection_id=connection_id,
        model=str(values.get("model", "")),
        webhook_id=str(webhook_id) if webhook_id else None,
        expires_at=datetime.fromtimestamp(int(str(values.get("expires_at", 0))), UTC),
        handshakes_left=int(str(values.get("handshakes_left", 0))),
        activated_at=datetime.fromisoformat(str(activated)) if activated else None,
        queue_only_with=_rule(values),
    )
