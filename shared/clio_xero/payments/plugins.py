"""Payments, credit notes and Xero-side changes as record types of the sync engine.

* :class:`PaymentPlugin` (``allocation``): Clio allocations from a payment → Xero payments on the
  bill's invoice. Clio sends no webhooks for allocations, so the sweep lists them
  (``updated_since``) and the backfill brings them; a burst is one Clio read by ids, one Xero read
  of the invoices (``IDs=``, which also answers the uncertain-outcome lookup: the invoice lists its
  payments with our Reference) and one ``PUT /Payments`` per 50.
* :class:`CreditMemoPlugin` (``credit_memo``): a Clio credit memo → an ACCRECCREDIT credit note,
  allocated to its bills' invoices as in Clio; voided in Clio → voided in Xero. Bursts too: one
  ``PUT /CreditNotes`` per 50, then one allocation call per credit note (Xero's allocation
  endpoint takes one credit note).
* :class:`InvoiceWatchPlugin` (``invoice``, from Xero webhooks): a synced invoice read back and
  compared with what we wrote; a person's change waits in `errors` (or, with the policy
  ``reapply``, Clio's version is written again where that is safe).

All three need the bill plug-in's mapping (record type ``bill``, ``xero_id`` = the InvoiceID).
Rules in words: docs/payments.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from clio_xero.errors import (
    ConfigurationError,
    NotFoundError,
    SyncError,
    ValidationFailedError,
    XeroSideChangeError,
)
from clio_xero.events import RecordType, Source, SyncEvent
from clio_xero.payments.models import (
    ALLOCATION_FIELDS,
    CREDIT_MEMO_FIELDS,
    ClioAllocation,
    ClioCreditMemo,
    XeroInvoiceView,
    cents,
)
from clio_xero.payments.rules import (
    PaymentAction,
    PaymentPlan,
    XeroChangeKind,
    compare_invoice,
    credit_note_number,
    credit_note_payload,
    payment_reference,
    plan_credit_allocations,
    plan_payment,
)
from clio_xero.payments.settings import XeroChangePolicy
from clio_xero.sync.contacts.merge import parse_xero_date
from clio_xero.sync.core import BatchedPlugin, Done, DoneOutcome, RecordTypePlugin, SyncContext, SyncedRecord
from clio_xero.sync.core.plugin import internal_event
from clio_xero.sync.mapping import Mapping, MappingStatus, MappingStore, record_ref

if TYPE_CHECKING:
    from clio_xero.clients.clio import ClioClient
    from clio_xero.clients.xero import XeroClient

__all__ = [
    "CreditMemoPlugin",
    "InvoiceWatchPlugin",
    "MoneyOutcome",
    "MoneyResult",
    "PaymentPlugin",
    "link_payment",
    "payment_plugins",
]

XERO_BATCH = 50  # Xero's recommended batch size (docs/facts-xero.md#batching)


class MoneyOutcome(StrEnum):
    WRITTEN = "written"
    ADOPTED = "adopted"
    REPLACED = "replaced"
    DELETED = "deleted"
    VOIDED = "voided"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    CHECKED = "checked"
    REAPPLIED = "reapplied"


@dataclass
class MoneyResult:
    outcome: MoneyOutcome
    clio_id: str
    xero_id: str | None = None
    reason: str = ""


def _key(prefix: str, connection_id: str, parts: Iterable[object]) -> str:
    digest = hashlib.sha256("|".join([connection_id, *map(str, parts)]).encode()).hexdigest()
    return f"{prefix}-{digest[:48]}"


def _link(
    mappings: MappingStore,
    *,
    connection_id: str,
    record_type: str,
    clio_id: str,
    now: datetime,
    existing: Mapping | None,
    **values: Any,
) -> None:
    """Create or update a mapping with ``values`` (errors cleared)."""
    values = {"last_error": None, "error_hint": None, "updated_at": now, **values}
    if existing is None:
        mappings.create(
            Mapping(connection_id=connection_id, record_type=record_type, clio_id=clio_id, created_at=now, **values)
        )
    else:
        mappings.update(existing.model_copy(update=values), previous_xero_id=existing.xero_id)


def _linked_payment(mapping: Mapping | None) -> str | None:
    if mapping is None or mapping.status is MappingStatus.TOMBSTONED:
        return None
    return mapping.xero_id


def _version(mapping: Mapping | None) -> int:
    return mapping.version if mapping is not None else 0


def _synced_amount(mapping: Mapping | None) -> Decimal | None:
    if mapping is None or not mapping.synced or "amount" not in mapping.synced:
        return None
    return Decimal(str(mapping.synced["amount"]))


def read_invoices(xero: XeroClient, invoice_ids: Iterable[str]) -> dict[str, XeroInvoiceView]:
    """Invoices by id, ``IDs=`` 50 at a time (one call per 50)."""
    ids = [i for i in dict.fromkeys(invoice_ids) if i]
    if not ids:
        return {}
    rows = xero.get_records("Invoices", "Invoices", ids)
    return {str(r["InvoiceID"]).lower(): XeroInvoiceView.from_xero(r) for r in rows}


def delete_xero_payment(xero: XeroClient, payment_id: str) -> None:
    """``POST /Payments/{id} {"Status":"DELETED"}`` (Xero's only edit of a payment); one already
    deleted (by a person, or by our earlier attempt whose answer was lost) counts as done."""
    try:
        xero.request("POST", f"/Payments/{payment_id}", json={"Payments": [{"Status": "DELETED"}]})
    except ValidationFailedError:
        current = xero.get_record("Payments", "Payments", payment_id)
        if current is None or current.get("Status") != "DELETED":
            raise
    except NotFoundError:
        return


# ====================================================================================== payments
class PaymentPlugin(BatchedPlugin):
    record_type = RecordType.ALLOCATION
    switch = "sync_payments"
    depends_on = RecordType.BILL
    sweep_sources = (Source.CLIO,)
    backfill_phase = 40  # after contacts and bills

    def changed_since(
        self, clio: ClioClient, xero: XeroClient, source: Source, since: datetime
    ) -> Iterator[tuple[str, object]]:
        # Payments only: a credit memo's allocations come with the credit memo.
        for row in clio.iter_records(
            "allocations", fields="id,etag", params={"parent_type": "Payment"}, updated_since=since
        ):
            yield str(row["id"]), row.get("etag")

    def sync_batch(self, ctx: SyncContext, events: Sequence[SyncEvent]) -> list[SyncedRecord | SyncError]:
        ids = list(dict.fromkeys(e.record_id for e in events))
        found = {
            str(row["id"]): ClioAllocation.model_validate(row)
            for row in ctx.clio.iter_records("allocations", fields=ALLOCATION_FIELDS, params={"ids[]": ids})
        }
        outcomes: dict[str, SyncedRecord | SyncError] = {}
        mappings = {i: ctx.mappings.get(ctx.connection_id, self.name, i) for i in ids}
        invoice_of: dict[str, str] = {}  # allocation id → InvoiceID
        for clio_id in ids:
            allocation = found.get(clio_id)
            if allocation is None or allocation.voided_at is not None or allocation.from_credit_memo:
                continue
            if allocation.bill is None or (
                _linked_payment(mappings[clio_id]) and _synced_amount(mappings[clio_id]) == cents(allocation.amount)
            ):
                continue
            try:
                parent = ctx.linked_parent(RecordType.BILL, str(allocation.bill.id))
            except SyncError as exc:
                outcomes[clio_id] = exc
                continue
            invoice_of[clio_id] = str(parent.xero_id)
        invoices = read_invoices(ctx.xero, invoice_of.values())
        plans: dict[str, PaymentPlan] = {}
        stamps: dict[str, str | None] = {}
        for clio_id in ids:
            if clio_id in outcomes:
                continue
            invoice_id = invoice_of.get(clio_id)
            invoice = invoices.get(invoice_id.lower()) if invoice_id else None
            plan = plan_payment(
                found.get(clio_id),
                allocation_id=clio_id,
                linked_payment_id=_linked_payment(mappings[clio_id]),
                synced_amount=_synced_amount(mappings[clio_id]),
                invoice=invoice,
                settings=ctx.settings.payments,
            )
            plans[clio_id] = plan
            stamps[clio_id] = invoice.updated if invoice else None
            if plan.action is PaymentAction.CREATE and invoice is not None and plan.payload:
                # Later payments of the same burst see this one's amount as taken (Xero applies a
                # batch in order); a payment that would overpay is stopped here, not by Xero.
                invoices[invoice.invoice_id.lower()] = invoice.model_copy(
                    update={"amount_due": invoice.amount_due - cents(found[clio_id].amount)}
                )
        self._apply(
            ctx, plans=plans, found=found, mappings=mappings, invoice_of=invoice_of, outcomes=outcomes, stamps=stamps
        )
        return [outcomes[e.record_id] for e in events]

    def _apply(
        self,
        ctx: SyncContext,
        *,
        plans: dict[str, PaymentPlan],
        found: dict[str, ClioAllocation],
        mappings: dict[str, Mapping | None],
        invoice_of: dict[str, str],
        outcomes: dict[str, SyncedRecord | SyncError],
        stamps: dict[str, str | None],
    ) -> None:
        now = ctx.clock.now()
        creates: list[tuple[str, PaymentPlan]] = []
        for clio_id, plan in plans.items():
            mapping = mappings[clio_id]
            if plan.action in {PaymentAction.FLAG}:
                outcomes[clio_id] = XeroSideChangeError(plan.reason)
            elif plan.action is PaymentAction.NEEDS_SETTING:
                outcomes[clio_id] = ConfigurationError(plan.reason)
            elif plan.action in {PaymentAction.NOTHING, PaymentAction.SKIP}:
                outcome = MoneyOutcome.UNCHANGED if plan.action is PaymentAction.NOTHING else MoneyOutcome.SKIPPED
                outcomes[clio_id] = MoneyResult(outcome, clio_id, _linked_payment(mapping), plan.reason)
            elif plan.action is PaymentAction.DELETE:
                assert plan.xero_payment_id
                delete_xero_payment(ctx.xero, plan.xero_payment_id)
                _link(
                    ctx.mappings,
                    connection_id=ctx.connection_id,
                    record_type=self.name,
                    clio_id=clio_id,
                    now=now,
                    existing=mapping,
                    status=MappingStatus.TOMBSTONED,
                )
                outcomes[clio_id] = MoneyResult(MoneyOutcome.DELETED, clio_id, plan.xero_payment_id, plan.reason)
            elif plan.action is PaymentAction.ADOPT:
                self._linked(
                    ctx,
                    mapping=mapping,
                    allocation=found[clio_id],
                    invoice_id=invoice_of[clio_id],
                    payment_id=str(plan.xero_payment_id),
                    now=now,
                )
                outcomes[clio_id] = MoneyResult(MoneyOutcome.ADOPTED, clio_id, plan.xero_payment_id, plan.reason)
            else:  # CREATE, REPLACE
                if plan.action is PaymentAction.REPLACE and plan.xero_payment_id:
                    delete_xero_payment(ctx.xero, plan.xero_payment_id)
                creates.append((clio_id, plan))
        for start in range(0, len(creates), XERO_BATCH):
            chunk = creates[start : start + XERO_BATCH]
            # The key changes with the invoice and with our mapping's version (a payment deleted in
            # Xero and written again), so Xero's 6-minute replay never returns a stale answer; a
            # retry after a lost answer finds our payment on the invoice first (ADOPT).
            parts = (f"{c}:{found[c].etag}:{stamps.get(c)}:{_version(mappings[c])}" for c, _ in chunk)
            key = _key("payments", ctx.connection_id, parts)
            results = ctx.xero.save_records(
                "Payments", "Payments", [p.payload or {} for _, p in chunk], idempotency_key=key, create=True
            )
            for (clio_id, plan), result in zip(chunk, results, strict=True):
                if not result.ok or result.record is None:
                    outcomes[clio_id] = ValidationFailedError(
                        f"Xero refused Clio payment {clio_id}: {'; '.join(result.errors)}", result.errors
                    )
                    continue
                payment_id = str(result.record["PaymentID"])
                self._linked(
                    ctx,
                    mapping=mappings[clio_id],
                    allocation=found[clio_id],
                    invoice_id=invoice_of[clio_id],
                    payment_id=payment_id,
                    now=now,
                )
                outcome = MoneyOutcome.REPLACED if plan.action is PaymentAction.REPLACE else MoneyOutcome.WRITTEN
                outcomes[clio_id] = MoneyResult(outcome, clio_id, payment_id, plan.reason)

    def _linked(
        self,
        ctx: SyncContext,
        *,
        mapping: Mapping | None,
        allocation: ClioAllocation,
        invoice_id: str,
        payment_id: str,
        now: datetime,
    ) -> None:
        assert allocation.bill is not None
        _link(
            ctx.mappings,
            connection_id=ctx.connection_id,
            record_type=self.name,
            clio_id=str(allocation.id),
            now=now,
            existing=mapping,
            xero_id=payment_id,
            status=MappingStatus.OK,
            depends_on=record_ref(RecordType.BILL.value, str(allocation.bill.id)),
            clio_version=allocation.etag,
            synced={
                "amount": str(cents(allocation.amount)),
                "invoice_id": invoice_id,
                "reference": payment_reference(allocation.id),
            },
        )


# ====================================================================================== credit notes
@dataclass
class _MemoWork:
    """One live credit memo of a burst, read and resolved: what its credit note needs."""

    memo: ClioCreditMemo
    mapping: Mapping | None
    contact_id: str
    allocations: list[ClioAllocation]
    invoice_ids: dict[int, str]  # bill id → InvoiceID
    credit_note_id: str | None = None
    was_linked: bool = False


def _or_where(field: str, values: Sequence[str], *, guid: bool = False) -> str:
    """``A=="x" OR A=="y"``: one ``where`` for many values (``/CreditNotes`` has no ``IDs=``,
    docs/payments.md "Credit notes in bursts")."""
    term = '{f}==Guid("{v}")' if guid else '{f}=="{v}"'
    return " OR ".join(term.format(f=field, v=v) for v in values)


def read_credit_notes(
    xero: XeroClient, field: str, values: Iterable[str], *, guid: bool = False
) -> list[dict[str, Any]]:
    """Credit notes whose ``field`` is one of ``values``: one read per 50 (``page=1``: full records,
    with their Allocations)."""
    wanted = list(dict.fromkeys(v for v in values if v))
    rows: list[dict[str, Any]] = []
    for start in range(0, len(wanted), XERO_BATCH):
        where = _or_where(field, wanted[start : start + XERO_BATCH], guid=guid)
        rows.extend(xero.read_page("CreditNotes", "CreditNotes", params={"where": where}).rows)
    return rows


def _credit_allocations(clio: ClioClient, memos: Sequence[ClioCreditMemo]) -> dict[int, list[ClioAllocation]]:
    """The allocations of ``memos``, by memo id. Clio filters allocations by one ``parent_id``
    only, so a burst reads the credit-memo allocations created since its oldest memo (one read per
    200; an allocation cannot be older than its credit memo) instead of one read per memo; a lone
    memo (or one without ``created_at``) is read by its ``parent_id`` (docs/payments.md)."""
    out: dict[int, list[ClioAllocation]] = {m.id: [] for m in memos}
    created = [m.created_at for m in memos if m.created_at is not None]
    if len(memos) > 1 and len(created) == len(memos):
        # A minute's margin for the clock resolution of the two records written together.
        since = min(created) - timedelta(minutes=1)
        params: dict[str, Any] = {"parent_type": "CreditMemo", "created_since": since.isoformat()}
        rows = list(clio.iter_records("allocations", fields=ALLOCATION_FIELDS, params=params))
    else:
        rows = [
            row
            for m in memos
            for row in clio.iter_records(
                "allocations", fields=ALLOCATION_FIELDS, params={"parent_id": m.id, "parent_type": "CreditMemo"}
            )
        ]
    for row in rows:
        allocation = ClioAllocation.model_validate(row)
        if allocation.parent is not None and allocation.parent.id in out:
            out[allocation.parent.id].append(allocation)
    return out


class CreditMemoPlugin(BatchedPlugin):
    """Clio credit memos → ACCRECCREDIT credit notes, in bursts (docs/payments.md "Credit notes in
    bursts"): one Clio read of the memos by ids, one of their allocations, one Xero read of
    the invoices (``IDs=``, 50 per call; each lists the credit already applied to it), one lookup
    by our number of the memos not linked yet (50 per call: the uncertain-outcome lookup), one
    ``PUT /CreditNotes`` per 50 new ones, then one ``PUT /CreditNotes/{id}/Allocations`` per credit
    note with something to allocate (Xero allocates one credit note per call). Voids: one read per
    50, one ``DELETE`` per allocation, one ``POST /CreditNotes`` per 50."""

    record_type = RecordType.CREDIT_MEMO
    switch = "sync_credit_notes"
    depends_on = RecordType.CONTACT
    sweep_sources = (Source.CLIO,)
    backfill_phase = 45

    def changed_since(
        self, clio: ClioClient, xero: XeroClient, source: Source, since: datetime
    ) -> Iterator[tuple[str, object]]:
        for row in clio.iter_records("credit_memos", fields="id,etag", updated_since=since):
            yield str(row["id"]), row.get("etag")

    def sync_batch(self, ctx: SyncContext, events: Sequence[SyncEvent]) -> list[SyncedRecord | SyncError]:
        ids = list(dict.fromkeys(e.record_id for e in events))
        memos = {
            str(row["id"]): ClioCreditMemo.model_validate(row)
            for row in ctx.clio.iter_records("credit_memos", fields=CREDIT_MEMO_FIELDS, params={"ids[]": ids})
        }
        mappings = {i: ctx.mappings.get(ctx.connection_id, self.name, i) for i in ids}
        outcomes: dict[str, SyncedRecord | SyncError] = {}
        gone = [i for i in ids if memos.get(i) is None or memos[i].voided_at is not None]
        self._void(ctx, gone, mappings, outcomes)
        live = [memos[i] for i in ids if i not in gone]
        allocations = _credit_allocations(ctx.clio, live)
        work: dict[str, _MemoWork] = {}
        for memo in live:
            clio_id = str(memo.id)
            try:
                work[clio_id] = self._prepare(ctx, memo, mappings[clio_id], allocations.get(memo.id, []))
            except SyncError as exc:
                outcomes[clio_id] = exc
        if work:
            invoices = read_invoices(ctx.xero, (i for w in work.values() for i in w.invoice_ids.values()))
            self._find_or_create(ctx, work, invoices, outcomes)
            for clio_id, item in work.items():
                if clio_id in outcomes:
                    continue
                try:
                    outcomes[clio_id] = self._allocate(ctx, item, invoices)
                except SyncError as exc:
                    outcomes[clio_id] = exc
        return [outcomes[e.record_id] for e in events]

    # ------------------------------------------------------------------ live memos
    def _prepare(
        self, ctx: SyncContext, memo: ClioCreditMemo, mapping: Mapping | None, allocations: list[ClioAllocation]
    ) -> _MemoWork:
        if memo.contact is None:
            raise ValidationFailedError(f"Clio credit note {memo.id} names no client", [])
        contact = ctx.linked_parent(RecordType.CONTACT, str(memo.contact.id))
        bills = sorted({a.bill.id for a in allocations if a.bill is not None and a.voided_at is None})
        invoice_ids = {b: str(ctx.linked_parent(RecordType.BILL, str(b)).xero_id) for b in bills}
        linked = mapping.xero_id if mapping is not None and mapping.status is not MappingStatus.TOMBSTONED else None
        return _MemoWork(
            memo,
            mapping,
            str(contact.xero_id),
            allocations,
            invoice_ids,
            credit_note_id=linked,
            was_linked=bool(linked),
        )

    def _find_or_create(
        self,
        ctx: SyncContext,
        work: dict[str, _MemoWork],
        invoices: dict[str, XeroInvoiceView],
        outcomes: dict[str, SyncedRecord | SyncError],
    ) -> None:
        """Give every memo its credit note: the linked one; one Xero already has under our number
        (an earlier answer was lost: adopted, never written twice); else a new one, 50 per call."""
        unlinked = {credit_note_number(w.memo.id): w for w in work.values() if w.credit_note_id is None}
        for row in read_credit_notes(ctx.xero, "CreditNoteNumber", list(unlinked)):
            item = unlinked.get(str(row.get("CreditNoteNumber") or ""))
            if item is not None and row.get("Status") != "DELETED" and item.credit_note_id is None:
                item.credit_note_id = str(row["CreditNoteID"])
                self._linked(ctx, item)
        new = [w for w in unlinked.values() if w.credit_note_id is None]
        for start in range(0, len(new), XERO_BATCH):
            chunk = new[start : start + XERO_BATCH]
            payloads = []
            for item in chunk:
                views = [invoices[i.lower()] for i in item.invoice_ids.values() if i.lower() in invoices]
                # Xero allocates only within one currency: the credit note takes its bills' invoice currency.
                currency = next((v.currency_code for v in views if v.currency_code), None)
                payloads.append(
                    credit_note_payload(
                        item.memo, contact_id=item.contact_id, settings=ctx.settings.payments, currency_code=currency
                    )
                )
            # The key changes with each memo's etag and its mapping's version (a failure recorded
            # on it), so a retry after an error Xero cached for the key's 6 minutes is a new request;
            # a retry after a lost answer finds the credit note by number first and sends nothing.
            parts = (f"{w.memo.id}:{w.memo.etag}:{_version(w.mapping)}" for w in chunk)
            key = _key("cn", ctx.connection_id, parts)
            results = ctx.xero.save_records("CreditNotes", "CreditNotes", payloads, idempotency_key=key, create=True)
            for item, result in zip(chunk, results, strict=True):
                if not result.ok or result.record is None:
                    outcomes[str(item.memo.id)] = ValidationFailedError(
                        f"Xero refused Clio credit note {item.memo.id}: {'; '.join(result.errors)}", result.errors
                    )
                    continue
                item.credit_note_id = str(result.record["CreditNoteID"])
                self._linked(ctx, item)

    def _linked(self, ctx: SyncContext, item: _MemoWork) -> None:
        memo = item.memo
        _link(
            ctx.mappings,
            connection_id=ctx.connection_id,
            record_type=self.name,
            clio_id=str(memo.id),
            now=ctx.clock.now(),
            existing=item.mapping,
            xero_id=item.credit_note_id,
            xero_label=credit_note_number(memo.id),
            status=MappingStatus.OK,
            depends_on=record_ref(RecordType.CONTACT.value, str(memo.contact.id if memo.contact else "")),
            clio_version=memo.etag,
            synced={"amount": str(cents(memo.amount))},
        )
        item.mapping = ctx.mappings.get(ctx.connection_id, self.name, str(memo.id))

    def _allocate(self, ctx: SyncContext, item: _MemoWork, invoices: dict[str, XeroInvoiceView]) -> SyncedRecord:
        """The memo's allocations not yet in Xero, in one call for its credit note (what each
        invoice already has from it is on the invoice: ``Invoice.CreditNotes[]``)."""
        credit_note_id = str(item.credit_note_id)
        views = {b: invoices[i.lower()] for b, i in item.invoice_ids.items() if i.lower() in invoices}
        already = {v.invoice_id: v.credited_from(credit_note_id) for v in views.values()}
        todo, problems = plan_credit_allocations(item.memo, item.allocations, invoices=views, already=already)
        clio_id = str(item.memo.id)
        if todo:
            key = _key("cn-alloc", ctx.connection_id, (f"{credit_note_id}:{t.invoice_id}:{t.amount}" for t in todo))
            results = ctx.xero.save_records(
                f"CreditNotes/{credit_note_id}/Allocations",
                "Allocations",
                [t.payload for t in todo],
                idempotency_key=key,
                create=True,
            )
            refused = [f"{t.invoice_id}: {'; '.join(r.errors)}" for t, r in zip(todo, results, strict=True) if not r.ok]
            for t, r in zip(todo, results, strict=True):
                if r.ok:  # a later memo of the burst on the same invoice sees this credit as taken
                    view = invoices[t.invoice_id.lower()]
                    invoices[t.invoice_id.lower()] = view.model_copy(update={"amount_due": view.amount_due - t.amount})
            if refused:
                messages = [m for r in results for m in r.errors]
                raise ValidationFailedError(
                    f"Xero refused credit note {credit_note_id}'s allocation: {refused}", messages
                )
        if problems:
            raise XeroSideChangeError(" ".join(problems))
        if item.was_linked and not todo:  # a second look (a rerun of the backfill) writes nothing
            return MoneyResult(MoneyOutcome.UNCHANGED, clio_id, credit_note_id, "already in Xero, allocated as in Clio")
        return MoneyResult(MoneyOutcome.WRITTEN, clio_id, credit_note_id, f"{len(todo)} allocation(s) written")

    # ------------------------------------------------------------------ voided in Clio
    def _void(
        self,
        ctx: SyncContext,
        clio_ids: Sequence[str],
        mappings: dict[str, Mapping | None],
        outcomes: dict[str, SyncedRecord | SyncError],
    ) -> None:
        """Voided (or deleted) in Clio: each credit note's allocations removed (one ``DELETE``
        each: Xero voids a credit note only once they are), then the voids, 50 per ``POST``."""
        linked: dict[str, str] = {}
        for clio_id in clio_ids:
            mapping = mappings[clio_id]
            if mapping is None or not mapping.xero_id or mapping.status is MappingStatus.TOMBSTONED:
                outcomes[clio_id] = MoneyResult(
                    MoneyOutcome.UNCHANGED, clio_id, reason="void in Clio and never in Xero"
                )
            else:
                linked[clio_id] = mapping.xero_id
        if not linked:
            return
        to_void = self._unallocate(ctx, linked, outcomes)
        for start in range(0, len(to_void), XERO_BATCH):
            self._write_voids(ctx, to_void[start : start + XERO_BATCH], linked, mappings, outcomes)
        for clio_id, credit_note_id in linked.items():
            if clio_id in outcomes:
                continue
            _link(
                ctx.mappings,
                connection_id=ctx.connection_id,
                record_type=self.name,
                clio_id=clio_id,
                now=ctx.clock.now(),
                existing=mappings[clio_id],
                status=MappingStatus.TOMBSTONED,
            )
            outcomes[clio_id] = MoneyResult(
                MoneyOutcome.VOIDED, clio_id, credit_note_id, "voided in Clio: voided in Xero"
            )

    def _unallocate(
        self, ctx: SyncContext, linked: dict[str, str], outcomes: dict[str, SyncedRecord | SyncError]
    ) -> list[str]:
        """Remove the allocations of the credit notes still live in Xero; the memos to void next."""
        current = {
            str(r["CreditNoteID"]).lower(): r
            for r in read_credit_notes(ctx.xero, "CreditNoteID", list(linked.values()), guid=True)
        }
        to_void: list[str] = []
        for clio_id, credit_note_id in linked.items():
            row = current.get(credit_note_id.lower())
            if row is None or row.get("Status") in {"VOIDED", "DELETED"}:
                continue  # already gone in Xero (a person, or our earlier attempt whose answer was lost)
            live = [a for a in row.get("Allocations") or [] if a.get("AllocationID") and not a.get("IsDeleted")]
            try:
                for allocation in live:
                    ctx.xero.request(
                        "DELETE", f"/CreditNotes/{credit_note_id}/Allocations/{allocation['AllocationID']}"
                    )
            except SyncError as exc:
                outcomes[clio_id] = exc
                continue
            to_void.append(clio_id)
        return to_void

    def _write_voids(
        self,
        ctx: SyncContext,
        chunk: Sequence[str],
        linked: dict[str, str],
        mappings: dict[str, Mapping | None],
        outcomes: dict[str, SyncedRecord | SyncError],
    ) -> None:
        results = ctx.xero.save_records(
            "CreditNotes",
            "CreditNotes",
            [{"CreditNoteID": linked[c], "Status": "VOIDED"} for c in chunk],
            idempotency_key=_key("cn-void", ctx.connection_id, (f"{c}:{linked[c]}" for c in chunk)),
            create=False,
        )
        for clio_id, result in zip(chunk, results, strict=True):
            if not result.ok:
                mapping = mappings[clio_id]
                label = mapping.xero_label if mapping is not None and mapping.xero_label else linked[clio_id]
                outcomes[clio_id] = ValidationFailedError(
                    f"Xero refused to void credit note {label}: {'; '.join(result.errors)}", result.errors
                )


# ====================================================================================== Xero-side changes
class InvoiceWatchPlugin(RecordTypePlugin):
    """Xero ``INVOICE`` webhooks on invoices we synced: compared with what we wrote.

    Its mappings (record type ``invoice``, keyed by the bill id) hold only the flag, so a person's
    change shows in `clio-xero errors` as ``invoice:<bill id>`` beside the bill."""

    record_type = RecordType.INVOICE
    switch = "sync_bills"
    depends_on = RecordType.BILL

    def clio_id_of(self, event: SyncEvent, mappings: MappingStore) -> str | None:
        if event.source is Source.CLIO:
            return event.record_id
        return mappings.clio_id_for(event.connection_id, RecordType.BILL.value, event.record_id)

    def sync(self, ctx: SyncContext, event: SyncEvent) -> SyncedRecord:
        bill_id = self.clio_id_of(event, ctx.mappings)
        if bill_id is None:
            return Done(DoneOutcome.SKIPPED)  # not an invoice we wrote (a person's own, or an ACCPAY)
        bill_mapping = ctx.mappings.get(ctx.connection_id, RecordType.BILL.value, bill_id)
        if bill_mapping is None or not bill_mapping.xero_id:
            return Done(DoneOutcome.SKIPPED)
        if _echo_of_our_write(event, bill_mapping):
            # The bill plug-in's own write coming back: no Xero read spent on it (Xero's minute
            # limit is shared with the writes that matter).
            return MoneyResult(MoneyOutcome.CHECKED, bill_id, bill_mapping.xero_id, "our own write")
        row = ctx.xero.get_record("Invoices", "Invoices", bill_mapping.xero_id)
        bill = ctx.clio.get_record("bills", bill_id, fields="id,state")
        changes = []
        if row is not None:
            invoice = XeroInvoiceView.from_xero(row)
            ours = self._our_payments(ctx, bill_id)
            changes = compare_invoice(
                invoice,
                bill_id=bill_id,
                bill_state=(bill or {}).get("state"),
                expected_total=_written_total(bill_mapping),
                our_payments=ours,
            )
            if not ctx.settings.billing.sync_payments:
                # Payments are the firm's to enter in Xero while their sync is off: not a clash.
                changes = [c for c in changes if c.kind is not XeroChangeKind.MANUAL_PAYMENT]
        flag = ctx.mappings.get(ctx.connection_id, self.name, bill_id)
        if not changes:
            if flag is not None and flag.status is MappingStatus.ERROR:
                _link(
                    ctx.mappings,
                    connection_id=ctx.connection_id,
                    record_type=self.name,
                    clio_id=bill_id,
                    now=ctx.clock.now(),
                    existing=flag,
                    status=MappingStatus.OK,
                )
            return MoneyResult(MoneyOutcome.CHECKED, bill_id, bill_mapping.xero_id, "agrees with what we wrote")
        if ctx.settings.payments.xero_change_policy is XeroChangePolicy.REAPPLY:
            changes = self._reapply(ctx, changes)
            if not changes:
                return MoneyResult(
                    MoneyOutcome.REAPPLIED, bill_id, bill_mapping.xero_id, "Clio's version written again"
                )
        raise XeroSideChangeError("In Xero, " + " Also, ".join(c.sentence for c in changes))

    def _our_payments(self, ctx: SyncContext, bill_id: str) -> dict[str, str]:
        """PaymentID → allocation id of the bill's Clio payments we hold linked in Xero."""
        out: dict[str, str] = {}
        for row in ctx.clio.iter_records(
            "allocations", fields="id", params={"bill_id": bill_id, "parent_type": "Payment", "status": "valid"}
        ):
            mapping = ctx.mappings.get(ctx.connection_id, RecordType.ALLOCATION.value, str(row["id"]))
            payment_id = _linked_payment(mapping)
            if payment_id:
                out[payment_id.lower()] = str(row["id"])
        return out

    def _reapply(self, ctx: SyncContext, changes: list[Any]) -> list[Any]:
        """Write Clio's version again where it is safe; what is left still needs a person."""
        left = []
        for change in changes:
            if change.kind is XeroChangeKind.PAYMENT_DELETED and change.payment_id:
                allocation_id = ctx.mappings.clio_id_for(
                    ctx.connection_id, RecordType.ALLOCATION.value, change.payment_id
                )
                mapping = (
                    ctx.mappings.get(ctx.connection_id, RecordType.ALLOCATION.value, allocation_id)
                    if allocation_id
                    else None
                )
                if mapping is not None:
                    # Forget the deleted payment; the next sync of the allocation writes it again.
                    ctx.mappings.update(
                        mapping.model_copy(update={"xero_id": None, "synced": None, "updated_at": ctx.clock.now()}),
                        previous_xero_id=mapping.xero_id,
                    )
                    PaymentPlugin().sync(ctx, _event(ctx, RecordType.ALLOCATION, mapping.clio_id))
                    continue
            left.append(change)
        return left


