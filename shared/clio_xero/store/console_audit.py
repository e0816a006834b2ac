"""DynamoDB adapter of the console's change log (the port and the model: clio_xero.console.audit)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from clio_xero.aws.errors import aws_errors
from clio_xero.console.audit import AUDIT_PREFIX, AUDIT_RETENTION, AuditEntry
from clio_xero.store.dynamo import connection_pk, from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DynamoAuditLog"]


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
