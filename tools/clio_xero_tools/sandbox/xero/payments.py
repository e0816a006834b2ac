"""``/Payments`` (docs/facts-xero.md#payment).

Create with PUT (a batch) or POST (one); never edit: the only update is ``Status: DELETED`` through
``POST /Payments/{PaymentID}``. A payment needs an AUTHORISED invoice or credit note, an amount no
larger than what is due, and an ACTIVE account that is a BANK account or has
``EnablePaymentsToAccount``. Paying the full amount makes the document PAID; deleting the payment
makes it AUTHORISED again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from clio_xero_tools.sandbox.xero.common import (
    ApiError,
    Ctx,
    ElementError,
    Reply,
    batch_reply,
    envelope,
    list_reply,
    not_found,
    obj,
    optional_date,
    validation_exception,
)
from clio_xero_tools.sandbox.xero.documents import _find_document, settle
from clio_xero_tools.sandbox.xero.formats import iso_datetime, money, ms_date, ms_datetime, new_guid, to_decimal
from clio_xero_tools.sandbox.xero.store import Payment

if TYPE_CHECKING:
    from clio_xero_tools.sandbox.xero.store import Account, Document, Org

__all__ = [
    "create_payment",
    "delete_payment",
    "get_payment",
    "list_payments",
    "payment_json",
    "remove_payment",
    "write_payments",
]

Json = dict[str, Any]
#: Xero's words, as Clio's own sync shows them when an invoice was already paid in Xero (docs).
NOT_AUTHORISED = "Payments can only be made against Authorised Documents"
_PAYMENT_TYPES = {
    "ACCREC": "ACCRECPAYMENT",
    "ACCPAY": "ACCPAYPAYMENT",
    "ACCRECCREDIT": "ARCREDITPAYMENT",
    "ACCPAYCREDIT": "APCREDITPAYMENT",
}


def payment_json(org: Org, p: Payment) -> Json:
    doc = org.document(p.doc_kind, p.doc_id)
    account = org.accounts.get(p.account_id)
    out: Json = {
        "PaymentID": p.payment_id,
        "Date": ms_date(p.date),
        "BankAmount": money(p.amount),
        "Amount": money(p.amount),
        "Reference": p.reference or "",
        "CurrencyRate": float(p.currency_rate),
        "PaymentType": p.payment_type,
        "Status": p.status,
        "UpdatedDateUTC": ms_datetime(p.updated),
        "UpdatedDateUTCString": iso_datetime(p.updated) + "Z",
        "HasAccount": False,
        "IsReconciled": p.is_reconciled,
    }
    if account is not None:
        acct: Json = {"AccountID": account.account_id, "Name": account.name}
        if account.code:
            acct["Code"] = account.code
        out["Account"] = acct
    if doc is not None:
        summary: Json = {"Type": doc.type, "Contact": {"ContactID": doc.contact_id}}
        if doc.kind == "invoice":
            summary["InvoiceID"] = doc.doc_id
            if doc.number:
                summary["InvoiceNumber"] = doc.number
            out["Invoice"] = summary
        else:
            summary["CreditNoteID"] = doc.doc_id
            if doc.number:
                summary["CreditNoteNumber"] = doc.number
            out["CreditNote"] = summary
    out["HasValidationErrors"] = False
    return out


def _document_for(org: Org, el: Json) -> Document:
    inv, cn = obj(el, "Invoice"), obj(el, "CreditNote")
    doc = None
    if inv or el.get("InvoiceNumber"):
        ref = inv.get("InvoiceID") or inv.get("InvoiceNumber") or el.get("InvoiceNumber")
        doc = _find_document(org, "invoice", str(ref)) if ref else None
        if doc is None:
            raise ElementError("Invoice could not be found")  # UNCONFIRMED text
    elif cn or el.get("CreditNoteNumber"):
        ref = cn.get("CreditNoteID") or cn.get("CreditNoteNumber") or el.get("CreditNoteNumber")
        doc = _find_document(org, "creditnote", str(ref)) if ref else None
        if doc is None:
            raise ElementError("Credit note could not be found")
    if doc is None:
        raise ElementError("A payment must reference an Invoice or a CreditNote")
    return doc


def _account_for(org: Org, el: Json) -> Account:
    acct = obj(el, "Account")
    account = None
    if acct.get("AccountID"):
        account = org.accounts.get(str(acct["AccountID"]).lower())
    elif acct.get("Code") or el.get("Code"):
        account = org.account_by_code(str(acct.get("Code") or el.get("Code")))
    if account is None:
        raise ElementError("Account could not be found")  # UNCONFIRMED text
    if account.status != "ACTIVE":
        raise ElementError(f"The account {account.code or account.name} is archived and cannot be used.")
    if account.type != "BANK" and not account.enable_payments:
        # Payments go into a BANK account or one with EnablePaymentsToAccount=true (§6.5, §8).
        raise ElementError("Account type is invalid for making a payment to/from")
    return account


def create_payment(ctx: Ctx, el: Json) -> Payment:
    org = ctx.org
    if el.get("Status") not in (None, "AUTHORISED"):
        raise ElementError("A payment can only be created with status AUTHORISED")
    errors: list[str] = []
    doc = account = None
    try:
        doc = _document_for(org, el)
    except ElementError as exc:
        errors.extend(exc.messages)
    try:
        account = _account_for(org, el)
    except ElementError as exc:
        errors.extend(exc.messages)
    try:
        amount = to_decimal(el.get("Amount"))
    except ValueError:
        errors.append("Payment amount must be specified")
        amount = Decimal(0)
    if doc is not None:
        if doc.status != "AUTHORISED":
            errors.append(NOT_AUTHORISED)
        elif amount > doc.amount_due:
            errors.append("Payment amount exceeds the amount outstanding on this document")
    if amount <= 0 and not any("Amount" in e for e in errors):
        errors.append("Payment amount must be greater than zero")
    when = optional_date(el.get("Date"), "Date") or ctx.now.date()
    if errors:
        raise ElementError(*errors)
    assert doc is not None
    assert account is not None
    payment = Payment(
        payment_id=new_guid(),
        doc_kind=doc.kind,
        doc_id=doc.doc_id,
        account_id=account.account_id,
        date=when,
        amount=amount,
        payment_type=_PAYMENT_TYPES[doc.type],
        created=ctx.now,
        updated=ctx.now,
        reference=str(el["Reference"]) if el.get("Reference") is not None else None,
        is_reconciled=bool(el.get("IsReconciled", False)),
        currency_rate=to_decimal(el.get("CurrencyRate") or 1),
    )
    org.payments[payment.payment_id] = payment
    doc.amount_paid += amount
    settle(ctx, doc, when)
    return payment


def write_payments(ctx: Ctx) -> Reply:
    """PUT /Payments (many) and POST /Payments (one, same rules)."""
    elements = ctx.elements("Payments")
    return batch_reply(
        ctx,
        "Payments",
        elements,
        lambda el: payment_json(ctx.org, create_payment(ctx, el)),
        error_flag="HasValidationErrors",
    )


def remove_payment(ctx: Ctx, payment: Payment) -> None:
    """Delete ``payment`` (Status DELETED) and reopen its document; raise ElementError if already gone."""
    if payment.status == "DELETED":
        raise ElementError("Payment has already been deleted")  # UNCONFIRMED text
    payment.status = "DELETED"
    payment.updated = ctx.now
    doc = ctx.org.document(payment.doc_kind, payment.doc_id)
    if doc is not None:
        doc.amount_paid -= payment.amount
        settle(ctx, doc, None)


def delete_payment(ctx: Ctx, payment_id: str) -> Reply:
    """``POST /Payments/{PaymentID}`` with ``{"Status":"DELETED"}``: the only update Xero allows."""
    org = ctx.org
    payment = org.payments.get(payment_id.lower())
    if payment is None:
        raise ApiError(not_found())
    data = ctx.json_body()
    items = data.get("Payments", [data])
    el = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
    if set(el) - {"Status", "PaymentID"} or el.get("Status") != "DELETED":
        raise ApiError(
            validation_exception([{**el, "ValidationErrors": [{"Message": "Only Status accepted for updates."}]}])
        )
    try:
        remove_payment(ctx, payment)
    except ElementError as exc:
        raise ApiError(validation_exception([{**el, "ValidationErrors": [{"Message": exc.messages[0]}]}])) from None
    return Reply(200, envelope(ctx, "Payments", [payment_json(org, payment)]))


def list_payments(ctx: Ctx) -> Reply:
    org = ctx.org
    return list_reply(
        ctx, "Payments", list(org.payments.values()), lambda p: payment_json(org, p), updated=lambda p: p.updated
    )


def get_payment(ctx: Ctx, payment_id: str) -> Reply:
    payment = ctx.org.payments.get(payment_id.lower())
    if payment is None:
        raise ApiError(not_found())
    return Reply(200, envelope(ctx, "Payments", [payment_json(ctx.org, payment)]))
