"""The receivables report: every synced bill beside its Xero invoice, differences first.

Pure: :func:`compare_bill` takes what the report read (the Clio bill, the sync's mapping, the Xero
invoice) and says what differs; :func:`render` writes the rows as a table, CSV, JSON or HTML. The
reading is in :mod:`clio_xero.payments.plugins` (``read_receivables``). Rules in words:
docs/payments.md "The receivables report".
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from clio_xero.billing.clio_models import ClioBill
from clio_xero.payments.models import XeroInvoiceView, cents

__all__ = [
    "ClioMoneyAsOf",
    "ReceivableRow",
    "ReportFormat",
    "clio_money_as_of",
    "compare_bill",
    "missing_row",
    "render",
    "sort_rows",
]

#: The Xero statuses a Clio bill state agrees with.
EXPECTED_STATUS: dict[str, frozenset[str]] = {
    "awaiting_approval": frozenset({"SUBMITTED", "AUTHORISED"}),
    "awaiting_payment": frozenset({"AUTHORISED"}),
    "paid": frozenset({"PAID"}),
    "void": frozenset({"VOIDED", "DELETED"}),
    "deleted": frozenset({"VOIDED", "DELETED"}),
}


class ReportFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    HTML = "html"


@dataclass
class ReceivableRow:
    bill_id: str
    bill_number: str | None
    clio_state: str | None
    invoice_number: str | None
    xero_status: str | None
    clio_total: Decimal | None = None
    xero_total: Decimal | None = None
    clio_paid: Decimal | None = None
    xero_paid: Decimal | None = None
    clio_credits: Decimal | None = None
    xero_credits: Decimal | None = None
    clio_balance: Decimal | None = None
    xero_balance: Decimal | None = None
    differences: list[str] = field(default_factory=list)
    flagged: str | None = None  # the waiting record's sentence, when a person was already asked

    @property
    def differs(self) -> bool:
        return bool(self.differences)


@dataclass(frozen=True)
class ClioMoneyAsOf:
    """A bill's payments and credits dated on or before a day, from Clio's dated allocations."""

    day: date
    paid: Decimal = Decimal("0.00")
    credits: Decimal = Decimal("0.00")


def clio_money_as_of(allocations: Iterable[Mapping[str, Any]], day: date) -> dict[str, ClioMoneyAsOf]:
    """Bill id → what was paid and credited on it by ``day``: Clio's live allocations (``date``,
    ``amount``, ``parent{type}``, ``bill{id}``) dated on or before ``day``. One without a date
    counts from the day it was created (docs/payments.md "As of a date")."""
    paid: dict[str, Decimal] = {}
    credits: dict[str, Decimal] = {}
    for row in allocations:
        bill = str((row.get("bill") or {}).get("id") or "")
        dated = row.get("date") or str(row.get("created_at") or "")[:10]
        if not bill or not dated or date.fromisoformat(str(dated)) > day:
            continue
        kind = (row.get("parent") or {}).get("type")
        target = paid if kind == "Payment" else credits if kind == "CreditMemo" else None
        if target is not None:
            target[bill] = target.get(bill, Decimal("0.00")) + cents(row.get("amount"))
    return {
        b: ClioMoneyAsOf(day, paid.get(b, Decimal("0.00")), credits.get(b, Decimal("0.00")))
        for b in paid.keys() | credits.keys()
    }


def _clio_figures(bill: ClioBill, as_of: ClioMoneyAsOf | None) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(total, paid, credits, balance) of a Clio bill: now, or as of a day."""
    total = cents(bill.due if bill.due is not None else bill.total)
    if as_of is None:
        return total, cents(bill.paid), cents(bill.credits_issued), cents(bill.balance)
    return total, as_of.paid, as_of.credits, total - as_of.paid - as_of.credits


def _xero_figures(invoice: XeroInvoiceView, day: date | None) -> tuple[Decimal, Decimal, Decimal]:
    """(paid, credits, balance due) of a Xero invoice: now, or from its payments and applied
    credit dated on or before ``day``."""
    if day is None:
        return invoice.amount_paid, invoice.amount_credited, invoice.amount_due
    paid = sum((p.amount for p in invoice.payments if p.date is None or p.date <= day), Decimal("0.00"))
    credits = sum((c.amount for c in invoice.credits if c.date is None or c.date <= day), Decimal("0.00"))
    return paid, credits, invoice.total - paid - credits


def compare_bill(
    bill: ClioBill,
    invoice: XeroInvoiceView,
    *,
    payments_synced: bool,
    credits_synced: bool,
    flagged: str | None = None,
    as_of: ClioMoneyAsOf | None = None,
) -> ReceivableRow:
    """One synced bill beside its invoice. Paid and credits are compared only while their sync is
    on (with it off, Xero is not expected to know them); the balance only when both are on. With
    ``as_of``, paid, credits and balance are those dated on or before its day on both sides."""
    clio_total, clio_paid, clio_credits, clio_balance = _clio_figures(bill, as_of)
    xero_paid, xero_credits, xero_balance = _xero_figures(invoice, as_of.day if as_of else None)
    row = ReceivableRow(
        bill_id=str(bill.id),
        bill_number=bill.number,
        clio_state=bill.state,
        invoice_number=invoice.number,
        xero_status=invoice.status,
        clio_total=clio_total,
        xero_total=invoice.total,
        clio_paid=clio_paid,
        xero_paid=xero_paid,
        clio_credits=clio_credits,
        xero_credits=xero_credits,
        clio_balance=clio_balance,
        xero_balance=xero_balance,
        flagged=flagged,
    )
    gone = bill.state in {"void", "deleted"}
    expected = EXPECTED_STATUS.get(bill.state or "")
    unpaid_in_xero_by_choice = bill.state == "paid" and not payments_synced and invoice.status == "AUTHORISED"
    if expected is not None and invoice.status not in expected and not unpaid_in_xero_by_choice:
        row.differences.append(f"status: Clio {bill.state}, Xero {invoice.status}")
    if gone:
        return row
    if clio_total != invoice.total:
        row.differences.append(f"total: Clio {clio_total}, Xero {invoice.total}")
    if payments_synced and clio_paid != xero_paid:
        row.differences.append(f"paid: Clio {clio_paid}, Xero {xero_paid}")
    if credits_synced and clio_credits != xero_credits:
        row.differences.append(f"credits: Clio {clio_credits}, Xero {xero_credits}")
    if payments_synced and credits_synced and clio_balance != xero_balance:
        row.differences.append(f"balance due: Clio {clio_balance}, Xero {xero_balance}")
    return row


