"""Clio webhooks the sync needs: create, keep alive, recreate; and what we recorded about each.

One webhook per (connection, model), at ``<ApiUrl>/webhooks/clio/<connection_id>?model=<model>``
with the ``fields`` the sync reads and every event (docs/facts-clio.md#webhooks). :meth:`WebhookManager.ensure`
is idempotent: it matches existing webhooks by URL and model, keeps one (enabled before pending,
latest expiry first), deletes duplicates and suspended ones, creates what is missing, and extends
``expires_at`` to 30 days out when fewer than 7 remain (Clio allows 31 at most; the default is 3).

The activation handshake is answered by our Clio receiver, and only because registration said it
was coming: before each create call an *expected activation* is recorded for (connection, model),
narrowed to the webhook id as soon as Clio answers (store/webhook_secrets.py; docs/threat-model.md).
Clio also returns the webhook's
``shared_secret`` (the same value it sends in ``X-Hook-Secret``), so a webhook still *pending*
after creation is completed here: the secret is stored the way the receiver stores it (first
writer wins, the same secret twice is fine) and ``PUT /webhooks/{id}/activate`` is sent.

Records (``pk=CONN#<id>``, ``sk=CLIOWEBHOOK#<model>``) keep the webhook id, URL, state, expiry
(``webhook_expires_at``: *not* the table's ``expires_at`` TTL attribute) and the last action, for
``webhooks status`` and for the renewal function, which recreates a webhook at the recorded URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel

from clio_xero.errors import SyncError
from clio_xero.store.webhook_secrets import ActivationLedger, ClioWebhookSecrets
from clio_xero.sync.core.plugin import split_names
from clio_xero.sync.core.registry import Registry
from clio_xero.sync.record_types import default_registry
from clio_xero.sync.settings import ConnectionSettings

if TYPE_CHECKING:
    from clio_xero.clients.clio import ClioClient

__all__ = [
    "CLIO_WEBHOOKS",
    "RENEW_WHEN_LEFT",
    "WEBHOOK_LIFETIME",
    "ClioWebhookApi",
    "WebhookManager",
    "WebhookRecord",
    "WebhookSpec",
    "webhook_specs",
    "webhook_url",
]

WEBHOOK_LIFETIME = timedelta(days=30)
RENEW_WHEN_LEFT = timedelta(days=7)
WEBHOOK_FIELDS = "id,etag,url,model,status,events,fields,expires_at,shared_secret"


@dataclass(frozen=True)
class WebhookSpec:
    model: str
    fields: str
    events: tuple[str, ...] = ("created", "updated", "deleted")
    #: Fields without which a delivery is archived and not queued (``ClioWebhook.queue_only_with``).
    queue_only_with: tuple[str, ...] = ()


def webhook_specs(registry: Registry, settings: ConnectionSettings | None = None) -> tuple[WebhookSpec, ...]:
    """The webhooks the registered record types need (only the types ``settings`` switch on, when
    given). Each plug-in names its Clio model and the ``fields`` Clio watches and sends."""
    return tuple(
        WebhookSpec(hook.model, hook.fields, queue_only_with=tuple(split_names(hook.queue_only_with)))
        for hook in registry.clio_webhooks(settings)
    )


#: What the sync subscribes to, every registered record type (``webhooks status`` lists these).
CLIO_WEBHOOKS: tuple[WebhookSpec, ...] = webhook_specs(default_registry())


def webhook_url(api_url: str, connection_id: str, model: str) -> str:
    return f"{api_url.rstrip('/')}/webhooks/clio/{connection_id}?model={model}"


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _iso(when: datetime) -> str:
    return when.replace(microsecond=0).isoformat()


class ClioWebhookApi(Protocol):
    def list(self) -> list[dict[str, Any]]: ...

    def create(self, spec: WebhookSpec, url: str, expires_at: datetime) -> dict[str, Any]: ...

    def update(self, webhook_id: int, data: dict[str, Any]) -> dict[str, Any]: ...

    def get(self, webhook_id: int) -> dict[str, Any] | None: ...

    def delete(self, webhook_id: int) -> None: ...

    def activate(self, webhook_id: int, secret: str) -> None: ...


class ClioClientWebhooks:
    """:class:`ClioWebhookApi` over a connection's :class:`ClioClient` (tokens, budget, errors)."""

    def __init__(self, clio: ClioClient) -> None:
        self._clio = clio

    def list(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        url: str | None = "/webhooks.json"
        params: dict[str, Any] | None = {"fields": WEBHOOK_FIELDS, "limit": 200}
        for _ in range(50):  # 10,000 webhooks: far beyond any firm; bounded all the same
            body = self._clio.request("GET", url or "", params=params).json()
            out.extend(body.get("data") or [])
            url = ((body.get("meta") or {}).get("paging") or {}).get("next")
            params = None
            if not url:
                break
        return out

    def create(self, spec: WebhookSpec, url: str, expires_at: datetime) -> dict[str, Any]:
        data = {
            "url": url,
            "model": spec.model,
            "events": list(spec.events),
            "fields": spec.fields,
            "expires_at": _iso(expires_at),
        }
        response = self._clio.request("POST", "/webhooks.json", params={"fields": WEBHOOK_FIELDS}, json={"data": data})
        return dict(response.json()["data"])

    def update(self, webhook_id: int, data: dict[str, Any]) -> dict[str, Any]:
        response = self._clio.request(
            "PATCH", f"/webhooks/{int(webhook_id)}.json", params={"fields": WEBHOOK_FIELDS}, json={"data": data}
        )
        return dict(response.json()["data"])

    def get(self, webhook_id: int) -> dict[str, Any] | None:
        from clio_xero.errors import NotFoundError

        try:
            response = self._clio.request("GET", f"/webhooks/{int(webhook_id)}.json", params={"fields": WEBHOOK_FIELDS})
        except NotFoundError:
            return None
        return dict(response.json()["data"])

    def delete(self, webhook_id: int) -> None:
        from clio_xero.errors import NotFoundError

        try:
            self._clio.request("DELETE", f"/webhooks/{int(webhook_id)}.json")
        except NotFoundError:
            return

    def activate(self, webhook_id: int, secret: str) -> None:
        self._clio.request("PUT", f"/webhooks/{int(webhook_id)}/activate.json", headers={"X-Hook-Secret": secret})


Action = Literal["created", "recreated", "renewed", "updated", "unchanged", "failed", "removed"]


class WebhookRecord(BaseModel):
    connection_id: str
    model: str
    url: str
    webhook_id: int | None = None
    status: str = "missing"  # Clio's: pending | enabled | suspended; ours: missing | removed
    webhook_expires_at: datetime | None = None
    action: Action = "unchanged"
    message: str = ""
    checked_at: datetime

    def days_left(self, now: datetime) -> float | None:
        if self.webhook_expires_at is None:
            return None
        return (self.webhook_expires_at - now).total_seconds() / 86400


def record_sk(model: str) -> str:
    return f"CLIOWEBHOOK#{model}"


class WebhookRecords(Protocol):
    def put(self, record: WebhookRecord) -> None: ...

    def list(self, connection_id: str) -> list[WebhookRecord]: ...


_RANK = {"enabled": 0, "pending": 1}


class WebhookManager:
    """Make one connection's Clio webhooks what the sync needs (see module docstring)."""

    def __init__(
        self,
        *,
        connection_id: str,
        api: ClioWebhookApi,
        records: WebhookRecords,
        secrets: ClioWebhookSecrets | None,
        specs: tuple[WebhookSpec, ...] | None = None,
        activations: ActivationLedger | None = None,
    ) -> None:
        self._cid = connection_id
        self._api = api
        self._records = records
        self._secrets = secrets
        # Default: what the record types a connection with default settings switches on need
        # (contacts; billing is opt-in). Callers that know the connection pass its own
        # (``Services.manager``, the local world).
        self._specs = specs if specs is not None else webhook_specs(default_registry(), ConnectionSettings())
        # Where the receiver learns which handshakes to accept (the secrets store by default).
        self._activations = activations or secrets

    def ensure(self, now: datetime, api_url: str | None = None) -> list[WebhookRecord]:
        """Register (``api_url`` given) or renew (the recorded URLs) every webhook; record the results."""
        recorded = {r.model: r for r in self._records.list(self._cid)}
        existing = self._api.list()
        results = []
        for spec in self._specs:
            url = webhook_url(api_url, self._cid, spec.model) if api_url else None
            if url is None and spec.model in recorded and recorded[spec.model].status != "removed":
                url = recorded[spec.model].url
            if url is None:
                continue  # never registered: renewal leaves it to `webhooks register`
            try:
                record = self._ensure_one(spec, url, existing, now, had_one=spec.model in recorded)
                self._declare(spec, record)
            except SyncError as exc:
                previous = recorded.get(spec.model)
                record = WebhookRecord(
                    connection_id=self._cid,
                    model=spec.model,
                    url=url,
                    webhook_id=previous.webhook_id if previous else None,
                    status=previous.status if previous else "missing",
                    webhook_expires_at=previous.webhook_expires_at if previous else None,
                    action="failed",
                    message=exc.message,
                    checked_at=now,
                )
            self._records.put(record)
            results.append(record)
        return results

    def _ensure_one(
        self, spec: WebhookSpec, url: str, existing: list[dict[str, Any]], now: datetime, *, had_one: bool
    ) -> WebhookRecord:
        mine = [w for w in existing if str(w.get("model")) == spec.model and w.get("url") == url]
        usable = sorted(
            (w for w in mine if w.get("status") in _RANK),
            key=lambda w: (_RANK[str(w["status"])], -(_parse_time(w.get("expires_at")) or now).timestamp()),
        )
        keeper = usable[0] if usable else None
        removed = [w for w in mine if w is not keeper]
        for w in removed:  # duplicates, and suspended ones (only a new webhook starts delivering again)
            self._api.delete(int(w["id"]))
        notes = [f"deleted {len(removed)} suspended or duplicate webhook(s)"] if removed else []
        if keeper is None:
            keeper = self._create(spec, url, now)
            action: Action = "recreated" if (had_one or removed) else "created"
        else:
            action = "unchanged"
            changes: dict[str, Any] = {}
            if keeper.get("fields") not in (None, spec.fields):
                changes["fields"] = spec.fields
            if keeper.get("events") is not None and sorted(keeper["events"]) != sorted(spec.events):
                changes["events"] = list(spec.events)
            expires = _parse_time(keeper.get("expires_at"))
            if expires is None or expires - now < RENEW_WHEN_LEFT:
                changes["expires_at"] = _iso(now + WEBHOOK_LIFETIME)
            if changes:
                keeper = {**keeper, **self._api.update(int(keeper["id"]), changes)}
                action = "renewed" if set(changes) == {"expires_at"} else "updated"
        if keeper.get("status") == "pending":
            keeper, note = self._complete_handshake(spec, keeper)
            notes.append(note)
        return WebhookRecord(
            connection_id=self._cid,
            model=spec.model,
            url=url,
            webhook_id=int(keeper["id"]),
            status=str(keeper.get("status") or "pending"),
            webhook_expires_at=_parse_time(keeper.get("expires_at")),
            action=action,
            message="; ".join(n for n in notes if n),
            checked_at=now,
        )

    def _declare(self, spec: WebhookSpec, record: WebhookRecord) -> None:
        """Tell the receiver which of this webhook's deliveries it need not queue (kept with the
        webhook's secret; every ensure, so a webhook registered before the rule gains it and a
        rule a newly enabled record type no longer allows is removed)."""
        if self._activations is None or record.webhook_id is None:
            return
        try:
            declared = self._activations.declare(self._cid, str(record.webhook_id), spec.queue_only_with)
        except SyncError as exc:  # the webhook itself is fine; its deliveries are all queued meanwhile
            declared, note = False, f"which deliveries to queue was not recorded ({exc.message})"
        else:
            note = "its secret is not stored yet: every delivery is queued until renewal"
        if not declared and spec.queue_only_with:
            record.message = "; ".join(m for m in (record.message, note) if m)

    def _create(self, spec: WebhookSpec, url: str, now: datetime) -> dict[str, Any]:
        """Create a webhook, telling the receiver first that its handshake is coming (Clio may
        send it before the create call returns), then which webhook id it is for."""
        if self._activations is not None:
            self._activations.expect_activation(self._cid, spec.model, spec.queue_only_with)
        created = self._api.create(spec, url, now + WEBHOOK_LIFETIME)
        if self._activations is not None and created.get("id") is not None:
            self._activations.expect_webhook_id(self._cid, spec.model, str(created["id"]))
        return created

    def _complete_handshake(self, spec: WebhookSpec, webhook: dict[str, Any]) -> tuple[dict[str, Any], str]:
        webhook_id = int(webhook["id"])
        current = self._api.get(webhook_id) or webhook  # the receiver may have answered it meanwhile
        secret = webhook.get("shared_secret") or current.get("shared_secret")
        if current.get("status") != "pending" or not secret or self._secrets is None:
            return {**webhook, **current}, ""
        if not self._secrets.remember(self._cid, str(webhook_id), str(secret), spec.model):
            return {**webhook, **current}, "a different secret is stored for this webhook: left pending"
        try:
            self._api.activate(webhook_id, str(secret))
        except SyncError as exc:
            return {**webhook, **current}, f"activation failed ({exc.message}): Clio's handshake may still complete it"
        after = self._api.get(webhook_id) or current
        return {**webhook, **after}, "activated"

    def remove_all(self, now: datetime) -> list[str]:
        """Delete every webhook of this connection (disconnect); returns what was done."""
        for record in self._records.list(self._cid):
            self._records.put(record.model_copy(update={"status": "removed", "action": "removed", "checked_at": now}))
        done = []
        prefix = f"/webhooks/clio/{self._cid}?"
        for w in self._api.list():
            if prefix in str(w.get("url", "")):
                self._api.delete(int(w["id"]))
                done.append(f"Clio webhook {w['id']} ({w.get('model')}) deleted")
        return done
