"""The scopes the app asks for (``XERO_SCOPES``) against the sandbox's scope enforcement: the trust
report's ``GET /Reports/BankSummary`` works with them, fails without the report scope (what a
connection made before it was asked for gets), and the broad ``accounting.reports.read`` is refused
to an app made after 2 Mar 2026 (docs/facts-xero.md#scopes, docs/connect.md "Scopes")."""

from __future__ import annotations

import httpx

from clio_xero.connect.providers import XERO_SCOPES, XERO_TRUST_REPORT_SCOPE
from clio_xero_tools.sandbox.xero import XeroSandbox
from clio_xero_tools.sandbox.xero.store import Org

from .test_xero_identity import REDIRECT, authorize, exchange


def token_for(http: httpx.Client, scope: str) -> str:
    return str(exchange(http, authorize(http, scope=scope)["code"]).json()["access_token"])


def bank_summary(http: httpx.Client, org: Org, access: str) -> httpx.Response:
    return http.get(
        "/api.xro/2.0/Reports/BankSummary",
        params={"fromDate": "2026-01-31", "toDate": "2026-01-31"},
        headers={"Authorization": f"Bearer {access}", "xero-tenant-id": org.organisation_id},
    )


def test_the_apps_scopes_read_the_bank_summary_and_nothing_broader(http: httpx.Client, org: Org) -> None:
    assert XERO_TRUST_REPORT_SCOPE in XERO_SCOPES.split()
    access = token_for(http, XERO_SCOPES)
    summary = bank_summary(http, org, access)
    assert summary.status_code == 200, summary.text
    assert summary.json()["Reports"][0]["ReportType"] == "BankSummary"
    # The report scope is read only, and it is this one report's: no other report, no bank writes.
    headers = {"Authorization": f"Bearer {access}", "xero-tenant-id": org.organisation_id}
    spend = http.put("/api.xro/2.0/BankTransactions", json={"BankTransactions": []}, headers=headers)
    assert spend.status_code == 401


def test_a_connection_made_without_the_report_scope_is_refused_the_bank_summary(http: httpx.Client, org: Org) -> None:
    before = " ".join(s for s in XERO_SCOPES.split() if s != XERO_TRUST_REPORT_SCOPE)
    refused = bank_summary(http, org, token_for(http, before))
    assert refused.status_code == 401
    assert refused.json()["Detail"] == "AuthorizationUnsuccessful"


def test_the_broad_report_scope_is_refused_to_a_new_app(http: httpx.Client, sandbox: XeroSandbox, org: Org) -> None:
    params = {
        "response_type": "code",
        "client_id": "xero-sandbox-client",
        "redirect_uri": REDIRECT,
        "scope": "offline_access accounting.reports.read",
    }
    refused = http.get("/connect/authorize", params=params)
    assert refused.status_code == 400
    assert refused.json() == {"error": "invalid_scope", "error_description": refused.json()["error_description"]}
    assert "accounting.reports.read" in refused.json()["error_description"]
    # An app made before the change may still ask for it, and it reads the report.
    sandbox.identity.granular_only = False
    assert bank_summary(http, org, token_for(http, "offline_access accounting.reports.read")).status_code == 200
