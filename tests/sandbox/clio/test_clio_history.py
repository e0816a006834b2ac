"""The seeded firm's history: dates ordered and spread over months, and the trust recipe's every
figure equal to the hand-computed values of docs/sandbox-clio.md ("Seeded trust recipe")."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from clio_xero_tools.sandbox.clio import ClioSandbox, FirmSeed, seed_firm

from .conftest import client_for, seeded_world


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[ClioSandbox, FirmSeed, httpx.Client]]:
    with seeded_world(contacts=120, activities=400, bills=60, seed=4) as world:
        yield world


def _pages(api: httpx.Client, res: str, **params: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    url: str | None = f"/api/v4/{res}.json"
    query: dict[str, str] | None = dict(params)
    while url:
        body = api.get(url, params=query).json()
        out.extend(body["data"])
        url, query = body["meta"]["paging"].get("next"), None
    return out


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


@pytest.mark.parametrize(
    ("res", "date_field"),
    [
        ("allocations", "date"),
        ("credit_memos", "date"),
        ("interest_charges", "date"),
        ("bank_transactions", "date"),
        ("bills", "issued_at"),
        ("activities", "date"),
    ],
)
def test_records_are_created_on_their_own_date(
    world: tuple[ClioSandbox, FirmSeed, httpx.Client], res: str, date_field: str
) -> None:
    sb, _firm, api = world
    now = sb.clock.now()
    rows = _pages(api, res, fields=f"id,created_at,updated_at,{date_field}", order="id(asc)")
    assert rows
    for row in rows:
        created, updated = _ts(row["created_at"]), _ts(row["updated_at"])
        assert created <= updated < now, row
        assert row[date_field] == created.date().isoformat(), row  # written the day it happened
    # ids follow time, as in a real account
    created_order = [_ts(r["created_at"]) for r in rows]
    assert created_order == sorted(created_order), res
    months = {r[date_field][:7] for r in rows}
    # spread over months, not one seed day (the few interest charges and credits: at least two)
    assert len(months) >= (3 if len(rows) >= 10 else 2), (res, months)


def test_bill_money_happens_after_the_bill(world: tuple[ClioSandbox, FirmSeed, httpx.Client]) -> None:
    _sb, _firm, api = world
    bills = {b["id"]: b for b in _pages(api, "bills", fields="id,issued_at,due_at,state,paid_at,paid,created_at")}
    allocations = _pages(api, "allocations", fields="id,date,bill{id},parent", order="id(asc)")
    for alloc in allocations:
        bill = bills[alloc["bill"]["id"]]
        assert alloc["date"] >= bill["issued_at"]
        assert _ts(bill["created_at"]).date().isoformat() == bill["issued_at"]
    for charge in _pages(api, "interest_charges", fields="date,bill{id}"):
        assert charge["date"] > bills[charge["bill"]["id"]]["due_at"]  # charged once overdue
    paid_dates: dict[int, str] = {}
    for alloc in allocations:
        if alloc["parent"]["type"] == "Payment":
            paid_dates[alloc["bill"]["id"]] = max(paid_dates.get(alloc["bill"]["id"], ""), alloc["date"])
    part_paid = [b for b in bills.values() if b["state"] == "awaiting_payment" and b["paid"] > 0]
    assert part_paid
    for bill in bills.values():
        if bill["id"] in paid_dates:
            assert bill["paid_at"] is not None
            assert bill["paid_at"][:10] == paid_dates[bill["id"]], bill
        else:
            assert bill["paid_at"] is None, bill


def test_contacts_and_matters_precede_their_work(world: tuple[ClioSandbox, FirmSeed, httpx.Client]) -> None:
    _sb, _firm, api = world
    matters = {m["id"]: m for m in _pages(api, "matters", fields="id,open_date,close_date,status,created_at,client")}
    clients = {c["id"]: c for c in _pages(api, "contacts", fields="id,created_at")}
    for matter in matters.values():
        assert clients[matter["client"]["id"]]["created_at"] <= matter["created_at"]
        assert matter["open_date"] == matter["created_at"][:10]
        assert (matter["status"] == "Closed") == (matter["close_date"] is not None)
    for act in _pages(api, "activities", fields="date,matter{id}"):
        matter = matters[act["matter"]["id"]]
        assert matter["open_date"] < act["date"]
        assert matter["close_date"] is None or act["date"] < matter["close_date"]


def _trust_ledgers(api: httpx.Client, res: str, ids: list[int]) -> dict[int, Decimal]:
    out: dict[int, Decimal] = {}
    for ident in ids:
        balances = api.get(f"/api/v4/{res}/{ident}.json", params={"fields": "account_balances"}).json()["data"]
        out[ident] = sum(
            (Decimal(str(b["balance"])) for b in balances["account_balances"] if b["type"] == "Trust"), Decimal(0)
        )
    return out


def test_trust_recipe_alone_balances_to_the_hand_computed_figures(make_sandbox: Any) -> None:
    sb: ClioSandbox = make_sandbox(rate_limit_per_minute=10_000)
    firm = seed_firm(sb, contacts=0, activities=0, bills=0, trust_recipe=True)
    recipe = firm.trust
    assert recipe is not None
    with client_for(sb, str(sb.issue_token()["access_token"])) as api:
        accounts = {a["type"]: a["balance"] for a in _pages(api, "bank_accounts", fields="type,balance")}
        assert accounts == {"Trust": 9200.0, "Operating": 1800.0}
        matters = _trust_ledgers(api, "matters", list(recipe.matters.values()))
        assert {k: matters[v] for k, v in recipe.matters.items()} == {
            "M1": Decimal("3750.00"), "M2": Decimal("1500.00"), "M3": Decimal("200.00"),
            "M4": Decimal("1000.00"), "M5": Decimal("-250.00"), "M6": Decimal("3000.00"),
        }  # fmt: skip
        clients = _trust_ledgers(api, "contacts", list(recipe.clients.values()))
        assert {k: clients[v] for k, v in recipe.clients.items()} == {
            "C1": Decimal("3750.00"), "C2": Decimal("1700.00"), "C3": Decimal("1000.00"), "C4": Decimal("2750.00"),
        }  # fmt: skip
        assert sum(matters.values()) == sum(clients.values()) == Decimal("9200.00")
        closed = api.get(
            f"/api/v4/matters/{recipe.closed_matter_with_money}.json", params={"fields": "status,close_date"}
        ).json()["data"]
        assert closed["status"] == "Closed"
        assert (
            date.fromisoformat(recipe.seed_day).toordinal() - date.fromisoformat(closed["close_date"]).toordinal() == 60
        )
        # A period that balances: at the end of day T-100 the ledgers are 4000 + 1500 + 1000 + 1200 + 1000
        t100 = date.fromordinal(date.fromisoformat(recipe.seed_day).toordinal() - 100).isoformat()
        trust_txs = _pages(api, "bank_transactions", type="liability", fields="date,amount")
        assert sum(Decimal(str(t["amount"])) for t in trust_txs if t["date"] <= t100) == Decimal("8700.00")
        assert len(trust_txs) == 12  # 5 receipts, 2 payments of bills, 2 transfer legs, 2 disbursements, 1 refund
        # TR2 is approved and unpaid: owed by C2, not yet money in trust
        owed = _pages(api, "outstanding_client_balances", fields="contact{id},total_outstanding_balance")
        assert owed == [{"contact": {"id": recipe.clients["C2"]}, "total_outstanding_balance": 2000.0}]
        trust_lines = _pages(api, "trust_line_items", fields="total,bill{id}")
        assert sorted(x["total"] for x in trust_lines) == [2000.0, 5000.0]


def test_whole_firm_has_exactly_one_overdrawn_ledger(world: tuple[ClioSandbox, FirmSeed, httpx.Client]) -> None:
    sb, firm, api = world
    assert firm.trust is not None
    matters = [m["id"] for m in _pages(api, "matters", fields="id")]
    negative = {m: v for m, v in _trust_ledgers(api, "matters", matters).items() if v < 0}
    assert negative == {firm.trust.overdrawn_matter: Decimal("-250.00")}
    contacts = [c["id"] for c in _pages(api, "contacts", fields="id")]
    client_ledgers = _trust_ledgers(api, "contacts", contacts)
    assert all(v >= 0 for v in client_ledgers.values())  # the breach hides inside a positive client
    trust = next(a for a in _pages(api, "bank_accounts", fields="id,balance") if a["id"] == firm.trust_account)
    assert Decimal(str(trust["balance"])) == sum(client_ledgers.values())  # book = sum of client ledgers
    summary = api.get("/api/v4/users/who_am_i.json").status_code
    assert summary == 200
    assert sb.last_seed is None  # seeded in Python, not through the admin surface


def test_admin_seed_exposes_the_recipe(sandbox: ClioSandbox, admin: httpx.Client) -> None:
    assert admin.get("/_sandbox/seed").status_code == 404
    made = admin.post("/_sandbox/seed", json={"contacts": 10, "activities": 20, "bills": 6}).json()
    again = admin.get("/_sandbox/seed").json()
    assert made == again
    recipe = again["trust_recipe"]
    assert recipe["expected"]["matter_ledgers"]["M5"] == "-250.00"
    assert recipe["expected"]["trust_total_from_recipe"] == "9200.00"
    assert set(recipe["matters"]) == {"M1", "M2", "M3", "M4", "M5", "M6"}


def test_seeded_bills_money_agrees_with_the_definitions(world: tuple[ClioSandbox, FirmSeed, httpx.Client]) -> None:
    """Across every seeded bill: due = total (no seeded bill has a discount), balance = due - paid -
    credits (0 when void or deleted), interest paid first; and the recipe's bills by hand."""
    _sb, firm, api = world
    bills = _pages(api, "bills", fields="id,state,total,due,balance,paid,credits_issued,interest,paid_at,kind")
    with_money = [b for b in bills if b["paid"] or b["credits_issued"]]
    assert len(with_money) >= 10
    for b in bills:
        assert b["due"] == b["total"], b
        expected = 0.0 if b["state"] in {"void", "deleted"} else round(b["due"] - b["paid"] - b["credits_issued"], 2)
        assert b["balance"] == expected, b
        assert b["interest"]["balance"] == max(0.0, round(b["interest"]["total"] - b["paid"], 2)), b
        assert (b["state"] == "paid") == (b["balance"] == 0 and b["paid"] > 0 and b["state"] not in {"void", "deleted"})
    with_interest = [b for b in bills if b["interest"]["total"] > 0]
    assert with_interest
    assert any(b["state"] == "paid" and b["interest"]["balance"] == 0 for b in with_interest)
    assert firm.trust is not None
    by_id = {b["id"]: b for b in bills}
    b1, tr1, tr2 = (by_id[firm.trust.bills[k]] for k in ("B1", "TR1", "TR2"))
    assert (b1["total"], b1["due"], b1["paid"], b1["balance"], b1["state"]) == (1000.0, 1000.0, 1000.0, 0.0, "paid")
    t110 = date.fromordinal(date.fromisoformat(firm.trust.seed_day).toordinal() - 110).isoformat()
    assert b1["paid_at"][:10] == t110
    assert (tr1["kind"], tr1["state"], tr1["balance"]) == ("trust_kind", "paid", 0.0)
    assert (tr2["kind"], tr2["state"], tr2["due"], tr2["balance"]) == ("trust_kind", "awaiting_payment", 2000.0, 2000.0)
