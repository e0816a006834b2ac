"""Seeded fault injection on the accounting API."""

from __future__ import annotations

import httpx
import pytest

from clio_xero_tools.sandbox._base import FaultPlan
from clio_xero_tools.sandbox.xero import XeroSandbox


def statuses(api: httpx.Client, n: int) -> list[int]:
    return [api.get("Organisation").status_code for _ in range(n)]


def test_organisation_offline_is_plain_text_503(api: httpx.Client, sandbox: XeroSandbox) -> None:
    sandbox.set_faults(FaultPlan(error_rate=1.0, status_codes=(503,)))
    r = api.get("Contacts")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text == "Organisation offline"
    assert "X-MinLimit-Remaining" in r.headers


def test_errors_are_seeded_and_replayable(api: httpx.Client, sandbox: XeroSandbox) -> None:
    sandbox.set_faults(FaultPlan(seed=42, error_rate=0.3, status_codes=(500, 503)))
    first = statuses(api, 30)
    sandbox.set_faults(FaultPlan(seed=42, error_rate=0.3, status_codes=(500, 503)))
    second = statuses(api, 30)
    assert first == second
    assert {500, 503, 200} <= set(first)


def test_429_burst_then_normal(api: httpx.Client, sandbox: XeroSandbox) -> None:
    sandbox.set_faults(FaultPlan(burst_429=3))
    responses = [api.get("Organisation") for _ in range(4)]
    assert [r.status_code for r in responses] == [429, 429, 429, 200]
    assert responses[0].headers["Retry-After"] == "60"
    assert responses[0].headers["X-Rate-Limit-Problem"] == "minute"


def test_timeout_after_the_work_is_done(api: httpx.Client, sandbox: XeroSandbox) -> None:
    sandbox.set_faults(FaultPlan(timeout_rate=1.0))
    with pytest.raises(httpx.ReadTimeout):
        api.put("Contacts", json={"Contacts": [{"Name": "Timed Out"}]})
    sandbox.set_faults(FaultPlan())
    # The nasty case: the client saw a timeout but the contact exists.
    assert [c["Name"] for c in api.get("Contacts").json()["Contacts"]] == ["Timed Out"]


def test_latency_is_added(api: httpx.Client, sandbox: XeroSandbox) -> None:
    import time

    sandbox.set_faults(FaultPlan(latency_ms=20))
    start = time.perf_counter()
    assert api.get("Organisation").status_code == 200
    assert time.perf_counter() - start >= 0.02


def test_faults_via_admin_surface(http: httpx.Client, api: httpx.Client) -> None:
    r = http.put("/_sandbox/faults", json={"seed": 1, "error_rate": 1.0, "status_codes": [500]})
    assert r.json()["error_rate"] == 1.0
    assert api.get("Organisation").status_code == 500
    http.delete("/_sandbox/faults")
    assert api.get("Organisation").status_code == 200
    log = http.get("/_sandbox/requests").json()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("GET", "/api.xro/2.0/Organisation", 500),
        ("GET", "/api.xro/2.0/Organisation", 200),
    ]


def test_timeout_then_retry_with_same_idempotency_key_does_not_duplicate(
    api: httpx.Client, sandbox: XeroSandbox
) -> None:
    sandbox.set_faults(FaultPlan(timeout_rate=1.0))
    body = {"Contacts": [{"Name": "Exactly Once"}]}
    with pytest.raises(httpx.ReadTimeout):
        api.put("Contacts", json=body, headers={"Idempotency-Key": "job-1"})
    sandbox.set_faults(FaultPlan())
    retry = api.put("Contacts", json=body, headers={"Idempotency-Key": "job-1"})
    assert retry.status_code == 200
    assert retry.json()["Contacts"][0]["Name"] == "Exactly Once"
    assert len(api.get("Contacts").json()["Contacts"]) == 1
