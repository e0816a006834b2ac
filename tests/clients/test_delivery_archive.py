"""The raw delivery archive against moto (a server on loopback): small deliveries become table items
with a TTL, large ones S3 objects, and the reader finds both, in receipt order."""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from clio_xero.aws.archive import (
    INLINE_LIMIT_BYTES,
    ArchivedDeliveries,
    TieredDeliveryArchive,
    delivery_partition,
    delivery_received_at,
)
from tests.clients.conftest import CREDS, Aws

pytestmark = pytest.mark.integration
T0 = datetime(2026, 12, 1, 23, 59, 58, tzinfo=UTC)


@pytest.fixture
def parts(aws: Aws, moto_endpoint: str) -> dict[str, Any]:
    ddb, table = aws.dynamodb, aws.table
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, **CREDS)  # type: ignore[call-overload]
    bucket = f"b-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    archive = TieredDeliveryArchive(table_name=table, dynamodb=ddb, bucket=bucket, s3=s3, retention_days=30)
    reader = ArchivedDeliveries(table_name=table, dynamodb=ddb, bucket=bucket, s3=s3)
    return {"ddb": ddb, "s3": s3, "table": table, "bucket": bucket, "archive": archive, "reader": reader}


def put(parts: dict[str, Any], body: bytes, when: datetime, source: str = "xero") -> str:
    key: str = parts["archive"].put(
        source=source,
        connection_id=None if source == "xero" else "firm1",
        headers={"x-xero-signature": "sig", "Authorization": "Bearer secret"},
        body=body,
        received_at=when,
        path="/webhooks/xero",
    )
    return key


def objects(parts: dict[str, Any]) -> list[str]:
    listed = parts["s3"].list_objects_v2(Bucket=parts["bucket"])
    return [o["Key"] for o in listed.get("Contents", [])]


def test_a_small_delivery_is_a_table_item_with_the_retention_as_its_ttl(parts: dict[str, Any]) -> None:
    body = json.dumps({"events": [{"resourceId": "abc"}], "entropy": "x"}).encode()
    key = put(parts, body, T0)
    assert objects(parts) == []  # no S3 PUT for it
    item = parts["ddb"].get_item(
        TableName=parts["table"], Key={"pk": {"S": delivery_partition("xero", T0)}, "sk": {"S": key}}
    )["Item"]
    assert int(item["expires_at"]["N"]) == int((T0 + timedelta(days=30)).timestamp())
    assert delivery_received_at(key) == T0
    document = parts["reader"].document(key)
    assert base64.b64decode(document["body_b64"]) == body
    assert document["headers"] == {"x-xero-signature": "sig"}  # only the kept headers, as before
    assert document["path"] == "/webhooks/xero"


def test_a_large_delivery_is_an_s3_object_read_back_byte_for_byte(parts: dict[str, Any]) -> None:
    body = os.urandom(3 * INLINE_LIMIT_BYTES)  # incompressible: never fits in an item
    key = put(parts, body, T0)
    assert objects(parts) == [key]
    stored = json.loads(parts["s3"].get_object(Bucket=parts["bucket"], Key=key)["Body"].read())
    assert base64.b64decode(stored["body_b64"]) == body  # the same document format as ever
    document = parts["reader"].document(key)
    assert base64.b64decode(document["body_b64"]) == body


def test_the_reader_lists_both_places_in_receipt_order_across_days(parts: dict[str, Any]) -> None:
    small_before = put(parts, b'{"events":[]}', T0)
    large = put(parts, os.urandom(3 * INLINE_LIMIT_BYTES), T0 + timedelta(seconds=1))
    small_next_day = put(parts, b'{"events":[1]}', T0 + timedelta(seconds=3))  # after midnight
    put(parts, b'{"events":[2]}', T0 + timedelta(seconds=3), source="clio")  # another source
    reader: ArchivedDeliveries = parts["reader"]
    assert reader.keys("xero", T0 - timedelta(hours=1), T0 + timedelta(hours=1)) == [
        small_before,
        large,
        small_next_day,
    ]
    assert reader.keys("xero", T0 + timedelta(seconds=2), T0 + timedelta(hours=1)) == [small_next_day]
    assert reader.newest("xero", T0 + timedelta(hours=1), days=3) == small_next_day
    assert reader.newest("xero", T0 + timedelta(days=10), days=3) is None  # outside the look-back


def test_a_key_in_neither_place_reads_as_none(parts: dict[str, Any]) -> None:
    key = put(parts, b'{"events":[]}', T0)
    missing = key.replace(key.rsplit("-", 1)[1], "0" * 32 + ".json")
    assert parts["reader"].document(missing) is None
