"""Options every operator command shares, and how commands print (rich for people, --json for scripts)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from clio_xero.errors import ConfigurationError, SyncError
from clio_xero_tools.cli.context import StackContext

STACK_OPTION: Any = typer.Option(None, "--stack", help="CloudFormation stack name (env CLIO_XERO_STACK).")
LOCAL_OPTION: Any = typer.Option(False, "--local", help="Talk to `clio-xero local up` (env CLIO_XERO_LOCAL=1).")
JSON_OPTION: Any = typer.Option(False, "--json", help="Machine-readable output.")
CONNECTION_OPTION: Any = typer.Option(None, "--connection", "-c", help="Connection id (default: the only one).")

# Exit codes: 0 ok, 1 the command ran but found problems (e.g. errors listed), 2 usage, 3 config / stack.
EXIT_PROBLEMS = 1
EXIT_CONFIG = 3

console = Console()
err_console = Console(stderr=True)


def stack_context(stack: str | None, local: bool) -> StackContext:
    """Resolve the stack or exit 3 with a readable message (never a traceback)."""
    try:
        return StackContext.resolve(stack=stack, local=local or None)
    except SyncError as exc:
        err_console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(EXIT_CONFIG) from None


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


@contextmanager
def errors_to_exit() -> Iterator[None]:
    """Project errors become one readable line and an exit code (3 config, 1 otherwise), never a traceback."""
    try:
        yield
    except ConfigurationError as exc:
        err_console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(EXIT_CONFIG) from None
    except SyncError as exc:
        err_console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(EXIT_PROBLEMS) from None


class PhaseProgress:
    """A progress bar per backfill phase (``progress(phase, done, total)``), drawn on stderr."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase not in self._tasks:
            self._tasks[phase] = self.bar.add_task(f"{phase:>6}", total=total)
        self.bar.update(self._tasks[phase], completed=done)


@contextmanager
def phase_progress(*, quiet: bool) -> Iterator[PhaseProgress]:
    """The backfills' bars (hidden with ``--json``, gone when done)."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet,
        transient=True,
    ) as bar:
        yield PhaseProgress(bar)
