"""Every change made in the console, with who and when (shown on the page).

Items: ``pk=CONN#<id>``, ``sk=CONSOLEAUDIT#<ISO time>#<random>`` (newest first by a reverse query),
kept for :data:`AUDIT_RETENTION` through the table's TTL.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict

from clio_xero.aws.errors import aws_errors
from clio_xero.store.dynamo import connection_pk, from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

AUDIT_PREFIX = "CONSOLEAUDIT#"
AUDIT_RETENTION = timedelta(days=400)  # a year of changes and a little more, for the year-end review


class AuditEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    operator: str
    action: str  # e.g. "settings changed", "retry", "disconnect"
    detail: str


class AuditLog(Protocol):
    def record(self, connection_id: str, entry: AuditEntry) -> None: ...

    def recent(self, connection_id: str, limit: int = 20) -> list[AuditEntry]: ...


class DynamoAuditLog:
    def __init__(self, table_name: str, dynamodb: DynamoDBClient) -> None:
        self._table = table_name
        self._ddb = dynamodb

    def record(self, connection_id: str, entry: AuditEntry) -> None:
        values: dict[str, Any] = {
            "pk": connection_pk(connection_id),
            "sk": f"{AUDIT_PREFIX}{entry.at.isoformat()}#{secrets.token_hex(4)}",
            **entry.model_dump(mode="json"),
            "expires_at": int((entry.at + AUDIT_RETENTION).timestamp()),
        }
        with aws_errors("record console change"):
            self._ddb.put_item(TableName=self._table, Item=to_item(values))

    def recent(self, connection_id: str, limit: int = 20) -> list[AuditEntry]:
        with aws_errors("read console changes"):
            page = self._ddb.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={":pk": {"S": connection_pk(connection_id)}, ":prefix": {"S": AUDIT_PREFIX}},
                ScanIndexForward=False,
                Limit=limit,
            )
        return [
            AuditEntry.model_validate({k: v for k, v in from_item(item).items() if k in AuditEntry.model_fields})
            for item in page.get("Items", [])
        ]


class InMemoryAuditLog:
    def __init__(self) -> None:
        self.entries: dict[str, list[AuditEntry]] = {}

    def record(self, connection_id: str, entry: AuditEntry) -> None:
        self.entries.setdefault(connection_id, []).append(entry)

    def recent(self, connection_id: str, limit: int = 20) -> list[AuditEntry]:
        return list(reversed(self.entries.get(connection_id, [])))[:limit]
