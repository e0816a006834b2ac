"""Both clients against both sandboxes served on 127.0.0.1 (real HTTP, werkzeug threads)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from clio_xero.clients import ClioEndpoints, XeroEndpoints
from clio_xero.clock import ManualClock
from clio_xero_tools.sandbox._base import ServedApp, serve
from tests.clients.conftest import ClioWorld, XeroWorld, make_clio_world, make_xero_world

pytestmark = pytest.mark.integration


@pytest.fixture
def served_xero(clock: ManualClock) -> Iterator[XeroWorld]:
    world = make_xero_world(clock)
    server: ServedApp = serve(world.sandbox.wsgi_app)
    world.transport = None  # type: ignore[assignment]  # real sockets
    world.endpoints = XeroEndpoints.sandbox(server.url)
    yield world
    server.close()


@pytest.fixture
def served_clio(clock: ManualClock) -> Iterator[ClioWorld]:
    world = make_clio_world(clock, access_token_ttl=600)
    server = serve(world.sandbox.wsgi_app)
    world.transport = None  # type: ignore[assignment]
    world.endpoints = ClioEndpoints(server.url)
    yield world
    server.close()


def test_xero_over_loopback(served_xero: XeroWorld, clock: ManualClock) -> None:
    client = served_xero.client()
    [ok, bad] = client.save_contacts([{"Name": "Loop", "ContactNumber": "CLIO-L1"}, {"Name": ""}],
                                     idempotency_key="loop-1", create=True)  # fmt: skip
    assert ok.ok and not bad.ok and bad.errors
    clock.advance(1800)  # expired: the next call refreshes through the served token endpoint
    found = client.find_contact_by_number("CLIO-L1")
    assert found is not None and found["ContactID"] == ok.record["ContactID"]  # type: ignore[index]
    assert served_xero.token_calls() == 1
    client.close()


def test_clio_over_loopback(served_clio: ClioWorld, clock: ManualClock) -> None:
    client = served_clio.client()
    created = client.create_contact({"type": "Company", "name": "Loopback LLP"})
    clock.advance(601)
    assert client.get_contact(created["id"])["name"] == "Loopback LLP"  # type: ignore[index]
    assert [r["id"] for r in client.iter_contacts()] == [created["id"]]
    assert len(served_clio.sandbox.request_log.entries(path_prefix="/oauth/token")) == 1
    client.close()
