"""Matters, activities, bills and everything hanging off them, as the sync reads them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from clio_xero_tools.sandbox.clio import ClioSandbox

from .conftest import new_contact


@pytest.fixture
def firm(sandbox: ClioSandbox, api: httpx.Client) -> dict[str, Any]:
    """A client, a matter, a service code and an expense category."""
    client = new_contact(api)
    matter = api.post(
        "/api/v4/matters.json", json={"data": {"client": {"id": client["id"]}, "description": "Estate"}}
    ).json()["data"]
    with sandbox.store.lock:
        desc = sandbox.store.insert(
            "activity_descriptions", {"name": "Drafting", "xero_service_code": "200", "default": False}
        )
        cat = sandbox.store.insert(
            "expense_categories",
            {"name": "Filing fees", "rate": 85, "entry_type": "hard_cost", "xero_expense_code": "420"},
        )
    return {"client": client, "matter": matter, "desc": desc.id, "cat": cat.id}


def _activity(api: httpx.Client, **data: Any) -> dict[str, Any]:
    r = api.post(
        "/api/v4/activities.json",
        json={"data": data},
        params={"fields": "id,type,quantity,quantity_in_hours,rounded_quantity,price,total,billed,on_bill"},
    )
    assert r.status_code == 201, r.text
    return dict(r.json()["data"])


def test_matter_fields_and_display_number(api: httpx.Client, firm: dict[str, Any]) -> None:
    m = api.get(
        f"/api/v4/matters/{firm['matter']['id']}.json",
        params={"fields": "display_number,number,status,client_id,billing_method,client{name}"},
    ).json()["data"]
    assert m["display_number"] == "00001-Lovelace"
    assert m["number"] == 1
    assert m["status"] == "Open"
    assert m["client_id"] == firm["client"]["id"]
    assert m["client"] == {"name": "Ada Lovelace"}
    assert api.post("/api/v4/matters.json", json={"data": {"description": "no client"}}).status_code == 422
    assert (
        api.get("/api/v4/matters.json", params={"client_id": firm["client"]["id"]}).json()["data"][0]["id"]
        == firm["matter"]["id"]
    )


def test_time_entry_quantity_is_seconds(api: httpx.Client, firm: dict[str, Any]) -> None:
    a = _activity(
        api,
        type="TimeEntry",
        quantity=4000,
        price=300,
        matter={"id": firm["matter"]["id"]},
        activity_description={"id": firm["desc"]},
    )
    # 4000 s rounds up to the next 6-minute unit (4320 s = 1.2 h) and that drives the total.
    assert (a["quantity"], a["quantity_in_hours"], a["rounded_quantity"], a["total"]) == (4000, 1.1111, 4320, 360.0)
    assert (a["billed"], a["on_bill"]) == (False, False)
    desc = api.get(
        f"/api/v4/activities/{a['id']}.json", params={"fields": "activity_description{name,xero_service_code}"}
    ).json()["data"]
    assert desc["activity_description"] == {"name": "Drafting", "xero_service_code": "200"}
    assert api.post("/api/v4/activities.json", json={"data": {"type": "TimeEntry", "price": 1}}).status_code == 422


def test_expense_entry_and_its_category_code(api: httpx.Client, firm: dict[str, Any]) -> None:
    e = _activity(
        api,
        type="ExpenseEntry",
        quantity=2,
        price=42.5,
        matter={"id": firm["matter"]["id"]},
        expense_category={"id": firm["cat"]},
        tax_setting="tax_1_only",
    )
    assert e["total"] == 85.0
    assert e["type"] == "ExpenseEntry"
    cat = api.get(
        f"/api/v4/activities/{e['id']}.json",
        params={"fields": "tax_setting,expense_category{name,xero_expense_code,rate}"},
    ).json()["data"]
    assert cat == {
        "tax_setting": "tax_1_only",
        "expense_category": {"name": "Filing fees", "xero_expense_code": "420", "rate": 85},
    }
    assert api.get("/api/v4/expense_categories.json", params={"fields": "name,xero_expense_code"}).json()["data"] == [
        {"name": "Filing fees", "xero_expense_code": "420"}
    ]
    assert api.get("/api/v4/activity_descriptions.json", params={"fields": "xero_service_code"}).json()["data"] == [
        {"xero_service_code": "200"}
    ]


def test_activity_filters(api: httpx.Client, firm: dict[str, Any]) -> None:
    t = _activity(api, type="TimeEntry", quantity=60, matter={"id": firm["matter"]["id"]}, date="2026-01-02")
    e = _activity(api, type="ExpenseEntry", price=5, matter={"id": firm["matter"]["id"]}, date="2026-01-04")

    def ids(**params: str) -> list[int]:
        return [r["id"] for r in api.get("/api/v4/activities.json", params=params).json()["data"]]

    assert ids(type="TimeEntry") == [t["id"]]
    assert ids(start_date="2026-01-03") == [e["id"]]
    assert ids(matter_id=str(firm["matter"]["id"]), status="unbilled") == [t["id"], e["id"]]


def _bill(sandbox: ClioSandbox, firm: dict[str, Any], activity_ids: list[int], state: str = "draft") -> int:
    return sandbox.create_bill(
        client_id=firm["client"]["id"], matter_ids=[firm["matter"]["id"]], activity_ids=activity_ids, state=state
    ).id


def test_bills_are_read_only_through_the_api(api: httpx.Client) -> None:
    r = api.post("/api/v4/bills.json", json={"data": {"state": "draft"}})
    assert r.status_code == 404


def test_bill_totals_lines_and_activity_billing_status(
    sandbox: ClioSandbox, api: httpx.Client, firm: dict[str, Any]
) -> None:
    t = _activity(api, type="TimeEntry", quantity=3600, price=200, matter={"id": firm["matter"]["id"]})
    e = _activity(api, type="ExpenseEntry", price=50, matter={"id": firm["matter"]["id"]}, tax_setting="no_tax")
    bill_id = _bill(sandbox, firm, [t["id"], e["id"]])
    bill = api.get(
        f"/api/v4/bills/{bill_id}.json",
        params={
            "fields": "state,sub_total,tax_sum,total,balance,due,available_state_transitions,"
            "client{id},matters{id},currency{code}"
        },
    ).json()["data"]
    assert bill["state"] == "draft"
    assert bill["sub_total"] == 250.0
    assert bill["tax_sum"] == 20.0
    assert bill["total"] == 270.0
    assert bill["balance"] == 270.0
    assert bill["available_state_transitions"] == [
        "awaiting_approval",
        "awaiting_payment",
        "deleted",
    ]
    assert bill["client"] == {"id": firm["client"]["id"]}
    assert bill["matters"] == [{"id": firm["matter"]["id"]}]
    assert bill["currency"] == {"code": "USD"}
    lines = api.get(
        "/api/v4/line_items.json",
        params={"bill_id": bill_id, "fields": "type,kind,quantity,price,sub_total,tax,taxable,activity{id}"},
    ).json()["data"]
    assert [(li["kind"], li["quantity"], li["sub_total"], li["tax"], li["activity"]["id"]) for li in lines] == [
        ("Service", 1.0, 200.0, 20.0, t["id"]),
        ("Expense", 1.0, 50.0, 0.0, e["id"]),
    ]
    assert api.get(f"/api/v4/activities/{t['id']}.json", params={"fields": "on_bill,billed"}).json()["data"] == {
        "on_bill": True,
        "billed": False,
    }
    api.patch(f"/api/v4/bills/{bill_id}.json", json={"data": {"state": "awaiting_payment"}})
    assert api.get(f"/api/v4/activities/{t['id']}.json", params={"fields": "billed"}).json()["data"] == {"billed": True}
    assert api.patch(f"/api/v4/activities/{t['id']}.json", json={"data": {"note": "x"}}).status_code == 422


def test_bill_patch_transitions_and_if_match(sandbox: ClioSandbox, api: httpx.Client, firm: dict[str, Any]) -> None:
    bill_id = _bill(
        sandbox, firm, [_activity(api, type="TimeEntry", quantity=600, matter={"id": firm["matter"]["id"]})["id"]]
    )
    etag = api.get(f"/api/v4/bills/{bill_id}.json").json()["data"]["etag"]
    r = api.patch(
        f"/api/v4/bills/{bill_id}.json",
        json={"data": {"state": "awaiting_approval", "memo": "Thanks"}},
        headers={"If-Match": etag},
        params={"fields": "state,memo"},
    )
    assert r.json()["data"] == {"state": "awaiting_approval", "memo": "Thanks"}
    assert (
        api.patch(
            f"/api/v4/bills/{bill_id}.json", json={"data": {"state": "draft"}}, headers={"If-Match": etag}
        ).status_code
        == 412
    )
    assert api.patch(f"/api/v4/bills/{bill_id}.json", json={"data": {"state": "paid"}}).status_code == 422


def test_bill_delete_rules(sandbox: ClioSandbox, api: httpx.Client, firm: dict[str, Any]) -> None:
    def act() -> int:
        return int(
            _activity(api, type="TimeEntry", quantity=3600, price=100, matter={"id": firm["matter"]["id"]})["id"]
        )

    draft, unpaid, paid_part = (
        _bill(sandbox, firm, [act()]),
        _bill(sandbox, firm, [act()], "awaiting_payment"),
        _bill(sandbox, firm, [act()], "awaiting_payment"),
    )
    sandbox.record_payment(paid_part, 10.0)
    assert api.delete(f"/api/v4/bills/{draft}.json").status_code == 204
    assert api.delete(f"/api/v4/bills/{unpaid}.json").status_code == 204
    assert api.delete(f"/api/v4/bills/{paid_part}.json").status_code == 422
    states = {b["id"]: b["state"] for b in api.get("/api/v4/bills.json", params={"fields": "id,state"}).json()["data"]}
    assert states == {draft: "deleted", unpaid: "void", paid_part: "awaiting_payment"}
    assert [b["id"] for b in api.get("/api/v4/bills.json", params={"state": "void"}).json()["data"]] == [unpaid]


def test_payments_credits_interest_and_allocations(
    sandbox: ClioSandbox, api: httpx.Client, admin: httpx.Client, firm: dict[str, Any]
) -> None:
    bill_id = _bill(
        sandbox,
        firm,
        [_activity(api, type="TimeEntry", quantity=3600, price=100, matter={"id": firm["matter"]["id"]})["id"]],
        "awaiting_payment",
    )
    # total 110 (10 % GST); add 5 interest, credit 15, then pay the 100 left
    assert admin.post(f"/_sandbox/act/bills/{bill_id}/interest_charges", json={"amount": 5}).status_code == 201
    memo = admin.post(
        f"/_sandbox/act/bills/{bill_id}/credit_memos", json={"amount": 15, "description": "Goodwill"}
    ).json()["data"]
    assert (
        admin.post(f"/_sandbox/act/bills/{bill_id}/payments", json={"amount": 500}).status_code == 422
    )  # over the balance
    pay = admin.post(f"/_sandbox/act/bills/{bill_id}/payments", json={"amount": 100, "date": "2026-01-05"}).json()[
        "data"
    ]
    bill = api.get(
        f"/api/v4/bills/{bill_id}.json",
        params={"fields": "state,total,paid,credits_issued,balance,paid_at,interest{total}"},
    ).json()["data"]
    assert bill["state"] == "paid"
    assert bill["total"] == 115.0
    assert bill["paid"] == 100.0
    assert bill["credits_issued"] == 15.0
    assert bill["balance"] == 0.0
    assert bill["paid_at"]
    assert bill["interest"] == {"total": 5.0}
    allocs = api.get(
        "/api/v4/allocations.json",
        params={"bill_id": bill_id, "fields": "id,amount,parent,bill{id},destination_bank_account{type}"},
    ).json()["data"]
    assert {(a["parent"]["type"], a["amount"]) for a in allocs} == {("CreditMemo", 15.0), ("Payment", 100.0)}
    assert pay["id"] in {a["id"] for a in allocs}
    memos = api.get(
        "/api/v4/credit_memos.json", params={"fields": "id,amount,description,contact{id},allocations{amount}"}
    ).json()["data"]
    assert memos == [
        {
            "id": memo["id"],
            "amount": 15.0,
            "description": "Goodwill",
            "contact": {"id": firm["client"]["id"]},
            "allocations": [{"amount": 15.0}],
        }
    ]
    charges = api.get(
        "/api/v4/interest_charges.json", params={"bill_id": bill_id, "fields": "id,total,bill{id}"}
    ).json()["data"]
    assert [c["total"] for c in charges] == [5.0]
    assert api.delete(f"/api/v4/interest_charges/{charges[0]['id']}.json").status_code == 204
    voided = admin.post(f"/_sandbox/act/allocations/{pay['id']}/void").json()["data"]
    assert voided["voided_at"]
    assert (
        api.get(f"/api/v4/bills/{bill_id}.json", params={"fields": "state"}).json()["data"]["state"]
        == "awaiting_payment"
    )
    assert [a["id"] for a in api.get("/api/v4/allocations.json", params={"status": "invalid"}).json()["data"]] == [
        pay["id"]
    ]


def test_currencies_and_billing_settings(api: httpx.Client) -> None:
    codes = [c["code"] for c in api.get("/api/v4/currencies.json", params={"fields": "code,sign"}).json()["data"]]
    assert codes == ["USD", "CAD", "EUR", "GBP", "AUD"]
    s = api.get(
        "/api/v4/settings/billing.json",
        params={
            "fields": "tax_name,tax_rate,secondary_tax_name,secondary_tax_rate,secondary_tax_rule,"
            "apply_tax_by_default,currency"
        },
    ).json()["data"]
    assert s == {
        "tax_name": "GST",
        "tax_rate": 10.0,
        "secondary_tax_name": "PST",
        "secondary_tax_rate": 5.0,
        "secondary_tax_rule": "Pre",
        "apply_tax_by_default": True,
        "currency": "USD",
    }


def test_bank_accounts_transactions_and_trust_balances(api: httpx.Client, firm: dict[str, Any]) -> None:
    trust = api.get(
        "/api/v4/bank_accounts.json", params={"type": "TrustAccount", "fields": "id,type,name,balance,currency"}
    ).json()["data"]
    assert [(a["type"], a["currency"]) for a in trust] == [("Trust", "USD")]
    trust_id, client_id = trust[0]["id"], firm["client"]["id"]
    no_client = api.post(
        "/api/v4/bank_transactions.json",
        json={"data": {"amount": 10, "bank_account": {"id": trust_id}, "date": "2026-01-05"}},
    )
    assert no_client.status_code == 422
    tx = api.post(
        "/api/v4/bank_transactions.json",
        json={
            "data": {
                "amount": 1000,
                "bank_account": {"id": trust_id},
                "date": "2026-01-05",
                "client": {"id": client_id},
                "matter": {"id": firm["matter"]["id"]},
                "description": "Retainer",
            }
        },
        params={"fields": "id,amount,funds_in,funds_out,current_account_balance,bank_account{type}"},
    ).json()["data"]
    assert (tx["amount"], tx["funds_in"], tx["funds_out"], tx["current_account_balance"], tx["bank_account"]) == (
        1000.0,
        1000.0,
        0.0,
        1000.0,
        {"type": "Trust"},
    )
    api.post(
        "/api/v4/bank_transactions.json",
        json={
            "data": {
                "amount": -250,
                "bank_account": {"id": trust_id},
                "date": "2026-01-06",
                "client": {"id": client_id},
            }
        },
    )
    contact = api.get(f"/api/v4/contacts/{client_id}.json", params={"fields": "account_balances"}).json()["data"]
    assert contact["account_balances"] == [
        {"id": trust_id, "balance": 750.0, "type": "Trust", "name": "Client Trust Account", "currency_id": 101}
    ]
    matter = api.get(
        f"/api/v4/matters/{firm['matter']['id']}.json", params={"fields": "account_balances{balance}"}
    ).json()["data"]
    assert matter["account_balances"] == [{"balance": 1000.0}]
    assert (
        api.get(f"/api/v4/bank_accounts/{trust_id}.json", params={"fields": "balance"}).json()["data"]["balance"]
        == 750.0
    )
    listed = api.get("/api/v4/bank_transactions.json", params={"bank_account_id": trust_id, "fields": "amount"}).json()[
        "data"
    ]
    assert [t["amount"] for t in listed] == [1000.0, -250.0]
    new = api.post(
        "/api/v4/bank_accounts.json",
        json={"data": {"name": "EUR Operating", "type": "Operating", "currency_id": 103}},
        params={"fields": "currency,currency_symbol"},
    )
    assert new.status_code == 201
    assert new.json()["data"] == {"currency": "EUR", "currency_symbol": "€"}


def test_line_item_patch_recomputes_and_delete(sandbox: ClioSandbox, api: httpx.Client, firm: dict[str, Any]) -> None:
    bill = sandbox.create_bill(
        client_id=firm["client"]["id"],
        matter_ids=[],
        line_items=[{"description": "Advice", "price": 100, "quantity": 2}],
    )
    (line,) = api.get("/api/v4/line_items.json", params={"bill_id": bill.id, "fields": "id,etag,total"}).json()["data"]
    assert line["total"] == 220.0
    r = api.patch(
        f"/api/v4/line_items/{line['id']}.json", json={"data": {"price": 50}}, params={"fields": "sub_total,tax,total"}
    )
    assert r.json()["data"] == {"sub_total": 100.0, "tax": 10.0, "total": 110.0}
    assert api.get(f"/api/v4/bills/{bill.id}.json", params={"fields": "total"}).json()["data"]["total"] == 110.0
    assert api.delete(f"/api/v4/line_items/{line['id']}.json").status_code == 204
    assert api.get(f"/api/v4/bills/{bill.id}.json", params={"fields": "total"}).json()["data"]["total"] == 0.0


def test_bank_records_patch_descriptive_fields_only(api: httpx.Client) -> None:
    (op,) = api.get("/api/v4/bank_accounts.json", params={"type": "OperatingAccount"}).json()["data"]
    r = api.patch(
        f"/api/v4/bank_accounts/{op['id']}.json",
        json={"data": {"name": "Main Operating", "balance": 1e9}},
        params={"fields": "name,balance"},
    )
    assert r.json()["data"] == {"name": "Main Operating", "balance": 0.0}


def test_practice_areas_crud_and_on_matters(api: httpx.Client, firm: dict[str, Any]) -> None:
    created = api.post(
        "/api/v4/practice_areas.json",
        json={"data": {"name": "Family", "code": "FAM", "category": "family"}},
        params={"fields": "id,name,code,category"},
    )
    assert created.status_code == 201, created.text
    area = created.json()["data"]
    assert api.post("/api/v4/practice_areas.json", json={"data": {"name": "Family"}}).status_code == 422
    assert api.post("/api/v4/practice_areas.json", json={"data": {"name": "X", "category": "chess"}}).status_code == 422
    matter = api.patch(
        f"/api/v4/matters/{firm['matter']['id']}.json",
        json={"data": {"practice_area": {"id": area["id"]}}},
        params={"fields": "practice_area{name,code}"},
    ).json()["data"]
    assert matter["practice_area"] == {"name": "Family", "code": "FAM"}
    renamed = api.patch(
        f"/api/v4/practice_areas/{area['id']}.json", json={"data": {"name": "Family law"}}, params={"fields": "name"}
    ).json()["data"]
    assert renamed == {"name": "Family law"}
    assert api.delete(f"/api/v4/practice_areas/{area['id']}.json").status_code == 204
    gone = api.get(f"/api/v4/matters/{firm['matter']['id']}.json", params={"fields": "practice_area"}).json()
    assert gone["data"]["practice_area"] is None
