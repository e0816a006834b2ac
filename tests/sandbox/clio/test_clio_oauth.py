"""OAuth: authorization-code flow, refresh without rotation, expiry, deauthorize."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from clio_xero.clock import ManualClock
from clio_xero_tools.sandbox.clio import ClioSandbox

from .conftest import client_for

REDIRECT = "http://127.0.0.1:8765/callback"
CLIENT = {"client_id": "clio-sandbox-client", "client_secret": "clio-sandbox-secret"}


def _authorize(c: httpx.Client, **extra: str) -> httpx.Response:
    params = {
        "response_type": "code",
        "client_id": CLIENT["client_id"],
        "redirect_uri": REDIRECT,
        "state": "xyz",
        **extra,
    }
    return c.get("/oauth/authorize", params=params)


def _code(c: httpx.Client) -> str:
    location = _authorize(c).headers["Location"]
    return parse_qs(urlsplit(location).query)["code"][0]


def _exchange(c: httpx.Client, code: str, redirect: str = REDIRECT) -> httpx.Response:
    return c.post(
        "/oauth/token", data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect, **CLIENT}
    )


def test_authorize_auto_approves_and_redirects_with_code_and_state(sandbox: ClioSandbox) -> None:
    with client_for(sandbox) as c:
        r = _authorize(c)
    assert r.status_code == 302
    loc = urlsplit(r.headers["Location"])
    assert f"{loc.scheme}://{loc.netloc}{loc.path}" == REDIRECT
    q = parse_qs(loc.query)
    assert q["state"] == ["xyz"]
    assert len(q["code"][0]) > 20


def test_consent_page_is_one_click(sandbox: ClioSandbox) -> None:
    with client_for(sandbox) as c:
        page = _authorize(c, prompt="consent")
        assert page.status_code == 200
        assert "<form" in page.text
        assert "Allow access" in page.text
        clicked = c.post(
            "/oauth/authorize",
            data={"response_type": "code", "client_id": CLIENT["client_id"], "redirect_uri": REDIRECT, "state": "s1"},
        )
    assert clicked.status_code == 302
    assert "code=" in clicked.headers["Location"]


def test_code_exchange_returns_bearer_tokens_that_work(sandbox: ClioSandbox) -> None:
    with client_for(sandbox) as c:
        tok = _exchange(c, _code(c)).json()
        assert tok["token_type"] == "bearer"
        assert tok["expires_in"] == 30 * 24 * 3600
        assert set(tok) == {"access_token", "refresh_token", "token_type", "expires_in"}
        me = c.get(
            "/api/v4/users/who_am_i.json",
            params={"fields": "id,name"},
            headers={"Authorization": f"Bearer {tok['access_token']}"},
        )
    assert me.status_code == 200
    assert me.json()["data"] == {"id": sandbox.default_user_id, "name": "Alex Owner"}


def test_code_is_single_use_and_bound_to_redirect_uri(sandbox: ClioSandbox) -> None:
    with client_for(sandbox) as c:
        code = _code(c)
        wrong = _exchange(c, code, redirect="http://127.0.0.1:9/other")
        assert wrong.status_code == 400
        assert wrong.json()["error"] == "invalid_grant"
        assert _exchange(c, code).status_code == 200
        again = _exchange(c, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_code_expires(sandbox: ClioSandbox, clock: ManualClock) -> None:
    with client_for(sandbox) as c:
        code = _code(c)
        clock.advance(11 * 60)
        assert _exchange(c, code).json()["error"] == "invalid_grant"


def test_bad_client_credentials_are_invalid_client(sandbox: ClioSandbox) -> None:
    with client_for(sandbox) as c:
        r = c.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": "x",
                "client_id": CLIENT["client_id"],
                "client_secret": "nope",
            },
        )
        bad_client = c.get(
            "/oauth/authorize", params={"response_type": "code", "client_id": "other", "redirect_uri": REDIRECT}
        )
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert bad_client.status_code == 400
    assert bad_client.json()["error"] == "invalid_client"


def test_registered_redirect_uris_are_enforced(sandbox: ClioSandbox) -> None:
    with client_for(sandbox) as c:
        assert (
            c.put("/_sandbox/oauth/redirect_uris", json={"redirect_uris": ["https://app.example/cb"]}).status_code
            == 200
        )
        r = _authorize(c)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


def test_refresh_does_not_rotate_and_can_be_reused(sandbox: ClioSandbox) -> None:
    with client_for(sandbox) as c:
        first = _exchange(c, _code(c)).json()
        form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **CLIENT}
        a = c.post("/oauth/token", data=form).json()
        b = c.post("/oauth/token", data=form).json()
    assert "refresh_token" not in a
    assert "refresh_token" not in b
    assert len({first["access_token"], a["access_token"], b["access_token"]}) == 3
    assert a["expires_in"] == 30 * 24 * 3600


def test_expired_access_token_is_401_invalid_token(make_sandbox: object, clock: ManualClock) -> None:
    sb: ClioSandbox = make_sandbox(access_token_ttl=3600)  # type: ignore[operator]
    tok = sb.issue_token()
    with client_for(sb, str(tok["access_token"])) as c:
        assert c.get("/api/v4/contacts.json").status_code == 200
        clock.advance(3600)
        r = c.get("/api/v4/contacts.json")
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"
    assert "expired" in r.json()["error_description"]
    assert "invalid_token" in r.headers["WWW-Authenticate"]


def test_missing_or_garbage_token_is_401(sandbox: ClioSandbox) -> None:
    with client_for(sandbox) as c:
        assert c.get("/api/v4/contacts.json").json()["error"] == "invalid_token"
        assert c.get("/api/v4/contacts.json", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_deauthorize_revokes_access_and_refresh_tokens(sandbox: ClioSandbox) -> None:
    tok = sandbox.issue_token()
    with client_for(sandbox, str(tok["access_token"])) as c:
        assert c.post("/oauth/deauthorize", data={"token": tok["access_token"]}).status_code == 200
        assert c.get("/api/v4/contacts.json").status_code == 401
        r = c.post(
            "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": tok["refresh_token"], **CLIENT}
        )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"


def test_unsupported_grant_type(sandbox: ClioSandbox) -> None:
    with client_for(sandbox) as c:
        r = c.post("/oauth/token", data={"grant_type": "client_credentials", **CLIENT})
    assert r.status_code == 400
    assert r.json()["error"] == "unsupported_grant_type"
