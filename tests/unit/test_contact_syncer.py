"""The contact syncer against in-memory fakes: every rule of the contact sync, one test each."""

from __future__ import annotations

import pytest

from clio_xero.clock import ManualClock
from clio_xero.errors import ValidationFailedError
from clio_xero.sync.contacts.engine import ContactSyncer, Outcome
from clio_xero.sync.mapping import InMemoryMappingStore, MappingStatus
from clio_xero.sync.settings import ConnectionSettings, ContactScope
from tests.fakes.contacts import FakeClio, FakeXero

CONN = "c1"


class World:
    def __init__(self, **settings: object) -> None:
        self.clio = FakeClio()
        self.xero = FakeXero()
        self.mappings = InMemoryMappingStore()
        self.settings = ConnectionSettings.model_validate(settings)
        self.syncer = ContactSyncer(
            connection_id=CONN,
            clio=self.clio,
            xero=self.xero,
            mappings=self.mappings,
            settings=self.settings,
            clock=ManualClock(),
        )

    def person(self, first: str = "Ada", last: str = "Lovelace", email: str = "ada@example.test", **kw: object) -> str:
        record = self.clio.add(
            first_name=first,
            last_name=last,
            email_addresses=[{"address": email, "name": "Work", "primary": True}],
            **kw,
        )
        return str(record["id"])

    def mapping(self, clio_id: str):  # type: ignore[no-untyped-def]
        return self.mappings.get(CONN, "contact", clio_id)


@pytest.fixture
def world() -> World:
    return World()


def test_new_clio_contact_is_created_in_xero_with_our_key(world: World) -> None:
    clio_id = world.person()
    result = world.syncer.sync_from_clio(clio_id)
    assert result.outcome is Outcome.CREATED_IN_XERO
    xero = world.xero.contacts[result.xero_id or ""]
    assert (xero["Name"], xero["EmailAddress"], xero["ContactNumber"]) == (
        "Ada Lovelace",
        "ada@example.test",
        f"CLIO-{clio_id}",
    )
    mapping = world.mapping(clio_id)
    assert mapping is not None and mapping.xero_id == result.xero_id and mapping.status is MappingStatus.OK


def test_one_clio_edit_is_one_xero_write_and_no_clio_write(world: World) -> None:
    clio_id = world.person()
    xero_id = world.syncer.sync_from_clio(clio_id).xero_id or ""
    clio_writes, xero_writes = world.clio.writes, world.xero.writes
    world.clio.edit(clio_id, last_name="King")
    result = world.syncer.sync_from_clio(clio_id)
    assert result.wrote_xero and not result.wrote_clio
    assert world.xero.contacts[xero_id]["LastName"] == "King"
    # Xero's webhook for our own write, and Clio's redelivery, both come back: no more writes.
    assert world.syncer.sync_from_xero(xero_id).outcome is Outcome.NO_CHANGE
    assert world.syncer.sync_from_clio(clio_id).outcome is Outcome.NO_CHANGE
    assert (world.clio.writes - clio_writes, world.xero.writes - xero_writes) == (0, 1)


def test_an_echo_costs_one_read_of_its_own_side_only(world: World) -> None:
    clio_id = world.person()
    xero_id = world.syncer.sync_from_clio(clio_id).xero_id or ""
    clio_reads, xero_reads = world.clio.reads, world.xero.reads
    assert world.syncer.sync_from_xero(xero_id).outcome is Outcome.NO_CHANGE  # Xero's webhook for our write
    assert (world.clio.reads - clio_reads, world.xero.reads - xero_reads) == (0, 1)
    assert world.syncer.sync_from_clio(clio_id).outcome is Outcome.NO_CHANGE  # a redelivered Clio webhook
    assert (world.clio.reads - clio_reads, world.xero.reads - xero_reads) == (1, 1)


def test_xero_user_edit_updates_clio_once(world: World) -> None:
    clio_id = world.person()
    xero_id = world.syncer.sync_from_clio(clio_id).xero_id or ""
    world.xero.edit(xero_id, EmailAddress="ada@new.test", Phones=[{"PhoneType": "MOBILE", "PhoneNumber": "0700"}])
    result = world.syncer.sync_from_xero(xero_id)
    assert result.wrote_clio and not result.wrote_xero
    record = world.clio.records[clio_id]
    assert [e["address"] for e in record["email_addresses"]] == ["ada@new.test"]
    assert [(p["name"], p["number"]) for p in record["phone_numbers"]] == [("Personal", "0700")]
    writes = (world.clio.writes, world.xero.writes)
    assert world.syncer.sync_from_clio(clio_id).outcome is Outcome.NO_CHANGE  # Clio's echo
    assert (world.clio.writes, world.xero.writes) == writes


