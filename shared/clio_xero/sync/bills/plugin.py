"""Clio bills → Xero ACCREC invoices, as plug-ins of the sync engine (docs/billing.md "The bill plug-in").

:class:`BillPlugin` works in bursts (:class:`~clio_xero.sync.core.BatchedPlugin`): for the bills a
batch names it reads Clio in bulk (:mod:`.reader`), decides each bill with the pure rules
(:func:`clio_xero.billing.eligibility.decide`), gets the client linked first
(``ctx.linked_parent``: whatever the contact scope), maps and preflights each invoice
(:func:`clio_xero.billing.mapping.map_bill`), and writes at most three Xero calls for the whole
burst: the new invoices (one ``PUT`` of up to 50), the updated ones (one ``POST``, LineItemIDs
kept) and the voids/deletes (one ``POST``). A bill that cannot be sent raises its own error (one
per event); the others go on.

Never a duplicate invoice: each write carries an Idempotency-Key; before a create is sent the
mapping is marked with it, so a worker that died after Xero's answer and before the mapping write
is recognised on the next attempt, which first looks the numbers up (``InvoiceNumbers=``) and
adopts the invoice it finds (:func:`clio_xero.billing.numbers.resolve_number`). A number Xero
refuses as taken is looked up the same way.

:class:`ActivityPlugin`: a time entry or expense changed (Clio sends ``activity`` webhooks) and
its bill, if it has one, is synced again. Line items and interest charges have no webhooks: the
bill plug-in's sweep lists them by ``updated_since`` and syncs their bills.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from clio_xero.billing.clio_models import BillBundle, ClioBill
from clio_xero.billing.eligibility import BillAction, BillSyncState, LinkedInvoice, decide
from clio_xero.billing.mapping import MappedBill, invoice_number, map_bill
from clio_xero.billing.numbers import ExistingInvoice, NumberAction, resolve_number
from clio_xero.billing.settings import BillingSettings, TrackingSource
from clio_xero.billing.spend_money import map_hard_cost
from clio_xero.billing.xero_models import OrgChart
from clio_xero.errors import (
    BillPreflightError,
    ConfigurationError,
    PermanentError,
    RetryableError,
    SyncError,
    ThrottledError,
    ValidationFailedError,
)
from clio_xero.events import Action, RecordType, Source, SyncEvent
from clio_xero.sync.bills.reader import BILL_FIELDS, PAGE, ChartCache, read_bills, read_bundles
from clio_xero.sync.core.plugin import BatchedPlugin, ClioWebhook, SyncContext, SyncedRecord
from clio_xero.sync.mapping import Mapping, MappingStatus, record_ref
from clio_xero.sync.settings import ConnectionSettings

if TYPE_CHECKING:
    from clio_xero.clients.clio import ClioClient
    from clio_xero.clients.xero import ElementResult, XeroClient

__all__ = ["MAX_INVOICES_PER_CALL", "ActivityPlugin", "BillOutcome", "BillPlugin", "BillResult"]

#: Xero's recommended batch size for a write (docs/facts-xero.md#batching).
MAX_INVOICES_PER_CALL = 50
#: What the sweep reads to learn which bills changed (their lines and interest have no webhooks).
SWEEP_BILL_FIELDS = "id,etag,updated_at"
SWEEP_PART_FIELDS = "id,updated_at,bill{id}"

#: The read-ahead (docs/billing.md "A burst of bills"): Clio's bills changed since the cursor (or
#: the batch's oldest hint), less an overlap for clock skew, in at most this many 200-record pages,
#: never further back than the window (a hint requeued for an hour does not re-read the hour).
READ_AHEAD_OVERLAP = timedelta(seconds=30)
READ_AHEAD_WINDOW = timedelta(minutes=15)
READ_AHEAD_PAGES = 2
#: A read-ahead that syncs this many bills or more is a burst (a month-end run): for
#: :data:`BURST_WINDOW` after it, new webhook hints wait and are synced together at its end.
BURST_MIN_BILLS = 3
BURST_WINDOW = timedelta(seconds=20)
#: Activities whose etag at their bill's last sync a container remembers (per connection).
MAX_REMEMBERED_ACTIVITIES = 20_000

_CHARTS = ChartCache()
#: The mapping type under which hard costs sent as spend money are remembered (never sent twice).
HARD_COST = "hard_cost"


class BillOutcome(StrEnum):
    CREATED = "invoice_created"
    UPDATED = "invoice_updated"
    ADOPTED = "invoice_adopted"  # created by an earlier attempt whose answer was lost; linked
    VOIDED = "invoice_voided"
    DELETED = "invoice_deleted"
    SKIPPED = "skipped"  # a rule keeps the bill out (draft, pending approval, before the floor...)
    UNCHANGED = "unchanged"  # the invoice already matches the bill


@dataclass
class BillResult:
    outcome: BillOutcome
    clio_id: str
    xero_id: str | None = None
    reason: str = ""


@dataclass
class _Work:
    """One bill on its way through a burst."""

    clio_id: str
    mapping: Mapping | None
    bill: ClioBill | None = None
    bundle: BillBundle | None = None
    contact_id: str | None = None
    client_id: str | None = None
    action: BillAction | None = None
    reason: str = ""
    mapped: MappedBill | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    adopt_id: str | None = None
    result: SyncedRecord | SyncError | None = None


def _settings_digest(settings: BillingSettings) -> str:
    text = json.dumps(settings.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _synced_at(mapping: Mapping | None, etag: object, digest: str) -> bool:
    """Is the bill's invoice in Xero already synced from exactly this etag, under these settings?"""
    return (
        mapping is not None
        and etag is not None
        and mapping.status is MappingStatus.OK
        and mapping.clio_version == etag
        and (mapping.synced or {}).get("settings") == digest
    )


