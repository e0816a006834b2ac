"""The invoice-number clash policy (docs/billing.md "Invoice numbers"): never a silent renumber.

Xero keeps ACCREC InvoiceNumbers unique per organisation, voided and deleted invoices included
(docs/billing.md "Invoice numbers"), and numbers invoices it creates itself from its own sequence. A Clio bill
number can therefore already be taken. Before creating an invoice the plug-in looks the number up
(``GET /Invoices?InvoiceNumbers=...``) and :func:`resolve_number` says what to do with what it found.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

__all__ = ["ExistingInvoice", "NumberAction", "NumberResolution", "resolve_number"]


class ExistingInvoice(BaseModel):
    """An invoice Xero holds with the number we want (the fields the lookup returns)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    InvoiceID: str
    InvoiceNumber: str | None = None
    Type: str | None = None
    Status: str | None = None
    Reference: str | None = None
    ContactID: str | None = None
    ContactName: str | None = None
    DateString: str | None = None


class NumberAction(StrEnum):
    SEND = "send"  # the number is free (or already ours): create / update
    ADOPT = "adopt"  # an invoice we sent but never recorded (an uncertain outcome): link it, then update
    PARK = "park"  # someone else's invoice holds the number: a person chooses


class NumberResolution(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: NumberAction
    invoice_id: str | None = None
    reason: str


def resolve_number(
    number: str | None,
    found: Sequence[ExistingInvoice],
    *,
    linked_invoice_id: str | None,
    contact_id: str,
    reference: str | None,
) -> NumberResolution:
    """What to do about ``found`` (invoices already holding ``number``) for the bill whose invoice
    is ``linked_invoice_id`` (or none yet), sent to ``contact_id`` with ``reference``."""
    if number is None:
        return NumberResolution(action=NumberAction.SEND, reason="Xero numbers this invoice itself.")
    others = [inv for inv in found if inv.Type in (None, "ACCREC") and inv.InvoiceID != linked_invoice_id]
    if not others:
        return NumberResolution(action=NumberAction.SEND, reason=f"Invoice number {number} is free or already ours.")
    if linked_invoice_id is None:
        # Ours, created by an attempt whose answer was lost: same client, same reference, still live.
        for inv in others:
            if inv.ContactID == contact_id and inv.Reference == reference and inv.Status not in ("VOIDED", "DELETED"):
                return NumberResolution(
                    action=NumberAction.ADOPT,
                    invoice_id=inv.InvoiceID,
                    reason=f"Invoice {number} was already created for this bill by an earlier attempt; it is linked.",
                )
    holder = others[0]
    whose = f" for {holder.ContactName}" if holder.ContactName else ""
    when = f" dated {holder.DateString[:10]}" if holder.DateString else ""
    status = f" ({holder.Status})" if holder.Status else ""
    return NumberResolution(
        action=NumberAction.PARK,
        reason=(
            f"Invoice number {number} is already used in Xero by another invoice{whose}{when}{status}; Xero keeps "
            "invoice numbers unique, voided ones included, and nothing was renumbered. Either set "
            "invoice_number_policy=prefixed with invoice_number_prefix (e.g. CL-) so Clio's numbers stay apart from "
            "Xero's own sequence, or renumber one of the two (the Xero invoice, or the bill in Clio), then "
            "`clio-xero retry`."
        ),
    )
