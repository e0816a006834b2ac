"""Money on bills, as billing reads it: every figure checked against a value computed by hand.

The firm's billing settings: GST 10 % primary tax on services by default, PST 5 % secondary (off
by default). docs/sandbox-clio.md ("Money on a bill") states each rule tested here.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from clio_xero_tools.sandbox.clio import ClioSandbox

from .conftest import new_contact

BILL_FIELDS = (
    "id,state,sub_total,tax_sum,total,due,balance,paid,paid_at,credits_issued,taxable_sub_total,"
    "services_sub_total,services_taxable_sub_total,discount_services_only,interest,discount,balances,"
    "matter_totals,billing_setting{tax_rate},bill_theme{name},group{name},original_bill,split_invoice"
)


@pytest.fixture
def firm(api: httpx.Client) -> dict[str, Any]:
    client = new_contact(api)
    matter = api.post(
        "/api/v4/matters.json", json={"data": {"client": {"id": client["id"]}, "description": "Lease"}}
    ).json()["data"]
    return {"client": client["id"], "matter": matter["id"]}


def _bill(api: httpx.Client, bill_id: int) -> dict[str, Any]:
    r = api.get(f"/api/v4/bills/{bill_id}.json", params={"fields": BILL_FIELDS})
    assert r.status_code == 200, r.text
    return dict(r.json()["data"])


def _discounted_bill(sandbox: ClioSandbox, firm: dict[str, Any], state: str = "awaiting_payment") -> int:
    """L1 advice 2 x 300.00 with a 10 % line discount, taxable (GST 10 %); L2 filing fee 85.00,
    untaxed; a 25.00 bill discount."""
    return sandbox.create_bill(
        client_id=firm["client"],
        matter_ids=[firm["matter"]],
        state=state,
        line_items=[
            {"description": "Advice", "kind": "Service", "price": 300, "quantity": 2, "taxable": True,
             "discount": {"rate": 10, "type": "percentage"}},
            {"description": "Filing fee", "kind": "Expense", "price": 85, "quantity": 1, "taxable": False},
        ],
        discount={"rate": 25, "type": "money", "note": "Loyalty"},
    ).id  # fmt: skip


def test_line_and_bill_discounts_make_sub_total_total_and_due(
    sandbox: ClioSandbox, api: httpx.Client, firm: dict[str, Any]
) -> None:
    bill_id = _discounted_bill(sandbox, firm)
    lines = api.get(
        "/api/v4/line_items.json",
        params={"bill_id": bill_id, "fields": "description,sub_total,discount{rate,type},tax,total"},
    ).json()["data"]
    # L1: 600.00 - 10 % = 540.00, GST 54.00 -> 594.00; L2: 85.00 untaxed
    assert lines == [
        {"description": "Advice", "sub_total": 600.0, "discount": {"rate": 10.0, "type": "percentage"},
         "tax": 54.0, "total": 594.0},
        {"description": "Filing fee", "sub_total": 85.0, "discount": {"rate": 0.0, "type": "percentage"},
         "tax": 0.0, "total": 85.0},
    ]  # fmt: skip
    bill = _bill(api, bill_id)
    assert bill["sub_total"] == 625.0  # 540 + 85
    assert bill["tax_sum"] == 54.0
    assert bill["total"] == 679.0  # 625 + 54 (no interest yet)
    assert bill["due"] == 654.0  # total less the 25.00 bill discount
    assert bill["balance"] == 654.0
    assert bill["taxable_sub_total"] == bill["services_taxable_sub_total"] == 540.0
    assert bill["services_sub_total"] == 540.0
    assert bill["discount_services_only"] == "false"
    assert bill["discount"]["rate"] == 25.0
    assert bill["billing_setting"] == {"tax_rate": 10.0}
    assert bill["bill_theme"] == {"name": "Default"}
    assert bill["group"] == {"name": "Sandbox Firm"}
    assert bill["original_bill"] is None
    assert bill["split_invoice"] is None
    assert bill["matter_totals"] == [{"id": firm["matter"], "amount": 654.0}]


def test_due_stays_while_balance_falls_and_interest_is_settled_first(
    sandbox: ClioSandbox, api: httpx.Client, admin: httpx.Client, firm: dict[str, Any]
) -> None:
    bill_id = _discounted_bill(sandbox, firm)
    admin.post(f"/_sandbox/act/bills/{bill_id}/interest_charges", json={"amount": 12.5})
    bill = _bill(api, bill_id)
    assert (bill["total"], bill["due"], bill["balance"]) == (691.5, 666.5, 666.5)
    assert bill["interest"] == {"rate": 0.0, "type": "simple", "period": 30, "total": 12.5, "balance": 12.5}
    assert bill["paid_at"] is None

    r = admin.post(f"/_sandbox/act/bills/{bill_id}/payments", json={"amount": 5})
    assert r.status_code == 201
    bill = _bill(api, bill_id)
    assert bill["interest"]["balance"] == 7.5  # 12.50 - 5.00: the payment went to interest first
    assert (bill["due"], bill["paid"], bill["balance"]) == (666.5, 5.0, 661.5)
    assert bill["paid_at"] is not None  # "the date of the last payment", part-paid or not

    admin.post(f"/_sandbox/act/bills/{bill_id}/payments", json={"amount": 95})
    admin.post(f"/_sandbox/act/bills/{bill_id}/credit_memos", json={"amount": 66.5})
    bill = _bill(api, bill_id)
    assert bill["interest"]["balance"] == 0.0
    assert (bill["due"], bill["paid"], bill["credits_issued"], bill["balance"]) == (666.5, 100.0, 66.5, 500.0)
    assert bill["balances"] == [
        {"id": firm["matter"], "amount": 500.0, "type": "Matter", "interest_amount": 0.0, "due": 500.0}
    ]
    admin.post(f"/_sandbox/act/bills/{bill_id}/payments", json={"amount": 500})
    bill = _bill(api, bill_id)
    assert (bill["state"], bill["balance"], bill["due"], bill["interest"]["balance"]) == ("paid", 0.0, 666.5, 0.0)
    charge = api.get("/api/v4/interest_charges.json", params={"bill_id": bill_id, "fields": "total,balances"}).json()[
        "data"
    ][0]
    # the charge names the same balance the bill does: the matter of a matter bill
    assert charge["balances"][0]["type"] == "Matter"
    assert charge["balances"][0]["id"] == firm["matter"]


def test_void_and_deleted_bills_owe_nothing(sandbox: ClioSandbox, api: httpx.Client, firm: dict[str, Any]) -> None:
    unpaid = _discounted_bill(sandbox, firm)
    draft = _discounted_bill(sandbox, firm, state="draft")
    assert api.delete(f"/api/v4/bills/{unpaid}.json").status_code == 204
    assert api.delete(f"/api/v4/bills/{draft}.json").status_code == 204
    for bill_id, state in ((unpaid, "void"), (draft, "deleted")):
        bill = _bill(api, bill_id)
        assert bill["state"] == state
        assert bill["due"] == 654.0  # what the bill asked for
        assert bill["balance"] == 0.0  # what is still owed
        assert bill["balances"][0]["amount"] == 0.0


def test_client_bill_balance_names_the_client(sandbox: ClioSandbox, api: httpx.Client, firm: dict[str, Any]) -> None:
    bill_id = sandbox.create_bill(
        client_id=firm["client"], matter_ids=[], state="awaiting_payment",
        line_items=[{"description": "Retainer advice", "price": 100, "quantity": 1, "taxable": True}],
    ).id  # fmt: skip
    bill = _bill(api, bill_id)
    assert bill["balances"] == [{"id": firm["client"], "amount": 110.0, "type": "Client", "interest_amount": 0.0,
                                 "due": 110.0}]  # fmt: skip
    assert bill["matter_totals"] == []


def test_trust_payment_writes_both_ledgers(
    sandbox: ClioSandbox, api: httpx.Client, admin: httpx.Client, firm: dict[str, Any]
) -> None:
    trust = api.get("/api/v4/bank_accounts.json", params={"type": "TrustAccount"}).json()["data"][0]["id"]
    r = api.post(
        "/api/v4/trust_requests.json",
        json={"data": {"client_id": firm["client"], "trust_type": "matter", "approved": True,
                       "matter": [{"id": firm["matter"], "trust_amount": 1500, "note": "Deposit"}]}},
        params={"fields": "id,etag,created_at,updated_at"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert set(r.json()["data"]) == {"id", "etag", "created_at", "updated_at"}
    trust_bills = api.get("/api/v4/bills.json", params={"type": "trust", "fields": "id,kind,total,state"}).json()
    [trust_bill] = trust_bills["data"]
    assert trust_bill["kind"] == "trust_kind"
    assert (trust_bill["total"], trust_bill["state"]) == (1500.0, "awaiting_payment")
    lines = api.get(
        "/api/v4/trust_line_items.json",
        params={"bill_id": trust_bill["id"], "fields": "total,note,matter{id},client{id}"},
    ).json()["data"]
    assert lines == [
        {"total": 1500.0, "note": "Deposit", "matter": {"id": firm["matter"]}, "client": {"id": firm["client"]}}
    ]
    assert admin.post(f"/_sandbox/act/bills/{trust_bill['id']}/payments", json={"amount": 1500}).status_code == 201
    matter = api.get(f"/api/v4/matters/{firm['matter']}.json", params={"fields": "account_balances"}).json()["data"]
    assert [(b["type"], b["balance"]) for b in matter["account_balances"]] == [("Trust", 1500.0)]
    txs = api.get(
        "/api/v4/bank_transactions.json", params={"bank_account_id": trust, "fields": "amount,type,matter{id}"}
    ).json()["data"]
    assert txs == [{"amount": 1500.0, "type": "liability", "matter": {"id": firm["matter"]}}]


def test_billing_fields_are_served_and_the_rest_refused_by_name(
    sandbox: ClioSandbox, api: httpx.Client, firm: dict[str, Any]
) -> None:
    api.patch(
        f"/api/v4/contacts/{firm['client']}.json",
        json={"data": {"addresses": [{"name": "Billing", "street": "1 Queen St", "city": "Auckland"}]}},
    )
    bill_id = _discounted_bill(sandbox, firm)
    bill = api.get(f"/api/v4/bills/{bill_id}.json", params={"fields": "client_addresses"}).json()["data"]
    assert [(a["name"], a["street"], a["city"]) for a in bill["client_addresses"]] == [
        ("Billing", "1 Queen St", "Auckland")
    ]
    line = api.get(
        "/api/v4/line_items.json", params={"bill_id": bill_id, "fields": "included_line_item_totals,discount"}
    ).json()["data"][0]
    assert line["included_line_item_totals"] is None  # only summary lines include others
    assert line["discount"]["type"] == "percentage"
    accounts = api.get("/api/v4/bank_accounts.json", params={"fields": "name,bank_transactions_count"}).json()
    assert {a["name"]: a["bank_transactions_count"] for a in accounts["data"]} == {
        "Operating Account": 0,
        "Client Trust Account": 0,
    }
    for res, name in (("bills", "legal_aid_uk_bill"), ("activities", "utbms_expense"), ("matters", "matter_stage")):
        r = api.get(f"/api/v4/{res}.json", params={"fields": f"id,{name}"})
        assert r.status_code == 400
        assert name in r.json()["error"]["message"]


def test_a_bill_over_two_matters_splits_its_balance_by_their_lines(
    sandbox: ClioSandbox, api: httpx.Client, firm: dict[str, Any]
) -> None:
    second = api.post(
        "/api/v4/matters.json", json={"data": {"client": {"id": firm["client"]}, "description": "Dispute"}}
    ).json()["data"]["id"]
    acts = [
        api.post(
            "/api/v4/activities.json",
            json={"data": {"type": "TimeEntry", "quantity": hours * 3600, "price": 100, "matter": {"id": matter}}},
        ).json()["data"]["id"]
        for matter, hours in ((firm["matter"], 1), (second, 2))
    ]
    bill_id = sandbox.create_bill(
        client_id=firm["client"], matter_ids=[firm["matter"], second], activity_ids=acts, state="awaiting_payment"
    ).id
    sandbox.record_payment(bill_id, 33.0)
    bill = _bill(api, bill_id)
    # lines 110.00 (first matter) and 220.00 (second); 330.00 - 33.00 = 297.00 split 1/3 : 2/3
    assert (bill["total"], bill["balance"]) == (330.0, 297.0)
    assert [(b["id"], b["type"], b["amount"]) for b in bill["balances"]] == [
        (firm["matter"], "Matter", 99.0),
        (second, "Matter", 198.0),
    ]
    assert bill["matter_totals"] == [{"id": firm["matter"], "amount": 110.0}, {"id": second, "amount": 220.0}]