def test_concurrent_edits_merge_field_by_field_and_conflicts_are_recorded(world: World) -> None:
    clio_id = world.person()
    xero_id = world.syncer.sync_from_clio(clio_id).xero_id or ""
    world.clio.edit(clio_id, sales_tax_number="CLIO-TAX")  # only Clio touched the tax number
    world.xero.edit(xero_id, FirstName="Augusta", Name="Augusta Lovelace")  # only Xero touched names
    world.clio.edit(
        clio_id,
        email_addresses=[
            {
                "id": world.clio.records[clio_id]["email_addresses"][0]["id"],
                "address": "c@x.test",
                "name": "Work",
                "primary": True,
            }
        ],
    )
    world.xero.edit(xero_id, EmailAddress="x@x.test")  # both changed the email; Xero's is later
    result = world.syncer.sync_from_clio(clio_id)
    assert result.conflicts == 1
    record, xero = world.clio.records[clio_id], world.xero.contacts[xero_id]
    assert (record["first_name"], record["sales_tax_number"], record["email_addresses"][0]["address"]) == (
        "Augusta",
        "CLIO-TAX",
        "x@x.test",
    )
    assert (xero["FirstName"], xero["TaxNumber"], xero["EmailAddress"]) == ("Augusta", "CLIO-TAX", "x@x.test")
    [conflict] = world.mapping(clio_id).conflicts
    assert (conflict.field, conflict.winner) == ("email", "xero")


def test_same_name_contacts_both_reach_xero_deterministically(world: World) -> None:
    first, second = world.person("John", "Smith", "j1@x.test"), world.person("John", "Smith", "j2@x.test")
    world.syncer.sync_from_clio(first)
    result = world.syncer.sync_from_clio(second)
    assert result.outcome is Outcome.CREATED_IN_XERO
    names = sorted(c["Name"] for c in world.xero.contacts.values())
    assert names == ["John Smith", f"John Smith [C-{second}]"]
    # The suffix is kept on later updates while the name stays the same.
    world.clio.edit(second, email_addresses=[{"id": 1, "address": "j2b@x.test", "name": "Work", "primary": True}])
    world.syncer.sync_from_clio(second)
    assert world.xero.contacts[result.xero_id or ""]["Name"] == f"John Smith [C-{second}]"


def test_an_unlinked_xero_contact_with_the_same_name_needs_review_not_a_double(world: World) -> None:
    world.xero.add(Name="Acme Ltd", EmailAddress="ap@acme.test")
    clio_id = str(world.clio.add(type="Company", name="Acme Ltd")["id"])
    result = world.syncer.sync_from_clio(clio_id)
    assert result.outcome is Outcome.NEEDS_REVIEW
    assert len(world.xero.contacts) == 1
    mapping = world.mapping(clio_id)
    assert mapping.status is MappingStatus.NEEDS_REVIEW and len(mapping.candidates) == 1
    assert "contacts link" in (mapping.error_hint or "")
    assert world.syncer.sync_from_clio(clio_id).outcome is Outcome.NEEDS_REVIEW  # stays until a person decides


def test_crash_between_xero_write_and_mapping_write_still_one_contact(world: World) -> None:
    clio_id = world.person()
    world.syncer.sync_from_clio(clio_id)
    world.mappings.items.clear()  # as if the mapping write never happened
    world.mappings.reverse.clear()
    result = world.syncer.sync_from_clio(clio_id)
    assert result.outcome is Outcome.LINKED
    assert len(world.xero.contacts) == 1
    assert world.mapping(clio_id).xero_id == result.xero_id


def test_xero_event_for_our_contact_without_mapping_links_it(world: World) -> None:
    clio_id = world.person()
    xero_id = world.syncer.sync_from_clio(clio_id).xero_id or ""
    world.mappings.items.clear()
    world.mappings.reverse.clear()
    assert world.syncer.sync_from_xero(xero_id).outcome is Outcome.LINKED
    assert len(world.xero.contacts) == 1


