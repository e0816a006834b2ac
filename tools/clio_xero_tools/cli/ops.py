"""``clio-xero status``, ``errors``, ``retry``, ``replay``, ``dlq ...``, ``settings ...`` (issue 5).

Parsing options and printing only; what each command does lives in :mod:`clio_xero.admin`
(shared with the console) and :mod:`clio_xero_tools.ops`.
Exit codes: 0 all well, 1 the command ran and found problems (errors listed, messages in the
DLQ, records not found), 2 bad input (an invalid setting, a malformed record), 3 configuration
(no such stack or connection).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from clio_xero_tools.cli.options import (
    CONNECTION_OPTION,
    EXIT_PROBLEMS,
    JSON_OPTION,
    LOCAL_OPTION,
    STACK_OPTION,
    console,
    err_console,
    errors_to_exit,
    print_json,
    stack_context,
)
from clio_xero_tools.cli.tables import print_table

EXIT_USAGE = 2

dlq_app = typer.Typer(help="The dead-letter queue: records that could not be synced.", no_args_is_help=True)
settings_app = typer.Typer(help="Per-connection settings (validated before they are stored).", no_args_is_help=True)


def _ops(stack: str | None, local: bool) -> Any:
    from clio_xero.admin.stack import OpsStack

    return OpsStack.from_context(stack_context(stack, local))


def _usage_error(message: str) -> typer.Exit:
    err_console.print(f"[red]{message}[/]")
    return typer.Exit(EXIT_USAGE)


def _when(value: datetime | str | None) -> str:
    if isinstance(value, str):
        try:
            when: datetime | None = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        when = value
    return when.strftime("%Y-%m-%d %H:%M:%S") if when else "-"


def _progress(as_json: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        transient=True,
        disable=as_json,
    )


# ---------------------------------------------------------------------------------- status
def status(
    connection: str | None = CONNECTION_OPTION,
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Per connection: health, token expiry, last sync, counts, rate budget; queue and DLQ depth.

    Exits 1 when something needs a person (a failed record, a connection to reconnect, the DLQ).
    """
    from clio_xero.admin.status import stack_report

    with errors_to_exit():
        report = stack_report(_ops(stack, local), connection)
    if as_json:
        print_json(report.as_dict())
    else:
        q, d = report.queue, report.dead_letter_queue
        console.print(
            f"Queue: {q['visible']} waiting, {q['in_flight']} in flight, {q['delayed']} delayed   "
            f"Dead-letter queue: [{'red' if d['visible'] else 'green'}]{d['visible']}[/]"
        )
        if not report.connections:
            console.print("No connections yet: run `clio-xero connect`.")
        for c in report.connections:
            table = Table(title=f"{c.connection.connection_id} ({c.connection.name or 'unnamed'})", show_header=False)
            table.add_column("what", style="bold")
            table.add_column("value")
            health = "[green]healthy[/]" if c.healthy else "[red]" + "; ".join(c.problems) + "[/]"
            table.add_row("status", f"{c.connection.status.value}: {health}")
            for provider, token in c.tokens.items():
                table.add_row(f"{provider} token expires", token.problem or _when(token.expires_at))
            for record_type, when in sorted(c.last_sync.items()):
                table.add_row(f"last {record_type} sync", _when(when))
            n = c.counts
            table.add_row(
                "records",
                f"{n['synced']} synced, {q['visible'] + q['in_flight']} pending (whole queue), "
                f"{n['failed']} failed, {n['dead_lettered']} dead-lettered, {n['needs_review']} need review",
            )
            for provider, budget in c.budgets.items():
                b = budget.as_dict()
                day = f", {b['day_left']}/{budget.limit_day} today" if budget.limit_day else ""
                table.add_row(
                    f"{provider} API budget left", f"{b['minute_left']}/{budget.limit_minute} this minute{day}"
                )
            print_table(console, table)
    if not report.healthy:
        raise typer.Exit(EXIT_PROBLEMS)


