"""The trust report's Xero comparison through the real path: `clio-xero trust report --local
--xero-account ...` reads `GET /Accounts?where=Type=="BANK"` and `GET /Reports/BankSummary` from the
Xero sandbox over loopback, with the connection's own token, and compares with Clio's trust book.

The firm keeps its trust account in Xero: a user makes a BANK account "Client Trust Account"
(number 55501234, the Clio account's) and enters the trust receipts and payments in it through the
Xero sandbox's admin surface (spend/receive money). Clio's side is test_trust_e2e's activity.

Hand-computed Xero balances (Xero's closing balance on the as-of date):

    03 Jan RECEIVE 1000.00   04 Jan RECEIVE 600.00   06 Jan RECEIVE 300.00
    08 Jan SPEND    100.00   10 Jan SPEND   400.00   12 Jan SPEND   350.00   28 Jan RECEIVE 250.00
    (the 20 Jan transfer between two ledgers moves no money at the bank: nothing in Xero)

    as of 10 Jan: 1000 + 600 + 300 - 100 - 400 = 1400.00 = Clio's book 1400.00: balanced
    + 09 Jan SPEND 15.00 entered in Xero only: 1385.00, Xero - Clio = -15.00: out of balance
    the 15.00 deleted in Xero: 1400.00 again, balanced
    as of 31 Jan: 1400 - 350 + 250 = 1300.00 = Clio's book 1300.00 (Xero difference 0.00)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from clio_xero.connect.providers import XERO_SCOPES, XERO_TRUST_REPORT_SCOPE
from clio_xero_tools.local.world import LocalWorld
from tests.integration.conftest import CliCall, WorldPool
from tests.integration.test_trust_e2e import LINES, Admin, make_trust_activity, statement

pytestmark = pytest.mark.integration

TRUST_NUMBER = "55501234"
XERO_TRUST = "Client Trust Account"


@pytest.fixture
def world(shared_world: WorldPool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalWorld]:
    with shared_world() as w:
        monkeypatch.chdir(tmp_path)  # the CLI keeps its Clio snapshot under ./.cache/trust
        yield w


class XeroUser:
    """A person working in the firm's Xero organisation (the sandbox's admin surface and, for the
    chart of accounts, the Accounting API with a full-access token, as Xero's web app would)."""

    def __init__(self, world: LocalWorld) -> None:
        self.tenant = world.tenant_id
        base = world.sandboxes.xero_server.url
        self.admin = httpx.Client(base_url=f"{base}/_sandbox", timeout=10)
        token = self.admin.post("/tokens", json={"tenantIds": [self.tenant]}).json()["access_token"]
        self.api = httpx.Client(
            base_url=f"{base}/api.xro/2.0",
            headers={"Authorization": f"Bearer {token}", "xero-tenant-id": self.tenant, "Accept": "application/json"},
            timeout=10,
        )
        self.contact_id = self.admin.post(f"/tenants/{self.tenant}/contacts", json={"Name": "Trust clients"}).json()[
            "ContactID"
        ]

    def add_account(self, **fields: Any) -> dict[str, Any]:
        response = self.api.put("/Accounts", json=fields)
        assert response.status_code == 200, response.text
        return response.json()["Accounts"][0]  # type: ignore[no-any-return]

    def enter(self, kind: str, day: str, amount: str, reference: str = "") -> str:
        body = {
            "Type": kind,
            "Date": day,
            "Reference": reference,
            "Contact": {"ContactID": self.contact_id},
            "BankAccount": {"Code": "TRUST"},
            "LineAmountTypes": "NoTax",
            "LineItems": [{"Description": reference or kind, "Quantity": 1, "UnitAmount": amount, "AccountCode": "TL"}],
        }
        response = self.admin.post(f"/tenants/{self.tenant}/banktransactions", json=body)
        assert response.status_code in (200, 201), response.text
        return str(response.json()["BankTransactionID"])

    def delete(self, bank_transaction_id: str) -> None:
        body = {"BankTransactionID": bank_transaction_id, "Status": "DELETED"}
        response = self.admin.post(f"/tenants/{self.tenant}/banktransactions", json=body)
        assert response.status_code in (200, 201), response.text


def firm_keeps_trust_in_xero(world: LocalWorld) -> XeroUser:
    user = XeroUser(world)
    user.add_account(Code="TL", Name="Client Trust Liability", Type="CURRLIAB", TaxType="NONE")
    user.add_account(
        Code="TRUST", Name=XERO_TRUST, Type="BANK", BankAccountNumber=f"0{TRUST_NUMBER}", CurrencyCode="USD"
    )
    for kind, day, amount, ref in (
        ("RECEIVE", "2026-01-03", "1000.00", "DEP-1"),
        ("RECEIVE", "2026-01-04", "600.00", ""),
        ("RECEIVE", "2026-01-06", "300.00", ""),
        ("SPEND", "2026-01-08", "100.00", "501"),
        ("SPEND", "2026-01-10", "400.00", "Bill paid from trust"),
        ("SPEND", "2026-01-12", "350.00", "502"),
        ("RECEIVE", "2026-01-28", "250.00", ""),
    ):
        user.enter(kind, day, amount, ref)
    return user


