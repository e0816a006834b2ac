"""Xero webhooks as Xero runs them (docs/facts-xero.md#webhooks).

One delivery URL and webhook key per app. Configuring it (or re-enabling, or changing the URL)
starts *intent to receive*: a series of ``{"events":[],"firstEventSequence":0,...}`` POSTs, some
signed correctly and some not; the endpoint must answer 200 with an empty body to the good ones
and 401 to the bad ones, or the webhook stays disabled. Once healthy, CONTACT, INVOICE and
CREDITNOTE events from every connected org are batched into signed POSTs. A failed delivery is
retried at once, then every 15 minutes by the sandbox clock; after 24 hours of failure the
webhook is disabled (events are kept 31 days and replayed in order after re-enabling).

Nothing is sent until :meth:`Webhooks.deliver_due` runs (``XeroSandbox.deliver_due_webhooks``), so
tests decide exactly when deliveries happen. Faults from the sandbox's :class:`FaultPlan`: drop,
duplicate (redelivered in a later POST), delay, reorder (within a batch).
"""

from __future__ import annotations

import json
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import httpx

from clio_xero.webhooks.signing import sign_xero
from clio_xero_tools.sandbox._base import delivery_client

if TYPE_CHECKING:
    from clio_xero.clock import Clock
    from clio_xero_tools.sandbox._base import FaultPlan

__all__ = ["DeliveryRecord", "WebhookEvent", "Webhooks"]

Json = dict[str, Any]
Status = Literal["NONE", "PENDING_ITR", "ITR_FAILED", "OK", "RETRYING", "DISABLED"]

RETRY_EVERY = timedelta(minutes=15)
DISABLE_AFTER = timedelta(hours=24)
KEEP_EVENTS = timedelta(days=31)
BATCH_LIMIT = 100
ITR_REQUESTS = 4
TIMEOUT_SECONDS = 5.0  # Xero wants an answer within 5 seconds
_RESOURCE = {"CONTACT": "Contacts", "INVOICE": "Invoices", "CREDITNOTE": "CreditNotes"}


@dataclass
class WebhookEvent:
    sequence: int
    tenant_id: str
    category: str
    event_type: str
    resource_id: str
    at: datetime
    due: datetime
    data: Json | None = None
    duplicate: bool = False

    def as_json(self, base_url: str) -> Json:
        out: Json = {
            "resourceUrl": f"{base_url}/api.xro/2.0/{_RESOURCE[self.category]}/{self.resource_id}",
            "resourceId": self.resource_id,
            "tenantId": self.tenant_id,
            "tenantType": "ORGANISATION",
            "eventCategory": self.category,
            "eventType": self.event_type,
            # Xero's own format: milliseconds, no offset (UTC), e.g. 2024-06-21T01:15:39.902
            "eventDateUtc": self.at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.at.microsecond // 1000:03d}",
        }
        if self.data is not None:
            out["data"] = dict(self.data)
        return out


@dataclass(frozen=True)
class DeliveryRecord:
    """One POST the sandbox made, for tests and the admin surface."""

    kind: Literal["itr", "events"]
    at: str
    status: int | None  # None: connection error or timeout
    ok: bool
    signed_correctly: bool
    sequences: tuple[int, ...] = ()
    body: str = ""


@dataclass
class _State:
    url: str | None = None
    key: str | None = None
    status: Status = "NONE"
    pending: list[WebhookEvent] = field(default_factory=list)
    next_attempt: datetime | None = None
    failing_since: datetime | None = None
    sequence: int = 0


