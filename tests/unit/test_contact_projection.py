"""The shared contact projection: both directions, and the round trips echo suppression needs."""

from __future__ import annotations

from typing import Any

import pytest

from clio_xero.sync.contacts.projection import (
    Address,
    SharedContact,
    clio_id_from_contact_number,
    contact_number,
    disambiguated_name,
    from_clio,
    from_xero,
    strip_disambiguation,
    to_clio_patch,
    to_xero_payload,
)
from tests.fakes.contacts import FakeClio

PERSON = SharedContact(
    kind="person",
    name="Zoë Ångström",
    first_name="Zoë",
    last_name="Ångström",
    email="zoe@example.test",
    phone_work="+44 20 7946 0000",
    phone_personal="07700 900000",
    billing_address=Address(lines=("1 High St", "Floor 2"), city="London", postal_code="N1 1AA", country="UK"),
    work_address=Address(lines=("9 Side Rd",), city="Leeds"),
    tax_number="GB123",
)
COMPANY = SharedContact(kind="company", name="株式会社テスト", email="info@example.jp", phone_other="03-0000-0000")
EMPTY = SharedContact(kind="company", name="Bare Ltd")


@pytest.mark.parametrize("contact", [PERSON, COMPANY, EMPTY], ids=["person", "company", "empty"])
def test_xero_round_trip(contact: SharedContact) -> None:
    payload = to_xero_payload(contact, clio_id=42, xero_id="x-1")
    assert payload["ContactNumber"] == "CLIO-42"
    assert from_xero({**payload, "ContactID": "x-1"}) == contact


@pytest.mark.parametrize("contact", [PERSON, COMPANY, EMPTY], ids=["person", "company", "empty"])
def test_clio_round_trip_create_and_update(contact: SharedContact) -> None:
    clio = FakeClio()
    created = clio.create_contact(to_clio_patch(contact, None))
    assert from_clio(created) == contact
    changed = contact.model_copy(update={"email": "new@example.test", "phone_work": "", "billing_address": None})
    updated = clio.update_contact(created["id"], to_clio_patch(changed, created), etag=created["etag"])
    assert from_clio(updated) == changed


def test_clio_only_data_is_left_alone() -> None:
    clio = FakeClio()
    record = clio.add(
        first_name="Ada",
        last_name="Lovelace",
        email_addresses=[
            {"address": "ada@work.test", "name": "Work", "primary": True},
            {"address": "ada@home.test", "name": "Home", "primary": False},
        ],
        addresses=[{"street": "Home lane", "city": "Bath", "name": "Home", "primary": False}],
    )
    target = from_clio(record).model_copy(update={"email": "ada@new.test"})
    patch = to_clio_patch(target, record)
    assert patch["email_addresses"] == [{"id": record["email_addresses"][0]["id"], "address": "ada@new.test"}]
    assert "addresses" not in patch  # the Home address is Clio's alone
    updated = clio.update_contact(record["id"], patch, etag=record["etag"])
    assert {e["address"] for e in updated["email_addresses"]} == {"ada@new.test", "ada@home.test"}


def test_billing_address_falls_back_to_the_primary_address() -> None:
    record: dict[str, Any] = {
        "id": 1,
        "type": "Person",
        "first_name": "A",
        "last_name": "B",
        "addresses": [{"id": 5, "street": "1 Main\nUnit 4", "city": "Perth", "name": "Home", "primary": True}],
    }
    projected = from_clio(record)
    assert projected.billing_address == Address(lines=("1 Main", "Unit 4"), city="Perth")
    assert projected.work_address is None


def test_xero_limits_are_applied_on_both_sides() -> None:
    long_name = "Ł" * 300
    projected = from_clio({"id": 1, "type": "Company", "name": long_name})
    assert len(projected.name) == 255
    assert from_xero(to_xero_payload(projected, clio_id=1)) == projected


def test_xero_phone_parts_are_joined() -> None:
    contact = {
        "Name": "X",
        "Phones": [{"PhoneType": "DEFAULT", "PhoneCountryCode": "64", "PhoneAreaCode": "9", "PhoneNumber": "555"}],
    }
    assert from_xero(contact).phone_work == "64 9 555"


def test_contact_numbers_and_disambiguation() -> None:
    assert contact_number(7) == "CLIO-7"
    assert clio_id_from_contact_number("CLIO-7") == "7"
    assert clio_id_from_contact_number("CUST-7") is None
    assert clio_id_from_contact_number(None) is None
    name = disambiguated_name("John Smith", 42)
    assert name == "John Smith [C-42]"
    assert strip_disambiguation(name) == "John Smith"
    assert len(disambiguated_name("x" * 300, 123456)) == 255
    assert from_xero({"Name": name, "FirstName": "John", "LastName": "Smith"}).name == "John Smith"


def test_digest_is_stable_and_sensitive() -> None:
    assert PERSON.digest() == PERSON.model_copy().digest()
    assert PERSON.digest() != PERSON.model_copy(update={"email": "other@example.test"}).digest()
    assert PERSON.changed_fields(PERSON.model_copy(update={"tax_number": "X"})) == {"tax_number"}
