"""Contacts: Person/Company rules, nested emails/phones/addresses with ``_destroy``, filters."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import new_contact

NESTED = ",".join(
    [
        "id,etag,name,first_name,last_name,type,primary_email_address,secondary_email_address",
        "primary_phone_number,email_addresses{id,address,name,primary},phone_numbers{id,number,name,primary}",
        "addresses{id,street,city,name,primary},primary_address",
    ]
)


def _get(api: httpx.Client, cid: int) -> dict[str, Any]:
    return dict(api.get(f"/api/v4/contacts/{cid}.json", params={"fields": NESTED}).json()["data"])


def test_person_with_nested_collections(api: httpx.Client) -> None:
    c = new_contact(
        api,
        email_addresses=[
            {"address": "ada@work.example", "name": "Work", "primary": True},
            {"address": "ada@home.example", "name": "Home"},
        ],
        phone_numbers=[{"number": "+44 20 7946 0000", "name": "Work", "primary": True}],
        addresses=[{"street": "12 St James's Square", "city": "London", "name": "Billing", "country": "GB"}],
    )
    got = _get(api, c["id"])
    assert got["name"] == "Ada Lovelace"
    assert got["type"] == "Person"
    assert got["primary_email_address"] == "ada@work.example"
    assert got["secondary_email_address"] == "ada@home.example"
    assert got["primary_phone_number"] == "+44 20 7946 0000"
    assert [e["primary"] for e in got["email_addresses"]] == [True, False]
    assert got["primary_address"]["city"] == "London"
    assert got["addresses"][0]["primary"] is True


def test_company_needs_a_name_and_person_needs_name_parts(api: httpx.Client) -> None:
    r = api.post("/api/v4/contacts.json", json={"data": {"type": "Company"}})
    assert r.status_code == 422
    assert r.json()["error"]["message"]
    r = api.post("/api/v4/contacts.json", json={"data": {"type": "Person", "first_name": ""}})
    assert r.status_code == 422
    r = api.post("/api/v4/contacts.json", json={"data": {"first_name": "No", "last_name": "Type"}})
    assert r.status_code == 422


def test_person_name_only_is_split_into_parts(api: httpx.Client) -> None:
    r = api.post(
        "/api/v4/contacts.json",
        json={"data": {"type": "Person", "name": "Grace Brewster Hopper"}},
        params={"fields": "first_name,middle_name,last_name,name"},
    )
    assert r.json()["data"] == {
        "first_name": "Grace",
        "middle_name": "Brewster",
        "last_name": "Hopper",
        "name": "Grace Brewster Hopper",
    }


def test_nested_update_create_and_destroy(api: httpx.Client) -> None:
    c = new_contact(
        api,
        email_addresses=[{"address": "a@x.example", "primary": True}, {"address": "b@x.example"}],
        phone_numbers=[{"number": "111"}],
    )
    before = _get(api, c["id"])
    a_id, b_id = (e["id"] for e in before["email_addresses"])
    patch = {
        "email_addresses": [
            {"id": a_id, "_destroy": True},
            {"id": b_id, "address": "b2@x.example"},
            {"address": "c@x.example", "name": "Other", "primary": True},
        ],
        "phone_numbers": [{"id": before["phone_numbers"][0]["id"], "_destroy": True}],
    }
    r = api.patch(f"/api/v4/contacts/{c['id']}.json", json={"data": patch})
    assert r.status_code == 200
    after = _get(api, c["id"])
    assert {e["address"] for e in after["email_addresses"]} == {"b2@x.example", "c@x.example"}
    assert after["primary_email_address"] == "c@x.example"  # exactly one primary
    assert sum(e["primary"] for e in after["email_addresses"]) == 1
    assert after["phone_numbers"] == []
    assert after["primary_phone_number"] is None
    assert after["etag"] != before["etag"]


def test_nested_id_of_another_contact_is_404(api: httpx.Client) -> None:
    other = new_contact(api, email_addresses=[{"address": "o@x.example"}])
    oid = _get(api, other["id"])["email_addresses"][0]["id"]
    mine = new_contact(api)
    r = api.patch(
        f"/api/v4/contacts/{mine['id']}.json", json={"data": {"email_addresses": [{"id": oid, "_destroy": True}]}}
    )
    assert r.status_code == 404
    assert _get(api, other["id"])["primary_email_address"] == "o@x.example"


def test_invalid_nested_values_are_422(api: httpx.Client) -> None:
    assert (
        api.post(
            "/api/v4/contacts.json",
            json={"data": {"type": "Company", "name": "X", "email_addresses": [{"address": "not-an-email"}]}},
        ).status_code
        == 422
    )
    assert (
        api.post(
            "/api/v4/contacts.json",
            json={"data": {"type": "Company", "name": "X", "phone_numbers": [{"number": "1", "name": "Satellite"}]}},
        ).status_code
        == 422
    )
    assert (
        api.post(
            "/api/v4/contacts.json",
            json={"data": {"type": "Company", "name": "X", "addresses": [{"city": "Y", "name": "Office"}]}},
        ).status_code
        == 422
    )


def test_email_association_limit_is_422(api: httpx.Client) -> None:
    emails = [{"address": f"e{i}@x.example"} for i in range(201)]
    r = api.post("/api/v4/contacts.json", json={"data": {"type": "Company", "name": "Many", "email_addresses": emails}})
    assert r.status_code == 422
    assert "200" in r.json()["error"]["message"]


def test_delete_contact(api: httpx.Client) -> None:
    c = new_contact(api)
    assert api.delete(f"/api/v4/contacts/{c['id']}.json").status_code == 204
    assert api.get(f"/api/v4/contacts/{c['id']}.json").status_code == 404


def test_client_of_a_matter_cannot_be_deleted(api: httpx.Client) -> None:
    c = new_contact(api)
    api.post("/api/v4/matters.json", json={"data": {"client": {"id": c["id"]}}})
    assert api.delete(f"/api/v4/contacts/{c['id']}.json").status_code == 422


def test_list_filters_type_query_and_client_only(api: httpx.Client) -> None:
    person = new_contact(api, email_addresses=[{"address": "zed@x.example"}])
    company = api.post("/api/v4/contacts.json", json={"data": {"type": "Company", "name": "Zebra Holdings"}}).json()[
        "data"
    ]
    api.post("/api/v4/matters.json", json={"data": {"client": {"id": company["id"]}}})

    def ids(**params: str) -> set[int]:
        return {r["id"] for r in api.get("/api/v4/contacts.json", params=params).json()["data"]}

    assert ids(type="Company") == {company["id"]}
    assert ids(query="zebra") == {company["id"]}
    assert ids(query="zed@") == {person["id"]}
    assert ids(client_only="true") == {company["id"]}
    assert ids(email_only="true") == {person["id"]}


def test_company_link_and_currency(api: httpx.Client) -> None:
    company = api.post("/api/v4/contacts.json", json={"data": {"type": "Company", "name": "Employer Ltd"}}).json()[
        "data"
    ]
    cur = api.get("/api/v4/currencies.json", params={"fields": "id,code"}).json()["data"]
    eur = next(c for c in cur if c["code"] == "EUR")
    p = new_contact(api, company={"id": company["id"]}, currency={"id": eur["id"]})
    got = api.get(f"/api/v4/contacts/{p['id']}.json", params={"fields": "company{id,name},currency{code,sign}"}).json()[
        "data"
    ]
    assert got == {"company": {"id": company["id"], "name": "Employer Ltd"}, "currency": {"code": "EUR", "sign": "€"}}
    assert (
        api.post(
            "/api/v4/contacts.json", json={"data": {"type": "Company", "name": "X", "company": {"id": 1}}}
        ).status_code
        == 422
    )


def test_a_rejected_patch_changes_nothing(api: httpx.Client) -> None:
    c = new_contact(api, email_addresses=[{"address": "keep@x.example"}])
    before = _get(api, c["id"])
    bad = {"title": "Changed", "email_addresses": [{"address": "new@x.example"}, {"address": "broken"}]}
    assert api.patch(f"/api/v4/contacts/{c['id']}.json", json={"data": bad}).status_code == 422
    assert _get(api, c["id"]) == before


def test_request_fields_of_the_spec_are_honoured(api: httpx.Client) -> None:
    """The spec's request names the primary flags default_email/default_number and allows the
    phone names Work/Home/Mobile/Fax/Pager/Skype/Other; responses show Work/Personal/Other."""
    r = api.post(
        "/api/v4/contacts.json",
        json={
            "data": {
                "type": "Person",
                "first_name": "Grace",
                "last_name": "Hopper",
                "email_addresses": [
                    {"address": "g.hopper@navy.test", "name": "Work"},
                    {"address": "grace@home.test", "name": "Home", "default_email": True},
                ],
                "phone_numbers": [
                    {"number": "+1 555 0100", "name": "Fax"},
                    {"number": "+1 555 0101", "name": "Mobile", "default_number": True},
                    {"number": "+1 555 0102", "name": "Home"},
                    {"number": "+1 555 0103"},
                ],
            }
        },
        params={"fields": "primary_email_address,primary_phone_number,phone_numbers{number,name,primary}"},
    )
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    assert data["primary_email_address"] == "grace@home.test"
    assert data["primary_phone_number"] == "+1 555 0101"
    assert sorted((p["number"], p["name"], p["primary"]) for p in data["phone_numbers"]) == [
        ("+1 555 0100", "Other", False),
        ("+1 555 0101", "Personal", True),
        ("+1 555 0102", "Personal", False),
        ("+1 555 0103", "Other", False),  # the spec's request default
    ]