# ---------------------------------------------------------------------------------- errors
def errors(
    connection: str | None = CONNECTION_OPTION,
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Every record that failed or waits for review: what failed, the provider's words, attempts, a hint.

    Exits 1 when the list is not empty.
    """
    from clio_xero.admin.errorlist import error_list

    with errors_to_exit():
        ops = _ops(stack, local)
        ids = [c.connection_id for c in ops.select_connections(connection)]
        found = error_list(ops, ids)
    if as_json:
        print_json([e.as_dict() for e in found])
    elif not found:
        console.print("[green]No errors.[/]")
    else:
        table = Table(title=f"{len(found)} record(s) need attention")
        for column in ("record", "status", "what failed", "message", "attempts", "hint", "when"):
            table.add_column(column, overflow="fold")
        for e in found:
            record = e.record if len(ids) == 1 else f"{e.connection_id}/{e.record}"
            table.add_row(
                record,
                e.status,
                e.what_failed or "-",
                e.message or "-",
                str(e.attempts or "-"),
                e.hint or "-",
                _when(e.updated_at),
            )
        print_table(console, table)
        console.print("Fix the cause, then `clio-xero retry RECORD` (or `--all-errors`, or `dlq redrive --all`).")
    if found:
        raise typer.Exit(EXIT_PROBLEMS)


# ---------------------------------------------------------------------------------- retry
def retry(
    record: str | None = typer.Argument(None, help="SOURCE:TYPE:ID, e.g. clio:contact:123 or xero:contact:<uuid>."),
    all_errors: bool = typer.Option(False, "--all-errors", help="Every record whose mapping is in error."),
    connection: str | None = CONNECTION_OPTION,
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Queue a fresh sync of a record (after fixing what made it fail)."""
    from clio_xero.admin.records import RecordRef
    from clio_xero.admin.retry import error_records, retry_records

    if (record is None) == (not all_errors):
        raise _usage_error("name a RECORD or pass --all-errors (not both)")
    try:
        refs = [RecordRef.parse(record)] if record else []
    except ValueError as exc:
        raise _usage_error(str(exc)) from None
    with errors_to_exit():
        ops = _ops(stack, local)
        conn = ops.one_connection(connection)
        if all_errors:
            refs = error_records(ops, conn.connection_id)
        events = retry_records(ops, conn.connection_id, refs)
    queued = [f"{e.source.value}:{e.record_type.value}:{e.record_id}" for e in events]
    if as_json:
        print_json({"connection_id": conn.connection_id, "queued": queued})
    elif queued:
        console.print(f"Queued {len(queued)} record(s) for {conn.connection_id}: " + ", ".join(queued))
    else:
        console.print("[green]No records in error.[/]")


# ---------------------------------------------------------------------------------- replay
def replay(
    since: str = typer.Option(..., "--since", help="From when: ISO date/time (UTC) or relative (30m, 2h, 3d)."),
    until: str | None = typer.Option(None, "--until", help="Until when (default: now)."),
    source: str | None = typer.Option(None, "--source", help="clio or xero (default: both)."),
    connection: str | None = CONNECTION_OPTION,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be queued; queue nothing."),
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Re-drive stored raw webhook deliveries (safe: the same dedupe keys as the originals).

    Exits 1 when some stored delivery could not be turned into events (listed).
    """
    from clio_xero_tools.ops.replay import Replayer
    from clio_xero_tools.ops.when import parse_when

    if source not in (None, "clio", "xero"):
        raise _usage_error("--source is clio or xero")
    with errors_to_exit():
        ops = _ops(stack, local)
        now = ops.clock.now()
        try:
            start = parse_when(since, now)
            end = parse_when(until, now) if until else now
        except ValueError as exc:
            raise _usage_error(str(exc)) from None
        if start > end:
            raise _usage_error("--since is after --until")
        with _progress(as_json) as bar:
            task = bar.add_task("replaying deliveries", total=None)
            report = Replayer(ops).replay(
                since=start,
                until=end,
                sources=[source] if source else ["clio", "xero"],
                connection_id=connection,
                dry_run=dry_run,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    if as_json:
        print_json({**report.as_dict(), "since": start.isoformat(), "until": end.isoformat(), "dry_run": dry_run})
    else:
        verb = "would queue" if dry_run else "queued"
        console.print(
            f"{report.deliveries} stored deliveries from {_when(start)} to {_when(end)} UTC: "
            f"{verb} {len(report.events)} event(s)."
        )
        for object_key, why in report.skipped.items():
            console.print(f"[yellow]skipped[/] {object_key}: {why}")
    if report.skipped:
        raise typer.Exit(EXIT_PROBLEMS)


# ---------------------------------------------------------------------------------- dlq
@dlq_app.command("list")
def dlq_list(
    connection: str | None = CONNECTION_OPTION,
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The parked messages, decoded: connection, record, reason, attempts, first/last failure. Exits 1 if any."""
    from clio_xero.aws.dlq import DeadLetterQueue

    with errors_to_exit():
        letters = DeadLetterQueue(_ops(stack, local)).list(connection)
    if as_json:
        print_json([m.summary() for m in letters])
    elif not letters:
        console.print("[green]The dead-letter queue is empty.[/]")
    else:
        table = Table(title=f"{len(letters)} message(s) in the dead-letter queue")
        for column in ("id", "connection", "record", "reason", "attempts", "hint", "first failure", "last failure"):
            table.add_column(column, overflow="fold")
        for m in letters:
            s = m.summary()
            table.add_row(
                m.message_id,
                s["connection_id"] or "-",
                s["record"] or "-",
                f"{s['failure_kind']}: {s['failure_reason'] or '-'}",
                str(s["attempts"] or "-"),
                s["hint"] or "-",
                _when(s["first_failure"]),
                _when(s["last_failure"]),
            )
        print_table(console, table)
    if letters:
        raise typer.Exit(EXIT_PROBLEMS)


@dlq_app.command("show")
def dlq_show(
    message_id: str = typer.Argument(..., help="The message id from `dlq list`."),
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """One parked message: every reason attribute and the event itself."""
    from clio_xero.aws.dlq import DeadLetterQueue

    with errors_to_exit():
        letter = DeadLetterQueue(_ops(stack, local)).show(message_id)
    details = letter.details()
    if as_json:
        print_json(details)
        return
    table = Table(show_header=False, title=f"message {message_id}")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for name, value in details.items():
        if name != "attributes":
            table.add_row(name, "-" if value is None else str(value))
    print_table(console, table)


@dlq_app.command("redrive")
def dlq_redrive(
    message_ids: list[str] | None = typer.Argument(None, help="Message ids from `dlq list`."),
    all_messages: bool = typer.Option(False, "--all", help="Every message."),
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Send parked messages back to the sync queue: nothing lost, nothing doubled, safe to re-run.

    Uses SQS's message move task for --all where the endpoint has it; otherwise receive-send-delete
    with a marker per message (docs/runbook.md). Exits 1 when a named message was not found.
    """
    from clio_xero.aws.dlq import DeadLetterQueue

    if bool(message_ids) == all_messages:
        raise _usage_error("name message ids or pass --all (not both)")
    with errors_to_exit():
        queue = DeadLetterQueue(_ops(stack, local))
        total = queue.depth()["visible"]
        with _progress(as_json) as bar:
            task = bar.add_task("redriving", total=len(message_ids) if message_ids else total)
            report = queue.redrive(set(message_ids) if message_ids else None, progress=_advance(bar, task))
    if as_json:
        print_json(report.as_dict())
    else:
        console.print(f"Sent {report.sent} message(s) back to the sync queue ({report.method}).")
        if report.deleted_already_sent:
            console.print(f"Removed {report.deleted_already_sent} already sent by an interrupted earlier run.")
        if report.skipped:
            console.print(f"[yellow]Left in the DLQ[/] (not sync events; see `dlq show`): {', '.join(report.skipped)}")
        if report.parked_during_run:
            console.print(f"{report.parked_during_run} message(s) parked during this run were left for the next one.")
        if report.not_found:
            console.print(f"[red]Not found:[/] {', '.join(report.not_found)}")
    if report.not_found:
        raise typer.Exit(EXIT_PROBLEMS)


def _advance(bar: Progress, task: Any) -> Callable[[int], None]:
    return lambda n: bar.advance(task, n)


@dlq_app.command("purge")
def dlq_purge(
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask (scripts)."),
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Delete every parked message (asks first). Their records stay in `errors` until retried.

    SQS allows one purge a minute: a second one within 60 seconds says when it can run (exit 1).
    """
    from clio_xero.admin.errorlist import only_in_the_dlq
    from clio_xero.aws.dlq import DeadLetterQueue

    with errors_to_exit():
        queue = DeadLetterQueue(_ops(stack, local))
        depth = queue.depth()["visible"]
        if not yes and not typer.confirm(f"Delete all {depth} message(s) in the dead-letter queue?", default=False):
            err_console.print("Nothing deleted.")
            raise typer.Exit(EXIT_PROBLEMS)
        ops = queue.stack
        purged = queue.purge(keep_in_errors=lambda letters: only_in_the_dlq(ops, letters))
    if as_json:
        print_json({"purged": purged})
    else:
        console.print(f"Purged {purged} message(s).")


# ---------------------------------------------------------------------------------- settings
@settings_app.command("show")
def settings_show(
    connection: str | None = CONNECTION_OPTION,
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """A connection's settings and what each accepts."""
    from clio_xero.admin import settings as ops_settings

    with errors_to_exit():
        ops = _ops(stack, local)
        conn = ops.one_connection(connection)
        current = ops_settings.show(ops, conn.connection_id)
    _print_settings(conn.connection_id, current, as_json)


@settings_app.command("set")
def settings_set(
    assignments: list[str] = typer.Argument(..., help="KEY=VALUE pairs, e.g. contact_scope=all."),
    connection: str | None = CONNECTION_OPTION,
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Change settings (all or nothing: one invalid value changes none, exit 2). Workers use them at once."""
    from clio_xero.admin import settings as ops_settings

    with errors_to_exit():
        ops = _ops(stack, local)
        conn = ops.one_connection(connection)
        try:
            updated = ops_settings.apply(ops, conn.connection_id, assignments)
        except ops_settings.InvalidSettingsError as exc:
            raise _usage_error(str(exc)) from None
    _print_settings(conn.connection_id, updated, as_json)


def _print_settings(connection_id: str, current: Any, as_json: bool) -> None:
    from clio_xero.admin.settings import describe_fields
    from clio_xero.sync.settings import setting_keys

    values = current.flat()
    if as_json:
        sections = {name: current.model_dump(mode="json")[name] for name in set(setting_keys().values())}
        print_json({"connection_id": connection_id, "settings": values, "sections": sections})
        return
    table = Table(title=f"settings of {connection_id}")
    for column in ("section", "key", "value", "accepts"):
        table.add_column(column)
    where = setting_keys()
    for name, accepts in describe_fields().items():
        table.add_row(where[name], name, str(values.get(name)), accepts)
    print_table(console, table)
    if values.get("updated_at"):
        console.print(f"last changed {values['updated_at']}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.command("status")(status)
    app.command("errors")(errors)
    app.command("retry")(retry)
    app.command("replay")(replay)
    app.add_typer(dlq_app, name="dlq")
    app.add_typer(settings_app, name="settings")
