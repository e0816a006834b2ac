"""Which Clio bills sync, what to do with their invoices, and why (docs/billing.md "What syncs").

:func:`decide` is the whole rule set as one pure function of the bill, the settings and what we
know about its invoice; :func:`explain` turns the same decision into the sentence
``clio-xero billing explain BILL`` shows ("why didn't this bill sync?").
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from clio_xero.billing.clio_models import ClioBill
from clio_xero.billing.settings import BillingSettings, BillStates

__all__ = ["BillAction", "BillDecision", "BillSyncState", "LinkedInvoice", "decide", "explain"]

APPROVED_STATES = frozenset({"awaiting_payment", "paid"})
GONE_STATES = frozenset({"void", "deleted"})
TRUST_KIND = "trust_kind"


class BillAction(StrEnum):
    CREATE = "create"  # send a new invoice
    UPDATE = "update"  # rewrite the linked invoice (LineItemIDs kept)
    VOID = "void"  # the linked AUTHORISED invoice becomes VOIDED
    DELETE = "delete"  # the linked DRAFT/SUBMITTED invoice becomes DELETED
    SKIP = "skip"  # a rule keeps the bill out; nothing to do
    WAIT = "wait"  # something must change first (a person, or Xero); the reason says what
    NOTHING = "nothing"  # already as it should be


class LinkedInvoice(BaseModel):
    """What we last knew of the bill's Xero invoice."""

    model_config = ConfigDict(frozen=True)

    invoice_id: str
    invoice_number: str | None = None
    status: Literal["DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"]
    has_payments: bool = False  # payments or credit notes applied


class BillSyncState(BaseModel):
    """The sync's own knowledge of one bill (from the mapping table)."""

    model_config = ConfigDict(frozen=True)

    invoice: LinkedInvoice | None = None
    contact_id: str | None = None  # the bill's client, linked in Xero
    last_error: str | None = None  # the parked error, verbatim


class BillDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: BillAction
    reason: str
    xero_status: Literal["SUBMITTED", "AUTHORISED"] | None = None  # for CREATE / UPDATE


def _label(bill: ClioBill) -> str:
    return f"Bill {bill.number}" if bill.number else f"Bill id {bill.id}"


def _gone(bill: ClioBill, state: BillSyncState) -> BillDecision:
    what = "voided" if bill.state == "void" else "deleted"
    invoice = state.invoice
    if invoice is None:
        return BillDecision(
            action=BillAction.SKIP, reason=f"{_label(bill)} was {what} in Clio before it was sent; nothing to do."
        )
    number = invoice.invoice_number or invoice.invoice_id
    if invoice.status in {"VOIDED", "DELETED"}:
        return BillDecision(
            action=BillAction.NOTHING,
            reason=f"{_label(bill)} was {what} in Clio and invoice {number} is already {invoice.status} in Xero.",
        )
    if invoice.status in {"DRAFT", "SUBMITTED"}:
        return BillDecision(
            action=BillAction.DELETE,
            reason=f"{_label(bill)} was {what} in Clio: invoice {number} (not yet approved in Xero) is deleted.",
        )
    if invoice.has_payments or invoice.status == "PAID":
        return BillDecision(
            action=BillAction.WAIT,
            reason=(
                f"{_label(bill)} was {what} in Clio, but invoice {number} has payments or credit notes applied in "
                "Xero, and Xero voids only invoices without them. Remove those payments/allocations in Xero "
                "(or undo the void in Clio), then `clio-xero retry`."
            ),
        )
    return BillDecision(
        action=BillAction.VOID, reason=f"{_label(bill)} was {what} in Clio: invoice {number} is voided."
    )


