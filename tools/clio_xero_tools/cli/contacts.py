"""``clio-xero backfill contacts`` and ``clio-xero contacts review|link|unlink`` (issue 4).

The commands are shells: the backfill is :class:`clio_xero.sync.backfill.ContactBackfill`, a link
runs one :class:`clio_xero.sync.contacts.engine.ContactSyncer` pass. API clients are built the
way the worker builds them (``sync/wiring.py``), from the stack's outputs and parameters, so
``--local`` talks to the sandboxes the local stack was started with. See docs/backfill.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import typer
from rich.table import Table

from clio_xero.clients.clio import ClioClient
from clio_xero.clients.xero import XeroClient
from clio_xero.clock import Clock, SystemClock
from clio_xero.errors import ConfigurationError, LinkTakenError, NeedsReconnectError, SyncError
from clio_xero.store.checkpoints import DynamoCheckpointStore
from clio_xero.store.mappings import DynamoMappingStore
from clio_xero.store.settings import DynamoSettingsStore
from clio_xero.sync.backfill import (
    BackfillPlan,
    BackfillReport,
    ClioSource,
    ContactBackfill,
    Patience,
    XeroSource,
)
from clio_xero.sync.contacts.engine import RECORD_TYPE, ContactSyncer
from clio_xero.sync.contacts.ports import ClioContacts, XeroContacts
from clio_xero.sync.mapping import Mapping, MappingStatus
from clio_xero.sync.matching import Action
from clio_xero.sync.settings import ConnectionSettings
from clio_xero_tools.cli.context import StackContext
from clio_xero_tools.cli.options import (
    CONNECTION_OPTION,
    EXIT_CONFIG,
    EXIT_PROBLEMS,
    JSON_OPTION,
    LOCAL_OPTION,
    STACK_OPTION,
    console,
    err_console,
    phase_progress,
    print_json,
    stack_context,
)
from clio_xero_tools.cli.tables import print_table

backfill_app = typer.Typer(help="Bulk operations on a connection: link what exists, create the rest.")
contacts_app = typer.Typer(help="Contacts that need a person: review, link, create, unlink.", no_args_is_help=True)

PLAN_ROWS_SHOWN = 200  # the dry-run table; --json always has every decision


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.add_typer(backfill_app, name="backfill")
    app.add_typer(contacts_app, name="contacts")


# ----------------------------------------------------------------------------- wiring
@dataclass
class ConnectionTools:
    """Everything a contacts command needs for one connection of one stack."""

    connection_id: str
    mappings: DynamoMappingStore
    settings: ConnectionSettings
    checkpoints: DynamoCheckpointStore
    clio: ClioClient
    xero: XeroClient
    clock: Clock


def stack_parameters(ctx: StackContext) -> dict[str, str]:
    described = ctx.client("cloudformation").describe_stacks(StackName=ctx.stack_name)["Stacks"][0]
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}


def only_connection(ctx: StackContext) -> str:
    """The stack's one connection (a handful per stack: a filtered scan is the right tool)."""
    from clio_xero.store.connections import CONNECTION_SK

    ids: list[str] = []
    kwargs: dict[str, Any] = {
        "TableName": ctx.table_name,
        "FilterExpression": "sk = :sk",
        "ExpressionAttributeValues": {":sk": {"S": CONNECTION_SK}},
        "ProjectionExpression": "connection_id",
    }
    while True:
        page = ctx.client("dynamodb").scan(**kwargs)
        ids += [i["connection_id"]["S"] for i in page.get("Items", []) if "connection_id" in i]
        if not page.get("LastEvaluatedKey"):
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    if len(ids) != 1:
        found = ", ".join(sorted(ids)) or "none"
        raise ConfigurationError(f"choose a connection with --connection (this stack has: {found})")
    return ids[0]


def connection_tools(ctx: StackContext, connection_id: str | None, *, clock: Clock | None = None) -> ConnectionTools:
    """API clients, stores and settings of a connection, built as ``sync/wiring.py`` builds them."""
    from clio_xero.wiring import ProviderUrls, connection_clients

    clock = clock or SystemClock()
    connection_id = connection_id or only_connection(ctx)
    params = stack_parameters(ctx)
    dynamodb = ctx.client("dynamodb")
    table = ctx.table_name
    clients = connection_clients(
        table_name=table,
        kms_key_id=ctx.data_key_arn,
        config_path=params.get("ConfigPath") or "/clio-xero",
        urls=ProviderUrls.from_parameters(params),
        dynamodb=dynamodb,
        kms=ctx.client("kms"),
        ssm=ctx.client("ssm"),
        clock=clock,
    )
    clio, xero = clients.for_connection(connection_id)
    return ConnectionTools(
        connection_id=connection_id,
        mappings=DynamoMappingStore(table, dynamodb),
        settings=DynamoSettingsStore(table, dynamodb).get(connection_id),
        checkpoints=DynamoCheckpointStore(table, dynamodb),
        clio=clio,
        xero=xero,
        clock=clock,
    )


