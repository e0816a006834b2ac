"""The payments and credit-notes phases of the backfill (after the bills phase of ``backfill
bills``, or alone as ``backfill payments``): every Clio payment on a synced bill and every credit
memo, planned first (``--dry-run`` stops there), then written through the plug-ins themselves, 50
payments per burst, resumable after interruption.

The phases run in the registry's backfill order (:meth:`Registry.backfill_order`: payments, then
credit notes). A phase whose switch (``sync_payments`` / ``sync_credit_notes``) is off is planned
as "switched off" and writes nothing. Reads: allocations (``parent_type=Payment``, valid only) and
credit memos in Clio's 200-record pages, one pass each (plus the credit memos' own allocations when
only some bills are covered). Writes: :meth:`PaymentPlugin.sync_batch` per 50 (one Clio read by
ids, one Xero invoice read by ``IDs=``, one ``PUT /Payments``), :meth:`CreditMemoPlugin.sync_batch`
per 50 (one lookup by number, one ``PUT /CreditNotes``, then one allocation call per credit note).
Each phase keeps its own checkpoint (the record type's key in
:mod:`clio_xero.store.checkpoints`) naming the last Clio id done; a run started again skips what
is done, and the mappings (and our References on the invoices) make sure nothing is written
twice. Throttles are waited out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from clio_xero.errors import SyncError, ThrottledError
from clio_xero.events import Action, RecordType, Source, SyncEvent, dedupe_key
from clio_xero.payments.plugins import XERO_BATCH, CreditMemoPlugin, MoneyResult, PaymentPlugin
from clio_xero.sync.backfill import Checkpoint, CheckpointStore, Patience, patient_pages
from clio_xero.sync.core.plugin import RecordTypePlugin, SyncContext
from clio_xero.sync.mapping import MappingStatus

__all__ = ["MoneyBackfill", "MoneyBackfillPlan", "MoneyBackfillReport", "PhaseCheckpoints"]

#: The phase each money record type is backfilled in (its checkpoint is keyed by the record type).
PHASE_OF = {RecordType.ALLOCATION: "payments", RecordType.CREDIT_MEMO: "credit_notes"}
PHASES = tuple(PHASE_OF.values())
BATCH = {"payments": XERO_BATCH, "credit_notes": XERO_BATCH}  # both plug-ins take bursts of 50
MAX_THROTTLED_ROUNDS = 30
Progress = Callable[[str, int, int], None]
#: A record type's name → the store of that type's backfill checkpoints.
PhaseCheckpoints = Callable[[str], CheckpointStore]


@dataclass
class MoneyBackfillPlan:
    payments: list[str]  # allocation ids to sync (on covered bills in Xero, not yet linked)
    credit_memos: list[str]
    skipped: dict[str, int] = field(default_factory=dict)  # why others are left out, counted
    off: dict[str, str] = field(default_factory=dict)  # phase → why it writes nothing (its switch)
    order: tuple[str, ...] = PHASES
    #: Credit memos already in Xero as they are in Clio: read again (their allocations may be
    #: missing after an interruption; the mapping cannot say), written only where something lacks.
    recheck: list[str] = field(default_factory=list)

    def ids(self, phase: str) -> list[str]:
        if phase == "payments":
            return self.payments
        return sorted([*self.credit_memos, *self.recheck], key=int)

    def counts(self) -> dict[str, int]:
        return {"payments": len(self.payments), "credit_notes": len(self.credit_memos), **self.skipped}

    def phases(self) -> dict[str, dict[str, Any]]:
        """Per phase, in run order: how many records it writes, why others are left out, and
        whether it is switched off."""
        noun = {"payments": "payments", "credit_notes": "credit notes"}
        return {
            phase: {
                "write": len(self.payments if phase == "payments" else self.credit_memos),
                "reasons": {k: v for k, v in self.skipped.items() if k.startswith(noun[phase])},
                "off": self.off.get(phase),
            }
            for phase in self.order
        }


@dataclass
class MoneyBackfillReport:
    plan: MoneyBackfillPlan
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)
    batches: int = 0
    resumed: dict[str, Checkpoint] = field(default_factory=dict)  # phase → the checkpoint it went on from


class MoneyBackfill:
    """The money phases; ``order`` is the registry's backfill order (only the payment and
    credit-memo plug-ins in it are used), so the phases run as the registry says."""

    def __init__(
        self,
        ctx: SyncContext,
        *,
        checkpoints: PhaseCheckpoints,
        patience: Patience,
        progress: Progress | None = None,
        order: Sequence[RecordTypePlugin] | None = None,
    ) -> None:
        self.ctx = ctx
        self.checkpoints = checkpoints
        self.patience = patience
        self.progress = progress or (lambda _phase, _done, _total: None)
        plugins = list(order) if order is not None else [PaymentPlugin(), CreditMemoPlugin()]
        self.plugins = {PHASE_OF[p.record_type]: p for p in plugins if p.record_type in PHASE_OF}
        self.plugins.setdefault("payments", PaymentPlugin())
        self.plugins.setdefault("credit_notes", CreditMemoPlugin())
        self.order = tuple(sorted(self.plugins, key=lambda ph: self.plugins[ph].backfill_phase or 0))

    # ------------------------------------------------------------------ plan
    def plan(self, bills: Collection[str] | None = None, coming: Collection[str] = ()) -> MoneyBackfillPlan:
        """What the phases would write. ``bills``: only the money of these Clio bills (``None``:
        every bill); ``coming``: bills not in Xero yet that the bills phase is about to create
        (a dry run of ``backfill bills`` counts their payments as to be written)."""
        skipped: Counter[str] = Counter()
        off = {
            phase: f"switched off ({plugin.switch}=false)"
            for phase, plugin in self.plugins.items()
            if not plugin.enabled(self.ctx.settings)
        }
        in_xero = {
            m.clio_id
            for m in self.ctx.mappings.list(self.ctx.connection_id, RecordType.BILL.value)
            if m.xero_id and m.status is not MappingStatus.TOMBSTONED
        } | set(coming)
        covered = in_xero if bills is None else in_xero & set(bills)
        payments = [] if "payments" in off else self._plan_payments(bills, covered, skipped)
        memos, recheck = ([], []) if "credit_notes" in off else self._plan_credit_memos(bills, skipped)
        return MoneyBackfillPlan(
            sorted(payments, key=int), sorted(memos, key=int), dict(skipped), off, self.order, sorted(recheck, key=int)
        )

    def _plan_payments(self, bills: Collection[str] | None, covered: set[str], skipped: Counter[str]) -> list[str]:
        linked = {
            m.clio_id
            for m in self.ctx.mappings.list(self.ctx.connection_id, RecordType.ALLOCATION.value)
            if m.xero_id or m.status is MappingStatus.TOMBSTONED
        }
        payments: list[str] = []
        for row in self._pages("allocations", "id,bill{id}", {"parent_type": "Payment", "status": "valid"}):
            bill = str((row.get("bill") or {}).get("id") or "")
            if str(row["id"]) in linked:
                skipped["payments already in Xero"] += 1
            elif bills is not None and bill not in bills:
                skipped["payments on bills this backfill does not cover"] += 1
            elif bill not in covered:
                skipped["payments on bills not in Xero"] += 1
            else:
                payments.append(str(row["id"]))
        return payments

    def _plan_credit_memos(self, bills: Collection[str] | None, skipped: Counter[str]) -> tuple[list[str], list[str]]:
        linked = {m.clio_id: m for m in self.ctx.mappings.list(self.ctx.connection_id, RecordType.CREDIT_MEMO.value)}
        memo_bills: dict[str, set[str]] = {}
        if bills is not None:  # which bills each credit memo is allocated to
            for row in self._pages("allocations", "id,parent,bill{id}", {"parent_type": "CreditMemo"}):
                memo = str((row.get("parent") or {}).get("id") or "")
                memo_bills.setdefault(memo, set()).add(str((row.get("bill") or {}).get("id") or ""))
        memos: list[str] = []
        recheck: list[str] = []
        for row in self._pages("credit_memos", "id,etag,voided_at", {}):
            clio_id = str(row["id"])
            mapping = linked.get(clio_id)
            if bills is not None and not memo_bills.get(clio_id, set()) & set(bills):
                skipped["credit notes of bills this backfill does not cover"] += 1
            elif row.get("voided_at") and mapping is None:
                skipped["credit notes void in Clio"] += 1
            elif (
                mapping is not None
                and mapping.xero_id
                and mapping.status is MappingStatus.OK
                and mapping.clio_version == row.get("etag")
                and not row.get("voided_at")
            ):
                skipped["credit notes already in Xero (checked again)"] += 1
                recheck.append(clio_id)
            else:
                memos.append(clio_id)
        return memos, recheck

    def _pages(self, resource: str, fields: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        def read(cursor: str | None) -> Any:
            return self.ctx.clio.read_page(resource, fields=fields, params=params, page_size=200, next_url=cursor)

        return list(patient_pages(read, self.patience))

    # ------------------------------------------------------------------ run
    def run(self, plan: MoneyBackfillPlan) -> MoneyBackfillReport:
        report = MoneyBackfillReport(plan=plan)
        counts: Counter[str] = Counter()
        for phase in plan.order:
            if phase in plan.off:
                continue  # switched off: planned as such, nothing written, its checkpoint untouched
            counts.update(self._run_phase(phase, plan.ids(phase), report))
        report.counts = {k: v for k, v in counts.items() if v}
        return report

    def _run_phase(self, phase: str, ids: Sequence[str], report: MoneyBackfillReport) -> Counter[str]:
        """One phase, from its own checkpoint: a run interrupted in it goes on after the last
        batch that finished; a finished (or new) one starts from the plan."""
        store = self.checkpoints(self.plugins[phase].name)
        now = self.ctx.clock.now()
        checkpoint = store.get(self.ctx.connection_id)
        if checkpoint is not None and checkpoint.phase == phase and checkpoint.last_clio_id is not None:
            report.resumed[phase] = checkpoint
        else:
            checkpoint = Checkpoint(phase=phase, started_at=now, updated_at=now)
        counts: Counter[str] = Counter()
        done_up_to = checkpoint.last_clio_id or 0
        todo = [i for i in ids if int(i) > done_up_to]
        size = BATCH[phase]
        for start in range(0, len(todo), size):
            chunk = todo[start : start + size]
            results = self._patiently(phase, chunk)
            report.batches += 1
            for clio_id, result in zip(chunk, results, strict=True):
                if isinstance(result, SyncError):
                    counts["errors"] += 1
                    report.errors.append((f"{phase}:{clio_id}", result.message))
                elif isinstance(result, MoneyResult):
                    counts[f"{phase}_{result.outcome.value}"] += 1
            checkpoint = checkpoint.model_copy(
                update={
                    "last_clio_id": int(chunk[-1]),
                    "counts": dict(Counter(checkpoint.counts) + counts),
                    "updated_at": self.ctx.clock.now(),
                }
            )
            store.put(self.ctx.connection_id, checkpoint)
            self.progress(phase, start + len(chunk), len(todo))
        store.put(
            self.ctx.connection_id, checkpoint.model_copy(update={"phase": "done", "updated_at": self.ctx.clock.now()})
        )
        return counts

    def _patiently(self, phase: str, ids: Sequence[str]) -> list[Any]:
        """The plug-in's results for ``ids``; throttled ones wait and go again."""
        results: dict[str, Any] = {}
        pending = list(ids)
        for _ in range(MAX_THROTTLED_ROUNDS):
            answer = dict(zip(pending, self._sync(phase, pending), strict=True))
            throttled = {i: e for i, e in answer.items() if isinstance(e, ThrottledError)}
            results.update({i: r for i, r in answer.items() if i not in throttled})
            if not throttled:
                break
            wait = max((e.retry_after or self.patience.backoff) for e in throttled.values())
            self.patience.throttles += 1
            self.patience.waited += wait
            self.patience.wait(wait)
            pending = list(throttled)
        else:
            results.update(answer)
        return [results[i] for i in ids]

    def _sync(self, phase: str, ids: Sequence[str]) -> list[Any]:
        record_type = self.plugins[phase].record_type
        events = [
            SyncEvent(
                connection_id=self.ctx.connection_id,
                source=Source.CLIO,
                record_type=record_type,
                record_id=i,
                action=Action.UPDATED,
                received_at=self.ctx.clock.now(),
                dedupe_key=dedupe_key("backfill", self.ctx.connection_id, record_type.value, i),
            )
            for i in ids
        ]
        try:
            return list(self.plugins[phase].sync_batch(self.ctx, events))
        except SyncError as exc:  # the whole burst failed (a throttle on the shared read)
            return [exc] * len(ids)
