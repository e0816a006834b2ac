"""``clio-xero report receivables``, ``clio-xero payments link`` and ``clio-xero backfill payments``
(docs/payments.md).

Exit codes as elsewhere: 0 all well, 1 the report found differences, 2 bad input, 3 configuration.
"""

from __future__ import annotations

from datetime import date

import typer

from clio_xero.errors import SyncError
from clio_xero.payments.plugins import link_payment
from clio_xero.payments.receivables import ReportFormat, render
from clio_xero.payments.report import read_receivables
from clio_xero_tools.cli.billing import (
    money_backfill,
    money_plan_json,
    money_report_json,
    print_money_plan,
    print_money_report,
)
from clio_xero_tools.cli.contacts import _tools, backfill_app
from clio_xero_tools.cli.options import (
    CONNECTION_OPTION,
    EXIT_PROBLEMS,
    JSON_OPTION,
    LOCAL_OPTION,
    STACK_OPTION,
    console,
    err_console,
    phase_progress,
    print_json,
)

report_app = typer.Typer(help="Reports that prove the books agree.", no_args_is_help=True)
payments_app = typer.Typer(help="Payments and the ways out of a Xero-side change.", no_args_is_help=True)


@report_app.command("receivables")
def receivables(
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Bills issued on or before DATE (YYYY-MM-DD), with paid, credits and balance as they stood on DATE.",
    ),
    fmt: ReportFormat = typer.Option(ReportFormat.TABLE, "--format", help="table | csv | json | html"),
    connection: str | None = CONNECTION_OPTION,
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
) -> None:
    """Every synced bill beside its Xero invoice (total, paid, credits, balance due, status),
    differences first, and the bills that should be in Xero but are not. Exits 1 when anything differs."""
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        err_console.print(f"[red]--as-of {as_of!r} is not a date YYYY-MM-DD[/]")
        raise typer.Exit(2) from None
    tools = _tools(stack, local, connection)
    try:
        found = read_receivables(
            clio=tools.clio,
            xero=tools.xero,
            mappings=tools.mappings,
            connection_id=tools.connection_id,
            settings=tools.settings,
            as_of=day,
        )
    except SyncError as exc:
        err_console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(EXIT_PROBLEMS) from None
    typer.echo(render(found.rows, fmt, as_of=as_of), nl=False)
    if found.differences:
        raise typer.Exit(EXIT_PROBLEMS)


@payments_app.command("link")
def link(
    allocation: str = typer.Argument(..., help="The Clio payment (allocation) id."),
    payment: str = typer.Argument(..., help="The Xero PaymentID that is the same money."),
    connection: str | None = CONNECTION_OPTION,
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
) -> None:
    """A payment recorded by hand in Xero is this Clio payment: link them, write nothing."""
    tools = _tools(stack, local, connection)
    try:
        link_payment(
            clio=tools.clio,
            xero=tools.xero,
            mappings=tools.mappings,
            connection_id=tools.connection_id,
            allocation_id=allocation,
            payment_id=payment,
            now=tools.clock.now(),
        )
    except SyncError as exc:
        err_console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(EXIT_PROBLEMS) from None
    console.print(f"Clio payment {allocation} is linked to Xero payment {payment}; it will not be written again.")


@backfill_app.command("payments")
def backfill_payments(
    dry_run: bool = typer.Option(False, "--dry-run", help="Read Clio and print the plan; write nothing."),
    connection: str | None = CONNECTION_OPTION,
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The payments and credit notes of every bill in Xero (50 payments per Xero call), without
    the bills phase of `backfill bills` (which runs these phases too); safe to interrupt and run
    again. Exit 1 when some could not be written."""
    tools = _tools(stack, local, connection)
    with phase_progress(quiet=as_json) as progress:
        backfill = money_backfill(tools, stack, local, progress)
        try:
            plan = backfill.plan()
            report = None if dry_run else backfill.run(plan)
        except SyncError as exc:
            err_console.print(f"[red]{exc.message}[/]")
            raise typer.Exit(EXIT_PROBLEMS) from None
    if as_json:
        print_json({"phases": money_plan_json(plan), **(money_report_json(report) if report else {})})
    else:
        print_money_plan(plan)
        if report is not None:
            print_money_report(report)
    if report is not None and report.errors:
        raise typer.Exit(EXIT_PROBLEMS)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
    app.add_typer(payments_app, name="payments")
