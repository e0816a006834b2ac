"""`clio-xero trust report --local` through the real path: the local stack's connection, its
tokens and the Clio sandbox over loopback HTTP. The test makes its own trust account and activity
through the sandbox's admin surface (``/_sandbox/act/...``), so it does not depend on the seed.

The activity (account "E2E Trust", 55501234), hand-computed:

    03 Jan  +1000.00  Able   DEP-1         05 Jan bank +1000.00 DEP-1 (reference match)
    04 Jan   +600.00  Bold                 05 Jan bank  +600.00
    06 Jan   +300.00  Cole                 07 Jan bank  +300.00
    08 Jan   -100.00  Bold   cheque 501    09 Jan bank  -100.00 501
    10 Jan   -400.00  Able   bill paid from trust (allocation)   11 Jan bank -400.00
    12 Jan   -350.00  Cole   cheque 502    14 Jan bank  -350.00 502  -> Cole is overdrawn: -50.00
    20 Jan   -200.00  Able -> +200.00 Bold (transfer between ledgers: never at the bank)
    28 Jan   +250.00  Able   (deposit in transit)
                                           31 Jan bank    -5.00 fee (not in Clio)
    Bold's matter is then closed with 700.00 left.

As of 10 Jan: book 1000 + 600 + 300 - 100 - 400 = 1400.00; bank 1800.00 with the 400.00 paid on
the 11th uncleared: adjusted 1400.00. Balanced, no ledger negative: exit 0.
As of 31 Jan: book 1300.00 (Able 650, Bold 700, Cole -50); bank 1045.00 + 250.00 in transit =
1295.00; -5.00 explained by the fee. Out of balance and a negative ledger: exit 1.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from clio_xero_tools.cli import app
from clio_xero_tools.cli.context import LocalState
from clio_xero_tools.local.world import LocalWorld
from tests.integration.conftest import WorldPool

pytestmark = pytest.mark.integration
runner = CliRunner()

LINES = [
    ("2026-01-05", "1000.00", "DEP-1", "DEPOSIT"),
    ("2026-01-05", "600.00", "", "DEPOSIT"),
    ("2026-01-07", "300.00", "", "DEPOSIT"),
    ("2026-01-09", "-100.00", "501", "CHEQUE 501"),
    ("2026-01-11", "-400.00", "", "TRANSFER TO OPERATING"),
    ("2026-01-14", "-350.00", "502", "CHEQUE 502"),
    ("2026-01-31", "-5.00", "", "ACCOUNT FEE"),
]


def statement(path: Path, lines: list[tuple[str, str, str, str]]) -> Path:
    from decimal import Decimal

    balance = Decimal("0.00")
    rows = ["Date,Description,Reference,Amount,Balance"]
    for day, amount, ref, desc in lines:
        balance += Decimal(amount)
        rows.append(f"{day},{desc},{ref},{amount},{balance}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


class Admin:
    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=f"{base}/_sandbox", timeout=10)

    def act(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(f"/act/{path}", json=body)
        assert response.status_code == 201, response.text
        return response.json()["data"]  # type: ignore[no-any-return]

    def patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.patch(f"/act/{path}", json=body)
        assert response.status_code == 200, response.text
        return response.json()["data"]  # type: ignore[no-any-return]


def make_trust_activity(admin: Admin) -> dict[str, int]:
    trust = admin.act("bank_accounts", {"name": "E2E Trust", "type": "Trust", "account_number": "55501234"})["id"]
    ids = {"trust": trust}
    for key, first, last in (("able", "Ann", "Able"), ("bold", "Ben", "Bold"), ("cole", "Cat", "Cole")):
        ids[key] = admin.act("contacts", {"type": "Person", "first_name": first, "last_name": last})["id"]
        ids[f"m_{key}"] = admin.act("matters", {"client": {"id": ids[key]}, "description": f"{last} matter"})["id"]

    def txn(day: str, amount: float, who: str, **extra: Any) -> None:
        admin.act(
            "bank_transactions",
            {
                "amount": amount,
                "date": day,
                "bank_account": {"id": trust},
                "client": {"id": ids[who]},
                "matter": {"id": ids[f"m_{who}"]},
                **extra,
            },
        )

    txn("2026-01-03", 1000.0, "able", confirmation="DEP-1", description="Retainer", transaction_type="Deposit")
    txn("2026-01-04", 600.0, "bold", description="Retainer", transaction_type="Deposit")
    txn("2026-01-06", 300.0, "cole", description="Retainer", transaction_type="Deposit")
    txn("2026-01-08", -100.0, "bold", confirmation="501", description="Filing fee", transaction_type="Withdrawal")
    bill = admin.act(
        "bills",
        {
            "client_id": ids["able"],
            "matter_ids": [ids["m_able"]],
            "state": "awaiting_payment",
            "issued_at": "2026-01-09",
            "line_items": [{"description": "Advice", "price": 400.0, "quantity": 1, "taxable": False}],
        },
    )
    admin.act(f"bills/{bill['id']}/payments", {"amount": 400.0, "date": "2026-01-10", "bank_account_id": trust})
    txn("2026-01-12", -350.0, "cole", confirmation="502", description="Search fees", transaction_type="Withdrawal")
    txn("2026-01-20", -200.0, "able", description="To Bold matter", transaction_type="Transfer")
    txn("2026-01-20", 200.0, "bold", description="From Able matter", transaction_type="Transfer")
    txn("2026-01-28", 250.0, "able", description="Further retainer", transaction_type="Deposit")
    admin.patch(f"matters/{ids['m_bold']}", {"status": "Closed"})
    return ids


@pytest.fixture
def function_output() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def world(
    shared_world: WorldPool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, function_output: io.StringIO
) -> Iterator[LocalWorld]:
    with shared_world(function_output=function_output) as w:
        runtime = w.runtime
        state = tmp_path / "stack.json"
        LocalState(runtime.options.stack_name, runtime.aws_endpoint, runtime.api_url, runtime.config_path).write(state)
        monkeypatch.setenv("CLIO_XERO_LOCAL_STATE", str(state))
        monkeypatch.setenv("COLUMNS", "200")
        monkeypatch.chdir(tmp_path)  # the CLI keeps its Clio snapshot under ./.cache/trust
        yield w


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["trust", "report", *args, "--local"])
    return result.exit_code, result.output


def clio_reads(world: LocalWorld, resource: str) -> int:
    return len(world.sandboxes.clio.request_log.entries(method="GET", path_prefix=f"/api/v4/{resource}.json"))


def test_trust_report_end_to_end(world: LocalWorld, tmp_path: Path) -> None:
    ids = make_trust_activity(Admin(world.sandboxes.clio_server.url))
    early = statement(tmp_path / "early.csv", [x for x in LINES if x[0] <= "2026-01-10"] + [LINES[4]])
    code, out = cli("--as-of", "2026-01-10", "--account", "E2E Trust", "--statement", str(early), "--format", "json")
    assert code == 0, out
    report = json.loads(out)
    assert report["status"] == "balanced"
    assert report["balances"] == {
        "clio_book": "1400.00",
        "client_ledgers": "1400.00",
        "bank_statement": "1800.00",
        "bank_adjusted": "1400.00",
        "xero": None,
    }
    # the 11 Jan line is after the as-of date: the 400.00 paid to the bill is uncleared
    assert [(t["amount"], t["kind"]) for t in report["uncleared_payments"]] == [("-400.00", "bill_payment")]
    assert report["negative_ledgers"] == []

    first_reads = clio_reads(world, "bank_transactions")
    full = statement(tmp_path / "jan.csv", LINES)
    code, out = cli("--as-of", "2026-01-31", "--account", "E2E Trust", "--statement", str(full), "--format", "json")
    assert code == 1, out
    report = json.loads(out)
    assert report["status"] == "out_of_balance"
    assert report["balances"] == {
        "clio_book": "1300.00",
        "client_ledgers": "1300.00",
        "bank_statement": "1045.00",
        "bank_adjusted": "1295.00",
        "xero": None,
    }
    assert report["explanation"] == {
        "opening_difference": "0.00",
        "unmatched_statement_lines": "-5.00",
        "amount_differences": "0.00",
        "ambiguous": "0.00",
    }
    assert [(t["amount"], t["description"]) for t in report["deposits_in_transit"]] == [("250.00", "Further retainer")]
    assert report["uncleared_payments"] == []
    assert [(x["line"], x["amount"]) for x in report["unmatched_statement_lines"]] == [(8, "-5.00")]
    assert [(a["level"], a["client"], a["balance"]) for a in report["negative_ledgers"]] == [
        ("client", "Cat Cole", "-50.00"),
        ("matter", "Cat Cole", "-50.00"),
    ]
    assert [(a["client"], a["balance"]) for a in report["closed_matters_with_funds"]] == [("Ben Bold", "700.00")]
    ledgers = {c["client"]: c["totals"] for c in report["client_ledgers"]}
    assert ledgers["Ann Able"] == {
        "receipts": "1250.00",
        "bill_payments": "-400.00",
        "disbursements": "0.00",
        "transfers": "-200.00",
        "balance": "650.00",
    }
    assert ledgers["Ben Bold"]["transfers"] == "200.00"
    # The second run merged what changed since the first into the saved read: one page per trust
    # account (the sandbox's own and ours), and no full re-read (that would be one more).
    assert clio_reads(world, "bank_transactions") == 2 * first_reads
    [snapshot] = (tmp_path / ".cache" / "trust").glob("*.json")
    assert json.loads(snapshot.read_bytes())["read_at"]
    assert ids["trust"]

    # The same report as a table, HTML and PDF.
    code, out = cli("--as-of", "2026-01-31", "--account", "E2E Trust", "--statement", str(full))
    assert code == 1 and "OUT OF BALANCE" in out and "Cat Cole" in out
    pdf = tmp_path / "report.pdf"
    code, _ = cli(
        "--as-of", "2026-01-31", "--account", "E2E Trust", "--statement", str(full), "--format", "pdf", "-o", str(pdf)
    )
    assert code == 1 and pdf.read_bytes().startswith(b"%PDF")


def test_a_bad_statement_exits_2_naming_the_file_and_line(world: LocalWorld, tmp_path: Path) -> None:
    make_trust_activity(Admin(world.sandboxes.clio_server.url))
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Amount,Balance\n2026-01-05,1000.00,1000.00\n2026-01-06,abc,1000.00\n", encoding="utf-8")
    code, out = cli("--as-of", "2026-01-31", "--account", "E2E Trust", "--statement", str(bad))
    assert code == 2
    assert f"{bad}:3: amount 'abc' is not an amount" in out
    other = statement(tmp_path / "other.csv", LINES).read_text().replace("Balance\n", "Balance,Account\n")
    (tmp_path / "other.csv").write_text(
        "\n".join(line + (",99998888" if i else "") for i, line in enumerate(other.strip().splitlines())) + "\n"
    )
    code, out = cli("--as-of", "2026-01-31", "--account", "E2E Trust", "--statement", str(tmp_path / "other.csv"))
    assert code == 2
    assert "other.csv: statement is for account 99998888" in out


def test_the_scheduled_function_writes_the_report_to_the_bucket(
    world: LocalWorld, tmp_path: Path, function_output: io.StringIO
) -> None:
    ids = make_trust_activity(Admin(world.sandboxes.clio_server.url))
    s3 = world.runtime.client("s3")
    bucket = world.runtime.physical_id("DeliveryBucket")
    csv_text = statement(tmp_path / "jan.csv", LINES).read_bytes()
    s3.put_object(
        Bucket=bucket, Key=f"trust/statements/{world.connection_id}/{ids['trust']}/2026-01/jan.csv", Body=csv_text
    )
    function = world.runtime.functions["TrustReportFunction"]

    result = function.invoke({"as_of": "2026-01-31", "force": True})
    by_account = {o["account_id"]: o for o in result["reports"]}
    ours = by_account[ids["trust"]]
    assert (ours["status"], ours["negative_ledgers"]) == ("out_of_balance", 2)
    key = f"trust/reports/{world.connection_id}/2026-01-31/{ids['trust']}"
    body = json.loads(s3.get_object(Bucket=bucket, Key=f"{key}.json")["Body"].read())
    assert body["balances"]["bank_adjusted"] == "1295.00"
    assert body["statement_files"] == [
        f"s3://{bucket}/trust/statements/{world.connection_id}/{ids['trust']}/2026-01/jan.csv"
    ]
    html = s3.get_object(Bucket=bucket, Key=f"{key}.html")["Body"].read().decode()
    assert "OUT OF BALANCE" in html and "Cat Cole" in html
    assert s3.get_object(Bucket=bucket, Key=f"trust/snapshots/{world.connection_id}.json")["ContentLength"] > 0
    # The metric the alarm watches: one account out of balance + two negative ledgers.
    emf = [json.loads(x) for x in function_output.getvalue().splitlines() if '"_aws"' in x]
    assert any(
        m.get("TrustReconciliationProblems") == [3.0] or m.get("TrustReconciliationProblems") == 3.0 for m in emf
    ), emf

    # Without force, a report already in the bucket is not made again.
    again = function.invoke({"as_of": "2026-01-31"})
    assert [o["status"] for o in again["reports"]] == ["skipped"]

    # A bad statement: the account's report is an error file naming the file and line.
    s3.put_object(
        Bucket=bucket,
        Key=f"trust/statements/{world.connection_id}/{ids['trust']}/2026-02/feb.csv",
        Body=b"Date,Amount,Balance\n2026-02-01,x,1\n",
    )
    failed = function.invoke({"as_of": "2026-02-28", "force": True})
    ours = next(o for o in failed["reports"] if o["account_id"] == ids["trust"])
    assert ours["status"] == "failed"
    assert ours["error"].endswith("feb.csv:2: amount 'x' is not an amount")
    error = s3.get_object(Bucket=bucket, Key=ours["key"])["Body"].read().decode()
    assert "feb.csv:2" in error
