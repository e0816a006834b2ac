"""Fixtures shared by the operator-journey tests: run the CLI against a module's ``world``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clio_xero_tools.cli import app
from clio_xero_tools.cli.context import LocalState
from clio_xero_tools.local.world import LocalWorld

CliCall = Callable[..., tuple[int, Any]]


@pytest.fixture
def cli(world: LocalWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliCall:
    """``cli("errors", "--json")`` → (exit code, parsed JSON or text), with ``--local`` pointing at
    the requesting module's ``world`` through a state file, as `clio-xero local up` leaves one."""
    runtime = world.runtime
    state = tmp_path / "stack.json"
    LocalState(runtime.options.stack_name, runtime.aws_endpoint, runtime.api_url, runtime.config_path).write(state)
    monkeypatch.setenv("CLIO_XERO_LOCAL_STATE", str(state))
    monkeypatch.setenv("COLUMNS", "250")
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> tuple[int, Any]:
        result = runner.invoke(app, [*args, "--local"], input=input)
        assert "Traceback" not in result.output, result.output
        if "--json" in args and result.exit_code in (0, 1):
            return result.exit_code, json.loads(result.stdout)
        return result.exit_code, result.output

    return run
