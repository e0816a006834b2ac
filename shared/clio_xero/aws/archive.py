"""Keep every accepted raw webhook delivery in S3 so ``replay`` can re-drive it later.

Key layout: ``deliveries/<source>/<YYYY>/<MM>/<DD>/<HH><MM><SS><ffffff>-<uuid>.json``. Sorting by key
is sorting by receipt time, so "everything since T" is a prefix walk. The bucket's lifecycle rule
expires objects after ``DeliveryRetentionDays`` (template parameter, at least 14).

Only headers that matter for audit and replay are stored (content type, signatures, user agent,
Xero/Clio ids), and the request path with its query: Clio's payload does not name its model, the
webhook URL's ``?model=`` does, and ``replay`` needs it. Handshake secrets are never archived.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlencode

from clio_xero.aws.errors import aws_errors

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

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
    return f"deliveries/{source}/{stamp}-{unique}.json"


def request_target(path: str, query: Mapping[str, str]) -> str:
    """``/webhooks/clio/c1?model=contact``: the path and query a delivery was posted to."""
    return path + ("?" + urlencode(dict(query)) if query else "")


def delivery_received_at(key: str) -> datetime | None:
    """The receipt time encoded in a :func:`delivery_key` (its inverse); None for other keys."""
    from datetime import UTC

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


class S3DeliveryArchive:
    """Writes one object per delivery; the object key is the delivery id."""

    def __init__(self, bucket: str, s3: S3Client) -> None:
        self._bucket = bucket
        self._s3 = s3

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
        key = delivery_key(source, received_at, uuid.uuid4().hex)
        document = delivery_document(
            source=source,
            connection_id=connection_id,
            headers=headers,
            body=body,
            received_at=received_at,
            path=path,
        )
        with aws_errors("archive raw delivery"):
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=document, ContentType="application/json")
        return key
