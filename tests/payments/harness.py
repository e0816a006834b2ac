"""The payments record types on the real engine, both sandboxes and the real clients.

:class:`StandInBills` is the one test-only piece: until the bill plug-in is merged it links a
Clio bill to a one-line AUTHORISED invoice of exactly Clio's ``due`` (the bill plug-in's contract
for what payments need: mapping ``bill`` → InvoiceID, ``synced.total``). Everything else is the
product: :func:`payment_plugins`, ``SyncEngine``, ``ContactPlugin``, the clients and the sandboxes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from clio_xero.clients import ClioClient, XeroClient
from clio_xero.clock import ManualClock
from clio_xero.errors import SyncError, ValidationFailedError
from clio_xero.events import Action, RecordType, Source, SyncEvent, dedupe_key
from clio_xero.payments.plugins import payment_plugins
from clio_xero.sync.contacts.plugin import ContactPlugin
from clio_xero.sync.core import BatchedPlugin, Done, Registry, SyncContext, SyncedRecord, SyncEngine
from clio_xero.sync.mapping import InMemoryMappingStore, Mapping, MappingStatus, record_ref
from clio_xero.sync.settings import ConnectionSettings
from clio_xero_tools.sandbox.clio.store import Record
from clio_xero_tools.sandbox.xero.seed import seed_org
from tests.clients.conftest import ClioWorld, XeroWorld, make_clio_world, make_xero_world

CONNECTION = "conn-pay"


class StandInBills(BatchedPlugin):
    record_type = RecordType.BILL
    depends_on = RecordType.CONTACT

    def sync_batch(self, ctx: SyncContext, events: Sequence[SyncEvent]) -> list[SyncedRecord | SyncError]:
        out: list[SyncedRecord | SyncError] = []
        for event in events:
            bill = ctx.clio.get_record("bills", event.record_id, fields="id,etag,number,state,due,client{id}")
            assert bill is not None
            mapping = ctx.mappings.get(ctx.connection_id, self.name, event.record_id)
            if mapping is not None and mapping.xero_id:
                out.append(Done(clio_id=event.record_id, xero_id=mapping.xero_id))
                continue
            contact = ctx.linked_parent(RecordType.CONTACT, str(bill["client"]["id"]))
            invoice = {
                "Type": "ACCREC",
                "Contact": {"ContactID": contact.xero_id},
                "InvoiceNumber": f"CLIO-{bill['number']}",
                "Status": "AUTHORISED",
                "LineAmountTypes": "NoTax",
                "Date": "2026-11-02",
                "DueDate": "2026-12-02",
                "LineItems": [
                    {"Description": "Legal services", "Quantity": 1, "UnitAmount": bill["due"], "AccountCode": "200"}
                ],
            }
            key = "bill-" + hashlib.sha256(f"{event.record_id}".encode()).hexdigest()[:32]
            [result] = ctx.xero.save_records("Invoices", "Invoices", [invoice], idempotency_key=key, create=True)
            if not result.ok or result.record is None:
                out.append(ValidationFailedError("stand-in bill refused", result.errors))
                continue
            now = ctx.clock.now()
            ctx.mappings.create(
                Mapping(
                    connection_id=ctx.connection_id,
                    record_type=self.name,
                    clio_id=event.record_id,
                    xero_id=str(result.record["InvoiceID"]),
                    xero_label=str(result.record["InvoiceNumber"]),
                    depends_on=record_ref("contact", str(bill["client"]["id"])),
                    synced={"status": "AUTHORISED", "total": str(result.record["Total"])},
                    status=MappingStatus.OK,
                    created_at=now,
                    updated_at=now,
                )
            )
            out.append(Done(clio_id=event.record_id, xero_id=str(result.record["InvoiceID"])))
        return out


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
    settings = settings or ConnectionSettings(
        sync_bills=True, sync_payments=True, sync_credit_notes=True, trust_payment_account_code="855"
    )
    world = PaymentsWorld(clock, clio_world, xero_world, clio_world.client(), xero_world.client(), settings)
    world.engine = SyncEngine(
        registry=Registry([ContactPlugin(), StandInBills(), *payment_plugins()]), contexts=world.context
    )
    client = clio_world.sandbox.act_create("contacts", {"type": "Company", "name": "Harbour Freight Ltd"})
    matter = clio_world.sandbox.act_create("matters", {"client": {"id": client.id}, "description": "Lease"})
    world.client_id, world.matter_id = client.id, matter.id
    return world
