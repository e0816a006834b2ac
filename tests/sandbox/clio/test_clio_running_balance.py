"""``BankTransaction.current_account_balance``: the account's balance after the transaction, in
(date, id) order, per account, kept right across creates, edits and deletes (amounts cannot be edited; computed once per
write to the table, not per transaction served: docs/sandbox-clio.md)."""

from __future__ import annotations

from typing import Any

import httpx

from clio_xero_tools.sandbox.clio import ClioSandbox

FIELDS = "id,date,amount,current_account_balance,bank_account{id}"


def test_running_balances_follow_date_then_id_per_account_and_every_write(
    sandbox: ClioSandbox, api: httpx.Client
) -> None:
    accounts = api.get("/api/v4/bank_accounts.json", params={"fields": "id,type"}).json()["data"]
    trust = next(a["id"] for a in accounts if a["type"] == "Trust")
    operating = next(a["id"] for a in accounts if a["type"] == "Operating")
    client = api.post(
        "/api/v4/contacts.json", json={"data": {"type": "Person", "first_name": "Ada", "last_name": "Ng"}}
    )
    party = {"client": {"id": client.json()["data"]["id"]}}

    def add(account: int, day: str, amount: float) -> int:
        body = {"data": {"amount": amount, "date": day, "bank_account": {"id": account}, **party}}
        r = api.post("/api/v4/bank_transactions.json", json=body)
        assert r.status_code == 201, r.text
        return int(r.json()["data"]["id"])

    def balances() -> dict[int, float]:
        rows: list[dict[str, Any]] = api.get(
            "/api/v4/bank_transactions.json", params={"fields": FIELDS, "limit": 200}
        ).json()["data"]
        return {r["id"]: r["current_account_balance"] for r in rows}

    a = add(trust, "2026-01-10", 100.10)
    b = add(trust, "2026-01-05", 0.20)  # earlier date, later id: comes first
    c = add(trust, "2026-01-10", -50.05)  # same date as a, later id: after a
    d = add(operating, "2026-01-01", 999.99)  # another account: its own running balance
    assert balances() == {a: 100.30, b: 0.20, c: 50.25, d: 999.99}

    # A backdated entry moves every later balance of that account, and only those.
    e = add(trust, "2026-01-07", 0.80)
    assert balances() == {a: 101.10, b: 0.20, c: 51.05, d: 999.99, e: 1.00}

    # Cents add up exactly over many small amounts (0.1 + 0.2 is not 0.3 in floats).
    for _ in range(30):
        add(trust, "2026-01-11", 0.10)
    last = add(trust, "2026-01-11", 0.20)
    assert balances()[last] == 54.25

    assert api.delete(f"/api/v4/bank_transactions/{a}.json").status_code == 204
    after = balances()
    assert a not in after and after[c] == -49.05 and after[last] == -45.85 and after[d] == 999.99
