"""The Xero receiver: ``POST /webhooks/xero``.

Xero's rules (docs/facts-xero.md#webhooks): answer within 5 seconds; a correctly signed
request gets 200 with an empty body, a wrongly signed or unsigned one gets 401, always (that is
the whole intent-to-receive check). One delivery may batch events for several tenants.

Choices where Xero is silent:
* A correctly signed body that is not the documented JSON (including nesting deeper than the
  parser allows, or a resourceId/tenantId that is not a GUID) is archived and answered 200 (a 4xx
  would make Xero retry for a day and then disable the webhook); nothing of it is queued; it is
  logged and counted as ``MalformedDeliveries`` so nothing is lost and someone can look.
* Events for a tenant no connection knows are counted (``UnknownTenantEvents``) and dropped.
* Categories we do not sync (e.g. SUBSCRIPTION) are counted (``IgnoredEvents``) and dropped.
* If archiving or enqueueing fails we answer 503 so Xero redelivers; events already queued are
  deduplicated by their dedupe key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from clio_xero.aws.archive import DeliveryArchive, request_target
from clio_xero.aws.queue import EventPublisher
from clio_xero.clock import Clock
from clio_xero.errors import RetryableError, SignatureError, SyncError
from clio_xero.events import SyncEvent, XeroWebhookPayload, event_from_xero
from clio_xero.intake.http import HttpRequest, HttpResponse, empty
from clio_xero.intake.limits import MAX_BODY_BYTES
from clio_xero.intake.observe import Counter, Log
from clio_xero.store.connections import ConnectionLookup
from clio_xero.webhooks.signing import verify_xero


@dataclass
class XeroIntake:
    webhook_key: Callable[[], str]
    connections: ConnectionLookup
    archive: DeliveryArchive
    publisher: EventPublisher
    clock: Clock
    log: Log
    count: Counter

    def handle(self, request: HttpRequest) -> HttpResponse:
        if len(request.body) > MAX_BODY_BYTES:
            self.count("RejectedDeliveries")
            return empty(413)
        try:
            verify_xero(request.body, request.header("x-xero-signature"), self.webhook_key())
        except SignatureError as exc:
            self.count("RejectedDeliveries")
            self.log.warning("xero delivery rejected", extra={"reason": exc.message})
            return empty(401)
        try:
            return self._accept(request)
        except RetryableError as exc:
            self.log.error("xero delivery not stored; Xero will retry", extra={"reason": exc.message})
            self.count("IntakeFailures")
            return empty(503)

    def _accept(self, request: HttpRequest) -> HttpResponse:
        received_at = self.clock.now()
        try:
            # Pydantic's JSON parser bounds nesting depth (a 100,000-level body is a ValidationError,
            # never a RecursionError) and checks every id before anything is queued.
            payload = XeroWebhookPayload.model_validate_json(request.body)
        except ValidationError:
            delivery_id = self.archive.put(
                source="xero",
                connection_id=None,
                headers=request.headers,
                body=request.body,
                received_at=received_at,
                path=request_target(request.path, request.query),
            )
            self.log.error("signed xero delivery is not the documented JSON", extra={"delivery_id": delivery_id})
            self.count("MalformedDeliveries")
            return empty(200)
        if not payload.events:
            self.count("IntentToReceive")
            return empty(200)
        delivery_id = self.archive.put(
            source="xero",
            connection_id=None,
            headers=request.headers,
            body=request.body,
            received_at=received_at,
            path=request_target(request.path, request.query),
        )
        events = self.normalise(payload, received_at, delivery_id)
        if events:
            self.publisher.publish(events)
        self.count("Deliveries")
        self.count("EventsQueued", len(events))
        self.log.info("xero delivery accepted", extra={"delivery_id": delivery_id, "queued": len(events)})
        return empty(200)

    def normalise(self, payload: XeroWebhookPayload, received_at: datetime, delivery_id: str) -> list[SyncEvent]:
        tenants: dict[str, list[str]] = {}
        events: list[SyncEvent] = []
        for item in payload.events:
            if item.tenantId not in tenants:
                tenants[item.tenantId] = [c.connection_id for c in self.connections.find_by_xero_tenant(item.tenantId)]
            connection_ids = tenants[item.tenantId]
            if not connection_ids:
                self.count("UnknownTenantEvents")
                continue
            for connection_id in connection_ids:
                try:
                    event = event_from_xero(
                        item, connection_id=connection_id, received_at=received_at, delivery_id=delivery_id
                    )
                except (ValidationError, SyncError):
                    event = None
                if event is None:
                    self.count("IgnoredEvents")
                    continue
                events.append(event)
        return events
