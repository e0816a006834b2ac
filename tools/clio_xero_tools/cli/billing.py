"""``clio-xero backfill bills``, ``clio-xero billing check`` and ``clio-xero billing explain BILL``.

Shells over the runtime: the backfill is :class:`clio_xero.sync.bills.backfill.BillBackfill` (which
hands the bill plug-in 50 bills at a time) followed by the money phases of the bills it covered,
:class:`clio_xero.payments.backfill.MoneyBackfill` (payments, then credit notes, in the registry's
backfill order; ``backfill payments`` is the same runner without the bills phase), the check is
:func:`clio_xero.billing.preflight.check_settings` over the organisation's chart, the explanation
is :func:`clio_xero.sync.bills.explain.explain_bill` (the console's too). See docs/billing.md and
docs/payments.md.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import typer
from rich.table import Table

from clio_xero.billing.eligibility import BillAction
from clio_xero.billing.preflight import check_settings
from clio_xero.billing.settings import TrackingSource
from clio_xero.errors import SyncError
from clio_xero.events import RecordType
from clio_xero.payments.backfill import MoneyBackfill, MoneyBackfillPlan, MoneyBackfillReport
from clio_xero.store.checkpoints import DynamoCheckpointStore
from clio_xero.sync.backfill import Patience
from clio_xero.sync.bills.backfill import BillBackfill, BillBackfillPlan, BillBackfillReport
from clio_xero.sync.bills.explain import explain_bill
from clio_xero.sync.bills.plugin import BillPlugin
from clio_xero.sync.bills.reader import read_chart
from clio_xero.sync.core import SyncContext, SyncEngine
from clio_xero.sync.record_types import default_registry
from clio_xero_tools.cli.contacts import ConnectionTools, _fail, _tools, backfill_app
from clio_xero_tools.cli.options import (
    CONNECTION_OPTION,
    EXIT_PROBLEMS,
    JSON_OPTION,
    LOCAL_OPTION,
    STACK_OPTION,
    PhaseProgress,
    console,
    err_console,
    phase_progress,
    print_json,
    stack_context,
)

billing_app = typer.Typer(help="Bills as Xero invoices: check the account codes, explain a bill.", no_args_is_help=True)
PLAN_ROWS_SHOWN = 200


def register(app: typer.Typer) -> None:
    app.add_typer(billing_app, name="billing")


def sync_context(tools: ConnectionTools) -> SyncContext:
    """The connection as the worker's engine sees it (parents first through the registry)."""
    engine = SyncEngine(
        registry=default_registry(),
        contexts=lambda cid: SyncContext(
            connection_id=cid,
            mappings=tools.mappings,
            settings=tools.settings,
            clock=tools.clock,
            apis=lambda: (tools.clio, tools.xero),
        ),
    )
    return engine.context(tools.connection_id)


def bill_plugin() -> BillPlugin:
    plugin = default_registry().get(RecordType.BILL)
    assert isinstance(plugin, BillPlugin)
    return plugin


# ----------------------------------------------------------------------------- money phases
def money_backfill(tools: ConnectionTools, stack: str | None, local: bool, progress: PhaseProgress) -> MoneyBackfill:
    """The payments and credit-notes phases, in the registry's backfill order, each with its own
    checkpoint (keyed by its record type)."""
    stack_ctx = stack_context(stack, local)
    dynamodb = stack_ctx.client("dynamodb")
    return MoneyBackfill(
        sync_context(tools),
        checkpoints=lambda record_type: DynamoCheckpointStore(stack_ctx.table_name, dynamodb, record_type),
        patience=Patience(time.sleep),
        progress=progress,
        order=default_registry().backfill_order(),
    )


def money_plan_json(plan: MoneyBackfillPlan) -> dict[str, Any]:
    return plan.phases()


def money_report_json(report: MoneyBackfillReport) -> dict[str, Any]:
    return {
        "done": report.counts,
        "errors": [{"record": r, "error": e} for r, e in report.errors],
        "batches": report.batches,
        "resumed": {p: c.model_dump(mode="json") for p, c in report.resumed.items()},
    }


