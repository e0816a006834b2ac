"""`clio-xero contacts create`: the "create a new one" answer to a contact waiting in review.

A Clio contact whose name an unlinked Xero contact already holds waits in `contacts review`; the
command creates a new Xero contact under the documented disambiguation (docs/mapping-contacts.md),
links and syncs it, and running it again creates nothing more.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from clio_xero.sync.mapping import MappingStatus
from clio_xero.sync.settings import ConnectionSettings, ContactScope
from clio_xero_tools.local.world import LocalWorld
from clio_xero_tools.sandbox.xero.contacts import contact_json
from tests.integration.conftest import WorldPool

pytestmark = pytest.mark.integration


@pytest.fixture
def world(shared_world: WorldPool) -> Iterator[LocalWorld]:
    with shared_world(settings=ConnectionSettings(contact_scope=ContactScope.ALL), function_output=io.StringIO()) as w:
        yield w


def xero_contacts(world: LocalWorld) -> list[dict[str, Any]]:
    store = world.sandboxes.xero.store
    with store.lock:
        return [contact_json(c) for c in store.orgs[world.tenant_id].contacts.values()]


def test_create_a_new_xero_contact_for_one_waiting_in_review(world: LocalWorld, cli: Any) -> None:
    world.sandboxes.xero.admin.create_contact(world.tenant_id, {"Name": "Harbour Freight Pty Ltd"})
    record = world.sandboxes.clio.act_create(
        "contacts", {"type": "Company", "name": "Harbour Freight Pty Ltd", "email_addresses": []}
    )
    world.pump()
    code, text = cli("contacts", "review")
    assert code == 1 and "contacts create CLIO_ID" in text

    code, out = cli("contacts", "create", str(record.id), "--json")
    assert code == 0, out
    assert out["xero_name"] == f"Harbour Freight Pty Ltd [C-{record.id}]"
    created = next(c for c in xero_contacts(world) if c["ContactID"] == out["xero_id"])
    assert (created["Name"], created["ContactNumber"]) == (out["xero_name"], f"CLIO-{record.id}")
    mapping = world.mappings.get(world.connection_id, "contact", str(record.id))
    assert mapping is not None and mapping.status is MappingStatus.OK and mapping.xero_id == out["xero_id"]
    assert cli("contacts", "review", "--json") == (0, [])

    before = len(xero_contacts(world))
    code, text = cli("contacts", "create", str(record.id))
    assert code == 1 and "unlink" in text  # already linked: nothing created twice
    assert cli("contacts", "create", "abc")[0] == 2
    world.pump()  # nothing echoes back or renames it
    assert len(xero_contacts(world)) == before
    assert next(c for c in xero_contacts(world) if c["ContactID"] == out["xero_id"])["Name"] == out["xero_name"]