def connect_with_scopes(world: LocalWorld, scope: str = XERO_SCOPES) -> None:
    """Give the connection a Xero token granted exactly ``scope`` (by default XERO_SCOPES, what the
    connect flow asks Xero for: shared/clio_xero/connect/flow.py)."""
    from clio_xero.clients.oauth import token_set_from_response
    from clio_xero.clock import default_clock
    from clio_xero.store.tokens import DynamoTokenStore

    rt = world.runtime
    store = DynamoTokenStore(
        rt.physical_id("Table"), rt.client("dynamodb"), rt.client("kms"), rt.physical_id("DataKey"), default_clock()
    )
    current = store.load(world.connection_id, "xero")
    assert current is not None
    grant = world.sandboxes.xero.issue_tokens([world.tenant_id], scope=scope)
    store.save(
        world.connection_id, "xero", token_set_from_response(grant, default_clock()), expected_version=current.version
    )


def report(cli: CliCall, as_of: str, statement_file: Path, xero_account: str = XERO_TRUST) -> tuple[int, Any]:
    code, out = cli(
        "trust", "report", "--as-of", as_of, "--account", "E2E Trust", "--statement", str(statement_file),
        "--xero-account", xero_account, "--format", "json",
    )  # fmt: skip
    return code, json.loads(out) if out.lstrip().startswith("{") else out


def bank_summary_reads(world: LocalWorld) -> list[str]:
    return [
        e.path for e in world.sandboxes.xero.request_log.entries() if e.path.lower().endswith("/reports/banksummary")
    ]


def test_the_xero_view_of_the_trust_account_is_compared_with_clio(
    world: LocalWorld, cli: CliCall, tmp_path: Path
) -> None:
    make_trust_activity(Admin(world.sandboxes.clio_server.url))
    xero = firm_keeps_trust_in_xero(world)
    early = statement(tmp_path / "early.csv", [x for x in LINES if x[0] <= "2026-01-10"] + [LINES[4]])

    # A connection made before the report scope was asked for: a clear error, no report.
    connect_with_scopes(world, " ".join(s for s in XERO_SCOPES.split() if s != XERO_TRUST_REPORT_SCOPE))
    code, out = report(cli, "2026-01-10", early)
    assert code == 3 and isinstance(out, str), out  # configuration (docs/trust-report.md, exit codes)
    assert f"the connection was made without the scope {XERO_TRUST_REPORT_SCOPE}" in " ".join(out.split())

    connect_with_scopes(world)

    code, body = report(cli, "2026-01-10", early)
    assert code == 0, body
    assert body["status"] == "balanced"
    assert body["balances"]["clio_book"] == "1400.00" and body["balances"]["xero"] == "1400.00"
    assert body["differences"]["xero_minus_book"] == "0.00"
    assert body["xero_account"] == XERO_TRUST
    assert bank_summary_reads(world), "the report did not read Xero's bank summary"

    # Found by its bank account number when no name is given ('' = match by number).
    code, body = report(cli, "2026-01-10", early, xero_account="")
    assert code == 0 and body["balances"]["xero"] == "1400.00", body

    # A 15.00 fee someone entered in the trust account in Xero only: a known difference.
    fee = xero.enter("SPEND", "2026-01-09", "15.00", "Bank fee")
    code, body = report(cli, "2026-01-10", early)
    assert code == 1, body
    assert body["status"] == "out_of_balance"
    assert body["balances"]["xero"] == "1385.00" and body["balances"]["clio_book"] == "1400.00"
    assert body["differences"]["xero_minus_book"] == "-15.00"
    assert body["reasons"] == [f"Xero shows 1,385.00 for {XERO_TRUST}, Clio's trust book 1,400.00"]

    # Deleted in Xero: the bank summary drops it and the account balances again.
    xero.delete(fee)
    code, body = report(cli, "2026-01-10", early)
    assert code == 0 and body["balances"]["xero"] == "1400.00", body

    # The month end: Xero agrees with the book; what is out of balance is the bank and a ledger.
    full = statement(tmp_path / "jan.csv", LINES)
    code, body = report(cli, "2026-01-31", full)
    assert code == 1
    assert body["balances"]["xero"] == "1300.00" and body["balances"]["clio_book"] == "1300.00"
    assert body["differences"]["xero_minus_book"] == "0.00"
    assert not any("Xero" in r for r in body["reasons"]), body["reasons"]