def _echo_of_our_write(event: SyncEvent, bill_mapping: Mapping) -> bool:
    """Is this webhook the echo of the invoice write the bill mapping records (Xero's event time
    not after the invoice's UpdatedDateUTC we were answered with)?"""
    written = parse_xero_date(bill_mapping.xero_updated_at)
    if event.occurred_at is None or written is None:
        return False
    occurred = event.occurred_at if event.occurred_at.tzinfo else event.occurred_at.replace(tzinfo=UTC)
    return occurred <= written


def _written_total(bill_mapping: Mapping) -> Decimal | None:
    """The invoice total the bill plug-in last wrote, when its mapping keeps it."""
    synced = bill_mapping.synced or {}
    for key in ("Total", "total", "invoice_total"):
        if synced.get(key) is not None:
            return cents(synced[key])
    return None


def _event(ctx: SyncContext, record_type: RecordType, clio_id: str) -> SyncEvent:
    from clio_xero.events import dedupe_key

    dedupe = dedupe_key("reapply", ctx.connection_id, record_type.value, clio_id)
    return internal_event(ctx, record_type, clio_id, dedupe=dedupe)


def payment_plugins() -> list[RecordTypePlugin]:
    """The record types of this package, in registration order (after contacts and bills)."""
    return [PaymentPlugin(), CreditMemoPlugin(), InvoiceWatchPlugin()]


