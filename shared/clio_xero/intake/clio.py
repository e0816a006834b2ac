"""The Clio receiver: ``POST /webhooks/clio/{connection_id}[?model=<clio model>]``.

* Activation handshake: a request carrying ``X-Hook-Secret`` is accepted only for a webhook our own
  registration created and is waiting to activate (``?model=`` naming an unexpired expected
  activation, the webhook id Clio gave us, a bounded number of handshakes; see
  store/webhook_secrets.py and docs/threat-model.md). Then it is answered 200 echoing the header
  after the secret is stored (encrypted) for that webhook. Any other handshake is refused with
  403 and nothing is stored; one that would replace a different live secret is refused with 409.
* Every id is checked before anything is archived or queued (events.py: Clio ids are positive
  int64s); a signed delivery that is not Clio's shape is a 400 and is neither archived nor queued.
* Deliveries: ``X-Hook-Signature`` is HMAC-SHA256 of the raw body with the webhook's secret
  (hex; base64 accepted). Missing or wrong → 401 and nothing queued. Unknown connection → 404.
  Body over 1 MB → 413. Not JSON / not Clio's shape → 400.
* Clio's payload does not say which model (contact, bill...) it is about, so the webhook URL we
  register carries ``?model=``; the model stored at registration is the fallback. A signed
  delivery whose model we cannot tell is archived and answered 200 (so Clio does not retry and
  disable the webhook) and counted as ``UnroutableDeliveries``: replay can re-drive it.
* A delivery no sync needs (the webhook's stored ``queue_only_with`` rule, declared by the record
  types: e.g. an activity whose ``bill`` is null) is verified and archived, answered 200, logged
  and counted under ``Deliveries`` but not ``EventsQueued``; nothing is queued
  (:func:`clio_xero.events.clio_delivery_needed`; docs/billing.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, ValidationError

from clio_xero.aws.archive import DeliveryArchive, request_target
from clio_xero.aws.queue import EventPublisher
from clio_xero.clock import Clock
from clio_xero.errors import (
    MalformedPayloadError,
    PayloadTooLargeError,
    RetryableError,
    SignatureError,
    UnknownConnectionError,
    WebhookRejectedError,
)
from clio_xero.events import (
    ClioId,
    ClioWebhookPayload,
    clio_delivery_needed,
    clio_record_type,
    event_from_clio,
)
from clio_xero.intake.http import HttpRequest, HttpResponse, empty, error
from clio_xero.intake.limits import MAX_BODY_BYTES
from clio_xero.intake.observe import Counter, Log
from clio_xero.store.connections import ConnectionLookup
from clio_xero.store.webhook_secrets import ClioWebhookSecrets, StoredHook
from clio_xero.webhooks.signing import verify_clio


class _HandshakeData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    webhook_id: ClioId | None = None


class _HandshakeBody(BaseModel):
    """Clio's handshake body, ``{"data": {"webhook_id": <id>}}`` (shape UNCONFIRMED: docs/threat-model.md).

    ``meta`` is a delivery's: a delivery-shaped body carrying ``X-Hook-Secret`` is not a handshake.
    """

    model_config = ConfigDict(extra="ignore")

    data: _HandshakeData = _HandshakeData()
    meta: dict[str, object] | None = None


def handshake_webhook_id(body: bytes) -> str | None:
    """The webhook id a handshake body names (``data.webhook_id``), ``None`` when it names none.

    Raises :class:`MalformedPayloadError` for a body that is not a handshake (not JSON, nested
    beyond the parser's limit, a delivery's shape, an id that is not a Clio id).
    """
    try:
        parsed = _HandshakeBody.model_validate_json(body or b"{}")
    except ValidationError as exc:
        raise MalformedPayloadError(f"not a Clio handshake: {exc.errors()[0]['msg']}") from exc
    if parsed.meta is not None:
        raise MalformedPayloadError("a delivery body is not a handshake")
    return parsed.data.webhook_id


@dataclass
class ClioIntake:
    connections: ConnectionLookup
    secrets: ClioWebhookSecrets
    archive: DeliveryArchive
    publisher: EventPublisher
    clock: Clock
    log: Log
    count: Counter

    def handle(self, request: HttpRequest) -> HttpResponse:
        try:
            return self._handle(request)
        except WebhookRejectedError as exc:
            self.count("RejectedDeliveries")
            self.log.warning("clio delivery rejected", extra={"status": exc.status_code, "reason": exc.message})
            return error(exc.status_code, exc.message)
        except RetryableError as exc:
            self.count("IntakeFailures")
            self.log.error("clio delivery not stored; Clio will retry", extra={"reason": exc.message})
            return error(503, "temporarily unavailable")

    def _handle(self, request: HttpRequest) -> HttpResponse:
        if len(request.body) > MAX_BODY_BYTES:
            raise PayloadTooLargeError(f"body over {MAX_BODY_BYTES} bytes")
        connection_id = request.path_params.get("connection_id", "")
        if self.connections.get(connection_id) is None:
            raise UnknownConnectionError("unknown connection")
        secret = request.header("x-hook-secret")
        if secret is not None:
            return self._handshake(connection_id, secret, request)
        signature = request.header("x-hook-signature")
        if not signature:
            raise SignatureError("missing X-Hook-Signature header")
        payload = _parse(request.body)
        webhook_id = str(payload.meta.webhook_id)
        hook = self._verify(connection_id, webhook_id, signature, request)
        record_type = clio_record_type(request.query.get("model") or (hook.model if hook else None))
        received_at = self.clock.now()
        delivery_id = self.archive.put(
            source="clio",
            connection_id=connection_id,
            headers=request.headers,
            body=request.body,
            received_at=received_at,
            path=request_target(request.path, request.query),
        )
        if record_type is None:
            self.count("UnroutableDeliveries")
            self.log.error(
                "clio delivery for an unknown model archived, not queued",
                extra={"delivery_id": delivery_id, "webhook_id": webhook_id},
            )
            return empty(200)
        if hook is not None and not clio_delivery_needed(payload, hook.queue_only_with):
            # Counted as a delivery, not as a queued event (no metric of its own: each costs
            # $0.30 a month), and logged; replay can still queue it (docs/cost.md).
            self.count("Deliveries")
            self.log.info(
                "clio delivery archived, not queued: no sync needs it",
                extra={
                    "delivery_id": delivery_id,
                    "record_type": record_type.value,
                    "record_id": str(payload.data.id),
                    "none_of": ",".join(hook.queue_only_with),
                },
            )
            return empty(200)
        event = event_from_clio(
            payload,
            connection_id=connection_id,
            model=record_type,
            received_at=received_at,
            delivery_id=delivery_id,
        )
        self.publisher.publish([event])
        self.count("Deliveries")
        self.count("EventsQueued")
        self.log.info(
            "clio delivery accepted",
            extra={
                "delivery_id": delivery_id,
                "record_type": record_type.value,
                "action": event.action.value,
            },
        )
        return empty(200)

    def _handshake(self, connection_id: str, secret: str, request: HttpRequest) -> HttpResponse:
        if not secret.strip() or len(secret) > MAX_SECRET_CHARS:
            raise MalformedPayloadError("X-Hook-Secret is empty or too long")
        webhook_id = handshake_webhook_id(request.body)
        model = request.query.get("model") or ""
        expected = self.secrets.claim_handshake(connection_id, model, webhook_id) if model else None
        if expected is None:
            self.count("RejectedHandshakes")
            self.log.warning(
                "clio handshake refused: no activation of ours is waiting for it",
                extra={"webhook_id": webhook_id, "model": model},
            )
            return error(403, "no webhook activation is expected here")
        webhook_id = webhook_id or expected.webhook_id
        if not self.secrets.remember(connection_id, webhook_id, secret, model):
            self.count("RejectedHandshakes")
            self.log.warning(
                "clio handshake refused: webhook already has another secret", extra={"webhook_id": webhook_id}
            )
            return error(409, "this webhook is already activated with another secret")
        self.secrets.mark_activated(connection_id, model)
        if expected.queue_only_with and webhook_id:
            self._declare(connection_id, webhook_id, expected.queue_only_with)
        self.count("Handshakes")
        self.log.info("clio webhook activated", extra={"webhook_id": webhook_id, "model": model})
        return empty(200, {"X-Hook-Secret": secret})

    def _declare(self, connection_id: str, webhook_id: str, queue_only_with: tuple[str, ...]) -> None:
        """Keep registration's rule for this webhook's deliveries with its secret. Best effort: the
        webhook is activated either way, and until the rule is stored (by the next renewal at the
        latest) every delivery is queued, as before the rule existed."""
        try:
            self.secrets.declare(connection_id, webhook_id, queue_only_with)
        except RetryableError as exc:
            self.log.warning(
                "clio webhook activated; its queue rule is left to the renewal",
                extra={"webhook_id": webhook_id, "reason": exc.message},
            )

    def _verify(self, connection_id: str, webhook_id: str, signature: str, request: HttpRequest) -> StoredHook | None:
        """Verify the signature; returns what is stored for the webhook (``None`` for a pending
        secret just bound to it: no model, no queue rule)."""
        stored = self.secrets.lookup(connection_id, webhook_id)
        if stored is not None:
            verify_clio(request.body, signature, stored.secret)
            return stored
        for candidate in self.secrets.pending(connection_id):
            try:
                verify_clio(request.body, signature, candidate)
            except SignatureError:
                continue
            self.secrets.bind(connection_id, webhook_id, candidate)
            return None
        raise SignatureError(f"no activated secret for webhook {webhook_id}")


MAX_SECRET_CHARS = 512  # Clio's secrets are short tokens; a huge header is not one


def _parse(body: bytes) -> ClioWebhookPayload:
    try:
        return ClioWebhookPayload.model_validate_json(body)
    except ValidationError as exc:
        raise MalformedPayloadError(f"not a Clio webhook payload: {exc.errors()[0]['msg']}") from exc
