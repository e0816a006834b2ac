"""Fixtures for the Xero sandbox suite: a sandbox on a ManualClock with schema validation on,
one organisation, tokens for it, and httpx clients that talk to it in-process."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from clio_xero.clock import ManualClock
from clio_xero.errors import SignatureError
from clio_xero.webhooks.signing import verify_xero
from clio_xero_tools.sandbox._base import wsgi_transport
from clio_xero_tools.sandbox.xero import XeroSandbox
from clio_xero_tools.sandbox.xero.store import Org

BASE = "http://xero.test"
WEBHOOK_KEY = "test-webhook-key-0123456789"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@dataclass
class Receiver:
    """A webhook endpoint that behaves like a correct Xero receiver (unless told otherwise)."""

    key: str = WEBHOOK_KEY
    mode: str = "correct"  # correct | always_200 | fail | body
    posts: list[dict[str, Any]] = field(default_factory=list)
    raw: list[tuple[bytes, str]] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        signature = request.headers.get("x-xero-signature", "")
        self.raw.append((body, signature))
        if self.mode == "fail":
            return httpx.Response(500)
        if self.mode == "always_200":
            return httpx.Response(200)
        try:
            verify_xero(body, signature, self.key)
        except SignatureError:
            return httpx.Response(401)
        self.posts.append(json.loads(body))
        return httpx.Response(200, content=b"ok" if self.mode == "body" else b"")

    @property
    def events(self) -> list[dict[str, Any]]:
        return [e for p in self.posts for e in p["events"]]


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def sandbox(clock: ManualClock, receiver: Receiver) -> Iterator[XeroSandbox]:
    sb = XeroSandbox(clock=clock, validate_responses=True, webhook_transport=httpx.MockTransport(receiver.handler))
    yield sb
    # Every response body (and webhook payload) of the test validated against Xero's own specs.
    assert sb.schema_violations == []


@pytest.fixture
def org(sandbox: XeroSandbox) -> Org:
    return sandbox.create_organisation("Test Legal Pty Ltd")


@pytest.fixture
def tokens(sandbox: XeroSandbox, org: Org) -> dict[str, Any]:
    return sandbox.issue_tokens([org.organisation_id])


@pytest.fixture
def http(sandbox: XeroSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(transport=wsgi_transport(sandbox.wsgi_app), base_url=BASE) as client:
        yield client


@pytest.fixture
def api(sandbox: XeroSandbox, org: Org, tokens: dict[str, Any]) -> Iterator[httpx.Client]:
    """An accounting client for ``org``: base URL ``/api.xro/2.0/``, bearer and tenant headers set."""
    with httpx.Client(
        transport=wsgi_transport(sandbox.wsgi_app),
        base_url=f"{BASE}/api.xro/2.0/",
        headers={"Authorization": f"Bearer {tokens['access_token']}", "xero-tenant-id": org.organisation_id},
    ) as client:
        yield client


@pytest.fixture
def make_contact(api: httpx.Client) -> Callable[..., dict[str, Any]]:
    def make(name: str, **fields: Any) -> dict[str, Any]:
        r = api.put("Contacts", json={"Contacts": [{"Name": name, **fields}]})
        assert r.status_code == 200, r.text
        return dict(r.json()["Contacts"][0])

    return make


@pytest.fixture
def make_invoice(api: httpx.Client, make_contact: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    def make(status: str = "AUTHORISED", amount: float = 100.0, **fields: Any) -> dict[str, Any]:
        contact = fields.pop("contact", None) or make_contact(f"Client {len(api.get('Contacts').json()['Contacts'])}")
        body = {
            "Type": "ACCREC",
            "Contact": {"ContactID": contact["ContactID"]},
            "Status": status,
            "DueDate": "2026-02-05",
            "LineItems": [{"Description": "Advice", "Quantity": 1, "UnitAmount": amount, "AccountCode": "200"}],
            **fields,
        }
        r = api.put("Invoices", json={"Invoices": [body]})
        assert r.status_code == 200, r.text
        return dict(r.json()["Invoices"][0])

    return make


@pytest.fixture
def hooked(sandbox: XeroSandbox, receiver: Receiver, org: Org) -> Receiver:
    """The receiver behind a configured webhook that passed intent to receive, its log cleared."""
    sandbox.configure_webhook("https://hooks.example/xero", WEBHOOK_KEY)
    sandbox.deliver_due_webhooks()
    receiver.posts.clear()
    return receiver
