"""The console command reads well and exposes the verbs this stage promises."""

from __future__ import annotations

from typer.testing import CliRunner

from clio_xero_tools.cli import app

runner = CliRunner()


def test_help_lists_the_command_groups() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for verb in ("local", "sandbox", "demo"):
        assert verb in result.output


def test_local_up_help_documents_ports_and_dynamodb_local() -> None:
    result = runner.invoke(app, ["local", "up", "--help"])
    assert result.exit_code == 0
    for option in ("--port", "--aws-port", "--dynamodb-local", "--template"):
        assert option in result.output


def test_sandbox_up_help_documents_ports() -> None:
    result = runner.invoke(app, ["sandbox", "up", "--help"])
    assert result.exit_code == 0
    assert "--clio-port" in result.output and "--xero-port" in result.output


def test_no_arguments_shows_help_not_a_traceback() -> None:
    result = runner.invoke(app, [])
    assert "Usage" in result.output
    assert "Traceback" not in result.output