def missing_row(bill: ClioBill, reason: str, *, as_of: ClioMoneyAsOf | None = None) -> ReceivableRow:
    """A bill that should be in Xero and is not, with the reason `billing explain` gives."""
    total, paid, credits, balance = _clio_figures(bill, as_of)
    return ReceivableRow(
        bill_id=str(bill.id),
        bill_number=bill.number,
        clio_state=bill.state,
        invoice_number=None,
        xero_status=None,
        clio_total=total,
        clio_paid=paid,
        clio_credits=credits,
        clio_balance=balance,
        differences=[f"not in Xero: {reason}"],
    )


def sort_rows(rows: Sequence[ReceivableRow]) -> list[ReceivableRow]:
    """Differences first, then by bill id (numeric where it is)."""

    def key(row: ReceivableRow) -> tuple[int, int, str]:
        return (0 if row.differs else 1, int(row.bill_id) if row.bill_id.isdigit() else 0, row.bill_id)

    return sorted(rows, key=key)


COLUMNS = (
    "bill_id",
    "bill_number",
    "clio_state",
    "invoice_number",
    "xero_status",
    "clio_total",
    "xero_total",
    "clio_paid",
    "xero_paid",
    "clio_credits",
    "xero_credits",
    "clio_balance",
    "xero_balance",
    "differences",
)


def _cells(row: ReceivableRow) -> list[str]:
    values = asdict(row)
    out = []
    for name in COLUMNS:
        value = values[name]
        if name == "differences":
            text = "; ".join(value) if value else ""
            if row.flagged and value:
                text += " (waiting in `clio-xero errors`)"
            out.append(text)
        else:
            out.append("" if value is None else str(value))
    return out


def render(rows: Sequence[ReceivableRow], fmt: ReportFormat, *, as_of: str | None = None) -> str:
    ordered = sort_rows(rows)
    differing = sum(1 for r in ordered if r.differs)
    if fmt is ReportFormat.JSON:
        body = {
            "as_of": as_of,
            "bills": len(ordered),
            "differences": differing,
            "rows": [
                {**dict(zip(COLUMNS, _cells(r), strict=True)), "differences": r.differences, "flagged": r.flagged}
                for r in ordered
            ],
        }
        return json.dumps(body, indent=2) + "\n"
    if fmt is ReportFormat.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in ordered:
            writer.writerow(_cells(row))
        return buffer.getvalue()
    summary = f"{len(ordered)} bills, {differing} with differences" + (
        f" (bills issued, paid and credited on or before {as_of})" if as_of else ""
    )
    if fmt is ReportFormat.HTML:
        return _html(ordered, summary)
    table = [list(COLUMNS), *(_cells(r) for r in ordered)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS) - 1)]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line[:-1])) + ("  " + line[-1] if line[-1] else "")
        for line in table
    ]
    return "\n".join([*lines, summary]) + "\n"


#: The standalone page (``--format html`` and the daily copy) puts the differences right after the
#: bill, where a reader looks first; CSV and JSON keep :data:`COLUMNS`' order for machines.
HTML_FIRST = ("bill_id", "bill_number", "differences")
NUMERIC = {"clio_total", "xero_total", "clio_paid", "xero_paid", "clio_credits", "xero_credits"}
NUMERIC |= {"clio_balance", "xero_balance"}
PAGE_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1a1a1a}"
    "table{border-collapse:collapse;font-size:.9rem}td,th{padding:.3rem .5rem;text-align:left;"
    "vertical-align:top;border-bottom:1px solid #ddd}th{background:#f3f4f6}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "td.differences{min-width:22rem;max-width:34rem}tr.differs{background:#fde8e8}"
)


def _html(rows: Sequence[ReceivableRow], summary: str) -> str:
    order = [*HTML_FIRST, *(c for c in COLUMNS if c not in HTML_FIRST)]
    head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in order)
    body_rows = []
    for row in rows:
        cells = dict(zip(COLUMNS, _cells(row), strict=True))
        tds = "".join(
            f'<td class="{"num" if c in NUMERIC else html.escape(c)}">{html.escape(cells[c])}</td>' for c in order
        )
        body_rows.append(f'<tr class="{"differs" if row.differs else "agrees"}">{tds}</tr>')
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Receivables</title>'
        f"<style>{PAGE_STYLE}</style></head><body>"
        f"<h1>Receivables: Clio beside Xero</h1><p>{html.escape(summary)}</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body_rows)}</tbody></table></body></html>\n"
    )