def _unsent_rule(bill: ClioBill, settings: BillingSettings, state: BillSyncState) -> BillDecision | None:
    """The rules that keep a live bill out, or ``None`` when it should be in Xero."""
    linked = state.invoice is not None
    if bill.kind == TRUST_KIND:
        return BillDecision(
            action=BillAction.SKIP,
            reason=f"{_label(bill)} is a trust bill: trust money is not synced to Xero (docs/billing.md).",
        )
    if bill.state == "draft":
        if linked:
            return BillDecision(
                action=BillAction.WAIT,
                reason=(
                    f"{_label(bill)} went back to draft in Clio; its Xero invoice stays as it is until the bill is "
                    "approved again (then it is updated) or voided (then it is voided)."
                ),
            )
        return BillDecision(
            action=BillAction.SKIP, reason=f"{_label(bill)} is a draft in Clio; drafts never sync. Approve it in Clio."
        )
    if bill.state == "awaiting_approval" and settings.bill_states is BillStates.APPROVED_ONLY:
        if linked:
            return BillDecision(
                action=BillAction.WAIT,
                reason=f"{_label(bill)} is pending approval again in Clio; its invoice is updated once it is approved.",
            )
        return BillDecision(
            action=BillAction.SKIP,
            reason=(
                f"{_label(bill)} is pending approval in Clio; with bill_states=approved_only it syncs once approved "
                "(bill_states=every_non_draft would send it now, as awaiting approval in Xero)."
            ),
        )
    floor = settings.bills_issued_from
    if not linked and floor is not None and bill.issued_at is not None and bill.issued_at < floor:
        return BillDecision(
            action=BillAction.SKIP,
            reason=(
                f"{_label(bill)} was issued on {bill.issued_at.isoformat()}, before bills_issued_from="
                f"{floor.isoformat()}; bills issued before that date are not synced."
            ),
        )
    return None


def decide(bill: ClioBill, settings: BillingSettings, state: BillSyncState) -> BillDecision:
    """The one thing to do with ``bill`` now (pure; the plug-in carries it out)."""
    if not settings.sync_bills:
        return BillDecision(
            action=BillAction.SKIP,
            reason=(
                "Billing sync is off for this connection (sync_bills=false). Run `clio-xero billing check`, then "
                "`clio-xero settings set sync_bills=true`."
            ),
        )
    if bill.state is None:
        return BillDecision(
            action=BillAction.WAIT,
            reason=f"{_label(bill)} was read without its state; it is read again before anything is decided.",
        )
    if bill.state in GONE_STATES:
        return _gone(bill, state)
    kept_out = _unsent_rule(bill, settings, state)
    if kept_out is not None:
        return kept_out
    status: Literal["SUBMITTED", "AUTHORISED"] = "AUTHORISED" if bill.state in APPROVED_STATES else "SUBMITTED"
    invoice = state.invoice
    if invoice is None:
        return BillDecision(
            action=BillAction.CREATE, reason=f"{_label(bill)} is sent as a new invoice.", xero_status=status
        )
    number = invoice.invoice_number or invoice.invoice_id
    if invoice.status in {"VOIDED", "DELETED"}:
        return BillDecision(
            action=BillAction.WAIT,
            reason=(
                f"Invoice {number} was {invoice.status.lower()} in Xero while {_label(bill)} is still live in Clio. "
                "Void the bill in Clio too, or unlink the invoice so a new one is sent."
            ),
        )
    if invoice.status == "AUTHORISED" and status == "SUBMITTED":
        return BillDecision(
            action=BillAction.WAIT,
            reason=(
                f"{_label(bill)} went back to pending approval in Clio; invoice {number} stays approved in Xero "
                "(Xero cannot un-approve it) and is updated once the bill is approved again."
            ),
        )
    if invoice.status == "PAID":
        return BillDecision(
            action=BillAction.NOTHING, reason=f"Invoice {number} is paid in Xero; a paid invoice is not rewritten."
        )
    return BillDecision(
        action=BillAction.UPDATE, reason=f"{_label(bill)} updates invoice {number}.", xero_status=status
    )


def explain(bill: ClioBill, settings: BillingSettings, state: BillSyncState) -> str:
    """ "Why didn't this bill sync?": the bill's state, the rule or setting that keeps it out, or the
    parked error and its fix, in one paragraph."""
    decision = decide(bill, settings, state)
    head = f"{_label(bill)} ({bill.state or 'unknown state'} in Clio): "
    if decision.action in {BillAction.SKIP, BillAction.WAIT, BillAction.NOTHING}:
        return head + decision.reason
    if state.last_error:
        return head + f"it should sync, but the last attempt was parked: {state.last_error}"
    if state.contact_id is None:
        return head + (
            f"{decision.reason.rstrip('.')} once its client is linked in Xero; the client is synced first, "
            "whatever contact_scope says."
        )
    return head + decision.reason
