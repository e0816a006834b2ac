"""/TrackingCategories and /Options (limits, names, archive/delete) and tracking on invoice lines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from clio_xero_tools.sandbox.xero.tracking import MAX_ACTIVE_OPTIONS

Make = Callable[..., dict[str, Any]]


def messages(r: httpx.Response) -> list[str]:
    return [m["Message"] for e in r.json()["Elements"] for m in e["ValidationErrors"]]


def category(api: httpx.Client, name: str, *options: str) -> dict[str, Any]:
    r = api.put("TrackingCategories", json={"name": name})  # the spec's own example spells it "name"
    assert r.status_code == 200, r.text
    cat = dict(r.json()["TrackingCategories"][0])
    if options:
        added = api.put(f"TrackingCategories/{cat['TrackingCategoryID']}/Options",
                        json={"Options": [{"Name": o} for o in options]})  # fmt: skip
        assert added.status_code == 200, added.text
        cat["Options"] = added.json()["Options"]
    return cat


def line(**tracking: Any) -> dict[str, Any]:
    return {"Description": "Advice", "Quantity": 1, "UnitAmount": 100, "AccountCode": "200", **tracking}


def test_create_list_get_and_options(api: httpx.Client) -> None:
    cat = category(api, "Practice Area", "Litigation", "Conveyancing")
    assert (cat["Name"], cat["Status"]) == ("Practice Area", "ACTIVE")
    assert [(o["Name"], o["Status"], o["IsActive"]) for o in cat["Options"]] == [
        ("Litigation", "ACTIVE", True),
        ("Conveyancing", "ACTIVE", True),
    ]
    listed = api.get("TrackingCategories").json()["TrackingCategories"]
    assert [(c["Name"], [o["Name"] for o in c["Options"]]) for c in listed] == [
        ("Practice Area", ["Litigation", "Conveyancing"])
    ]
    one = api.get(f"trackingcategories/{cat['TrackingCategoryID']}").json()["TrackingCategories"][0]
    assert one["TrackingCategoryID"] == cat["TrackingCategoryID"]
    assert api.get("TrackingCategories", params={"where": 'Name=="practice area"'}).json()["TrackingCategories"]
    assert api.get("TrackingCategories", params={"where": 'Name=="Region"'}).json()["TrackingCategories"] == []
    assert api.get("TrackingCategories/00000000-0000-0000-0000-000000000000").status_code == 404


def test_two_active_categories_at_most(api: httpx.Client) -> None:
    category(api, "Practice Area")
    region = category(api, "Region")
    third = api.put("TrackingCategories", json={"Name": "Office"})
    assert third.status_code == 400
    assert messages(third) == [
        "You have reached the maximum of 2 active tracking categories. "
        "Archive a tracking category before adding or restoring another."
    ]
    per_element = api.put("TrackingCategories", params={"summarizeErrors": "false"}, json={"Name": "Office"})
    assert per_element.status_code == 200
    assert per_element.json()["TrackingCategories"][0]["StatusAttributeString"] == "ERROR"
    # Archived categories do not count; restoring one that would pass the limit is refused.
    archived = api.post(f"TrackingCategories/{region['TrackingCategoryID']}", json={"Status": "ARCHIVED"})
    assert archived.json()["TrackingCategories"][0]["Status"] == "ARCHIVED"
    assert api.put("TrackingCategories", json={"Name": "Office"}).status_code == 200
    restore = api.post(f"TrackingCategories/{region['TrackingCategoryID']}", json={"Status": "ACTIVE"})
    assert restore.status_code == 400
    assert "maximum of 2 active tracking categories" in messages(restore)[0]
    names = [c["Name"] for c in api.get("TrackingCategories").json()["TrackingCategories"]]
    assert names == ["Practice Area", "Office"]
    everything = api.get("TrackingCategories", params={"includeArchived": "true"}).json()["TrackingCategories"]
    assert [c["Name"] for c in everything] == ["Practice Area", "Region", "Office"]


def test_hundred_active_options_at_most_and_unique_names(api: httpx.Client) -> None:
    cat = category(api, "Matter", *(f"M-{n:03d}" for n in range(MAX_ACTIVE_OPTIONS)))
    assert len(cat["Options"]) == 100
    url = f"TrackingCategories/{cat['TrackingCategoryID']}/Options"
    over = api.put(url, json={"Name": "M-100"})
    assert over.status_code == 400
    assert messages(over) == [
        "The tracking category Matter has reached the maximum of 100 active options. "
        "Archive an option before adding or restoring another."
    ]
    first = cat["Options"][0]["TrackingOptionID"]
    archived = api.post(f"{url}/{first}", json={"Status": "ARCHIVED"}).json()["Options"][0]
    assert (archived["Status"], archived["IsArchived"], archived["IsActive"]) == ("ARCHIVED", True, False)
    assert api.put(url, json={"Name": "M-100"}).status_code == 200
    duplicate = api.put(url, json={"Name": "m-050"})
    assert messages(duplicate) == ["A tracking option with the name m-050 already exists in Matter."]
    assert messages(api.put("TrackingCategories", json={"Name": "MATTER"})) == [
        "A tracking category with the name MATTER already exists."
    ]
    assert messages(api.put(url, json={"Name": "x" * 101})) == [
        "Tracking option name must not be more than 100 characters long"
    ]


def test_invoice_lines_carry_checked_tracking(api: httpx.Client, make_invoice: Make) -> None:
    area = category(api, "Practice Area", "Litigation", "Family")
    region = category(api, "Region", "North")
    by_name = make_invoice(
        LineItems=[
            line(Tracking=[{"Name": "practice area", "Option": "litigation"}, {"Name": "Region", "Option": "North"}])
        ]
    )
    tracking = by_name["LineItems"][0]["Tracking"]
    litigation, north = area["Options"][0], region["Options"][0]
    assert tracking == [
        {"TrackingCategoryID": area["TrackingCategoryID"], "TrackingOptionID": litigation["TrackingOptionID"],
         "Name": "Practice Area", "Option": "Litigation"},
        {"TrackingCategoryID": region["TrackingCategoryID"], "TrackingOptionID": north["TrackingOptionID"],
         "Name": "Region", "Option": "North"},
    ]  # fmt: skip
    family = {
        "TrackingCategoryID": area["TrackingCategoryID"],
        "TrackingOptionID": area["Options"][1]["TrackingOptionID"],
    }
    by_id = make_invoice(LineItems=[line(Tracking=[family])])
    assert by_id["LineItems"][0]["Tracking"][0]["Option"] == "Family"

    def refused(tracking: list[dict[str, Any]]) -> list[str]:
        body = {"Type": "ACCREC", "Contact": {"Name": "Tracked Client"}, "LineItems": [line(Tracking=tracking)]}
        r = api.put("Invoices", json={"Invoices": [body]})
        assert r.status_code == 400
        return messages(r)

    assert refused([{"Name": "Practice Area", "Option": "Tax"}]) == [
        "The tracking option Tax does not exist in the tracking category Practice Area or is not active."
    ]
    assert refused([{"Name": "Department", "Option": "Sales"}]) == [
        "The tracking category Department does not exist or is not active."
    ]
    assert refused([{"Name": "Region", "Option": "North"}, {"Name": "Region", "Option": "North"}]) == [
        "A line item can use each tracking category only once"
    ]
    assert refused([{"Name": "Region", "Option": "North"}] * 3) == [
        "A line item can have at most 2 tracking categories"
    ]
    north_url = f"TrackingCategories/{region['TrackingCategoryID']}/Options/{north['TrackingOptionID']}"
    api.post(north_url, json={"Status": "ARCHIVED"})
    assert refused([{"Name": "Region", "Option": "North"}]) == [
        "The tracking option North does not exist in the tracking category Region or is not active."
    ]


def test_used_tracking_is_archived_not_deleted_and_renames_show_on_lines(api: httpx.Client, make_invoice: Make) -> None:
    area = category(api, "Practice Area", "Litigation", "Unused")
    cat_id = area["TrackingCategoryID"]
    used, unused = (o["TrackingOptionID"] for o in area["Options"])
    inv = make_invoice(LineItems=[line(Tracking=[{"Name": "Practice Area", "Option": "Litigation"}])])
    refused = api.delete(f"TrackingCategories/{cat_id}/Options/{used}")
    assert messages(refused) == [
        "The tracking option Litigation has been used on transactions and cannot be deleted. Archive it instead."
    ]
    assert messages(api.delete(f"TrackingCategories/{cat_id}")) == [
        "The tracking category Practice Area has been used on transactions and cannot be deleted. Archive it instead."
    ]
    deleted = api.delete(f"TrackingCategories/{cat_id}/Options/{unused}").json()["Options"][0]
    assert (deleted["Status"], deleted["IsDeleted"]) == ("DELETED", True)
    renamed = api.post(f"TrackingCategories/{cat_id}/Options/{used}", json={"Options": [{"Name": "Disputes"}]})
    assert renamed.json()["Options"][0]["Name"] == "Disputes"
    api.post(f"TrackingCategories/{cat_id}", json={"Name": "Area of Law"})
    after = api.get(f"Invoices/{inv['InvoiceID']}").json()["Invoices"][0]["LineItems"][0]["Tracking"][0]
    assert (after["Name"], after["Option"]) == ("Area of Law", "Disputes")
    listed = api.get(f"TrackingCategories/{cat_id}").json()["TrackingCategories"][0]
    assert [o["Name"] for o in listed["Options"]] == ["Disputes"]  # deleted options are gone
    # An unused category can be deleted; it is then DELETED and no longer listed.
    spare = category(api, "Spare")
    gone = api.delete(f"TrackingCategories/{spare['TrackingCategoryID']}").json()["TrackingCategories"][0]
    assert gone["Status"] == "DELETED"
    assert [c["Name"] for c in api.get("TrackingCategories").json()["TrackingCategories"]] == ["Area of Law"]
