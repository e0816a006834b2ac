"""Clio's Webhooks: subscriptions, the activation handshake, watch lists, signed deliveries,
retries with backoff, suspension.

Rules (docs/facts-clio.md#webhooks, and the Webhooks tag of the official spec):

* create → status ``pending`` and a handshake POST carrying ``X-Hook-Secret`` and, in the body,
  ``{"data":{"webhook_id": id}}`` (body shape UNCONFIRMED: taken from public code). Echoing the
  header with 200 enables the webhook; so does ``PUT /webhooks/{id}/activate`` with the header.
  The handshake is unsigned and not retried (retrying is UNCONFIRMED; see the docs).
* a URL change repeats the handshake (with a new secret) and puts the webhook back to pending;
* ``fields`` is the payload and, for ``updated``, a watch list: a delivery goes out only when the
  projection changed, except the first update of a record this webhook never sent;
* deliveries are signed: ``X-Hook-Signature`` = hex HMAC-SHA256 of the raw body;
* 2xx/3xx/410 count as delivered, 410 also suspends the webhook; anything else (or a transport
  error) is retried after 2, 4, 8, 16 and 32 minutes of sandbox time, then the webhook is
  suspended;
* expiry defaults to 3 days, at most 31; an expired webhook is removed (what Clio does at expiry
  is UNCONFIRMED; removal makes a client that forgets to renew fail loudly).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from clio_xero.webhooks.signing import sign_clio
from clio_xero_tools.sandbox._base import FaultPlan, delivery_client

from .api_errors import bad_request, unprocessable
from .fields import MAX_WEBHOOK_FIELDS_LENGTH, FieldsError, Selection, parse_fields
from .resources import REGISTRY, iso, render, validate
from .store import Change, Record, Store

MODEL_IDS = {
    1: "matter",
    2: "activity",
    3: "bill",
    4: "calendar_entry",
    5: "communication",
    6: "contact",
    7: "task",
    8: "document",
    9: "folder",
    10: "clio_payments_payment",
}
MODEL_RESOURCE = {"matter": "matters", "activity": "activities", "bill": "bills", "contact": "contacts"}
BASE_EVENTS = ("created", "updated", "deleted")
MATTER_EVENTS = ("matter_opened", "matter_pended", "matter_closed")
DEFAULT_TTL = timedelta(days=3)
MAX_TTL = timedelta(days=31)
RETRY_MINUTES = (2, 4, 8, 16, 32)  # [SUP-RETRY]: base 2 min, doubling, 5 re-attempts
DELIVERY_TIMEOUT_S = 5.0
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}

DeliveryState = Literal["pending", "delivered", "failed", "dropped", "abandoned"]


@dataclass
class Delivery:
    """One outgoing POST (a handshake or an event) and what happened to it."""

    id: int
    webhook_id: int
    kind: Literal["handshake", "event"]
    body: bytes
    due_at: datetime
    event: str | None = None
    record_id: int | None = None
    attempts: int = 0
    state: DeliveryState = "pending"
    history: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "webhook_id": self.webhook_id,
            "kind": self.kind,
            "event": self.event,
            "record_id": self.record_id,
            "state": self.state,
            "attempts": self.attempts,
            "due_at": iso(self.due_at),
            "body": json.loads(self.body),
            "history": list(self.history),
        }


def watch_fires(previous: dict[str, Any] | None, current: dict[str, Any]) -> bool:
    """The watch-list rule: fire when a watched value changed, or when nothing was ever sent."""
    return previous is None or previous != current


def check_url(url: Any) -> str:
    """Clio demands https; the sandbox also allows plain http on loopback (documented deviation)."""
    if not isinstance(url, str) or not url:
        raise unprocessable("url can't be blank")
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return url
    raise unprocessable("url must use the https scheme")


def parse_model(raw: Any) -> str:
    if isinstance(raw, int) and not isinstance(raw, bool) and raw in MODEL_IDS:
        return MODEL_IDS[raw]
    if isinstance(raw, str) and raw.isdigit() and int(raw) in MODEL_IDS:
        return MODEL_IDS[int(raw)]
    if isinstance(raw, str) and raw in MODEL_IDS.values():
        return raw
    raise unprocessable(f"model {raw!r} is not supported")


def allowed_events(model: str) -> tuple[str, ...]:
    if model == "clio_payments_payment":
        return ("created", "updated")
    if model == "matter":
        return BASE_EVENTS + MATTER_EVENTS
    return BASE_EVENTS


class WebhookHub:
    """Owns webhook subscriptions' delivery state; subscribed to the store's changes."""

    def __init__(self, store: Store, faults: Callable[[], FaultPlan | None]) -> None:
        self.store = store
        self._faults = faults
        self.deliveries: list[Delivery] = []
        self._snapshots: dict[tuple[int, int], dict[str, Any]] = {}
        self._next_delivery = 1
        store.subscribe(self._on_change)

    # -- subscription management -----------------------------------------------------------------
    def _selection(self, model: str, raw: Any) -> Selection:
        if not isinstance(raw, str) or not raw:
            raise unprocessable("fields can't be blank")
        if len(raw) > MAX_WEBHOOK_FIELDS_LENGTH:
            raise unprocessable(f"fields must be at most {MAX_WEBHOOK_FIELDS_LENGTH} characters")
        try:
            selection = parse_fields(raw)
            if model in MODEL_RESOURCE:
                validate(REGISTRY[MODEL_RESOURCE[model]], selection)
        except FieldsError as exc:
            raise bad_request(str(exc)) from None
        return selection

    def _expiry(self, raw: Any) -> datetime:
        now = self.store.clock.now()
        if raw is None:
            return now + DEFAULT_TTL
        try:
            when = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            raise unprocessable("expires_at must be an ISO-8601 timestamp") from None
        if when.tzinfo is None:
            raise unprocessable("expires_at must carry a timezone")
        if when <= now:
            raise unprocessable("expires_at must be in the future")
        if when - now > MAX_TTL:
            raise unprocessable("expires_at can be at most 31 days in the future")
        return when

    def _events(self, model: str, raw: Any) -> list[str]:
        allowed = allowed_events(model)
        if raw is None:
            return list(allowed)  # UNCONFIRMED default; clients should always send events
        if not isinstance(raw, list) or not raw:
            raise unprocessable("events must be a non-empty array")
        bad = [e for e in raw if e not in allowed]
        if bad:
            raise unprocessable(f"events {bad} are not supported for {model}")
        return [str(e) for e in raw]

    def create(self, data: Any, *, user_id: int) -> Record:
        if not isinstance(data, dict):
            raise unprocessable("data must be an object")
        model = parse_model(data.get("model"))
        attrs = {
            "url": check_url(data.get("url")),
            "model": model,
            "fields": data.get("fields"),
            "events": self._events(model, data.get("events")),
            "expires_at": self._expiry(data.get("expires_at")),
            "status": "pending",
            "shared_secret": secrets.token_hex(16),
        }
        self._selection(model, attrs["fields"])
        rec = self.store.insert("webhooks", attrs, {"user": user_id})
        self._handshake(rec)
        return rec

    def update(self, rec: Record, data: Any) -> Record:
        if not isinstance(data, dict):
            raise unprocessable("data must be an object")
        attrs: dict[str, Any] = {}
        model = rec.attrs["model"]
        if "model" in data:
            model = attrs["model"] = parse_model(data["model"])
        if "fields" in data:
            self._selection(model, data["fields"])
            attrs["fields"] = data["fields"]
        if "events" in data:
            attrs["events"] = self._events(model, data["events"])
        if "expires_at" in data:
            attrs["expires_at"] = self._expiry(data["expires_at"])
        url_changed = "url" in data and data["url"] != rec.attrs["url"]
        if url_changed:
            attrs.update(url=check_url(data["url"]), status="pending", shared_secret=secrets.token_hex(16))
        self.store.update(rec, attrs)
        if url_changed:
            self._handshake(rec)
        return rec

    def delete(self, rec: Record) -> None:
        self.store.delete(rec)
        self._forget(rec.id)

    def activate(self, rec: Record, secret: str | None) -> bool:
        """Delayed activation (``PUT /webhooks/{id}/activate`` with ``X-Hook-Secret``)."""
        if not secret or not secrets.compare_digest(secret, rec.attrs["shared_secret"]):
            return False
        if rec.attrs["status"] != "enabled":
            self.store.update(rec, {"status": "enabled"})
        return True

    def sweep_expired(self) -> list[int]:
        now = self.store.clock.now()
        gone = [w for w in self.store.all("webhooks") if w.attrs["expires_at"] <= now]
        for w in gone:
            self.delete(w)
        return [w.id for w in gone]

    def _forget(self, webhook_id: int) -> None:
        for d in self.deliveries:
            if d.webhook_id == webhook_id and d.state == "pending":
                d.state = "abandoned"
        for key in [k for k in self._snapshots if k[0] == webhook_id]:
            del self._snapshots[key]

    # -- producing deliveries --------------------------------------------------------------------
    def _enqueue(
        self, webhook_id: int, kind: Literal["handshake", "event"], payload: dict[str, Any], **kw: Any
    ) -> None:
        faults = self._faults()
        delay = timedelta(seconds=faults.delay_seconds) if faults and kind == "event" else timedelta(0)
        self.deliveries.append(
            Delivery(
                id=self._next_delivery,
                webhook_id=webhook_id,
                kind=kind,
                body=json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
                due_at=self.store.clock.now() + delay,
                **kw,
            )
        )
        self._next_delivery += 1

    def _handshake(self, rec: Record) -> None:
        self._enqueue(rec.id, "handshake", {"data": {"webhook_id": rec.id}})

    def _on_change(self, change: Change) -> None:
        model = REGISTRY[change.resource].webhook_model if change.resource in REGISTRY else None
        if model is None:
            return
        now = self.store.clock.now()
        for wh in self.store.all("webhooks"):
            a = wh.attrs
            if a["model"] != model or a["status"] != "enabled" or a["expires_at"] <= now:
                continue
            if change.event not in a["events"]:
                continue
            key = (wh.id, change.record.id)
            if change.event == "deleted":
                # Deleted payloads carry only id and etag (the spec's example; other fields UNCONFIRMED).
                data: dict[str, Any] = {"id": change.record.id, "etag": change.record.etag}
                self._snapshots.pop(key, None)
            else:
                data = render(self.store, REGISTRY[change.resource], change.record, parse_fields(a["fields"]))
                if change.event == "updated" and not watch_fires(self._snapshots.get(key), data):
                    continue
                self._snapshots[key] = data
            payload = {"data": data, "meta": {"event": change.event, "webhook_id": wh.id}}
            self._enqueue(wh.id, "event", payload, event=change.event, record_id=change.record.id)

    # -- sending ---------------------------------------------------------------------------------
    def due(self) -> list[Delivery]:
        now = self.store.clock.now()
        return sorted(
            (d for d in self.deliveries if d.state == "pending" and d.due_at <= now),
            key=lambda d: (d.due_at, d.id),
        )

    def deliver_due(self, transport: httpx.BaseTransport | None) -> int:
        """POST every delivery that is due; returns the number of HTTP POSTs made."""
        with self.store.lock:
            self.sweep_expired()
            batch = self.due()
            faults = self._faults()
            if faults and faults.reorder:
                faults.rng.shuffle(batch)
        if not batch:
            return 0
        posts = 0
        with delivery_client(transport, DELIVERY_TIMEOUT_S) as client:
            for d in batch:
                posts += self._deliver_one(client, d, faults)
        return posts

    def _deliver_one(self, client: httpx.Client, d: Delivery, faults: FaultPlan | None) -> int:
        with self.store.lock:
            wh = self.store.get("webhooks", d.webhook_id)
            if wh is None or (d.kind == "event" and wh.attrs["status"] != "enabled"):
                d.state = "abandoned"
                return 0
            url, secret = wh.attrs["url"], wh.attrs["shared_secret"]
            if d.kind == "event" and faults and faults.roll(faults.drop_rate):
                d.state = "dropped"
                return 0
            copies = 2 if d.kind == "event" and faults and faults.roll(faults.duplicate_rate) else 1
        headers = {"Content-Type": "application/json", "User-Agent": "Clio-Webhooks (sandbox)"}
        if d.kind == "handshake":
            headers["X-Hook-Secret"] = secret
        else:
            headers["X-Hook-Signature"] = sign_clio(d.body, secret)
        results: list[tuple[int | None, str | None, str | None]] = []
        for _ in range(copies):
            try:
                resp = client.post(url, content=d.body, headers=headers)
                results.append((resp.status_code, resp.headers.get("X-Hook-Secret"), None))
            except httpx.HTTPError as exc:
                results.append((None, None, f"{type(exc).__name__}: {exc}"))
        with self.store.lock:
            for status, echoed, error in results:
                self._record(d, wh, status, echoed, error=error, secret=secret)
        return copies

    def _record(
        self, d: Delivery, wh: Record, status: int | None, echoed: str | None, *, error: str | None, secret: str
    ) -> None:
        now = self.store.clock.now()
        d.attempts += 1
        d.history.append({"at": iso(now), "status": status, "error": error})
        if d.kind == "handshake":
            d.state = "delivered" if status is not None and 200 <= status < 300 else "failed"
            # Immediate activation: 200 echoing the secret; the webhook may have been deleted since.
            echoed_ok = status == 200 and echoed is not None and secrets.compare_digest(echoed, secret)
            if echoed_ok and wh.attrs["status"] != "enabled" and self.store.get("webhooks", wh.id) is not None:
                self.store.update(wh, {"status": "enabled"})
            return
        if status is not None and (200 <= status < 400 or status == 410):
            d.state = "delivered"
            if status == 410:
                self._suspend(wh)
            return
        if d.attempts > len(RETRY_MINUTES):
            d.state = "failed"
            self._suspend(wh)
            return
        d.due_at = now + timedelta(minutes=RETRY_MINUTES[d.attempts - 1])

    def _suspend(self, wh: Record) -> None:
        if self.store.get("webhooks", wh.id) is not None and wh.attrs["status"] != "suspended":
            self.store.update(wh, {"status": "suspended"})
        for other in self.deliveries:
            if other.webhook_id == wh.id and other.state == "pending" and other.kind == "event":
                other.state = "abandoned"
