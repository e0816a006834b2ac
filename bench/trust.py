"""Trust report at firm scale: a year of trust activity for 2,000 matters (issue 13).

About 50,000 Clio trust transactions and as many statement lines (twelve monthly CSV statements).
Clio is an in-process stand-in over ``httpx.MockTransport`` that pages like Clio (``limit`` 200,
``order=id(asc)``, ``meta.paging.next`` with a page token, ``updated_since``); the real
``ClioClient`` reads it through its real rate budget (50 calls a minute) on a manual clock, so
the waiting a firm would see is counted, not slept. (The Clio sandbox computes every bank
transaction's running balance over all transactions, which is quadratic at this size.)

Measured in a child process so its peak resident memory is the report's alone:
- Clio calls for the first read and for a later read that asks only for what changed;
- the time to parse the statements, reconcile and render JSON, CSV and HTML (target < 10 s), and
  the PDF separately (the CLI's);
- peak memory (target < 300 MB).
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import time
import urllib.parse
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from bench.common import ROOT, RunOptions, Section, table

MATTERS = 2_000
CLIENTS = 1_600
TARGET_TRANSACTIONS = 50_000
YEAR = 2025
ACCOUNT_ID = 9001
NOW = datetime(YEAR + 1, 1, 2, 8, 0, tzinfo=UTC)


def run(opts: RunOptions) -> Section:
    done = subprocess.run(
        [sys.executable, "-m", "bench.trust"], cwd=ROOT, capture_output=True, text=True, check=False, timeout=1800
    )
    if done.returncode != 0:
        raise RuntimeError(f"trust benchmark failed:\n{done.stdout}\n{done.stderr}")
    r = json.loads(done.stdout.strip().splitlines()[-1])
    compute_ok = r["compute_seconds"] < 10
    memory_ok = r["peak_mb"] - r["stand_in_mb"] < 300
    calls_ok = r["first_calls"] <= 270 and r["later_calls"] <= 10
    rows = [
        ["Clio trust transactions / statement lines", f"{r['transactions']:,} / {r['statement_lines']:,}"],
        ["Matters / clients", f"{r['matters']:,} / {r['clients']:,}"],
        ["First read: Clio calls (200-record pages)", f"{r['first_calls']}"],
        ["First read: waiting for Clio's 50 calls/min", f"{r['first_wait_minutes']:.1f} min"],
        [f"Later read ({r['changed']} changed, {r['added']} new): Clio calls", f"{r['later_calls']}"],
        ["Parse 12 CSV statements", f"{r['parse_seconds']:.2f} s"],
        ["Reconcile (match + ledgers)", f"{r['reconcile_seconds']:.2f} s"],
        ["Render JSON + CSV + HTML", f"{r['render_seconds']:.2f} s"],
        ["Compute + render (the target)", f"{r['compute_seconds']:.2f} s"],
        ["PDF (CLI only)", f"{r['pdf_seconds']:.2f} s, {r['pdf_pages']} pages"],
        [
            "Peak memory: the report's (whole process less the stand-in Clio's data)",
            f"{r['peak_mb'] - r['stand_in_mb']:.0f} MB ({r['peak_mb']:.0f} MB whole process)",
        ],
        [
            "Report",
            f"{r['status']}; matched {r['matched']:,}; in transit {r['in_transit']}; "
            f"uncleared {r['uncleared']}; unmatched lines {r['unmatched']}; ambiguous groups {r['ambiguous']}",
        ],
    ]
    body = (
        "A year of trust activity for a firm with 2,000 matters (`bench/trust.py`): about 50,000 Clio "
        "transactions read through the real `ClioClient` from a stand-in that pages like Clio, and twelve "
        "monthly CSV statements with the same activity as the bank saw it (a few days later, some "
        "bank fees, December's last items still in transit). It is out of balance on purpose: the twelve "
        "monthly bank fees are not in Clio, and each is listed.\n\n" + table(["measure", "result"], rows)
    )
    return Section(
        title="Trust report (a year, 2,000 matters)",
        body=body,
        targets=[
            ("Clio calls: first read about 250 pages, later reads a handful", calls_ok),
            ("compute + render < 10 s", compute_ok),
            ("peak memory of the report < 300 MB", memory_ok),
        ],
    )


# ----------------------------------------------------------------------------- the child
class FakeClio:
    """Bank accounts, bank transactions and matters, paged and filtered like Clio."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[int, dict[str, Any]]] = {"bank_accounts": {}, "bank_transactions": {}, "matters": {}}

    def handle(self, request: httpx.Request) -> httpx.Response:
        resource = request.url.path.rsplit("/", 1)[-1].removesuffix(".json")
        query = dict(urllib.parse.parse_qsl(request.url.query.decode()))
        start = int(query.get("page_token", "0"))
        limit = int(query.get("limit", "200"))
        since = datetime.fromisoformat(query["updated_since"]) if "updated_since" in query else None
        account = int(query["bank_account_id"]) if "bank_account_id" in query else None
        rows = [
            r
            for r in self.rows[resource].values()
            if (since is None or r["_updated"] >= since)
            and (account is None or r["bank_account"]["id"] == account)
            and (resource != "bank_accounts" or query.get("type") != "TrustAccount" or r["type"] == "Trust")
        ]
        rows.sort(key=lambda r: r["id"])
        page = [{k: v for k, v in r.items() if k != "_updated"} for r in rows[start : start + limit]]
        meta: dict[str, Any] = {"paging": {}}
        if start + limit < len(rows):
            following = {**query, "page_token": str(start + limit)}
            meta["paging"]["next"] = (
                f"{request.url.scheme}://{request.url.host}{request.url.path}?" + urllib.parse.urlencode(following)
            )
        return httpx.Response(200, json={"data": page, "meta": meta})


