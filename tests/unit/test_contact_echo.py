"""A Xero CONTACT webhook that is the echo of our own write costs no API call (a burst of bills
links dozens of clients at once: their echoes must not spend Xero's minute limit)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from clio_xero.clock import ManualClock
from clio_xero.events import Action, RecordType, Source, SyncEvent, dedupe_key
from clio_xero.sync.contacts.engine import Outcome
from clio_xero.sync.contacts.plugin import ContactPlugin
from clio_xero.sync.core import SyncContext
from clio_xero.sync.mapping import InMemoryMappingStore, Mapping
from clio_xero.sync.settings import ConnectionSettings

WRITTEN = datetime(2026, 11, 30, 17, 0, 5, tzinfo=UTC)
XERO_ID = "6b0b6c4a-6f5a-4f47-9d53-2d5c6f8f0a01"


class NoCalls:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the echo must not call the API ({name})")


def context(mappings: InMemoryMappingStore) -> SyncContext:
    return SyncContext(
        connection_id="c1",
        mappings=mappings,
        settings=ConnectionSettings(),
        clock=ManualClock(WRITTEN),
        apis=lambda: (NoCalls(), NoCalls()),  # type: ignore[arg-type,return-value]
    )


def xero_event(occurred: datetime) -> SyncEvent:
    return SyncEvent(
        connection_id="c1",
        source=Source.XERO,
        record_type=RecordType.CONTACT,
        record_id=XERO_ID,
        action=Action.UPDATED,
        occurred_at=occurred,
        received_at=occurred,
        dedupe_key=dedupe_key("echo-test", occurred),
    )


def linked() -> InMemoryMappingStore:
    mappings = InMemoryMappingStore()
    millis = int(WRITTEN.timestamp() * 1000)
    mappings.create(
        Mapping(
            connection_id="c1",
            record_type="contact",
            clio_id="42",
            xero_id=XERO_ID,
            xero_updated_at=f"/Date({millis}+0000)/",
            created_at=WRITTEN,
            updated_at=WRITTEN,
        )
    )
    return mappings


def test_the_echo_of_our_own_write_is_answered_from_the_mapping() -> None:
    result = ContactPlugin().sync(context(linked()), xero_event(WRITTEN))
    assert result.outcome is Outcome.NO_CHANGE and result.clio_id == "42"


def test_a_change_made_in_xero_after_our_write_is_read() -> None:
    with pytest.raises(AssertionError, match="must not call"):  # it goes on to read the contact
        ContactPlugin().sync(context(linked()), xero_event(WRITTEN + timedelta(seconds=1)))
