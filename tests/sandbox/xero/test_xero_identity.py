"""OAuth 2.0, rotating refresh tokens, /connections and tenancy, through plain HTTP."""

from __future__ import annotations

import base64
import json
import urllib.parse
from typing import Any

import httpx

from clio_xero.clock import ManualClock
from clio_xero_tools.sandbox.xero import XeroSandbox
from clio_xero_tools.sandbox.xero.store import Org

REDIRECT = "https://app.example/callback"
BASIC = "Basic " + base64.b64encode(b"xero-sandbox-client:xero-sandbox-secret").decode()
SCOPE = "offline_access accounting.contacts accounting.invoices accounting.payments accounting.settings.read"


def authorize(http: httpx.Client, **extra: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": "xero-sandbox-client",
        "redirect_uri": REDIRECT,
        "scope": SCOPE,
        "state": "s-123",
        **extra,
    }
    r = http.get("/connect/authorize", params=params)
    assert r.status_code == 302
    location = r.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


def exchange(http: httpx.Client, code: str, redirect: str = REDIRECT) -> httpx.Response:
    return http.post(
        "/connect/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect},
        headers={"Authorization": BASIC},
    )


def refresh(http: httpx.Client, token: str) -> httpx.Response:
    return http.post(
        "/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        headers={"Authorization": BASIC},
    )


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def contacts(http: httpx.Client, access: str, tenant: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {access}"}
    if tenant is not None:
        headers["xero-tenant-id"] = tenant
    return http.get("/api.xro/2.0/Contacts", headers=headers)


def test_authorization_code_flow_issues_30_minute_tokens(http: httpx.Client, org: Org) -> None:
    query = authorize(http)
    assert query["state"] == "s-123"
    r = exchange(http, query["code"])
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1800
    assert body["refresh_token"]
    assert "authentication_event_id" in jwt_claims(body["access_token"])
    assert contacts(http, body["access_token"], org.organisation_id).status_code == 200


def test_auth_code_is_single_use_and_bound_to_redirect_uri(http: httpx.Client, org: Org) -> None:
    code = authorize(http)["code"]
    assert exchange(http, code, "https://evil.example/cb").json() == {
        "error": "invalid_grant",
        "error_description": "redirect_uri does not match",
    }
    assert exchange(http, code).status_code == 200
    again = exchange(http, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_auth_code_expires_after_five_minutes(http: httpx.Client, org: Org, clock: ManualClock) -> None:
    code = authorize(http)["code"]
    clock.advance(301)
    assert exchange(http, code).json()["error"] == "invalid_grant"


def test_token_endpoint_rejects_wrong_client_secret(http: httpx.Client, org: Org) -> None:
    code = authorize(http)["code"]
    bad = "Basic " + base64.b64encode(b"xero-sandbox-client:nope").decode()
    r = http.post(
        "/connect/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        headers={"Authorization": bad},
    )
    assert r.status_code == 401
    assert r.json() == {"error": "invalid_client"}


def test_refresh_rotates_and_old_token_has_30_minute_grace(
    http: httpx.Client, tokens: dict[str, Any], clock: ManualClock, org: Org
) -> None:
    old = tokens["refresh_token"]
    first = refresh(http, old)
    assert first.status_code == 200
    new = first.json()["refresh_token"]
    assert new != old
    clock.advance(29 * 60)
    # A lost refresh response can be retried with the old token during the grace period.
    retry = refresh(http, old)
    assert retry.status_code == 200
    clock.advance(61)
    expired = refresh(http, old)
    assert expired.status_code == 400
    assert expired.json() == {"error": "invalid_grant"}
    latest = refresh(http, new)
    assert latest.status_code == 200
    assert contacts(http, latest.json()["access_token"], org.organisation_id).status_code == 200


def test_refresh_token_dies_after_60_days_unused(
    http: httpx.Client, tokens: dict[str, Any], clock: ManualClock
) -> None:
    clock.advance(60 * 86400)
    assert refresh(http, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_expired_access_token_answers_401_problem_details(
    http: httpx.Client, tokens: dict[str, Any], clock: ManualClock, org: Org
) -> None:
    clock.advance(29 * 60 + 59)
    assert contacts(http, tokens["access_token"], org.organisation_id).status_code == 200
    clock.advance(1)
    r = contacts(http, tokens["access_token"], org.organisation_id)
    assert r.status_code == 401
    body = r.json()
    assert body["Title"] == "Unauthorized"
    assert body["Status"] == 401
    assert body["Detail"].startswith("TokenExpired: token expired at ")


def test_unknown_token_answers_401(http: httpx.Client, org: Org) -> None:
    r = contacts(http, "not-a-token", org.organisation_id)
    assert r.status_code == 401
    assert r.json()["Detail"] == "AuthenticationUnsuccessful"


def test_tenant_header_is_required_and_must_be_connected(
    http: httpx.Client, sandbox: XeroSandbox, tokens: dict[str, Any], org: Org
) -> None:
    other = sandbox.create_organisation("Not Connected Ltd")
    for tenant in (None, "", "00000000-0000-0000-0000-000000000000", other.organisation_id):
        r = contacts(http, tokens["access_token"], tenant)
        assert r.status_code == 403, tenant
        assert r.json()["Detail"] == "AuthenticationUnsuccessful"
    assert contacts(http, tokens["access_token"], org.organisation_id).status_code == 200


def test_connections_filter_by_auth_event(http: httpx.Client, sandbox: XeroSandbox, org: Org) -> None:
    second = sandbox.create_organisation("Second Org Ltd")
    first_code = authorize(http, sandbox_tenant_ids=org.organisation_id)["code"]
    first = exchange(http, first_code).json()
    second_code = authorize(http, sandbox_tenant_ids=second.organisation_id)["code"]
    tokens = exchange(http, second_code).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    everything = http.get("/connections", headers=auth).json()
    assert {c["tenantId"] for c in everything} == {org.organisation_id, second.organisation_id}
    assert all(c["tenantType"] == "ORGANISATION" for c in everything)
    event = jwt_claims(tokens["access_token"])["authentication_event_id"]
    only = http.get("/connections", params={"authEventId": event}, headers=auth).json()
    assert [c["tenantName"] for c in only] == ["Second Org Ltd"]
    first_event = jwt_claims(first["access_token"])["authentication_event_id"]
    assert first_event != event


def test_reconnect_keeps_connection_and_moves_updated_date(http: httpx.Client, org: Org, clock: ManualClock) -> None:
    tokens = exchange(http, authorize(http)["code"]).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    before = http.get("/connections", headers=auth).json()[0]
    clock.advance(3600)
    tokens = exchange(http, authorize(http)["code"]).json()
    after = http.get("/connections", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()[0]
    assert after["id"] == before["id"]
    assert after["createdDateUtc"] == before["createdDateUtc"]
    assert after["updatedDateUtc"] != before["updatedDateUtc"]


def test_delete_connection_disconnects_the_tenant(http: httpx.Client, tokens: dict[str, Any], org: Org) -> None:
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    connection = http.get("/connections", headers=auth).json()[0]
    r = http.delete(f"/connections/{connection['id']}", headers=auth)
    assert r.status_code == 204
    assert r.content == b""
    refused = contacts(http, tokens["access_token"], org.organisation_id)
    assert refused.status_code == 403
    assert refused.headers["X-DayLimit-Remaining"] == "5000"  # a refusal consumes no quota
    assert http.get("/connections", headers=auth).json() == []
    assert http.delete(f"/connections/{connection['id']}", headers=auth).status_code == 404


def test_disconnect_from_inside_xero_via_admin(http: httpx.Client, tokens: dict[str, Any], org: Org) -> None:
    r = http.post(f"/_sandbox/tenants/{org.organisation_id}/disconnect")
    assert r.json() == {"disconnected": 1}
    assert contacts(http, tokens["access_token"], org.organisation_id).status_code == 403


def test_revocation_kills_tokens_and_connections(http: httpx.Client, tokens: dict[str, Any], org: Org) -> None:
    r = http.post("/connect/revocation", data={"token": tokens["refresh_token"]}, headers={"Authorization": BASIC})
    assert r.status_code == 200
    assert refresh(http, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert contacts(http, tokens["access_token"], org.organisation_id).status_code == 401


def test_identity_calls_are_logged_with_status(http: httpx.Client, sandbox: XeroSandbox, org: Org) -> None:
    code = authorize(http)["code"]
    exchange(http, code)
    http.get("/_sandbox/requests")
    log = sandbox.request_log.entries()
    assert [(e.method, e.path, e.status) for e in log] == [
        ("GET", "/connect/authorize", 302),
        ("POST", "/connect/token", 200),
    ]


def test_broad_transactions_scope_is_refused_for_new_apps(http: httpx.Client, org: Org) -> None:
    r = http.get(
        "/connect/authorize",
        params={"response_type": "code", "client_id": "xero-sandbox-client", "redirect_uri": REDIRECT,
                "scope": "offline_access accounting.transactions"},
    )  # fmt: skip
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_scope"


def test_scopes_limit_what_a_token_can_do(http: httpx.Client, sandbox: XeroSandbox, org: Org) -> None:
    code = authorize(http, scope="offline_access accounting.contacts.read accounting.invoices")["code"]
    access = exchange(http, code).json()["access_token"]
    headers = {"Authorization": f"Bearer {access}", "xero-tenant-id": org.organisation_id}
    assert http.get("/api.xro/2.0/Contacts", headers=headers).status_code == 200
    write = http.put("/api.xro/2.0/Contacts", json={"Contacts": [{"Name": "No"}]}, headers=headers)
    assert write.status_code == 401
    assert write.json()["Detail"] == "AuthorizationUnsuccessful"
    assert http.get("/api.xro/2.0/Invoices", headers=headers).status_code == 200
    assert http.get("/api.xro/2.0/Payments", headers=headers).status_code == 401
    assert http.get("/api.xro/2.0/Accounts", headers=headers).status_code == 401


def test_identity_paths_also_answer_under_identity_prefix(http: httpx.Client, org: Org) -> None:
    r = http.get(
        "/identity/connect/authorize",
        params={"response_type": "code", "client_id": "xero-sandbox-client", "redirect_uri": REDIRECT,
                "scope": SCOPE},
    )  # fmt: skip
    assert r.status_code == 302
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["Location"]).query))["code"]
    assert exchange(http, code).status_code == 200
