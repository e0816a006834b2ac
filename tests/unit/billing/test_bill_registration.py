"""The bill plug-ins in the registry: which Clio webhooks each switch needs (what `webhooks
register` and the renewal function register for a connection)."""

from __future__ import annotations

from clio_xero.events import RecordType
from clio_xero.sync.record_types import default_registry
from clio_xero.sync.settings import ConnectionSettings
from clio_xero.webhooks.registration import webhook_specs


def models(settings: ConnectionSettings) -> set[str]:
    return {spec.model for spec in webhook_specs(default_registry(), settings)}


def test_bill_webhooks_follow_the_switches() -> None:
    assert models(ConnectionSettings()) == {"contact"}  # billing is opt-in
    assert models(ConnectionSettings(sync_bills=True)) == {"contact", "bill", "activity"}
    lines_off = ConnectionSettings(sync_bills=True, sync_time_entries=False, sync_expenses=False)
    assert models(lines_off) == {"contact", "bill"}  # no line detail: activity changes need no webhook
    assert models(ConnectionSettings(sync_bills=True, sync_contacts=False)) == {"bill", "activity"}


def test_bills_depend_on_contacts_and_activities_belong_to_bills() -> None:
    registry = default_registry()
    bill, activity = registry.get(RecordType.BILL), registry.get(RecordType.ACTIVITY)
    assert bill.depends_on is RecordType.CONTACT and bill.backfill_phase == 20
    assert activity.belongs_to is RecordType.BILL
    assert [p.name for p in registry.backfill_order()] == ["contact", "bill", "allocation", "credit_memo"]
