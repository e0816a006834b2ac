"""Accounts, TaxRates, Currencies, Organisation, Items and BankTransactions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from clio_xero.clock import ManualClock
from clio_xero_tools.sandbox.xero.store import Org


def test_accounts_chart_where_and_one_per_put(api: httpx.Client, clock: ManualClock) -> None:
    accounts = api.get("Accounts").json()["Accounts"]
    codes = {a["Code"]: a for a in accounts}
    assert codes["090"]["Type"] == "BANK"
    assert codes["200"]["Name"] == "Sales"
    assert codes["610"]["SystemAccount"] == "DEBTORS"
    assert "pagination" not in api.get("Accounts", params={"page": 1}).json()
    banks = api.get("Accounts", params={"where": 'Type=="BANK" AND Status=="ACTIVE"'}).json()["Accounts"]
    assert sorted(a["Code"] for a in banks) == ["090", "091"]
    two = api.put("Accounts", json={"Accounts": [{"Code": "A1", "Name": "A1", "Type": "EXPENSE"}] * 2})
    assert two.status_code == 400
    clock.advance(10)
    created = api.put("Accounts", json={"Code": "215", "Name": "Disbursements", "Type": "REVENUE"})
    assert created.status_code == 200
    account = created.json()["Accounts"][0]
    assert account["Class"] == "REVENUE"
    dup = api.put("Accounts", json={"Code": "215", "Name": "Other", "Type": "REVENUE"})
    assert dup.json()["Elements"][0]["ValidationErrors"][0]["Message"] == "Please enter a unique Code."
    since = api.get("Accounts", headers={"If-Modified-Since": clock.now().isoformat()}).json()["Accounts"]
    assert [a["Code"] for a in since] == ["215"]


def test_archive_account_and_system_accounts_stay(api: httpx.Client) -> None:
    accounts = {a["Code"]: a for a in api.get("Accounts").json()["Accounts"]}
    r = api.post(f"Accounts/{accounts['400']['AccountID']}", json={"Accounts": [{"Status": "ARCHIVED"}]})
    assert r.json()["Accounts"][0]["Status"] == "ARCHIVED"
    # Archived accounts are still listed (filter on Status yourself).
    assert any(a["Code"] == "400" for a in api.get("Accounts").json()["Accounts"])
    system = api.post(f"Accounts/{accounts['610']['AccountID']}", json={"Accounts": [{"Status": "ARCHIVED"}]})
    assert system.status_code == 400


def test_tax_rates_currencies_organisation(api: httpx.Client, org: Org) -> None:
    rates = {t["TaxType"]: t for t in api.get("TaxRates").json()["TaxRates"]}
    assert rates["OUTPUT"]["EffectiveRate"] == 10.0
    assert rates["OUTPUT"]["CanApplyToRevenue"] is True
    assert [
        t["TaxType"] for t in api.get("TaxRates", params={"where": 'Name.Contains("Free")'}).json()["TaxRates"]
    ] == [
        "EXEMPTOUTPUT",
        "EXEMPTEXPENSES",
    ]
    assert api.get("Currencies").json()["Currencies"] == [{"Code": "AUD", "Description": "Australian Dollar"}]
    assert api.put("Currencies", json={"Code": "USD"}).status_code == 200
    assert len(api.get("Currencies").json()["Currencies"]) == 2
    organisation = api.get("Organisation").json()["Organisations"][0]
    assert organisation["OrganisationID"] == org.organisation_id
    assert (organisation["BaseCurrency"], organisation["CountryCode"]) == ("AUD", "AU")


def test_items_batch_and_lookup(api: httpx.Client, make_contact: Callable[..., dict[str, Any]]) -> None:
    r = api.put(
        "Items",
        json={"Items": [
            {"Code": "PROF", "Name": "Professional fees", "SalesDetails": {"UnitPrice": 350, "AccountCode": "200"}},
            {"Code": "BAD", "SalesDetails": {"AccountCode": "999"}},
        ]},
    )  # fmt: skip
    assert r.status_code == 400
    assert r.json()["Elements"][0]["Code"] == "BAD"
    item = api.get("Items/PROF").json()["Items"][0]
    assert item["SalesDetails"] == {"UnitPrice": 350.0, "AccountCode": "200"}
    assert api.put("Items", json={"Items": [{"Code": "prof"}]}).status_code == 400
    # Invoice lines inherit the item's price, account and description.
    c = make_contact("Item Buyer")
    inv = api.put(
        "Invoices",
        json={"Invoices": [{"Type": "ACCREC", "Contact": {"ContactID": c["ContactID"]},
                            "LineItems": [{"ItemCode": "PROF", "Quantity": 2}]}]},
    ).json()["Invoices"][0]  # fmt: skip
    line = inv["LineItems"][0]
    assert (line["Description"], line["UnitAmount"], line["AccountCode"], line["LineAmount"]) == (
        "Professional fees", 350.0, "200", 700.0
    )  # fmt: skip


def test_bank_transactions(api: httpx.Client, make_contact: Callable[..., dict[str, Any]]) -> None:
    c = make_contact("Trust Depositor")
    body = {"Type": "RECEIVE", "Contact": {"ContactID": c["ContactID"]}, "BankAccount": {"Code": "090"},
            "LineItems": [{"Description": "Deposit", "Quantity": 1, "UnitAmount": 500, "AccountCode": "260",
                           "TaxType": "NONE"}]}  # fmt: skip
    r = api.put("BankTransactions", json={"BankTransactions": [body]})
    assert r.status_code == 200
    bt = r.json()["BankTransactions"][0]
    assert bt["Total"] == 500.0
    got = api.get("BankTransactions", params={"page": 1}).json()
    assert got["pagination"]["itemCount"] == 1
    assert api.get(f"BankTransactions/{bt['BankTransactionID']}").json()["BankTransactions"][0]["Type"] == "RECEIVE"
    not_bank = {**body, "BankAccount": {"Code": "200"}}
    assert api.put("BankTransactions", json={"BankTransactions": [not_bank]}).status_code == 400


def test_unknown_routes_404(api: httpx.Client, http: httpx.Client) -> None:
    assert api.get("Quotes").status_code == 404
    assert http.get("/nowhere").status_code == 404
