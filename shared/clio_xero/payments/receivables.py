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
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from enum import StrEnum

from clio_xero.billing.clio_models import ClioBill
from clio_xero.payments.models import XeroInvoiceView, cents

__all__ = ["ReceivableRow", "ReportFormat", "compare_bill", "missing_row", "render", "sort_rows"]

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


def compare_bill(
    bill: ClioBill,
    invoice: XeroInvoiceView,
    *,
    payments_synced: bool,
    credits_synced: bool,
    flagged: str | None = None,
) -> ReceivableRow:
    """One synced bill beside its invoice. Paid and credits are compared only while their sync is
    on (with it off, Xero is not expected to know them); the balance only when both are on."""
    clio_total = cents(bill.due if bill.due is not None else bill.total)
    row = ReceivableRow(
        bill_id=str(bill.id),
        bill_number=bill.number,
        clio_state=bill.state,
        invoice_number=invoice.number,
        xero_status=invoice.status,
        clio_total=clio_total,
        xero_total=invoice.total,
        clio_paid=cents(bill.paid),
        xero_paid=invoice.amount_paid,
        clio_credits=cents(bill.credits_issued),
        xero_credits=invoice.amount_credited,
        clio_balance=cents(bill.balance),
        xero_balance=invoice.amount_due,
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
    if payments_synced and row.clio_paid != invoice.amount_paid:
        row.differences.append(f"paid: Clio {row.clio_paid}, Xero {invoice.amount_paid}")
    if credits_synced and row.clio_credits != invoice.amount_credited:
        row.differences.append(f"credits: Clio {row.clio_credits}, Xero {invoice.amount_credited}")
    if payments_synced and credits_synced and row.clio_balance != invoice.amount_due:
        row.differences.append(f"balance due: Clio {row.clio_balance}, Xero {invoice.amount_due}")
    return row


def missing_row(bill: ClioBill, reason: str) -> ReceivableRow:
    """A bill that should be in Xero and is not, with the reason `billing explain` gives."""
    return ReceivableRow(
        bill_id=str(bill.id),
        bill_number=bill.number,
        clio_state=bill.state,
        invoice_number=None,
        xero_status=None,
        clio_total=cents(bill.due if bill.due is not None else bill.total),
        clio_paid=cents(bill.paid),
        clio_credits=cents(bill.credits_issued),
        clio_balance=cents(bill.balance),
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
    summary = f"{len(ordered)} bills, {differing} with differences" + (f" (as of {as_of})" if as_of else "")
    if fmt is ReportFormat.HTML:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
        body_rows = "".join(
            f'<tr class="{"differs" if r.differs else "agrees"}">'
            + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(r))
            + "</tr>"
            for r in ordered
        )
        return (
            '<!doctype html><html><head><meta charset="utf-8"><title>Receivables</title>'
            "<style>.differs{background:#fde8e8}td,th{padding:2px 6px;text-align:left}</style></head><body>"
            f"<h1>Receivables: Clio beside Xero</h1><p>{html.escape(summary)}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body_rows}</tbody></table></body></html>\n"
        )
    table = [list(COLUMNS), *(_cells(r) for r in ordered)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS) - 1)]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line[:-1])) + ("  " + line[-1] if line[-1] else "")
        for line in table
    ]
    return "\n".join([*lines, summary]) + "\n"
