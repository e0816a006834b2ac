"""Bank statements for the trust account: OFX/QFX (through ofxtools) and CSV (stdlib csv).

Every problem is an :class:`~clio_xero.errors.InputFileError` naming the file and, where there is
one, the line: a statement we cannot read whole is never half-used (docs/trust-report.md,
"Statement files").

Why ofxtools: it is maintained (2026 release), pure Python with no dependencies (small in the
Lambda layer), reads both OFX 1.x SGML (what QFX files are) and OFX 2.x XML, and returns amounts
as ``Decimal``. ofxparse's last release is from 2021 and it pulls in BeautifulSoup.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import Any

from clio_xero.errors import InputFileError
from clio_xero.trust.model import BankStatement, StatementLine, money

OFX_SUFFIXES = (".ofx", ".qfx")
CSV_SUFFIXES = (".csv",)
MAX_STATEMENT_BYTES = 50 * 1024 * 1024
ISO_DATE = "%Y-%m-%d"


def parse_statement(name: str, data: bytes, *, csv_mapping: CsvMapping | None = None) -> BankStatement:
    """Parse one statement file by its name's suffix (``.ofx``/``.qfx`` or ``.csv``)."""
    suffix = PurePath(name).suffix.lower()
    if len(data) > MAX_STATEMENT_BYTES:
        raise InputFileError(f"larger than {MAX_STATEMENT_BYTES // (1024 * 1024)} MB", path=name)
    if suffix in OFX_SUFFIXES:
        return parse_ofx(name, data)
    if suffix in CSV_SUFFIXES:
        return parse_csv(name, data, csv_mapping or CsvMapping())
    raise InputFileError("unknown statement format: use an .ofx, .qfx or .csv file", path=name)


