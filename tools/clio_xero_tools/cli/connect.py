"""``clio-xero connect``, ``disconnect`` and ``webhooks register|status`` (issue 5).

Parsing options and printing; the work lives in :mod:`clio_xero.connect` and
:mod:`clio_xero.webhooks.registration`. Exit codes: 0 all well, 1 problems found (a webhook not
enabled or expiring, a connection needing reconnection, a step that failed), 3 configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import typer
from rich.table import Table

from clio_xero.aws.archive import ArchivedDeliveries, delivery_received_at
from clio_xero.errors import ConfigurationError, SyncError
from clio_xero_tools.cli.context import StackContext
from clio_xero_tools.cli.options import (
    CONNECTION_OPTION,
    EXIT_PROBLEMS,
    JSON_OPTION,
    LOCAL_OPTION,
    STACK_OPTION,
    console,
    errors_to_exit,
    print_json,
    stack_context,
)
from clio_xero_tools.cli.tables import print_table

webhooks_app = typer.Typer(help="Clio webhooks (per connection) and Xero delivery health.", no_args_is_help=True)

LAST_XERO_DELIVERY_LOOKBACK_DAYS = 31
EXPIRY_WARNING = timedelta(days=7)


@dataclass
class StackPieces:
    """What these commands need from a stack: its parameters (config path, provider URLs) and clients."""

    context: StackContext
    parameters: dict[str, str]

    @classmethod
    def of(cls, context: StackContext) -> StackPieces:
        from clio_xero.aws.errors import aws_errors

        with aws_errors(f"read stack {context.stack_name}"):
            stack = context.client("cloudformation").describe_stacks(StackName=context.stack_name)["Stacks"][0]
        parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
        return cls(context, parameters)

    @property
    def config_path(self) -> str:
        return self.parameters.get("ConfigPath") or "/clio-xero"

    @property
    def api_url(self) -> str:
        if not self.context.api_url:
            raise ConfigurationError(f"stack {self.context.stack_name} has no ApiUrl output")
        return self.context.api_url.rstrip("/")

    def endpoints(self) -> Any:
        from clio_xero.wiring import ProviderUrls

        return ProviderUrls.from_parameters(self.parameters)

    def provider_endpoints(self) -> Any:
        from clio_xero.connect.flow import ProviderEndpoints

        urls = self.endpoints()
        return ProviderEndpoints(clio_base_url=urls.clio_base_url, xero=urls.xero_endpoints())

    def connections(self) -> Any:
        from clio_xero.store.connections import DynamoConnectionStore

        return DynamoConnectionStore(self.context.table_name, self.context.client("dynamodb"))

    def services(self) -> Any:
        from clio_xero.clock import default_clock
        from clio_xero.webhooks.renewal import build_services
        from clio_xero.wiring import Stack

        ctx = self.context
        return build_services(
            Stack(
                table_name=ctx.table_name,
                kms_key_id=ctx.data_key_arn,
                config_path=self.config_path,
                urls=self.endpoints(),
                dynamodb=ctx.client("dynamodb"),
                kms=ctx.client("kms"),
                ssm=ctx.client("ssm"),
                clock=default_clock(),
            )
        )


def _pieces(stack: str | None, local: bool) -> StackPieces:
    context = stack_context(stack, local)
    with errors_to_exit():
        return StackPieces.of(context)


def _pick_connections(pieces: StackPieces, connection_id: str | None, *, only_one: bool) -> list[Any]:
    connections = pieces.connections()
    if connection_id:
        found = connections.get(connection_id)
        if found is None:
            raise ConfigurationError(f"no connection {connection_id}")
        return [found]
    every = sorted(connections.list_all(), key=lambda c: c.created_at)
    if only_one and len(every) != 1:
        ids = ", ".join(c.connection_id for c in every) or "none"
        raise ConfigurationError(f"name the connection with --connection (connections: {ids})")
    return every


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


# ---------------------------------------------------------------------------- connect


def connect(
    name: str = typer.Option("", "--name", help="A name for the connection (e.g. the firm)."),
    clio_region: str | None = typer.Option(
        None, "--clio-region", help="Where the firm's Clio account lives: us (default), ca, eu, au."
    ),
    connection_id: str | None = typer.Option(
        None, "--connection", "-c", help="Issue new links for an existing connection (reconnect)."
    ),
    minutes: int = typer.Option(30, "--minutes", min=1, max=1440, help="How long the links stay valid."),
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Create a connection (or pick one with --connection) and print its one-time connect links."""
    from clio_xero.aws.parameters import LinkKey
    from clio_xero.clock import default_clock
    from clio_xero.connect.operator import create_connection, issue_links
    from clio_xero.store.connections import ClioRegion

    pieces = _pieces(stack, local)
    now = default_clock().now()
    with errors_to_exit():
        try:
            region = ClioRegion((clio_region or "us").strip().lower())
        except ValueError:
            raise ConfigurationError(f"unknown Clio region {clio_region!r} (us, ca, eu, au)") from None
        key = LinkKey(pieces.config_path, pieces.context.client("ssm")).ensure()
        connections = pieces.connections()
        if connection_id:
            connection = connections.get(connection_id)
            if connection is None:
                raise ConfigurationError(f"no connection {connection_id}")
            if clio_region is not None and connection.clio_region is not region:
                connections.update_fields(connection.connection_id, {"clio_region": region})
        else:
            connection = create_connection(connections, name=name, region=region, now=now)
        links = issue_links(
            key, connection_id=connection.connection_id, api_url=pieces.api_url, now=now, ttl=timedelta(minutes=minutes)
        )
    if as_json:
        print_json(
            {
                "connection_id": connection.connection_id,
                "status": connection.status.value,
                "links": links.urls,
                "expires_at": links.expires_at.isoformat(),
            }
        )
        return
    console.print(
        f"Connection [bold]{connection.connection_id}[/] ({connection.name or 'unnamed'}): {connection.status.value}"
    )
    console.print(
        f"Open each link in a browser and sign in as a Clio administrator and a Xero adviser. "
        f"Each works once, until {_when(links.expires_at)}:"
    )
    for provider, url in links.urls.items():
        console.print(f"  {provider.capitalize():<5} {url}", soft_wrap=True, highlight=False)
    console.print("Then run [bold]clio-xero webhooks register[/].")


