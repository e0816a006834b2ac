"""Webhooks: handshake (immediate and delayed), signatures, watch lists, expiry, retries, 410."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from clio_xero.clock import ManualClock
from clio_xero.errors import SignatureError
from clio_xero.webhooks.signing import verify_clio
from clio_xero_tools.sandbox.clio import ClioSandbox

from .conftest import Receiver, new_contact

HOOK_URL = "https://hooks.example/clio"


def _create(api: httpx.Client, **data: Any) -> dict[str, Any]:
    body = {
        "url": HOOK_URL,
        "model": "contact",
        "events": ["created", "updated", "deleted"],
        "fields": "id,etag,name",
        **data,
    }
    r = api.post(
        "/api/v4/webhooks.json",
        json={"data": body},
        params={"fields": "id,etag,status,shared_secret,expires_at,events,model,url,fields"},
    )
    assert r.status_code == 201, r.text
    return dict(r.json()["data"])


def _live(api: httpx.Client, sandbox: ClioSandbox, **data: Any) -> dict[str, Any]:
    hook = _create(api, **data)
    sandbox.deliver_due_webhooks()
    return hook


def _status(api: httpx.Client, hook_id: int) -> str:
    return str(api.get(f"/api/v4/webhooks/{hook_id}.json", params={"fields": "status"}).json()["data"]["status"])


def test_create_is_pending_until_the_handshake_is_echoed(
    sandbox: ClioSandbox, api: httpx.Client, receiver: Receiver
) -> None:
    hook = _create(api)
    assert hook["status"] == "pending"
    assert hook["shared_secret"]
    assert sandbox.deliver_due_webhooks() == 1
    (hs,) = receiver.handshakes()
    assert hs.headers["X-Hook-Secret"] == hook["shared_secret"]
    assert json.loads(hs.content) == {"data": {"webhook_id": hook["id"]}}
    assert "X-Hook-Signature" not in hs.headers  # the handshake is unsigned
    assert _status(api, hook["id"]) == "enabled"


def test_delayed_activation_with_put_activate(sandbox: ClioSandbox, api: httpx.Client, receiver: Receiver) -> None:
    receiver.mode = "ack"  # 200 without echoing the secret
    hook = _create(api)
    sandbox.deliver_due_webhooks()
    assert _status(api, hook["id"]) == "pending"
    new_contact(api)
    sandbox.deliver_due_webhooks()
    assert receiver.events() == []  # pending webhooks deliver nothing
    bad = api.put(f"/api/v4/webhooks/{hook['id']}/activate.json", headers={"X-Hook-Secret": "wrong"})
    assert bad.status_code == 403
    ok = api.put(f"/api/v4/webhooks/{hook['id']}/activate.json", headers={"X-Hook-Secret": hook["shared_secret"]})
    assert ok.status_code == 200
    assert _status(api, hook["id"]) == "enabled"


def test_deliveries_are_signed_over_the_raw_body(sandbox: ClioSandbox, api: httpx.Client, receiver: Receiver) -> None:
    hook = _live(api, sandbox)
    c = new_contact(api)
    assert sandbox.deliver_due_webhooks() == 1
    (req,) = receiver.event_requests()
    verify_clio(req.content, req.headers["X-Hook-Signature"], hook["shared_secret"])
    assert req.headers["X-Hook-Signature"] == req.headers["X-Hook-Signature"].lower()
    with pytest.raises(SignatureError):
        verify_clio(req.content + b" ", req.headers["X-Hook-Signature"], hook["shared_secret"])
    body = json.loads(req.content)
    assert body == {
        "data": {"id": c["id"], "etag": c["etag"], "name": "Ada Lovelace"},
        "meta": {"event": "created", "webhook_id": hook["id"]},
    }


def test_fields_is_the_payload_and_the_watch_list(sandbox: ClioSandbox, api: httpx.Client, receiver: Receiver) -> None:
    c = new_contact(api)  # exists before the webhook: never delivered
    _live(api, sandbox, events=["updated"], fields="id,name")
    api.patch(f"/api/v4/contacts/{c['id']}.json", json={"data": {"title": "Countess"}})  # unwatched field
    sandbox.deliver_due_webhooks()
    assert [e["data"] for e in receiver.events()] == [
        {"id": c["id"], "name": "Ada Lovelace"}
    ]  # first update fires anyway
    api.patch(f"/api/v4/contacts/{c['id']}.json", json={"data": {"title": "Dr"}})  # unwatched again
    sandbox.deliver_due_webhooks()
    assert len(receiver.events()) == 1  # now the watch list applies
    api.patch(f"/api/v4/contacts/{c['id']}.json", json={"data": {"first_name": "Augusta"}})  # watched
    sandbox.deliver_due_webhooks()
    assert [e["data"]["name"] for e in receiver.events()] == ["Ada Lovelace", "Augusta Lovelace"]
    assert all(e["meta"]["event"] == "updated" for e in receiver.events())


def test_nested_fields_in_webhook_payload(sandbox: ClioSandbox, api: httpx.Client, receiver: Receiver) -> None:
    _live(api, sandbox, events=["created"], fields="id,email_addresses{address,primary}")
    new_contact(api, email_addresses=[{"address": "ada@x.example", "primary": True}])
    sandbox.deliver_due_webhooks()
    assert receiver.events()[0]["data"]["email_addresses"] == [{"address": "ada@x.example", "primary": True}]


def test_deleted_payload_carries_id_and_etag_only(sandbox: ClioSandbox, api: httpx.Client, receiver: Receiver) -> None:
    c = new_contact(api)
    _live(api, sandbox, events=["deleted"], fields="id,etag,name,type")
    api.delete(f"/api/v4/contacts/{c['id']}.json")
    sandbox.deliver_due_webhooks()
    (ev,) = receiver.events()
    assert ev["meta"]["event"] == "deleted"
    assert set(ev["data"]) == {"id", "etag"}
    assert ev["data"]["id"] == c["id"]


def test_only_subscribed_events_and_model_fire(sandbox: ClioSandbox, api: httpx.Client, receiver: Receiver) -> None:
    _live(api, sandbox, events=["deleted"])
    c = new_contact(api)
    api.patch(f"/api/v4/contacts/{c['id']}.json", json={"data": {"title": "X"}})
    api.post("/api/v4/matters.json", json={"data": {"client": {"id": c["id"]}}})
    sandbox.deliver_due_webhooks()
    assert receiver.events() == []


def test_admin_user_changes_fire_like_api_changes(
    sandbox: ClioSandbox, api: httpx.Client, admin: httpx.Client, receiver: Receiver
) -> None:
    _live(api, sandbox, model="bill", events=["created", "updated"], fields="id,state,total")
    c = admin.post("/_sandbox/act/contacts", json={"type": "Company", "name": "Web App Co"}).json()["data"]
    bill = admin.post(
        "/_sandbox/act/bills", json={"client_id": c["id"], "line_items": [{"description": "Advice", "price": 100}]}
    ).json()["data"]
    admin.patch(f"/_sandbox/act/bills/{bill['id']}", json={"state": "awaiting_payment"})
    assert admin.post("/_sandbox/webhooks/deliver").json()["posts"] == 2
    events = receiver.events()
    assert [(e["meta"]["event"], e["data"]["state"]) for e in events] == [
        ("created", "draft"),
        ("updated", "awaiting_payment"),
    ]
    assert events[0]["data"]["total"] == 110.0  # 10 % GST on a taxable line


def test_matter_status_events(sandbox: ClioSandbox, api: httpx.Client, receiver: Receiver) -> None:
    c = new_contact(api)
    m = api.post("/api/v4/matters.json", json={"data": {"client": {"id": c["id"]}}}).json()["data"]
    _live(api, sandbox, model=1, events=["matter_closed", "matter_opened"], fields="id,status")  # model by numeric id
    api.patch(f"/api/v4/matters/{m['id']}.json", json={"data": {"status": "Closed"}})
    sandbox.deliver_due_webhooks()
    assert [(e["meta"]["event"], e["data"]["status"]) for e in receiver.events()] == [("matter_closed", "Closed")]


def test_url_must_be_https_except_loopback(api: httpx.Client) -> None:
    r = api.post(
        "/api/v4/webhooks.json", json={"data": {"url": "http://hooks.example/x", "model": "contact", "fields": "id"}}
    )
    assert r.status_code == 422
    assert _create(api, url="http://127.0.0.1:9000/hook")["status"] == "pending"


def test_invalid_model_events_and_fields_are_rejected(api: httpx.Client) -> None:
    def post(**data: Any) -> int:
        body = {"url": HOOK_URL, "model": "contact", "fields": "id", **data}
        return api.post("/api/v4/webhooks.json", json={"data": body}).status_code

    assert post(model="invoice") == 422
    assert post(events=["matter_closed"]) == 422
    assert post(model="clio_payments_payment", events=["deleted"]) == 422
    assert post(fields="id,nonsense") == 400
    assert post(fields="id," + "name," * 200 + "etag") == 422  # > 1000 characters
    assert post(fields=None) == 422


def test_default_expiry_is_three_days_and_max_is_31(
    sandbox: ClioSandbox, api: httpx.Client, clock: ManualClock
) -> None:
    hook = _create(api)
    assert datetime.fromisoformat(hook["expires_at"]) == clock.now().replace(microsecond=0) + timedelta(days=3)
    too_far = (clock.now() + timedelta(days=31, seconds=1)).isoformat()
    r = api.post(
        "/api/v4/webhooks.json",
        json={"data": {"url": HOOK_URL, "model": "contact", "fields": "id", "expires_at": too_far}},
    )
    assert r.status_code == 422
    ok = (clock.now() + timedelta(days=31)).isoformat()
    assert _create(api, expires_at=ok)["expires_at"] == datetime.fromisoformat(ok).isoformat(timespec="seconds")


def test_expired_webhooks_stop_and_disappear(
    sandbox: ClioSandbox, api: httpx.Client, receiver: Receiver, clock: ManualClock
) -> None:
    hook = _live(api, sandbox)
    clock.advance(3 * 24 * 3600)
    new_contact(api)
    sandbox.deliver_due_webhooks()
    assert receiver.events() == []
    assert api.get(f"/api/v4/webhooks/{hook['id']}.json").status_code == 404


def test_renewing_by_patching_expires_at(
    sandbox: ClioSandbox, api: httpx.Client, receiver: Receiver, clock: ManualClock
) -> None:
    hook = _live(api, sandbox)
    clock.advance(2 * 24 * 3600)
    later = (clock.now() + timedelta(days=30)).isoformat()
    stale = api.patch(
        f"/api/v4/webhooks/{hook['id']}.json", json={"data": {"expires_at": later}}, headers={"If-Match": hook["etag"]}
    )
    assert stale.status_code == 412  # activation changed the record (status), so the etag moved
    etag = api.get(f"/api/v4/webhooks/{hook['id']}.json").json()["data"]["etag"]
    r = api.patch(
        f"/api/v4/webhooks/{hook['id']}.json", json={"data": {"expires_at": later}}, headers={"If-Match": etag}
    )
    assert r.status_code == 200
    clock.advance(2 * 24 * 3600)
    new_contact(api)
    sandbox.deliver_due_webhooks()
    assert len(receiver.events()) == 1


def test_url_change_repeats_the_handshake(sandbox: ClioSandbox, api: httpx.Client, receiver: Receiver) -> None:
    hook = _live(api, sandbox)
    r = api.patch(
        f"/api/v4/webhooks/{hook['id']}.json",
        json={"data": {"url": "https://hooks.example/v2"}},
        params={"fields": "status,shared_secret"},
    )
    assert r.json()["data"]["status"] == "pending"
    assert r.json()["data"]["shared_secret"] != hook["shared_secret"]
    sandbox.deliver_due_webhooks()
    assert [str(h.url) for h in receiver.handshakes()] == [HOOK_URL, "https://hooks.example/v2"]
    assert _status(api, hook["id"]) == "enabled"


def test_failed_deliveries_retry_with_backoff_then_suspend(
    sandbox: ClioSandbox, api: httpx.Client, receiver: Receiver, clock: ManualClock
) -> None:
    hook = _live(api, sandbox)
    receiver.status = 500
    new_contact(api)
    assert sandbox.deliver_due_webhooks() == 1
    for minutes in (2, 4, 8, 16, 32):
        clock.advance(minutes * 60 - 1)
        assert sandbox.deliver_due_webhooks() == 0, f"retry came before {minutes} min"
        clock.advance(1)
        assert sandbox.deliver_due_webhooks() == 1
    assert len(receiver.event_requests()) == 6  # first try + 5 retries
    assert _status(api, hook["id"]) == "suspended"
    new_contact(api)
    clock.advance(3600)
    assert sandbox.deliver_due_webhooks() == 0


def test_a_retry_that_succeeds_keeps_the_webhook(
    sandbox: ClioSandbox, api: httpx.Client, receiver: Receiver, clock: ManualClock
) -> None:
    hook = _live(api, sandbox)
    receiver.statuses = [503, 302]  # 3xx counts as success
    new_contact(api)
    sandbox.deliver_due_webhooks()
    clock.advance(120)
    sandbox.deliver_due_webhooks()
    delivered = [d for d in sandbox.hub.deliveries if d.kind == "event"]
    assert [d.state for d in delivered] == ["delivered"]
    assert delivered[0].attempts == 2
    assert _status(api, hook["id"]) == "enabled"


def test_transport_errors_count_as_failures(make_sandbox: Any, clock: ManualClock) -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        if "X-Hook-Secret" in request.headers:
            return httpx.Response(200, headers={"X-Hook-Secret": request.headers["X-Hook-Secret"]})
        raise httpx.ReadTimeout("slow receiver", request=request)

    sb: ClioSandbox = make_sandbox(webhook_transport=httpx.MockTransport(boom))
    sb.hub.create({"url": HOOK_URL, "model": "contact", "fields": "id"}, user_id=sb.default_user_id)
    sb.deliver_due_webhooks()
    sb.act_create("contacts", {"type": "Company", "name": "T"})
    sb.deliver_due_webhooks()
    (d,) = [d for d in sb.hub.deliveries if d.kind == "event"]
    assert d.state == "pending"
    assert d.attempts == 1
    assert "ReadTimeout" in str(d.history[0]["error"])
    assert d.due_at == clock.now() + timedelta(minutes=2)


def test_410_disables_the_webhook(sandbox: ClioSandbox, api: httpx.Client, receiver: Receiver) -> None:
    hook = _live(api, sandbox)
    receiver.status = 410
    new_contact(api)
    new_contact(api)
    assert sandbox.deliver_due_webhooks() == 1  # the second delivery is abandoned once suspended
    assert _status(api, hook["id"]) == "suspended"


def test_list_get_delete(sandbox: ClioSandbox, api: httpx.Client, receiver: Receiver) -> None:
    a, b = _create(api), _create(api, model="activity", fields="id,etag,total")
    listed = api.get("/api/v4/webhooks.json", params={"fields": "id,model,status,user{id}"}).json()["data"]
    assert [(w["id"], w["model"]) for w in listed] == [(a["id"], "contact"), (b["id"], "activity")]
    assert listed[0]["user"] == {"id": sandbox.default_user_id}
    assert api.delete(f"/api/v4/webhooks/{a['id']}.json").status_code == 204
    assert api.get(f"/api/v4/webhooks/{a['id']}.json").status_code == 404
    assert sandbox.deliver_due_webhooks() == 1  # a's pending handshake was abandoned
    assert [h.headers["X-Hook-Secret"] for h in receiver.handshakes()] == [b["shared_secret"]]


def test_voiding_a_bill_is_an_update_with_the_new_state(
    sandbox: ClioSandbox, api: httpx.Client, receiver: Receiver
) -> None:
    c = new_contact(api)
    bill = sandbox.create_bill(client_id=c["id"], matter_ids=[], line_items=[{"price": 10}], state="awaiting_payment")
    _live(api, sandbox, model="bill", events=["updated", "deleted"], fields="id,state")
    assert api.delete(f"/api/v4/bills/{bill.id}.json").status_code == 204
    sandbox.deliver_due_webhooks()
    assert [(e["meta"]["event"], e["data"]["state"]) for e in receiver.events()] == [("updated", "void")]
