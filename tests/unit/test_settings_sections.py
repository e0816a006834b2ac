"""Settings in sections: unique keys, old flat items still read, the same validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from clio_xero.sync.settings import (
    BillingSwitches,
    ConnectionSettings,
    ContactScope,
    ContactSettings,
    describe_keys,
    section_model,
    section_names,
    setting_keys,
)


def test_every_key_lives_in_exactly_one_section() -> None:
    assert section_names() == ["contacts", "billing", "payments", "trust"]
    names = [name for section in section_names() for name in section_model(section).model_fields]
    assert len(names) == len(set(names)) == len(setting_keys())
    assert setting_keys()["contact_scope"] == "contacts" and setting_keys()["sync_bills"] == "billing"
    assert describe_keys()["sync_credit_notes"] == "true | false"


def test_defaults_send_clients_and_no_billing_until_switched_on() -> None:
    settings = ConnectionSettings()
    assert settings.contacts == ContactSettings() and settings.contacts.contact_scope is ContactScope.CLIENTS
    assert settings.billing == BillingSwitches() and settings.billing.sync_bills is False
    assert (settings.billing.sync_time_entries, settings.billing.sync_payments) == (True, False)


def test_a_flat_item_from_before_sections_is_read_into_its_sections() -> None:
    stored = {"contact_scope": "billed", "import_xero_only_contacts": True, "sync_contacts": False}
    settings = ConnectionSettings.model_validate(stored)
    assert settings.contacts == ContactSettings(
        contact_scope=ContactScope.BILLED, import_xero_only_contacts=True, sync_contacts=False
    )
    assert settings.contact_scope is ContactScope.BILLED  # read without naming the section, as before
    dumped = settings.model_dump(mode="json")
    assert dumped["contacts"]["contact_scope"] == "billed" and "contact_scope" not in dumped
    assert ConnectionSettings.model_validate(dumped) == settings  # the sectioned shape round-trips


def test_validation_is_the_same_per_key_and_changed_validates() -> None:
    with pytest.raises(ValidationError) as caught:
        ConnectionSettings(contact_scope="everyone")
    assert caught.value.errors()[0]["loc"] == ("contacts", "contact_scope")
    with pytest.raises(ValidationError):
        ConnectionSettings(colour="blue")
    with pytest.raises(ValidationError):
        ConnectionSettings().changed(sync_bills="perhaps")
    assert ConnectionSettings().changed(sync_bills=True).billing.sync_bills is True
    assert ConnectionSettings().flat()["sync_bills"] is False