def test_deleting_in_clio_archives_in_xero(world: World) -> None:
    clio_id = world.person()
    xero_id = world.syncer.sync_from_clio(clio_id).xero_id or ""
    world.clio.delete(clio_id)
    assert world.syncer.sync_from_clio(clio_id).outcome is Outcome.ARCHIVED_IN_XERO
    assert world.xero.contacts[xero_id]["ContactStatus"] == "ARCHIVED"
    assert world.mapping(clio_id).status is MappingStatus.TOMBSTONED
    assert world.syncer.sync_from_clio(clio_id).outcome is Outcome.GONE  # redelivery: nothing more


def test_archive_refused_by_xero_is_recorded_with_a_hint(world: World) -> None:
    clio_id = world.person()
    xero_id = world.syncer.sync_from_clio(clio_id).xero_id or ""
    world.xero.contacts[xero_id]["HasOutstanding"] = True
    world.clio.delete(clio_id)
    with pytest.raises(ValidationFailedError):
        world.syncer.sync_from_clio(clio_id)
    mapping = world.mapping(clio_id)
    assert mapping.status is MappingStatus.ERROR
    assert "outstanding invoices" in (mapping.last_error or "")
    assert mapping.error_hint


def test_merge_in_xero_repoints_the_link(world: World) -> None:
    clio_id = world.person()
    loser = world.syncer.sync_from_clio(clio_id).xero_id or ""
    survivor = world.xero.add(Name="Ada Lovelace (merged)", EmailAddress="ada@example.test")["ContactID"]
    world.xero.merge(loser, survivor)
    result = world.syncer.sync_from_xero(loser)
    assert result.outcome is Outcome.REPOINTED
    assert world.mapping(clio_id).xero_id == survivor
    assert world.mappings.clio_id_for(CONN, "contact", survivor) == clio_id
    assert world.mappings.clio_id_for(CONN, "contact", loser) is None
    assert world.xero.contacts[survivor]["ContactNumber"] == f"CLIO-{clio_id}"


@pytest.mark.parametrize(
    ("scope", "is_client", "billed", "synced"),
    [
        (ContactScope.ALL, False, False, True),
        (ContactScope.CLIENTS, True, False, True),
        (ContactScope.CLIENTS, False, True, False),
        (ContactScope.BILLED, True, False, False),
        (ContactScope.BILLED, False, True, True),
    ],
)
def test_contact_scope_setting(scope: ContactScope, is_client: bool, billed: bool, synced: bool) -> None:
    world = World(contact_scope=scope)
    clio_id = world.person(is_client=is_client)
    if billed:
        world.clio.bills.add(clio_id)
    outcome = world.syncer.sync_from_clio(clio_id).outcome
    assert (outcome is Outcome.CREATED_IN_XERO) is synced
    assert (outcome is Outcome.OUT_OF_SCOPE) is not synced


def test_xero_only_contacts_are_ignored_by_default_and_imported_when_asked() -> None:
    off = World()
    supplier = off.xero.add(Name="Paper Co", EmailAddress="sales@paper.test")["ContactID"]
    assert off.syncer.sync_from_xero(supplier).outcome is Outcome.XERO_ONLY_IGNORED
    assert off.clio.records == {}
    on = World(import_xero_only_contacts=True)
    supplier = on.xero.add(Name="Paper Co", EmailAddress="sales@paper.test")["ContactID"]
    result = on.syncer.sync_from_xero(supplier)
    assert result.outcome is Outcome.CREATED_IN_CLIO
    [record] = on.clio.records.values()
    assert (record["type"], record["name"]) == ("Company", "Paper Co")
    assert on.xero.contacts[supplier]["ContactNumber"] == f"CLIO-{record['id']}"


def test_a_rejected_contact_raises_with_xeros_own_words(world: World) -> None:
    world.xero.reject_next = ["Email address must be valid."]
    clio_id = world.person(email="not-an-email")
    with pytest.raises(ValidationFailedError) as caught:
        world.syncer.sync_from_clio(clio_id)
    assert caught.value.provider_messages == ["Email address must be valid."]
    assert world.xero.contacts == {}


def test_a_contact_carrying_our_key_is_linked_not_duplicated(world: World) -> None:
    clio_id = world.person("Grace", "Hopper", "g@x.test")
    world.xero.add(Name="Typed by hand", ContactNumber=f"CLIO-{clio_id}", ContactStatus="ARCHIVED")
    assert world.syncer.sync_from_clio(clio_id).outcome is Outcome.LINKED
    assert len(world.xero.contacts) == 1
