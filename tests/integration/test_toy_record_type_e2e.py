"""A toy record type, registered through the public interface alone, synced end to end.

Real path: the Clio sandbox's matter webhook (registered because the registry now names the
``matter`` model) → the API receiver on the local runtime → SQS (moto over 127.0.0.1) → the real
worker Lambda handler, which finds the toy in the default registry → the Clio sandbox (read) and
the Xero sandbox (write) over loopback. The contact plug-in is switched off, so the matter's
client reaches Xero only because the toy asked for its parent: parents first, never an orphan.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from clio_xero.events import RecordType
from clio_xero.sync.record_types import default_registry
from clio_xero.sync.settings import ConnectionSettings
from clio_xero_tools.local.world import LocalWorld, local_world, register_clio_webhooks
from tests.toy_matters import ToyMatters

pytestmark = pytest.mark.integration


@pytest.fixture
def toy() -> Iterator[ToyMatters]:
    plugin = ToyMatters()
    default_registry().register(plugin)
    try:
        yield plugin
    finally:
        default_registry().unregister(RecordType.MATTER)


def register_webhooks(world: LocalWorld) -> list[str]:
    """What `clio-xero webhooks register` does: every model the registered types need."""
    records = register_clio_webhooks(world, world.runtime.clock)
    world.pump()  # the activation handshakes
    return sorted(r.model for r in records)


def xero_items(world: LocalWorld) -> dict[str, tuple[str, str | None, str | None]]:
    store = world.sandboxes.xero.store
    with store.lock:
        items = store.orgs[world.tenant_id].items.values()
        return {i.code: (i.item_id, i.name, i.description) for i in items}


def test_a_toy_record_type_syncs_end_to_end_parent_first(toy: ToyMatters) -> None:
    with local_world(settings=ConnectionSettings(sync_contacts=False), function_output=io.StringIO()) as world:
        assert register_webhooks(world) == ["matter"]  # what the switched-on types need (contacts are off)
        cid = world.connection_id
        client = world.sandboxes.clio.act_create("contacts", {"type": "Company", "name": "Harbour Freight Ltd"})
        matter = world.sandboxes.clio.act_create("matters", {"client": {"id": client.id}, "description": "Lease"})
        world.pump()

        parent = world.mappings.get(cid, "contact", str(client.id))
        assert parent is not None and parent.xero_id  # synced because the matter needed it
        mapping = world.mappings.get(cid, "matter", str(matter.id))
        assert mapping is not None and mapping.status.value == "ok" and mapping.depends_on == f"contact:{client.id}"
        item_id, name, description = xero_items(world)[f"M{matter.id}"]
        assert mapping.xero_id == item_id and name == matter.attrs["display_number"]
        assert description == f"Lease (client {parent.xero_id})"
        assert toy.batches  # the worker reached the toy through the default registry

        # An edit in Clio updates the same item (no second one).
        world.sandboxes.clio.act_update("matters", matter, {"description": "Lease renewal"})
        world.pump()
        items = xero_items(world)
        assert len(items) == 1 and items[f"M{matter.id}"] == (item_id, name, f"Lease renewal (client {parent.xero_id})")
