"""/Contacts: uniqueness rules, batches and summarizeErrors, paging, IDs, where, If-Modified-Since."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from clio_xero.clock import ManualClock
from clio_xero_tools.sandbox.xero import XeroSandbox
from clio_xero_tools.sandbox.xero.store import Org

MakeContact = Callable[..., dict[str, Any]]
DUPLICATE_NAME = (
    "The contact name {} is already assigned to another contact. "
    "The contact name must be unique across all active contacts."
)


def names(r: httpx.Response) -> list[str]:
    return [c["Name"] for c in r.json()["Contacts"]]


def test_create_returns_envelope_and_msdate(api: httpx.Client, clock: ManualClock) -> None:
    r = api.put("Contacts", json={"Contacts": [{"Name": "Ada Lovelace", "EmailAddress": "ada@example.com"}]})
    assert r.status_code == 200
    body = r.json()
    assert body["Status"] == "OK"
    assert re.fullmatch(r"/Date\(\d+\)/", body["DateTimeUTC"])
    contact = body["Contacts"][0]
    assert contact["ContactStatus"] == "ACTIVE"
    ms = int(clock.now().timestamp() * 1000)
    assert contact["UpdatedDateUTC"] == f"/Date({ms}+0000)/"
    assert contact["IsCustomer"] is False
    assert re.fullmatch(r"[0-9a-f-]{36}", contact["ContactID"])


def test_get_by_id_and_by_contact_number(api: httpx.Client, make_contact: MakeContact) -> None:
    c = make_contact("Grace Hopper", ContactNumber="CLIO-42")
    assert api.get(f"Contacts/{c['ContactID']}").json()["Contacts"][0]["Name"] == "Grace Hopper"
    assert api.get("Contacts/CLIO-42").json()["Contacts"][0]["ContactID"] == c["ContactID"]
    missing = api.get("Contacts/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404


def test_name_unique_among_active_contacts_only(api: httpx.Client, make_contact: MakeContact) -> None:
    first = make_contact("Smith & Co")
    r = api.put("Contacts", json={"Contacts": [{"Name": "smith  & co"}]})
    assert r.status_code == 400
    assert r.json()["Elements"][0]["ValidationErrors"][0]["Message"] == DUPLICATE_NAME.format("smith  & co")
    archived = api.post(f"Contacts/{first['ContactID']}", json={"Contacts": [{"ContactStatus": "ARCHIVED"}]})
    assert archived.json()["Contacts"][0]["ContactStatus"] == "ARCHIVED"
    # With the first one archived, the name is free again.
    assert api.put("Contacts", json={"Contacts": [{"Name": "Smith & Co"}]}).status_code == 200
    # ...and un-archiving the old one now collides.
    back = api.post(f"Contacts/{first['ContactID']}", json={"Contacts": [{"ContactStatus": "ACTIVE"}]})
    assert back.status_code == 400


def test_rename_into_existing_name_is_rejected(api: httpx.Client, make_contact: MakeContact) -> None:
    make_contact("Alpha Ltd")
    beta = make_contact("Beta Ltd")
    r = api.post(f"Contacts/{beta['ContactID']}", json={"Contacts": [{"Name": "Alpha Ltd"}]})
    assert r.status_code == 400
    assert "already assigned" in r.json()["Elements"][0]["ValidationErrors"][0]["Message"]


def test_contact_number_unique_including_archived(api: httpx.Client, make_contact: MakeContact) -> None:
    old = make_contact("Old Client", ContactNumber="C-1")
    api.post(f"Contacts/{old['ContactID']}", json={"Contacts": [{"ContactStatus": "ARCHIVED"}]})
    r = api.put("Contacts", json={"Contacts": [{"Name": "New Client", "ContactNumber": "C-1"}]})
    assert r.status_code == 400
    message = r.json()["Elements"][0]["ValidationErrors"][0]["Message"]
    assert message.startswith("The contact number C-1 is already assigned to another contact")


def test_batch_without_summarize_errors_400s_but_creates_the_good_ones(
    api: httpx.Client, make_contact: MakeContact
) -> None:
    make_contact("Taken Name")
    r = api.put(
        "Contacts",
        json={"Contacts": [{"Name": "Good One"}, {"Name": "Taken Name"}, {"Name": "Good Two"}]},
    )
    assert r.status_code == 400
    body = r.json()
    assert body["ErrorNumber"] == 10
    assert body["Type"] == "ValidationException"
    assert body["Message"] == "A validation exception occurred"
    assert [e["Name"] for e in body["Elements"]] == ["Taken Name"]
    assert "ContactID" not in body["Elements"][0]
    # The classic duplicate trap: the valid elements were created anyway.
    assert sorted(names(api.get("Contacts"))) == ["Good One", "Good Two", "Taken Name"]


def test_batch_with_summarize_errors_false_reports_per_element(api: httpx.Client, make_contact: MakeContact) -> None:
    make_contact("Taken Name")
    r = api.put(
        "Contacts?summarizeErrors=false",
        json={
            "Contacts": [{"Name": "Fresh"}, {"Name": "Taken Name"}, {"Name": "Bad Email", "EmailAddress": "jürgen@x"}]
        },
    )
    assert r.status_code == 200
    out = r.json()["Contacts"]
    assert [c["StatusAttributeString"] for c in out] == ["OK", "ERROR", "ERROR"]
    assert out[0]["HasValidationErrors"] is False
    assert "ContactID" in out[0]
    assert out[1]["HasValidationErrors"] is True
    assert out[1]["ValidationErrors"][0]["Message"] == DUPLICATE_NAME.format("Taken Name")
    assert out[2]["ValidationErrors"] == [{"Message": "Email address must be valid."}]


def test_duplicates_within_one_batch_collide(api: httpx.Client) -> None:
    r = api.put("Contacts?summarizeErrors=false", json={"Contacts": [{"Name": "Twin"}, {"Name": "Twin"}]})
    assert [c["StatusAttributeString"] for c in r.json()["Contacts"]] == ["OK", "ERROR"]


def test_post_updates_by_contact_id_and_only_given_fields(api: httpx.Client, make_contact: MakeContact) -> None:
    c = make_contact("Partial Update", EmailAddress="a@example.com", ContactNumber="P-1")
    r = api.post("Contacts", json={"Contacts": [{"ContactID": c["ContactID"], "EmailAddress": "b@example.com"}]})
    updated = r.json()["Contacts"][0]
    assert updated["EmailAddress"] == "b@example.com"
    assert updated["ContactNumber"] == "P-1"
    assert updated["Name"] == "Partial Update"
    unknown = api.post("Contacts", json={"Contacts": [{"ContactID": "11111111-1111-1111-1111-111111111111"}]})
    assert unknown.status_code == 400


def test_is_customer_is_read_only(api: httpx.Client) -> None:
    r = api.put("Contacts", json={"Contacts": [{"Name": "Sneaky", "IsCustomer": True}]})
    assert r.json()["Contacts"][0]["IsCustomer"] is False


def test_missing_name_and_bad_json(api: httpx.Client) -> None:
    r = api.put("Contacts", json={"Contacts": [{"EmailAddress": "x@example.com"}]})
    assert r.status_code == 400
    bad = api.put("Contacts", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400
    assert bad.json()["Type"] == "PostDataInvalidException"


@pytest.fixture
def many(api: httpx.Client) -> list[dict[str, Any]]:
    batch = [{"Name": f"Client {i:03d}", "EmailAddress": f"c{i}@example.com"} for i in range(250)]
    r = api.put("Contacts", json={"Contacts": batch})
    assert r.status_code == 200
    return list(r.json()["Contacts"])


def test_paging_returns_pagination_object(api: httpx.Client, many: list[dict[str, Any]]) -> None:
    first = api.get("Contacts", params={"page": 1})
    assert first.json()["pagination"] == {"page": 1, "pageSize": 100, "pageCount": 3, "itemCount": 250}
    assert len(first.json()["Contacts"]) == 100
    third = api.get("Contacts", params={"page": 3, "pageSize": 100}).json()
    assert len(third["Contacts"]) == 50
    big = api.get("Contacts", params={"page": 1, "pageSize": 1000}).json()
    assert len(big["Contacts"]) == 250
    assert api.get("Contacts", params={"page": 1, "pageSize": 1001}).status_code == 400
    # Without page, Contacts come back whole and without a pagination object.
    unpaged = api.get("Contacts").json()
    assert "pagination" not in unpaged
    assert len(unpaged["Contacts"]) == 250


def test_ids_filter(api: httpx.Client, many: list[dict[str, Any]]) -> None:
    wanted = [many[3]["ContactID"], many[77]["ContactID"]]
    r = api.get("Contacts", params={"IDs": ",".join(wanted)})
    assert sorted(c["ContactID"] for c in r.json()["Contacts"]) == sorted(wanted)


def test_where_subset(api: httpx.Client, make_contact: MakeContact) -> None:
    make_contact("Harbour Holdings Pty Ltd", EmailAddress="ap@harbour.example", ContactNumber="H-1")
    make_contact("Harbour Dental", EmailAddress="hello@dental.example")
    make_contact("Summit Logistics", EmailAddress="AP@Summit.example")
    assert names(api.get("Contacts", params={"where": 'Name.Contains("harbour")'})) == [
        "Harbour Holdings Pty Ltd",
        "Harbour Dental",
    ]
    assert names(api.get("Contacts", params={"where": 'Name.StartsWith("Summit")'})) == ["Summit Logistics"]
    assert names(api.get("Contacts", params={"where": 'EmailAddress=="ap@summit.example"'})) == ["Summit Logistics"]
    both = 'Name.Contains("Harbour") AND ContactNumber!=null'
    assert names(api.get("Contacts", params={"where": both})) == ["Harbour Holdings Pty Ltd"]
    status = 'ContactStatus=="ACTIVE" AND Name!="Harbour Dental"'
    assert sorted(names(api.get("Contacts", params={"where": status}))) == [
        "Harbour Holdings Pty Ltd",
        "Summit Logistics",
    ]
    cid = api.get("Contacts/H-1").json()["Contacts"][0]["ContactID"]
    by_guid = api.get("Contacts", params={"where": f'ContactID==Guid("{cid}")'})
    assert names(by_guid) == ["Harbour Holdings Pty Ltd"]
    assert api.get("Contacts", params={"where": "Name LIKE 'x'"}).status_code == 400


def test_order_and_search_term(api: httpx.Client, make_contact: MakeContact) -> None:
    for n in ("Charlie", "alpha", "Bravo"):
        make_contact(n, EmailAddress=f"{n.lower()}@example.com")
    assert names(api.get("Contacts", params={"order": "Name ASC"})) == ["alpha", "Bravo", "Charlie"]
    assert names(api.get("Contacts", params={"order": "Name DESC"})) == ["Charlie", "Bravo", "alpha"]
    assert names(api.get("Contacts", params={"searchTerm": "BRAVO@"})) == ["Bravo"]


def test_include_archived(api: httpx.Client, make_contact: MakeContact) -> None:
    c = make_contact("Archivable")
    make_contact("Stays")
    api.post(f"Contacts/{c['ContactID']}", json={"Contacts": [{"ContactStatus": "ARCHIVED"}]})
    assert names(api.get("Contacts")) == ["Stays"]
    assert sorted(names(api.get("Contacts", params={"includeArchived": "true"}))) == ["Archivable", "Stays"]


def test_if_modified_since(api: httpx.Client, make_contact: MakeContact, clock: ManualClock) -> None:
    make_contact("Before")
    clock.advance(60)
    cutoff = clock.now()
    clock.advance(1)
    make_contact("After")
    iso = api.get("Contacts", headers={"If-Modified-Since": cutoff.strftime("%Y-%m-%dT%H:%M:%S")})
    assert names(iso) == ["After"]
    http_date = api.get("Contacts", headers={"If-Modified-Since": cutoff.strftime("%a, %d %b %Y %H:%M:%S GMT")})
    assert names(http_date) == ["After"]


def test_merge_in_web_app_sets_merged_to_contact_id(
    api: httpx.Client, make_contact: MakeContact, http: httpx.Client, org: Org
) -> None:
    dup = make_contact("Jon Smith")
    keep = make_contact("John Smith")
    r = http.post(
        f"/_sandbox/tenants/{org.organisation_id}/contacts/merge",
        json={"merge": dup["ContactID"], "into": keep["ContactID"]},
    )
    assert r.status_code == 200
    merged = api.get(f"Contacts/{dup['ContactID']}").json()["Contacts"][0]
    assert merged["MergedToContactID"] == keep["ContactID"]
    assert merged["ContactStatus"] == "ARCHIVED"
    paged = api.get("Contacts", params={"page": 1, "includeArchived": "true"}).json()["Contacts"]
    assert any(c.get("MergedToContactID") == keep["ContactID"] for c in paged)
    # The spec: MergedToContactID only appears when paging or fetching one contact.
    unpaged = api.get("Contacts", params={"includeArchived": "true"}).json()["Contacts"]
    assert all("MergedToContactID" not in c for c in unpaged)


def test_user_rename_in_web_app_bumps_updated_date(
    api: httpx.Client, make_contact: MakeContact, sandbox: XeroSandbox, org: Org, clock: ManualClock
) -> None:
    c = make_contact("Renamed Later")
    clock.advance(5)
    sandbox.admin.update_contact(org.organisation_id, c["ContactID"], {"Name": "Renamed By User"})
    got = api.get(f"Contacts/{c['ContactID']}").json()["Contacts"][0]
    assert got["Name"] == "Renamed By User"
    assert got["UpdatedDateUTC"] != c["UpdatedDateUTC"]
