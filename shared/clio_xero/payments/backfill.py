"""The payments and credit-notes phases of the backfill (after ``backfill bills``): every Clio
payment on a synced bill and every credit memo, planned first (``--dry-run`` stops there), then
written through the plug-ins themselves, 50 payments per burst, resumable after interruption.

Reads: allocations (``parent_type=Payment``, valid only) and credit memos in Clio's 200-record
pages, one pass each. Writes: :meth:`PaymentPlugin.sync_batch` per 50 (one Clio read by ids, one
Xero invoice read by ``IDs=``, one ``PUT /Payments``), :meth:`CreditMemoPlugin.sync` per credit
memo. After each burst a checkpoint names the last Clio id done (phases ``payments`` then
``credit_notes``); a run started again skips what is done, and the mappings (and our References
on the invoices) make sure nothing is written twice. Throttles are waited out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from clio_xero.errors import SyncError, ThrottledError
from clio_xero.events import Action, RecordType, Source, SyncEvent, dedupe_key
from clio_xero.payments.plugins import XERO_BATCH, CreditMemoPlugin, MoneyResult, PaymentPlugin
from clio_xero.sync.backfill import Checkpoint, CheckpointStore, Patience, patient_pages
from clio_xero.sync.core.plugin import SyncContext
from clio_xero.sync.mapping import MappingStatus

__all__ = ["MoneyBackfill", "MoneyBackfillPlan", "MoneyBackfillReport"]

PHASES = ("payments", "credit_notes")
MAX_THROTTLED_ROUNDS = 30
Progress = Callable[[str, int, int], None]


@dataclass
class MoneyBackfillPlan:
    payments: list[str]  # allocation ids to sync (on synced bills, not yet linked)
    credit_memos: list[str]
    skipped: dict[str, int] = field(default_factory=dict)  # why others are left out, counted

    def counts(self) -> dict[str, int]:
        return {"payments": len(self.payments), "credit_notes": len(self.credit_memos), **self.skipped}


@dataclass
class MoneyBackfillReport:
    plan: MoneyBackfillPlan
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)
    batches: int = 0
    resumed: Checkpoint | None = None


class MoneyBackfill:
    def __init__(
        self,
        ctx: SyncContext,
        *,
        checkpoints: CheckpointStore,
        patience: Patience,
        progress: Progress | None = None,
    ) -> None:
        self.ctx = ctx
        self.checkpoints = checkpoints
        self.patience = patience
        self.progress = progress or (lambda _phase, _done, _total: None)
        self.payments = PaymentPlugin()
        self.credit_memos = CreditMemoPlugin()

    # ------------------------------------------------------------------ plan
    def plan(self) -> MoneyBackfillPlan:
        settings = self.ctx.settings.billing
        skipped: Counter[str] = Counter()
        bills = {
            m.clio_id
            for m in self.ctx.mappings.list(self.ctx.connection_id, RecordType.BILL.value)
            if m.xero_id and m.status is not MappingStatus.TOMBSTONED
        }
        linked = {
            m.clio_id
            for m in self.ctx.mappings.list(self.ctx.connection_id, RecordType.ALLOCATION.value)
            if m.xero_id or m.status is MappingStatus.TOMBSTONED
        }
        payments: list[str] = []
        if settings.sync_payments:
            for row in self._pages("allocations", "id,bill{id}", {"parent_type": "Payment", "status": "valid"}):
                bill = str((row.get("bill") or {}).get("id") or "")
                if str(row["id"]) in linked:
                    skipped["payments already in Xero"] += 1
                elif bill not in bills:
                    skipped["payments on bills not in Xero"] += 1
                else:
                    payments.append(str(row["id"]))
        memos: list[str] = []
        if settings.sync_credit_notes:
            done = {m.clio_id for m in self.ctx.mappings.list(self.ctx.connection_id, RecordType.CREDIT_MEMO.value)}
            for row in self._pages("credit_memos", "id,voided_at", {}):
                if row.get("voided_at") and str(row["id"]) not in done:
                    skipped["credit notes void in Clio"] += 1
                else:
                    memos.append(str(row["id"]))
        return MoneyBackfillPlan(sorted(payments, key=int), sorted(memos, key=int), dict(skipped))

    def _pages(self, resource: str, fields: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        def read(cursor: str | None) -> Any:
            return self.ctx.clio.read_page(resource, fields=fields, params=params, page_size=200, next_url=cursor)

        return list(patient_pages(read, self.patience))

    # ------------------------------------------------------------------ run
    def run(self, plan: MoneyBackfillPlan) -> MoneyBackfillReport:
        report = MoneyBackfillReport(plan=plan)
        now = self.ctx.clock.now()
        checkpoint = self.checkpoints.get(self.ctx.connection_id)
        if checkpoint is not None and checkpoint.phase in PHASES and checkpoint.last_clio_id is not None:
            report.resumed = checkpoint
        else:
            checkpoint = Checkpoint(phase=PHASES[0], started_at=now, updated_at=now)
        counts: Counter[str] = Counter(checkpoint.counts)
        for phase, ids, size in (("payments", plan.payments, XERO_BATCH), ("credit_notes", plan.credit_memos, 1)):
            if PHASES.index(phase) < PHASES.index(checkpoint.phase):
                continue
            done_up_to = (checkpoint.last_clio_id or 0) if checkpoint.phase == phase else 0
            todo = [i for i in ids if int(i) > done_up_to]
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
                        "phase": phase,
                        "last_clio_id": int(chunk[-1]),
                        "counts": dict(counts),
                        "updated_at": self.ctx.clock.now(),
                    }
                )
                self.checkpoints.put(self.ctx.connection_id, checkpoint)
                self.progress(phase, start + len(chunk), len(todo))
            checkpoint = checkpoint.model_copy(update={"phase": phase, "last_clio_id": None})
        self.checkpoints.put(
            self.ctx.connection_id, checkpoint.model_copy(update={"phase": "done", "updated_at": self.ctx.clock.now()})
        )
        report.counts = dict(counts)
        return report

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
        record_type = RecordType.ALLOCATION if phase == "payments" else RecordType.CREDIT_MEMO
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
            if phase == "payments":
                return list(self.payments.sync_batch(self.ctx, events))
            return list(self.credit_memos.sync_batch(self.ctx, events))
        except SyncError as exc:  # the whole burst failed (a throttle on the shared read)
            return [exc] * len(ids)
