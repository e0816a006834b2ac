"""What webhook registration recorded per connection and Clio model (the DynamoDB adapter of
:class:`clio_xero.webhooks.registration.WebhookRecords`; ``webhooks status`` reads them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clio_xero.aws.errors import aws_errors
from clio_xero.store.dynamo import connection_pk, from_item, to_item
from clio_xero.webhooks.registration import WebhookRecord, record_sk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DynamoWebhookRecords"]


class DynamoWebhookRecords:
    def __init__(self, table_name: str, dynamodb: DynamoDBClient) -> None:
        self._table = table_name
        self._ddb = dynamodb

    def put(self, record: WebhookRecord) -> None:
        values = record.model_dump(mode="json")
        values.update(pk=connection_pk(record.connection_id), sk=record_sk(record.model))
        with aws_errors("record Clio webhook"):
            self._ddb.put_item(TableName=self._table, Item=to_item(values))

    def list(self, connection_id: str) -> list[WebhookRecord]:
        with aws_errors("read Clio webhook records"):
            result = self._ddb.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={
                    ":pk": {"S": connection_pk(connection_id)},
                    ":prefix": {"S": "CLIOWEBHOOK#"},
                },
            )
        return [WebhookRecord.model_validate(from_item(i)) for i in result.get("Items", [])]
