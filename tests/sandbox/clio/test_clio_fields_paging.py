"""``fields`` semantics and paging (cursor, offset cap, limit), as pure functions and over HTTP."""

from __future__ import annotations

import httpx
import pytest

from clio_xero.clock import ManualClock
from clio_xero_tools.sandbox.clio import ClioSandbox
from clio_xero_tools.sandbox.clio.fields import FieldsError, parse_fields
from clio_xero_tools.sandbox.clio.paging import OFFSET_CAP, PagingError, cursor_page, offset_page

from .conftest import new_contact


# -- pure functions ------------------------------------------------------------------------------
def test_parse_fields_default_is_id_and_etag() -> None:
    assert parse_fields(None) == {"id": None, "etag": None}
    assert parse_fields("") == {"id": None, "etag": None}


def test_parse_fields_one_nesting_level() -> None:
    assert parse_fields("id,name,matter{id,display_number}") == {
        "id": None,
        "name": None,
        "matter": ("id", "display_number"),
    }


@pytest.mark.parametrize("bad", ["matter{client{id}}", "id,,name", "matter{id", "id}", "id,", "a{}"])
def test_parse_fields_rejects_malformed(bad: str) -> None:
    with pytest.raises(FieldsError):
        parse_fields(bad)


def test_cursor_page_walks_forward_and_backward() -> None:
    ids = list(range(1, 8))
    p1 = cursor_page(ids, limit=3, token=None, descending=False)
    p2 = cursor_page(ids, limit=3, token=p1.next_token, descending=False)
    p3 = cursor_page(ids, limit=3, token=p2.next_token, descending=False)
    assert (p1.ids, p2.ids, p3.ids, p3.next_token) == ([1, 2, 3], [4, 5, 6], [7], None)
    d1 = cursor_page(ids[::-1], limit=4, token=None, descending=True)
    assert cursor_page(ids[::-1], limit=4, token=d1.next_token, descending=True).ids == [3, 2, 1]


def test_offset_page_cap() -> None:
    assert offset_page(list(range(20)), limit=5, offset=5).next_offset == 10
    with pytest.raises(PagingError) as exc:
        offset_page(list(range(20)), limit=5, offset=OFFSET_CAP)
    assert exc.value.status == 422


# -- over HTTP -----------------------------------------------------------------------------------
def test_default_fields_are_id_and_etag(api: httpx.Client) -> None:
    new_contact(api)
    row = api.get("/api/v4/contacts.json").json()["data"][0]
    assert set(row) == {"id", "etag"}
    assert row["etag"].startswith('"')
    assert row["etag"].endswith('"')


def test_nested_fields_select_inside_the_relation(api: httpx.Client) -> None:
    c = new_contact(api, email_addresses=[{"address": "ada@example.com", "name": "Work", "primary": True}])
    m = api.post("/api/v4/matters.json", json={"data": {"client": {"id": c["id"]}, "description": "Estate"}}).json()[
        "data"
    ]
    r = api.get(f"/api/v4/matters/{m['id']}.json", params={"fields": "id,client{id,name,primary_email_address}"})
    assert r.json()["data"] == {
        "id": m["id"],
        "client": {"id": c["id"], "name": "Ada Lovelace", "primary_email_address": "ada@example.com"},
    }
    bare = api.get(f"/api/v4/matters/{m['id']}.json", params={"fields": "client"}).json()["data"]
    assert set(bare["client"]) == {"id", "etag"}


@pytest.mark.parametrize(
    "fields",
    ["id,nope", "client{client{id}}", "client{nope}", "name{id}", "matter{id"],
)
def test_bad_fields_answer_400_with_clio_error_body(api: httpx.Client, fields: str) -> None:
    r = api.get("/api/v4/matters.json", params={"fields": fields})
    assert r.status_code == 400
    err = r.json()["error"]
    assert set(err) == {"type", "message"}
    assert err["message"]


@pytest.fixture
def many(sandbox: ClioSandbox) -> ClioSandbox:
    for i in range(205):
        sandbox.act_create("contacts", {"type": "Company", "name": f"Company {i:03d}"})
    return sandbox


