"""The trust report as JSON, CSV and HTML (the PDF is drawn by the CLI, from the same report).

HTML goes through Jinja2 with autoescaping on: client names, descriptions and references come
from Clio and the bank and are never trusted as markup.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from typing import Any

from clio_xero.trust.reconcile import TrustReport


def to_json(report: TrustReport) -> str:
    """Every figure as a string with two decimals (exact; JSON numbers would be floats)."""
    return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False)


def amount(value: Decimal | None) -> str:
    """1234.5 -> "1,234.50"; negatives with a minus sign; ``None`` -> "n/a" (not compared)."""
    if value is None:
        return "n/a"
    return f"{value:,.2f}"


def summary_rows(report: TrustReport) -> list[tuple[str, str]]:
    """The headline figures, label and value, in the order every format shows them."""
    b, d = report.balances, report.differences
    rows = [
        ("Clio trust book", amount(b.clio_book)),
        ("Client ledgers (sum)", amount(b.client_ledgers)),
        ("Bank statement balance", amount(b.bank_statement)),
        ("Adjusted bank balance", amount(b.bank_adjusted)),
        ("Xero balance", amount(b.xero)),
        ("Ledgers - book", amount(d.ledgers_minus_book)),
        ("Adjusted bank - book", amount(d.bank_adjusted_minus_book)),
        ("Xero - book", amount(d.xero_minus_book)),
    ]
    if report.explanation is not None:
        e = report.explanation
        rows += [
            ("Explained by: opening difference", amount(e.opening_difference)),
            ("Explained by: statement lines not in Clio", amount(e.unmatched_statement_lines)),
            ("Explained by: amount differences", amount(e.amount_differences)),
            ("Explained by: ambiguous matches", amount(e.ambiguous)),
        ]
    return rows


def to_csv(report: TrustReport) -> str:
    """One row per figure or listed item: ``section,date,amount,client,matter,reference,detail``."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["section", "date", "amount", "client", "matter", "reference", "detail"])
    w.writerow(["status", report.as_of, "", "", "", "", report.status.value])
    for label, value in summary_rows(report):
        w.writerow(["balance", report.as_of, value.replace(",", ""), "", "", "", label])
    w.writerows(_item_rows(report))
    for a in report.negative_ledgers:
        w.writerow([f"negative_{a.level}_ledger", report.as_of, a.balance, a.client, a.matter, "", ""])
    for a in report.closed_matters_with_funds:
        w.writerow(["closed_matter_with_funds", report.as_of, a.balance, a.client, a.matter, "", ""])
    for c in report.client_ledgers:
        for m in c.matters:
            w.writerow(["matter_ledger", report.as_of, m.totals.balance, c.client, m.matter, "", m.status])
    return out.getvalue()


def _item_rows(report: TrustReport) -> Iterator[list[object]]:
    """The explanation lists as CSV rows."""
    for section, items in (
        ("deposit_in_transit", report.deposits_in_transit),
        ("uncleared_payment", report.uncleared_payments),
    ):
        for t in items:
            yield ([section, t.date, t.amount, t.client, t.matter, t.reference, f"Clio #{t.id} {t.description}"])
    for x in report.unmatched_statement_lines:
        yield (
            ["statement_line_not_in_clio", x.date, x.amount, "", "", x.reference, f"{x.file}:{x.line} {x.description}"]
        )
    for d in report.amount_differences:
        yield (
            [
                "amount_difference",
                d.line.date,
                d.difference,
                d.transaction.client,
                d.transaction.matter,
                d.line.reference,
                f"bank {d.line.amount} ({d.line.file}:{d.line.line}) "
                f"vs Clio #{d.transaction.id} {d.transaction.amount}",
            ]
        )
    for n, g in enumerate(report.ambiguous, start=1):
        for x in g.lines:
            yield ([f"ambiguous_{n}_line", x.date, x.amount, "", "", x.reference, f"{x.file}:{x.line} {x.description}"])
        for t in g.transactions:
            yield ([f"ambiguous_{n}_clio", t.date, t.amount, t.client, t.matter, t.reference, f"Clio #{t.id}"])


@cache
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("clio_xero.trust", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["amount"] = amount
    return env


def to_html(report: TrustReport) -> str:
    return str(_environment().get_template("report.html.j2").render(r=report, summary=summary_rows(report)))