class Webhooks:
    def __init__(
        self,
        clock: Clock,
        faults: Callable[[], FaultPlan],
        transport: httpx.BaseTransport | None,
        *,
        base_url: Callable[[], str],
        validate: Callable[[Json], None] | None = None,
    ) -> None:
        self.clock = clock
        self._faults = faults
        self.transport = transport
        self._base_url = base_url
        self._validate = validate
        self._state = _State()
        self._lock = threading.RLock()
        self._deliver_lock = threading.Lock()
        self.log: list[DeliveryRecord] = []

    # ------------------------------------------------------------------ configuration

    @property
    def status(self) -> Status:
        return self._state.status

    def configure(self, url: str, key: str) -> None:
        """Set the app's delivery URL and webhook key; intent to receive runs on the next delivery."""
        with self._lock:
            s = self._state
            s.url, s.key, s.status = url, key, "PENDING_ITR"
            s.next_attempt, s.failing_since = None, None

    def enable(self) -> None:
        """Re-enable a disabled webhook (the portal button): runs intent to receive again."""
        with self._lock:
            if self._state.url:
                self._state.status = "PENDING_ITR"
                self._state.next_attempt = self._state.failing_since = None

    def remove(self) -> None:
        with self._lock:
            self._state = _State(sequence=self._state.sequence)

    def pending(self) -> list[WebhookEvent]:
        with self._lock:
            return list(self._state.pending)

    def info(self) -> Json:
        with self._lock:
            s = self._state
            return {
                "url": s.url,
                "status": s.status,
                "pending": len(s.pending),
                "nextAttempt": s.next_attempt.isoformat() if s.next_attempt else None,
                "failingSince": s.failing_since.isoformat() if s.failing_since else None,
                "deliveries": [r.__dict__ for r in self.log[-50:]],
            }

    # ------------------------------------------------------------------ events

    def record(self, tenant_id: str, category: str, event_type: str, resource_id: str, data: Json | None) -> None:
        """A change happened (by any app or user); queue its event if a webhook is configured."""
        with self._lock:
            s = self._state
            if s.status == "NONE":
                return  # nobody subscribed: Xero does not keep events for apps without a webhook
            faults = self._faults()
            now = self.clock.now()
            s.sequence += 1
            event = WebhookEvent(
                s.sequence,
                tenant_id,
                category,
                event_type,
                resource_id,
                now,
                now + timedelta(seconds=faults.delay_seconds),
                data,
            )
            if faults.roll(faults.drop_rate):
                return  # dropped on the floor: the consumer must poll (If-Modified-Since) to recover
            s.pending.append(event)

    # ------------------------------------------------------------------ delivery

    def deliver_due(self) -> int:
        """Send everything due by the sandbox clock; return the number of HTTP POSTs made.

        The state lock is never held during a POST: a receiver may call the sandbox API (and so
        raise new events) while handling a delivery, from another thread when served.
        """
        with self._deliver_lock:  # one delivery run at a time
            with self._lock:
                s = self._state
                url, key, status = s.url, s.key, s.status
                if url is None or key is None or status in ("NONE", "ITR_FAILED", "DISABLED"):
                    return 0
                now = self.clock.now()
                if status == "RETRYING" and s.next_attempt is not None and now < s.next_attempt:
                    return 0
                if status != "PENDING_ITR" and not any(e.due <= now for e in s.pending):
                    return 0  # nothing to send (and no client to build)
            with delivery_client(self.transport, TIMEOUT_SECONDS) as client:
                posts = 0
                if status == "PENDING_ITR":
                    ok, posts = self._intent_to_receive(client, url, key)
                    with self._lock:
                        self._state.status = "OK" if ok else "ITR_FAILED"
                    if not ok:
                        return posts
                return posts + self._deliver_events(client, url, key, now)

    def _intent_to_receive(self, client: httpx.Client, url: str, key: str) -> tuple[bool, int]:
        rng = self._faults().rng
        # A seeded mix, always with at least one good and one bad signature.
        good = [True, False] + [rng.random() < 0.5 for _ in range(ITR_REQUESTS - 2)]
        rng.shuffle(good)
        all_ok = True
        for signed_well in good:
            body = json.dumps(
                {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": self._entropy()},
                separators=(",", ":"),
            ).encode()
            signature = sign_xero(body, key) if signed_well else sign_xero(body, key + "-wrong")
            status, text = self._post(client, url, body, signature)
            # The endpoint must answer 200 with an empty body to good signatures and 401 to bad ones.
            ok = (status == 200 and text == "") if signed_well else status == 401
            all_ok = all_ok and ok
            self.log.append(
                DeliveryRecord("itr", self.clock.now().isoformat(), status, ok, signed_well, (), body.decode())
            )
        return all_ok, len(good)

    def _next_batch(self, now: datetime) -> tuple[list[WebhookEvent], bytes, int, tuple[int, ...]] | None:
        with self._lock:
            s = self._state
            s.pending = [e for e in s.pending if now - e.at < KEEP_EVENTS]
            due = [e for e in s.pending if e.due <= now][:BATCH_LIMIT]
            if not due:
                return None
            batch = list(due)
            faults = self._faults()
            if faults.reorder:
                faults.rng.shuffle(batch)
            attempts = 1 if s.status == "RETRYING" else 2  # a first failure is retried immediately
            return due, self._payload(batch), attempts, tuple(e.sequence for e in batch)

    def _deliver_events(self, client: httpx.Client, url: str, key: str, now: datetime) -> int:
        posts = 0
        while (nxt := self._next_batch(now)) is not None:
            due, body, attempts, sequences = nxt
            ok = False
            for _ in range(attempts):
                status, _text = self._post(client, url, body, sign_xero(body, key))
                posts += 1
                ok = status == 200
                self.log.append(DeliveryRecord("events", now.isoformat(), status, ok, True, sequences, body.decode()))
                if ok:
                    break
            if not self._settle(due, ok, now):
                break
        return posts

    def _settle(self, due: list[WebhookEvent], ok: bool, now: datetime) -> bool:
        """Record a batch outcome; return whether to keep delivering."""
        with self._lock:
            s = self._state
            if not ok:
                s.failing_since = s.failing_since or now
                if now - s.failing_since >= DISABLE_AFTER:
                    s.status = "DISABLED"
                else:
                    s.status, s.next_attempt = "RETRYING", now + RETRY_EVERY
                return False
            s.status, s.failing_since, s.next_attempt = "OK", None, None
            sent = {id(e) for e in due}
            s.pending = [e for e in s.pending if id(e) not in sent]
            faults = self._faults()
            for e in due:
                if not e.duplicate and faults.roll(faults.duplicate_rate):
                    # At-least-once delivery: the same event arrives again in a later POST.
                    s.pending.append(
                        WebhookEvent(
                            e.sequence, e.tenant_id, e.category, e.event_type, e.resource_id, e.at, e.due, e.data, True
                        )
                    )
            return True

    def _payload(self, batch: list[WebhookEvent]) -> bytes:
        base = self._base_url()
        seqs = [e.sequence for e in batch]
        payload = {
            "events": [e.as_json(base) for e in batch],
            "firstEventSequence": min(seqs),
            "lastEventSequence": max(seqs),
            "entropy": self._entropy(),
        }
        if self._validate is not None:
            self._validate(payload)
        return json.dumps(payload, separators=(",", ":")).encode()

    def _entropy(self) -> str:
        rng = self._faults().rng
        return "".join(rng.choice(string.ascii_uppercase) for _ in range(20))

    @staticmethod
    def _post(client: httpx.Client, url: str, body: bytes, signature: str) -> tuple[int | None, str]:
        try:
            response = client.post(
                url, content=body, headers={"Content-Type": "application/json", "x-xero-signature": signature}
            )
        except httpx.HTTPError:
            return None, ""
        return response.status_code, response.text
