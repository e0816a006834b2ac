"""``replay``: re-drive raw deliveries kept in the DeliveryBucket through the receivers' own normalisers.

Deliveries are keyed ``deliveries/<source>/<YYYY>/<MM>/<DD>/<HHMMSSffffff>-<uuid>.json`` and kept
as table items (small ones) or S3 objects (large ones) (:mod:`clio_xero.aws.archive`, which reads
both), so a time range is a walk over days in both places. Each document is
normalised again with the same pure functions the receivers use (``event_from_xero`` /
``event_from_clio``), so every replayed event carries **the dedupe key of the original**: SQS FIFO
drops it if the original is still within its 5-minute window, and the worker, which reads
current state, makes a late duplicate a no-op. Replaying is therefore always safe.

Signatures are not checked again: the receiver verified every archived delivery before storing it.

Clio's payload does not name its model; the receiver took it from ``?model=`` in the webhook URL,
else from the model stored with the webhook's secret. Replay does the same: the archived request
path first, then the stored model (a plain attribute of the secret's item: no decryption needed;
deliveries archived before the path was kept have only this).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import ValidationError

from clio_xero.admin.stack import OpsStack
from clio_xero.aws.archive import ArchivedDeliveries, delivery_received_at
from clio_xero.aws.archive import day_prefixes as archive_days
from clio_xero.aws.errors import aws_errors
from clio_xero.aws.queue import SqsEventPublisher
from clio_xero.errors import SyncError
from clio_xero.events import (
    ClioWebhookPayload,
    Source,
    SyncEvent,
    XeroWebhookPayload,
    clio_record_type,
    event_from_clio,
    event_from_xero,
)
from clio_xero.store.dynamo import connection_pk, from_item, key
from clio_xero.store.webhook_secrets import hook_sk


@dataclass
class ReplayReport:
    deliveries: int = 0
    events: list[SyncEvent] = field(default_factory=list)
    published: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # delivery key -> why

    def as_dict(self) -> dict[str, Any]:
        return {
            "deliveries": self.deliveries,
            "events": len(self.events),
            "published": self.published,
            "skipped": self.skipped,
            "records": sorted(
                {f"{e.connection_id}/{e.source.value}:{e.record_type.value}:{e.record_id}" for e in self.events}
            ),
        }


def day_prefixes(source: str, since: datetime, until: datetime) -> Iterator[str]:
    """The S3 prefixes of ``source``'s deliveries, a day each (the table is walked by day too)."""
    return (prefix for _, prefix in archive_days(source, since, until))


class Replayer:
    def __init__(self, stack: OpsStack) -> None:
        self._stack = stack
        self._models: dict[tuple[str, str], str | None] = {}
        self._tenants: dict[str, list[str]] = {}

    @property
    def _archive(self) -> ArchivedDeliveries:
        return ArchivedDeliveries(
            table_name=self._stack.table_name,
            dynamodb=self._stack.dynamodb,
            bucket=self._stack.delivery_bucket,
            s3=self._stack.client("s3"),
        )

    def delivery_keys(self, sources: list[str], since: datetime, until: datetime) -> list[str]:
        archive = self._archive
        keys = [key for source in sources for key in archive.keys(source, since, until)]
        return sorted(keys, key=lambda k: (delivery_received_at(k), k))

    def _document(self, key: str) -> dict[str, Any]:
        document = self._archive.document(key)
        if document is None:
            raise ValueError("no longer archived (expired, or removed)")
        return document

    def events_for(self, object_key: str, document: dict[str, Any]) -> list[SyncEvent]:
        """The events the receiver made from this delivery; ``ValueError`` when it cannot make any."""
        raw = base64.b64decode(document["body_b64"])
        received_at = datetime.fromisoformat(document["received_at"])
        if document.get("source") == Source.XERO.value:
            return self._xero(raw, received_at, object_key)
        return self._clio(raw, document, received_at, object_key)

    def _xero(self, raw: bytes, received_at: datetime, object_key: str) -> list[SyncEvent]:
        try:
            payload = XeroWebhookPayload.model_validate(json.loads(raw))
        except (ValueError, ValidationError):
            raise ValueError("not the documented Xero JSON (archived as malformed)") from None
        events: list[SyncEvent] = []
        for item in payload.events:
            if item.tenantId not in self._tenants:
                found = self._stack.connections().find_by_xero_tenant(item.tenantId)
                self._tenants[item.tenantId] = [c.connection_id for c in found]
            for connection_id in self._tenants[item.tenantId]:
                try:
                    event = event_from_xero(
                        item, connection_id=connection_id, received_at=received_at, delivery_id=object_key
                    )
                except (ValidationError, SyncError):
                    event = None
                if event is not None:
                    events.append(event)
        return events

    def _stored_model(self, connection_id: str, webhook_id: str) -> str | None:
        cache_key = (connection_id, webhook_id)
        if cache_key not in self._models:
            with aws_errors("read a webhook's model"):
                item = self._stack.dynamodb.get_item(
                    TableName=self._stack.table_name,
                    Key=key(connection_pk(connection_id), hook_sk(webhook_id)),
                    ProjectionExpression="#m",
                    ExpressionAttributeNames={"#m": "model"},
                ).get("Item")
            self._models[cache_key] = from_item(item).get("model") if item else None
        return self._models[cache_key]

    def _clio(self, raw: bytes, document: dict[str, Any], received_at: datetime, object_key: str) -> list[SyncEvent]:
        connection_id = document.get("connection_id")
        if not connection_id:
            raise ValueError("no connection id in the archived Clio delivery")
        try:
            payload = ClioWebhookPayload.model_validate_json(raw)
        except ValidationError:
            raise ValueError("not a Clio webhook payload") from None
        # A newer archive may keep the request path; its ?model= is what the receiver used first.
        query_model = parse_qs(urlsplit(str(document.get("path") or "")).query).get("model", [None])[0]
        model = query_model or self._stored_model(connection_id, str(payload.meta.webhook_id))
        record_type = clio_record_type(model)
        if record_type is None:
            raise ValueError(f"cannot tell the model of webhook {payload.meta.webhook_id}")
        try:
            event = event_from_clio(
                payload, connection_id=connection_id, model=record_type, received_at=received_at, delivery_id=object_key
            )
        except SyncError as exc:
            raise ValueError(exc.message) from None
        return [event]

    def replay(
        self,
        *,
        since: datetime,
        until: datetime,
        sources: list[str],
        connection_id: str | None = None,
        dry_run: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> ReplayReport:
        report = ReplayReport()
        keys = self.delivery_keys(sources, since, until)
        publisher = SqsEventPublisher(self._stack.queue_url, self._stack.sqs)
        for index, object_key in enumerate(keys, 1):
            report.deliveries += 1
            try:
                events = self.events_for(object_key, self._document(object_key))
            except (ValueError, KeyError) as exc:
                report.skipped[object_key] = str(exc) or type(exc).__name__
                events = []
            events = [e for e in events if connection_id is None or e.connection_id == connection_id]
            report.events.extend(events)
            if events and not dry_run:
                report.published += publisher.publish(events)
            if progress:
                progress(index, len(keys))
        return report
