"""Rate limits per tenant (concurrent, minute, day) and app-wide, with their headers."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from clio_xero.clock import ManualClock
from clio_xero_tools.sandbox._base import wsgi_transport
from clio_xero_tools.sandbox.xero import XeroLimits, XeroSandbox
from clio_xero_tools.sandbox.xero.store import Org

BASE = "http://xero.test/api.xro/2.0/"


def client_for(sandbox: XeroSandbox, tenant: str, token: str) -> httpx.Client:
    return httpx.Client(
        transport=wsgi_transport(sandbox.wsgi_app),
        base_url=BASE,
        headers={"Authorization": f"Bearer {token}", "xero-tenant-id": tenant},
    )


def test_headers_on_every_tenant_response(api: httpx.Client) -> None:
    r1 = api.get("Organisation")
    assert r1.headers["X-MinLimit-Remaining"] == "59"
    assert r1.headers["X-DayLimit-Remaining"] == "4999"
    assert r1.headers["X-AppMinLimit-Remaining"] == "9999"
    r2 = api.get("Contacts/00000000-0000-0000-0000-000000000000")
    assert r2.status_code == 404
    assert r2.headers["X-MinLimit-Remaining"] == "58"
    r3 = api.put("Contacts", json={"Contacts": [{}]})
    assert r3.status_code == 400
    assert r3.headers["X-DayLimit-Remaining"] == "4997"


def test_minute_limit_then_reset(api: httpx.Client, clock: ManualClock) -> None:
    clock.advance(0.5)
    for _ in range(60):
        assert api.get("Organisation").status_code == 200
    clock.advance(20)
    r = api.get("Organisation")
    assert r.status_code == 429
    assert r.headers["X-Rate-Limit-Problem"] == "minute"
    assert r.headers["Retry-After"] == "40"
    assert r.headers["X-MinLimit-Remaining"] == "0"
    clock.advance(40)
    ok = api.get("Organisation")
    assert ok.status_code == 200
    assert ok.headers["X-MinLimit-Remaining"] == "59"


def test_daily_limit_is_configurable(clock: ManualClock) -> None:
    sandbox = XeroSandbox(clock=clock, limits=XeroLimits(per_day=3))
    org = sandbox.create_organisation("Starter Tier Ltd")
    token = sandbox.issue_tokens()["access_token"]
    with client_for(sandbox, org.organisation_id, token) as api:
        for _ in range(3):
            assert api.get("Organisation").status_code == 200
        r = api.get("Organisation")
        assert r.status_code == 429
        assert r.headers["X-Rate-Limit-Problem"] == "day"
        assert int(r.headers["Retry-After"]) == 86400
        assert r.headers["X-DayLimit-Remaining"] == "0"
        clock.advance(86400)
        api.headers["Authorization"] = f"Bearer {sandbox.issue_tokens()['access_token']}"
        assert api.get("Organisation").status_code == 200


def test_limits_are_per_tenant_but_app_minute_is_shared(clock: ManualClock) -> None:
    sandbox = XeroSandbox(clock=clock, limits=XeroLimits(per_minute=2, app_per_minute=3))
    a = sandbox.create_organisation("Tenant A")
    b = sandbox.create_organisation("Tenant B")
    token = sandbox.issue_tokens()["access_token"]
    with client_for(sandbox, a.organisation_id, token) as ca, client_for(sandbox, b.organisation_id, token) as cb:
        assert ca.get("Organisation").status_code == 200
        assert ca.get("Organisation").status_code == 200
        assert ca.get("Organisation").headers["X-Rate-Limit-Problem"] == "minute"
        ok = cb.get("Organisation")
        assert ok.status_code == 200
        assert ok.headers["X-AppMinLimit-Remaining"] == "0"
        app = cb.get("Organisation")
        assert app.status_code == 429
        assert app.headers["X-Rate-Limit-Problem"] == "appminute"
        assert "Retry-After" not in app.headers


def test_identity_and_admin_calls_do_not_count(http: httpx.Client, api: httpx.Client, tokens: dict[str, Any]) -> None:
    http.get("/connections", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    http.get("/_sandbox/requests")
    assert api.get("Organisation").headers["X-MinLimit-Remaining"] == "59"


def test_five_concurrent_requests_then_429(sandbox: XeroSandbox, org: Org, tokens: dict[str, Any]) -> None:
    inside = threading.Semaphore(0)
    release = threading.Event()

    def hold(_tenant: str) -> None:
        inside.release()
        assert release.wait(10)

    sandbox.request_hook = hold
    with client_for(sandbox, org.organisation_id, tokens["access_token"]) as api, ThreadPoolExecutor(5) as pool:
        futures = [pool.submit(api.get, "Organisation") for _ in range(5)]
        for _ in range(5):
            assert inside.acquire(timeout=10)  # all five are now in flight
        sandbox.request_hook = None
        sixth = api.get("Organisation")
        assert sixth.status_code == 429
        assert sixth.headers["X-Rate-Limit-Problem"] == "concurrent"
        release.set()
        assert [f.result().status_code for f in futures] == [200] * 5
        assert api.get("Organisation").status_code == 200  # slots were released


def test_limit_429_is_logged(api: httpx.Client, sandbox: XeroSandbox, clock: ManualClock) -> None:
    sandbox.set_limits(XeroLimits(per_minute=1))
    api.get("Organisation")
    api.get("Organisation")
    log = sandbox.request_log.entries(path_prefix="/api.xro/2.0/Organisation")
    assert [e.status for e in log] == [200, 429]
    assert {e.connection for e in log} == {api.headers["xero-tenant-id"]}