# ----------------------------------------------------------------------------- OFX / QFX
def parse_ofx(name: str, data: bytes) -> BankStatement:
    from ofxtools.header import OFXHeaderError
    from ofxtools.Parser import OFXTree, ParseError

    text = data.decode("latin-1")  # OFX 1.x is CHARSET 1252/ASCII; only used to find line numbers
    raw_lines = text.splitlines()
    tree = OFXTree()
    try:
        tree.parse(io.BytesIO(data))
        ofx = tree.convert()
    except OFXHeaderError as exc:
        raise InputFileError(f"not an OFX file: {str(exc).splitlines()[0]}", path=name, line=1) from None
    except (ParseError, InvalidOperation, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        line = _first_bad_ofx_line(raw_lines)
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(f"malformed OFX: {detail}", path=name, line=line) from None
    statements = list(getattr(ofx, "statements", None) or [])
    if len(statements) != 1:
        raise InputFileError(f"expected one bank statement in the file, found {len(statements)}", path=name)
    stmt = statements[0]
    tranlist, ledger = getattr(stmt, "banktranlist", None), getattr(stmt, "ledgerbal", None)
    if tranlist is None or ledger is None:
        raise InputFileError("the statement has no transaction list or no ledger balance", path=name)
    locate = _fitid_locator(raw_lines)
    lines = [
        StatementLine(
            file=name,
            line=locate(str(t.fitid)),
            date=t.dtposted.date(),
            amount=money(t.trnamt),
            reference=str(t.checknum or t.refnum or ""),
            description=" ".join(str(x) for x in (t.name, t.memo) if x),
            bank_id=str(t.fitid),
        )
        for t in tranlist
    ]
    account = getattr(stmt, "account", None)
    start, end = tranlist.dtstart.date(), tranlist.dtend.date()
    for item in lines:
        if not start <= item.date <= end:
            raise InputFileError(
                f"transaction dated {item.date} is outside the statement period {start}..{end}",
                path=name,
                line=item.line,
            )
    return BankStatement(
        file=name,
        start=start,
        end=end,
        closing_balance=money(ledger.balamt),
        currency=str(stmt.curdef) if getattr(stmt, "curdef", None) else None,
        account_number=str(account.acctid) if account is not None and getattr(account, "acctid", None) else None,
        lines=lines,
    )


_OFX_AMOUNT = re.compile(r"<(TRNAMT|BALAMT)>([^<\r\n]*)", re.IGNORECASE)
_OFX_DATE = re.compile(r"<(DTPOSTED|DTSTART|DTEND|DTASOF)>([^<\r\n]*)", re.IGNORECASE)


def _first_bad_ofx_line(raw_lines: Sequence[str]) -> int | None:
    """Where ofxtools' error most likely is: the first amount or date that does not read.

    ofxtools reports what failed but not where; this finds the line for the error message only
    (the values themselves always come from ofxtools).
    """
    for number, text in enumerate(raw_lines, start=1):
        for match in _OFX_AMOUNT.finditer(text):
            try:
                Decimal(match.group(2).strip())
            except InvalidOperation:
                return number
        for match in _OFX_DATE.finditer(text):
            if not re.fullmatch(r"\d{8}(\d{6}(\.\d{3})?)?(\[[^\]]*\])?", match.group(2).strip()):
                return number
    return None


def _fitid_locator(raw_lines: Sequence[str]) -> Callable[[str], int]:
    where: dict[str, int] = {}
    for number, text in enumerate(raw_lines, start=1):
        for match in re.finditer(r"<FITID>([^<\r\n]*)", text, re.IGNORECASE):
            where.setdefault(match.group(1).strip(), number)
    return lambda fitid: where.get(fitid, 0)


# ----------------------------------------------------------------------------- CSV
@dataclass(frozen=True)
class CsvMapping:
    """Which CSV columns mean what (header names, compared case-insensitively; first found wins).

    A statement needs a date, either one signed amount column or a debit/credit pair, and a running
    balance (the closing balance is the balance on the last line by date; every line's balance is
    checked against the previous one plus its amount, so a missing or doubled line is caught).
    Reference, description, currency and account number are optional. Dates are ISO
    (``%Y-%m-%d``) unless ``date_format`` says otherwise: day/month order is never guessed.
    """

    date: tuple[str, ...] = ("date", "transaction date", "posted date", "posting date")
    amount: tuple[str, ...] = ("amount", "signed amount")
    debit: tuple[str, ...] = ("debit", "withdrawal", "withdrawals", "money out", "paid out")
    credit: tuple[str, ...] = ("credit", "deposit", "deposits", "money in", "paid in")
    balance: tuple[str, ...] = ("balance", "running balance", "ledger balance")
    reference: tuple[str, ...] = ("reference", "ref", "cheque number", "check number", "cheque no", "check no")
    description: tuple[str, ...] = ("description", "details", "memo", "narrative", "payee")
    currency: tuple[str, ...] = ("currency", "ccy")
    account: tuple[str, ...] = ("account", "account number", "account no")
    date_format: str = ISO_DATE


def parse_csv(name: str, data: bytes, mapping: CsvMapping) -> BankStatement:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"not UTF-8 text (byte {exc.start})", path=name) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise InputFileError("empty file: no header row", path=name, line=1) from None
    cols = _columns(name, header, mapping)
    rows: list[tuple[StatementLine, Decimal, str | None, str | None]] = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            rows.append(_csv_row(name, reader.line_num, row, cols, mapping))
    except csv.Error as exc:
        raise InputFileError(f"unreadable CSV: {exc}", path=name, line=reader.line_num) from None
    if not rows:
        raise InputFileError("the statement has no transaction lines", path=name)
    ordered = _check_running_balance(name, rows)
    currencies = {c for _, _, c, _ in rows if c}
    accounts = {a for _, _, _, a in rows if a}
    for label, values in (("currencies", currencies), ("account numbers", accounts)):
        if len(values) > 1:
            raise InputFileError(f"more than one of {label} in one statement: {sorted(values)}", path=name)
    lines = [line for line, _, _, _ in ordered]
    return BankStatement(
        file=name,
        start=min(x.date for x in lines),
        end=max(x.date for x in lines),
        closing_balance=ordered[-1][1],
        currency=next(iter(currencies), None),
        account_number=next(iter(accounts), None),
        lines=lines,
        period_stated=False,
    )


