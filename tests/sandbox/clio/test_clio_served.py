"""The sandbox over real loopback HTTP (``serve()``): OAuth with a browser-style redirect, the
API, the admin surface, and webhook deliveries to a real loopback receiver."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterable, Iterator
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from clio_xero.clock import ManualClock
from clio_xero.webhooks.signing import verify_clio
from clio_xero_tools.cli import app
from clio_xero_tools.cli import sandbox as cli_sandbox
from clio_xero_tools.sandbox._base import ServedApp, serve
from clio_xero_tools.sandbox.clio import ClioSandbox

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

pytestmark = pytest.mark.integration


class LoopbackReceiver:
    """A tiny WSGI webhook endpoint: echoes the handshake secret, records signed deliveries."""

    def __init__(self) -> None:
        self.bodies: list[tuple[bytes, str | None]] = []
        self.lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        secret = environ.get("HTTP_X_HOOK_SECRET")
        headers = [("Content-Type", "text/plain")]
        if secret:
            headers.append(("X-Hook-Secret", secret))
        else:
            with self.lock:
                self.bodies.append((body, environ.get("HTTP_X_HOOK_SIGNATURE")))
        start_response("200 OK", headers)
        return [b""]


@pytest.fixture
def served() -> Iterator[tuple[ClioSandbox, ServedApp, ServedApp, LoopbackReceiver]]:
    sb = ClioSandbox(clock=ManualClock(), validate_responses=True)  # real HTTP for webhooks
    receiver = LoopbackReceiver()
    api_server, hook_server = serve(sb.wsgi_app), serve(receiver)
    try:
        yield sb, api_server, hook_server, receiver
    finally:
        api_server.close()
        hook_server.close()
    assert sb.schema_violations == []


def test_full_round_trip_over_loopback(served: tuple[ClioSandbox, ServedApp, ServedApp, LoopbackReceiver]) -> None:
    sb, api_server, hook_server, receiver = served
    redirect = f"{hook_server.url}/oauth/callback"
    with httpx.Client(base_url=api_server.url, timeout=5) as c:
        auth = c.get(
            "/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": "clio-sandbox-client",
                "redirect_uri": redirect,
                "state": "st",
            },
        )
        assert auth.status_code == 302
        code = parse_qs(urlsplit(auth.headers["Location"]).query)["code"][0]
        tok = c.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect,
                "client_id": "clio-sandbox-client",
                "client_secret": "clio-sandbox-secret",
            },
        ).json()
        h = {"Authorization": f"Bearer {tok['access_token']}"}

        seeded = c.post("/_sandbox/seed", json={"contacts": 20, "activities": 40, "bills": 6}).json()
        assert seeded["counts"]["contacts"] == 20
        page = c.get("/api/v4/contacts.json", params={"fields": "id,name", "limit": 15}, headers=h).json()
        assert len(page["data"]) == 15
        assert page["meta"]["paging"]["next"].startswith(api_server.url)
        rest = c.get(page["meta"]["paging"]["next"], headers=h).json()
        # 20 seeded contacts plus the 4 clients of the trust recipe
        assert len(seeded["trust_recipe"]["clients"]) == 4
        assert len(rest["data"]) == 9

        hook = c.post(
            "/api/v4/webhooks.json",
            json={
                "data": {
                    "url": f"{hook_server.url}/hooks/clio",
                    "model": "contact",
                    "events": ["updated"],
                    "fields": "id,name",
                }
            },
            headers=h,
            params={"fields": "id,shared_secret,status"},
        ).json()["data"]
        assert hook["status"] == "pending"
        assert c.post("/_sandbox/webhooks/deliver").json() == {"posts": 1}
        assert (
            c.get(f"/api/v4/webhooks/{hook['id']}.json", params={"fields": "status"}, headers=h).json()["data"][
                "status"
            ]
            == "enabled"
        )

        first = page["data"][0]
        c.patch(f"/_sandbox/act/contacts/{first['id']}", json={"type": "Company", "name": "Renamed In Web App"})
        assert c.post("/_sandbox/webhooks/deliver").json() == {"posts": 1}
        ((body, signature),) = receiver.bodies
        verify_clio(body, signature, hook["shared_secret"])
        payload: dict[str, Any] = json.loads(body)
        assert payload == {
            "data": {"id": first["id"], "name": "Renamed In Web App"},
            "meta": {"event": "updated", "webhook_id": hook["id"]},
        }

        c.post("/_sandbox/clock/advance", json={"seconds": 31 * 24 * 3600})
        expired = c.get("/api/v4/contacts.json", headers=h)
        assert expired.status_code == 401
        assert expired.json()["error"] == "invalid_token"
        log = c.get("/_sandbox/requests").json()
        assert log["count"] == len(sb.request_log.entries())
        assert log["requests"][0]["path"].startswith("/oauth/authorize")
        assert {r["status"] for r in log["requests"]} >= {200, 201, 302, 401}


@pytest.mark.parametrize(("args", "pumps"), [(["--deliver-every", "0"], 0), ([], 1)])
def test_sandbox_up_pushes_webhooks_only_when_told(
    monkeypatch: pytest.MonkeyPatch, args: list[str], pumps: int
) -> None:
    """`clio-xero sandbox up` pushes due webhooks every second by default (as Clio does);
    `--deliver-every 0` leaves delivery to POST /_sandbox/webhooks/deliver (docs/sandbox-clio.md)."""
    running_pumps: list[int] = []

    class StopAtOnce:
        """Stands in for the Ctrl-C wait: looks at the running process, then lets `up` return."""

        def set(self) -> None:
            return None

        def wait(self, timeout: float | None = None) -> bool:
            running_pumps.append(sum(t.name == "webhook-pump" and t.is_alive() for t in threading.enumerate()))
            return True

    monkeypatch.setattr(cli_sandbox, "threading", SimpleNamespace(Event=StopAtOnce))
    monkeypatch.setattr(signal, "signal", lambda *_a: None)
    result = CliRunner().invoke(app, ["sandbox", "up", "--clio-port", "0", "--xero-port", "0", "--no-seed", *args])
    assert result.exit_code == 0, result.output
    assert running_pumps == [pumps]
    assert ("only on POST /_sandbox/webhooks/deliver" in result.output) == (pumps == 0)
