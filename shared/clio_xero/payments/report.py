"""Reading the receivables report: Clio's bills, the sync's mappings, Xero's invoices.

Costs: Clio bills in pages of 200 (one call per 200 bills), Xero invoices by ``IDs=`` (one call per
50 synced bills), two mapping queries. The rows are compared by :mod:`.receivables` (pure).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from clio_xero.billing.clio_models import ClioBill
from clio_xero.billing.eligibility import BillAction, BillSyncState, decide, explain
from clio_xero.events import RecordType
from clio_xero.payments.plugins import read_invoices
from clio_xero.payments.receivables import ClioMoneyAsOf, ReceivableRow, clio_money_as_of, compare_bill, missing_row
from clio_xero.sync.mapping import Mapping, MappingStatus, MappingStore, record_ref
from clio_xero.sync.settings import ConnectionSettings

if TYPE_CHECKING:
    from clio_xero.clients.clio import ClioClient
    from clio_xero.clients.xero import XeroClient

__all__ = ["REPORT_BILL_FIELDS", "Receivables", "read_receivables"]

#: What the report reads of Clio's allocations with ``--as-of`` (their dates make it historical).
AS_OF_ALLOCATION_FIELDS = "id,date,amount,created_at,parent,bill{id}"
REPORT_BILL_FIELDS = (
    "id,etag,number,state,type,kind,issued_at,due_at,total,due,paid,credits_issued,balance,updated_at,client{id}"
)
_WAITING = {MappingStatus.ERROR, MappingStatus.NEEDS_REVIEW, MappingStatus.WAITING}


@dataclass
class Receivables:
    rows: list[ReceivableRow]

    @property
    def differences(self) -> int:
        return sum(1 for r in self.rows if r.differs)


def _flags(mappings: Iterable[Mapping], by_bill: dict[str, list[str]]) -> None:
    for mapping in mappings:
        if mapping.status not in _WAITING or not mapping.last_error:
            continue
        bill = (
            mapping.clio_id
            if mapping.record_type == RecordType.INVOICE.value
            else (mapping.depends_on or "").removeprefix(record_ref(RecordType.BILL.value, ""))
        )
        if bill:
            by_bill.setdefault(bill, []).append(f"{mapping.record_type}:{mapping.clio_id}: {mapping.last_error}")


def read_receivables(
    *,
    clio: ClioClient,
    xero: XeroClient,
    mappings: MappingStore,
    connection_id: str,
    settings: ConnectionSettings,
    as_of: date | None = None,
) -> Receivables:
    """Every bill Clio has (issued on or before ``as_of``) that is synced or should be. With
    ``as_of``, paid and credits are those dated on or before it on both sides (Clio's live
    allocations, one more pass in pages of 200; Xero's payments and applied credit as the
    invoices list them): docs/payments.md "As of a date"."""
    params = {"issued_before": as_of.isoformat()} if as_of else None
    bills = [
        ClioBill.model_validate(row)
        for row in clio.iter_records("bills", fields=REPORT_BILL_FIELDS, params=params)
        if not (as_of and row.get("issued_at") and date.fromisoformat(row["issued_at"]) > as_of)
    ]
    linked = {m.clio_id: m for m in mappings.list(connection_id, RecordType.BILL.value)}
    flagged: dict[str, list[str]] = {}
    _flags(mappings.list(connection_id, RecordType.INVOICE.value), flagged)
    _flags(mappings.list(connection_id, RecordType.ALLOCATION.value), flagged)
    invoices = read_invoices(
        xero, (m.xero_id for m in linked.values() if m.xero_id and m.status is not MappingStatus.TOMBSTONED)
    )
    money: dict[str, ClioMoneyAsOf] = {}
    if as_of is not None:
        live = clio.iter_records("allocations", fields=AS_OF_ALLOCATION_FIELDS, params={"status": "valid"})
        money = clio_money_as_of(live, as_of)
    billing = settings.billing
    rows: list[ReceivableRow] = []
    for bill in bills:
        dated = money.get(str(bill.id), ClioMoneyAsOf(as_of)) if as_of is not None else None
        mapping = linked.get(str(bill.id))
        invoice = invoices.get((mapping.xero_id or "").lower()) if mapping else None
        waiting = "; ".join(flagged.get(str(bill.id), [])) or None
        if invoice is not None:
            rows.append(
                compare_bill(
                    bill,
                    invoice,
                    payments_synced=billing.sync_payments,
                    credits_synced=billing.sync_credit_notes,
                    flagged=waiting,
                    as_of=dated,
                )
            )
            continue
        state = BillSyncState(last_error=mapping.last_error if mapping else None)
        decision = decide(bill, billing, state)
        if decision.action in {BillAction.CREATE, BillAction.UPDATE, BillAction.WAIT}:
            rows.append(missing_row(bill, explain(bill, billing, state), as_of=dated))
    return Receivables(rows)
