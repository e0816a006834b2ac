"""The /_sandbox admin surface: tokens, clock, limits, connections, users' actions, errors."""

from __future__ import annotations

from typing import Any

import httpx

from clio_xero.clock import ManualClock
from clio_xero_tools.sandbox.xero import XeroSandbox
from clio_xero_tools.sandbox.xero.store import Org


def test_index_lists_endpoints(http: httpx.Client) -> None:
    endpoints = http.get("/_sandbox").json()["endpoints"]
    assert any("/_sandbox/webhook" in e for e in endpoints)


def test_tokens_and_connections(http: httpx.Client, org: Org) -> None:
    tokens = http.post("/_sandbox/tokens", json={"tenantIds": [org.organisation_id], "userId": "alice"}).json()
    assert tokens["expires_in"] == 1800
    conns = http.get("/_sandbox/connections").json()
    assert [(c["tenantId"], c["userId"]) for c in conns] == [(org.organisation_id, "alice")]
    r = http.get(
        "/api.xro/2.0/Organisation",
        headers={"Authorization": f"Bearer {tokens['access_token']}", "xero-tenant-id": org.organisation_id},
    )
    assert r.json()["Organisations"][0]["Name"] == org.name


def test_clock_and_limits(http: httpx.Client, clock: ManualClock, api: httpx.Client) -> None:
    before = clock.now()
    moved = http.post("/_sandbox/clock/advance", json={"seconds": 90}).json()
    assert moved["now"] == clock.now().isoformat()
    assert (clock.now() - before).total_seconds() == 90
    assert http.get("/_sandbox/clock").json() == moved
    assert http.put("/_sandbox/limits", json={"per_minute": 2}).json()["per_minute"] == 2
    assert [api.get("Organisation").status_code for _ in range(3)] == [200, 200, 429]


def test_user_actions_and_errors(http: httpx.Client, org: Org, api: httpx.Client) -> None:
    base = f"/_sandbox/tenants/{org.organisation_id}"
    contact = http.post(f"{base}/contacts", json={"Name": "Walk-in Client"}).json()
    dup = http.post(f"{base}/contacts", json={"Name": "walk-in client"})
    assert dup.status_code == 400
    assert "already assigned" in dup.json()["errors"][0]
    inv = http.post(
        f"{base}/invoices",
        json={"Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]}, "Status": "AUTHORISED",
              "LineItems": [{"Description": "Fee", "Quantity": 1, "UnitAmount": 10, "AccountCode": "200"}]},
    ).json()  # fmt: skip
    voided = http.post(f"{base}/invoices/{inv['InvoiceID']}", json={"Status": "VOIDED"})
    assert voided.json()["Status"] == "VOIDED"
    assert api.get(f"Invoices/{inv['InvoiceID']}").json()["Invoices"][0]["Status"] == "VOIDED"
    archived = http.post(f"{base}/accounts/200", json={"Status": "ARCHIVED"}).json()
    assert archived["Status"] == "ARCHIVED"
    assert http.post(f"{base}/accounts/XYZ", json={}).status_code == 404
    assert http.post("/_sandbox/tenants/nope/contacts", json={"Name": "x"}).status_code == 404
    assert http.get("/_sandbox/unknown").status_code == 404
    assert http.post("/_sandbox/organisations", content=b"[1]").status_code == 400


def test_request_log_counts_calls_per_connection(
    api: httpx.Client, http: httpx.Client, sandbox: XeroSandbox, org: Org
) -> None:
    api.get("Contacts")
    api.put("Contacts", json={"Contacts": [{"Name": "Logged"}]})
    http.get("/_sandbox/requests")
    entries = http.get("/_sandbox/requests").json()
    assert [(e["method"], e["path"], e["status"], e["connection"]) for e in entries] == [
        ("GET", "/api.xro/2.0/Contacts", 200, org.organisation_id),
        ("PUT", "/api.xro/2.0/Contacts", 200, org.organisation_id),
    ]
    http.delete("/_sandbox/requests")
    assert sandbox.request_log.entries() == []


def test_summary_only_contacts_are_light(api: httpx.Client, make_contact: Any) -> None:
    make_contact("Light Weight", Addresses=[{"AddressType": "STREET", "City": "Perth"}])
    light = api.get("Contacts", params={"summaryOnly": "true"}).json()["Contacts"][0]
    assert "Addresses" not in light
    assert light["Name"] == "Light Weight"


def test_cash_refund_of_a_credit_note(api: httpx.Client, make_contact: Any) -> None:
    c = make_contact("Refund Me")
    cn = api.put(
        "CreditNotes",
        json={"CreditNotes": [{"Type": "ACCRECCREDIT", "Contact": {"ContactID": c["ContactID"]}, "Status": "AUTHORISED",
                               "LineItems": [{"Description": "Refund", "Quantity": 1, "UnitAmount": 20,
                                              "AccountCode": "200"}]}]},
    ).json()["CreditNotes"][0]  # fmt: skip
    r = api.put(
        "Payments",
        json={"Payments": [{"CreditNote": {"CreditNoteID": cn["CreditNoteID"]}, "Account": {"Code": "090"},
                            "Amount": 22}]},
    )  # fmt: skip
    assert r.json()["Payments"][0]["PaymentType"] == "ARCREDITPAYMENT"
    after = api.get(f"CreditNotes/{cn['CreditNoteID']}").json()["CreditNotes"][0]
    assert (after["Status"], after["RemainingCredit"]) == ("PAID", 0.0)
