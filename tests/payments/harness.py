"""The payments record types on the real engine with the real contact and bill plug-ins, the
real clients and both sandboxes (in process: fast; the loopback and local-runtime path is
test_payments_e2e.py). Nothing here is a stand-in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clio_xero.clients import ClioClient, XeroClient
from clio_xero.clock import ManualClock
from clio_xero.errors import SyncError
from clio_xero.events import Action, RecordType, Source, SyncEvent, dedupe_key
from clio_xero.payments.plugins import payment_plugins
from clio_xero.sync.bills.plugin import BillPlugin
from clio_xero.sync.contacts.plugin import ContactPlugin
from clio_xero.sync.core import Registry, SyncContext, SyncEngine
from clio_xero.sync.mapping import InMemoryMappingStore
from clio_xero.sync.settings import ConnectionSettings
from clio_xero_tools.sandbox.clio.store import Record
from clio_xero_tools.sandbox.xero.seed import seed_org
from tests.clients.conftest import ClioWorld, XeroWorld, make_clio_world, make_xero_world

CONNECTION = "conn-pay"
#: Account codes and tax types of the Xero sandbox's seeded chart (AU).
SETTINGS = ConnectionSettings(
    sync_bills=True,
    sync_payments=True,
    sync_credit_notes=True,
    time_account_code="200",
    flat_fee_account_code="200",
    expense_account_code="200",
    interest_account_code="270",
    discount_account_code="200",
    use_clio_category_codes=False,
    tax_type_untaxed="EXEMPTOUTPUT",
    trust_payment_account_code="855",
)


@dataclass
class PaymentsWorld:
    clock: ManualClock
    clio_world: ClioWorld
    xero_world: XeroWorld
    clio: ClioClient
    xero: XeroClient
    settings: ConnectionSettings
    mappings: InMemoryMappingStore = field(default_factory=InMemoryMappingStore)
    engine: SyncEngine | None = None
    matter_id: int = 0
    client_id: int = 0

    @property
    def tenant(self) -> str:
        return self.xero_world.org.organisation_id

    def context(self, connection_id: str) -> SyncContext:
        return SyncContext(
            connection_id=connection_id,
            mappings=self.mappings,
            settings=self.settings,
            clock=self.clock,
            apis=lambda: (self.clio, self.xero),
        )

    # -- Clio side, as a person in the web app --------------------------------------------------
    def bill(self, amount: float, *, number: str | None = None) -> Record:
        return self.clio_world.sandbox.create_bill(
            client_id=self.client_id,
            matter_ids=[self.matter_id],
            state="awaiting_payment",
            line_items=[{"description": "Advice", "price": amount, "quantity": 1, "taxable": False}],
            number=number,
        )

    def pay(self, bill: Record, amount: float, **kw: Any) -> Record:
        return self.clio_world.sandbox.record_payment(bill.id, amount, **kw)

    def trust_account_id(self) -> int:
        store = self.clio_world.sandbox.store
        return next(a.id for a in store.all("bank_accounts") if a.attrs.get("type") == "Trust")

    # -- the sync ---------------------------------------------------------------------------
    def event(self, record_type: RecordType, record_id: object, source: Source = Source.CLIO) -> SyncEvent:
        return SyncEvent(
            connection_id=CONNECTION,
            source=source,
            record_type=record_type,
            record_id=str(record_id),
            action=Action.UPDATED,
            received_at=self.clock.now(),
            dedupe_key=dedupe_key("test", record_type.value, record_id, self.clock.now()),
        )

    def sync(self, record_type: RecordType, *ids: object, source: Source = Source.CLIO) -> list[Any]:
        assert self.engine is not None
        results = self.engine.sync_batch([self.event(record_type, i, source) for i in ids])
        for event, result in zip([self.event(record_type, i, source) for i in ids], results, strict=True):
            plugin = self.engine.registry.get(record_type)
            if isinstance(result, SyncError):
                plugin.record_failure(self.mappings, event, reason=result.message, hint=None, now=self.clock.now())
        return results

    def invoice(self, bill: Record) -> dict[str, Any]:
        mapping = self.mappings.get(CONNECTION, "bill", str(bill.id))
        assert mapping is not None and mapping.xero_id
        row = self.xero.get_record("Invoices", "Invoices", mapping.xero_id)
        assert row is not None
        return row


def make_world(settings: ConnectionSettings | None = None) -> PaymentsWorld:
    clock = ManualClock()
    clio_world, xero_world = make_clio_world(clock), make_xero_world(clock)
    seed_org(xero_world.sandbox, tenant_id=xero_world.org.organisation_id, near_matches=0, extra_contacts=0, invoices=0)
    settings = settings or SETTINGS
    world = PaymentsWorld(clock, clio_world, xero_world, clio_world.client(), xero_world.client(), settings)
    world.engine = SyncEngine(
        registry=Registry([ContactPlugin(), BillPlugin(), *payment_plugins()]), contexts=world.context
    )
    world.xero.request("PUT", "/Currencies", json={"Currencies": [{"Code": "USD"}]})  # Clio bills in USD
    client = clio_world.sandbox.act_create("contacts", {"type": "Company", "name": "Harbour Freight Ltd"})
    matter = clio_world.sandbox.act_create("matters", {"client": {"id": client.id}, "description": "Lease"})
    world.client_id, world.matter_id = client.id, matter.id
    return world
