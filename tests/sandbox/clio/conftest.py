"""Fixtures for the Clio sandbox tests: a manual clock, a recording webhook receiver, an httpx
client speaking to the sandbox in-process, and a schema-fidelity check after every test."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from clio_xero.clock import ManualClock
from clio_xero_tools.sandbox._base import wsgi_transport
from clio_xero_tools.sandbox.clio import ClioSandbox, FirmSeed, seed_firm

BASE = "http://clio.test"


@dataclass
class Receiver:
    """A webhook endpoint as an httpx transport. ``mode`` decides how it answers handshakes;
    ``status`` (or ``statuses``, consumed in order) how it answers deliveries."""

    mode: str = "echo"  # "echo" → 200 + X-Hook-Secret; "ack" → 200 without the header
    status: int = 200
    statuses: list[int] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        secret = request.headers.get("X-Hook-Secret")
        if secret is not None:
            headers = {"X-Hook-Secret": secret} if self.mode == "echo" else {}
            return httpx.Response(200, headers=headers)
        return httpx.Response(self.statuses.pop(0) if self.statuses else self.status)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def handshakes(self) -> list[httpx.Request]:
        return [r for r in self.requests if "X-Hook-Secret" in r.headers]

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if "X-Hook-Signature" in r.headers]

    def event_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if "X-Hook-Signature" in r.headers]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def make_sandbox(clock: ManualClock, receiver: Receiver) -> Iterator[Callable[..., ClioSandbox]]:
    made: list[ClioSandbox] = []

    def make(**kw: Any) -> ClioSandbox:
        kw.setdefault("clock", clock)
        kw.setdefault("validate_responses", True)
        kw.setdefault("webhook_transport", receiver.transport)
        sb = ClioSandbox(**kw)
        made.append(sb)
        return sb

    yield make
    # "Every response body the sandboxes produce in the test suite validates against the
    # official schemas": checked after every test, deviations (docs) excepted.
    for sb in made:
        assert sb.schema_violations == [], "\n".join(sb.schema_violations[:20])


@pytest.fixture
def sandbox(make_sandbox: Callable[..., ClioSandbox]) -> ClioSandbox:
    return make_sandbox()


@contextmanager
def seeded_world(**sizes: Any) -> Iterator[tuple[ClioSandbox, FirmSeed, httpx.Client]]:
    """A validated sandbox seeded with ``sizes`` and an authenticated client, for module-scoped
    fixtures (one seed shared by a file's read-only tests); fails on any schema violation."""
    sb = ClioSandbox(clock=ManualClock(), validate_responses=True, rate_limit_per_minute=100_000)
    firm = seed_firm(sb, **sizes)
    with client_for(sb, str(sb.issue_token()["access_token"])) as api:
        yield sb, firm, api
    assert sb.schema_violations == [], "\n".join(sb.schema_violations[:20])


def client_for(sb: ClioSandbox, token: str | None = None, **headers: str) -> httpx.Client:
    hdrs = dict(headers)
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    return httpx.Client(transport=wsgi_transport(sb.wsgi_app), base_url=BASE, headers=hdrs)


@pytest.fixture
def api(sandbox: ClioSandbox) -> Iterator[httpx.Client]:
    """An authenticated client for the firm owner."""
    with client_for(sandbox, sandbox.issue_token()["access_token"]) as c:
        yield c


@pytest.fixture
def admin(sandbox: ClioSandbox) -> Iterator[httpx.Client]:
    with client_for(sandbox) as c:
        yield c


def new_contact(api: httpx.Client, **data: Any) -> dict[str, Any]:
    body = {"type": "Person", "first_name": "Ada", "last_name": "Lovelace", **data}
    r = api.post("/api/v4/contacts.json", json={"data": body}, params={"fields": "id,etag,name,updated_at"})
    assert r.status_code == 201, r.text
    return dict(r.json()["data"])
