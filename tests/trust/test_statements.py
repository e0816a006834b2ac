"""Statement files: both formats read the same figures; bad input names the file and line."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from clio_xero.errors import InputFileError
from clio_xero.trust.reconcile import ReconcileInput, reconcile
from clio_xero.trust.statements import CsvMapping, parse_statement
from clio_xero_tools import trust_samples as ts

D = Decimal


def test_ofx_and_csv_read_the_same_lines() -> None:
    ofx = parse_statement("jan.qfx", ts.statement_ofx(ts.BALANCED_LINES).encode())
    csv = parse_statement("jan.csv", ts.statement_csv(ts.BALANCED_LINES).encode())
    assert (ofx.start, ofx.end, ofx.closing_balance, ofx.currency, ofx.account_number) == (
        date(2026, 1, 1),
        date(2026, 1, 31),
        D("6200.00"),
        "USD",
        ts.ACCOUNT_NUMBER,
    )
    assert ofx.opening_balance == csv.opening_balance == D("5000.00")
    assert csv.closing_balance == D("6200.00")
    assert [(x.date, x.amount, x.reference) for x in ofx.lines] == [(x.date, x.amount, x.reference) for x in csv.lines]
    assert [x.line for x in csv.lines] == [2, 3, 4, 5, 6]
    assert ofx.lines[2].reference == "1024"  # CHECKNUM
    assert ofx.lines[1].reference == "DEP-77"  # REFNUM


def test_csv_newest_first_with_debit_and_credit_columns() -> None:
    text = (
        "Posted Date,Details,Money Out,Money In,Balance\n"
        "2026-01-21,TRANSFER,800.00,,6200.00\n"
        "2026-01-06,DEPOSIT,,2500.00,7000.00\n"
        "2026-01-02,DEPOSIT,,1000.00,4500.00\n"
    )
    stmt = parse_statement("bank.csv", text.encode())
    assert [x.amount for x in stmt.lines] == [D("1000.00"), D("2500.00"), D("-800.00")]
    assert stmt.closing_balance == D("6200.00")
    assert stmt.opening_balance == D("3500.00")


def test_csv_day_first_dates_with_an_explicit_format() -> None:
    text = "Date,Amount,Balance\n02/01/2026,10.00,10.00\n"
    with pytest.raises(InputFileError, match=r"bank\.csv:2: date '02/01/2026' does not match"):
        parse_statement("bank.csv", text.encode())
    stmt = parse_statement("bank.csv", text.encode(), csv_mapping=CsvMapping(date_format="%d/%m/%Y"))
    assert stmt.lines[0].date == date(2026, 1, 2)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.csv", "Date,Amount,Balance\n2026-01-02,12.x0,12.00\n", r"a\.csv:2: amount '12\.x0' is not an amount"),
        ("a.csv", "Date,Amount\n2026-01-02,1.00,\n", r"a\.csv:1: missing column\(s\) balance"),
        (
            "a.csv",
            "Date,Amount,Balance\n2026-01-02,1.00,1.00\n2026-01-03,2.00,4.00\n",
            r"a\.csv:3: balance 4\.00 should be 3\.00",
        ),
        ("a.csv", "", r"a\.csv:1: empty file"),
        ("a.csv", "Date,Amount,Balance\n", r"a\.csv: the statement has no transaction lines"),
        ("a.txt", "x", r"a\.txt: unknown statement format"),
        ("a.ofx", "hello\n", r"a\.ofx:1: not an OFX file"),
    ],
)
def test_malformed_files_name_the_file_and_line(name: str, text: str, message: str) -> None:
    with pytest.raises(InputFileError, match=message):
        parse_statement(name, text.encode())


def test_malformed_ofx_amount_names_its_line() -> None:
    text = ts.statement_ofx(ts.BALANCED_LINES).replace("<TRNAMT>-1200.00", "<TRNAMT>-12x0.00")
    bad_line = text.splitlines().index("<TRNAMT>-12x0.00") + 1
    with pytest.raises(InputFileError, match=rf"jan\.ofx:{bad_line}: malformed OFX") as caught:
        parse_statement("jan.ofx", text.encode())
    assert caught.value.path == "jan.ofx"
    assert caught.value.line == bad_line


def _reconcile(*files: tuple[str, str]) -> None:
    sample = ts.balanced()
    reconcile(
        ReconcileInput(
            firm="f",
            account=sample.account,
            as_of=ts.AS_OF,
            transactions=sample.transactions,
            matters=sample.matters,
            statements=[parse_statement(n, t.encode()) for n, t in files],
        )
    )


def test_a_statement_for_another_account_is_refused() -> None:
    text = ts.statement_ofx(ts.BALANCED_LINES, account_number="999988887777")
    with pytest.raises(InputFileError, match=r"other\.ofx: statement is for account 999988887777"):
        _reconcile(("other.ofx", text))


def test_a_masked_account_number_is_the_same_account() -> None:
    _reconcile(("masked.ofx", ts.statement_ofx(ts.BALANCED_LINES, account_number="XXXXXXXX6789")))


def test_a_statement_in_another_currency_is_refused() -> None:
    with pytest.raises(InputFileError, match=r"eur\.ofx: statement is in EUR; .* is in USD"):
        _reconcile(("eur.ofx", ts.statement_ofx(ts.BALANCED_LINES, currency="EUR")))
    csv = ts.statement_csv(ts.BALANCED_LINES).replace(",USD,", ",GBP,")
    with pytest.raises(InputFileError, match=r"gbp\.csv: statement is in GBP"):
        _reconcile(("gbp.csv", csv))


def test_overlapping_statements_are_refused() -> None:
    first = ts.statement_ofx(ts.BALANCED_LINES[:3], start="20260101", end="20260115")
    second = ts.statement_ofx(ts.BALANCED_LINES[2:], "6300.00", start="20260112", end="20260131")
    with pytest.raises(InputFileError, match=r"b\.ofx:\d+: statement period 2026-01-12\.\.2026-01-31 overlaps a\.ofx"):
        _reconcile(("a.ofx", first), ("b.ofx", second))


def test_a_gap_between_statements_is_refused() -> None:
    first = ts.statement_ofx(ts.BALANCED_LINES[:2], start="20260101", end="20260110")
    second = ts.statement_ofx(ts.BALANCED_LINES[2:], "8500.00", start="20260112", end="20260131")
    with pytest.raises(InputFileError, match=r"b\.ofx: statement starts on 2026-01-12 but a\.ofx ends on 2026-01-10"):
        _reconcile(("a.ofx", first), ("b.ofx", second))


def test_two_contiguous_statements_reconcile_like_one() -> None:
    first = ts.statement_ofx(ts.BALANCED_LINES[:2], start="20260101", end="20260110")
    second = ts.statement_ofx(ts.BALANCED_LINES[2:], "8500.00", start="20260111", end="20260131")
    _reconcile(("b.ofx", second), ("a.ofx", first))  # order given does not matter
    broken = ts.statement_ofx(ts.BALANCED_LINES[2:], "8400.00", start="20260111", end="20260131")
    with pytest.raises(InputFileError, match=r"b\.ofx: opening balance 8400\.00 .* does not carry on from a\.ofx"):
        _reconcile(("a.ofx", first), ("b.ofx", broken))


def test_a_line_outside_the_stated_period_is_refused() -> None:
    text = ts.statement_ofx(ts.BALANCED_LINES, end="20260120")
    with pytest.raises(InputFileError, match=r"jan\.ofx:\d+: transaction dated 2026-01-21 is outside"):
        parse_statement("jan.ofx", text.encode())


def test_csv_months_carry_on_by_balance_not_by_dates() -> None:
    first = "Date,Amount,Balance\n2026-01-05,100.00,100.00\n2026-01-28,-10.00,90.00\n"
    second = "Date,Amount,Balance\n2026-02-02,5.00,95.00\n"
    a = parse_statement("a.csv", first.encode())
    b = parse_statement("b.csv", second.encode())
    assert (a.end, b.start, b.opening_balance) == (date(2026, 1, 28), date(2026, 2, 2), D("90.00"))
    missing = parse_statement("c.csv", b"Date,Amount,Balance\n2026-02-02,5.00,99.00\n")
    from clio_xero.trust.reconcile import check_statements

    assert [s.file for s in check_statements([b, a], ts.account(), date(2026, 2, 28))] == ["a.csv", "b.csv"]
    with pytest.raises(InputFileError, match=r"c\.csv: opening balance 94\.00 .* does not carry on from a\.csv"):
        check_statements([a, missing], ts.account(), date(2026, 2, 28))
