"""``clio-xero sandbox ...``: the Clio and Xero API sandboxes on loopback."""

from __future__ import annotations

import signal
import threading

import typer
from rich.console import Console

sandbox_app = typer.Typer(help="Local stand-ins for the Clio Manage and Xero APIs.", no_args_is_help=True)
console = Console()


@sandbox_app.command("up")
def up(
    clio_port: int = typer.Option(4001, "--clio-port", help="Port of the Clio Manage sandbox."),
    xero_port: int = typer.Option(4002, "--xero-port", help="Port of the Xero sandbox."),
    seed: bool = typer.Option(True, help="Load the deterministic demo firm and organisation."),
    deliver_every: float = typer.Option(
        1.0,
        "--deliver-every",
        min=0.0,
        help="Seconds between webhook deliveries (as the real services push them); 0 delivers only when "
        "POST /_sandbox/webhooks/deliver is called, for reproducible runs.",
    ),
) -> None:
    """Serve both sandboxes on 127.0.0.1 until Ctrl-C (admin surface under /_sandbox/)."""
    from clio_xero_tools.sandbox.serve import serve_sandboxes

    pump = deliver_every or None
    with serve_sandboxes(clio_port=clio_port, xero_port=xero_port, seed=seed, deliver_every=pump) as served:
        for line in served.describe():
            console.print(line, highlight=False)
        if pump:
            console.print(f"Webhooks are delivered every {pump:g} s (--deliver-every 0: only when asked).")
        else:
            console.print("Webhooks are delivered only on POST /_sandbox/webhooks/deliver.")
        console.print("[bold green]Ready.[/] Ctrl-C to stop.")
        from clio_xero_tools.local.signals import request_stop, wait_for_stop

        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: request_stop(stop))
        try:
            wait_for_stop(stop)  # not stop.wait(): see clio_xero_tools/local/signals.py
        except KeyboardInterrupt:
            console.print("Stopping...")
    console.print("Stopped.")
