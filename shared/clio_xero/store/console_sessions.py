"""DynamoDB adapter of the console's sessions (the port and the model: clio_xero.console.sessions)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from clio_xero.aws.errors import aws_errors
from clio_xero.console.sessions import SESSION_SK, ConsoleSession, session_pk
from clio_xero.store.dynamo import from_item, key, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DynamoSessionStore"]


class DynamoSessionStore:
    def __init__(self, table_name: str, dynamodb: DynamoDBClient) -> None:
        self._table = table_name
        self._ddb = dynamodb

    def put(self, session_id: str, session: ConsoleSession) -> None:
        values = {"pk": session_pk(session_id), "sk": SESSION_SK, **session.model_dump(mode="json")}
        values["expires_at"] = session.expires  # the table's TTL attribute
        with aws_errors("store console session"):
            self._ddb.put_item(
                TableName=self._table, Item=to_item(values), ConditionExpression="attribute_not_exists(pk)"
            )

    def get(self, session_id: str, now: datetime) -> ConsoleSession | None:
        if not session_id or len(session_id) > 100:
            return None
        with aws_errors("read console session"):
            item = self._ddb.get_item(
                TableName=self._table, Key=key(session_pk(session_id), SESSION_SK), ConsistentRead=True
            ).get("Item")
        if not item:
            return None
        values = {k: v for k, v in from_item(item).items() if k in ConsoleSession.model_fields}
        session = ConsoleSession.model_validate(values)
        return session if session.live(now) else None

    def delete(self, session_id: str) -> None:
        with aws_errors("end console session"):
            self._ddb.delete_item(TableName=self._table, Key=key(session_pk(session_id), SESSION_SK))
