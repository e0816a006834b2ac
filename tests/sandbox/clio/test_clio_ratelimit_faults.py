"""Rate limits per access token, and seeded fault injection (API and webhook deliveries)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from clio_xero.clock import ManualClock
from clio_xero_tools.sandbox._base import FaultPlan
from clio_xero_tools.sandbox.clio import ClioSandbox

from .conftest import Receiver, client_for


def test_rate_limit_headers_on_every_response(sandbox: ClioSandbox, api: httpx.Client, clock: ManualClock) -> None:
    ok = api.get("/api/v4/contacts.json")
    missing = api.get("/api/v4/contacts/1.json")
    for r, remaining in ((ok, "49"), (missing, "48")):
        assert r.headers["X-RateLimit-Limit"] == "50"
        assert r.headers["X-RateLimit-Remaining"] == remaining
        assert int(r.headers["X-RateLimit-Reset"]) == int(clock.now().timestamp()) + 60


def test_429_with_retry_after_then_the_window_slides(make_sandbox: Any, clock: ManualClock) -> None:
    sb: ClioSandbox = make_sandbox(rate_limit_per_minute=3)
    with client_for(sb, str(sb.issue_token()["access_token"])) as c:
        for _ in range(3):
            assert c.get("/api/v4/contacts.json").status_code == 200
            clock.advance(10)
        r = c.get("/api/v4/contacts.json")
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "30"
        assert r.headers["X-RateLimit-Remaining"] == "0"
        assert r.json()["error"]["message"]
        clock.advance(30)
        assert c.get("/api/v4/contacts.json").status_code == 200


def test_limit_is_per_access_token(make_sandbox: Any) -> None:
    sb: ClioSandbox = make_sandbox(rate_limit_per_minute=2)
    with (
        client_for(sb, str(sb.issue_token()["access_token"])) as a,
        client_for(sb, str(sb.issue_token()["access_token"])) as b,
    ):
        assert [a.get("/api/v4/contacts.json").status_code for _ in range(3)] == [200, 200, 429]
        assert b.get("/api/v4/contacts.json").status_code == 200


def test_limit_is_configurable_through_the_admin_surface(
    sandbox: ClioSandbox, api: httpx.Client, admin: httpx.Client
) -> None:
    assert admin.put("/_sandbox/rate_limit", json={"per_minute": 1}).json() == {"per_minute": 1}
    assert api.get("/api/v4/contacts.json").headers["X-RateLimit-Limit"] == "1"
    assert api.get("/api/v4/contacts.json").status_code == 429


def _statuses(sb: ClioSandbox, n: int) -> list[int]:
    with client_for(sb, str(sb.issue_token()["access_token"])) as c:
        return [c.get("/api/v4/users/who_am_i.json").status_code for _ in range(n)]


def test_injected_errors_are_seeded_and_replayable(make_sandbox: Any) -> None:
    plan = {"seed": 7, "error_rate": 0.3, "status_codes": [500, 503]}
    first = _statuses(make_sandbox(faults=FaultPlan.from_dict(plan), rate_limit_per_minute=1000), 40)
    second = _statuses(make_sandbox(faults=FaultPlan.from_dict(plan), rate_limit_per_minute=1000), 40)
    assert first == second
    assert {500, 503, 200} == set(first)


def test_burst_of_429s(sandbox: ClioSandbox, api: httpx.Client, admin: httpx.Client) -> None:
    admin.put("/_sandbox/faults", json={"burst_429": 2})
    rs = [api.get("/api/v4/contacts.json") for _ in range(3)]
    assert [r.status_code for r in rs] == [429, 429, 200]
    assert rs[0].headers["Retry-After"] == "1"
    assert admin.delete("/_sandbox/faults").json() == {"faults": None}


def test_injected_timeout_raises_in_process(sandbox: ClioSandbox, api: httpx.Client) -> None:
    sandbox.faults = FaultPlan(timeout_rate=1.0)
    with pytest.raises(httpx.ReadTimeout):
        api.get("/api/v4/contacts.json")


def _hooked(make_sandbox: Any, plan: FaultPlan) -> ClioSandbox:
    sb: ClioSandbox = make_sandbox(faults=plan)
    sb.hub.create(
        {"url": "https://hooks.example/x", "model": "contact", "fields": "id,name"}, user_id=sb.default_user_id
    )
    sb.deliver_due_webhooks()
    return sb


def test_webhook_drop_and_duplicate(make_sandbox: Any, receiver: Receiver) -> None:
    sb = _hooked(make_sandbox, FaultPlan(seed=1, drop_rate=0.5))
    for i in range(10):
        sb.act_create("contacts", {"type": "Company", "name": f"C{i}"})
    posts = sb.deliver_due_webhooks()
    states = [d.state for d in sb.hub.deliveries if d.kind == "event"]
    assert posts == states.count("delivered") == len(receiver.events())
    assert 0 < states.count("dropped") < 10

    receiver.requests.clear()
    sb.faults = FaultPlan(seed=1, duplicate_rate=1.0)
    sb.act_create("contacts", {"type": "Company", "name": "Twice"})
    assert sb.deliver_due_webhooks() == 2
    assert receiver.events()[0] == receiver.events()[1]


def test_webhook_delay_and_reorder(make_sandbox: Any, receiver: Receiver, clock: ManualClock) -> None:
    sb = _hooked(make_sandbox, FaultPlan(seed=3, delay_seconds=90, reorder=True))
    names = [f"N{i}" for i in range(8)]
    for n in names:
        sb.act_create("contacts", {"type": "Company", "name": n})
    assert sb.deliver_due_webhooks() == 0
    clock.advance(90)
    assert sb.deliver_due_webhooks() == 8
    got = [json.loads(r.content)["data"]["name"] for r in receiver.event_requests()]
    assert sorted(got) == sorted(names)
    assert got != names


def test_added_latency_is_real_time(sandbox: ClioSandbox, api: httpx.Client) -> None:
    import time

    sandbox.faults = FaultPlan(latency_ms=30)
    started = time.perf_counter()
    assert api.get("/api/v4/contacts.json").status_code == 200
    assert time.perf_counter() - started >= 0.03