def _tools(stack: str | None, local: bool, connection: str | None) -> ConnectionTools:
    ctx = stack_context(stack, local)
    try:
        return connection_tools(ctx, connection)
    except SyncError as exc:
        err_console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(EXIT_CONFIG) from None


def _fail(exc: SyncError) -> typer.Exit:
    err_console.print(f"[red]{exc.message}[/]")
    for message in getattr(exc, "provider_messages", []):
        err_console.print(f"  {message}")
    return typer.Exit(EXIT_CONFIG if isinstance(exc, (ConfigurationError, NeedsReconnectError)) else EXIT_PROBLEMS)


# ----------------------------------------------------------------------------- backfill
def _plan_json(plan: BackfillPlan) -> dict[str, Any]:
    return {
        "counts": plan.counts(),
        "xero_contacts_read": plan.xero_total,
        "decisions": [
            {
                "clio_id": d.clio_id,
                "action": d.action.value,
                "xero_id": d.xero_id,
                "candidates": list(d.candidates),
                "name": d.name or None,
                "reason": d.reason,
            }
            for d in plan.decisions
        ],
    }


def _print_plan(plan: BackfillPlan) -> None:
    counts = plan.counts()
    console.print(
        f"Read {len(plan.clio)} Clio and {plan.xero_total} Xero contacts. Plan: "
        f"[bold]{counts['link']}[/] link, [bold]{counts['create']}[/] create, [bold]{counts['review']}[/] review, "
        f"{counts['keep']} already linked, {counts['skip']} outside the contact scope."
    )
    shown = [d for d in plan.decisions if d.action in (Action.LINK, Action.CREATE, Action.REVIEW)]
    table = Table("Clio id", "Clio name", "plan", "Xero", "why")
    for d in shown[:PLAN_ROWS_SHOWN]:
        record = plan.clio.get(d.clio_id, {})
        xero = d.xero_id or (d.name if d.action is Action.CREATE else ", ".join(d.candidates))
        table.add_row(d.clio_id, str(record.get("name") or ""), d.action.value, xero, d.reason)
    if shown:
        print_table(console, table)
    if len(shown) > PLAN_ROWS_SHOWN:
        console.print(f"... and {len(shown) - PLAN_ROWS_SHOWN} more (--json lists all).")


def _report_json(report: BackfillReport) -> dict[str, Any]:
    return {
        "plan": report.plan.counts(),
        "done": report.counts,
        "errors": [{"clio_id": c, "error": e} for c, e in report.errors],
        "resumed": report.resumed.model_dump(mode="json") if report.resumed else None,
        "xero_create_calls": report.create_calls,
        "xero_link_calls": report.link_calls,
        "clio_writes": report.clio_writes,
    }


