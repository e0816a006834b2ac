"""``clio-xero trust report``: the three-way trust reconciliation (issue 13, docs/trust-report.md).

Exit codes: 0 balanced and no ledger negative; 1 out of balance or a ledger negative; 2 a bad
statement file (named with its line); 3 configuration (no such account, no stack).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from clio_xero.errors import InputFileError
from clio_xero.trust.job import ReportRequest, StatementFile, build_report
from clio_xero.trust.matching import MatchRules
from clio_xero.trust.reconcile import TrustReport
from clio_xero.trust.render import amount, summary_rows, to_csv, to_html, to_json
from clio_xero_tools.cli.options import (
    CONNECTION_OPTION,
    LOCAL_OPTION,
    STACK_OPTION,
    console,
    err_console,
    errors_to_exit,
    stack_context,
)
from clio_xero_tools.cli.tables import print_table

EXIT_BAD_INPUT = 2
FORMATS = ("table", "csv", "json", "html", "pdf")
SNAPSHOT_DIR = Path(".cache/trust")

trust_app = typer.Typer(help="Trust accounts: the three-way reconciliation.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(trust_app, name="trust")


class FileSnapshots:
    """The last Clio read, kept on disk so the next run asks only for what changed."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> bytes | None:
        return self.path.read_bytes() if self.path.is_file() else None

    def save(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(data)


@trust_app.command("report")
def report_command(
    as_of: str = typer.Option(..., "--as-of", help="The date to reconcile at (YYYY-MM-DD)."),
    account: str | None = typer.Option(None, "--account", help="Clio trust account name (default: the only one)."),
    statement: list[Path] = typer.Option([], "--statement", help="Bank statement (.ofx/.qfx/.csv); repeat for more."),
    fmt: str = typer.Option("table", "--format", help="table, csv, json, html or pdf."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here (required for pdf)."),
    xero_account: str | None = typer.Option(
        None, "--xero-account", help="Compare with this Xero bank account (name, code or id; '' = by account number)."
    ),
    firm: str | None = typer.Option(None, "--firm", envvar="CLIO_XERO_FIRM", help="Firm name on the report."),
    date_window: int = typer.Option(
        5, "--date-window", min=0, max=31, help="Days a statement line may be from Clio's."
    ),
    full: bool = typer.Option(False, "--full", help="Ignore the saved read and read Clio again in full."),
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    connection: str | None = CONNECTION_OPTION,
) -> None:
    """Reconcile Clio's trust book, the client ledgers and the bank (and Xero) as of a date."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    if fmt == "pdf" and output is None:
        raise typer.BadParameter("--format pdf needs --output FILE")
    try:
        day = date.fromisoformat(as_of)
    except ValueError:
        raise typer.BadParameter(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)") from None
    files = []
    for path in statement:
        if not path.is_file():
            err_console.print(f"[red]{path}: no such file[/]")
            raise typer.Exit(EXIT_BAD_INPUT)
        files.append(StatementFile(name=str(path), data=path.read_bytes()))
    request = ReportRequest(
        as_of=day,
        account=account,
        statements=files,
        firm=firm,
        xero_account=xero_account,
        rules=MatchRules(date_window_days=date_window),
    )
    from clio_xero_tools.cli.contacts import connection_tools

    ctx = stack_context(stack, local)
    with errors_to_exit():  # configuration: exit 3; anything else from the APIs: exit 1
        try:
            tools = connection_tools(ctx, connection)
            snapshots = FileSnapshots(SNAPSHOT_DIR / f"{ctx.stack_name}-{tools.connection_id}.json")
            if full and snapshots.path.exists():
                snapshots.path.unlink()
            report = build_report(request, clio=tools.clio, xero=tools.xero, clock=tools.clock, snapshots=snapshots)
        except InputFileError as exc:  # a statement file: exit 2, naming the file and line
            err_console.print(f"[red]{exc.message}[/]")
            raise typer.Exit(EXIT_BAD_INPUT) from None
    emit(report, fmt, output)
    raise typer.Exit(report.exit_code)


def emit(report: TrustReport, fmt: str, output: Path | None) -> None:
    """Write the report in ``fmt`` to ``output`` (or stdout)."""
    if fmt == "table":
        if output is not None:
            from rich.console import Console

            with output.open("w", encoding="utf-8") as fh:
                print_report(report, Console(file=fh, width=120))
        else:
            print_report(report, console)
        return
    if fmt == "pdf":
        from clio_xero_tools.trust_pdf import to_pdf

        assert output is not None
        output.write_bytes(to_pdf(report))
        return
    text = {"csv": to_csv, "json": to_json, "html": to_html}[fmt](report)
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def print_report(report: TrustReport, out: Any) -> None:
    """The terminal view: status, the three balances, then each list that has items."""
    r = report
    colour = "green" if r.status.value == "balanced" else "red"
    out.print(f"[bold]Trust reconciliation[/] {r.firm} - {r.account_name} ({r.currency}) as of {r.as_of}")
    out.print(f"[bold {colour}]{r.status.value.replace('_', ' ').upper()}[/]")
    for reason in r.reasons:
        out.print(f"  [{colour}]- {reason}[/]")
    for note in r.notes:
        out.print(f"  [dim]{note}[/]")
    figures = Table(show_header=False, box=None)
    figures.add_column("figure")
    figures.add_column("amount", justify="right")
    for label, value in summary_rows(r):
        figures.add_row(label, value)
    out.print(figures)  # two short columns: never wraps, keeps its aligned layout
    txn_cols = ("date", "client", "matter", "reference", "amount")
    sections: list[tuple[str, tuple[str, ...], Sequence[tuple[str, ...]]]] = [
        (
            "Deposits in transit",
            txn_cols,
            [(str(t.date), t.client, t.matter, t.reference, amount(t.amount)) for t in r.deposits_in_transit],
        ),
        (
            "Uncleared payments",
            txn_cols,
            [(str(t.date), t.client, t.matter, t.reference, amount(t.amount)) for t in r.uncleared_payments],
        ),
        (
            "Statement lines with no Clio transaction",
            ("date", "file:line", "description", "reference", "amount"),
            [
                (str(x.date), f"{x.file}:{x.line}", x.description, x.reference, amount(x.amount))
                for x in r.unmatched_statement_lines
            ],
        ),
        (
            "Amounts that differ",
            ("bank date", "client", "matter", "reference", "bank", "Clio", "bank - Clio"),
            [
                (
                    str(d.line.date),
                    d.transaction.client,
                    d.transaction.matter,
                    d.line.reference,
                    amount(d.line.amount),
                    amount(d.transaction.amount),
                    amount(d.difference),
                )
                for d in r.amount_differences
            ],
        ),
        (
            "Ambiguous matches, not paired",
            ("group", "side", "date", "detail", "amount"),
            [
                row
                for n, g in enumerate(r.ambiguous, start=1)
                for row in [
                    *(
                        (str(n), "bank", str(x.date), f"{x.file}:{x.line} {x.description}", amount(x.amount))
                        for x in g.lines
                    ),
                    *(
                        (str(n), "Clio", str(t.date), f"{t.client} {t.matter} {t.description}", amount(t.amount))
                        for t in g.transactions
                    ),
                ]
            ],
        ),
        (
            "Negative ledgers",
            ("ledger", "client", "matter", "balance"),
            [(a.level, a.client, a.matter, amount(a.balance)) for a in r.negative_ledgers],
        ),
        (
            "Closed matters holding trust money",
            ("client", "matter", "balance"),
            [(a.client, a.matter, amount(a.balance)) for a in r.closed_matters_with_funds],
        ),
    ]
    for title, columns, rows in sections:
        if not rows:
            continue
        table = Table(title=f"{title} ({len(rows)})", title_justify="left")
        for i, col in enumerate(columns):
            numeric = col in {"amount", "balance", "bank", "Clio", "bank - Clio"} or (i == len(columns) - 1)
            table.add_column(col, justify="right" if numeric else "left")
        for row in rows:
            table.add_row(*row)
        print_table(out, table)
