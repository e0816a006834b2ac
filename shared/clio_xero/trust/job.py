"""One trust report end to end: read Clio (and Xero), parse the statements, reconcile.

Shared by the CLI (``clio-xero trust report``) and the monthly run (``monthly.py``), so both
produce the same report from the same inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from clio_xero.clock import Clock
from clio_xero.trust.matching import MatchRules
from clio_xero.trust.model import BankStatement, TrustAccount
from clio_xero.trust.reconcile import ReconcileInput, TrustReport, reconcile
from clio_xero.trust.source import (
    ClioReader,
    ClioTrustBook,
    ClioTrustSource,
    SnapshotStore,
    XeroReader,
    pick_account,
    read_xero_view,
)
from clio_xero.trust.statements import CsvMapping, parse_statement


@dataclass(frozen=True)
class StatementFile:
    name: str
    data: bytes


@dataclass(frozen=True)
class ReportRequest:
    as_of: date
    account: str | None = None
    statements: Sequence[StatementFile] = ()
    firm: str | None = None
    xero_account: str | None = None  # compare with Xero: the Xero bank account's name/code/id ("" = by number)
    rules: MatchRules = field(default_factory=MatchRules)
    csv_mapping: CsvMapping = field(default_factory=CsvMapping)


def build_report(
    request: ReportRequest,
    *,
    clio: ClioReader,
    clock: Clock,
    snapshots: SnapshotStore | None = None,
    xero: XeroReader | None = None,
) -> TrustReport:
    # Statements first: a bad file fails before any API call is spent.
    statements = parse_statements(request)
    book = ClioTrustSource(clio, snapshots, clock).read()
    account = pick_account(book.accounts, request.account)
    return report_for_account(request, book, account, statements, clock=clock, xero=xero)


def parse_statements(request: ReportRequest) -> list[BankStatement]:
    return [parse_statement(f.name, f.data, csv_mapping=request.csv_mapping) for f in request.statements]


def report_for_account(
    request: ReportRequest,
    book: ClioTrustBook,
    account: TrustAccount,
    statements: Sequence[BankStatement],
    *,
    clock: Clock,
    xero: XeroReader | None,
) -> TrustReport:
    view = None
    if xero is not None and request.xero_account is not None:
        view = read_xero_view(xero, account, request.as_of, xero_account=request.xero_account or None)
    return reconcile(
        ReconcileInput(
            firm=request.firm or account.holder or "",
            account=account,
            as_of=request.as_of,
            transactions=book.transactions,
            matters=book.matters,
            statements=statements,
            xero=view,
            generated_at=clock.now(),
            rules=request.rules,
        )
    )