def link_payment(
    *,
    clio: ClioClient,
    xero: XeroClient,
    mappings: MappingStore,
    connection_id: str,
    allocation_id: str,
    payment_id: str,
    now: datetime,
) -> Mapping:
    """A person's second way out: Xero's payment *is* this Clio payment. Link them (nothing is
    written to Xero; the Clio payment is never written twice). Refused unless the Xero payment is
    live, on the bill's invoice, and of the same amount."""
    row = clio.get_record("allocations", allocation_id, fields=ALLOCATION_FIELDS)
    if row is None:
        raise NotFoundError(f"Clio has no payment (allocation) {allocation_id}")
    allocation = ClioAllocation.model_validate(row)
    if allocation.bill is None or allocation.from_credit_memo:
        raise ValidationFailedError(f"Clio allocation {allocation_id} is not a payment on a bill", [])
    bill = mappings.get(connection_id, RecordType.BILL.value, str(allocation.bill.id))
    payment = xero.get_record("Payments", "Payments", payment_id)
    if payment is None or payment.get("Status") != "AUTHORISED":
        raise NotFoundError(f"Xero has no live payment {payment_id}")
    invoice_id = str((payment.get("Invoice") or {}).get("InvoiceID") or "")
    if bill is None or not bill.xero_id or bill.xero_id.lower() != invoice_id.lower():
        raise ValidationFailedError(f"Xero payment {payment_id} is not on the invoice of bill {allocation.bill.id}", [])
    if cents(payment.get("Amount")) != cents(allocation.amount):
        raise ValidationFailedError(
            f"Xero payment {payment_id} is {cents(payment.get('Amount'))}, Clio payment {allocation_id} is "
            f"{cents(allocation.amount)}: not the same money",
            [],
        )
    existing = mappings.get(connection_id, RecordType.ALLOCATION.value, allocation_id)
    _link(
        mappings,
        connection_id=connection_id,
        record_type=RecordType.ALLOCATION.value,
        clio_id=allocation_id,
        now=now,
        existing=existing,
        xero_id=payment_id,
        status=MappingStatus.OK,
        depends_on=record_ref(RecordType.BILL.value, str(allocation.bill.id)),
        clio_version=allocation.etag,
        synced={"amount": str(cents(allocation.amount)), "invoice_id": invoice_id, "reference": "linked by a person"},
    )
    linked = mappings.get(connection_id, RecordType.ALLOCATION.value, allocation_id)
    assert linked is not None
    return linked
