"""Contacts under the faults real integrations meet, end to end over loopback.

One ManualClock drives the sandboxes and every function the local runtime hosts, so rate-limit
windows, token expiry and retries move when the test says so; nothing waits on the wall clock
except the one deliberate network timeout (1 s).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from clio_xero.clock import ManualClock
from clio_xero.sync.contacts.projection import from_clio, from_xero
from clio_xero.sync.mapping import MappingStatus
from clio_xero.sync.settings import ConnectionSettings, ContactScope
from clio_xero_tools.local.scheduler import scheduled_event
from clio_xero_tools.local.world import LocalWorld
from clio_xero_tools.sandbox._base import FaultPlan
from clio_xero_tools.sandbox.clio.store import Record
from clio_xero_tools.sandbox.xero.contacts import contact_json
from tests.integration.conftest import WorldPool

pytestmark = pytest.mark.integration


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def world(shared_world: WorldPool, clock: ManualClock) -> Iterator[LocalWorld]:
    with shared_world(
        settings=ConnectionSettings(contact_scope=ContactScope.ALL),
        function_output=io.StringIO(),
        clock=clock,
        api_timeout_seconds=1,
    ) as w:
        yield w


def xero_contacts(world: LocalWorld) -> list[dict[str, Any]]:
    store = world.sandboxes.xero.store
    with store.lock:
        return [contact_json(c) for c in store.orgs[world.tenant_id].contacts.values()]


def clio_record(world: LocalWorld, clio_id: int) -> dict[str, Any]:
    with world.clio_api() as clio:
        fields = (
            "id,etag,updated_at,type,name,first_name,last_name,sales_tax_number,"
            "email_addresses{id,address,name,primary},phone_numbers{id,number,name,primary},"
            "addresses{id,street,city,province,postal_code,country,name,primary}"
        )
        data: dict[str, Any] = clio.get(f"/contacts/{clio_id}.json", params={"fields": fields}).json()["data"]
        return data


def agree(world: LocalWorld, clio_id: int) -> bool:
    """Both sides hold the same shared projection (docs/mapping-contacts.md)."""
    mapping = world.mappings.get(world.connection_id, "contact", str(clio_id))
    assert mapping is not None and mapping.xero_id
    xero = next(c for c in xero_contacts(world) if c["ContactID"] == mapping.xero_id)
    return from_clio(clio_record(world, clio_id)) == from_xero(xero)


def dead_letters(world: LocalWorld) -> int:
    attrs = world.runtime.client("sqs").get_queue_attributes(
        QueueUrl=world.runtime.queue_url("SyncDeadLetterQueue"), AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"])


def stored(world: LocalWorld, clio_id: int) -> Record:
    record = world.sandboxes.clio.store.get("contacts", clio_id)
    assert record is not None
    return record


def person(world: LocalWorld, first: str, last: str, email: str) -> int:
    record = world.sandboxes.clio.act_create(
        "contacts",
        {
            "type": "Person",
            "first_name": first,
            "last_name": last,
            "email_addresses": [{"address": email, "name": "Work", "primary": True}],
        },
    )
    return int(record.id)


def test_duplicated_and_reordered_webhooks_change_nothing(world: LocalWorld) -> None:
    world.sandboxes.clio.faults = FaultPlan(seed=7, duplicate_rate=1.0, reorder=True)
    world.sandboxes.xero.set_faults(FaultPlan(seed=7, duplicate_rate=1.0, reorder=True))
    ids = [person(world, "Ann", f"Lee{i}", f"ann{i}@x.test") for i in range(3)]
    world.sandboxes.clio.act_update("contacts", stored(world, ids[0]), {"last_name": "Leigh"})
    world.pump()
    numbers = sorted(str(c.get("ContactNumber")) for c in xero_contacts(world))
    assert numbers == sorted(f"CLIO-{i}" for i in ids)  # each exactly once
    assert all(agree(world, i) for i in ids)
    assert dead_letters(world) == 0


def test_a_dropped_webhook_is_caught_by_the_sweep(world: LocalWorld, clock: ManualClock) -> None:
    sweep = world.runtime.functions["SweepFunction"]
    assert sweep.invoke(scheduled_event("sweep", clock.now()))["queued"] == 0  # first run: cursors only
    world.sandboxes.clio.faults = FaultPlan(seed=1, drop_rate=1.0)
    clock.advance(60)
    lost = person(world, "Dropped", "Webhook", "lost@x.test")
    world.pump()
    assert world.mappings.get(world.connection_id, "contact", str(lost)) is None  # the webhook never came
    world.sandboxes.clio.faults = FaultPlan()
    clock.advance(15 * 60)
    report = sweep.invoke(scheduled_event("sweep", clock.now()))
    assert report["queued"] >= 1 and report["failed"] == {}
    world.pump()
    assert agree(world, lost)


def test_concurrent_edits_on_both_sides_converge_field_by_field(world: LocalWorld, clock: ManualClock) -> None:
    clio_id = person(world, "Grace", "Hopper", "grace@x.test")
    world.pump()
    mapping = world.mappings.get(world.connection_id, "contact", str(clio_id))
    assert mapping is not None and mapping.xero_id
    # Both sides change before either webhook is delivered.
    world.sandboxes.clio.act_update("contacts", stored(world, clio_id), {"sales_tax_number": "CLIO-TAX"})
    clock.advance(5)
    world.sandboxes.xero.admin.update_contact(
        world.tenant_id, mapping.xero_id, {"TaxNumber": "XERO-TAX", "EmailAddress": "g@navy.test"}
    )
    world.pump()
    assert agree(world, clio_id)
    final = clio_record(world, clio_id)
    assert final["sales_tax_number"] == "XERO-TAX"  # both changed it: Xero changed it last
    assert [e["address"] for e in final["email_addresses"]] == ["g@navy.test"]  # only Xero changed it
    conflicts = world.mappings.get(world.connection_id, "contact", str(clio_id)).conflicts  # type: ignore[union-attr]
    assert [(c.field, c.winner) for c in conflicts] == [("tax_number", "xero")]


def test_same_name_contacts_both_reach_xero(world: LocalWorld) -> None:
    first, second = person(world, "John", "Smith", "j1@x.test"), person(world, "John", "Smith", "j2@x.test")
    world.pump()
    names = sorted(c["Name"] for c in xero_contacts(world))
    assert names == ["John Smith", f"John Smith [C-{second}]"]
    assert agree(world, first) and agree(world, second)


def test_a_429_storm_delays_but_loses_nothing(world: LocalWorld, clock: ManualClock) -> None:
    world.sandboxes.xero.set_faults(FaultPlan(burst_429=4))
    ids = [person(world, "Storm", f"P{i}", f"s{i}@x.test") for i in range(3)]
    for _ in range(12):  # bounded: each round lets the rate limit's Retry-After pass
        with contextlib.suppress(RuntimeError):  # still throttled: time moves on below
            world.pump(max_rounds=8)
        if all(world.mappings.get(world.connection_id, "contact", str(i)) for i in ids):
            break
        clock.advance(61)
        world.runtime.advance_queue_time(61)  # SQS honours the worker's Retry-After delay: let it pass there too
    assert all(agree(world, i) for i in ids)
    assert len(xero_contacts(world)) == 3
    assert any(r.status == 429 for r in world.sandboxes.xero.request_log.entries())
    assert dead_letters(world) == 0


def test_token_expiry_mid_run_is_refreshed_once(world: LocalWorld, clock: ManualClock) -> None:
    first = person(world, "Early", "Bird", "early@x.test")
    world.pump()
    clock.advance(31 * 60)  # Xero access tokens live 30 minutes
    later = person(world, "Late", "Comer", "late@x.test")
    world.pump()
    assert agree(world, first) and agree(world, later)
    token_calls = world.sandboxes.xero.request_log.entries(method="POST", path_prefix="/connect/token")
    assert len(token_calls) == 1


def test_uncertain_outcome_then_retry_still_one_xero_contact(world: LocalWorld) -> None:
    # The Xero write succeeds but the worker never hears back (a timeout: the same state as a
    # worker killed between the Xero write and the mapping write). The retry must find it by
    # ContactNumber instead of creating it again.
    world.sandboxes.xero.timeout_sleep_seconds = 1.5
    world.sandboxes.xero.set_faults(FaultPlan(timeout_rate=1.0))
    world.sandboxes.xero.request_hook = lambda tenant: world.sandboxes.xero.set_faults(FaultPlan())
    clio_id = person(world, "Uncertain", "Outcome", "u@x.test")
    world.pump()
    matching = [c for c in xero_contacts(world) if c.get("ContactNumber") == f"CLIO-{clio_id}"]
    assert len(matching) == 1
    mapping = world.mappings.get(world.connection_id, "contact", str(clio_id))
    assert mapping is not None and mapping.status is MappingStatus.OK
    assert mapping.xero_id == matching[0]["ContactID"]
