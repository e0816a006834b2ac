"""Layout and packaging rules from the brief: thin handlers, lean receivers, layer requirements."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

FUNCTIONS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
RECEIVERS = ["clio_webhook", "xero_webhook"]
WORKER_ONLY_MODULES = [
    "authlib",
    "httpx",
    "aws_xray_sdk",
    "aws_lambda_powertools.utilities.idempotency",
    "clio_xero_tools.sandbox",
    "moto",
]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower()


def test_layer_requirements_match_pyproject_runtime_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(d) for d in project["dependencies"]} - {"boto3"}  # the Lambda runtime has boto3
    lines = (ROOT / "shared" / "requirements.txt").read_text().splitlines()
    layer = {_name(line) for line in lines if line.strip() and not line.startswith("#")}
    assert layer == declared


@pytest.mark.parametrize("function", FUNCTIONS)
def test_handlers_only_wire(function: str) -> None:
    """functions/*/app.py: no loops, no boto3/httpx calls, a `handler`, under 40 lines."""
    source = (ROOT / "functions" / function / "app.py").read_text()
    tree = ast.parse(source)
    assert any(isinstance(n, ast.FunctionDef) and n.name == "handler" for n in tree.body)
    assert not any(isinstance(n, ast.For | ast.While) for n in ast.walk(tree))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {"boto3", "httpx", "botocore"} & imported
    assert len(source.splitlines()) < 40


@pytest.mark.parametrize("function", RECEIVERS)
def test_receivers_do_not_import_worker_code(function: str) -> None:
    """Cold start: a receiver must not load API clients, OAuth or idempotency utilities."""
    path = ROOT / "functions" / function / "app.py"
    code = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('app', {str(path)!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    loaded = set(json.loads(out.stdout))
    offenders = sorted(m for m in loaded for w in WORKER_ONLY_MODULES if m == w or m.startswith(w + "."))
    assert offenders == []


def test_importing_the_package_needs_no_environment() -> None:
    """No import-time side effects: every module imports with an empty environment."""
    code = (
        "import importlib, pkgutil, clio_xero\n"
        "names = [m.name for m in pkgutil.walk_packages(clio_xero.__path__, 'clio_xero.')"
        " if not m.name.endswith('__main__')]\n"
        "[importlib.import_module(n) for n in names]\n"
        "print(len(names))\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT / "shared")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) > 20


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return names | {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}


def test_runtime_source_never_names_the_tooling_package() -> None:
    """shared/ (the Lambda layer) and functions/ import nothing from clio_xero_tools."""
    sources = [*(ROOT / "shared").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
    assert len(sources) > 50
    offenders = sorted(
        str(p.relative_to(ROOT))
        for p in sources
        if any(m == "clio_xero_tools" or m.startswith("clio_xero_tools.") for m in _imported_modules(p))
    )
    assert offenders == []


def test_runtime_imports_with_the_tooling_package_unreachable() -> None:
    """Every runtime module and handler imports while any import of clio_xero_tools raises."""
    code = (
        "import importlib, importlib.abc, importlib.util, pkgutil, sys, pathlib\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'clio_xero_tools':\n"
        "            raise ImportError('runtime imported tooling: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import clio_xero\n"
        "names = [m.name for m in pkgutil.walk_packages(clio_xero.__path__, 'clio_xero.')]\n"
        "[importlib.import_module(n) for n in names]\n"
        f"for app in sorted(pathlib.Path({str(ROOT / 'functions')!r}).glob('*/app.py')):\n"
        "    spec = importlib.util.spec_from_file_location('app_' + app.parent.name, app)\n"
        "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(len(names))\n"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT / "shared"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
    }
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) > 20


def test_layer_content_is_the_runtime_package_alone() -> None:
    """The layer is built from shared/ (ContentUri): it holds clio_xero and requirements.txt, nothing else."""
    template = (ROOT / "template.yaml").read_text()
    assert re.search(r"SharedLayer:\s*\n(?:\s+.*\n)*?\s+ContentUri: shared/\s*\n", template)
    top = sorted(
        p.name for p in (ROOT / "shared").iterdir() if p.name != "__pycache__" and not p.name.endswith(".egg-info")
    )
    assert top == ["clio_xero", "requirements.txt"]
    tooling = {p.name for p in (ROOT / "tools" / "clio_xero_tools").iterdir() if p.is_dir()}
    assert {"sandbox", "local", "cli", "ops"} <= tooling
    # Folders with Python in them (a stale __pycache__-only folder from an old checkout is not code).
    runtime = {p.name for p in (ROOT / "shared" / "clio_xero").iterdir() if any(p.rglob("*.py"))}
    assert not tooling & runtime
