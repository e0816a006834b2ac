"""Per-connection settings: the knobs a firm turns (validated; defaults documented in README)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict

from clio_xero.aws.errors import aws_errors
from clio_xero.store.dynamo import connection_pk, from_item, key, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SETTINGS_SK = "#SETTINGS"


class ContactScope(StrEnum):
    """Which Clio contacts are sent to Xero."""

    ALL = "all"
    CLIENTS = "clients"  # Clio's "is_client": contacts that are a client on a matter
    BILLED = "billed"  # only contacts that have at least one bill


class ConnectionSettings(BaseModel):
    """Defaults are what a firm gets without touching anything."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # Law firms keep courts, opposing counsel and experts in Clio; they do not belong in the
    # books. Clients do. (Clio's own integration also sends clients only.)
    contact_scope: ContactScope = ContactScope.CLIENTS
    # Contacts created in Xero (suppliers, say) stay out of Clio unless the firm asks.
    import_xero_only_contacts: bool = False
    sync_contacts: bool = True
    updated_at: datetime | None = None


class SettingsStore(Protocol):
    def get(self, connection_id: str) -> ConnectionSettings: ...

    def put(self, connection_id: str, settings: ConnectionSettings) -> None: ...


class DynamoSettingsStore:
    def __init__(self, table_name: str, dynamodb: DynamoDBClient) -> None:
        self._table = table_name
        self._ddb = dynamodb

    def get(self, connection_id: str) -> ConnectionSettings:
        with aws_errors("read settings"):
            item = self._ddb.get_item(
                TableName=self._table, Key=key(connection_pk(connection_id), SETTINGS_SK), ConsistentRead=True
            ).get("Item")
        if not item:
            return ConnectionSettings()
        values = {k: v for k, v in from_item(item).items() if k in ConnectionSettings.model_fields}
        return ConnectionSettings.model_validate(values)

    def put(self, connection_id: str, settings: ConnectionSettings) -> None:
        values = settings.model_dump(mode="json")
        values.update(pk=connection_pk(connection_id), sk=SETTINGS_SK)
        with aws_errors("write settings"):
            self._ddb.put_item(TableName=self._table, Item=to_item(values))


class InMemorySettingsStore:
    def __init__(self) -> None:
        self.items: dict[str, ConnectionSettings] = {}

    def get(self, connection_id: str) -> ConnectionSettings:
        return self.items.get(connection_id, ConnectionSettings())

    def put(self, connection_id: str, settings: ConnectionSettings) -> None:
        self.items[connection_id] = settings