def print_money_plan(plan: MoneyBackfillPlan) -> None:
    """One line per phase: what it writes and why the others are left out (or that it is off)."""
    for phase, planned in plan.phases().items():
        if planned["off"]:
            console.print(f"{phase}: {planned['off']}; nothing is written.")
            continue
        reasons = "".join(f", {n} {why}" for why, n in planned["reasons"].items())
        console.print(f"{phase}: {planned['write']} to write{reasons}.")


def print_money_report(report: MoneyBackfillReport) -> None:
    for phase, checkpoint in report.resumed.items():
        console.print(f"{phase}: resumed a run interrupted after Clio id {checkpoint.last_clio_id}.")
    console.print("done: " + (", ".join(f"{k} {v}" for k, v in sorted(report.counts.items())) or "nothing to do"))
    for record, message in report.errors:
        console.print(f"[red]{record}[/]: {message}")


# ----------------------------------------------------------------------------- backfill bills
def _plan_json(plan: BillBackfillPlan) -> dict[str, Any]:
    return {"counts": plan.counts(), "bills": [r.model_dump(mode="json") for r in plan.rows]}


def _print_plan(plan: BillBackfillPlan) -> None:
    counts = plan.counts()
    console.print(
        f"Read {len(plan.rows)} Clio bills. Plan: [bold]{counts['create']}[/] create, [bold]{counts['update']}[/] "
        f"update, {counts['void']} void, {counts['delete']} delete, {counts['nothing']} already in Xero, "
        f"{counts['skip']} kept out, {counts['wait']} waiting for a person."
    )
    reasons: dict[str, int] = {}
    for row in plan.rows:
        if row.action.value in ("skip", "wait"):
            key = row.reason.split(":")[0] if row.reason.startswith("Billing sync is off") else row.reason
            reasons[key] = reasons.get(key, 0) + 1
    table = Table("Clio id", "number", "state", "plan", "why")
    shown = [r for r in plan.rows if r.action.value != "nothing"]
    for row in shown[:PLAN_ROWS_SHOWN]:
        table.add_row(row.clio_id, row.number or "", row.state or "", row.action.value, row.reason)
    if shown:
        console.print(table)
    if len(shown) > PLAN_ROWS_SHOWN:
        console.print(f"... and {len(shown) - PLAN_ROWS_SHOWN} more (--json lists all).")


def _print_report(report: BillBackfillReport) -> None:
    if report.resumed is not None:
        console.print(f"Resumed a run interrupted after Clio bill {report.resumed.last_clio_id}.")
    counts = ", ".join(f"{k.replace('invoice_', '')} {v}" for k, v in sorted(report.counts.items())) or "nothing to do"
    console.print(f"Bills: {counts}. Xero invoice batches: {report.batches} (up to 50 invoices each).")
    if report.errors:
        table = Table("Clio bill", "why it was not sent")
        for clio_id, message in report.errors:
            table.add_row(clio_id, message)
        console.print(table)


