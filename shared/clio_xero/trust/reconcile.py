"""The three-way reconciliation of one trust account as of a date: pure, exact, explained.

Inputs are what ``source.py`` read from Clio (and Xero) and what ``statements.py`` parsed; the
output is a :class:`TrustReport` that every renderer draws. What is compared and how each figure is
made is in docs/trust-report.md; the identity the explanation rests on is::

    adjusted bank - Clio book = opening difference + unmatched statement lines
                                + amount differences (bank - Clio) + ambiguous (bank - Clio)

where adjusted bank = statement balance + deposits in transit + uncleared payments. Every term is
computed from its own items and the identity is checked, so a report can never look balanced
because a residual was folded into a total.
"""

from __future__ import annotations

import enum
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from clio_xero.errors import ConfigurationError, InputFileError
from clio_xero.trust.matching import MatchRules, match
from clio_xero.trust.model import (
    BankStatement,
    ClioMatter,
    ClioTrustTransaction,
    MatterStatus,
    StatementLine,
    TrustAccount,
    TxnKind,
    XeroAccountView,
)

ZERO = Decimal("0.00")


class Status(enum.StrEnum):
    BALANCED = "balanced"
    OUT_OF_BALANCE = "out_of_balance"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class TxnItem(_Frozen):
    """A Clio trust transaction as the report lists it."""

    id: int
    date: date
    amount: Decimal
    kind: TxnKind
    client: str
    matter: str
    reference: str
    description: str


class LineItem(_Frozen):
    """A statement line as the report lists it (file and line number, so a person can find it)."""

    file: str
    line: int
    date: date
    amount: Decimal
    reference: str
    description: str


class AmountDifference(_Frozen):
    line: LineItem
    transaction: TxnItem
    difference: Decimal  # bank - Clio


class AmbiguousGroup(_Frozen):
    lines: list[LineItem]
    transactions: list[TxnItem]
    difference: Decimal  # lines - transactions dated in the period


class LedgerTotals(_Frozen):
    receipts: Decimal = ZERO
    bill_payments: Decimal = ZERO
    disbursements: Decimal = ZERO
    transfers: Decimal = ZERO
    balance: Decimal = ZERO


class MatterLedger(_Frozen):
    matter_id: int | None  # None: client money not on a matter
    matter: str
    status: str
    totals: LedgerTotals
    lowest_balance: Decimal
    lowest_on: date | None


class ClientLedger(_Frozen):
    client_id: int | None  # None: transactions with no client (Clio requires one; listed if seen)
    client: str
    totals: LedgerTotals
    matters: list[MatterLedger]


class LedgerAlert(_Frozen):
    level: str  # "client" or "matter"
    client: str
    matter: str
    balance: Decimal


class Balances(_Frozen):
    clio_book: Decimal
    client_ledgers: Decimal
    bank_statement: Decimal | None
    bank_adjusted: Decimal | None
    xero: Decimal | None


class Differences(_Frozen):
    ledgers_minus_book: Decimal
    bank_adjusted_minus_book: Decimal | None
    xero_minus_book: Decimal | None
    clio_stated_minus_transactions: Decimal | None  # Clio's own account balance vs its transactions


class Explanation(_Frozen):
    """The terms that make up ``bank_adjusted - clio_book`` (each from its own items)."""

    opening_difference: Decimal
    unmatched_statement_lines: Decimal
    amount_differences: Decimal
    ambiguous: Decimal


class TrustReport(_Frozen):
    firm: str
    account_id: int
    account_name: str
    account_number: str
    currency: str
    as_of: date
    period_start: date | None
    generated_at: datetime
    statement_files: list[str]
    xero_account: str | None
    status: Status
    reasons: list[str]
    notes: list[str]
    balances: Balances
    differences: Differences
    explanation: Explanation | None
    deposits_in_transit: list[TxnItem]
    uncleared_payments: list[TxnItem]
    unmatched_statement_lines: list[LineItem]
    amount_differences: list[AmountDifference]
    ambiguous: list[AmbiguousGroup]
    negative_ledgers: list[LedgerAlert]
    closed_matters_with_funds: list[LedgerAlert]
    client_ledgers: list[ClientLedger]
    matched_count: int

    @property
    def exit_code(self) -> int:
        """0 when everything compared agrees and no ledger is negative; 1 otherwise."""
        return 0 if self.status is Status.BALANCED else 1


