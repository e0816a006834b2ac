"""Every figure and every listed item of the sample January against hand-computed expectations.

The sample (tools/clio_xero_tools/trust_samples.py, walked through in docs/trust-report.md):

Balanced: Clio book 5000 + 1000 + 2500 - 1200 - 300 - 800 + 750 - 200 = 6750.00 (the 999.00 of
3 Feb is after the as-of date). Statement: opening 5000.00, lines +1000 +2500 -1200 -300 -800 =
closing 6200.00. Deposit in transit 750.00 (29 Jan), uncleared cheque -200.00 (30 Jan): adjusted
bank 6200 + 750 - 200 = 6750.00 = book. Ledgers: Archer 5000 - 1200 + 750 - 200 = 4350.00,
Baker 1000 - 300 = 700.00 (closed matter), Chen 2500 - 800 = 1700.00; total 6750.00.

Unbalanced adds Dunn +100 / -150 (cheque 1027), two Clio deposits of 500.00 on 25 Jan, and on the
statement 100, -150, one 500.00 on 26 Jan, a -15.00 fee, and cheque 1025 paid at 310.00: book
7700.00, statement 6625.00, adjusted 6625 + 750 - 200 = 7175.00; difference -525.00 = fee -15.00
+ cheque -10.00 + ambiguous (500 - 1000) -500.00 + opening 0.00.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from clio_xero.trust.model import ClioTrustTransaction, TxnKind
from clio_xero.trust.reconcile import ReconcileInput, Status, TrustReport, reconcile
from clio_xero.trust.statements import parse_statement
from clio_xero_tools import trust_samples as ts

D = Decimal


def run(sample: ts.Sample, fmt: str, as_of: date = ts.AS_OF) -> TrustReport:
    return ts.report_for(sample, fmt, as_of=as_of)


@pytest.mark.parametrize("fmt", ["csv", "ofx"])
def test_a_period_that_balances_exactly(fmt: str) -> None:
    r = run(ts.balanced(), fmt)
    assert r.status is Status.BALANCED
    assert r.exit_code == 0
    assert r.reasons == []
    b = r.balances
    assert (b.clio_book, b.client_ledgers, b.bank_statement, b.bank_adjusted, b.xero) == (
        D("6750.00"),
        D("6750.00"),
        D("6200.00"),
        D("6750.00"),
        None,
    )
    assert r.differences.ledgers_minus_book == 0
    assert r.differences.bank_adjusted_minus_book == 0
    assert r.differences.clio_stated_minus_transactions == 0
    assert r.explanation is not None
    assert r.explanation.model_dump() == {
        "opening_difference": D("0.00"),
        "unmatched_statement_lines": D("0.00"),
        "amount_differences": D("0.00"),
        "ambiguous": D("0.00"),
    }
    assert [(t.id, t.date, t.amount, t.client) for t in r.deposits_in_transit] == [
        (7, date(2026, 1, 29), D("750.00"), "Alice Archer")
    ]
    assert [(t.id, t.amount, t.reference) for t in r.uncleared_payments] == [(8, D("-200.00"), "1026")]
    assert r.unmatched_statement_lines == []
    assert r.amount_differences == []
    assert r.ambiguous == []
    assert r.negative_ledgers == []
    assert [(a.client, a.matter, a.balance) for a in r.closed_matters_with_funds] == [
        ("Bob Baker", "00202-Baker", D("700.00"))
    ]
    assert r.matched_count == 5
    # OFX states its period; a CSV has none, so it starts on its first line's date.
    assert r.period_start == (date(2026, 1, 1) if fmt == "ofx" else date(2026, 1, 2))


def test_ledgers_by_client_and_matter_with_totals_by_kind() -> None:
    r = run(ts.balanced(), "csv")
    ledgers = {c.client: c for c in r.client_ledgers}
    assert list(ledgers) == ["Alice Archer", "Bob Baker", "Carol Chen"]
    archer = ledgers["Alice Archer"].totals
    assert (archer.receipts, archer.bill_payments, archer.disbursements, archer.transfers, archer.balance) == (
        D("5750.00"),
        D("-1200.00"),
        D("-200.00"),
        D("0.00"),
        D("4350.00"),
    )
    assert ledgers["Bob Baker"].totals.balance == D("700.00")
    assert ledgers["Bob Baker"].matters[0].status == "Closed"
    chen = ledgers["Carol Chen"].totals
    assert (chen.receipts, chen.bill_payments, chen.balance) == (D("2500.00"), D("-800.00"), D("1700.00"))


@pytest.mark.parametrize("fmt", ["csv", "ofx"])
def test_an_unbalanced_period_lists_every_item_that_explains_it(fmt: str) -> None:
    r = run(ts.unbalanced(), fmt)
    assert r.status is Status.OUT_OF_BALANCE
    assert r.exit_code == 1
    b = r.balances
    assert (b.clio_book, b.client_ledgers, b.bank_statement, b.bank_adjusted) == (
        D("7700.00"),
        D("7700.00"),
        D("6625.00"),
        D("7175.00"),
    )
    assert r.differences.bank_adjusted_minus_book == D("-525.00")
    assert r.explanation is not None
    assert r.explanation.model_dump() == {
        "opening_difference": D("0.00"),
        "unmatched_statement_lines": D("-15.00"),
        "amount_differences": D("-10.00"),
        "ambiguous": D("-500.00"),
    }
    assert [(x.date, x.amount, x.description) for x in r.unmatched_statement_lines] == [
        (date(2026, 1, 31), D("-15.00"), "ACCOUNT FEE")
    ]
    fee_line = 10 if fmt == "csv" else r.unmatched_statement_lines[0].line
    assert r.unmatched_statement_lines[0].line == fee_line
    assert r.unmatched_statement_lines[0].file == f"jan.{fmt}"
    [diff] = r.amount_differences
    assert (diff.line.reference, diff.line.amount, diff.transaction.id, diff.transaction.amount, diff.difference) == (
        "1025",
        D("-310.00"),
        5,
        D("-300.00"),
        D("-10.00"),
    )
    [group] = r.ambiguous
    assert [x.amount for x in group.lines] == [D("500.00")]
    assert [t.id for t in group.transactions] == [12, 13]
    assert group.difference == D("-500.00")
    assert [(t.id, t.amount) for t in r.deposits_in_transit] == [(7, D("750.00"))]
    assert [(t.id, t.amount) for t in r.uncleared_payments] == [(8, D("-200.00"))]
    assert [(a.level, a.client, a.matter, a.balance) for a in r.negative_ledgers] == [
        ("client", "Dave Dunn", "", D("-50.00")),
        ("matter", "Dave Dunn", "00204-Dunn", D("-50.00")),
    ]
    dunn = next(c for c in r.client_ledgers if c.client == "Dave Dunn").matters[0]
    assert (dunn.lowest_balance, dunn.lowest_on) == (D("-50.00"), date(2026, 1, 9))
    assert r.reasons == [
        "adjusted bank balance 7,175.00, Clio's trust book 7,700.00",
        "2 client or matter ledger(s) negative",
    ]


def test_a_negative_ledger_alone_fails_a_balanced_bank() -> None:
    sample = ts.balanced()
    overdraw = ClioTrustTransaction.model_validate(
        {**ts.BALANCED_TXNS[4], "id": 50, "amount": "-1000.00", "confirmation": "", "date": "2026-01-31"}
    )
    r = reconcile(
        ReconcileInput(
            firm="f",
            account=ts.account(),
            as_of=ts.AS_OF,
            transactions=[*sample.transactions, overdraw],
            matters=sample.matters,
        )
    )
    assert r.balances.clio_book == D("5750.00")
    assert [(a.level, a.matter, a.balance) for a in r.negative_ledgers] == [
        ("client", "", D("-300.00")),
        ("matter", "00202-Baker", D("-300.00")),
    ]
    assert r.status is Status.OUT_OF_BALANCE
    assert r.notes[0].startswith("No bank statement given")


def test_money_with_no_client_is_a_ledger_difference() -> None:
    sample = ts.balanced()
    stray = sample.transactions[0].model_copy(update={"id": 60, "client_id": None, "matter_id": None})
    r = reconcile(
        ReconcileInput(
            firm="f", account=ts.account(), as_of=ts.AS_OF, transactions=[*sample.transactions, stray], matters=[]
        )
    )
    assert r.balances.clio_book == D("11750.00")
    assert r.balances.client_ledgers == D("6750.00")
    assert r.differences.ledgers_minus_book == D("-5000.00")
    assert r.status is Status.OUT_OF_BALANCE


def test_clio_stated_balance_disagreeing_with_its_transactions_is_reported() -> None:
    sample = ts.balanced()
    r = reconcile(
        ReconcileInput(
            firm="f",
            account=ts.account(balance="7000.00"),
            as_of=ts.AS_OF,
            transactions=sample.transactions,
            matters=sample.matters,
        )
    )
    assert r.differences.clio_stated_minus_transactions == D("-749.00")
    assert "transactions are missing" in r.reasons[0]


def test_an_earlier_as_of_date_cuts_both_sides() -> None:
    r = run(ts.balanced(), "csv", as_of=date(2026, 1, 15))
    # Clio up to 15 Jan: 5000 + 1000 + 2500 - 1200 - 300 = 7000; bank up to 15 Jan: 5000 + 1000 + 2500 - 1200 = 7300.
    assert r.balances.clio_book == D("7000.00")
    assert r.balances.bank_statement == D("7300.00")
    assert [(t.id, t.amount) for t in r.uncleared_payments] == [(5, D("-300.00"))]
    assert r.balances.bank_adjusted == D("7000.00")
    assert r.status is Status.BALANCED


def test_kinds() -> None:
    kinds = {t.id: t.kind for t in ts.unbalanced().transactions}
    assert kinds[1] is TxnKind.RECEIPT
    assert kinds[4] is TxnKind.BILL_PAYMENT
    assert kinds[5] is TxnKind.DISBURSEMENT
    moved = ts.unbalanced().transactions[0].model_copy(update={"transaction_type": "Transfer"})
    assert moved.kind is TxnKind.TRANSFER


def test_transfers_between_ledgers_never_reach_the_bank() -> None:
    sample = ts.balanced()
    base = ts.BALANCED_TXNS[0]
    moved = [
        {**base, "id": 70, "date": "2026-01-22", "amount": "-400.00", "transaction_type": "Transfer"},
        {
            **base,
            "id": 71,
            "date": "2026-01-22",
            "amount": "400.00",
            "transaction_type": "Transfer",
            "client": {"id": 103, "name": "Carol Chen"},
            "matter": {"id": 203, "display_number": "00203-Chen"},
        },
    ]
    txns = [*sample.transactions, *(ClioTrustTransaction.model_validate(m) for m in moved)]
    stmt = parse_statement("jan.csv", sample.statement_csv.encode())
    r = reconcile(
        ReconcileInput(
            firm="f", account=ts.account(), as_of=ts.AS_OF, transactions=txns, matters=sample.matters, statements=[stmt]
        )
    )
    assert r.status is Status.BALANCED
    assert [t.id for t in r.deposits_in_transit] == [7]
    assert [t.id for t in r.uncleared_payments] == [8]
    ledgers = {c.client: c.totals for c in r.client_ledgers}
    assert (ledgers["Alice Archer"].transfers, ledgers["Alice Archer"].balance) == (D("-400.00"), D("3950.00"))
    assert (ledgers["Carol Chen"].transfers, ledgers["Carol Chen"].balance) == (D("400.00"), D("2100.00"))
