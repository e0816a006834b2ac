"""The ``/_sandbox`` admin surface, driven over HTTP like an outside test harness would."""

from __future__ import annotations

import httpx

from clio_xero.clock import ManualClock
from clio_xero_tools.sandbox.clio import ClioSandbox

from .conftest import Receiver, client_for


def test_index_lists_routes(admin: httpx.Client) -> None:
    routes = admin.get("/_sandbox").json()["routes"]
    assert "/_sandbox/seed" in routes
    assert "/_sandbox/webhooks/deliver" in routes


def test_tokens_and_users(sandbox: ClioSandbox, admin: httpx.Client) -> None:
    user = admin.post("/_sandbox/users", json={"first_name": "Pat", "last_name": "Partner"}).json()["data"]
    tok = admin.post("/_sandbox/tokens", json={"user_id": user["id"]}).json()
    with client_for(sandbox, tok["access_token"]) as c:
        me = c.get("/api/v4/users/who_am_i.json", params={"fields": "name,email"}).json()["data"]
    assert me == {"name": "Pat Partner", "email": "pat.partner@sandbox-firm.test"}
    assert admin.post("/_sandbox/tokens", json={"user_id": 1}).status_code == 404
    assert sandbox.request_log.entries()[-1].connection == str(user["id"])


def test_clock(sandbox: ClioSandbox, admin: httpx.Client, clock: ManualClock) -> None:
    before = admin.get("/_sandbox/clock").json()["now"]
    after = admin.post("/_sandbox/clock/advance", json={"seconds": 90}).json()["now"]
    assert before == "2026-01-05T09:00:00+00:00"
    assert after == "2026-01-05T09:01:30+00:00"
    assert clock.now().isoformat(timespec="seconds") == after
    assert admin.post("/_sandbox/clock/advance", json={"seconds": "soon"}).status_code == 400


def test_act_as_user_on_contacts(sandbox: ClioSandbox, admin: httpx.Client, api: httpx.Client) -> None:
    c = admin.post(
        "/_sandbox/act/contacts", json={"type": "Person", "first_name": "Émile", "last_name": "Zola"}
    ).json()["data"]
    assert c["name"] == "Émile Zola"
    assert c["etag"]
    renamed = admin.patch(f"/_sandbox/act/contacts/{c['id']}", json={"first_name": "Emile"}).json()["data"]
    assert renamed["name"] == "Emile Zola"
    assert renamed["etag"] != c["etag"]
    assert api.get(f"/api/v4/contacts/{c['id']}.json", params={"fields": "name"}).json()["data"]["name"] == "Emile Zola"
    assert admin.get(f"/_sandbox/act/contacts/{c['id']}").json()["data"]["id"] == c["id"]
    assert admin.delete(f"/_sandbox/act/contacts/{c['id']}").status_code == 204
    assert admin.get(f"/_sandbox/act/contacts/{c['id']}").status_code == 404
    assert admin.post("/_sandbox/act/contacts", json={"type": "Company"}).status_code == 422
    assert api.get("/api/v4/contacts.json").json()["data"] == []
    assert [e.path for e in sandbox.request_log.entries()] == [
        f"/api/v4/contacts/{c['id']}.json?fields=name",
        "/api/v4/contacts.json",
    ]


def test_bills_in_any_state_and_unknown_attributes(
    sandbox: ClioSandbox, admin: httpx.Client, api: httpx.Client
) -> None:
    c = admin.post("/_sandbox/act/contacts", json={"type": "Company", "name": "Acme"}).json()["data"]
    m = admin.post("/_sandbox/act/matters", json={"client": {"id": c["id"]}}).json()["data"]
    a = admin.post(
        "/_sandbox/act/activities",
        json={"type": "TimeEntry", "quantity": 3600, "price": 100, "matter": {"id": m["id"]}},
    ).json()["data"]
    for state in ("draft", "awaiting_approval", "awaiting_payment", "paid", "void", "deleted"):
        b = admin.post(
            "/_sandbox/act/bills",
            json={
                "client_id": c["id"],
                "matter_ids": [m["id"]],
                "line_items": [{"price": 10}],
                "state": state,
                "number": f"INV-{state}",
            },
        )
        assert b.status_code == 201
        assert b.json()["data"]["state"] == state
    billed = admin.post(
        "/_sandbox/act/bills", json={"client_id": c["id"], "matter_ids": [m["id"]], "activity_ids": [a["id"]]}
    ).json()["data"]
    assert billed["total"] == 110.0
    again = admin.post("/_sandbox/act/bills", json={"client_id": c["id"], "activity_ids": [a["id"]]})
    assert again.status_code == 422  # an activity sits on one bill only
    assert admin.post("/_sandbox/act/bills", json={"client_id": c["id"], "colour": "red"}).status_code == 400
    assert admin.post("/_sandbox/act/bills", json={"matter_ids": []}).status_code == 400
    void = admin.patch(f"/_sandbox/act/bills/{billed['id']}", json={"state": "void"}).json()["data"]
    assert void["state"] == "void"
    numbers = [b["number"] for b in api.get("/api/v4/bills.json", params={"fields": "number"}).json()["data"]]
    assert "INV-paid" in numbers
    assert len(numbers) == 7


def test_faults_round_trip(sandbox: ClioSandbox, admin: httpx.Client) -> None:
    r = admin.put("/_sandbox/faults", json={"seed": 3, "error_rate": 0.5, "status_codes": [503], "drop_rate": 0.1})
    assert r.json()["faults"]["status_codes"] == [503]
    assert sandbox.faults is not None
    assert sandbox.faults.seed == 3
    assert admin.get("/_sandbox/faults").json()["faults"]["error_rate"] == 0.5
    admin.delete("/_sandbox/faults")
    assert sandbox.faults is None


def test_deliveries_are_listed_and_delivered_on_demand(
    sandbox: ClioSandbox, admin: httpx.Client, api: httpx.Client, receiver: Receiver
) -> None:
    api.post(
        "/api/v4/webhooks.json", json={"data": {"url": "https://hooks.example/x", "model": "contact", "fields": "id"}}
    )
    pending = admin.get("/_sandbox/webhooks/deliveries", params={"state": "pending"}).json()["deliveries"]
    assert [d["kind"] for d in pending] == ["handshake"]
    assert admin.post("/_sandbox/webhooks/deliver").json() == {"posts": 1}
    admin.post("/_sandbox/act/contacts", json={"type": "Company", "name": "Hooked"})
    assert admin.post("/_sandbox/webhooks/deliver").json() == {"posts": 1}
    done = admin.get("/_sandbox/webhooks/deliveries").json()["deliveries"]
    assert [(d["kind"], d["state"], d["attempts"]) for d in done] == [
        ("handshake", "delivered", 1),
        ("event", "delivered", 1),
    ]
    assert done[1]["body"]["meta"]["event"] == "created"
    assert done[1]["history"][0]["status"] == 200


def test_schema_violations_endpoint(sandbox: ClioSandbox, admin: httpx.Client) -> None:
    assert admin.get("/_sandbox/schema_violations").json() == {"violations": []}


def test_admin_errors_are_json(admin: httpx.Client) -> None:
    r = admin.post("/_sandbox/seed", content=b"{oops")
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "ArgumentError"
    assert admin.post("/_sandbox/act/widgets", json={}).status_code == 404