@backfill_app.command("bills")
def backfill_bills(
    since: str | None = typer.Option(None, "--since", help="Only bills issued on or after this date (YYYY-MM-DD)."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Read Clio and print the plan of every phase; write nothing."
    ),
    connection: str | None = CONNECTION_OPTION,
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Send every bill that should be in Xero as an invoice (50 per call), then the payments and
    credit notes of those bills; safe to interrupt and run again (each phase goes on from its own
    checkpoint).

    The plan comes first: how many bills are created, updated, voided, kept out, and why; then per
    phase how many payments and credit notes are written (a phase switched off by sync_payments or
    sync_credit_notes says so and writes nothing). Exit 1 when some record could not be sent (each
    is listed with the reason and the fix)."""
    try:
        floor = date.fromisoformat(since) if since else None
    except ValueError:
        err_console.print(f"[red]--since {since!r} is not a date YYYY-MM-DD[/]")
        raise typer.Exit(2) from None
    tools = _tools(stack, local, connection)
    ctx = sync_context(tools)
    with phase_progress(quiet=as_json) as progress:
        bar = progress.bar

        stack_ctx = stack_context(stack, local)
        backfill = BillBackfill(
            ctx=ctx,
            plugin=bill_plugin(),
            checkpoints=DynamoCheckpointStore(
                stack_ctx.table_name, stack_ctx.client("dynamodb"), RecordType.BILL.value
            ),
            patience=Patience(time.sleep),
            progress=progress,
        )
        money = money_backfill(tools, stack, local, progress)
        try:
            reading = bar.add_task("  plan", total=None)
            plan = backfill.plan(floor)
            # The money of the bills this run covers (with --since, only those bills'; without it, every bill's).
            covered = None if floor is None else [r.clio_id for r in plan.rows]
            if dry_run:
                coming = [r.clio_id for r in plan.rows if r.action is BillAction.CREATE]
                money_plan = money.plan(covered, coming=coming)
                bar.remove_task(reading)
                report = money_report = None
            else:
                bar.remove_task(reading)
                report = backfill.run(plan)
                money_plan = money.plan(covered)
                money_report = money.run(money_plan)
        except SyncError as exc:
            raise _fail(exc) from None
    if report is None or money_report is None:
        if as_json:
            print_json({**_plan_json(plan), "phases": money_plan_json(money_plan)})
        else:
            _print_plan(plan)
            print_money_plan(money_plan)
        return
    if as_json:
        print_json(
            {
                "plan": plan.counts(),
                "done": report.counts,
                "errors": [{"clio_id": c, "error": e} for c, e in report.errors],
                "batches": report.batches,
                "resumed": report.resumed.model_dump(mode="json") if report.resumed else None,
                "phases": {"plan": money_plan_json(money_plan), **money_report_json(money_report)},
            }
        )
    else:
        _print_report(report)
        print_money_plan(money_plan)
        print_money_report(money_report)
    if report.errors or money_report.errors:
        raise typer.Exit(EXIT_PROBLEMS)


# ----------------------------------------------------------------------------- billing check
@billing_app.command("check")
def billing_check(
    connection: str | None = CONNECTION_OPTION,
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Check every mapped account code, tax type and tracking category against the Xero organisation.

    Also the codes set on Clio's own activity and expense categories when use_clio_category_codes
    is on. Every problem is listed with its fix; exit 1 when there is one."""
    tools = _tools(stack, local, connection)
    billing = tools.settings.billing
    try:
        chart = read_chart(tools.xero, tracking=billing.tracking_source is not TrackingSource.NONE)
        activity_codes: dict[str, str] = {}
        expense_codes: dict[str, str] = {}
        if billing.use_clio_category_codes:
            for row in tools.clio.iter_records("activity_descriptions", fields="id,name,xero_service_code"):
                if row.get("xero_service_code"):
                    activity_codes[str(row.get("name") or row["id"])] = str(row["xero_service_code"])
            for row in tools.clio.iter_records("expense_categories", fields="id,name,xero_expense_code"):
                if row.get("xero_expense_code"):
                    expense_codes[str(row.get("name") or row["id"])] = str(row["xero_expense_code"])
    except SyncError as exc:
        raise _fail(exc) from None
    report = check_settings(billing, chart, clio_activity_codes=activity_codes, clio_expense_codes=expense_codes)
    if as_json:
        print_json({"ok": report.ok, "problems": [p.model_dump(mode="json") for p in report.problems]})
    else:
        if report.ok:
            console.print("[green]Every mapped account code, tax type and tracking category is usable in Xero.[/]")
        for problem in report.problems:
            colour = "red" if problem.severity == "error" else "yellow"
            console.print(f"[{colour}]{problem.severity}[/] {problem.message}")
        if not billing.sync_bills:
            console.print("Bills do not sync yet: `clio-xero settings set sync_bills=true` when this is clean.")
    if not report.ok:
        raise typer.Exit(EXIT_PROBLEMS)


# ----------------------------------------------------------------------------- billing explain
@billing_app.command("explain")
def billing_explain(
    bill: str = typer.Argument(..., help="The Clio bill id."),
    connection: str | None = CONNECTION_OPTION,
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Why did (or didn't) this bill sync? Its state, the rule or setting that keeps it out, or the
    error and its fix."""
    tools = _tools(stack, local, connection)
    try:
        found = explain_bill(
            clio=tools.clio,
            mappings=tools.mappings,
            connection_id=tools.connection_id,
            billing=tools.settings.billing,
            bill_id=bill,
        )
    except SyncError as exc:
        raise _fail(exc) from None
    if as_json:
        print_json(found.as_json())
    else:
        console.print(found.explanation)
