"""Backfill checkpoints in DynamoDB: ``pk=CONN#<id>``, ``sk=#CHECKPOINT#backfill#<record type>``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from clio_xero.aws.errors import aws_errors
from clio_xero.store.dynamo import connection_pk, from_item, key, to_item
from clio_xero.sync.backfill import CHECKPOINT_SK, Checkpoint

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DynamoCheckpointStore"]


class DynamoCheckpointStore:
    def __init__(self, table_name: str, dynamodb: DynamoDBClient, record_type: str | None = None) -> None:
        """``record_type``: whose backfill (default the contacts', as before record types)."""
        self._table = table_name
        self._ddb = dynamodb
        self._sk = CHECKPOINT_SK if record_type is None else f"#CHECKPOINT#backfill#{record_type}"

    def get(self, connection_id: str) -> Checkpoint | None:
        with aws_errors("read backfill checkpoint"):
            item = self._ddb.get_item(
                TableName=self._table, Key=key(connection_pk(connection_id), self._sk), ConsistentRead=True
            ).get("Item")
        if not item:
            return None
        values = from_item(item)
        return Checkpoint.model_validate(
            {
                "phase": values["phase"],
                "last_clio_id": int(values["last_clio_id"]) if values.get("last_clio_id") is not None else None,
                "counts": json.loads(values.get("counts") or "{}"),
                "started_at": values["started_at"],
                "updated_at": values["updated_at"],
            }
        )

    def put(self, connection_id: str, checkpoint: Checkpoint) -> None:
        values = checkpoint.model_dump(mode="json")
        values.update(pk=connection_pk(connection_id), sk=self._sk, counts=json.dumps(checkpoint.counts))
        with aws_errors("write backfill checkpoint"):
            self._ddb.put_item(TableName=self._table, Item=to_item(values))
