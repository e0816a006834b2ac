"""``clio-xero backfill bills``: every bill that should be in Xero, planned first, then written 50
invoices per call, resumable (docs/billing.md "Backfill").

The plan reads the bills in Clio's 200-record pages (``issued_after`` when ``--since`` is given)
and decides each with the same rules as the worker (:func:`clio_xero.billing.eligibility.decide`):
counts and, per bill, what would happen and why. The run reads what the invoices are made of in
bulk (one ``created_since`` scan of the line items, activities and matters by ``ids[]``), then
hands the bill plug-in 50 bills at a time, so every rule, mapping, preflight and duplicate guard is
the worker's own. After each batch a checkpoint names the last Clio id done; a run started again
skips what is done (and the mappings say what is linked: nothing is sent twice). Throttles are
waited out (:class:`~clio_xero.sync.backfill.Patience`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel

from clio_xero.billing.clio_models import ClioBill
from clio_xero.billing.eligibility import BillAction, BillSyncState, decide
from clio_xero.billing.settings import TrackingSource
from clio_xero.errors import SyncError, ThrottledError
from clio_xero.sync.backfill import Checkpoint, CheckpointStore, Patience, patient_pages
from clio_xero.sync.bills.plugin import MAX_INVOICES_PER_CALL, BillPlugin, BillResult, linked_invoice
from clio_xero.sync.bills.reader import BILL_FIELDS, Fetch, read_bundles
from clio_xero.sync.core.plugin import SyncContext

__all__ = ["BillBackfill", "BillBackfillPlan", "BillBackfillReport", "BillPlanRow"]

PHASE = "bills"
WRITES = (BillAction.CREATE, BillAction.UPDATE, BillAction.VOID, BillAction.DELETE)
MAX_THROTTLED_ROUNDS = 30
Progress = Callable[[str, int, int], None]


class BillPlanRow(BaseModel):
    clio_id: str
    number: str | None
    state: str | None
    action: BillAction
    reason: str


@dataclass
class BillBackfillPlan:
    rows: list[BillPlanRow]
    bills: dict[str, dict[str, Any]]

    def counts(self) -> dict[str, int]:
        counted = Counter(r.action.value for r in self.rows)
        return {a.value: counted.get(a.value, 0) for a in BillAction}

    def to_write(self) -> list[BillPlanRow]:
        return sorted((r for r in self.rows if r.action in WRITES), key=lambda r: int(r.clio_id))


@dataclass
class BillBackfillReport:
    plan: BillBackfillPlan
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)
    resumed: Checkpoint | None = None
    batches: int = 0


def patient_fetch(ctx: SyncContext, patience: Patience) -> Fetch:
    """A Clio list read that waits out throttles page by page (never restarting the read)."""

    def fetch(resource: str, fields: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        def read(cursor: str | None) -> Any:
            return ctx.clio.read_page(resource, fields=fields, params=params, next_url=cursor)

        return list(patient_pages(read, patience))

    return fetch


class BillBackfill:
    def __init__(
        self,
        *,
        ctx: SyncContext,
        plugin: BillPlugin,
        checkpoints: CheckpointStore,
        patience: Patience,
        progress: Progress | None = None,
    ) -> None:
        self.ctx = ctx
        self.plugin = plugin
        self.checkpoints = checkpoints
        self.patience = patience
        self.progress = progress or (lambda _phase, _done, _total: None)
        self.fetch = patient_fetch(ctx, patience)

    # ------------------------------------------------------------------ plan
    def plan(self, since: date | None = None) -> BillBackfillPlan:
        """Every bill (issued on or after ``since``) and what the run would do with it."""
        params: dict[str, Any] = {"issued_after": since.isoformat()} if since else {}
        bills = {str(b["id"]): b for b in self.fetch("bills", BILL_FIELDS, params)}
        linked = {m.clio_id: m for m in self.ctx.mappings.list(self.ctx.connection_id, self.plugin.name)}
        billing = self.ctx.settings.billing
        rows: list[BillPlanRow] = []
        for clio_id, raw in bills.items():
            bill = ClioBill.model_validate(raw)
            mapping = linked.get(clio_id)
            decision = decide(bill, billing, BillSyncState(invoice=linked_invoice(mapping, None)))
            action = decision.action
            current = mapping is not None and mapping.xero_id and mapping.clio_version == bill.etag
            if (
                action in (BillAction.CREATE, BillAction.UPDATE)
                and current
                and mapping
                and mapping.status.value == "ok"
            ):
                action = BillAction.NOTHING
                decision = decision.model_copy(update={"reason": "already in Xero as it is in Clio"})
            rows.append(
                BillPlanRow(
                    clio_id=clio_id, number=bill.number, state=bill.state, action=action, reason=decision.reason
                )
            )
        return BillBackfillPlan(rows=sorted(rows, key=lambda r: int(r.clio_id)), bills=bills)

    # ------------------------------------------------------------------ run
    def run(self, plan: BillBackfillPlan) -> BillBackfillReport:
        report = BillBackfillReport(plan=plan)
        checkpoint = self.checkpoints.get(self.ctx.connection_id)
        now = self.ctx.clock.now()
        if checkpoint is not None and checkpoint.phase == PHASE and checkpoint.last_clio_id is not None:
            report.resumed = checkpoint
        else:
            checkpoint = Checkpoint(phase=PHASE, started_at=now, updated_at=now)
        done_up_to = checkpoint.last_clio_id or 0
        rows = [r for r in plan.to_write() if int(r.clio_id) > done_up_to]
        counts: Counter[str] = Counter(checkpoint.counts)
        total = len(rows)
        self.progress("read", 0, total)
        billing = self.ctx.settings.billing
        to_map = [plan.bills[r.clio_id] for r in rows if r.action in (BillAction.CREATE, BillAction.UPDATE)]
        bundles = read_bundles(
            self.fetch,
            to_map,
            self.ctx.clock,
            practice_areas=billing.tracking_source is TrackingSource.PRACTICE_AREA,
            scan=True,
        )
        self.progress("read", total, total)
        done = 0
        for start in range(0, total, MAX_INVOICES_PER_CALL):
            chunk = [r.clio_id for r in rows[start : start + MAX_INVOICES_PER_CALL]]
            results = self._patiently(chunk, plan.bills, bundles)
            report.batches += 1
            for clio_id in chunk:
                result = results[clio_id]
                if isinstance(result, SyncError):
                    counts["errors"] += 1
                    report.errors.append((clio_id, result.message))
                elif isinstance(result, BillResult):
                    counts[result.outcome.value] += 1
            done += len(chunk)
            checkpoint = checkpoint.model_copy(
                update={"last_clio_id": int(chunk[-1]), "counts": dict(counts), "updated_at": self.ctx.clock.now()}
            )
            self.checkpoints.put(self.ctx.connection_id, checkpoint)
            self.progress("write", done, total)
        self.checkpoints.put(
            self.ctx.connection_id, checkpoint.model_copy(update={"phase": "done", "updated_at": self.ctx.clock.now()})
        )
        report.counts = dict(counts)
        return report

    def _patiently(
        self, ids: Sequence[str], bills: dict[str, dict[str, Any]], bundles: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The plug-in's results for ``ids``; throttled bills wait and go again (same rules, and
        the mappings' "sending" marks make a repeat after an uncertain answer adopt, not duplicate)."""
        results: dict[str, Any] = {}
        pending = list(ids)
        for _ in range(MAX_THROTTLED_ROUNDS):
            answer = self.plugin.sync_bills(self.ctx, pending, found=bills, bundles=dict(bundles))
            throttles = {i: e for i, e in answer.items() if isinstance(e, ThrottledError)}
            results.update({i: answer[i] for i in pending if i not in throttles})
            if not throttles:
                return results
            throttled = list(throttles)
            wait = max((e.retry_after or self.patience.backoff) for e in throttles.values())
            self.patience.throttles += 1
            self.patience.waited += wait
            self.patience.wait(wait)
            pending = throttled
        results.update({i: answer[i] for i in pending})
        return results
