"""A small trust book with hand-computed figures, for the tests and ``make demo``.

January 2026 for "Client Trust Account" (USD, 000123456789). docs/trust-report.md walks through
the figures. ``balanced()`` reconciles exactly; ``unbalanced()`` adds a bank fee Clio never
recorded, a cheque the bank paid for 10.00 more than Clio says, an ambiguous deposit and an
overdrawn matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from clio_xero.trust.model import ClioMatter, ClioTrustTransaction, TrustAccount
from clio_xero.trust.reconcile import TrustReport

ACCOUNT_ID = 7001
ACCOUNT_NUMBER = "000123456789"
AS_OF = date(2026, 1, 31)

CLIENTS = {101: "Alice Archer", 102: "Bob Baker", 103: "Carol Chen", 104: "Dave Dunn"}
MATTERS = {
    201: ("00201-Archer", 101, "Open"),
    202: ("00202-Baker", 102, "Closed"),
    203: ("00203-Chen", 103, "Open"),
    204: ("00204-Dunn", 104, "Open"),
}


@dataclass(frozen=True)
class Sample:
    account: TrustAccount
    transactions: list[ClioTrustTransaction]
    matters: list[ClioMatter]
    statement_csv: str
    statement_ofx: str


def _txn(
    tid: int, day: str, amount: str, matter: int, *, ref: str = "", bill: int | None = None, kind: str = ""
) -> dict[str, Any]:
    label, client, _ = MATTERS[matter]
    return {
        "id": tid,
        "date": day,
        "amount": amount,
        "bank_account": {"id": ACCOUNT_ID},
        "client": {"id": client, "name": CLIENTS[client]},
        "matter": {"id": matter, "display_number": label},
        "bill": {"id": bill} if bill else None,
        "confirmation": ref,
        "description": kind or ("Deposit" if not amount.startswith("-") else "Withdrawal"),
        "transaction_type": "Deposit" if not amount.startswith("-") else "Withdrawal",
        "currency": "USD",
    }


BALANCED_TXNS = [
    _txn(1, "2025-12-20", "5000.00", 201, kind="Retainer"),
    _txn(2, "2025-12-30", "1000.00", 202, kind="Retainer"),  # in transit at 31 Dec; clears 2 Jan
    _txn(3, "2026-01-05", "2500.00", 203, ref="DEP-77", kind="Retainer"),
    _txn(4, "2026-01-10", "-1200.00", 201, ref="1024", bill=301, kind="Payment to bill 301"),
    _txn(5, "2026-01-15", "-300.00", 202, ref="1025", kind="Court filing fee"),
    _txn(6, "2026-01-20", "-800.00", 203, bill=302, kind="Payment to bill 302"),
    _txn(7, "2026-01-29", "750.00", 201, kind="Further retainer"),  # deposit in transit
    _txn(8, "2026-01-30", "-200.00", 201, ref="1026", kind="Expert witness"),  # uncleared cheque
    _txn(9, "2026-02-03", "999.00", 203, kind="After the as-of date"),
]
# statement lines: (date, amount, reference, description, fitid)
BALANCED_LINES = [
    ("2026-01-02", "1000.00", "", "DEPOSIT", "B1"),
    ("2026-01-06", "2500.00", "DEP-77", "DEPOSIT DEP-77", "B2"),
    ("2026-01-12", "-1200.00", "1024", "CHEQUE 1024", "B3"),
    ("2026-01-18", "-300.00", "1025", "CHEQUE 1025", "B4"),
    ("2026-01-21", "-800.00", "", "TRANSFER TO OPERATING", "B5"),
]
OPENING_BANK = "5000.00"

UNBALANCED_TXNS = [
    *BALANCED_TXNS,
    _txn(10, "2026-01-08", "100.00", 204, kind="Retainer"),
    _txn(11, "2026-01-09", "-150.00", 204, ref="1027", kind="Search fees"),  # overdraws matter 204
    _txn(12, "2026-01-25", "500.00", 201, kind="Deposit"),
    _txn(13, "2026-01-25", "500.00", 203, kind="Deposit"),
]
UNBALANCED_LINES = [
    ("2026-01-02", "1000.00", "", "DEPOSIT", "B1"),
    ("2026-01-06", "2500.00", "DEP-77", "DEPOSIT DEP-77", "B2"),
    ("2026-01-08", "100.00", "", "DEPOSIT", "B6"),
    ("2026-01-11", "-150.00", "1027", "CHEQUE 1027", "B7"),
    ("2026-01-12", "-1200.00", "1024", "CHEQUE 1024", "B3"),
    ("2026-01-18", "-310.00", "1025", "CHEQUE 1025", "B4"),  # Clio says 300.00
    ("2026-01-21", "-800.00", "", "TRANSFER TO OPERATING", "B5"),
    ("2026-01-26", "500.00", "", "DEPOSIT", "B8"),  # two Clio deposits of 500.00 fit: ambiguous
    ("2026-01-31", "-15.00", "", "ACCOUNT FEE", "B9"),  # never recorded in Clio
]


def account(balance: str | None = None) -> TrustAccount:
    return TrustAccount.model_validate(
        {
            "id": ACCOUNT_ID,
            "name": "Client Trust Account",
            "type": "Trust",
            "currency": "USD",
            "account_number": ACCOUNT_NUMBER,
            "balance": balance,
        }
    )


def matters() -> list[ClioMatter]:
    return [
        ClioMatter.model_validate(
            {
                "id": mid,
                "display_number": label,
                "status": status,
                "client": {"id": client, "name": CLIENTS[client]},
            }
        )
        for mid, (label, client, status) in MATTERS.items()
    ]


def statement_csv(lines: list[tuple[str, str, str, str, str]], opening: str = OPENING_BANK) -> str:
    from decimal import Decimal

    balance = Decimal(opening)
    rows = ["Date,Description,Reference,Amount,Balance,Currency,Account"]
    for day, amount, ref, desc, _ in lines:
        balance += Decimal(amount)
        rows.append(f"{day},{desc},{ref},{amount},{balance},USD,{ACCOUNT_NUMBER}")
    return "\n".join(rows) + "\n"


def statement_ofx(
    lines: list[tuple[str, str, str, str, str]],
    opening: str = OPENING_BANK,
    *,
    start: str = "20260101",
    end: str = "20260131",
    currency: str = "USD",
    account_number: str = ACCOUNT_NUMBER,
) -> str:
    from decimal import Decimal

    closing = Decimal(opening) + sum((Decimal(x[1]) for x in lines), Decimal(0))
    body = []
    for day, amount, ref, desc, fitid in lines:
        trntype = "CHECK" if ref.isdigit() else ("CREDIT" if not amount.startswith("-") else "DEBIT")
        check = f"<CHECKNUM>{ref}\n" if ref.isdigit() else (f"<REFNUM>{ref}\n" if ref else "")
        body.append(
            f"<STMTTRN>\n<TRNTYPE>{trntype}\n<DTPOSTED>{day.replace('-', '')}\n<TRNAMT>{amount}\n"
            f"<FITID>{fitid}\n{check}<NAME>{desc}\n</STMTTRN>"
        )
    return (
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\nCHARSET:1252\n"
        "COMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
        "<OFX>\n<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>"
        "<DTSERVER>20260201120000<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>\n"
        "<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>\n"
        f"<STMTRS><CURDEF>{currency}\n<BANKACCTFROM><BANKID>121000358<ACCTID>{account_number}"
        "<ACCTTYPE>CHECKING</BANKACCTFROM>\n"
        f"<BANKTRANLIST><DTSTART>{start}<DTEND>{end}\n" + "\n".join(body) + "\n</BANKTRANLIST>\n"
        f"<LEDGERBAL><BALAMT>{closing}<DTASOF>{end}</LEDGERBAL>\n"
        "</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    )


def balanced() -> Sample:
    return Sample(
        account=account(balance="7749.00"),  # Clio's stated balance today includes the February deposit
        transactions=[ClioTrustTransaction.model_validate(t) for t in BALANCED_TXNS],
        matters=matters(),
        statement_csv=statement_csv(BALANCED_LINES),
        statement_ofx=statement_ofx(BALANCED_LINES),
    )


def unbalanced() -> Sample:
    return Sample(
        account=account(balance="8699.00"),
        transactions=[ClioTrustTransaction.model_validate(t) for t in UNBALANCED_TXNS],
        matters=matters(),
        statement_csv=statement_csv(UNBALANCED_LINES),
        statement_ofx=statement_ofx(UNBALANCED_LINES),
    )


def report_for(
    sample: Sample,
    fmt: str = "ofx",
    *,
    as_of: date = AS_OF,
    firm: str = "Archer & Co",
    generated_at: datetime | None = None,
) -> TrustReport:
    """``sample`` reconciled against its statement in ``fmt`` (``ofx`` or ``csv``), named ``jan.<fmt>``."""
    from clio_xero.trust.reconcile import ReconcileInput, reconcile
    from clio_xero.trust.statements import parse_statement

    text = sample.statement_csv if fmt == "csv" else sample.statement_ofx
    return reconcile(
        ReconcileInput(
            firm=firm,
            account=sample.account,
            as_of=as_of,
            transactions=sample.transactions,
            matters=sample.matters,
            statements=[parse_statement(f"jan.{fmt}", text.encode())],
            generated_at=generated_at,
        )
    )


def sample_reports() -> tuple[TrustReport, TrustReport]:
    """The balanced and the unbalanced January, reconciled against their OFX statements."""
    return report_for(balanced(), firm="Archer & Co (sample)"), report_for(unbalanced(), firm="Archer & Co (sample)")
