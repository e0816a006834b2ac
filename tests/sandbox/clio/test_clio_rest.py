"""REST basics: API versions, ETags and If-Match, error bodies, the request log."""

from __future__ import annotations

import httpx

from clio_xero.clock import ManualClock
from clio_xero_tools.sandbox.clio import ClioSandbox

from .conftest import new_contact


def test_version_defaults_to_4_0_13_and_echoes_the_requested_one(api: httpx.Client) -> None:
    assert api.get("/api/v4/contacts.json").headers["X-API-VERSION"] == "4.0.13"
    assert api.get("/api/v4/contacts.json", headers={"X-API-VERSION": "4.0.9"}).headers["X-API-VERSION"] == "4.0.9"


def test_invalid_version_is_410(api: httpx.Client) -> None:
    for bad in ("4.0.99", "5.0.0", "latest"):
        r = api.get("/api/v4/contacts.json", headers={"X-API-VERSION": bad})
        assert r.status_code == 410
        assert "X-API-VERSION" not in r.headers
        assert r.json()["error"]["message"]


def test_activity_quantity_was_hours_before_4_0_4(api: httpx.Client) -> None:
    c = new_contact(api)
    m = api.post("/api/v4/matters.json", json={"data": {"client": {"id": c["id"]}}}).json()["data"]
    a = api.post(
        "/api/v4/activities.json",
        json={"data": {"type": "TimeEntry", "quantity": 5400, "price": 200, "matter": {"id": m["id"]}}},
    ).json()["data"]
    now = api.get(f"/api/v4/activities/{a['id']}.json", params={"fields": "quantity"}).json()["data"]
    old = api.get(
        f"/api/v4/activities/{a['id']}.json", params={"fields": "quantity"}, headers={"X-API-VERSION": "4.0.3"}
    ).json()["data"]
    assert now["quantity"] == 5400
    assert old["quantity"] == 1.5


def test_etag_changes_on_every_write_and_matches_header(api: httpx.Client, clock: ManualClock) -> None:
    c = new_contact(api)
    one = api.get(f"/api/v4/contacts/{c['id']}.json", params={"fields": "etag,updated_at"})
    assert one.headers["ETag"] == one.json()["data"]["etag"]
    assert "Last-Modified" in one.headers
    clock.advance(5)
    after = api.patch(
        f"/api/v4/contacts/{c['id']}.json", json={"data": {"title": "Countess"}}, params={"fields": "etag,updated_at"}
    )
    assert after.json()["data"]["etag"] != c["etag"]
    assert after.json()["data"]["updated_at"] > c["updated_at"]


def test_if_match_stale_is_412_current_is_200(api: httpx.Client) -> None:
    c = new_contact(api)
    fresh = api.patch(
        f"/api/v4/contacts/{c['id']}.json", json={"data": {"title": "A"}}, headers={"If-Match": c["etag"]}
    )
    assert fresh.status_code == 200
    stale = api.patch(
        f"/api/v4/contacts/{c['id']}.json", json={"data": {"title": "B"}}, headers={"If-Match": c["etag"]}
    )
    assert stale.status_code == 412
    assert stale.json()["error"]["type"] == "PreconditionFailed"
    title = api.get(f"/api/v4/contacts/{c['id']}.json", params={"fields": "title"}).json()["data"]["title"]
    assert title == "A"  # the stale write changed nothing


def test_if_none_match_and_if_modified_since_give_304(api: httpx.Client) -> None:
    c = new_contact(api)
    r = api.get(f"/api/v4/contacts/{c['id']}.json")
    assert api.get(f"/api/v4/contacts/{c['id']}.json", headers={"If-None-Match": r.headers["ETag"]}).status_code == 304
    assert (
        api.get(
            f"/api/v4/contacts/{c['id']}.json", headers={"If-Modified-Since": r.headers["Last-Modified"]}
        ).status_code
        == 304
    )
    assert api.get(f"/api/v4/contacts/{c['id']}.json", headers={"If-None-Match": '"other"'}).status_code == 200


def test_unknown_record_and_route_are_404_with_error_body(api: httpx.Client) -> None:
    r = api.get("/api/v4/contacts/999.json")
    assert r.status_code == 404
    assert r.json()["error"]["type"] == "RecordNotFound"
    assert api.get("/api/v4/widgets.json").status_code == 404
    assert api.get("/api/v4/line_items/1.json").status_code == 404  # the spec has no GET for one line item


def test_bad_json_body_is_400(api: httpx.Client) -> None:
    r = api.post("/api/v4/contacts.json", content=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = api.post("/api/v4/contacts.json", json={"type": "Person"})
    assert r.status_code == 400
    assert "data" in r.json()["error"]["message"]


def test_paths_without_json_suffix_work(api: httpx.Client) -> None:
    c = new_contact(api)
    assert api.get(f"/api/v4/contacts/{c['id']}").json()["data"]["id"] == c["id"]


def test_request_log_records_api_calls_but_not_admin(
    sandbox: ClioSandbox, api: httpx.Client, admin: httpx.Client
) -> None:
    api.get("/api/v4/contacts.json")
    api.get("/api/v4/nothing.json")
    admin.get("/_sandbox/clock")
    log = admin.get("/_sandbox/requests").json()
    assert [(e["method"], e["path"], e["status"]) for e in log["requests"]] == [
        ("GET", "/api/v4/contacts.json", 200),
        ("GET", "/api/v4/nothing.json", 404),
    ]
    assert log["requests"][0]["connection"] == str(sandbox.default_user_id)
    assert admin.delete("/_sandbox/requests").json()["count"] == 0
    assert sandbox.request_log.entries() == []
