"""`report receivables --as-of DATE`: paid, credits and balance as they stood on DATE, from the
dated records on both sides (Clio's allocations; Xero's payments and applied credit). Figures
computed by hand in the comments."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from clio_xero.events import RecordType
from clio_xero.payments.receivables import ReportFormat, clio_money_as_of, render
from clio_xero.payments.report import read_receivables
from clio_xero_tools.sandbox.clio import domain
from clio_xero_tools.sandbox.clio.store import Record
from tests.payments.harness import CONNECTION, PaymentsWorld, make_world


def _bill(world: PaymentsWorld, amount: float, issued: str) -> Record:
    return world.clio_world.sandbox.create_bill(
        client_id=world.client_id,
        matter_ids=[world.matter_id],
        state="awaiting_payment",
        issued_at=issued,
        line_items=[{"description": "Advice", "price": amount, "quantity": 1, "taxable": False}],
    )


def _report(world: PaymentsWorld, as_of: date | None) -> dict[str, Any]:
    found = read_receivables(
        clio=world.clio,
        xero=world.xero,
        mappings=world.mappings,
        connection_id=CONNECTION,
        settings=world.settings,
        as_of=as_of,
    )
    body: dict[str, Any] = json.loads(render(found.rows, ReportFormat.JSON, as_of=as_of.isoformat() if as_of else None))
    return body


def _figures(body: dict[str, Any], bill: Record) -> tuple[str, ...]:
    [row] = [r for r in body["rows"] if r["bill_id"] == str(bill.id)]
    names = ("clio_paid", "xero_paid", "clio_credits", "xero_credits", "clio_balance", "xero_balance")
    return tuple(row[n] for n in names)


def test_as_of_a_date_paid_credits_and_balance_are_those_dated_by_then_on_both_sides() -> None:
    world = make_world()  # the clock stands at 2026-01-05
    a = _bill(world, 1000.0, "2026-01-01")
    b = _bill(world, 400.0, "2026-01-04")
    world.sync(RecordType.BILL, a.id, b.id)
    first = world.pay(a, 300.0, when="2026-01-02")
    store = world.clio_world.sandbox.store
    with store.lock, store.at(datetime(2026, 1, 3, 12, tzinfo=UTC)):
        memo = domain.issue_credit_memo(store, a, amount=100.0)
    paid_b = world.pay(b, 400.0, when="2026-01-04")
    refunded = world.pay(a, 50.0, when="2026-01-05")
    world.sync(RecordType.ALLOCATION, first.id, paid_b.id, refunded.id)
    world.sync(RecordType.CREDIT_MEMO, memo.id)
    with store.lock:  # refunded in Clio: the Xero payment is deleted; it counts on no day on either side
        domain.void_allocation(store, refunded)
    world.sync(RecordType.ALLOCATION, refunded.id)
    late = world.pay(a, 200.0, when="2026-01-05")  # in Clio, not in Xero yet (the sweep has not run)

    # 2 January: bill A only (B was issued on the 4th); 1000 - 300 paid = 700 due on both sides.
    body = _report(world, date(2026, 1, 2))
    assert (body["bills"], body["differences"]) == (1, 0)
    assert _figures(body, a) == ("300.00", "300.00", "0.00", "0.00", "700.00", "700.00")
    # 4 January: A 1000 - 300 - 100 credit = 600; B 400 - 400 = 0.
    body = _report(world, date(2026, 1, 4))
    assert (body["bills"], body["differences"]) == (2, 0)
    assert _figures(body, a) == ("300.00", "300.00", "100.00", "100.00", "600.00", "600.00")
    assert _figures(body, b) == ("400.00", "400.00", "0.00", "0.00", "0.00", "0.00")
    # 5 January: Clio has A's 200 of that day (1000 - 500 - 100 = 400), Xero not yet (600).
    body = _report(world, date(2026, 1, 5))
    assert body["differences"] == 1
    assert _figures(body, a) == ("500.00", "300.00", "100.00", "100.00", "400.00", "600.00")
    [row] = [r for r in body["rows"] if r["differences"]]
    assert row["differences"] == ["paid: Clio 500.00, Xero 300.00", "balance due: Clio 400.00, Xero 600.00"]

    # Once synced the books agree on every day, and on the last one the figures are today's.
    world.sync(RecordType.ALLOCATION, late.id)
    for day in (date(2026, 1, 2), date(2026, 1, 4), date(2026, 1, 5)):
        assert _report(world, day)["differences"] == 0
    today = [r for r in _report(world, None)["rows"] if r["bill_id"] == str(a.id)]
    assert _figures({"rows": today}, a) == _figures(_report(world, date(2026, 1, 5)), a)
    assert Decimal(_figures({"rows": today}, a)[4]) == 400


def test_clio_money_as_of_counts_live_allocations_dated_by_the_day() -> None:
    rows: list[dict[str, Any]] = [
        {"bill": {"id": 7}, "parent": {"type": "Payment"}, "amount": 10.1, "date": "2026-03-01"},
        {"bill": {"id": 7}, "parent": {"type": "Payment"}, "amount": "5.00", "date": "2026-03-02"},
        {
            "bill": {"id": 7},
            "parent": {"type": "CreditMemo"},
            "amount": 2,
            "date": None,
            "created_at": "2026-02-28T23:00:00Z",
        },
        {"bill": {"id": 8}, "parent": {"type": "CreditMemo"}, "amount": 9, "date": "2026-03-03"},
        {"bill": None, "parent": {"type": "Payment"}, "amount": 1, "date": "2026-03-01"},
    ]
    money = clio_money_as_of(rows, date(2026, 3, 1))
    assert set(money) == {"7"}
    assert (money["7"].paid, money["7"].credits) == (Decimal("10.10"), Decimal("2.00"))
    assert clio_money_as_of(rows, date(2026, 3, 3))["8"].credits == Decimal("9.00")