def make_firm(rng: random.Random) -> tuple[FakeClio, list[tuple[date, Decimal, str, str]]]:
    """The Clio side and the bank lines (date, amount, reference, description), hand-rolled at random."""
    clio = FakeClio()
    clients: list[dict[str, Any]] = [{"id": 10_000 + i, "name": f"Client {i:04d}"} for i in range(CLIENTS)]
    statuses = ["Open"] * 9 + ["Closed"]
    for m in range(MATTERS):
        client = clients[m % CLIENTS]
        clio.rows["matters"][20_000 + m] = {
            "id": 20_000 + m,
            "display_number": f"{m:05d}-{client['name'][-4:]}",
            "status": rng.choice(statuses),
            "client": client,
            "_updated": NOW - timedelta(days=rng.randint(1, 300)),
        }
    per_matter = TARGET_TRANSACTIONS // MATTERS
    txns: list[dict[str, Any]] = []
    next_id = 1
    for m in range(MATTERS):
        matter = clio.rows["matters"][20_000 + m]
        balance = Decimal(0)
        day = date(YEAR, 1, 1) + timedelta(days=rng.randint(0, 60))
        for k in range(per_matter):
            day = min(day + timedelta(days=rng.randint(1, 24)), date(YEAR, 12, 31))
            if k % 3 == 0 or balance < 50:
                amount = Decimal(rng.randint(500_00, 20_000_00)) / 100
                kind, ref = "Deposit", f"DEP{next_id}" if k % 2 else ""
            else:
                amount = -(Decimal(rng.randint(1_00, int(balance * 100 // 2))) / 100)
                kind, ref = ("Withdrawal", str(100_000 + next_id)) if k % 2 else ("Withdrawal", "")
            balance += amount
            txns.append(
                {
                    "id": next_id,
                    "date": day.isoformat(),
                    "amount": float(amount),
                    "confirmation": ref,
                    "description": kind,
                    "transaction_type": kind,
                    "currency": "USD",
                    "bank_account": {"id": ACCOUNT_ID},
                    "client": matter["client"],
                    "matter": {"id": matter["id"], "display_number": matter["display_number"]},
                    "bill": {"id": 900_000 + next_id} if amount < 0 and k % 4 == 1 else None,
                    "allocation": None,
                    "_updated": NOW - timedelta(days=1),
                }
            )
            next_id += 1
    lines: list[tuple[date, Decimal, str, str]] = []
    for t in txns:
        cleared = date.fromisoformat(t["date"]) + timedelta(days=rng.randint(0, 3))
        if cleared.year == YEAR:  # the rest is in transit at the year's end
            lines.append((cleared, Decimal(str(t["amount"])), t["confirmation"], t["description"]))
        clio.rows["bank_transactions"][t["id"]] = t
    for month in range(1, 13):
        lines.append((date(YEAR, month, 28), Decimal("-12.50"), "", "ACCOUNT FEE"))
    total = sum((Decimal(str(t["amount"])) for t in txns), Decimal(0))
    clio.rows["bank_accounts"][ACCOUNT_ID] = {
        "id": ACCOUNT_ID,
        "name": "Client Trust Account",
        "type": "Trust",
        "currency": "USD",
        "account_number": "000987654321",
        "balance": float(total),
        "_updated": NOW,
    }
    return clio, sorted(lines, key=lambda x: (x[0], x[1]))


def monthly_csvs(lines: list[tuple[date, Decimal, str, str]]) -> list[tuple[str, bytes]]:
    files, balance = [], Decimal("0.00")
    for month in range(1, 13):
        rows = ["Date,Description,Reference,Amount,Balance"]
        for day, amount, ref, desc in lines:
            if day.month == month:
                balance += amount
                rows.append(f"{day.isoformat()},{desc},{ref},{amount},{balance}")
        files.append((f"{YEAR}-{month:02d}.csv", ("\n".join(rows) + "\n").encode()))
    return files


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def _peak_rss_mb() -> float:
    """This program's peak resident memory (VmHWM). Not ``getrusage``'s ``ru_maxrss``: Linux keeps
    that across ``execve``, so a child started by a bench process that had grown large (``make
    bench`` runs the bill benchmarks first) would report the parent's peak as its own."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: the best there is


def child() -> dict[str, Any]:
    from clio_xero.clients import ClioClient, ClioEndpoints, InMemoryRateBudget
    from clio_xero.clients.oauth import StaticTokenSource
    from clio_xero.clients.patience import Patience
    from clio_xero.clock import ManualClock
    from clio_xero.trust.reconcile import ReconcileInput, reconcile
    from clio_xero.trust.render import to_csv, to_html, to_json
    from clio_xero.trust.source import ClioTrustSource
    from clio_xero.trust.statements import parse_statement
    from clio_xero_tools.trust_pdf import to_pdf

    rng = random.Random(13)
    fake, lines = make_firm(rng)
    files = monthly_csvs(lines)
    stand_in_mb = _rss_mb()  # the stand-in Clio's data and the statement files: the bench's, not the report's
    clock = ManualClock(NOW)

    def client() -> ClioClient:
        return ClioClient(
            endpoints=ClioEndpoints(base_url="http://clio.test"),
            tokens=StaticTokenSource("bench", "clio"),
            budget=InMemoryRateBudget(clock),
            budget_key="bench",
            transport=httpx.MockTransport(fake.handle),
            clock=clock,
        )

    class Memory:
        data: bytes | None = None

        def load(self) -> bytes | None:
            return self.data

        def save(self, data: bytes) -> None:
            self.data = data

    snapshots = Memory()

    def wait(seconds: float) -> None:  # throttles advance the manual clock: counted, never slept
        clock.advance(seconds)

    patience = Patience(wait=wait)
    first_client = client()
    book = ClioTrustSource(first_client, snapshots, clock, patience).read()
    first_calls, first_wait = first_client.calls, patience.waited
    del book  # a later run starts from the saved read alone

    clock.advance(3600)
    changed, added = 40, 10
    for tid in rng.sample(sorted(fake.rows["bank_transactions"]), changed):
        fake.rows["bank_transactions"][tid] = {
            **fake.rows["bank_transactions"][tid],
            "description": "edited",
            "_updated": clock.now(),
        }
    last = max(fake.rows["bank_transactions"])
    for i in range(1, added + 1):
        template = fake.rows["bank_transactions"][i]
        fake.rows["bank_transactions"][last + i] = {
            **template,
            "id": last + i,
            "date": f"{YEAR + 1}-01-02",
            "amount": 100.0,
            "_updated": clock.now(),
        }
    account = fake.rows["bank_accounts"][ACCOUNT_ID]
    account["balance"] = float(Decimal(str(account["balance"])) + Decimal(100) * added)
    later_client = client()
    book = ClioTrustSource(later_client, snapshots, clock, Patience(wait=wait)).read()
    later_calls = later_client.calls

    t0 = time.perf_counter()
    statements = [parse_statement(name, data) for name, data in files]
    t1 = time.perf_counter()
    report = reconcile(
        ReconcileInput(
            firm="Bench & Partners",
            account=book.accounts[0],
            as_of=date(YEAR, 12, 31),
            transactions=book.transactions,
            matters=book.matters,
            statements=statements,
        )
    )
    t2 = time.perf_counter()
    rendered = [to_json(report), to_csv(report), to_html(report)]
    t3 = time.perf_counter()
    pdf = to_pdf(report)
    t4 = time.perf_counter()
    assert all(rendered)
    return {
        "transactions": len(fake.rows["bank_transactions"]),
        "statement_lines": len(lines),
        "matters": MATTERS,
        "clients": CLIENTS,
        "first_calls": first_calls,
        "first_wait_minutes": first_wait / 60,
        "later_calls": later_calls,
        "changed": changed,
        "added": added,
        "parse_seconds": t1 - t0,
        "reconcile_seconds": t2 - t1,
        "render_seconds": t3 - t2,
        "compute_seconds": t3 - t0,
        "pdf_seconds": t4 - t3,
        "pdf_pages": pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages"),
        "peak_mb": _peak_rss_mb(),
        "stand_in_mb": stand_in_mb,
        "status": report.status.value,
        "matched": report.matched_count,
        "in_transit": len(report.deposits_in_transit),
        "uncleared": len(report.uncleared_payments),
        "unmatched": len(report.unmatched_statement_lines),
        "ambiguous": len(report.ambiguous),
    }


if __name__ == "__main__":
    print(json.dumps(child()))
