"""Keep every accepted raw webhook delivery so ``replay`` can re-drive it later.

Every delivery has a key, ``deliveries/<source>/<YYYY>/<MM>/<DD>/<HH><MM><SS><ffffff>-<uuid>.json``;
sorting by key is sorting by receipt time, so "everything since T" is a walk over days. Where it is
kept depends on its size (docs/cost.md#the-raw-delivery-archive): a delivery whose compressed document
fits in :data:`INLINE_LIMIT_BYTES` is an item of the table (``pk=DELIVERY#<source>#<YYYY/MM/DD>``,
``sk=<key>``, ``doc`` = the zlib-compressed document, ``expires_at`` = the same retention as a TTL),
anything larger an S3 object under that key. A table write of up to 1 KB costs an eighth of an S3
PUT, and nearly every webhook delivery is a few hundred bytes. Both expire after
``DeliveryRetentionDays`` (template parameter, at least 14): the bucket by its lifecycle rule, the
table by TTL. :class:`ArchivedDeliveries` reads both, for ``replay`` and ``webhooks status``.

Only headers that matter for audit and replay are stored (content type, signatures, user agent,
Xero/Clio ids), and the request path with its query: Clio's payload does not name its model, the
webhook URL's ``?model=`` does, and ``replay`` needs it. Handshake secrets are never archived.
"""

from __future__ import annotations

import base64
import json
import uuid
import zlib
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

from botocore.exceptions import BotoCoreError, ClientError

from clio_xero.aws.errors import aws_errors, error_code, translate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

PREFIX = "deliveries"
#: Compressed documents up to this size are table items (at most 3 write units, ~$1.9 a million,
#: against $5 a million S3 PUTs); larger ones go to S3. DynamoDB's item limit is 400 KB.
INLINE_LIMIT_BYTES = 2048

KEPT_HEADERS = frozenset(
    {"content-type", "user-agent", "x-xero-signature", "x-hook-signature", "x-request-id", "x-amzn-trace-id"}
)


class DeliveryArchive(Protocol):
    def put(
        self,
        *,
        source: str,
        connection_id: str | None,
        headers: Mapping[str, str],
        body: bytes,
        received_at: datetime,
        path: str | None = None,
    ) -> str: ...


def delivery_key(source: str, received_at: datetime, unique: str) -> str:
    stamp = received_at.strftime("%Y/%m/%d/%H%M%S%f")
    return f"{PREFIX}/{source}/{stamp}-{unique}.json"


def delivery_partition(source: str, day: datetime) -> str:
    """The table partition holding ``source``'s small deliveries of ``day`` (UTC)."""
    return f"DELIVERY#{source}#{day:%Y/%m/%d}"


def day_prefixes(source: str, since: datetime, until: datetime) -> Iterator[tuple[datetime, str]]:
    """Each day from ``since`` to ``until`` with the S3 prefix of ``source``'s deliveries that day."""
    day = since.replace(hour=0, minute=0, second=0, microsecond=0)
    while day <= until:
        yield day, f"{PREFIX}/{source}/{day.strftime('%Y/%m/%d')}/"
        day += timedelta(days=1)


def request_target(path: str, query: Mapping[str, str]) -> str:
    """``/webhooks/clio/c1?model=contact``: the path and query a delivery was posted to."""
    return path + ("?" + urlencode(dict(query)) if query else "")


def delivery_received_at(key: str) -> datetime | None:
    """The receipt time encoded in a :func:`delivery_key` (its inverse); None for other keys."""
    try:
        parts = key.split("/")
        stamp = parts[-1].split("-", 1)[0]
        return datetime.strptime(f"{parts[-4]}{parts[-3]}{parts[-2]}{stamp}", "%Y%m%d%H%M%S%f").replace(tzinfo=UTC)
    except (IndexError, ValueError):
        return None


def delivery_document(
    *,
    source: str,
    connection_id: str | None,
    headers: Mapping[str, str],
    body: bytes,
    received_at: datetime,
    path: str | None = None,
) -> bytes:
    kept = {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS}
    doc = {
        "source": source,
        "connection_id": connection_id,
        "received_at": received_at.isoformat(),
        "headers": kept,
        "path": path,
        "body_b64": base64.b64encode(body).decode("ascii"),
    }
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")