@dataclass(frozen=True)
class ReconcileInput:
    firm: str
    account: TrustAccount
    as_of: date
    transactions: Sequence[ClioTrustTransaction]  # every transaction Clio has on the account
    matters: Sequence[ClioMatter]
    statements: Sequence[BankStatement] = ()
    xero: XeroAccountView | None = None
    generated_at: datetime | None = None
    rules: MatchRules = field(default_factory=MatchRules)


def reconcile(data: ReconcileInput) -> TrustReport:
    account, as_of = data.account, data.as_of
    all_txns = [t for t in data.transactions if t.bank_account_id == account.id]
    txns = [t for t in all_txns if t.date <= as_of]
    statements = check_statements(data.statements, account, as_of)
    matters = {m.id: m for m in data.matters}
    book = sum((t.amount for t in txns), ZERO)
    clients = client_ledgers(txns, matters)
    # Money with no client is in the book but in no client's ledger: it shows as a difference.
    ledgers_total = sum((c.totals.balance for c in clients if c.client_id is not None), ZERO)
    reasons: list[str] = []
    notes: list[str] = []

    stated_diff = None
    if account.balance is not None:
        stated_diff = account.balance - sum((t.amount for t in all_txns), ZERO)
        if stated_diff:
            reasons.append(
                f"Clio states the account balance as {account.balance:,.2f} but its transactions add up to "
                f"{account.balance - stated_diff:,.2f}: transactions are missing from what was read"
            )
    if ledgers_total != book:
        reasons.append(f"client ledgers total {ledgers_total:,.2f}, Clio's trust book {book:,.2f}")

    bank = _bank_side(statements, txns, as_of, data.rules) if statements else None
    if bank is None:
        notes.append(
            "No bank statement given: the bank side was not compared (this is not a three-way reconciliation)."
        )
    elif bank.adjusted != book:
        reasons.append(f"adjusted bank balance {bank.adjusted:,.2f}, Clio's trust book {book:,.2f}")
    notes += _statement_notes(statements, as_of)

    xero_diff = _xero_difference(data.xero, account, book, reasons)

    negatives = _negative_ledgers(clients)
    if negatives:
        reasons.append(f"{len(negatives)} client or matter ledger(s) negative")
    closed = [
        LedgerAlert(level="matter", client=c.client, matter=m.matter, balance=m.totals.balance)
        for c in clients
        for m in c.matters
        if m.status == MatterStatus.CLOSED.value and m.totals.balance != ZERO
    ]
    if closed:
        notes.append(f"{len(closed)} closed matter(s) still hold trust money.")

    return TrustReport(
        firm=data.firm,
        account_id=account.id,
        account_name=account.name,
        account_number=account.account_number or "",
        currency=account.currency,
        as_of=as_of,
        period_start=statements[0].start if statements else None,
        generated_at=data.generated_at or datetime.now().astimezone(),
        statement_files=[s.file for s in statements],
        xero_account=data.xero.name if data.xero else None,
        status=Status.OUT_OF_BALANCE if reasons else Status.BALANCED,
        reasons=reasons,
        notes=notes,
        balances=Balances(
            clio_book=book,
            client_ledgers=ledgers_total,
            bank_statement=bank.statement_balance if bank else None,
            bank_adjusted=bank.adjusted if bank else None,
            xero=data.xero.closing_balance if data.xero else None,
        ),
        differences=Differences(
            ledgers_minus_book=ledgers_total - book,
            bank_adjusted_minus_book=bank.adjusted - book if bank else None,
            xero_minus_book=xero_diff,
            clio_stated_minus_transactions=stated_diff,
        ),
        explanation=bank.explanation if bank else None,
        deposits_in_transit=bank.deposits_in_transit if bank else [],
        uncleared_payments=bank.uncleared_payments if bank else [],
        unmatched_statement_lines=bank.unmatched_lines if bank else [],
        amount_differences=bank.amount_differences if bank else [],
        ambiguous=bank.ambiguous if bank else [],
        negative_ledgers=negatives,
        closed_matters_with_funds=closed,
        client_ledgers=clients,
        matched_count=bank.matched if bank else 0,
    )


