"""``clio-xero console``: print a one-time sign-in link to the administrator's page (README "Console")."""

from __future__ import annotations

import getpass
from datetime import timedelta

import typer

from clio_xero_tools.cli.connect import _pick_connections, _pieces, _when
from clio_xero_tools.cli.options import (
    CONNECTION_OPTION,
    JSON_OPTION,
    LOCAL_OPTION,
    STACK_OPTION,
    console,
    errors_to_exit,
    print_json,
)


def console_link(
    connection_id: str | None = CONNECTION_OPTION,
    operator: str = typer.Option(
        "", "--as", help="Who will use the link (recorded with every change made); default: your login name."
    ),
    minutes: int = typer.Option(15, "--minutes", min=1, max=1440, help="How long the link stays valid."),
    stack: str | None = STACK_OPTION,
    local: bool = LOCAL_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Print a signed, single-use sign-in link to the settings and status page."""
    from clio_xero.aws.parameters import LinkKey
    from clio_xero.clock import default_clock
    from clio_xero.console.sessions import sign_in_link

    pieces = _pieces(stack, local)
    who = (operator or getpass.getuser() or "operator").strip()[:64]
    with errors_to_exit():
        [connection] = _pick_connections(pieces, connection_id, only_one=True)
        key = LinkKey(pieces.config_path, pieces.context.client("ssm")).ensure()
        url, link = sign_in_link(
            key,
            connection_id=connection.connection_id,
            operator=who,
            api_url=pieces.api_url,
            now=default_clock().now(),
            ttl=timedelta(minutes=minutes),
        )
    if as_json:
        print_json(
            {
                "connection_id": connection.connection_id,
                "operator": who,
                "url": url,
                "expires_at": link.expires_at.isoformat(),
            }
        )
        return
    console.print(
        f"Sign-in link for [bold]{who}[/] ({connection.connection_id}); it works once, until {_when(link.expires_at)}:"
    )
    console.print(f"  {url}", soft_wrap=True, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("console")(console_link)
