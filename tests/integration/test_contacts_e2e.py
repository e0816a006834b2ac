"""Contacts both ways through the real path: sandbox webhooks → local API → SQS → worker → the other sandbox.

Everything crosses loopback HTTP: the sandboxes deliver signed webhooks to the local runtime's
API; the worker calls the sandboxes' APIs with tokens from the encrypted token store. The
sandboxes' request logs count the writes.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from clio_xero.sync.settings import ConnectionSettings, ContactScope
from clio_xero_tools.local.world import LocalWorld
from clio_xero_tools.sandbox.xero.contacts import contact_json
from tests.integration.conftest import WorldPool

pytestmark = pytest.mark.integration


@pytest.fixture
def world(shared_world: WorldPool) -> Iterator[LocalWorld]:
    with shared_world(settings=ConnectionSettings(contact_scope=ContactScope.ALL), function_output=io.StringIO()) as w:
        yield w


def writes(world: LocalWorld) -> tuple[int, int]:
    """(Clio contact writes, Xero contact writes) seen by the sandboxes so far."""
    clio = [
        r
        for r in world.sandboxes.clio.request_log.entries()
        if r.method in ("POST", "PATCH", "DELETE") and r.path.startswith("/api/v4/contacts")
    ]
    xero = [
        r
        for r in world.sandboxes.xero.request_log.entries()
        if r.method in ("POST", "PUT") and r.path.startswith("/api.xro/2.0/Contacts")
    ]
    return len(clio), len(xero)


def xero_contact(world: LocalWorld, xero_id: str) -> dict[str, Any]:
    """What Xero holds now (read from the sandbox's store: not an API call, not logged)."""
    store = world.sandboxes.xero.store
    with store.lock:
        return contact_json(store.orgs[world.tenant_id].contacts[xero_id])


def test_webhooks_are_activated(world: LocalWorld) -> None:
    with world.clio_api() as clio:
        hooks = clio.get("/webhooks.json", params={"fields": "id,status,url"}).json()["data"]
    assert [h["status"] for h in hooks] == ["enabled"]
    assert world.sandboxes.xero.webhooks.status == "OK"


def test_clio_contact_created_reaches_xero_once_and_echoes_are_suppressed(world: LocalWorld) -> None:
    record = world.sandboxes.clio.act_create(
        "contacts",
        {
            "type": "Person",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email_addresses": [{"address": "ada@example.test", "name": "Work", "primary": True}],
        },
    )
    world.pump()
    mapping = world.mappings.get(world.connection_id, "contact", str(record.id))
    assert mapping is not None and mapping.xero_id
    xero = xero_contact(world, mapping.xero_id)
    assert (xero["Name"], xero["EmailAddress"], xero["ContactNumber"]) == (
        "Ada Lovelace",
        "ada@example.test",
        f"CLIO-{record.id}",
    )
    assert writes(world) == (0, 1)  # the Xero webhook for our own write came back: no second write

    world.sandboxes.clio.act_update("contacts", record, {"last_name": "King"})
    world.pump()
    assert xero_contact(world, mapping.xero_id)["LastName"] == "King"
    assert writes(world) == (0, 2)  # one Clio edit: exactly one Xero write, zero Clio writes


def test_xero_user_edit_updates_clio(world: LocalWorld) -> None:
    record = world.sandboxes.clio.act_create("contacts", {"type": "Company", "name": "Acme Pty Ltd"})
    world.pump()
    mapping = world.mappings.get(world.connection_id, "contact", str(record.id))
    assert mapping is not None and mapping.xero_id
    world.sandboxes.xero.admin.update_contact(world.tenant_id, mapping.xero_id, {"EmailAddress": "ap@acme.test"})
    world.pump()
    with world.clio_api() as clio:
        data = clio.get(f"/contacts/{record.id}.json", params={"fields": "id,email_addresses{address}"}).json()["data"]
    assert [e["address"] for e in data["email_addresses"]] == ["ap@acme.test"]
    assert writes(world) == (1, 1)  # Clio's echo of our write did not bounce back to Xero


def test_deleting_in_clio_archives_in_xero(world: LocalWorld) -> None:
    record = world.sandboxes.clio.act_create("contacts", {"type": "Company", "name": "Gone Ltd"})
    world.pump()
    mapping = world.mappings.get(world.connection_id, "contact", str(record.id))
    assert mapping is not None and mapping.xero_id
    world.sandboxes.clio.act_delete("contacts", record)
    world.pump()
    assert xero_contact(world, mapping.xero_id)["ContactStatus"] == "ARCHIVED"
