"""The mapping table in DynamoDB (the item layout is described in :mod:`clio_xero.sync.mapping`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from clio_xero.aws.errors import aws_errors, is_condition_failure, translate
from clio_xero.errors import LinkTakenError, StaleMappingError
from clio_xero.store.dynamo import connection_pk, from_item, key, to_item
from clio_xero.sync.mapping import Mapping

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DynamoMappingStore", "mapping_sk", "reverse_sk"]


def mapping_sk(record_type: str, clio_id: str) -> str:
    return f"MAP#{record_type}#clio#{clio_id}"


def reverse_sk(record_type: str, xero_id: str) -> str:
    return f"MAP#{record_type}#xero#{xero_id.lower()}"


def _serialise(mapping: Mapping) -> dict[str, Any]:
    values = mapping.model_dump(mode="json", exclude={"synced", "conflicts", "candidates"})
    values["synced"] = json.dumps(mapping.synced) if mapping.synced is not None else None
    values["conflicts"] = json.dumps([c.model_dump(mode="json") for c in mapping.conflicts])
    values["candidates"] = json.dumps(mapping.candidates)
    return values


def _deserialise(item: dict[str, Any]) -> Mapping:
    values = from_item(item)
    values["synced"] = json.loads(values["synced"]) if values.get("synced") else None
    values["conflicts"] = json.loads(values.get("conflicts") or "[]")
    values["candidates"] = json.loads(values.get("candidates") or "[]")
    values["version"] = int(values.get("version", 0))
    values["attempts"] = int(values.get("attempts", 0))
    return Mapping.model_validate(values)


class DynamoMappingStore:
    def __init__(self, table_name: str, dynamodb: DynamoDBClient) -> None:
        self._table = table_name
        self._ddb = dynamodb

    def get(self, connection_id: str, record_type: str, clio_id: str) -> Mapping | None:
        with aws_errors("read mapping"):
            result = self._ddb.get_item(
                TableName=self._table,
                Key=key(connection_pk(connection_id), mapping_sk(record_type, clio_id)),
                ConsistentRead=True,
            )
        item = result.get("Item")
        return _deserialise(item) if item else None

    def clio_id_for(self, connection_id: str, record_type: str, xero_id: str) -> str | None:
        with aws_errors("read reverse mapping"):
            result = self._ddb.get_item(
                TableName=self._table,
                Key=key(connection_pk(connection_id), reverse_sk(record_type, xero_id)),
                ConsistentRead=True,
            )
        item = result.get("Item")
        return str(from_item(item)["clio_id"]) if item else None

    def _primary(self, mapping: Mapping) -> dict[str, Any]:
        values = _serialise(mapping)
        values.update(pk=connection_pk(mapping.connection_id), sk=mapping_sk(mapping.record_type, mapping.clio_id))
        return to_item(values)

    def _reverse(self, mapping: Mapping, xero_id: str) -> dict[str, Any]:
        return to_item(
            {
                "pk": connection_pk(mapping.connection_id),
                "sk": reverse_sk(mapping.record_type, xero_id),
                "clio_id": mapping.clio_id,
                "xero_id": xero_id,
            }
        )

    def _write(self, what: str, items: list[Any], *, on_condition: type[LinkTakenError | StaleMappingError]) -> None:
        """Write ``items``: one item as a plain conditional write, several in one transaction.

        A transaction costs twice the write units of the same writes (docs/cost.md#mapping-writes);
        it is needed only where items must change together (a link and its reverse item). One
        conditional item write is already atomic, so its guarantee is the same without one.
        ``on_condition`` is what a failed condition on that one item means."""
        if len(items) > 1:
            self._transact(what, items)
            return
        ((operation, request),) = items[0].items()
        try:
            if operation == "Put":
                self._ddb.put_item(**request)
            else:
                self._ddb.delete_item(**request)
        except (ClientError, BotoCoreError) as exc:
            if is_condition_failure(exc):
                raise on_condition(f"{what}: condition failed") from exc
            raise translate(what, exc) from exc

    def _transact(self, what: str, items: list[Any]) -> None:
        try:
            self._ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                raise (
                    LinkTakenError(f"{what}: already linked ({reasons})")
                    if "ConditionalCheckFailed" in reasons
                    else StaleMappingError(f"{what}: transaction cancelled ({reasons})")
                ) from exc
            raise translate(what, exc) from exc
        except BotoCoreError as exc:
            raise translate(what, exc) from exc

    def create(self, mapping: Mapping) -> Mapping:
        """Create the mapping (and its reverse item when linked); fails if either exists."""
        mapping = mapping.model_copy(update={"version": 1})
        items: list[Any] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": self._primary(mapping),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        if mapping.xero_id:
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": self._reverse(mapping, mapping.xero_id),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        self._write("create mapping", items, on_condition=LinkTakenError)
        return mapping

    def update(self, mapping: Mapping, *, previous_xero_id: str | None) -> Mapping:
        """Write ``mapping`` if nobody changed it since it was read (``version``).

        When its Xero id differs from ``previous_xero_id`` (first link, or a merge re-pointed it)
        the new reverse item is created and the old one deleted in the same transaction.
        """
        expected = mapping.version
        updated = mapping.model_copy(update={"version": expected + 1})
        items: list[Any] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": self._primary(updated),
                    "ConditionExpression": "#v = :v",
                    "ExpressionAttributeNames": {"#v": "version"},
                    "ExpressionAttributeValues": {":v": {"N": str(expected)}},
                }
            }
        ]
        if updated.xero_id and updated.xero_id != previous_xero_id:
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": self._reverse(updated, updated.xero_id),
                        "ConditionExpression": "attribute_not_exists(pk) OR clio_id = :c",
                        "ExpressionAttributeValues": {":c": {"S": updated.clio_id}},
                    }
                }
            )
        if previous_xero_id and previous_xero_id != updated.xero_id:
            items.append(
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": key(
                            connection_pk(mapping.connection_id), reverse_sk(mapping.record_type, previous_xero_id)
                        ),
                    }
                }
            )
        self._write("update mapping", items, on_condition=StaleMappingError)
        return updated

    def delete(self, mapping: Mapping) -> None:
        items: list[Any] = [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": key(connection_pk(mapping.connection_id), mapping_sk(mapping.record_type, mapping.clio_id)),
                }
            }
        ]
        if mapping.xero_id:
            items.append(
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": key(
                            connection_pk(mapping.connection_id), reverse_sk(mapping.record_type, mapping.xero_id)
                        ),
                    }
                }
            )
        self._write("delete mapping", items, on_condition=StaleMappingError)

    def list(self, connection_id: str, record_type: str) -> list[Mapping]:
        out: list[Mapping] = []
        start: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "ExpressionAttributeValues": {
                    ":pk": {"S": connection_pk(connection_id)},
                    ":prefix": {"S": f"MAP#{record_type}#clio#"},
                },
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            with aws_errors("list mappings"):
                page = self._ddb.query(**kwargs)
            out.extend(_deserialise(i) for i in page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                return out

    def purge(self, connection_id: str) -> int:
        """Delete every mapping item of the connection (``disconnect --purge``); how many went."""
        deleted = 0
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": connection_pk(connection_id)}, ":prefix": {"S": "MAP#"}},
            "ProjectionExpression": "pk, sk",
        }
        while True:
            with aws_errors("list mappings"):
                page = self._ddb.query(**request)
            for item in page.get("Items", []):
                with aws_errors("delete mapping"):
                    self._ddb.delete_item(TableName=self._table, Key={"pk": item["pk"], "sk": item["sk"]})
                deleted += 1
            if not page.get("LastEvaluatedKey"):
                return deleted
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
