"""README's `local up --sandbox` walk-through, as written: with the default contact scope
(`clients`) a client created through the Clio sandbox's admin surface arrives in Xero; a plain
contact does not (README says so)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import pytest

from clio_xero_tools.local.world import LocalWorld
from clio_xero_tools.sandbox.xero.contacts import contact_json
from tests.integration.conftest import WorldPool

pytestmark = pytest.mark.integration


@pytest.fixture
def world(shared_world: WorldPool) -> Iterator[LocalWorld]:
    with shared_world(function_output=io.StringIO()) as w:  # default settings: contact_scope=clients
        yield w


def xero_names(world: LocalWorld) -> list[str]:
    store = world.sandboxes.xero.store
    with store.lock:
        return [contact_json(c)["Name"] for c in store.orgs[world.tenant_id].contacts.values()]


def test_the_walkthrough_contact_arrives_and_a_plain_one_stays_out_of_scope(world: LocalWorld) -> None:
    act = f"{world.sandboxes.clio_server.url}/_sandbox/act/contacts"
    client = {"type": "Company", "name": "Harbour Freight Pty Ltd", "is_client": True}  # README's body
    plain = {"type": "Company", "name": "Plain Supplies Pty Ltd"}
    assert httpx.post(act, json=client, timeout=10).status_code == 201
    assert httpx.post(act, json=plain, timeout=10).status_code == 201
    world.pump()
    assert "Harbour Freight Pty Ltd" in xero_names(world)
    assert "Plain Supplies Pty Ltd" not in xero_names(world)
