"""Where the connect flow keeps single-use things: used link nonces, OAuth states, the link key.

Items (the one table; both expire through the ``expires_at`` TTL and are checked for expiry on
read too, because DynamoDB deletes expired items lazily):

* ``pk=CONN#<id>``, ``sk=CONNECTLINK#<nonce>``: a link that has been used (conditional put: the
  second use of the same link fails);
* ``pk=OAUTHSTATE#<state>``, ``sk=#STATE``: one pending step (taken with a conditional delete that
  returns the item, so exactly one callback gets it).
"""

from __future__ import annotations

import base64
import secrets
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from clio_xero.aws.errors import aws_errors, error_code, is_condition_failure, translate
from clio_xero.connect.links import ConnectLink
from clio_xero.connect.state import OAuthState
from clio_xero.errors import ConfigurationError
from clio_xero.store.dynamo import connection_pk, from_item, key, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STATE_SK = "#STATE"
LINK_KEY_NAME = "connect-link-key"
KEY_CACHE_SECONDS = 300


def state_pk(state_id: str) -> str:
    return f"OAUTHSTATE#{state_id}"


def link_sk(nonce: str) -> str:
    return f"CONNECTLINK#{nonce}"


class ConnectStore(Protocol):
    def use_link(self, link: ConnectLink, now: datetime) -> bool: ...

    def put_state(self, state: OAuthState) -> None: ...

    def take_state(self, state_id: str, now: datetime) -> OAuthState | None: ...


class DynamoConnectStore:
    def __init__(self, table_name: str, dynamodb: DynamoDBClient) -> None:
        self._table = table_name
        self._ddb = dynamodb

    def use_link(self, link: ConnectLink, now: datetime) -> bool:
        """Record the link as used; False if it already was."""
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=to_item(
                    {
                        "pk": connection_pk(link.connection_id),
                        "sk": link_sk(link.nonce),
                        "provider": link.provider,
                        "used_at": now.isoformat(),
                        "expires_at": link.expires,
                    }
                ),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except (ClientError, BotoCoreError) as exc:
            if is_condition_failure(exc):
                return False
            raise translate("record connect link use", exc) from exc
        return True

    def put_state(self, state: OAuthState) -> None:
        values: dict[str, Any] = {
            "pk": state_pk(state.state_id),
            "sk": STATE_SK,
            "state": state.model_dump_json(),
            "expires_at": state.expires,
        }
        with aws_errors("store OAuth state"):
            self._ddb.put_item(
                TableName=self._table, Item=to_item(values), ConditionExpression="attribute_not_exists(pk)"
            )

    def take_state(self, state_id: str, now: datetime) -> OAuthState | None:
        """The state, removed so no one else can take it; None if unknown, taken or expired."""
        if not state_id or len(state_id) > 200:
            return None
        try:
            result = self._ddb.delete_item(
                TableName=self._table,
                Key=key(state_pk(state_id), STATE_SK),
                ConditionExpression="attribute_exists(pk)",
                ReturnValues="ALL_OLD",
            )
        except (ClientError, BotoCoreError) as exc:
            if is_condition_failure(exc):
                return None
            raise translate("take OAuth state", exc) from exc
        item = result.get("Attributes")
        if not item:
            return None
        state = OAuthState.model_validate_json(from_item(item)["state"])
        return state if state.live(now) else None


class LinkKey:
    """The connect-link HMAC key: SSM SecureString ``<ConfigPath>/connect-link-key`` (base64)."""

    def __init__(self, config_path: str, ssm: Any, max_age_seconds: float = KEY_CACHE_SECONDS) -> None:
        self.name = f"{config_path.rstrip('/')}/{LINK_KEY_NAME}"
        self._ssm = ssm
        self._max_age = max_age_seconds
        self._value: bytes | None = None
        self._read_at = 0.0

    def get(self) -> bytes:
        # Cached for a few minutes per warm container: a replaced key (every outstanding link
        # revoked) takes effect within that time.
        if self._value is None or time.monotonic() - self._read_at > self._max_age:
            try:
                value = self._ssm.get_parameter(Name=self.name, WithDecryption=True)["Parameter"]["Value"]
            except (ClientError, BotoCoreError) as exc:
                if isinstance(exc, ClientError) and error_code(exc) == "ParameterNotFound":
                    raise ConfigurationError(
                        f"SSM parameter {self.name} is missing: run `clio-xero connect` once to create it"
                    ) from exc
                raise translate(f"read SSM parameter {self.name}", exc) from exc
            self._value = _decode_key(value, self.name)
            self._read_at = time.monotonic()
        return self._value

    def ensure(self) -> bytes:
        """The key, created (random, 32 bytes) when missing. Operator side only."""
        try:
            return self.get()
        except ConfigurationError:
            pass
        value = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
        try:
            self._ssm.put_parameter(
                Name=self.name,
                Value=value,
                Type="SecureString",
                Overwrite=False,
                Description="clio-xero: HMAC key of one-time connect links",
            )
        except (ClientError, BotoCoreError) as exc:
            if not (isinstance(exc, ClientError) and error_code(exc) == "ParameterAlreadyExists"):
                raise translate(f"create SSM parameter {self.name}", exc) from exc
        self._value = None  # someone may have won the race: read what is stored
        return self.get()


def _decode_key(value: str, name: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raw = b""
    if len(raw) < 32:
        raise ConfigurationError(f"SSM parameter {name} must hold at least 32 random bytes, base64-encoded")
    return raw
