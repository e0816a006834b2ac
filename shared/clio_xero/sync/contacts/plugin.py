"""Contacts as a record-type plug-in: both ways, Clio Person/Company <-> Xero Contact.

The behaviour is :class:`~clio_xero.sync.contacts.engine.ContactSyncer`'s (docs/mapping-contacts.md);
this module tells the engine how to reach it and what contacts need around it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from clio_xero.events import RecordType, Source, SyncEvent
from clio_xero.sync.contacts.engine import ClioContactsPort, ContactSyncer, Outcome, SyncResult, XeroContactsPort
from clio_xero.sync.contacts.merge import parse_xero_date
from clio_xero.sync.contacts.ports import ClioContacts, XeroContacts
from clio_xero.sync.contacts.projection import contact_number
from clio_xero.sync.core.plugin import ClioWebhook, RecordTypePlugin, SyncContext
from clio_xero.sync.mapping import MappingStatus
from clio_xero.sync.settings import ContactScope

if TYPE_CHECKING:
    from clio_xero.clients.clio import ClioClient
    from clio_xero.clients.xero import XeroClient

#: What the sweep reads of a changed Clio contact: enough to name it and de-duplicate the hint.
SWEEP_FIELDS = "id,etag,updated_at"

Ports = Callable[[SyncContext], tuple[ClioContactsPort, XeroContactsPort]]


def _echo_of_our_write(ctx: SyncContext, event: SyncEvent) -> SyncResult | None:
    """A Xero webhook whose event time is not after the contact's UpdatedDateUTC that our own
    write was answered with: the echo of that write, answered without a Xero read (Xero's minute
    limit is shared with the writes that matter: a burst of bills links dozens of clients at once,
    docs/billing.md "A burst of bills"). Both times are Xero's own clock."""
    if event.occurred_at is None:
        return None
    clio_id = ctx.mappings.clio_id_for(ctx.connection_id, "contact", event.record_id)
    mapping = ctx.mappings.get(ctx.connection_id, "contact", clio_id) if clio_id else None
    if mapping is None or mapping.status is not MappingStatus.OK or mapping.xero_id != event.record_id:
        return None
    written = parse_xero_date(mapping.xero_updated_at)
    occurred = event.occurred_at if event.occurred_at.tzinfo else event.occurred_at.replace(tzinfo=UTC)
    if written is None or occurred > written:
        return None
    return SyncResult(Outcome.NO_CHANGE, clio_id=clio_id, xero_id=event.record_id)


def _everyone(ctx: SyncContext) -> SyncContext:
    """A bill's client goes to Xero whatever the contact scope (as in Clio's own integration)."""
    everyone = ctx.settings.model_copy(
        update={"contacts": ctx.settings.contacts.model_copy(update={"contact_scope": ContactScope.ALL})}
    )
    return ctx.derive(settings=everyone)


def client_ports(ctx: SyncContext) -> tuple[ClioContactsPort, XeroContactsPort]:
    return ClioContacts(ctx.clio), XeroContacts(ctx.xero)


class ContactPlugin(RecordTypePlugin):
    record_type = RecordType.CONTACT
    switch = "sync_contacts"
    # ``fields`` is also Clio's watch list for ``updated``: the contact sync re-reads the record,
    # so the payload only needs to say which one changed (and its etag for de-duplication);
    # ``name`` makes a rename fire (docs/facts-clio.md#webhooks).
    clio_webhooks = (ClioWebhook("contact", "id,etag,updated_at,name"),)
    sweep_sources = (Source.CLIO, Source.XERO)
    backfill_phase = 10

    def __init__(self, ports: Ports = client_ports) -> None:
        self._ports = ports

    def syncer(self, ctx: SyncContext) -> ContactSyncer:
        clio, xero = self._ports(ctx)
        return ContactSyncer(
            connection_id=ctx.connection_id,
            clio=clio,
            xero=xero,
            mappings=ctx.mappings,
            settings=ctx.settings,
            clock=ctx.clock,
        )

    def sync(self, ctx: SyncContext, event: SyncEvent) -> SyncResult:
        syncer = self.syncer(ctx)
        if event.source is Source.CLIO:
            return syncer.sync_from_clio(event.record_id)
        echo = _echo_of_our_write(ctx, event)
        if echo is not None:
            return echo
        return syncer.sync_from_xero(event.record_id)

    def sync_parent(self, ctx: SyncContext, event: SyncEvent) -> SyncResult:
        return self.sync(_everyone(ctx), event)

    def sync_parents(self, ctx: SyncContext, events: Sequence[SyncEvent]) -> None:
        """The clients of a bill burst, in bulk: one Clio read by ids, one Xero lookup of their
        ContactNumbers, one write of up to 50 (docs/billing.md "A burst of bills"). With other
        ports (test fakes) nothing is done here and each client is linked one by one."""
        scoped = _everyone(ctx)
        clio, xero = self._ports(scoped)
        if not isinstance(clio, ClioContacts) or not isinstance(xero, XeroContacts):
            return
        records = clio.get_contacts([e.record_id for e in events if e.source is Source.CLIO])
        if not records:
            return
        taken = xero.numbers_taken([contact_number(str(r["id"])) for r in records])
        self.syncer(scoped).link_new(records, numbers_taken=taken)

    def changed_since(
        self, clio: ClioClient, xero: XeroClient, source: Source, since: datetime
    ) -> Iterator[tuple[str, object]]:
        if source is Source.CLIO:
            for record in clio.iter_contacts(updated_since=since, fields=SWEEP_FIELDS):
                yield str(record["id"]), record.get("etag")
        else:
            for contact in xero.iter_contacts(modified_since=since):
                yield str(contact["ContactID"]), contact.get("UpdatedDateUTC")
