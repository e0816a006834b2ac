"""The trust report as a PDF a bookkeeper signs (``clio-xero trust report --format pdf``).

Drawn with fpdf2 from the same :class:`~clio_xero.trust.reconcile.TrustReport` the HTML shows.
fpdf2 is pure Python (its wheels need no system library, unlike WeasyPrint's Pango or a headless
browser), so the PDF works wherever the CLI installs; it lives in the tooling, not the Lambda layer.
A Unicode font (DejaVu Sans) is used when the machine has one; otherwise the built-in Helvetica,
with characters outside Latin-1 shown as "?".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clio_xero.trust.reconcile import TrustReport
from clio_xero.trust.render import amount, summary_rows

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"), Path("/Library/Fonts"))
RED, GREEN, GREY = (143, 29, 18), (23, 97, 42), (90, 98, 115)


class _Pdf:
    def __init__(self, report: TrustReport) -> None:
        from fpdf import FPDF

        self.pdf = FPDF(orientation="P", unit="mm", format="A4")
        self.pdf.set_auto_page_break(auto=True, margin=14)
        self.pdf.set_margins(14, 14, 14)
        self.unicode = False
        for folder in FONT_DIRS:
            regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
            if regular.is_file() and bold.is_file():
                self.pdf.add_font("Body", "", str(regular))
                self.pdf.add_font("Body", "B", str(bold))
                self.unicode = True
                break
        self.family = "Body" if self.unicode else "Helvetica"
        self.report = report
        footer = f"{report.account_name} - as of {report.as_of} - page "
        family = self.family
        pdf = self.pdf

        def draw_footer() -> None:
            pdf.set_y(-10)
            pdf.set_font(family, "", 7)
            pdf.set_text_color(*GREY)
            pdf.cell(0, 4, f"{footer}{pdf.page_no()}", align="C")

        pdf.footer = draw_footer  # type: ignore[method-assign]
        pdf.add_page()

    def text(self, value: object) -> str:
        s = str(value)
        return s if self.unicode else s.encode("latin-1", "replace").decode("latin-1")

    def font(self, size: float, bold: bool = False, color: tuple[int, int, int] = (29, 35, 48)) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)
        self.pdf.set_text_color(*color)

    def heading(self, title: str) -> None:
        if self.pdf.get_y() > self.pdf.h - 45:  # never leave a heading alone at the foot of a page
            self.pdf.add_page()
        self.pdf.ln(3)
        self.font(11.5, bold=True)
        self.pdf.cell(0, 7, self.text(title), new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_draw_color(201, 206, 216)
        self.pdf.line(self.pdf.l_margin, self.pdf.get_y(), self.pdf.w - self.pdf.r_margin, self.pdf.get_y())
        self.pdf.ln(1.5)

    def table(self, header: list[str], rows: list[list[str]], widths: tuple[int, ...], numeric: set[int]) -> None:
        """One line a row, drawn with ``cell`` (fpdf2's ``table`` wraps every cell and takes a
        minute for a firm's 2,000 ledger rows); text too wide for its column is cut with "...".
        The header repeats on each new page."""
        if not rows:
            self.font(9, color=GREY)
            self.pdf.cell(0, 5, "None.", new_x="LMARGIN", new_y="NEXT")
            return
        pdf, height = self.pdf, 4.8
        self._row(header, widths, numeric, height, heading=True)
        for cells in rows:
            if pdf.get_y() + height > pdf.page_break_trigger:
                pdf.add_page()
                self._row(header, widths, numeric, height, heading=True)
            self._row(cells, widths, numeric, height, heading=False)

    def _row(
        self, cells: list[str], widths: tuple[int, ...], numeric: set[int], height: float, *, heading: bool
    ) -> None:
        pdf = self.pdf
        self.font(8.5, bold=heading)
        if heading:
            pdf.set_fill_color(242, 244, 247)
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            pdf.cell(
                width, height, self._fit(self.text(cell), width - 2), align="R" if i in numeric else "L", fill=heading
            )
        pdf.ln(height)
        pdf.set_draw_color(227, 230, 236)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + sum(widths), pdf.get_y())

    def _fit(self, text: str, width: float) -> str:
        if self.pdf.get_string_width(text) <= width:
            return text
        while text and self.pdf.get_string_width(text + "...") > width:
            text = text[:-1]
        return text + "..."

    def render(self) -> bytes:
        r, pdf = self.report, self.pdf
        self.font(17, bold=True)
        pdf.cell(0, 9, "Trust account three-way reconciliation", new_x="LMARGIN", new_y="NEXT")
        self.font(9.5, color=GREY)
        period = f"{r.period_start} to {r.as_of}" if r.period_start else "no statement"
        lines = [
            f"Firm: {r.firm}    Account: {r.account_name} ({r.account_number})    Currency: {r.currency}",
            f"As of: {r.as_of}    Period: {period}    Statement: {', '.join(r.statement_files) or 'none given'}",
        ]
        for line in lines:
            pdf.cell(0, 5, self.text(line), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        balanced = r.status.value == "balanced"
        self.font(11.5, bold=True, color=GREEN if balanced else RED)
        verdict = (
            "BALANCED: every balance compared agrees and no ledger is negative."
            if balanced
            else "OUT OF BALANCE: a person must act on this report."
        )
        pdf.cell(0, 7, verdict, new_x="LMARGIN", new_y="NEXT")
        self.font(9, color=RED)
        for reason in r.reasons:
            pdf.multi_cell(0, 4.5, self.text(f"- {reason}"), new_x="LMARGIN", new_y="NEXT")
        self.heading("The three balances")
        self.table(["Figure", r.currency], [[a, b] for a, b in summary_rows(r)], (120, 40), {1})
        self.font(8.5, color=GREY)
        for note in r.notes:
            pdf.multi_cell(0, 4.5, self.text(f"Note: {note}"), new_x="LMARGIN", new_y="NEXT")
        txn_header = ["Date", "Client", "Matter", "Reference", "Description", "Amount"]
        txn_widths = (20, 36, 28, 22, 50, 26)

        def txn_rows(items: list[Any]) -> list[list[str]]:
            return [[str(t.date), t.client, t.matter, t.reference, t.description, amount(t.amount)] for t in items]

        self.heading(f"Deposits in transit ({len(r.deposits_in_transit)})")
        self.table(txn_header, txn_rows(r.deposits_in_transit), txn_widths, {5})
        self.heading(f"Uncleared payments ({len(r.uncleared_payments)})")
        self.table(txn_header, txn_rows(r.uncleared_payments), txn_widths, {5})
        self.heading(f"Statement lines with no Clio transaction ({len(r.unmatched_statement_lines)})")
        self.table(
            ["Date", "File:line", "Reference", "Description", "Amount"],
            [
                [str(x.date), f"{x.file}:{x.line}", x.reference, x.description, amount(x.amount)]
                for x in r.unmatched_statement_lines
            ],
            (20, 50, 24, 62, 26),
            {4},
        )
        self.heading(f"Amounts that differ ({len(r.amount_differences)})")
        self.table(
            ["Bank date", "Reference", "Client / matter", "Bank", "Clio", "Difference"],
            [
                [
                    str(d.line.date),
                    d.line.reference,
                    f"{d.transaction.client} {d.transaction.matter}",
                    amount(d.line.amount),
                    amount(d.transaction.amount),
                    amount(d.difference),
                ]
                for d in r.amount_differences
            ],
            (22, 24, 60, 26, 26, 24),
            {3, 4, 5},
        )
        self.heading(f"Ambiguous matches, not paired ({len(r.ambiguous)})")
        rows: list[list[str]] = []
        for n, g in enumerate(r.ambiguous, start=1):
            rows += [
                [str(n), "Bank", str(x.date), f"{x.file}:{x.line} {x.description}", amount(x.amount)] for x in g.lines
            ]
            rows += [
                [str(n), "Clio", str(t.date), f"{t.client} {t.matter} {t.description}", amount(t.amount)]
                for t in g.transactions
            ]
        self.table(["Group", "Side", "Date", "Detail", "Amount"], rows, (14, 14, 22, 106, 26), {4})
        self.heading(f"Negative client or matter ledgers ({len(r.negative_ledgers)})")
        self.table(
            ["Ledger", "Client", "Matter", "Balance"],
            [[a.level, a.client, a.matter, amount(a.balance)] for a in r.negative_ledgers],
            (24, 70, 56, 32),
            {3},
        )
        self.heading(f"Closed matters holding trust money ({len(r.closed_matters_with_funds)})")
        self.table(
            ["Client", "Matter", "Balance"],
            [[a.client, a.matter, amount(a.balance)] for a in r.closed_matters_with_funds],
            (80, 70, 32),
            {2},
        )
        self.heading(f"Client ledgers ({len(r.client_ledgers)})")
        ledger_rows = [
            [
                c.client,
                m.matter + (f" ({m.status})" if m.status else ""),
                amount(m.totals.receipts),
                amount(m.totals.bill_payments),
                amount(m.totals.disbursements),
                amount(m.totals.transfers),
                amount(m.totals.balance),
            ]
            for c in r.client_ledgers
            for m in c.matters
        ]
        ledger_rows.append(["Total", "", "", "", "", "", amount(r.balances.client_ledgers)])
        self.table(
            ["Client", "Matter", "Receipts", "Bills paid", "Disbursed", "Transfers", "Balance"],
            ledger_rows,
            (32, 40, 22, 22, 22, 22, 22),
            {2, 3, 4, 5, 6},
        )
        self._signoff()
        return bytes(pdf.output())

    def _signoff(self) -> None:
        pdf, r = self.pdf, self.report
        if pdf.get_y() > pdf.h - 60:
            pdf.add_page()
        self.heading("Sign-off")
        self.font(9.5)
        width = (pdf.w - pdf.l_margin - pdf.r_margin) / 3
        for label in ("Prepared by", "Reviewed by (responsible lawyer)", "Date"):
            pdf.cell(width, 6, label)
        pdf.ln(16)
        y = pdf.get_y()
        pdf.set_draw_color(29, 35, 48)
        for i in range(3):
            x = pdf.l_margin + i * width
            pdf.line(x, y, x + width - 8, y)
        pdf.ln(5)
        self.font(7.5, color=GREY)
        sources = "Clio's trust records" + (" and the bank statement" if r.statement_files else "")
        sources += f" and Xero ({r.xero_account})" if r.xero_account else ""
        pdf.multi_cell(
            0,
            4,
            align="L",
            text=self.text(
                f"Generated {r.generated_at:%Y-%m-%d %H:%M %Z} by clio-xero from {sources}. "
                f"{r.matched_count} statement line(s) matched. Matching rules: docs/trust-report.md."
            ),
        )


def to_pdf(report: TrustReport) -> bytes:
    return _Pdf(report).render()