def _statement_notes(statements: Sequence[BankStatement], as_of: date) -> list[str]:
    notes = []
    if statements and not statements[0].period_stated:
        notes.append(
            f"{statements[0].file} states no period: it is taken to start on its first line's date, "
            f"{statements[0].start}."
        )
    if statements and statements[-1].end < as_of:
        notes.append(
            f"The statement ends on {statements[-1].end}, before the as-of date: later Clio items count as in transit."
        )
    return notes


def _xero_difference(
    xero: XeroAccountView | None, account: TrustAccount, book: Decimal, reasons: list[str]
) -> Decimal | None:
    if xero is None:
        return None
    if xero.currency and account.currency and xero.currency != account.currency:
        raise ConfigurationError(
            f"Xero account {xero.name} is in {xero.currency}, the Clio trust account in {account.currency}"
        )
    difference = xero.closing_balance - book
    if difference:
        reasons.append(f"Xero shows {xero.closing_balance:,.2f} for {xero.name}, Clio's trust book {book:,.2f}")
    return difference


# ----------------------------------------------------------------------------- statements
def check_statements(statements: Sequence[BankStatement], account: TrustAccount, as_of: date) -> list[BankStatement]:
    """The statements in date order, refused when they are for another account or currency,
    overlap, leave a gap, or start after the as-of date (docs/trust-report.md, "Statement files")."""
    ordered = sorted(statements, key=lambda s: (s.start, s.end, s.file))
    for stmt in ordered:
        if stmt.currency and account.currency and stmt.currency.upper() != account.currency.upper():
            raise InputFileError(
                f"statement is in {stmt.currency}; the trust account {account.name!r} is in {account.currency}",
                path=stmt.file,
            )
        if (
            stmt.account_number
            and account.account_number
            and not same_account(stmt.account_number, account.account_number)
        ):
            raise InputFileError(
                f"statement is for account {stmt.account_number}; the trust account {account.name!r} is "
                f"{account.account_number}",
                path=stmt.file,
            )
        if stmt.start > as_of:
            raise InputFileError(f"statement starts on {stmt.start}, after the as-of date {as_of}", path=stmt.file)
    for previous, current in itertools.pairwise(ordered):
        shared_ids = {x.bank_id for x in previous.lines if x.bank_id} & {x.bank_id for x in current.lines if x.bank_id}
        if current.start < previous.end or shared_ids:
            first = next((x for x in current.lines if x.bank_id in shared_ids), None)
            raise InputFileError(
                f"statement period {current.start}..{current.end} overlaps {previous.file} "
                f"({previous.start}..{previous.end})",
                path=current.file,
                line=first.line if first else None,
            )
        # A CSV states no period (first to last line), so only the balances can show a gap there.
        both_stated = previous.period_stated and current.period_stated
        if both_stated and current.start > previous.end + timedelta(days=1):
            raise InputFileError(
                f"statement starts on {current.start} but {previous.file} ends on {previous.end}: "
                "the days between are missing",
                path=current.file,
            )
        if current.opening_balance != previous.closing_balance:
            raise InputFileError(
                f"opening balance {current.opening_balance} (closing balance less its lines) does not carry on "
                f"from {previous.file}'s closing balance {previous.closing_balance}",
                path=current.file,
            )
    return ordered


def same_account(statement_number: str, clio_number: str) -> bool:
    """Equal once spaces, dashes and masks go; or one ends with the other (banks shorten), 4+ characters."""
    # Masked digits ("XXXX6789", "****6789") are dropped: only the digits shown are compared.
    a, b = ("".join(ch for ch in n if ch.isalnum()).upper().lstrip("X") for n in (statement_number, clio_number))
    short, long_ = sorted((a, b), key=len)
    return a == b or (len(short) >= 4 and long_.endswith(short))


