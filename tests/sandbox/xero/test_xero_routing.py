"""Routing: werkzeug rules like the Clio sandbox, matched case-insensitively as Xero does, with the
case of variable segments (InvoiceNumber, item Code) kept; no function-local import dodges cycles."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from clio_xero_tools.sandbox.xero import XeroSandbox, app
from clio_xero_tools.sandbox.xero.store import Org

Make = Callable[..., dict[str, Any]]


def test_resource_paths_match_in_any_case(api: httpx.Client, make_invoice: Make) -> None:
    inv = make_invoice(InvoiceNumber="Inv-MiXeD-7")
    for path in ("Invoices", "invoices", "INVOICES", "iNvOiCeS/"):
        r = api.get(path, params={"IDs": inv["InvoiceID"]})
        assert r.status_code == 200, path
        assert [i["InvoiceNumber"] for i in r.json()["Invoices"]] == ["Inv-MiXeD-7"]
    # The number in the path keeps its case: the lookup by InvoiceNumber finds it.
    by_number = api.get("INVOICES/Inv-MiXeD-7")
    assert by_number.status_code == 200
    assert by_number.json()["Invoices"][0]["InvoiceID"] == inv["InvoiceID"]
    assert api.get("Invoices/INV-MIXED-7").status_code == 404  # numbers are not case-folded


def test_unknown_paths_and_methods_answer_xeros_plain_404(api: httpx.Client) -> None:
    for method, path in (("GET", "Nonsense"), ("DELETE", "Invoices"), ("PUT", "Organisation"), ("GET", "a/b/c/d")):
        r = api.request(method, path)
        assert (r.status_code, r.text) == (404, "The resource you're looking for cannot be found"), (method, path)


def test_identity_and_admin_paths_route(http: httpx.Client, sandbox: XeroSandbox, org: Org) -> None:
    tokens = sandbox.issue_tokens([org.organisation_id])
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    for path in ("/connections", "/Connections"):
        assert [c["tenantId"] for c in http.get(path, headers=auth).json()] == [org.organisation_id]
    assert http.post("/connections", headers=auth).status_code == 404
    index = http.get("/_sandbox").json()
    assert any("payments/{PaymentID}" in e for e in index["endpoints"])
    assert http.get("/_sandbox/nothing-here").status_code == 404


def test_every_accounting_rule_is_lower_case_and_routed_by_werkzeug() -> None:
    rules = app.API_ROUTER.rules()
    assert "/api.xro/2.0/invoices/<ref>" in rules
    assert all(r == r.lower() for r in rules)


def test_no_function_local_imports_in_the_xero_sandbox() -> None:
    """Import cycles are not dodged with imports inside functions (TYPE_CHECKING blocks are fine)."""
    package = Path(app.__file__).parent
    offenders = []
    for source in package.glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                offenders += [
                    f"{source.name}:{inner.lineno}"
                    for inner in ast.walk(node)
                    if isinstance(inner, ast.Import | ast.ImportFrom)
                ]
    assert offenders == []