# ---------------------------------------------------------------------------- disconnect


def disconnect(
    connection_id: str | None = CONNECTION_OPTION,
    purge: bool = typer.Option(False, "--purge", help="Also delete the connection's record links (mappings)."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Revoke both sides (Xero DELETE /connections, Clio deauthorize), delete the tokens; keep links unless --purge."""
    from clio_xero.aws.parameters import AppCredentials
    from clio_xero.clock import default_clock
    from clio_xero.connect.operator import Disconnector
    from clio_xero.store.mappings import DynamoMappingStore
    from clio_xero.store.tokens import DynamoTokenStore

    pieces = _pieces(stack, local)
    with errors_to_exit():
        [connection] = _pick_connections(pieces, connection_id, only_one=True)
        if not yes and not typer.confirm(
            f"Disconnect {connection.connection_id} ({connection.name or 'unnamed'})"
            + (" and DELETE its record links" if purge else "")
            + "?"
        ):
            raise typer.Exit(EXIT_PROBLEMS)
        ctx, clock = pieces.context, default_clock()
        services = pieces.services()

        def remove_webhooks(conn: Any, _token: str) -> list[str]:
            return list(services.manager(conn.connection_id).remove_all(clock.now()))

        disconnector = Disconnector(
            connections=pieces.connections(),
            tokens=DynamoTokenStore(ctx.table_name, ctx.client("dynamodb"), ctx.client("kms"), ctx.data_key_arn, clock),
            purge_mappings=DynamoMappingStore(ctx.table_name, ctx.client("dynamodb")).purge,
            credentials=AppCredentials(pieces.config_path, ctx.client("ssm")),
            endpoints=pieces.provider_endpoints(),
            clock=clock,
            remove_clio_webhooks=remove_webhooks if connection.xero_tenant_id else None,
        )
        report = disconnector.disconnect(connection, purge=purge)
    if as_json:
        print_json(report.__dict__)
    else:
        for line in report.done:
            console.print(f"[green]✓[/] {line}")
        for line in report.warnings:
            console.print(f"[yellow]![/] {line}")
        console.print(f"Reconnect later with [bold]clio-xero connect --connection {connection.connection_id}[/].")
    if report.warnings:
        raise typer.Exit(EXIT_PROBLEMS)


# ---------------------------------------------------------------------------- webhooks


@webhooks_app.command("register")
def webhooks_register(
    connection_id: str | None = CONNECTION_OPTION,
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Create (or repair and renew) the Clio webhooks the sync needs. Safe to run again."""
    from clio_xero.clock import default_clock
    from clio_xero.store.connections import ConnectionStatus

    pieces = _pieces(stack, local)
    now = default_clock().now()
    results: list[dict[str, Any]] = []
    problems = False
    with errors_to_exit():
        services = pieces.services()
        for connection in _pick_connections(pieces, connection_id, only_one=False):
            if connection.status is not ConnectionStatus.ACTIVE:
                results.append(
                    {"connection_id": connection.connection_id, "skipped": f"status {connection.status.value}"}
                )
                problems = problems or connection_id is not None
                continue
            try:
                records = services.manager(connection.connection_id).ensure(now, api_url=pieces.api_url)
            except SyncError as exc:
                results.append({"connection_id": connection.connection_id, "error": exc.message})
                problems = True
                continue
            problems = problems or any(r.action == "failed" for r in records)
            results.append(
                {"connection_id": connection.connection_id, "webhooks": [r.model_dump(mode="json") for r in records]}
            )
    if as_json:
        print_json(results)
    else:
        table = Table("connection", "model", "webhook", "status", "expires", "action", "note")
        for result in results:
            if "webhooks" not in result:
                table.add_row(
                    result["connection_id"], "-", "-", "-", "-", "skipped", result.get("skipped") or result.get("error")
                )
            for w in result.get("webhooks", []):
                table.add_row(
                    result["connection_id"], w["model"], str(w["webhook_id"]), w["status"],
                    (w["webhook_expires_at"] or "-")[:16], w["action"], w["message"],
                )  # fmt: skip
        print_table(console, table)
    if problems:
        raise typer.Exit(EXIT_PROBLEMS)


def last_xero_delivery(
    archive: ArchivedDeliveries, now: datetime, days: int = LAST_XERO_DELIVERY_LOOKBACK_DAYS
) -> str | None:
    """Key of the newest archived Xero delivery (table items and S3 objects), bounded look-back."""
    return archive.newest("xero", now, days)


def _awaited_activations(ledger: Any, connection_id: str) -> list[dict[str, Any]]:
    """Handshakes our registration expects and has not seen yet (store/webhook_secrets.py)."""
    return [
        {
            "connection_id": connection_id,
            "model": a.model,
            "webhook_id": a.webhook_id,
            "accepted_until": a.expires_at.isoformat(),
            "handshakes_left": a.handshakes_left,
        }
        for a in ledger.expected_activations(connection_id)
        if a.activated_at is None
    ]


def _print_webhook_rows(rows: list[dict[str, Any]]) -> None:
    """The text form of `webhooks status`: one row per registered Clio webhook."""
    table = Table(
        "connection", "state", "model", "webhook", "status", "queues", "expires", "days left", "last action", "note"
    )
    for r in rows:
        state = r["connection_status"] + (f" ({r['status_reason']})" if r["status_reason"] else "")
        table.add_row(
            r["connection_id"], state, r["model"], str(r["webhook_id"] or "-"), r["status"],
            _queued(r["queue_only_with"]), (r["expires_at"] or "-")[:16],
            "-" if r["days_left"] is None else str(r["days_left"]), r["last_action"], r["note"],
        )  # fmt: skip
    print_table(console, table)


def _queued(rule: list[str] | None) -> str:
    """The "queues" cell: which of the webhook's deliveries reach the sync queue."""
    if rule is None:
        return "-"
    return f"only with {' or '.join(rule)}" if rule else "every delivery"


def _print_awaited(awaited: list[dict[str, Any]]) -> None:
    for a in awaited:
        webhook = a["webhook_id"] or "(being created)"
        console.print(
            f"Awaiting activation: {a['connection_id']} {a['model']} webhook {webhook}: its handshake is accepted "
            f"until {a['accepted_until'][:16]} ({a['handshakes_left']} left); any other handshake is refused",
            soft_wrap=True,
        )


@webhooks_app.command("status")
def webhooks_status(
    connection_id: str | None = CONNECTION_OPTION,
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Each Clio webhook's state and expiry (live from Clio when possible), and Xero's last delivery."""
    from clio_xero.clock import default_clock
    from clio_xero.store.connections import ConnectionStatus

    pieces = _pieces(stack, local)
    now = default_clock().now()
    rows: list[dict[str, Any]] = []
    awaited: list[dict[str, Any]] = []  # activations our registration expects (store/webhook_secrets.py)
    problems = False
    with errors_to_exit():
        services = pieces.services()
        connections = _pick_connections(pieces, connection_id, only_one=False)
        for connection in connections:
            awaited += _awaited_activations(services.secrets, connection.connection_id)
            live: dict[str, dict[str, Any]] = {}
            note = ""
            if connection.status is ConnectionStatus.ACTIVE:
                try:
                    clio, _ = services.clients.for_connection(connection.connection_id)
                    from clio_xero.webhooks.registration import ClioClientWebhooks

                    live = {str(w.get("url")): w for w in ClioClientWebhooks(clio).list()}
                except SyncError as exc:
                    note = f"Clio not reachable: {exc.message}"
            if connection.status is not ConnectionStatus.ACTIVE:
                problems = True
            records = services.records.list(connection.connection_id)
            if not records:
                rows.append(
                    {
                        "connection_id": connection.connection_id,
                        "connection_status": connection.status.value,
                        "status_reason": connection.status_reason or "",
                        "model": "-",
                        "webhook_id": None,
                        "status": "not registered",
                        "queue_only_with": None,
                        "expires_at": None,
                        "days_left": None,
                        "last_action": "-",
                        "note": note or "run `clio-xero webhooks register`",
                    }
                )
                problems = True
            for record in records:
                hook = live.get(record.url)
                webhook_id = hook.get("id") if hook else record.webhook_id
                rule = services.secrets.queue_rule(connection.connection_id, str(webhook_id)) if webhook_id else None
                status = str(hook.get("status")) if hook else ("missing" if live or not note else record.status)
                expires = record.webhook_expires_at
                if hook and hook.get("expires_at"):
                    expires = datetime.fromisoformat(str(hook["expires_at"]).replace("Z", "+00:00"))
                days_left = round((expires - now).total_seconds() / 86400, 1) if expires else None
                if status != "enabled" or days_left is None or days_left < EXPIRY_WARNING.days:
                    problems = True
                rows.append(
                    {
                        "connection_id": connection.connection_id,
                        "connection_status": connection.status.value,
                        "status_reason": connection.status_reason or "",
                        "model": record.model,
                        "webhook_id": webhook_id,
                        "status": status,
                        # Which deliveries the receiver queues (store/webhook_secrets.py); null: no secret yet.
                        "queue_only_with": list(rule) if rule is not None else None,
                        "expires_at": expires.isoformat() if expires else None,
                        "days_left": days_left,
                        "last_action": f"{record.action} {_when(record.checked_at)}",
                        "note": note or record.message,
                    }
                )
        archive = ArchivedDeliveries(
            table_name=pieces.context.table_name,
            dynamodb=pieces.context.client("dynamodb"),
            bucket=pieces.context.delivery_bucket,
            s3=pieces.context.client("s3"),
        )
        key = last_xero_delivery(archive, now)
    when = delivery_received_at(key) if key else None
    if as_json:
        print_json(
            {
                "clio_webhooks": rows,
                "pending_activations": awaited,
                "xero_last_delivery": when.isoformat() if when else None,
            }
        )
    else:
        _print_webhook_rows(rows)
        _print_awaited(awaited)
        console.print(
            f"Xero: last delivery {_when(when)}"
            if when
            else f"Xero: no delivery archived in the last {LAST_XERO_DELIVERY_LOOKBACK_DAYS} days "
            "(configure the webhook in Xero's developer portal: see README)"
        )
    if problems:
        raise typer.Exit(EXIT_PROBLEMS)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.command("connect")(connect)
    app.command("disconnect")(disconnect)
    app.add_typer(webhooks_app, name="webhooks")