@dataclass
class _BankSide:
    statement_balance: Decimal
    adjusted: Decimal
    explanation: Explanation
    deposits_in_transit: list[TxnItem]
    uncleared_payments: list[TxnItem]
    unmatched_lines: list[LineItem]
    amount_differences: list[AmountDifference]
    ambiguous: list[AmbiguousGroup]
    matched: int


def _bank_side(
    statements: Sequence[BankStatement], txns: Sequence[ClioTrustTransaction], as_of: date, rules: MatchRules
) -> _BankSide:
    start = statements[0].start
    all_lines = [x for s in statements for x in s.lines]
    lines = [x for x in all_lines if x.date <= as_of]
    statement_balance = statements[-1].closing_balance - sum((x.amount for x in all_lines if x.date > as_of), ZERO)
    opening = statements[0].opening_balance
    lookback = start - timedelta(days=max(rules.date_window_days, rules.reference_days_after))
    internal = internal_transfers(txns)
    candidates = [t for t in txns if t.date >= lookback and t.id not in internal]
    result = match(lines, candidates, rules)

    pre_period = ZERO  # Clio items from before the period that the statement shows clearing in it
    for _, txn in (*result.matched, *result.amount_differs):
        if txn.date < start:
            pre_period += txn.amount
    for _, group_txns in result.ambiguous:
        pre_period += sum((t.amount for t in group_txns if t.date < start), ZERO)
    timing = [t for t in result.unmatched_transactions if t.date >= start]
    in_transit = [_txn_item(t) for t in timing if t.amount > 0]
    uncleared = [_txn_item(t) for t in timing if t.amount < 0]
    adjusted = statement_balance + sum((t.amount for t in timing), ZERO)
    book_before = sum((t.amount for t in txns if t.date < start), ZERO)

    differs = [
        AmountDifference(line=_line_item(x), transaction=_txn_item(t), difference=x.amount - t.amount)
        for x, t in result.amount_differs
    ]
    groups = [
        AmbiguousGroup(
            lines=[_line_item(x) for x in gl],
            transactions=[_txn_item(t) for t in gt],
            difference=sum((x.amount for x in gl), ZERO) - sum((t.amount for t in gt), ZERO),
        )
        for gl, gt in result.ambiguous
    ]
    explanation = Explanation(
        opening_difference=opening + pre_period - book_before,
        unmatched_statement_lines=sum((x.amount for x in result.unmatched_lines), ZERO),
        amount_differences=sum((d.difference for d in differs), ZERO),
        ambiguous=sum((g.difference for g in groups), ZERO),
    )
    book = sum((t.amount for t in txns), ZERO)
    explained = sum(explanation.model_dump().values(), ZERO)
    if adjusted - book != explained:  # the identity in the module docstring; a bug if it breaks
        raise AssertionError(f"trust reconciliation identity broken: {adjusted - book} != {explained}")
    return _BankSide(
        statement_balance=statement_balance,
        adjusted=adjusted,
        explanation=explanation,
        deposits_in_transit=in_transit,
        uncleared_payments=uncleared,
        unmatched_lines=[_line_item(x) for x in result.unmatched_lines],
        amount_differences=differs,
        ambiguous=groups,
        matched=len(result.matched),
    )


