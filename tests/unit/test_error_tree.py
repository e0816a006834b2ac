"""One exception tree: every exception class the product defines lives in clio_xero.errors, and
the tree drawn in its docstring names each of them under its real parent."""

from __future__ import annotations

import ast
import inspect
import re

from clio_xero import errors
from tests.conftest import ROOT

#: Tooling that simulates the providers keeps its own errors (they are HTTP answers, not ours).
SIMULATORS = ("tools/clio_xero_tools/sandbox/", "tools/clio_xero_tools/local/")


def _exception_bases(tree: ast.Module) -> list[tuple[str, list[str]]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            bases = [b.id if isinstance(b, ast.Name) else ast.unparse(b) for b in node.bases]
            if any(b.endswith(("Error", "Exception", "Refused")) or b in {"ValueError", "RuntimeError"} for b in bases):
                out.append((node.name, bases))
    return out


def test_no_exception_class_outside_the_tree() -> None:
    stray = []
    for path in sorted([*ROOT.glob("shared/clio_xero/**/*.py"), *ROOT.glob("tools/clio_xero_tools/**/*.py")]):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(SIMULATORS) or relative == "shared/clio_xero/errors.py":
            continue
        stray += [
            f"{relative}: {name}({', '.join(bases)})" for name, bases in _exception_bases(ast.parse(path.read_text()))
        ]
    assert stray == []


def test_the_docstring_tree_is_true() -> None:
    doc = errors.__doc__ or ""
    drawn: dict[str, str] = {}
    parents: list[tuple[int, str]] = []
    for line in doc.splitlines():
        match = re.match(r"^(\s*)(?:[│ ]*)(?:[├└]── )?([A-Z][A-Za-z]+)\s", line + " ")
        if not match or not hasattr(errors, match.group(2)):
            continue
        depth = len(line) - len(line.lstrip(" │├└─"))
        while parents and parents[-1][0] >= depth:
            parents.pop()
        drawn[match.group(2)] = parents[-1][1] if parents else ""
        parents.append((depth, match.group(2)))
    defined = {
        name: cls.__bases__[0].__name__
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.SyncError) and cls.__module__ == errors.__name__
    }
    defined["SyncError"] = ""
    assert drawn == defined