def _key(prefix: str, connection_id: str, parts: Sequence[str]) -> str:
    digest = hashlib.sha256("|".join([connection_id, *parts]).encode()).hexdigest()[:48]
    return f"{prefix}-{digest}"


def linked_invoice(mapping: Mapping | None, found: dict[str, Any] | None) -> LinkedInvoice | None:
    if mapping is None or not mapping.xero_id:
        return None
    if found is None:
        synced = mapping.synced or {}
        return LinkedInvoice(
            invoice_id=mapping.xero_id,
            invoice_number=mapping.xero_label,
            status=synced.get("status", "AUTHORISED"),
        )
    paid = any(found.get(k) for k in ("Payments", "CreditNotes", "Prepayments", "Overpayments"))
    paid = paid or str(found.get("AmountPaid") or "0") not in ("0", "0.0", "0.00")
    paid = paid or str(found.get("AmountCredited") or "0") not in ("0", "0.0", "0.00")
    return LinkedInvoice(
        invoice_id=str(found["InvoiceID"]),
        invoice_number=found.get("InvoiceNumber"),
        status=found.get("Status", "AUTHORISED"),
        has_payments=bool(paid),
    )


def _keep_line_ids(new: list[dict[str, Any]], old: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The new lines with the existing LineItemIDs: same description first, then in order. Xero
    deletes and recreates lines sent without their id (docs/sandbox-xero.md), which would break
    anything a bookkeeper attached to them."""
    free = [o for o in old if o.get("LineItemID")]
    out: list[dict[str, Any]] = []
    pending: list[int] = []
    for index, line in enumerate(new):
        match = next((o for o in free if o.get("Description") == line.get("Description")), None)
        if match is not None:
            free.remove(match)
            out.append({**line, "LineItemID": match["LineItemID"]})
        else:
            out.append(dict(line))
            pending.append(index)
    for index in pending:
        if not free:
            break
        out[index]["LineItemID"] = free.pop(0)["LineItemID"]
    return out


class BillPlugin(BatchedPlugin):
    """A Clio bill ↔ one Xero ACCREC invoice (one way: Clio is the source of the bill)."""

    record_type = RecordType.BILL
    switch = "sync_bills"
    depends_on = RecordType.CONTACT
    # The bill is re-read in full; the payload only names it. ``state`` and ``total`` make an
    # approval, a void and an edit fire (docs/facts-clio.md#webhooks).
    clio_webhooks = (ClioWebhook("bill", "id,etag,updated_at,state,total"),)
    sweep_sources = (Source.CLIO,)
    backfill_phase = 20

    def __init__(self, charts: ChartCache | None = None) -> None:
        self.charts = charts or _CHARTS
        self.batches: list[int] = []  # size of every burst handed over (for tests and the bench)
        # Per connection: when the last read-ahead read Clio's bills to the end (a Lambda
        # container keeps it between invocations; a new one starts from its batch's oldest hint).
        self._cursors: dict[str, datetime] = {}
        # Per connection: until when a burst's webhook hints wait to be synced together.
        self._windows: dict[str, datetime] = {}
        # Per connection: activity id → the etag it had when its bill was last synced here.
        self._activities: dict[str, dict[str, str]] = {}
        self.held = 0  # hints held for a burst's window (for tests and the bench)

    # ------------------------------------------------------------------ the burst
    def sync_batch(self, ctx: SyncContext, events: Sequence[SyncEvent]) -> list[SyncedRecord | SyncError]:
        """The bills an SQS batch names (docs/billing.md "A burst of bills"): a hint whose etag is
        the one last synced costs no API call; the others are read together with every bill
        changed since the read-ahead cursor, and all that need it are synced now, so the hints
        still queued for them find their bill done."""
        self.batches.append(len(events))
        digest = _settings_digest(ctx.settings.billing)
        answered: dict[int, SyncedRecord | SyncError] = {}
        for index, event in enumerate(events):
            known = self._known_version(ctx, event, digest)
            if known is not None:
                answered[index] = known
        held = self._gathering(ctx, events, answered)
        pending = [e for i, e in enumerate(events) if i not in answered]
        if pending:
            named = list(dict.fromkeys(e.record_id for e in pending))
            # Only webhook hints (they carry Clio's etag) read ahead: the sweep, `retry` and the
            # backfill name exactly the bills they mean.
            webhooks = [e for e in pending if e.version is not None]
            found: dict[str, dict[str, Any]] | None = None
            extra: list[str] = []
            try:
                if webhooks:
                    found, extra = self._read_ahead(ctx, min(e.received_at for e in webhooks), set(named), digest)
            except SyncError as exc:  # the shared read failed (a throttle, a 5xx): every bill waits
                results: dict[str, SyncedRecord | SyncError] = dict.fromkeys(named, exc)
            else:
                results = self.sync_bills(ctx, named + extra, found=found)
                if webhooks and len(named) + len(extra) >= BURST_MIN_BILLS:  # a burst: gather the next hints
                    self._windows[ctx.connection_id] = ctx.clock.now() + BURST_WINDOW
            for index, event in enumerate(events):
                if index not in answered:
                    answered[index] = results[event.record_id]
        if held:
            self.held += held
        return [answered[i] for i in range(len(events))]

    def catch_up(self, ctx: SyncContext, oldest: datetime) -> None:
        """Read ahead and sync every bill changed since the cursor, for a hint that names no bill
        (an activity of a burst's bill, docs/billing.md "A burst of bills")."""
        digest = _settings_digest(ctx.settings.billing)
        found, extra = self._read_ahead(ctx, oldest, set(), digest)
        if extra:
            self.sync_bills(ctx, extra, found=found)
            if len(extra) >= BURST_MIN_BILLS:
                self._windows[ctx.connection_id] = ctx.clock.now() + BURST_WINDOW

    def window(self, ctx: SyncContext) -> datetime | None:
        """When the connection's burst window ends (or ended), if one was opened. A window that
        ends further ahead than it can last, or a cursor in the future, can only come from a clock
        that went back (a host's clock corrected, a test's clock): forgotten, never waited on."""
        until = self._windows.get(ctx.connection_id)
        now = ctx.clock.now()
        if until is not None and until - now > BURST_WINDOW:
            self._windows.pop(ctx.connection_id, None)
            self._cursors.pop(ctx.connection_id, None)
            return None
        return until

    def synced_activity(self, ctx: SyncContext, activity_id: str, version: str | None) -> bool:
        """Was this activity, at this etag, read into its bill's invoice by this container?"""
        return version is not None and self._activities.get(ctx.connection_id, {}).get(activity_id) == version

    def _remember_activities(self, ctx: SyncContext, works: Sequence[_Work]) -> None:
        seen = self._activities.setdefault(ctx.connection_id, {})
        for work in works:
            if isinstance(work.result, BillResult) and work.bundle is not None:
                seen.update({str(a.id): a.etag for a in work.bundle.activities.values() if a.etag})
        if len(seen) > MAX_REMEMBERED_ACTIVITIES:  # the oldest first: dicts keep insertion order
            for key in list(seen)[: len(seen) - MAX_REMEMBERED_ACTIVITIES]:
                del seen[key]

    def _gathering(self, ctx: SyncContext, events: Sequence[SyncEvent], answered: dict[int, Any]) -> int:
        """During a burst's window, webhook hints (they carry Clio's etag) wait for its end: one
        read-ahead then syncs every bill approved meanwhile, 50 to a Xero write, instead of one
        read-ahead per SQS batch. The wait is a :class:`ThrottledError` whose ``retry_after`` the
        Lambda entry turns into the message's delay (never a sleep). Hints from the sweep, a retry
        or the backfill (no etag) go at once. Returns how many were held."""
        until = self.window(ctx)
        now = ctx.clock.now()
        if until is None or now >= until:
            return 0
        wait = (until - now).total_seconds()
        held = 0
        for index, event in enumerate(events):
            if index not in answered and event.version is not None:
                answered[index] = ThrottledError(
                    f"gathering a burst of bills: this one is synced with the others in {wait:.0f} s", retry_after=wait
                )
                held += 1
        return held

    def _known_version(self, ctx: SyncContext, event: SyncEvent, digest: str) -> BillResult | None:
        """The answer to a hint that names the version last synced, from the mapping alone (no
        API call): Clio sends the bill's etag in the webhook, and an invoice synced from that etag
        under the same settings is what a fresh read would send again. A delete is always read."""
        if event.version is None or event.action is Action.DELETED or event.source is not Source.CLIO:
            return None
        mapping = ctx.mappings.get(ctx.connection_id, self.name, event.record_id)
        if not _synced_at(mapping, event.version, digest):
            return None
        assert mapping is not None
        return BillResult(BillOutcome.UNCHANGED, event.record_id, mapping.xero_id, "already in Xero at this version")

    def _read_ahead(
        self, ctx: SyncContext, oldest: datetime, named: set[str], digest: str
    ) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """The bills the events name, and the ids of other bills changed since the read-ahead
        cursor that need a sync (their hints are probably still queued): read in 200-record pages
        by ``updated_since`` (at most :data:`READ_AHEAD_PAGES`), the named ones Clio's pages did
        not hold by ``ids[]``. Bills another worker is sending now, parked bills and bills
        already synced at their etag are left to their own hints. So is a bill whose only
        difference is the settings it was synced under: a settings change reaches a synced
        invoice when that bill next changes (docs/billing.md), never because a read-ahead for
        another bill happened to list it."""
        now = ctx.clock.now()
        cursor = self._cursors.get(ctx.connection_id)
        if cursor is not None and cursor > now:  # a clock that went back: start afresh
            cursor = None
        since = max(oldest, cursor or oldest, now - READ_AHEAD_WINDOW) - READ_AHEAD_OVERLAP
        limit = READ_AHEAD_PAGES * PAGE
        found: dict[str, dict[str, Any]] = {}
        for bill in ctx.clio.iter_records("bills", fields=BILL_FIELDS, updated_since=since):
            found[str(bill["id"])] = bill
            if len(found) >= limit:
                break
        if len(found) < limit:  # read to the end: later batches start from here
            self._cursors[ctx.connection_id] = now
        missing = [i for i in named if i not in found]
        if missing:
            found.update(read_bills(ctx.clio, missing))
        extra: list[str] = []
        for clio_id, bill in found.items():
            if clio_id in named or bill.get("state") == "draft":
                continue
            mapping = ctx.mappings.get(ctx.connection_id, self.name, clio_id)
            if mapping is None or (
                mapping.status is MappingStatus.OK
                and not (mapping.synced or {}).get("sending")
                and (bill.get("etag") is None or mapping.clio_version != bill.get("etag"))
            ):
                extra.append(clio_id)
        return found, extra

    def sync_bills(
        self,
        ctx: SyncContext,
        bill_ids: Sequence[str],
        *,
        found: dict[str, dict[str, Any]] | None = None,
        bundles: dict[str, BillBundle] | None = None,
    ) -> dict[str, SyncedRecord | SyncError]:
        """Sync these bills now: read together, written 50 per Xero call (the queue's bursts, the
        activity plug-in and the backfill call this; the backfill passes the bills and bundles it
        has already read in pages)."""
        ids = list(dict.fromkeys(bill_ids))
        try:
            return self._sync_ids(ctx, ids, found=found, bundles=bundles)
        except SyncError as exc:  # a read every bill shares failed (a throttle, a 5xx)
            return dict.fromkeys(ids, exc)

    def _sync_ids(
        self,
        ctx: SyncContext,
        ids: list[str],
        *,
        found: dict[str, dict[str, Any]] | None = None,
        bundles: dict[str, BillBundle] | None = None,
    ) -> dict[str, SyncedRecord | SyncError]:
        billing: BillingSettings = ctx.settings.billing
        digest = _settings_digest(billing)
        found = dict(found or {})
        missing = [i for i in ids if i not in found]
        if missing:
            found.update(read_bills(ctx.clio, missing))
        works = {i: self._work(ctx, i, found.get(i), digest) for i in ids}
        live = [w for w in works.values() if w.result is None]
        if not live:
            return {w.clio_id: w.result for w in works.values() if w.result is not None}
        xero_now = self._xero_invoices(ctx.xero, [w for w in live if w.mapping and w.mapping.xero_id])
        for work in live:
            self._decide(ctx, work, billing, digest, xero_now)
        to_map = [w for w in live if w.action in (BillAction.CREATE, BillAction.UPDATE)]
        if bundles is None or any(w.clio_id not in bundles for w in to_map):
            bundles = read_bundles(
                ctx.clio,
                [found[w.clio_id] for w in to_map],
                ctx.clock,
                practice_areas=billing.tracking_source is TrackingSource.PRACTICE_AREA,
            )
        # The burst's clients not yet in Xero, linked in bulk before each bill asks for its own.
        clients = [str(w.bill.client.id) for w in to_map if w.bill is not None and w.bill.client is not None]
        if clients:
            ctx.link_parents(RecordType.CONTACT, clients)
        for work in to_map:
            work.bundle = bundles[work.clio_id]
            self._prepare(ctx, work, billing, xero_now)
        writes = [w for w in live if w.result is None]
        for start in range(0, len(writes), MAX_INVOICES_PER_CALL):
            chunk = writes[start : start + MAX_INVOICES_PER_CALL]
            try:
                self._write(ctx, chunk, billing, digest, xero_now)
            except SyncError as exc:  # this write's bills wait (a throttle, a 5xx); written ones stay
                for work in chunk:
                    if work.result is None:
                        work.result = exc
        self._remember_activities(ctx, to_map)
        return {w.clio_id: w.result for w in works.values() if w.result is not None}

    def _work(self, ctx: SyncContext, clio_id: str, raw: dict[str, Any] | None, digest: str) -> _Work:
        """One bill as read (absent: deleted in Clio); already answered when synced at its etag."""
        work = _Work(clio_id, ctx.mappings.get(ctx.connection_id, self.name, clio_id))
        work.bill = ClioBill(id=int(clio_id), state="deleted") if raw is None else ClioBill.model_validate(raw)
        if work.bill.etag is not None and _synced_at(work.mapping, work.bill.etag, digest):
            assert work.mapping is not None
            work.result = BillResult(BillOutcome.UNCHANGED, clio_id, work.mapping.xero_id, "already in Xero")
        return work

    def _decide(
        self, ctx: SyncContext, work: _Work, billing: BillingSettings, digest: str, xero_now: dict[str, dict[str, Any]]
    ) -> None:
        """The rules' verdict on one bill; a bill kept out or unchanged gets its result here."""
        assert work.bill is not None
        xero_id = work.mapping.xero_id if work.mapping else None
        state = BillSyncState(invoice=linked_invoice(work.mapping, xero_now.get(xero_id or "")))
        decision = decide(work.bill, billing, state)
        work.action, work.reason = decision.action, decision.reason
        if decision.action is BillAction.WAIT:
            work.result = PermanentError(decision.reason)
        elif decision.action in (BillAction.SKIP, BillAction.NOTHING):
            work.result = BillResult(
                BillOutcome.SKIPPED if decision.action is BillAction.SKIP else BillOutcome.UNCHANGED,
                work.clio_id,
                xero_id,
                decision.reason,
            )
            self._remember(ctx, work, digest, status=state.invoice.status if state.invoice else None)

    def _write(
        self,
        ctx: SyncContext,
        works: list[_Work],
        billing: BillingSettings,
        digest: str,
        xero_now: dict[str, dict[str, Any]],
    ) -> None:
        """One chunk of up to 50 bills: creates in one call, updates in one, voids/deletes in one."""
        self._write_creates(ctx, [w for w in works if w.action is BillAction.CREATE], digest)
        self._write_updates(
            ctx, [w for w in works if w.result is None and w.action is BillAction.UPDATE], digest, xero_now
        )
        self._write_status(
            ctx, [w for w in works if w.result is None and w.action in (BillAction.VOID, BillAction.DELETE)], digest
        )
        if billing.hard_costs_as_spend_money:
            self._write_hard_costs(
                ctx,
                [
                    w
                    for w in works
                    if w.action in (BillAction.CREATE, BillAction.UPDATE) and isinstance(w.result, BillResult)
                ],
                billing,
            )

    # ------------------------------------------------------------------ hard costs
    def _write_hard_costs(self, ctx: SyncContext, works: list[_Work], billing: BillingSettings) -> None:
        """Hard costs on the bills just synced, as Xero spend money (opt-in, docs/billing.md "Hard
        costs as spend money"): each once, remembered under the ``hard_cost`` mapping type, all in
        one ``PUT /BankTransactions``. A refusal is logged on the cost's mapping, never on the bill."""
        pending: list[tuple[str, str, dict[str, Any]]] = []
        for work in works:
            if work.bundle is None or work.contact_id is None:
                continue
            currency = work.bill.currency.code if work.bill and work.bill.currency else None
            for activity in work.bundle.activities.values():
                if ctx.mappings.get(ctx.connection_id, HARD_COST, str(activity.id)) is not None:
                    continue
                spend = map_hard_cost(activity, billing, contact_id=work.contact_id, currency=currency)
                if spend is not None:
                    pending.append((str(activity.id), work.clio_id, spend.to_xero()))
        for start in range(0, len(pending), MAX_INVOICES_PER_CALL):
            chunk = pending[start : start + MAX_INVOICES_PER_CALL]
            key = _key("hard-costs", ctx.connection_id, [a for a, _, _ in chunk])
            results = ctx.xero.save_records(
                "BankTransactions", "BankTransactions", [p for _, _, p in chunk], idempotency_key=key, create=True
            )
            now = ctx.clock.now()
            for (activity_id, bill_id, _), result in zip(chunk, results, strict=True):
                record = result.record or {}
                ctx.mappings.create(
                    Mapping(
                        connection_id=ctx.connection_id,
                        record_type=HARD_COST,
                        clio_id=activity_id,
                        xero_id=str(record["BankTransactionID"]) if result.ok and record else None,
                        belongs_to=record_ref(self.name, bill_id),
                        status=MappingStatus.OK if result.ok else MappingStatus.ERROR,
                        last_error=None if result.ok else "; ".join(result.errors),
                        created_at=now,
                        updated_at=now,
                    )
                )

    # ------------------------------------------------------------------ reads
    @staticmethod
    def _xero_invoices(xero: XeroClient, works: Sequence[_Work]) -> dict[str, dict[str, Any]]:
        ids = [w.mapping.xero_id for w in works if w.mapping and w.mapping.xero_id]
        if not ids:
            return {}
        return {str(i["InvoiceID"]): i for i in xero.get_records("Invoices", "Invoices", ids)}

    # ------------------------------------------------------------------ map and preflight
    def _prepare(
        self, ctx: SyncContext, work: _Work, billing: BillingSettings, xero_now: dict[str, dict[str, Any]]
    ) -> None:
        bundle, bill = work.bundle, work.bill
        assert bundle is not None
        assert bill is not None
        if bill.client is None:
            work.result = PermanentError(f"Bill {bill.number or bill.id} has no client in Clio; Xero needs a contact.")
            return
        work.client_id = str(bill.client.id)
        try:
            parent = ctx.linked_parent(RecordType.CONTACT, work.client_id)
        except SyncError as exc:
            work.result = exc
            return
        work.contact_id = parent.xero_id
        approved = bill.state in ("awaiting_payment", "paid")
        status: Literal["SUBMITTED", "AUTHORISED"] = "AUTHORISED" if approved else "SUBMITTED"
        tracking = billing.tracking_source is not TrackingSource.NONE
        chart = self.charts.get(ctx.connection_id, ctx.xero, ctx.clock, tracking=tracking)
        try:
            try:
                work.mapped = map_bill(bundle, billing, chart, contact_id=str(work.contact_id), status=status)
            except BillPreflightError:
                # The cached chart may be older than a fix made in Xero: ask once more before parking.
                chart = self.charts.get(ctx.connection_id, ctx.xero, ctx.clock, tracking=tracking, fresh=True)
                work.mapped = map_bill(bundle, billing, chart, contact_id=str(work.contact_id), status=status)
        except SyncError as exc:
            work.result = exc
            return
        created = self._create_options(ctx, work.mapped, chart)
        if created:
            self.charts.forget(ctx.connection_id)
        work.payload = work.mapped.invoice.to_xero()

    def _create_options(self, ctx: SyncContext, mapped: MappedBill, chart: OrgChart) -> int:
        """Create the tracking options the preflight announced (docs/billing.md "Tracking")."""
        made = 0
        for category_name, option in mapped.preflight.options_to_create():
            category = chart.tracking_category(category_name)
            if category is None:
                continue
            if any(o.Name.casefold() == option.casefold() for o in category.Options):
                continue
            ctx.xero.request(
                "PUT",
                f"/TrackingCategories/{category.TrackingCategoryID}/Options",
                json={"Options": [{"Name": option}]},
            )
            made += 1
        return made

    # ------------------------------------------------------------------ writes
    def _write_creates(self, ctx: SyncContext, works: list[_Work], digest: str) -> None:
        if not works:
            return
        # An earlier attempt may have created some of these and died before its mapping write.
        uncertain = [w for w in works if w.mapping is not None and (w.mapping.synced or {}).get("sending")]
        if uncertain:
            self._adopt_existing(ctx, uncertain)
        sending = [w for w in works if w.result is None and w.adopt_id is None]
        for work in works:
            if work.adopt_id is not None and work.result is None:
                work.action = BillAction.UPDATE
        adopted = [w for w in works if w.adopt_id is not None and w.result is None]
        if sending:
            key = _key(
                "bills-create", ctx.connection_id, [f"{w.clio_id}@{w.bill.etag if w.bill else ''}" for w in sending]
            )
            for work in sending:
                self._mark_sending(ctx, work, key)
            results = ctx.xero.save_records(
                "Invoices", "Invoices", [w.payload for w in sending], idempotency_key=key, create=True
            )
            clashes: list[_Work] = []
            for work, result in zip(sending, results, strict=True):
                if result.ok and result.record is not None:
                    self._linked(ctx, work, result.record, digest, BillOutcome.CREATED)
                elif any("must be unique" in e for e in result.errors):
                    clashes.append(work)
                else:
                    work.result = self._refused(ctx, work, result)
            if clashes:
                self._adopt_existing(ctx, clashes, clash=True)
                adopted += [w for w in clashes if w.adopt_id is not None and w.result is None]
        if adopted:
            self._write_updates(ctx, adopted, digest, {}, outcome=BillOutcome.ADOPTED)

    def _adopt_existing(self, ctx: SyncContext, works: list[_Work], *, clash: bool = False) -> None:
        """Look the invoices up by number (one call) and adopt ours, or park on someone else's."""
        billing: BillingSettings = ctx.settings.billing
        numbers = {w.clio_id: invoice_number(w.bill, billing) for w in works if w.bill is not None}
        wanted = sorted({n for n in numbers.values() if n})
        found: list[dict[str, Any]] = []
        if wanted:
            found = list(ctx.xero.iter_records("Invoices", "Invoices", params={"InvoiceNumbers": ",".join(wanted)}))
        for work in works:
            number = numbers.get(work.clio_id)
            holders = [
                ExistingInvoice.model_validate(
                    {
                        **inv,
                        "ContactID": (inv.get("Contact") or {}).get("ContactID"),
                        "ContactName": (inv.get("Contact") or {}).get("Name"),
                    }
                )
                for inv in found
                if inv.get("InvoiceNumber") == number
            ]
            if not number:
                if clash:
                    work.result = ValidationFailedError("Xero refused the invoice number", [])
                continue
            resolution = resolve_number(
                number,
                holders,
                linked_invoice_id=None,
                contact_id=str(work.contact_id),
                reference=work.payload.get("Reference"),
            )
            if resolution.action is NumberAction.ADOPT:
                work.adopt_id = resolution.invoice_id
            elif resolution.action is NumberAction.PARK:
                work.result = ConfigurationError(resolution.reason)
            elif clash:
                work.result = ValidationFailedError(f"Xero refused invoice number {number} as taken", [])

    def _write_updates(
        self,
        ctx: SyncContext,
        works: list[_Work],
        digest: str,
        xero_now: dict[str, dict[str, Any]],
        *,
        outcome: BillOutcome = BillOutcome.UPDATED,
    ) -> None:
        if not works:
            return
        ids = [self._invoice_id(w) for w in works]
        current = dict(xero_now)
        missing = [i for i in ids if i not in current]
        if missing:
            current.update({str(i["InvoiceID"]): i for i in ctx.xero.get_records("Invoices", "Invoices", missing)})
        payloads: list[dict[str, Any]] = []
        for work, invoice_id in zip(works, ids, strict=True):
            old = current.get(invoice_id) or {}
            payload = {**work.payload, "InvoiceID": invoice_id}
            payload["LineItems"] = _keep_line_ids(payload.get("LineItems") or [], old.get("LineItems") or [])
            payloads.append(payload)
        key = _key("bills-update", ctx.connection_id, [f"{w.clio_id}@{w.bill.etag if w.bill else ''}" for w in works])
        results = ctx.xero.save_records("Invoices", "Invoices", payloads, idempotency_key=key, create=False)
        for work, result in zip(works, results, strict=True):
            if result.ok and result.record is not None:
                self._linked(ctx, work, result.record, digest, outcome)
            else:
                work.result = self._refused(ctx, work, result)

    def _write_status(self, ctx: SyncContext, works: list[_Work], digest: str) -> None:
        if not works:
            return
        payloads = [
            {"InvoiceID": self._invoice_id(w), "Status": "VOIDED" if w.action is BillAction.VOID else "DELETED"}
            for w in works
        ]
        key = _key(
            "bills-status",
            ctx.connection_id,
            [f"{w.clio_id}:{p['Status']}" for w, p in zip(works, payloads, strict=True)],
        )
        results = ctx.xero.save_records("Invoices", "Invoices", payloads, idempotency_key=key, create=False)
        for work, result in zip(works, results, strict=True):
            if result.ok and result.record is not None:
                outcome = BillOutcome.VOIDED if work.action is BillAction.VOID else BillOutcome.DELETED
                self._linked(ctx, work, result.record, digest, outcome)
            else:
                work.result = self._refused(ctx, work, result)

    @staticmethod
    def _invoice_id(work: _Work) -> str:
        if work.adopt_id is not None:
            return work.adopt_id
        assert work.mapping is not None
        assert work.mapping.xero_id
        return work.mapping.xero_id

    def _refused(self, ctx: SyncContext, work: _Work, result: ElementResult) -> SyncError:
        label = f"Bill {work.bill.number}" if work.bill and work.bill.number else f"Bill id {work.clio_id}"
        self.charts.forget(ctx.connection_id)
        words = "; ".join(dict.fromkeys(result.errors)) or "no reason given"
        return ValidationFailedError(f"Xero refused the invoice for {label}: {words}", list(result.errors))

    # ------------------------------------------------------------------ the mapping
    def _mark_sending(self, ctx: SyncContext, work: _Work, key: str) -> None:
        """Before a create: remember that one is on its way, so an uncertain outcome is recognised."""
        now = ctx.clock.now()
        values: dict[str, Any] = {
            "synced": {"sending": key},
            "depends_on": record_ref("contact", work.client_id or ""),
            "updated_at": now,
        }
        if work.mapping is None:
            work.mapping = ctx.mappings.create(
                Mapping(
                    connection_id=ctx.connection_id,
                    record_type=self.name,
                    clio_id=work.clio_id,
                    created_at=now,
                    status=MappingStatus.WAITING,
                    **values,
                )
            )
        else:
            work.mapping = ctx.mappings.update(
                work.mapping.model_copy(update=values), previous_xero_id=work.mapping.xero_id
            )

    def _linked(
        self, ctx: SyncContext, work: _Work, invoice: dict[str, Any], digest: str, outcome: BillOutcome
    ) -> None:
        invoice_id = str(invoice["InvoiceID"])
        now = ctx.clock.now()
        values: dict[str, Any] = {
            "xero_id": invoice_id,
            "xero_label": invoice.get("InvoiceNumber"),
            "status": MappingStatus.OK,
            "last_error": None,
            "error_hint": None,
            "clio_version": work.bill.etag if work.bill else None,
            "clio_updated_at": work.bill.updated_at.isoformat() if work.bill and work.bill.updated_at else None,
            "xero_updated_at": invoice.get("UpdatedDateUTC"),
            "synced": {
                "status": invoice.get("Status"),
                "total": str(invoice.get("Total")),
                "settings": digest,
            },
            "updated_at": now,
        }
        if work.client_id:
            values["depends_on"] = record_ref("contact", work.client_id)
        if work.mapping is None:
            ctx.mappings.create(
                Mapping(
                    connection_id=ctx.connection_id,
                    record_type=self.name,
                    clio_id=work.clio_id,
                    created_at=now,
                    **values,
                )
            )
        else:
            ctx.mappings.update(work.mapping.model_copy(update=values), previous_xero_id=work.mapping.xero_id)
        work.result = BillResult(outcome, work.clio_id, invoice_id, work.reason)

    def _remember(self, ctx: SyncContext, work: _Work, digest: str, *, status: str | None) -> None:
        """A skipped or unchanged bill: clear a parked error so `errors` no longer lists it."""
        mapping = work.mapping
        if mapping is None or (
            mapping.status is MappingStatus.OK and mapping.clio_version == (work.bill.etag if work.bill else None)
        ):
            return
        synced = dict(mapping.synced or {})
        synced["settings"] = digest
        if status:
            synced["status"] = status
        ctx.mappings.update(
            mapping.model_copy(
                update={
                    "status": MappingStatus.OK,
                    "last_error": None,
                    "error_hint": None,
                    "clio_version": work.bill.etag if work.bill else None,
                    "synced": synced,
                    "updated_at": ctx.clock.now(),
                }
            ),
            previous_xero_id=mapping.xero_id,
        )

    # ------------------------------------------------------------------ sweep
    def changed_since(
        self, clio: ClioClient, xero: XeroClient, source: Source, since: datetime
    ) -> Iterator[tuple[str, object]]:
        """Bills changed since ``since``, and the bills whose line items or interest charges
        changed (Clio sends no webhooks for those): one id each, the newest version."""
        seen: dict[str, object] = {}
        for bill in clio.iter_records("bills", fields=SWEEP_BILL_FIELDS, updated_since=since):
            seen[str(bill["id"])] = bill.get("etag")
        for resource in ("line_items", "interest_charges"):
            for part in clio.iter_records(resource, fields=SWEEP_PART_FIELDS, updated_since=since):
                bill_id = (part.get("bill") or {}).get("id")
                if bill_id is not None and str(bill_id) not in seen:
                    seen[str(bill_id)] = f"{resource}:{part['id']}@{part.get('updated_at')}"
        yield from seen.items()


class ActivityPlugin(BatchedPlugin):
    """A time entry or expense (a Clio activity) that sits on a bill: its bill is synced again.
    The activity is a line of the bill's invoice, never a Xero record of its own."""

    record_type = RecordType.ACTIVITY
    switch = "sync_bills"
    belongs_to = RecordType.BILL
    # An activity on no bill is skipped after a Clio read; its delivery already says so
    # (docs/billing.md "Activities on no bill never reach the queue").
    clio_webhooks = (ClioWebhook("activity", "id,etag,updated_at,bill", queue_only_with="bill"),)

    def __init__(self, bills: BillPlugin) -> None:
        self.bills = bills

    def enabled(self, settings: ConnectionSettings) -> bool:
        billing = settings.billing
        return bool(billing.sync_bills and (billing.sync_time_entries or billing.sync_expenses))

    def sync_batch(self, ctx: SyncContext, events: Sequence[SyncEvent]) -> list[SyncedRecord | SyncError]:
        """Each activity's bill synced again. During a bill burst (docs/billing.md "A burst of
        bills") Clio sends an ``activity`` webhook for every time entry a new bill takes in: those
        hints wait for the burst's window like the bills' own, then one read-ahead syncs the bills
        and records the etag of every activity read; a hint naming that etag costs no call."""
        answered: dict[int, SyncedRecord | SyncError] = {}
        window = self.bills.window(ctx)
        now = ctx.clock.now()
        for attempt in range(2):
            for index, event in enumerate(events):
                if index not in answered and self.bills.synced_activity(ctx, event.record_id, event.version):
                    answered[index] = BillResult(BillOutcome.UNCHANGED, event.record_id, None, "its bill is synced")
            left = [e for i, e in enumerate(events) if i not in answered and e.version is not None]
            if not left or window is None or now >= window + BURST_WINDOW or attempt:
                break
            if now < window:  # the burst is being gathered: wait for its end, as the bills do
                wait = (window - now).total_seconds()
                for index, event in enumerate(events):
                    if index not in answered and event.version is not None:
                        answered[index] = ThrottledError(
                            f"gathering a burst of bills: synced with the others in {wait:.0f} s", retry_after=wait
                        )
                break
            try:  # just after a window: one read-ahead for the whole burst, then look again
                self.bills.catch_up(ctx, min(e.received_at for e in left))
            except SyncError:
                break
        pending = [(i, e) for i, e in enumerate(events) if i not in answered]
        for (index, _), result in zip(pending, self._sync_owners(ctx, [e for _, e in pending]), strict=True):
            answered[index] = result
        return [answered[i] for i in range(len(events))]

    def _sync_owners(self, ctx: SyncContext, events: Sequence[SyncEvent]) -> list[SyncedRecord | SyncError]:
        """The bills these activities are on, synced (one read of the activities by ids)."""
        if not events:
            return []
        ids = list(dict.fromkeys(e.record_id for e in events))
        try:
            activities = {
                str(a["id"]): a
                for a in ctx.clio.iter_records("activities", fields="id,bill{id}", params={"ids[]": ids})
            }
        except SyncError as exc:
            return [exc for _ in events]
        owner = {i: str(((activities.get(i) or {}).get("bill") or {}).get("id") or "") for i in ids}
        synced = self.bills.sync_bills(ctx, sorted({b for b in owner.values() if b}))
        out: list[SyncedRecord | SyncError] = []
        for event in events:
            bill_id = owner.get(event.record_id) or ""
            if not bill_id:
                out.append(BillResult(BillOutcome.SKIPPED, event.record_id, None, "the activity is on no bill"))
                continue
            result = synced.get(bill_id)
            if isinstance(result, RetryableError | PermanentError):
                out.append(result)
            else:
                out.append(BillResult(BillOutcome.UPDATED, bill_id, None, f"its bill {bill_id} was synced"))
        return out