def internal_transfers(txns: Iterable[ClioTrustTransaction]) -> set[int]:
    """Ids of transfers between ledgers inside the account: they never reach the bank.

    A transfer out of one client or matter and into another on the same day for the same amount
    nets to nothing at the bank. Transfers are paired by (date, amount) and sign, in id order; one
    left without a partner (money moved to another account) is matched against the statement.
    """
    groups: dict[tuple[date, Decimal], tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for t in sorted(txns, key=lambda x: x.id):
        if t.kind is TxnKind.TRANSFER and t.amount:
            ins, outs = groups[(t.date, abs(t.amount))]
            (ins if t.amount > 0 else outs).append(t.id)
    paired: set[int] = set()
    for ins, outs in groups.values():
        n = min(len(ins), len(outs))
        paired.update(ins[:n] + outs[:n])
    return paired


# ----------------------------------------------------------------------------- ledgers
def client_ledgers(txns: Iterable[ClioTrustTransaction], matters: dict[int, ClioMatter]) -> list[ClientLedger]:
    """Per client, per matter: totals by kind and the balance; the lowest running balance too."""
    per_matter: dict[tuple[int | None, int | None], list[ClioTrustTransaction]] = defaultdict(list)
    names: dict[int | None, str] = {None: "(no client)"}
    matter_labels: dict[int | None, str] = {None: "(no matter)"}
    for t in txns:
        client_id, matter_id = t.client_id, t.matter_id
        per_matter[(client_id, matter_id)].append(t)
        if client_id is not None and client_id not in names:
            names[client_id] = t.client_label
        if matter_id is not None and matter_id not in matter_labels:
            known = matters.get(matter_id)
            label = (known.display_number if known else None) or t.matter_number or f"Matter {matter_id}"
            matter_labels[matter_id] = label
    by_client: dict[int | None, list[MatterLedger]] = defaultdict(list)
    for (client_id, matter_id), items in per_matter.items():
        known = matters.get(matter_id) if matter_id is not None else None
        status = known.status.value if known and known.status else ""
        by_client[client_id].append(_matter_ledger(matter_id, matter_labels[matter_id], status, items))
    ledgers = [
        ClientLedger(
            client_id=client_id,
            client=names[client_id],
            totals=_sum_totals(m.totals for m in mls),
            matters=sorted(mls, key=lambda m: (m.matter_id is None, m.matter)),
        )
        for client_id, mls in by_client.items()
    ]
    return sorted(ledgers, key=lambda c: (c.client.lower(), c.client_id or 0))


def _matter_ledger(matter_id: int | None, label: str, status: str, items: list[ClioTrustTransaction]) -> MatterLedger:
    sums: dict[TxnKind, Decimal] = defaultdict(lambda: ZERO)
    running, lowest, lowest_on = ZERO, ZERO, None
    for t in sorted(items, key=lambda x: (x.date, x.id)):
        sums[t.kind] += t.amount
        running += t.amount
        if running < lowest:
            lowest, lowest_on = running, t.date
    totals = LedgerTotals(
        receipts=sums[TxnKind.RECEIPT],
        bill_payments=sums[TxnKind.BILL_PAYMENT],
        disbursements=sums[TxnKind.DISBURSEMENT],
        transfers=sums[TxnKind.TRANSFER],
        balance=running,
    )
    return MatterLedger(
        matter_id=matter_id, matter=label, status=status, totals=totals, lowest_balance=lowest, lowest_on=lowest_on
    )


def _sum_totals(parts: Iterable[LedgerTotals]) -> LedgerTotals:
    fields = ("receipts", "bill_payments", "disbursements", "transfers", "balance")
    acc = dict.fromkeys(fields, ZERO)
    for p in parts:
        for f in fields:
            acc[f] += getattr(p, f)
    return LedgerTotals(**acc)


def _negative_ledgers(clients: Sequence[ClientLedger]) -> list[LedgerAlert]:
    alerts: list[LedgerAlert] = []
    for c in clients:
        if c.totals.balance < 0:
            alerts.append(LedgerAlert(level="client", client=c.client, matter="", balance=c.totals.balance))
        alerts.extend(
            LedgerAlert(level="matter", client=c.client, matter=m.matter, balance=m.totals.balance)
            for m in c.matters
            if m.totals.balance < 0
        )
    return alerts


def _txn_item(t: ClioTrustTransaction) -> TxnItem:
    return TxnItem(
        id=t.id,
        date=t.date,
        amount=t.amount,
        kind=t.kind,
        client=t.client_label,
        matter=(t.matter_number or f"Matter {t.matter_id}") if t.matter_id is not None else "",
        reference=t.confirmation or "",
        description=t.description or "",
    )


def _line_item(x: StatementLine) -> LineItem:
    return LineItem(
        file=x.file, line=x.line, date=x.date, amount=x.amount, reference=x.reference, description=x.description
    )
