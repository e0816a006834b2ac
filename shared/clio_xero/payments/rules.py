"""Pure decisions for money after the bill (docs/payments.md has the rules in words).

* :func:`plan_payment`: a Clio allocation → create / adopt / replace / delete a Xero payment, skip
  it, or stop with a sentence a bookkeeper can act on (a person's change in Xero, a missing
  account code). Never a payment Xero would refuse, never an overpayment.
* :func:`credit_note_payload` and :func:`plan_credit_allocations`: a Clio credit memo → an
  ACCRECCREDIT credit note allocated to the bills' invoices as in Clio.
* :func:`compare_invoice`: a Xero invoice against what we last wrote; each difference a person
  made in Xero, in one sentence, and whether the policy ``reapply`` may write Clio's version again.

Ours are recognised by their Reference (:func:`payment_reference`), which is also the lookup after
an uncertain outcome: the invoice lists its payments with their references, so a payment Xero
created while our answer was lost is found and adopted, never written twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from clio_xero.payments.models import ClioAllocation, ClioCreditMemo, XeroInvoiceView, cents
from clio_xero.payments.settings import PaymentSettings

__all__ = [
    "CreditAllocation",
    "PaymentAction",
    "PaymentPlan",
    "XeroChange",
    "XeroChangeKind",
    "allocation_id_of",
    "compare_invoice",
    "credit_note_number",
    "credit_note_payload",
    "payment_reference",
    "plan_credit_allocations",
    "plan_payment",
]

_OUR_REFERENCE = re.compile(r"^Clio payment (\d+)\b")


def payment_reference(allocation_id: int | str) -> str:
    """The Reference every payment we write carries (how ours are told from a person's)."""
    return f"Clio payment {allocation_id}"


def allocation_id_of(reference: str) -> str | None:
    """The Clio allocation a Xero payment came from, or ``None`` for one a person entered."""
    found = _OUR_REFERENCE.match(reference or "")
    return found.group(1) if found else None


def credit_note_number(memo_id: int | str) -> str:
    """The CreditNoteNumber of a Clio credit memo in Xero (outside Xero's own CN- sequence; the
    lookup key after an uncertain outcome)."""
    return f"CLIO-CN-{memo_id}"


def _money(value: Decimal) -> float:
    # A 2-dp Decimal becomes the float whose shortest repr is the same digits: nothing is lost.
    return float(cents(value))


class PaymentAction(StrEnum):
    CREATE = "create"  # write a new Xero payment
    ADOPT = "adopt"  # Xero already has it (our Reference): link, write nothing
    REPLACE = "replace"  # the Clio amount changed: delete the old payment, write the new one
    DELETE = "delete"  # voided or deleted in Clio: delete its Xero payment
    NOTHING = "nothing"  # already as it should be
    SKIP = "skip"  # not a payment for Xero (a credit memo's share, interest of a deleted bill)
    FLAG = "flag"  # a person must act; ``reason`` says what happened and the two ways out
    NEEDS_SETTING = "needs_setting"  # a setting is missing; ``reason`` names it


@dataclass(frozen=True)
class PaymentPlan:
    action: PaymentAction
    reason: str
    payload: dict[str, Any] | None = None  # for CREATE / REPLACE
    xero_payment_id: str | None = None  # ADOPT: the one found; DELETE / REPLACE: the one to delete


def _bill_label(allocation: ClioAllocation) -> str:
    return f"bill {allocation.bill.id}" if allocation.bill else "its bill"


def plan_payment(
    allocation: ClioAllocation | None,
    *,
    allocation_id: str,
    linked_payment_id: str | None,
    synced_amount: Decimal | None,
    invoice: XeroInvoiceView | None,
    settings: PaymentSettings,
) -> PaymentPlan:
    """What to do in Xero for one Clio allocation (``None``: Clio no longer has it).

    ``invoice`` is the bill's invoice as Xero has it now (needed only to create)."""
    if allocation is None or allocation.voided_at is not None:
        return _plan_gone(allocation_id, linked_payment_id)
    if allocation.from_credit_memo:
        return PaymentPlan(PaymentAction.SKIP, "a credit note's share of a bill: synced with its credit note")
    if allocation.bill is None:
        return PaymentPlan(
            PaymentAction.SKIP, "an interest payment whose interest bill was deleted in Clio: no invoice to pay"
        )
    amount = cents(allocation.amount)
    if amount <= 0:
        return PaymentPlan(
            PaymentAction.FLAG,
            f"Clio payment {allocation.id} on {_bill_label(allocation)} is {amount}; Xero takes only positive "
            "payments. Void it in Clio and record the refund there (the Xero payment is then deleted).",
        )
    if linked_payment_id:
        return _plan_linked(allocation, linked_payment_id, synced_amount, invoice, settings)
    if invoice is None:
        return PaymentPlan(PaymentAction.FLAG, f"the invoice of {_bill_label(allocation)} is not in Xero any more")
    reference = payment_reference(allocation.id)
    for existing in invoice.payments:
        if existing.reference == reference:
            return PaymentPlan(
                PaymentAction.ADOPT,
                f"Xero already has Clio payment {allocation.id} (an earlier answer was lost): "
                "linked, not written again",
                xero_payment_id=existing.payment_id,
            )
    blocked = _blocked_by_xero(allocation, amount, invoice)
    if blocked is not None:
        return blocked
    payload = _payment_payload(allocation, invoice, settings)
    if isinstance(payload, PaymentPlan):
        return payload
    return PaymentPlan(PaymentAction.CREATE, f"Clio payment {allocation.id} of {amount}", payload=payload)


def _plan_linked(
    allocation: ClioAllocation,
    linked_payment_id: str,
    synced_amount: Decimal | None,
    invoice: XeroInvoiceView | None,
    settings: PaymentSettings,
) -> PaymentPlan:
    amount = cents(allocation.amount)
    if synced_amount is None or cents(synced_amount) == amount:
        return PaymentPlan(PaymentAction.NOTHING, f"Clio payment {allocation.id} is in Xero")
    payload = _payment_payload(allocation, invoice, settings)
    if isinstance(payload, PaymentPlan):
        return payload
    return PaymentPlan(
        PaymentAction.REPLACE,
        f"Clio payment {allocation.id} changed from {cents(synced_amount)} to {amount}: Xero payments cannot "
        "be edited, so the old one is deleted and the new one written",
        payload=payload,
        xero_payment_id=linked_payment_id,
    )


def _plan_gone(allocation_id: str, linked_payment_id: str | None) -> PaymentPlan:
    """Voided (a reversed or refunded payment) or deleted in Clio."""
    if linked_payment_id:
        return PaymentPlan(
            PaymentAction.DELETE,
            f"Clio payment {allocation_id} was voided or deleted in Clio: its Xero payment is deleted",
            xero_payment_id=linked_payment_id,
        )
    return PaymentPlan(PaymentAction.NOTHING, f"Clio payment {allocation_id} is void and never reached Xero")


def _ways_out(allocation: ClioAllocation) -> str:
    return (
        f"Two ways out: undo that in Xero and run `clio-xero retry clio:allocation:{allocation.id}` (Clio's payment is "
        f"then written), or, if Xero's entry is the same money, keep it and run `clio-xero payments link "
        f"{allocation.id} <Xero PaymentID>` (the Clio payment is linked to it and never written twice)."
    )


def _blocked_by_xero(allocation: ClioAllocation, amount: Decimal, invoice: XeroInvoiceView) -> PaymentPlan | None:
    """A payment Xero would refuse because of something a person did there: the sentence, not Xero's."""
    head = f"Clio payment {allocation.id} of {amount} on {_bill_label(allocation)} is not written to {invoice.label}"
    manual = [p for p in invoice.payments if allocation_id_of(p.reference) is None]
    by_hand = ", ".join(f"{p.amount} (PaymentID {p.payment_id})" for p in manual)
    bill = allocation.bill.id if allocation.bill else "?"
    if invoice.status in {"VOIDED", "DELETED"}:
        return PaymentPlan(
            PaymentAction.FLAG,
            f"{head}: the invoice was {invoice.status.lower()} in Xero while the bill is unpaid in Clio. Two ways "
            f"out: void the bill in Clio as well, or re-issue it (`clio-xero retry clio:bill:{bill}` sends it "
            f"again as a new invoice) and then `clio-xero retry clio:allocation:{allocation.id}`.",
        )
    if invoice.status not in {"AUTHORISED", "PAID"}:
        return PaymentPlan(
            PaymentAction.FLAG,
            f"{head}: the invoice is {invoice.status} in Xero, not approved. Two ways out: approve it in Xero, or let "
            f"the bill sync approve it (`clio-xero retry clio:bill:{bill}`), then "
            f"`clio-xero retry clio:allocation:{allocation.id}`.",
        )
    if amount > invoice.amount_due:
        if manual:
            done = f"someone recorded {by_hand} on it in Xero by hand, leaving {invoice.amount_due} due"
        else:
            done = (
                f"Xero shows only {invoice.amount_due} due (total {invoice.total}, "
                f"paid {invoice.amount_paid}, credited {invoice.amount_credited})"
            )
        return PaymentPlan(
            PaymentAction.FLAG, f"{head}: {done}; writing it would overpay the invoice. {_ways_out(allocation)}"
        )
    return None


def _payment_payload(
    allocation: ClioAllocation, invoice: XeroInvoiceView | None, settings: PaymentSettings
) -> dict[str, Any] | PaymentPlan:
    if allocation.paid_from_trust:
        code = settings.trust_payment_account_code
        if not code:
            return PaymentPlan(
                PaymentAction.NEEDS_SETTING,
                f"Clio payment {allocation.id} on {_bill_label(allocation)} was paid from trust; set "
                "trust_payment_account_code (a Xero account with payments enabled, e.g. a trust clearing account) "
                "with `clio-xero settings set trust_payment_account_code=CODE`, then "
                f"`clio-xero retry clio:allocation:{allocation.id}`.",
            )
    else:
        account = allocation.destination_bank_account
        code = settings.account_code_for(
            bank_account_id=account.id if account else None, bank_account_name=account.name if account else None
        )
    payload: dict[str, Any] = {
        "Invoice": {"InvoiceID": invoice.invoice_id if invoice else ""},
        "Account": {"Code": code},
        "Amount": _money(allocation.amount),
        "Reference": payment_reference(allocation.id) + (" (interest)" if allocation.interest else ""),
    }
    if allocation.date is not None:
        payload["Date"] = allocation.date.isoformat()
    return payload


# ---------------------------------------------------------------------------------- credit notes
def credit_note_payload(
    memo: ClioCreditMemo, *, contact_id: str, settings: PaymentSettings, currency_code: str | None = None
) -> dict[str, Any]:
    """An AUTHORISED ACCRECCREDIT of exactly the memo's amount.

    A Clio credit memo is a plain amount (no lines, no tax split), so the credit note is one line
    with ``LineAmountTypes: NoTax``: its total is Clio's amount to the cent (docs/payments.md)."""
    payload: dict[str, Any] = {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": contact_id},
        "CreditNoteNumber": credit_note_number(memo.id),
        "Reference": f"Clio credit note {memo.id}",
        "Status": "AUTHORISED",
        "LineAmountTypes": "NoTax",
        "LineItems": [
            {
                "Description": (memo.description or "Credit").strip()[:4000] or "Credit",
                "Quantity": 1.0,
                "UnitAmount": _money(memo.amount),
                "AccountCode": settings.credit_note_account_code,
            }
        ],
    }
    if memo.date is not None:
        payload["Date"] = memo.date.isoformat()
    if currency_code:
        payload["CurrencyCode"] = currency_code
    return payload


@dataclass(frozen=True)
class CreditAllocation:
    invoice_id: str
    amount: Decimal
    bill_id: int
    payload: dict[str, Any] = field(default_factory=dict)


def plan_credit_allocations(
    memo: ClioCreditMemo,
    allocations: Sequence[ClioAllocation],
    *,
    invoices: Mapping[int, XeroInvoiceView],
    already: Mapping[str, Decimal],
) -> tuple[list[CreditAllocation], list[str]]:
    """The allocations to write (Clio's valid ones not yet in Xero) and the problems that stop one.

    ``invoices``: bill id → its invoice; ``already``: invoice id → credit already allocated from
    this credit note in Xero."""
    todo: list[CreditAllocation] = []
    problems: list[str] = []
    for alloc in allocations:
        if alloc.voided_at is not None or alloc.bill is None:
            continue
        invoice = invoices.get(alloc.bill.id)
        amount = cents(alloc.amount)
        if invoice is None:
            problems.append(f"bill {alloc.bill.id} is not in Xero yet")
            continue
        if already.get(invoice.invoice_id, Decimal(0)) >= amount:
            continue
        if invoice.status != "AUTHORISED" or invoice.amount_due < amount:
            manual = [p for p in invoice.payments if allocation_id_of(p.reference) is None]
            by_hand = ", ".join(f"{p.amount} (PaymentID {p.payment_id})" for p in manual)
            what = (
                f"someone recorded {by_hand} on it in Xero by hand"
                if manual
                else f"it is {invoice.status} with {invoice.amount_due} due in Xero"
            )
            problems.append(
                f"Clio credit note {memo.id} ({amount}) cannot be allocated to {invoice.label} of bill "
                f"{alloc.bill.id}: {what}. Two ways out: undo that in Xero and run "
                f"`clio-xero retry clio:credit_memo:{memo.id}`, or "
                "allocate the credit note in Xero yourself (it exists, unallocated) and the retry finds it allocated."
            )
            continue
        body = {"Invoice": {"InvoiceID": invoice.invoice_id}, "Amount": _money(amount)}
        if alloc.date is not None:
            body["Date"] = alloc.date.isoformat()
        todo.append(CreditAllocation(invoice.invoice_id, amount, alloc.bill.id, body))
    return todo, problems


# ---------------------------------------------------------------------------------- Xero-side changes
class XeroChangeKind(StrEnum):
    MANUAL_PAYMENT = "manual_payment"  # a person recorded a payment in Xero
    PAYMENT_DELETED = "payment_deleted"  # one of ours was deleted in Xero
    VOIDED = "voided"  # the invoice was voided (or deleted) in Xero
    EDITED = "edited"  # the invoice's total differs from what we wrote


@dataclass(frozen=True)
class XeroChange:
    kind: XeroChangeKind
    sentence: str
    reapplicable: bool  # policy "reapply" may write Clio's version again
    payment_id: str | None = None


def compare_invoice(
    invoice: XeroInvoiceView,
    *,
    bill_id: str,
    bill_state: str | None,
    expected_total: Decimal | None,
    our_payments: Mapping[str, str],
) -> list[XeroChange]:
    """What a person changed in Xero on a synced invoice, compared with what we last wrote.

    ``our_payments``: Xero PaymentID → Clio allocation id of every payment we wrote and still
    hold linked. Our own writes (whose webhooks come back to us) never count as changes."""
    changes: list[XeroChange] = []
    bill_gone = bill_state in {"void", "deleted"}
    if invoice.status in {"VOIDED", "DELETED"} and not bill_gone:
        changes.append(
            XeroChange(
                XeroChangeKind.VOIDED,
                f"{invoice.label} of bill {bill_id} was {invoice.status.lower()} in Xero while the bill is "
                f"{bill_state or 'open'} in Clio. Two ways out: void the bill in Clio as well, or, if the void was "
                f"a mistake, re-issue it: `clio-xero retry clio:bill:{bill_id}` sends the bill again as a new invoice.",
                reapplicable=False,
            )
        )
        return changes
    present = {p.payment_id: p for p in invoice.payments}
    for payment in invoice.payments:
        if payment.payment_id in our_payments or allocation_id_of(payment.reference) is not None:
            continue
        changes.append(
            XeroChange(
                XeroChangeKind.MANUAL_PAYMENT,
                f"someone recorded a payment of {payment.amount} on {invoice.label} (bill {bill_id}) in Xero by hand "
                f"(PaymentID {payment.payment_id}); Clio does not have it. Two ways out: record the payment in Clio "
                f"(it is then linked to this one with `clio-xero payments link <allocation id> {payment.payment_id}`), "
                "or delete it in Xero if it was a mistake.",
                reapplicable=False,
                payment_id=payment.payment_id,
            )
        )
    if invoice.status not in {"VOIDED", "DELETED"}:
        for payment_id, allocation_id in sorted(our_payments.items()):
            if payment_id not in present:
                changes.append(
                    XeroChange(
                        XeroChangeKind.PAYMENT_DELETED,
                        f"Clio payment {allocation_id} was deleted from {invoice.label} (bill {bill_id}) in Xero but "
                        f"stands in Clio. Two ways out: `clio-xero retry clio:allocation:{allocation_id}` writes it "
                        "again, or void the payment in Clio if Xero is right.",
                        reapplicable=True,
                        payment_id=payment_id,
                    )
                )
    if expected_total is not None and not bill_gone and cents(expected_total) != invoice.total:
        changes.append(
            XeroChange(
                XeroChangeKind.EDITED,
                f"{invoice.label} (bill {bill_id}) totals {invoice.total} in Xero but we wrote "
                f"{cents(expected_total)}: it was edited in Xero. Two ways out: `clio-xero retry clio:bill:{bill_id}` "
                "writes Clio's version again, "
                "or change the bill in Clio to match.",
                reapplicable=True,
            )
        )
    return changes
