"""Per-connection settings in DynamoDB (the layout is described in :mod:`clio_xero.sync.settings`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clio_xero.aws.errors import aws_errors
from clio_xero.store.dynamo import connection_pk, from_item, key, to_item
from clio_xero.sync.settings import ConnectionSettings, setting_keys

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["SETTINGS_SK", "DynamoSettingsStore"]

SETTINGS_SK = "#SETTINGS"


class DynamoSettingsStore:
    def __init__(self, table_name: str, dynamodb: DynamoDBClient, *, consistent: bool = True) -> None:
        """``consistent=False`` (the worker and the sweep): eventually consistent reads, half the
        read units; a change is seen within about a second of its write (docs/cost.md#the-settings-item).
        The console and the CLI read consistently: they must show what they just wrote."""
        self._table = table_name
        self._ddb = dynamodb
        self._consistent = consistent

    def get(self, connection_id: str) -> ConnectionSettings:
        with aws_errors("read settings"):
            item = self._ddb.get_item(
                TableName=self._table,
                Key=key(connection_pk(connection_id), SETTINGS_SK),
                ConsistentRead=self._consistent,
            ).get("Item")
        if not item:
            return ConnectionSettings()
        known = set(ConnectionSettings.model_fields) | set(setting_keys())
        values = {k: v for k, v in from_item(item).items() if k in known}
        return ConnectionSettings.model_validate(values)

    def put(self, connection_id: str, settings: ConnectionSettings) -> None:
        values = settings.model_dump(mode="json")
        values.update(pk=connection_pk(connection_id), sk=SETTINGS_SK)
        with aws_errors("write settings"):
            self._ddb.put_item(TableName=self._table, Item=to_item(values))
