"""Pure business rules of Xero documents: line maths and status transitions.

No sandbox state here, so each rule is unit-tested directly as well as through HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from clio_xero_tools.sandbox.xero.formats import round2

__all__ = [
    "CREATE_STATUSES",
    "LineMath",
    "compute_line",
    "document_totals",
    "invoice_transition_error",
]

HUNDRED = Decimal(100)
CREATE_STATUSES = frozenset({"DRAFT", "SUBMITTED", "AUTHORISED"})
NOT_VALID_FOR_MODIFICATION = "Invoice not of valid status for modification"

# Legal status changes an API client (or a user) may request; PAID is only ever reached through
# payments/allocations and left again when they are removed (docs/facts-xero.md#invoice).
# UNCONFIRMED: SUBMITTED -> DRAFT. Xero's UI can return an awaiting-approval invoice to draft; we
# allow it, since nothing suggests the API forbids it.
_TRANSITIONS: dict[str, frozenset[str]] = {
    "DRAFT": frozenset({"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"}),
    "SUBMITTED": frozenset({"SUBMITTED", "DRAFT", "AUTHORISED", "DELETED"}),
    "AUTHORISED": frozenset({"AUTHORISED", "VOIDED"}),
    "PAID": frozenset(),
    "VOIDED": frozenset(),
    "DELETED": frozenset(),
}


def invoice_transition_error(current: str, wanted: str, *, has_payments: bool) -> str | None:
    """The error Xero gives for ``current -> wanted``, or ``None`` if the change is legal."""
    if wanted == current and current in ("DRAFT", "SUBMITTED", "AUTHORISED"):
        return None
    if wanted not in _TRANSITIONS.get(current, frozenset()):
        return NOT_VALID_FOR_MODIFICATION
    if wanted == "VOIDED" and has_payments:
        # Void only without payments or allocations: remove those first (docs/facts-xero.md#invoice).
        return (
            "This document cannot be voided as it has a payment or credit note allocated to it. "
            "Remove the payments and allocations first."
        )
    return None


@dataclass(frozen=True)
class LineMath:
    quantity: Decimal | None
    unit_amount: Decimal | None
    line_amount: Decimal
    tax_amount: Decimal


def compute_line(
    *,
    quantity: Decimal | None,
    unit_amount: Decimal | None,
    line_amount: Decimal | None,
    discount_rate: Decimal | None,
    discount_amount: Decimal | None,
    tax_rate: Decimal,
    line_amount_types: str,
    tax_amount: Decimal | None,
) -> LineMath:
    """One line's amount and tax, each rounded to 2 dp on its own (Xero computes tax per line and
    then sums, docs/facts-xero.md#guidance). ``tax_rate`` is a percentage. Raises ``ValueError`` with Xero's
    complaint when the given ``LineAmount`` contradicts Quantity x UnitAmount."""
    if quantity is None and unit_amount is None and line_amount is None:
        quantity_out, unit_out, amount = None, None, Decimal(0)  # a description-only line
    elif line_amount is not None and (quantity is None or unit_amount is None):
        quantity_out, unit_out, amount = _from_line_amount(quantity, unit_amount, round2(line_amount))
    else:
        quantity_out = Decimal(1) if quantity is None else quantity
        unit_out = Decimal(0) if unit_amount is None else unit_amount
        gross = quantity_out * unit_out
        if discount_rate is not None:
            gross = gross * (HUNDRED - discount_rate) / HUNDRED
        if discount_amount is not None:
            gross -= discount_amount
        amount = round2(gross)
        if line_amount is not None and abs(round2(line_amount) - amount) > Decimal("0.01"):
            raise ValueError(f"The line amount {round2(line_amount)} does not match Quantity x UnitAmount ({amount}).")
    if tax_amount is not None:
        tax = round2(tax_amount)
    elif line_amount_types == "NoTax":
        tax = Decimal(0)
    elif line_amount_types == "Inclusive":
        tax = round2(amount * tax_rate / (HUNDRED + tax_rate))
    else:
        tax = round2(amount * tax_rate / HUNDRED)
    return LineMath(quantity_out, unit_out, amount, tax)


def _from_line_amount(
    quantity: Decimal | None, unit_amount: Decimal | None, amount: Decimal
) -> tuple[Decimal, Decimal, Decimal]:
    """ "Provide a LineAmount and Xero will calculate the missing amount for you" (spec LineItem)."""
    four_dp = Decimal("0.0001")
    if quantity is None and unit_amount is None:
        return Decimal(1), amount, amount
    if quantity is None:
        assert unit_amount is not None
        return ((amount / unit_amount).quantize(four_dp) if unit_amount else Decimal(1)), unit_amount, amount
    return quantity, ((amount / quantity).quantize(four_dp) if quantity else amount), amount


def document_totals(lines: list[tuple[Decimal, Decimal]], line_amount_types: str) -> tuple[Decimal, Decimal, Decimal]:
    """(SubTotal, TotalTax, Total) from per-line (LineAmount, TaxAmount) pairs, summed after rounding."""
    amounts = sum((a for a, _ in lines), Decimal(0))
    tax = sum((t for _, t in lines), Decimal(0))
    if line_amount_types == "Inclusive":
        return amounts - tax, tax, amounts
    if line_amount_types == "NoTax":
        return amounts, Decimal(0), amounts
    return amounts, tax, amounts + tax