class TieredDeliveryArchive:
    """Small deliveries as table items with a TTL, large ones as S3 objects (see the module doc).

    Either way the delivery is durably stored before :meth:`put` returns, so the receivers' order
    (archive, then enqueue, then answer) and ``replay`` keep working unchanged.
    """

    def __init__(
        self,
        *,
        table_name: str,
        dynamodb: DynamoDBClient,
        bucket: str,
        s3: S3Client,
        retention_days: int,
        inline_limit: int = INLINE_LIMIT_BYTES,
    ) -> None:
        self._table = table_name
        self._ddb = dynamodb
        self._bucket = bucket
        self._s3 = s3
        self._retention = timedelta(days=retention_days)
        self._inline_limit = inline_limit

    def put(
        self,
        *,
        source: str,
        connection_id: str | None,
        headers: Mapping[str, str],
        body: bytes,
        received_at: datetime,
        path: str | None = None,
    ) -> str:
        document = delivery_document(
            source=source, connection_id=connection_id, headers=headers, body=body, received_at=received_at, path=path
        )
        key = delivery_key(source, received_at, uuid.uuid4().hex)
        packed = zlib.compress(document, 9)
        if len(packed) > self._inline_limit:
            with aws_errors("archive raw delivery"):
                self._s3.put_object(Bucket=self._bucket, Key=key, Body=document, ContentType="application/json")
            return key
        expires = int((received_at + self._retention).timestamp())
        with aws_errors("archive raw delivery"):
            self._ddb.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": delivery_partition(source, received_at)},
                    "sk": {"S": key},
                    "doc": {"B": packed},
                    "expires_at": {"N": str(expires)},
                },
            )
        return key


class ArchivedDeliveries:
    """Reads the archive wherever a delivery was kept: table items first, then S3 objects."""

    def __init__(self, *, table_name: str, dynamodb: Any, bucket: str, s3: Any) -> None:
        self._table = table_name
        self._ddb = dynamodb
        self._bucket = bucket
        self._s3 = s3

    def keys(self, source: str, since: datetime, until: datetime) -> list[str]:
        """Keys of ``source``'s deliveries received in ``[since, until]``, oldest first."""
        found: list[str] = []
        for day, prefix in day_prefixes(source, since, until):
            found += self._day_keys(source, day, prefix)
        within = [k for k in found if (when := delivery_received_at(k)) is not None and since <= when <= until]
        return sorted(set(within), key=lambda k: (delivery_received_at(k), k))

    def newest(self, source: str, now: datetime, days: int) -> str | None:
        """The key of ``source``'s newest delivery, looking back at most ``days`` days."""
        for back in range(days + 1):
            day = now - timedelta(days=back)
            _, prefix = next(day_prefixes(source, day, day))
            keys = self._day_keys(source, day, prefix)
            if keys:
                return max(keys)
        return None

    def document(self, key: str) -> dict[str, Any] | None:
        """The stored document of one delivery (``source``, ``received_at``, ``headers``, ``path``,
        ``body_b64``); None when it is in neither place (expired, or never archived)."""
        received = delivery_received_at(key)
        parts = key.split("/")
        if received is not None and len(parts) > 1:
            with aws_errors("read an archived delivery"):
                item = self._ddb.get_item(
                    TableName=self._table,
                    Key={"pk": {"S": delivery_partition(parts[1], received)}, "sk": {"S": key}},
                ).get("Item")
            if item and "doc" in item:
                packed: bytes = item["doc"]["B"]
                return _parse(zlib.decompress(packed))
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                return None
            raise translate("read an archived delivery", exc) from exc
        except BotoCoreError as exc:
            raise translate("read an archived delivery", exc) from exc
        return _parse(body)

    def _day_keys(self, source: str, day: datetime, prefix: str) -> list[str]:
        keys: list[str] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": delivery_partition(source, day)}},
            "ProjectionExpression": "sk",
        }
        while True:
            with aws_errors("list archived deliveries"):
                page = self._ddb.query(**request)
            keys += [item["sk"]["S"] for item in page.get("Items", [])]
            if not page.get("LastEvaluatedKey"):
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        listing: dict[str, Any] = {"Bucket": self._bucket, "Prefix": prefix}
        while True:
            with aws_errors("list archived deliveries"):
                page = self._s3.list_objects_v2(**listing)
            keys += [item["Key"] for item in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                break
            listing["ContinuationToken"] = page["NextContinuationToken"]
        return keys


def _parse(raw: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(raw)
    return document
