"""The sweep's cursors in DynamoDB: ``pk=CONN#<id>``, ``sk=#CURSOR#<side>:<record type>``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from clio_xero.aws.errors import aws_errors
from clio_xero.store.dynamo import connection_pk, from_item, key, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DynamoCursorStore"]


class DynamoCursorStore:
    def __init__(self, table_name: str, dynamodb: DynamoDBClient) -> None:
        self._table = table_name
        self._ddb = dynamodb

    def get(self, connection_id: str, name: str) -> datetime | None:
        with aws_errors("read sweep cursor"):
            item = self._ddb.get_item(
                TableName=self._table, Key=key(connection_pk(connection_id), f"#CURSOR#{name}"), ConsistentRead=True
            ).get("Item")
        return datetime.fromisoformat(from_item(item)["value"]) if item else None

    def put(self, connection_id: str, name: str, value: datetime) -> None:
        item = {"pk": connection_pk(connection_id), "sk": f"#CURSOR#{name}", "value": value.isoformat()}
        with aws_errors("write sweep cursor"):
            self._ddb.put_item(TableName=self._table, Item=to_item(item))
