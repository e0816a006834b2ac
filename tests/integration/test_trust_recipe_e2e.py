"""The Clio sandbox's seeded trust recipe (docs/sandbox-clio.md, "Seeded trust recipe") through
`clio-xero trust report --local`: the recipe is seeded over loopback (`POST /_sandbox/seed`), the
bank's statements are written in both formats from the recipe with known differences, and every
figure and listed item is checked against the recipe's hand-computed expectations.

T is the seed day. The trust account's transactions (recipe alone) and the bank:

    Clio (trust)                                   bank
    T-150  +5000.00 M1 TR1 paid                    T-149  +5000.00   CSV statement, lines
    T-140  +2500.00 M2 receipt                     T-139  +2500.00   T-149..T-100 (its period),
    T-130  +1200.00 M4 receipt                     T-129  +1200.00   opening 0.00
    T-110  -1000.00 M1 B1 paid from trust          T-109  -1000.00
    T-100  -1000.00 M2 / +1000.00 M3 transfer      (never at the bank)
    T-100  +1000.00 M5 receipt                     T-100  +1000.00   closing 8700.00
    T-95   +3000.00 M6 receipt                     T-94   +3000.00   OFX statement,
    T-90    -250.00 M1 disbursement                T-88    -250.00   DTSTART T-99, DTEND T
    T-70    -800.00 M3 B2 paid from trust          T-69    -800.00
    T-65    -200.00 M4 refund                      T-64    -200.00
    T-40   -1250.00 M5 disbursement                (not yet presented: uncleared)
                                                   T-30     -12.50   account fee (not in Clio)
                                                   T-1       +3.17   interest (not in Clio)

As of T-100 (the CSV alone): book 8,700.00 = ledgers (M1 4,000, M2 1,500, M3 1,000, M4 1,200,
M5 1,000) = statement 8,700.00 with nothing outstanding: balanced exactly, exit 0.

As of T (both files): book 9,200.00 = ledgers; statement 8,700 + 3,000 - 250 - 800 - 200 - 12.50
+ 3.17 = 10,440.67; adjusted 10,440.67 - 1,250.00 uncleared = 9,190.67; difference -9.33 =
-12.50 + 3.17 (the two lines not in Clio). M5 is overdrawn (-250.00) inside a positive client
(Dunmore & Sons 2,750.00); M4 is closed with 1,000.00. Exit 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from clio_xero_tools.local.world import LocalWorld
from clio_xero_tools.trust_samples import statement_ofx
from tests.integration.conftest import CliCall, WorldPool

pytestmark = pytest.mark.integration

CSV_LINES = [(149, "5000.00"), (139, "2500.00"), (129, "1200.00"), (109, "-1000.00"), (100, "1000.00")]
OFX_LINES = [(94, "3000.00"), (88, "-250.00"), (69, "-800.00"), (64, "-200.00"), (30, "-12.50"), (1, "3.17")]


@pytest.fixture
def world(shared_world: WorldPool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalWorld]:
    with shared_world() as w:
        monkeypatch.chdir(tmp_path)  # the CLI keeps its Clio snapshot under ./.cache/trust
        yield w


def seed_recipe(world: LocalWorld) -> dict[str, Any]:
    with httpx.Client(base_url=f"{world.sandboxes.clio_server.url}/_sandbox", timeout=30) as admin:
        seeded = admin.post("/seed", json={"contacts": 0, "activities": 0, "bills": 0, "trust_recipe": True})
        assert seeded.status_code == 201, seeded.text
        summary = admin.get("/seed").json()
    recipe: dict[str, Any] = summary["trust_recipe"]
    assert recipe is not None and recipe["expected"]["trust_total_from_recipe"] == "9200.00"
    return recipe


def write_statements(tmp_path: Path, seed_day: date) -> tuple[Path, Path]:
    def day(before: int) -> str:
        return (seed_day - timedelta(days=before)).isoformat()

    csv_path = tmp_path / "trust-to-T-100.csv"
    balance = Decimal("0.00")
    rows = ["Date,Description,Reference,Amount,Balance"]
    for before, amount in CSV_LINES:
        balance += Decimal(amount)
        rows.append(f"{day(before)},DEPOSIT OR PAYMENT,,{amount},{balance}")
    csv_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert balance == Decimal("8700.00")

    ofx_path = tmp_path / "trust-to-T.ofx"
    names = {30: "ACCOUNT FEE", 1: "INTEREST"}
    lines = [(day(b), amount, "", names.get(b, "TRUST MOVEMENT"), f"FIT{b}") for b, amount in OFX_LINES]
    ofx = statement_ofx(
        lines, opening="8700.00", start=day(99).replace("-", ""), end=day(0).replace("-", ""), account_number="4401"
    )
    ofx_path.write_text(ofx, encoding="utf-8")
    return csv_path, ofx_path


def report(cli: CliCall, as_of: date, *statements: Path) -> tuple[int, dict[str, Any]]:
    args = ["trust", "report", "--as-of", as_of.isoformat(), "--format", "json"]
    for path in statements:
        args += ["--statement", str(path)]
    code, out = cli(*args)
    assert isinstance(out, str) and out.lstrip().startswith("{"), out
    return code, json.loads(out)


def ledgers(body: dict[str, Any]) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    """(client id -> balance, matter id -> balance, matter id -> the matter as the report names it)."""
    clients = {c["client_id"]: c["totals"]["balance"] for c in body["client_ledgers"]}
    matters = {m["matter_id"]: m["totals"]["balance"] for c in body["client_ledgers"] for m in c["matters"]}
    names = {m["matter_id"]: m["matter"] for c in body["client_ledgers"] for m in c["matters"]}
    return clients, matters, names


def test_the_seeded_recipe_reconciles_to_its_hand_computed_figures(
    world: LocalWorld, cli: CliCall, tmp_path: Path
) -> None:
    recipe = seed_recipe(world)
    seed_day = date.fromisoformat(recipe["seed_day"])
    expected = recipe["expected"]
    matter_id = {k: int(v) for k, v in recipe["matters"].items()}
    client_id = {k: int(v) for k, v in recipe["clients"].items()}
    csv_path, ofx_path = write_statements(tmp_path, seed_day)

    # --- T-100: a period that balances exactly (the CSV statement alone).
    code, body = report(cli, seed_day - timedelta(days=100), csv_path)
    assert code == 0, body
    assert body["status"] == "balanced" and body["reasons"] == []
    assert body["balances"] == {
        "clio_book": "8700.00",
        "client_ledgers": "8700.00",
        "bank_statement": "8700.00",
        "bank_adjusted": "8700.00",
        "xero": None,
    }
    assert body["deposits_in_transit"] == body["uncleared_payments"] == body["unmatched_statement_lines"] == []
    assert body["amount_differences"] == body["ambiguous"] == body["negative_ledgers"] == []
    _, matters, names = ledgers(body)
    assert {k: matters[matter_id[k]] for k in ("M1", "M2", "M3", "M4", "M5")} == {
        "M1": "4000.00",
        "M2": "1500.00",
        "M3": "1000.00",
        "M4": "1200.00",
        "M5": "1000.00",
    }
    assert matter_id["M6"] not in matters  # M6's first money arrives at T-95
    # Matter status is today's (docs/trust-report.md, Limits): M4, closed at T-60, already shows.
    assert [(a["matter"], a["balance"]) for a in body["closed_matters_with_funds"]] == [
        (names[matter_id["M4"]], "1200.00")
    ]

    # --- T: both files, with the known differences.
    code, body = report(cli, seed_day, csv_path, ofx_path)
    assert code == 1, body
    assert body["status"] == "out_of_balance"
    assert body["balances"] == {
        "clio_book": expected["trust_total_from_recipe"],
        "client_ledgers": "9200.00",
        "bank_statement": "10440.67",
        "bank_adjusted": "9190.67",
        "xero": None,
    }
    assert body["explanation"] == {
        "opening_difference": "0.00",
        "unmatched_statement_lines": "-9.33",
        "amount_differences": "0.00",
        "ambiguous": "0.00",
    }
    assert body["deposits_in_transit"] == []
    assert [(t["date"], t["amount"], t["kind"]) for t in body["uncleared_payments"]] == [
        ((seed_day - timedelta(days=40)).isoformat(), "-1250.00", "disbursement")
    ]
    assert [(x["file"], x["date"], x["amount"], x["description"]) for x in body["unmatched_statement_lines"]] == [
        (str(ofx_path), (seed_day - timedelta(days=30)).isoformat(), "-12.50", "ACCOUNT FEE"),
        (str(ofx_path), (seed_day - timedelta(days=1)).isoformat(), "3.17", "INTEREST"),
    ]
    assert all(x["line"] > 1 for x in body["unmatched_statement_lines"])  # where each sits in the file
    assert body["amount_differences"] == body["ambiguous"] == []

    clients, matters, names = ledgers(body)
    assert {k: matters[v] for k, v in matter_id.items()} == expected["matter_ledgers"]
    assert {k: clients[v] for k, v in client_id.items()} == expected["client_ledgers"]
    # The one overdrawn ledger: matter M5 only; its client (Dunmore & Sons) is positive.
    assert [(a["level"], a["client"], a["matter"], a["balance"]) for a in body["negative_ledgers"]] == [
        ("matter", "Dunmore & Sons", names[matter_id["M5"]], "-250.00")
    ]
    assert [(a["client"], a["matter"], a["balance"]) for a in body["closed_matters_with_funds"]] == [
        ("Wei Chen", names[matter_id["M4"]], "1000.00")
    ]
    # Every ledger column (receipts, bill payments, disbursements, transfers, balance) of the two
    # clients whose money moved every way: C1 (TR1, B1, a disbursement), C2 (B2, the transfer).
    columns = ("receipts", "bill_payments", "disbursements", "transfers", "balance")
    totals = {c["client_id"]: c["totals"] for c in body["client_ledgers"]}
    assert {k: tuple(totals[client_id[k]][col] for col in columns) for k in ("C1", "C2")} == {
        "C1": ("5000.00", "-1000.00", "-250.00", "0.00", "3750.00"),
        "C2": ("2500.00", "-800.00", "0.00", "0.00", "1700.00"),
    }
    brightwater = next(c for c in body["client_ledgers"] if c["client_id"] == client_id["C2"])
    assert sorted(m["totals"]["transfers"] for m in brightwater["matters"]) == ["-1000.00", "1000.00"]
