"""Connections: one per (Clio account, Xero organisation) pair a firm links."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from clio_xero.aws.errors import aws_errors, is_condition_failure, translate
from clio_xero.clock import Clock
from clio_xero.errors import ConfigurationError
from clio_xero.store.dynamo import connection_pk, from_item, key, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CONNECTION_SK = "#CONNECTION"
GSI1 = "gsi1"
_CONNECTION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ClioRegion(StrEnum):
    US = "us"
    CA = "ca"
    EU = "eu"
    AU = "au"


class ConnectionStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    NEEDS_RECONNECT = "needs_reconnect"
    DISCONNECTED = "disconnected"


class Connection(BaseModel):
    """A linked pair of accounts. Holds no secrets (tokens live in their own encrypted items)."""

    model_config = ConfigDict(extra="ignore")

    connection_id: str = Field(pattern=_CONNECTION_ID.pattern)
    name: str = ""
    status: ConnectionStatus = ConnectionStatus.PENDING
    clio_region: ClioRegion = ClioRegion.US
    xero_tenant_id: str | None = None
    created_at: datetime
    # Recorded by the connect flow (issue 5); optional so older items still load.
    status_reason: str | None = None
    clio_user_id: int | None = None
    clio_user_name: str | None = None
    xero_tenant_name: str | None = None
    xero_connection_id: str | None = None  # Xero's /connections id (what DELETE /connections/{id} takes)


def new_connection_id() -> str:
    return uuid.uuid4().hex


def is_valid_connection_id(value: str) -> bool:
    return bool(_CONNECTION_ID.match(value))


class ConnectionLookup(Protocol):
    def get(self, connection_id: str) -> Connection | None: ...

    def find_by_xero_tenant(self, tenant_id: str) -> list[Connection]: ...


class ConnectionStatusWriter(Protocol):
    def set_status(self, connection_id: str, status: ConnectionStatus, reason: str | None = None) -> None: ...


class RememberedConnections:
    """A :class:`ConnectionLookup` that remembers each connection it found for ``seconds`` (on the
    injected clock), for a caller that only needs to know a connection exists, such as the Clio
    receiver checking the connection in a webhook's URL (docs/cost.md#the-connection-item).

    Misses are never remembered, so a connection created a moment ago is found at once (its first
    webhook is the handshake that follows `connect`). A connection deleted meanwhile keeps being
    found for at most ``seconds``: its deliveries are still signature-checked and archived, and the
    worker refuses its events. Lookups by Xero tenant are not remembered (the Xero receiver routes
    by them, and a re-linked organisation must route at once)."""

    def __init__(self, lookup: ConnectionLookup, clock: Clock, seconds: float) -> None:
        self._lookup = lookup
        self._clock = clock
        self._seconds = seconds
        self._found: dict[str, tuple[Connection, datetime]] = {}

    def get(self, connection_id: str) -> Connection | None:
        now = self._clock.now()
        known = self._found.get(connection_id)
        if known is not None and (now - known[1]).total_seconds() < self._seconds:
            return known[0]
        connection = self._lookup.get(connection_id)
        if connection is None:
            self._found.pop(connection_id, None)
        else:
            self._found[connection_id] = (connection, now)
        return connection

    def find_by_xero_tenant(self, tenant_id: str) -> list[Connection]:
        return self._lookup.find_by_xero_tenant(tenant_id)


def xero_tenant_gsi1pk(tenant_id: str) -> str:
    return f"XEROTENANT#{tenant_id.lower()}"


class DynamoConnectionStore:
    """Connections in the single table; the Xero tenant is indexed on ``gsi1``."""

    def __init__(self, table_name: str, dynamodb: DynamoDBClient) -> None:
        self._table = table_name
        self._ddb = dynamodb

    def get(self, connection_id: str) -> Connection | None:
        if not is_valid_connection_id(connection_id):
            return None
        with aws_errors("read connection"):
            result = self._ddb.get_item(
                TableName=self._table,
                Key=key(connection_pk(connection_id), CONNECTION_SK),
                ConsistentRead=True,
            )
        item = result.get("Item")
        return Connection.model_validate(from_item(item)) if item else None

    def find_by_xero_tenant(self, tenant_id: str) -> list[Connection]:
        with aws_errors("find connection by Xero tenant"):
            result = self._ddb.query(
                TableName=self._table,
                IndexName=GSI1,
                KeyConditionExpression="gsi1pk = :t",
                ExpressionAttributeValues={":t": {"S": xero_tenant_gsi1pk(tenant_id)}},
            )
        return [Connection.model_validate(from_item(i)) for i in result.get("Items", [])]

    def set_status(self, connection_id: str, status: ConnectionStatus, reason: str | None = None) -> None:
        """Mark a connection (e.g. ``needs_reconnect`` after ``invalid_grant``), with why."""
        with aws_errors("update connection status"):
            self._ddb.update_item(
                TableName=self._table,
                Key=key(connection_pk(connection_id), CONNECTION_SK),
                UpdateExpression="SET #s = :s, status_reason = :r",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": {"S": status.value}, ":r": {"S": reason or ""}},
            )

    def update_fields(self, connection_id: str, values: dict[str, Any]) -> None:
        """Set some of a connection's fields (``None`` removes one); fails if it does not exist.

        Setting ``xero_tenant_id`` also maintains the ``gsi1`` keys the Xero receiver queries."""
        allowed = set(Connection.model_fields) - {"connection_id", "created_at"}
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"not connection fields: {', '.join(sorted(unknown))}")
        values = {k: (v.value if isinstance(v, StrEnum) else v) for k, v in values.items()}
        if "xero_tenant_id" in values:
            tenant = values["xero_tenant_id"]
            values["gsi1pk"] = xero_tenant_gsi1pk(tenant) if tenant else None
            values["gsi1sk"] = connection_pk(connection_id) if tenant else None
        names: dict[str, str] = {}
        attribute_values: dict[str, Any] = {}
        sets: list[str] = []
        removes: list[str] = []
        for i, (name, value) in enumerate(values.items()):
            names[f"#f{i}"] = name
            if value is None:
                removes.append(f"#f{i}")
            else:
                attribute_values[f":v{i}"] = to_item({"v": value})["v"]
                sets.append(f"#f{i} = :v{i}")
        expression = " ".join(
            part
            for part in ("SET " + ", ".join(sets) if sets else "", "REMOVE " + ", ".join(removes) if removes else "")
            if part
        )
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": key(connection_pk(connection_id), CONNECTION_SK),
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": names,
        }
        if attribute_values:
            request["ExpressionAttributeValues"] = attribute_values
        with aws_errors("update connection"):
            self._ddb.update_item(**request)

    def list_all(self) -> list[Connection]:
        """Every connection (a handful per stack: a scan is the simple, right tool)."""
        out: list[Connection] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "sk = :sk",
            "ExpressionAttributeValues": {":sk": {"S": CONNECTION_SK}},
        }
        while True:
            with aws_errors("list connections"):
                page = self._ddb.scan(**kwargs)
            out.extend(Connection.model_validate(from_item(i)) for i in page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def put_new(self, connection: Connection) -> None:
        """Create ``connection``; refuses to overwrite an existing one."""
        values = connection.model_dump(mode="json")
        values.update(pk=connection_pk(connection.connection_id), sk=CONNECTION_SK)
        if connection.xero_tenant_id:
            values.update(
                gsi1pk=xero_tenant_gsi1pk(connection.xero_tenant_id),
                gsi1sk=connection_pk(connection.connection_id),
            )
        try:
            self._ddb.put_item(
                TableName=self._table, Item=to_item(values), ConditionExpression="attribute_not_exists(pk)"
            )
        except (ClientError, BotoCoreError) as exc:
            if is_condition_failure(exc):
                raise ConfigurationError(f"connection {connection.connection_id} already exists") from exc
            raise translate("create connection", exc) from exc
