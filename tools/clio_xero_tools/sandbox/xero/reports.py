"""``/Reports/BankSummary``: each bank account's opening balance, cash received, cash spent and
closing balance over ``fromDate``..``toDate``, in the spec's ``ReportWithRows`` shape.

Computed from what moves money through a bank account in the sandbox (docs/sandbox-xero.md,
"Reports"):

* ``BankTransactions``, AUTHORISED only: spend/receive money (``RECEIVE`` in, ``SPEND`` out) and
  the two legs of each ``BankTransfer`` (``RECEIVE-TRANSFER`` in, ``SPEND-TRANSFER`` out);
* ``Payments`` into or out of the account, AUTHORISED only: invoice payments (``ACCRECPAYMENT``
  in, ``ACCPAYPAYMENT`` out) and cash refunds of credit notes (``ARCREDITPAYMENT`` out,
  ``APCREDITPAYMENT`` in).

Deleted transactions and payments leave the figures. The opening balance is everything dated
before ``fromDate``. Amounts are in the account's currency as entered (no conversion).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from clio_xero_tools.sandbox.xero.common import ApiError, Ctx, Reply, envelope, simple_validation_error
from clio_xero_tools.sandbox.xero.formats import ms_datetime, parse_input_date

if TYPE_CHECKING:
    from clio_xero_tools.sandbox.xero.store import Account, Org

__all__ = ["BankMovement", "bank_movements", "bank_summary"]

Json = dict[str, Any]
_PAYMENT_SIGN = {"ACCRECPAYMENT": 1, "APCREDITPAYMENT": 1, "ACCPAYPAYMENT": -1, "ARCREDITPAYMENT": -1}


@dataclass(frozen=True)
class BankMovement:
    """Money in (positive) or out (negative) of one bank account on one day."""

    account_id: str
    day: date
    amount: Decimal


def bank_movements(org: Org) -> list[BankMovement]:
    """Every AUTHORISED bank transaction and payment, as signed movements of its bank account."""
    out = [
        BankMovement(bt.bank_account_id, bt.date, bt.total if bt.type.startswith("RECEIVE") else -bt.total)
        for bt in org.bank_transactions.values()
        if bt.status == "AUTHORISED"
    ]
    out += [
        BankMovement(p.account_id, p.date, p.amount * _PAYMENT_SIGN[p.payment_type])
        for p in org.payments.values()
        if p.status == "AUTHORISED" and p.payment_type in _PAYMENT_SIGN
    ]
    return out


def _date_arg(ctx: Ctx, name: str, default: date) -> date:
    raw = ctx.arg(name)
    if not raw:
        return default
    try:
        return parse_input_date(raw)
    except ValueError:
        raise ApiError(simple_validation_error(f"{name} is not a valid date")) from None  # UNCONFIRMED text


def _long_date(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _account_row(account: Account, opening: Decimal, received: Decimal, spent: Decimal) -> Json:
    ref = [{"Value": account.account_id, "Id": "account"}]
    return {
        "RowType": "Row",
        "Cells": [
            {"Value": account.name, "Attributes": [{"Value": account.account_id, "Id": "accountID"}]},
            {"Value": _money(opening)},
            {"Value": _money(received), "Attributes": ref},
            {"Value": _money(spent), "Attributes": ref},
            {"Value": _money(opening + received - spent)},
        ],
    }


def bank_summary(ctx: Ctx) -> Reply:
    """``GET /Reports/BankSummary?fromDate=YYYY-MM-DD&toDate=YYYY-MM-DD``.

    UNCONFIRMED defaults: ``toDate`` today (UTC) and ``fromDate`` the first day of its month."""
    org = ctx.org
    to_date = _date_arg(ctx, "toDate", ctx.now.date())
    from_date = _date_arg(ctx, "fromDate", to_date.replace(day=1))
    if from_date > to_date:
        raise ApiError(simple_validation_error("fromDate must be on or before toDate"))  # UNCONFIRMED text
    movements = bank_movements(org)
    rows: list[Json] = []
    totals = [Decimal(0)] * 3
    banks = sorted((a for a in org.accounts.values() if a.type == "BANK"), key=lambda a: a.name.casefold())
    for account in banks:
        mine = [m for m in movements if m.account_id == account.account_id and m.day <= to_date]
        opening = sum((m.amount for m in mine if m.day < from_date), Decimal(0))
        period = [m.amount for m in mine if m.day >= from_date]
        received = sum((a for a in period if a > 0), Decimal(0))
        spent = -sum((a for a in period if a < 0), Decimal(0))
        if account.status != "ACTIVE" and not (opening or period):
            continue  # archived accounts appear only while they still hold or move money
        rows.append(_account_row(account, opening, received, spent))
        totals = [totals[0] + opening, totals[1] + received, totals[2] + spent]
    header = ["Bank Accounts", "Opening Balance", "Cash Received", "Cash Spent", "Closing Balance"]
    closing = totals[0] + totals[1] - totals[2]
    report = {
        "ReportID": "BankSummary",
        "ReportName": "Bank Summary",
        "ReportType": "BankSummary",
        "ReportTitles": [
            "Bank Summary",
            org.name,
            f"From {_long_date(from_date)} to {_long_date(to_date)}",
        ],
        "ReportDate": _long_date(ctx.now.date()),
        "UpdatedDateUTC": ms_datetime(ctx.now),
        "Fields": [],
        "Rows": [
            {"RowType": "Header", "Cells": [{"Value": v} for v in header]},
            {
                "RowType": "Section",
                "Title": "",
                "Rows": [
                    *rows,
                    {
                        "RowType": "SummaryRow",
                        "Cells": [{"Value": "Total"}] + [{"Value": _money(v)} for v in (*totals, closing)],
                    },
                ],
            },
        ],
    }
    return Reply(200, envelope(ctx, "Reports", [report]))