def _columns(name: str, header: Sequence[str], mapping: CsvMapping) -> dict[str, int]:
    lowered = [h.strip().lower() for h in header]

    def find(options: Iterable[str]) -> int | None:
        return next((lowered.index(o) for o in options if o in lowered), None)

    cols = {
        key: idx
        for key in ("date", "amount", "debit", "credit", "balance", "reference", "description", "currency", "account")
        if (idx := find(getattr(mapping, key))) is not None
    }
    missing = [k for k in ("date", "balance") if k not in cols]
    if "amount" not in cols and not {"debit", "credit"} <= cols.keys():
        missing.append("amount (or debit and credit)")
    if missing:
        raise InputFileError(
            f"missing column(s) {', '.join(missing)}; header is {list(header)} (docs/trust-report.md, CSV columns)",
            path=name,
            line=1,
        )
    return cols


def _csv_row(
    name: str, line_no: int, row: Sequence[str], cols: dict[str, int], mapping: CsvMapping
) -> tuple[StatementLine, Decimal, str | None, str | None]:
    def cell(key: str) -> str:
        idx = cols.get(key)
        return row[idx].strip() if idx is not None and idx < len(row) else ""

    def amount(key: str, *, required: bool) -> Decimal:
        raw = cell(key)
        if not raw and not required:
            return Decimal(0)
        negative = raw.startswith("(") and raw.endswith(")")  # accounting style (12.00) = -12.00
        try:
            value = money(raw.strip("()").replace("$", "").replace("£", "").replace("€", ""))
        except (InvalidOperation, ValueError):
            raise InputFileError(f"{key} {raw!r} is not an amount", path=name, line=line_no) from None
        return -value if negative else value

    raw_date = cell("date")
    try:
        if mapping.date_format == ISO_DATE:  # date.fromisoformat is C: 10x strptime at 50,000 lines
            if len(raw_date) != 10:
                raise ValueError(raw_date)
            when = date.fromisoformat(raw_date)
        else:
            when = datetime.strptime(raw_date, mapping.date_format).date()
    except ValueError:
        raise InputFileError(
            f"date {raw_date!r} does not match the format {mapping.date_format}", path=name, line=line_no
        ) from None
    if "amount" in cols:
        value = amount("amount", required=True)
    else:
        value = amount("credit", required=False) - abs(amount("debit", required=False))
    line = StatementLine(
        file=name,
        line=line_no,
        date=when,
        amount=value,
        reference=cell("reference"),
        description=cell("description"),
    )
    return line, amount("balance", required=True), cell("currency").upper() or None, cell("account") or None


def _check_running_balance(
    name: str, rows: list[tuple[StatementLine, Decimal, Any, Any]]
) -> list[tuple[StatementLine, Decimal, Any, Any]]:
    """Rows oldest first, each balance = the previous balance + its amount (banks export either order)."""
    dates = [r[0].date for r in rows]
    if dates == sorted(dates):
        ordered = rows
    elif dates == sorted(dates, reverse=True):
        ordered = rows[::-1]
    else:
        raise InputFileError("lines are neither oldest-first nor newest-first", path=name, line=rows[0][0].line)
    for previous, current in itertools.pairwise(ordered):
        expected = previous[1] + current[0].amount
        if current[1] != expected:
            raise InputFileError(
                f"balance {current[1]} should be {expected} (previous balance {previous[1]} + amount "
                f"{current[0].amount}): a line is missing, doubled or wrong",
                path=name,
                line=current[0].line,
            )
    return ordered
