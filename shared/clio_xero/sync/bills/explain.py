""" "Why didn't this bill sync?" for one Clio bill: what ``clio-xero billing explain`` prints and the
console's Errors page shows (one place, so both give the same answer; docs/billing.md).

Reads the bill from Clio (one call) and the sync's mappings (the bill's and its client's); the
judgement itself is :func:`clio_xero.billing.eligibility.explain` (pure).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from clio_xero.billing.clio_models import ClioBill
from clio_xero.billing.eligibility import BillSyncState, decide, explain
from clio_xero.billing.settings import BillingSettings
from clio_xero.events import RecordType
from clio_xero.sync.bills.plugin import linked_invoice
from clio_xero.sync.bills.reader import BILL_FIELDS
from clio_xero.sync.mapping import MappingStatus, MappingStore

if TYPE_CHECKING:
    from clio_xero.clients.clio import ClioClient

__all__ = ["MAX_SAME_NUMBER", "BillExplanation", "explain_bill", "find_bills"]

#: Clio numbers bills per firm, but a number can repeat (a re-issued bill): explain a few, not all.
MAX_SAME_NUMBER = 5


@dataclass(frozen=True)
class BillExplanation:
    bill: str  # the Clio bill id
    action: str  # the sync's decision now (create, update, skip, wait, ...; "none" when Clio has no such bill)
    explanation: str
    invoice: str | None = None  # the linked Xero InvoiceID
    invoice_number: str | None = None
    status: str | None = None  # the mapping's status (synced, error, ...)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def explain_bill(
    *, clio: ClioClient, mappings: MappingStore, connection_id: str, billing: BillingSettings, bill_id: str
) -> BillExplanation:
    raw = clio.get_record("bills", bill_id, fields=BILL_FIELDS)
    mapping = mappings.get(connection_id, RecordType.BILL.value, bill_id)
    linked = {
        "invoice": mapping.xero_id if mapping else None,
        "invoice_number": mapping.xero_label if mapping else None,
        "status": mapping.status.value if mapping else None,
    }
    if raw is None:
        text = f"Clio has no bill {bill_id}" + (
            f"; its invoice {mapping.xero_label or mapping.xero_id} is voided or deleted in Xero by the sync."
            if mapping and mapping.xero_id
            else "."
        )
        return BillExplanation(bill=bill_id, action="none", explanation=text, **linked)
    contact = None
    client = (raw.get("client") or {}).get("id")
    if client is not None:
        contact = mappings.get(connection_id, RecordType.CONTACT.value, str(client))
    state = BillSyncState(
        invoice=linked_invoice(mapping, None),
        contact_id=contact.xero_id if contact else None,
        last_error=mapping.last_error if mapping and mapping.status is MappingStatus.ERROR else None,
    )
    parsed = ClioBill.model_validate(raw)
    text = explain(parsed, billing, state)
    if mapping and mapping.error_hint:
        text += f" Hint: {mapping.error_hint}."
    return BillExplanation(bill=bill_id, action=decide(parsed, billing, state).action.value, explanation=text, **linked)


def find_bills(clio: ClioClient, number: str) -> list[str]:
    """The Clio ids of the bills numbered ``number`` (Clio's exact ``bill_number`` filter); when no
    bill has that number and it is all digits, the bill whose Clio id it is (people paste either)."""
    found: list[str] = []
    for row in clio.iter_records("bills", fields="id,number", params={"bill_number": number}):
        found.append(str(row["id"]))
        if len(found) >= MAX_SAME_NUMBER:
            break
    if not found and number.isdigit():
        found.append(number)
    return found