def test_cursor_paging_follows_meta_paging_next(many: ClioSandbox, api: httpx.Client) -> None:
    seen: list[int] = []
    url: str | None = "/api/v4/contacts.json?order=id(asc)&limit=60&fields=id,name"
    pages = 0
    while url:
        body = api.get(url).json()
        seen.extend(row["id"] for row in body["data"])
        url = body["meta"]["paging"].get("next")
        if url:
            assert url.startswith("http://clio.test/api/v4/contacts.json?")
            assert "page_token=" in url
            assert "fields=id%2Cname" in url
            assert "limit=60" in url
        pages += 1
    assert pages == 4
    assert seen == sorted(seen)
    assert len(set(seen)) == 205


def test_cursor_is_stable_while_records_are_added(many: ClioSandbox, api: httpx.Client) -> None:
    first = api.get("/api/v4/contacts.json", params={"limit": 200}).json()
    many.act_create("contacts", {"type": "Company", "name": "Late arrival"})
    second = api.get(first["meta"]["paging"]["next"]).json()
    assert len(second["data"]) == 6
    assert "next" not in second["meta"]["paging"]


def test_default_limit_is_200_and_bounds_are_enforced(many: ClioSandbox, api: httpx.Client) -> None:
    assert len(api.get("/api/v4/contacts.json").json()["data"]) == 200
    for bad in ("0", "201", "x"):
        r = api.get("/api/v4/contacts.json", params={"limit": bad})
        assert r.status_code == 400, bad


def test_order_id_desc_pages_backwards(many: ClioSandbox, api: httpx.Client) -> None:
    body = api.get("/api/v4/contacts.json", params={"order": "id(desc)", "limit": 5}).json()
    ids = [r["id"] for r in body["data"]]
    assert ids == sorted(ids, reverse=True)
    nxt = api.get(body["meta"]["paging"]["next"]).json()["data"]
    assert nxt[0]["id"] < ids[-1]


def test_offset_paging_and_its_cap(many: ClioSandbox, api: httpx.Client) -> None:
    body = api.get("/api/v4/contacts.json", params={"offset": 200, "limit": 10}).json()
    assert len(body["data"]) == 5
    assert "previous" in body["meta"]["paging"]
    r = api.get("/api/v4/contacts.json", params={"offset": 10_000})
    assert r.status_code == 422
    assert r.json()["error"]["type"] == "ArgumentError"


def test_order_by_name_uses_offset_links(many: ClioSandbox, api: httpx.Client) -> None:
    body = api.get("/api/v4/contacts.json", params={"order": "name(desc)", "fields": "name", "limit": 3}).json()
    assert [r["name"] for r in body["data"]] == ["Company 204", "Company 203", "Company 202"]
    assert "offset=3" in body["meta"]["paging"]["next"]
    assert api.get("/api/v4/contacts.json", params={"order": "shoe_size(asc)"}).status_code == 400


def test_updated_since_and_created_since(sandbox: ClioSandbox, api: httpx.Client, clock: ManualClock) -> None:
    old = new_contact(api, first_name="Old")
    clock.advance(3600)
    mark = clock.now().isoformat()
    fresh = new_contact(api, first_name="Fresh")
    assert [r["id"] for r in api.get("/api/v4/contacts.json", params={"updated_since": mark}).json()["data"]] == [
        fresh["id"]
    ]
    clock.advance(60)
    api.patch(f"/api/v4/contacts/{old['id']}.json", json={"data": {"title": "Countess"}})
    updated = {r["id"] for r in api.get("/api/v4/contacts.json", params={"updated_since": mark}).json()["data"]}
    created = {r["id"] for r in api.get("/api/v4/contacts.json", params={"created_since": mark}).json()["data"]}
    assert updated == {old["id"], fresh["id"]}
    assert created == {fresh["id"]}
    assert api.get("/api/v4/contacts.json", params={"updated_since": "yesterday"}).status_code == 400


def test_ids_filter(api: httpx.Client) -> None:
    a, _b, c = new_contact(api), new_contact(api), new_contact(api)
    r = api.get("/api/v4/contacts.json", params=[("ids[]", a["id"]), ("ids[]", c["id"])])
    assert [x["id"] for x in r.json()["data"]] == [a["id"], c["id"]]
