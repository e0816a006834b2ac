"""List filters billing and trust read: each narrows to exactly what it names, or is refused with
a 400 naming it. A filter silently ignored would hand a sync the wrong records without an error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from clio_xero_tools.sandbox.clio import ClioSandbox, FirmSeed

from .conftest import seeded_world


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[ClioSandbox, FirmSeed, httpx.Client]]:
    with seeded_world(contacts=80, activities=300, bills=48, seed=3) as world:
        yield world


def _all(api: httpx.Client, res: str, **params: Any) -> list[dict[str, Any]]:
    r = api.get(f"/api/v4/{res}.json", params=params)
    assert r.status_code == 200, r.text
    assert r.json()["meta"]["records"] <= 200
    return list(r.json()["data"])


def _refused(api: httpx.Client, res: str, name: str, value: str) -> None:
    r = api.get(f"/api/v4/{res}.json", params={name: value})
    assert r.status_code == 400, (res, name, r.text)
    assert name in r.json()["error"]["message"]


def test_bills_status_overdue_and_overdue_only(world: tuple[ClioSandbox, FirmSeed, httpx.Client]) -> None:
    sb, _firm, api = world
    today = sb.clock.now().date().isoformat()
    every = _all(api, "bills", fields="id,state,due_at,balance")
    by_hand = {b["id"] for b in every if b["state"] == "awaiting_payment" and b["due_at"] < today and b["balance"] > 0}
    assert by_hand, "the seed must have overdue bills"
    assert len(by_hand) < len(every)
    overdue = {b["id"] for b in _all(api, "bills", status="overdue", fields="id")}
    assert overdue == by_hand
    assert {b["id"] for b in _all(api, "bills", overdue_only="true", fields="id")} == by_hand
    assert len(_all(api, "bills", overdue_only="false", fields="id")) == len(every)
    assert len(_all(api, "bills", status="all", fields="id")) == len(every)
    _refused(api, "bills", "status", "late")
    _refused(api, "bills", "overdue_only", "maybe")


def test_bills_query_number_state_and_attorney(world: tuple[ClioSandbox, FirmSeed, httpx.Client]) -> None:
    _sb, firm, api = world
    every = _all(api, "bills", fields="id,number,state")
    one = next(b for b in every if b["number"] == "1012")
    assert [b["id"] for b in _all(api, "bills", bill_number="1012", fields="id")] == [one["id"]]
    assert {b["id"] for b in _all(api, "bills", query="101", fields="id")} == {
        b["id"] for b in every if "101" in b["number"]
    }
    _refused(api, "bills", "query", "abc")
    paid = {b["id"] for b in every if b["state"] == "paid"}
    assert {b["id"] for b in _all(api, "bills", state="paid", fields="id")} == paid
    _refused(api, "bills", "state", "unpaid")
    owner = firm.matters and _all(api, "matters", fields="id,originating_attorney{id}")[0]["originating_attorney"]["id"]
    assert len(_all(api, "bills", originating_attorney_id=str(owner), fields="id", type="revenue")) > 0
    _refused(api, "bills", "custom_field_values", "1")


def test_line_items_query_group_ordering_and_display(world: tuple[ClioSandbox, FirmSeed, httpx.Client]) -> None:
    _sb, _firm, api = world
    every = _all(api, "line_items", fields="id,bill{id}", limit="200")
    bill = max({x["bill"]["id"] for x in every}, key=lambda b: sum(x["bill"]["id"] == b for x in every))
    lines = _all(api, "line_items", bill_id=str(bill), fields="id,description,group_ordering")
    assert len(lines) > 1
    second = _all(api, "line_items", bill_id=str(bill), group_ordering="2", fields="id")
    assert [x["id"] for x in second] == [x["id"] for x in lines if x["group_ordering"] == 2]
    word = lines[0]["description"]
    assert {x["id"] for x in _all(api, "line_items", bill_id=str(bill), query=word, fields="id")} == {
        x["id"] for x in lines if word.lower() in x["description"].lower()
    }
    excluded = _all(api, "line_items", bill_id=str(bill), **{"exclude_ids[]": str(lines[0]["id"])}, fields="id")
    assert [x["id"] for x in excluded] == [x["id"] for x in lines[1:]]
    _refused(api, "line_items", "display", "true")  # not modelled: refused, never ignored


def test_bank_transactions_type_partitions_by_account(world: tuple[ClioSandbox, FirmSeed, httpx.Client]) -> None:
    _sb, firm, api = world
    every = _all(api, "bank_transactions", fields="id,bank_account{id},type", limit="200")
    asset = {t["id"] for t in _all(api, "bank_transactions", type="asset", fields="id")}
    liability = {t["id"] for t in _all(api, "bank_transactions", type="liability", fields="id")}
    assert asset and liability
    assert asset == {t["id"] for t in every if t["bank_account"]["id"] == firm.operating_account}
    assert liability == {t["id"] for t in every if t["bank_account"]["id"] == firm.trust_account}
    assert asset | liability == {t["id"] for t in every}
    _refused(api, "bank_transactions", "type", "equity")
    _refused(api, "bank_transactions", "unreconciled_only", "true")


def test_bank_accounts_count_and_filters(world: tuple[ClioSandbox, FirmSeed, httpx.Client]) -> None:
    _sb, firm, api = world
    accounts = _all(api, "bank_accounts", fields="id,type,bank_transactions_count")
    for account in accounts:
        txs = _all(api, "bank_transactions", bank_account_id=str(account["id"]), fields="id")
        assert account["bank_transactions_count"] == len(txs) > 0
    assert [a["id"] for a in _all(api, "bank_accounts", type="TrustAccount", fields="id")] == [firm.trust_account]
    assert _all(api, "bank_accounts", status="closed", fields="id") == []
    _refused(api, "bank_accounts", "show_empty_accounts", "true")


def test_matters_status_practice_area_and_close_date(world: tuple[ClioSandbox, FirmSeed, httpx.Client]) -> None:
    _sb, firm, api = world
    every = _all(api, "matters", fields="id,status,close_date,practice_area{id,name,code}")
    closed = {m["id"] for m in every if m["status"] == "Closed"}
    assert closed
    assert {m["id"] for m in _all(api, "matters", status="closed", fields="id")} == closed
    assert {m["id"] for m in _all(api, "matters", status="open,pending", fields="id")} == {
        m["id"] for m in every if m["status"] in {"Open", "Pending"}
    }
    _refused(api, "matters", "status", "archived")
    cutoff = sorted(m["close_date"] for m in every if m["close_date"])[0]
    narrowed = _all(api, "matters", **{"close_date[]": f">{cutoff}"}, fields="id")
    assert {m["id"] for m in narrowed} == {m["id"] for m in every if m["close_date"] and m["close_date"] > cutoff}
    _refused(api, "matters", "close_date[]", "2020-01-01")
    area = every[0]["practice_area"]
    assert area["code"]
    same = {m["id"] for m in every if m["practice_area"] and m["practice_area"]["id"] == area["id"]}
    assert {m["id"] for m in _all(api, "matters", practice_area_id=str(area["id"]), fields="id")} == same
    assert len(_all(api, "practice_areas", fields="id,name,code,category")) == len(firm.practice_areas) == 5
    assert [p["name"] for p in _all(api, "practice_areas", code="RE", fields="name")] == ["Real Estate"]


def test_unknown_parameters_are_refused(world: tuple[ClioSandbox, FirmSeed, httpx.Client]) -> None:
    _sb, _firm, api = world
    _refused(api, "contacts", "sort", "name")
    _refused(api, "allocations", "bill", "1")
    _refused(api, "outstanding_client_balances", "last_shared_date", "2026-01-01")


def test_outstanding_client_balances(world: tuple[ClioSandbox, FirmSeed, httpx.Client]) -> None:
    _sb, _firm, api = world
    bills = _all(api, "bills", state="awaiting_payment", fields="id,balance,client{id}", limit="200")
    by_hand: dict[int, float] = {}
    for b in bills:
        if b["balance"] > 0:
            by_hand[b["client"]["id"]] = round(by_hand.get(b["client"]["id"], 0.0) + b["balance"], 2)
    rows = _all(
        api,
        "outstanding_client_balances",
        fields="id,contact{id},total_outstanding_balance,outstanding_bills{id},associated_matter_ids,currency{code}",
    )
    assert {r["contact"]["id"]: r["total_outstanding_balance"] for r in rows} == by_hand
    assert all(r["currency"] == {"code": "USD"} for r in rows)
    one = rows[0]["contact"]["id"]
    assert [
        r["contact"]["id"] for r in _all(api, "outstanding_client_balances", contact_id=str(one), fields="contact")
    ] == [one]


def test_values_outside_the_spec_enums_are_refused(world: tuple[ClioSandbox, FirmSeed, httpx.Client]) -> None:
    _sb, _firm, api = world
    for res, name, value in (
        ("activities", "status", "invoiced"),
        ("activities", "type", "Timer"),
        ("allocations", "status", "void"),
        ("contacts", "type", "Robot"),
        ("line_items", "kind", "Fee"),
        ("bills", "type", "credit"),
        ("expense_categories", "entry_type", "other"),
        ("bank_accounts", "type", "Trust"),  # the filter spells it TrustAccount
    ):
        _refused(api, res, name, value)
    # the seed has no flat-rate activities: true finds none, false finds all 300
    assert _all(api, "activities", flat_rate="true", fields="id") == []
    not_flat = api.get("/api/v4/activities.json", params={"flat_rate": "false", "limit": "1"}).json()
    assert not_flat["meta"]["records"] == 300