@backfill_app.command("contacts")
def backfill_contacts(
    dry_run: bool = typer.Option(False, "--dry-run", help="Read both sides and print the plan; write nothing."),
    connection: str | None = CONNECTION_OPTION,
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Link Clio contacts to the Xero contacts they already are; create the rest in Xero.

    Links by our ContactNumber, then by normalised name + email; anything ambiguous waits in
    `clio-xero contacts review`. Safe to interrupt and run again. Exit 1 when something needs a person.
    """
    tools = _tools(stack, local, connection)
    patience = Patience()
    with phase_progress(quiet=as_json) as progress:
        bar = progress.bar

        engine = ContactBackfill(
            connection_id=tools.connection_id,
            clio=ClioSource(tools.clio, patience),
            xero=XeroSource(tools.xero, patience),
            mappings=tools.mappings,
            settings=tools.settings,
            checkpoints=tools.checkpoints,
            clock=tools.clock,
            progress=progress,
        )
        try:
            reading = bar.add_task("  read", total=None)
            plan = engine.plan()
            bar.remove_task(reading)
            report = None if dry_run else engine.run(plan=plan)
        except SyncError as exc:
            raise _fail(exc) from None
    if report is None:
        print_json(_plan_json(plan)) if as_json else _print_plan(plan)
        return
    if as_json:
        print_json(_report_json(report))
    else:
        _print_report(report)
    if report.errors or report.counts["review"]:
        raise typer.Exit(EXIT_PROBLEMS)


def _print_report(report: BackfillReport) -> None:
    if report.resumed:
        cp = report.resumed
        console.print(f"Resumed a run interrupted in phase {cp.phase} after Clio id {cp.last_clio_id}.")
    c = report.counts
    console.print(
        f"Linked {c['linked']}, created {c['created']} ({c['disambiguated']} under a disambiguated name), "
        f"{c['review']} for review, {c['errors']} errors. Xero writes: {report.create_calls} create and "
        f"{report.link_calls} link batches; Clio writes: {report.clio_writes}."
    )
    if report.errors:
        table = Table("Clio id", "Xero said")
        for clio_id, error in report.errors:
            table.add_row(clio_id, error)
        print_table(console, table)
    if c["review"]:
        console.print("Settle the rest with [bold]clio-xero contacts review[/].")


# ----------------------------------------------------------------------------- review / link / unlink
def _candidate_details(tools: ConnectionTools, ids: list[str]) -> dict[str, str]:
    """``name <email>`` per candidate: one Xero call per 50 ids; empty if Xero cannot be asked."""
    if not ids:
        return {}
    try:
        found = tools.xero.get_contacts(ids)
    except SyncError as exc:
        err_console.print(f"[yellow]candidate names unavailable: {exc.message}[/]")
        return {}
    return {
        str(c["ContactID"]).lower(): f"{c.get('Name')} <{c.get('EmailAddress') or 'no email'}>"
        + ("" if c.get("ContactStatus", "ACTIVE") == "ACTIVE" else f" ({c.get('ContactStatus')})")
        for c in found
    }


@contacts_app.command("review")
def review(
    connection: str | None = CONNECTION_OPTION,
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List contacts waiting for a person, with the Xero contacts they might be. Exit 1 if any."""
    tools = _tools(stack, local, connection)
    waiting = [
        m for m in tools.mappings.list(tools.connection_id, RECORD_TYPE) if m.status is MappingStatus.NEEDS_REVIEW
    ]
    waiting.sort(key=lambda m: (len(m.clio_id), m.clio_id))
    details = _candidate_details(tools, list(dict.fromkeys(c for m in waiting for c in m.candidates)))
    if as_json:
        print_json(
            [
                {
                    "clio_id": m.clio_id,
                    "xero_id": m.xero_id,
                    "reason": m.last_error,
                    "hint": m.error_hint,
                    "candidates": [{"xero_id": c, "contact": details.get(c.lower())} for c in m.candidates],
                }
                for m in waiting
            ]
        )
    elif not waiting:
        console.print("Nothing waits for review.")
    else:
        table = Table("Clio id", "candidates (Xero)", "why", "to settle")
        for m in waiting:
            candidates = "\n".join(f"{c}  {details.get(c.lower(), '')}".rstrip() for c in m.candidates)
            table.add_row(m.clio_id, candidates or "-", m.last_error or "", m.error_hint or "")
        print_table(console, table)
        console.print(
            "Link with [bold]clio-xero contacts link CLIO_ID XERO_ID[/], or create a new Xero contact "
            "with [bold]clio-xero contacts create CLIO_ID[/]."
        )
    if waiting:
        raise typer.Exit(EXIT_PROBLEMS)


@contacts_app.command("conflicts")
def conflicts(
    connection: str | None = CONNECTION_OPTION,
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Fields both sides changed since the last sync, which side won and why (newest first)."""
    ctx = stack_context(stack, local)
    connection_id = connection or only_connection(ctx)
    mappings = DynamoMappingStore(ctx.table_name, ctx.client("dynamodb")).list(connection_id, RECORD_TYPE)
    rows = sorted(((m, c) for m in mappings for c in m.conflicts), key=lambda pair: pair[1].at, reverse=True)
    if as_json:
        print_json([{"clio_id": m.clio_id, "xero_id": m.xero_id, **c.model_dump(mode="json")} for m, c in rows])
        return
    if not rows:
        console.print("No conflicts recorded.")
        return
    table = Table("when", "Clio id", "field", "Clio value", "Xero value", "kept", "why")
    for m, c in rows:
        table.add_row(
            c.at.strftime("%Y-%m-%d %H:%M"),
            m.clio_id,
            c.field,
            str(c.clio_value),
            str(c.xero_value),
            c.winner,
            c.reason,
        )
    print_table(console, table)


@contacts_app.command("link")
def link(
    clio_id: str = typer.Argument(..., help="The Clio contact id."),
    xero_id: str = typer.Argument(..., help="The Xero ContactID."),
    connection: str | None = CONNECTION_OPTION,
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Link a Clio contact to a Xero contact, then sync the pair once (first-link merge: Clio wins,
    Clio's blanks are filled from Xero). Refuses if either is linked to something else."""
    if not clio_id.isdigit():
        err_console.print(f"[red]not a Clio id: {clio_id!r}[/]")
        raise typer.Exit(2)
    tools = _tools(stack, local, connection)
    conn, mappings = tools.connection_id, tools.mappings
    current = mappings.get(conn, RECORD_TYPE, clio_id)
    owner = mappings.clio_id_for(conn, RECORD_TYPE, xero_id)
    problem = None
    if current is not None and current.xero_id and current.xero_id.lower() != xero_id.lower():
        problem = (
            f"Clio contact {clio_id} is linked to Xero contact {current.xero_id}: `contacts unlink {clio_id}` first"
        )
    elif owner is not None and owner != clio_id:
        problem = f"Xero contact {xero_id} is linked to Clio contact {owner}: `contacts unlink {owner}` first"
    if problem:
        err_console.print(f"[red]{problem}[/]")
        raise typer.Exit(EXIT_PROBLEMS)
    syncer = _syncer(tools)
    try:
        xero = tools.xero.get_contact(xero_id)
        if xero is None or tools.clio.get_contact(clio_id) is None:
            missing = f"Xero contact {xero_id}" if xero is None else f"Clio contact {clio_id}"
            err_console.print(f"[red]{missing} does not exist[/]")
            raise typer.Exit(EXIT_PROBLEMS)
        if current is None or not current.xero_id:
            _write_link(tools, current, clio_id, str(xero["ContactID"]))
        result = syncer.sync_from_clio(clio_id)
    except SyncError as exc:  # LinkTakenError included
        raise _settle_failed(exc) from None
    summary = {
        "clio_id": clio_id,
        "xero_id": result.xero_id or xero_id,
        "outcome": result.outcome.value,
        "wrote_xero": result.wrote_xero,
        "wrote_clio": result.wrote_clio,
    }
    if as_json:
        print_json(summary)
    else:
        wrote = [side for side, did in (("Xero", result.wrote_xero), ("Clio", result.wrote_clio)) if did]
        console.print(
            f"Linked Clio {clio_id} ↔ Xero {summary['xero_id']} ({result.outcome.value}; "
            f"wrote {' and '.join(wrote) or 'nothing'})."
        )


@contacts_app.command("create")
def create(
    clio_id: str = typer.Argument(..., help="The Clio contact id (one waiting in `contacts review`)."),
    connection: str | None = CONNECTION_OPTION,
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a new Xero contact for a Clio contact instead of linking it to an existing one.

    An unlinked Xero contact already holds the name, so the new one is created under the
    documented disambiguation, ``Name [C-<clio id>]`` (docs/mapping-contacts.md, *Same names*),
    with our ContactNumber; then the pair is linked and synced once. Safe to run again: a contact
    an interrupted run created is found by its ContactNumber, never created twice.
    """
    from clio_xero.sync.contacts.engine import idempotency_key
    from clio_xero.sync.contacts.projection import contact_number, disambiguated_name, from_clio, to_xero_payload

    if not clio_id.isdigit():
        err_console.print(f"[red]not a Clio id: {clio_id!r}[/]")
        raise typer.Exit(2)
    tools = _tools(stack, local, connection)
    conn, mappings = tools.connection_id, tools.mappings
    current = mappings.get(conn, RECORD_TYPE, clio_id)
    if current is not None and current.xero_id:
        linked = f"Clio contact {clio_id} is linked to Xero contact {current.xero_id}"
        err_console.print(f"[red]{linked}: `contacts unlink {clio_id}` first[/]")
        raise typer.Exit(EXIT_PROBLEMS)
    try:
        record = tools.clio.get_contact(clio_id)
        if record is None:
            err_console.print(f"[red]Clio contact {clio_id} does not exist[/]")
            raise typer.Exit(EXIT_PROBLEMS)
        contact = from_clio(record)
        name = disambiguated_name(contact.name, clio_id)
        existing = tools.xero.find_contact_by_number(contact_number(clio_id))
        if existing is not None:
            created, name = existing, str(existing.get("Name") or name)
        else:
            key = idempotency_key(conn, "contact-create", clio_id, f"{contact.digest()}|{name}")
            payload = to_xero_payload(contact, clio_id=clio_id, name=name)
            [outcome] = XeroContacts(tools.xero).save_contacts([payload], idempotency_key=key, create=True)
            if not outcome.ok or outcome.record is None:
                err_console.print(f"[red]Xero refused the new contact {name!r}:[/]")
                for message in outcome.errors:
                    err_console.print(f"  {message}")
                raise typer.Exit(EXIT_PROBLEMS)
            created = outcome.record
        xero_id = str(created["ContactID"])
        _write_link(tools, current, clio_id, xero_id, xero_name=name)
        result = _syncer(tools).sync_from_clio(clio_id)
    except SyncError as exc:  # LinkTakenError included
        raise _settle_failed(exc) from None
    summary = {"clio_id": clio_id, "xero_id": xero_id, "xero_name": name, "outcome": result.outcome.value}
    if as_json:
        print_json(summary)
    else:
        console.print(f"Created Xero contact {name!r} ({xero_id}) for Clio {clio_id} and linked them.")


def _settle_failed(exc: SyncError) -> typer.Exit:
    """How `link` and `create` end when Clio, Xero or a concurrent link gets in the way."""
    if isinstance(exc, LinkTakenError):
        err_console.print("[red]linked by someone else meanwhile: run `contacts review` again[/]")
        return typer.Exit(EXIT_PROBLEMS)
    return _fail(exc)


def _syncer(tools: ConnectionTools) -> ContactSyncer:
    return ContactSyncer(
        connection_id=tools.connection_id,
        clio=ClioContacts(tools.clio),
        xero=XeroContacts(tools.xero),
        mappings=tools.mappings,
        settings=tools.settings,
        clock=tools.clock,
    )


def _write_link(
    tools: ConnectionTools, current: Mapping | None, clio_id: str, xero_id: str, *, xero_name: str | None = None
) -> None:
    """The link without a base: the sync that follows does the first-link merge and records it."""
    now = tools.clock.now()
    values: dict[str, Any] = {
        "xero_name": xero_name,
        "xero_id": xero_id,
        "status": MappingStatus.OK,
        "synced": None,
        "synced_hash": None,
        "candidates": [],
        "last_error": None,
        "error_hint": None,
        "attempts": 0,
        "updated_at": now,
    }
    if current is None:
        tools.mappings.create(
            Mapping(
                connection_id=tools.connection_id, record_type=RECORD_TYPE, clio_id=clio_id, created_at=now, **values
            )
        )
    else:
        tools.mappings.update(current.model_copy(update=values), previous_xero_id=None)


@contacts_app.command("unlink")
def unlink(
    clio_id: str = typer.Argument(..., help="The Clio contact id."),
    connection: str | None = CONNECTION_OPTION,
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Remove a contact's link (both directions); neither side's data is touched.

    The contact then waits in `contacts review` (with its old Xero contact as the candidate)
    instead of being re-linked by its ContactNumber at its next change.
    """
    tools = _tools(stack, local, connection)
    mapping = tools.mappings.get(tools.connection_id, RECORD_TYPE, clio_id)
    if mapping is None or not mapping.xero_id:
        err_console.print(f"[red]Clio contact {clio_id} is not linked[/]")
        raise typer.Exit(EXIT_PROBLEMS)
    old = mapping.xero_id
    tools.mappings.update(
        mapping.model_copy(
            update={
                "xero_id": None,
                "status": MappingStatus.NEEDS_REVIEW,
                "synced": None,
                "synced_hash": None,
                "xero_label": None,
                "candidates": [old],
                "last_error": f"unlinked by a person from Xero contact {old}",
                "error_hint": f"clio-xero contacts link {clio_id} <XERO_ID>",
                "updated_at": tools.clock.now(),
            }
        ),
        previous_xero_id=old,
    )
    if as_json:
        print_json({"clio_id": clio_id, "unlinked_xero_id": old})
    else:
        console.print(f"Unlinked Clio {clio_id} from Xero {old}; it now waits in `contacts review`.")
