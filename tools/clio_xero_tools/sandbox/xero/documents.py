"""``/Invoices`` and ``/CreditNotes`` (same shape, docs/facts-xero.md#invoice and #credit-note) and
credit-note Allocations.

Rules enforced: legal status transitions only (see :mod:`rules`), ACCREC ``InvoiceNumber`` unique
per org (voided and deleted ones keep theirs), line totals and tax per line at 2 dp, every
``AccountCode`` must exist and be ACTIVE, ``TaxType`` must exist and be ACTIVE, currency must be
subscribed, approving needs at least one line with an account, void only without payments or
allocations, allocations only between AUTHORISED documents and within what is left on both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from clio_xero_tools.sandbox.xero.common import (
    ApiError,
    Ctx,
    ElementError,
    Reply,
    batch_reply,
    envelope,
    ids_arg,
    list_reply,
    not_found,
    obj,
    optional_date,
    text,
)
from clio_xero_tools.sandbox.xero.contacts import resolve_contact_ref
from clio_xero_tools.sandbox.xero.formats import (
    is_guid,
    iso_datetime,
    money,
    ms_date,
    ms_datetime,
    new_guid,
    to_decimal,
    xero_date_string,
)
from clio_xero_tools.sandbox.xero.rules import CREATE_STATUSES, compute_line, document_totals, invoice_transition_error
from clio_xero_tools.sandbox.xero.store import Allocation, Document, LineItem
from clio_xero_tools.sandbox.xero.tracking import resolve_line_tracking

if TYPE_CHECKING:
    from clio_xero_tools.sandbox.xero.store import Account, DocKind, Org

__all__ = [
    "allocate",
    "delete_allocation",
    "document_json",
    "get_document",
    "list_documents",
    "settle",
    "write_documents",
]

Json = dict[str, Any]
_TYPES = {"invoice": ("ACCREC", "ACCPAY"), "creditnote": ("ACCRECCREDIT", "ACCPAYCREDIT")}
_KEYS = {
    "invoice": ("Invoices", "InvoiceID", "InvoiceNumber"),
    "creditnote": ("CreditNotes", "CreditNoteID", "CreditNoteNumber"),
}
_CATEGORY = {"invoice": "INVOICE", "creditnote": "CREDITNOTE"}
_LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
TAX_TYPE_MANDATORY = "TaxType field is mandatory"  # the text Clio's own sync shows (docs/sandbox-xero.md)
# UNCONFIRMED wording (quoted in integrators' reports, not on a Xero page we could read).
NUMBER_NOT_UNIQUE = {"invoice": "Invoice # must be unique.", "creditnote": "Credit Note # must be unique."}


def _collection(org: Org, kind: DocKind) -> dict[str, Document]:
    return org.invoices if kind == "invoice" else org.credit_notes


def event_data(doc: Document) -> Json | None:
    # Only CREDITNOTE events carry data {Type, Status} (xero-webhooks.yaml).
    return {"Type": doc.type, "Status": doc.status} if doc.kind == "creditnote" else None


# ---------------------------------------------------------------------------- serialisation


def line_json(line: LineItem) -> Json:
    out: Json = {"LineItemID": line.line_item_id}
    if line.description is not None:
        out["Description"] = line.description
    if line.quantity is not None:
        out["Quantity"] = float(line.quantity)
    if line.unit_amount is not None:
        out["UnitAmount"] = float(line.unit_amount)
    if line.item_code is not None:
        out["ItemCode"] = line.item_code
    if line.account_code is not None:
        out["AccountCode"] = line.account_code
    if line.tax_type is not None:
        out["TaxType"] = line.tax_type
    out["TaxAmount"] = money(line.tax_amount)
    out["LineAmount"] = money(line.line_amount)
    if line.discount_rate is not None:
        out["DiscountRate"] = float(line.discount_rate)
    if line.discount_amount is not None:
        out["DiscountAmount"] = float(line.discount_amount)
    out["Tracking"] = [dict(t) for t in line.tracking]
    return out


def _contact_summary(org: Org, contact_id: str) -> Json:
    c = org.contacts.get(contact_id)
    out: Json = {"ContactID": contact_id}
    if c is not None:
        out["Name"] = c.name
        if c.contact_number is not None:
            out["ContactNumber"] = c.contact_number
        out["ContactStatus"] = c.status
        if c.email:
            out["EmailAddress"] = c.email
    return out


def document_json(org: Org, doc: Document, *, lines: bool = True) -> Json:
    _, id_key, number_key = _KEYS[doc.kind]
    out: Json = {"Type": doc.type, id_key: doc.doc_id}
    if doc.number is not None:
        out[number_key] = doc.number
    if doc.reference is not None:
        out["Reference"] = doc.reference
    out["Contact"] = _contact_summary(org, doc.contact_id)
    out["DateString"] = xero_date_string(doc.date)
    out["Date"] = ms_date(doc.date)
    if doc.due_date is not None:
        out["DueDateString"] = xero_date_string(doc.due_date)
        out["DueDate"] = ms_date(doc.due_date)
    out["Status"] = doc.status
    out["LineAmountTypes"] = doc.line_amount_types
    if lines:
        out["LineItems"] = [line_json(li) for li in doc.lines]
    out["SubTotal"] = money(doc.sub_total)
    out["TotalTax"] = money(doc.total_tax)
    out["Total"] = money(doc.total)
    out["UpdatedDateUTC"] = ms_datetime(doc.updated)
    out["UpdatedDateUTCString"] = iso_datetime(doc.updated) + "Z"
    out["CurrencyCode"] = doc.currency_code
    out["CurrencyRate"] = float(doc.currency_rate)
    payments = [p for p in org.payments.values() if p.doc_id == doc.doc_id and p.status == "AUTHORISED"]
    out["Payments"] = [
        {
            "PaymentID": p.payment_id,
            "Date": ms_date(p.date),
            "Amount": money(p.amount),
            "Reference": p.reference or "",
            "CurrencyRate": float(p.currency_rate),
            "HasAccount": False,
            "HasValidationErrors": False,
        }
        for p in payments
    ]
    allocations = [
        a for a in org.allocations.values() if not a.deleted and doc.doc_id in (a.invoice_id, a.credit_note_id)
    ]
    if doc.kind == "invoice":
        out["AmountDue"] = money(doc.amount_due)
        out["AmountPaid"] = money(doc.amount_paid)
        out["AmountCredited"] = money(doc.amount_credited)
        out["IsDiscounted"] = any(li.discount_rate or li.discount_amount for li in doc.lines)
        out["Prepayments"] = []
        out["Overpayments"] = []
        out["CreditNotes"] = [_applied_credit(org, a) for a in allocations]
        out["SentToContact"] = doc.sent_to_contact
        if doc.expected_payment_date is not None:
            out["ExpectedPaymentDate"] = ms_date(doc.expected_payment_date)
    else:
        out["RemainingCredit"] = money(doc.amount_due)
        out["Allocations"] = [allocation_json(org, a) for a in allocations]
        out["SentToContact"] = doc.sent_to_contact
    if doc.fully_paid_on is not None:
        out["FullyPaidOnDate"] = ms_date(doc.fully_paid_on)
    if doc.url is not None:
        out["Url"] = doc.url
    out["BrandingThemeID"] = "5d4dd402-c851-497e-aae1-9ff265c0d15a"  # Xero's "Standard" theme id
    out["HasAttachments"] = False
    out["HasErrors"] = False
    return out


def _applied_credit(org: Org, a: Allocation) -> Json:
    cn = org.credit_notes.get(a.credit_note_id)
    out: Json = {"CreditNoteID": a.credit_note_id, "AppliedAmount": money(a.amount), "Date": ms_date(a.date)}
    if cn is not None:
        if cn.number:
            out["CreditNoteNumber"] = cn.number
        out["Total"] = money(cn.total)
    return out


def allocation_json(org: Org, a: Allocation) -> Json:
    inv = org.invoices.get(a.invoice_id)
    invoice: Json = {"InvoiceID": a.invoice_id}
    if inv is not None and inv.number:
        invoice["InvoiceNumber"] = inv.number
    out: Json = {
        "AllocationID": a.allocation_id,
        "Amount": money(a.amount),
        "Date": ms_date(a.date),
        "Invoice": invoice,
        "CreditNote": {"CreditNoteID": a.credit_note_id},
    }
    if a.deleted:
        out["IsDeleted"] = True
    return out


# ---------------------------------------------------------------------------- writes


def _dec(value: Any, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return to_decimal(value)
    except ValueError:
        raise ElementError(f"{name} must be a number") from None


_APPLIES_TO = {
    "REVENUE": "can_apply_to_revenue",
    "EXPENSE": "can_apply_to_expenses",
    "ASSET": "can_apply_to_assets",
    "LIABILITY": "can_apply_to_liabilities",
    "EQUITY": "can_apply_to_equity",
}


def _tax_rate(org: Org, tax_type: str, account: Account | None = None) -> Decimal:
    """The rate of an ACTIVE ``tax_type`` that may be used on ``account``'s class (a sales tax on a
    revenue account, not on an expense one: TaxRate ``CanApplyTo*``, docs/sandbox-xero.md)."""
    rate = org.tax_rates.get(tax_type)
    fits = rate is not None and (account is None or getattr(rate, _APPLIES_TO[account.account_class]))
    if rate is None or rate.status != "ACTIVE" or not fits:
        raise ElementError(
            f"The TaxType code {tax_type} does not exist or cannot be used for this type of transaction."
        )
    return rate.rate


def _with_item_defaults(org: Org, raw: Json, sales: bool, errors: list[str]) -> Json:
    """Lines inherit description, price, account and tax type from their item when left out."""
    code = text(raw.get("ItemCode"), "ItemCode", 30)
    if not code:
        return raw
    item = org.item_by_code(code)
    if item is None:
        errors.append(f"Item code '{code}' is not valid")
        return raw
    side = (
        (item.description, item.sales_unit_price, item.sales_account_code, item.sales_tax_type)
        if sales
        else (item.purchase_description, item.purchase_unit_price, item.purchase_account_code, item.purchase_tax_type)
    )
    out = dict(raw)
    for key, value in zip(("Description", "UnitAmount", "AccountCode", "TaxType"), side, strict=True):
        if out.get(key) in (None, "") and value is not None:
            out[key] = value
    out["Description"] = out.get("Description") or item.name
    return out


def _line_account(org: Org, raw: Json, errors: list[str]) -> Account | None:
    """The line's account (by AccountCode or AccountID); it must exist and be ACTIVE (§8)."""
    code = text(raw.get("AccountCode"), "AccountCode", 10)
    account = None
    if code:
        account = org.account_by_code(code)
        if account is None:
            errors.append(f"Account code '{code}' is not a valid code for this document.")
    elif raw.get("AccountID"):
        account = org.accounts.get(str(raw["AccountID"]).lower())
        if account is None:
            errors.append(f"Account ID '{raw['AccountID']}' is not a valid account for this document.")
    if account is not None and account.status != "ACTIVE":
        errors.append(
            f"Account code '{account.code}' has been archived, or has been deleted. "
            "Each line item must reference a valid account."
        )
        return None
    return account


def _line_tax(org: Org, raw: Json, account: Account | None, lat: str, sales: bool) -> tuple[str, Decimal]:
    """TaxType: as given, else NONE for NoTax documents, else the account's, else the org default."""
    tax_type = raw.get("TaxType") or ("NONE" if lat == "NoTax" else None)
    if not tax_type:
        tax_type = (account.tax_type if account else None) or (
            org.sales_tax_default if sales else org.purchases_tax_default
        )
    return str(tax_type), _tax_rate(org, str(tax_type), account)


def _build_line(org: Org, doc_type: str, lat: str, raw: Any, previous: dict[str, LineItem]) -> LineItem:
    if not isinstance(raw, dict):
        raise ElementError("LineItems must be objects")
    errors: list[str] = []
    sales = doc_type in ("ACCREC", "ACCRECCREDIT")
    raw = _with_item_defaults(org, raw, sales, errors)
    account = _line_account(org, raw, errors)
    tax_type, rate = "NONE", Decimal(0)
    if (
        account is None
        and (raw.get("AccountCode") or raw.get("AccountID"))
        and not raw.get("TaxType")
        and lat != "NoTax"
    ):
        # The line names an account Xero cannot use (unknown, archived, deleted), so there is no
        # account tax type to fall back on: Xero adds the message Clio users know (docs/sandbox-xero.md).
        errors.append(TAX_TYPE_MANDATORY)
    else:
        try:
            tax_type, rate = _line_tax(org, raw, account, lat, sales)
        except ElementError as exc:
            errors.extend(exc.messages)
    discount_rate, discount_amount = (
        _dec(raw.get("DiscountRate"), "DiscountRate"),
        _dec(raw.get("DiscountAmount"), "DiscountAmount"),
    )
    if doc_type.endswith("CREDIT") and (discount_rate is not None or discount_amount is not None):
        errors.append("Discounts are not supported on credit notes")
    tracking: list[Json] = []
    try:
        tracking = resolve_line_tracking(org, raw.get("Tracking"))
    except ElementError as exc:
        errors.extend(exc.messages)
    if errors:
        raise ElementError(*errors)
    try:
        math = compute_line(
            quantity=_dec(raw.get("Quantity"), "Quantity"),
            unit_amount=_dec(raw.get("UnitAmount"), "UnitAmount"),
            line_amount=_dec(raw.get("LineAmount"), "LineAmount"),
            discount_rate=discount_rate,
            discount_amount=discount_amount,
            tax_rate=rate,
            line_amount_types=lat,
            tax_amount=_dec(raw.get("TaxAmount"), "TaxAmount"),
        )
    except ValueError as exc:
        raise ElementError(str(exc)) from None
    # Lines sent without their LineItemID are deleted and recreated with a new id (§6.3).
    given_id = str(raw.get("LineItemID") or "").lower()
    return LineItem(
        line_item_id=given_id if given_id in previous else new_guid(),
        description=text(raw.get("Description"), "Description", 4000),
        quantity=math.quantity,
        unit_amount=math.unit_amount,
        line_amount=math.line_amount,
        tax_amount=math.tax_amount,
        account_code=account.code if account else None,
        item_code=raw.get("ItemCode") or None,
        tax_type=tax_type,
        discount_rate=discount_rate,
        discount_amount=discount_amount,
        tracking=tracking,
    )


def _has_settlements(org: Org, doc: Document) -> bool:
    return doc.amount_paid != 0 or doc.amount_credited != 0


def _next_number(org: Org, kind: DocKind) -> str:
    coll = _collection(org, kind)
    taken = {d.number for d in coll.values()}
    while True:
        if kind == "invoice":
            number = f"INV-{org.next_invoice_number:04d}"
            org.next_invoice_number += 1
        else:
            number = f"CN-{org.next_credit_note_number:04d}"
            org.next_credit_note_number += 1
        if number not in taken:
            return number


@dataclass
class _Header:
    """The validated document-level fields of one element."""

    doc_type: str
    status: str
    lat: str
    currency: str
    number: str | None
    doc_date: date | None
    due_date: date | None
    expected: date | None

    @property
    def sales(self) -> bool:
        return self.doc_type in ("ACCREC", "ACCRECCREDIT")


def _status_errors(org: Org, existing: Document | None, status: str, el: Json) -> list[str]:
    if existing is None:
        return [] if status in CREATE_STATUSES else [f"A document cannot be created with status {status}"]
    settled = _has_settlements(org, existing)
    problem = invoice_transition_error(existing.status, status, has_payments=settled)
    if problem:
        raise ElementError(problem)  # nothing else matters when the status change itself is illegal
    if existing.status == "AUTHORISED" and settled and "LineItems" in el:
        return ["This document cannot be edited as it has a payment or credit note allocated to it."]
    return []


def _number_errors(org: Org, kind: DocKind, existing: Document | None, header: _Header) -> list[str]:
    """ACCREC numbers are unique per org, voided and deleted documents included (§5, §6.3)."""
    if not header.sales or not header.number:
        return []
    own = existing.doc_id if existing else None
    clash = any(
        d.number == header.number and d.doc_id != own and d.type == header.doc_type
        for d in _collection(org, kind).values()
    )
    return [NUMBER_NOT_UNIQUE[kind]] if clash else []


def _parse_header(org: Org, kind: DocKind, existing: Document | None, el: Json, errors: list[str]) -> _Header:
    doc_type = el.get("Type") or (existing.type if existing else None)
    if doc_type not in _TYPES[kind]:
        raise ElementError(f"Type must be one of {', '.join(_TYPES[kind])}")
    if existing is not None and el.get("Type") not in (None, existing.type):
        errors.append("The document type cannot be changed")
    status = el.get("Status") or (existing.status if existing else "DRAFT")
    errors.extend(_status_errors(org, existing, status, el))
    lat = el.get("LineAmountTypes") or (existing.line_amount_types if existing else "Exclusive")
    if lat not in _LINE_AMOUNT_TYPES:
        errors.append(f"LineAmountTypes must be one of {', '.join(_LINE_AMOUNT_TYPES)}")
        lat = "Exclusive"
    currency = el.get("CurrencyCode") or (existing.currency_code if existing else org.base_currency)
    if currency not in org.currencies:
        errors.append(f"Organisation is not subscribed to currency {currency}")
    number_key = _KEYS[kind][2]
    header = _Header(doc_type, status, lat, currency, None, None, None, None)
    try:
        header.number = text(el.get(number_key), number_key, 255)
        header.doc_date = optional_date(el.get("Date"), "Date")
        header.due_date = optional_date(el.get("DueDate"), "DueDate")
        header.expected = optional_date(el.get("ExpectedPaymentDate"), "ExpectedPaymentDate")
    except ElementError as exc:
        errors.extend(exc.messages)
    errors.extend(_number_errors(org, kind, existing, header))
    return header


def _parse_lines(org: Org, existing: Document | None, el: Json, header: _Header, errors: list[str]) -> list[LineItem]:
    if existing is not None and "LineItems" not in el:
        if "LineAmountTypes" not in el:
            return existing.lines
        # A changed LineAmountTypes recomputes the kept lines.
        el = {"LineItems": [line_json(li) | {"TaxAmount": None} for li in existing.lines]}
    raw_lines = el.get("LineItems") or []
    if not isinstance(raw_lines, list):
        raise ElementError("LineItems must be an array")
    previous = {li.line_item_id: li for li in (existing.lines if existing else [])}
    lines = []
    for raw in raw_lines:
        try:
            lines.append(_build_line(org, header.doc_type, header.lat, raw, previous))
        except ElementError as exc:
            errors.extend(exc.messages)
    return lines


def _approval_errors(status: str, lines: list[LineItem]) -> list[str]:
    if status not in ("SUBMITTED", "AUTHORISED"):
        return []
    if not lines:
        return ["A document must have at least one line item to be approved."]  # UNCONFIRMED text
    if any(li.account_code is None and li.line_amount != 0 for li in lines):
        return ["Account code must be specified for every line item with an amount before approval."]
    return []


def _document_contact(ctx: Ctx, existing: Document | None, el: Json) -> str:
    if existing is not None and "Contact" not in el:
        return existing.contact_id
    contact = resolve_contact_ref(ctx, el.get("Contact"))
    if contact.status != "ACTIVE":
        # UNCONFIRMED text; Xero warns against posting to ARCHIVED / GDPRREQUEST contacts (§8).
        raise ElementError(f"The contact {contact.name} is archived. Documents cannot be created for it.")
    return contact.contact_id


def _set_optional(doc: Document, header: _Header, el: Json) -> None:
    if header.doc_date:
        doc.date = header.doc_date
    if header.due_date:
        doc.due_date = header.due_date
    if header.expected:
        doc.expected_payment_date = header.expected
    for key, attr in (("Reference", "reference"), ("Url", "url")):
        if key in el:
            setattr(doc, attr, text(el[key], key))
    if "CurrencyRate" in el:
        doc.currency_rate = _dec(el["CurrencyRate"], "CurrencyRate") or Decimal(1)
    if el.get("SentToContact") is not None and doc.status == "AUTHORISED":
        doc.sent_to_contact = bool(el["SentToContact"])


def apply_document(ctx: Ctx, kind: DocKind, existing: Document | None, el: Json) -> Document:
    """Validate one element and commit it (create when ``existing`` is None); raise ElementError.

    Nothing is committed unless the whole element is valid; the contact is resolved last because
    a ``Contact`` given only by Name may create one."""
    org = ctx.org
    errors: list[str] = []
    header = _parse_header(org, kind, existing, el, errors)
    lines = _parse_lines(org, existing, el, header, errors)
    if not errors:
        errors.extend(_approval_errors(header.status, lines))
    if errors:
        raise ElementError(*errors)
    contact_id = _document_contact(ctx, existing, el)
    now = ctx.now
    doc = existing or Document(
        kind=kind,
        doc_id=new_guid(),
        type=header.doc_type,
        contact_id=contact_id,
        status=header.status,
        date=now.date(),
        created=now,
        updated=now,
        created_by_app=ctx.provider_name,
    )
    _collection(org, kind)[doc.doc_id] = doc
    doc.contact_id, doc.status, doc.updated = contact_id, header.status, now
    doc.currency_code, doc.line_amount_types, doc.lines = header.currency, header.lat, lines
    doc.sub_total, doc.total_tax, doc.total = document_totals(
        [(li.line_amount, li.tax_amount) for li in lines], header.lat
    )
    if header.number is not None:
        doc.number = header.number or None
    if doc.number is None and header.sales:
        doc.number = _next_number(org, kind)
    _set_optional(doc, header, el)
    # IsCustomer/IsSupplier flip on AR/AP activity without bumping UpdatedDateUTC (§5).
    if header.sales:
        org.contacts[contact_id].is_customer = True
    else:
        org.contacts[contact_id].is_supplier = True
    return doc


def _find_document(org: Org, kind: DocKind, ref: str) -> Document | None:
    coll = _collection(org, kind)
    if is_guid(ref):
        return coll.get(ref.lower())
    return next((d for d in coll.values() if d.number == ref), None)


def write_documents(ctx: Ctx, kind: DocKind, ref: str | None = None) -> Reply:
    key, id_key, _ = _KEYS[kind]
    elements = ctx.elements(key)
    org = ctx.org
    target = None
    if ref is not None:
        target = _find_document(org, kind, ref)
        if target is None:
            raise ApiError(not_found())

    def process(el: Json) -> Json:
        existing = target
        if existing is None and el.get(id_key):
            existing = _collection(org, kind).get(str(el[id_key]).lower())
            if existing is None:
                raise ElementError(f"{id_key} {el[id_key]} could not be found.")
        doc = apply_document(ctx, kind, existing, el)
        ctx.emit(_CATEGORY[kind], "CREATE" if existing is None else "UPDATE", doc.doc_id, event_data(doc))
        return document_json(org, doc)

    return batch_reply(ctx, key, elements, process, error_flag="HasErrors")


def list_documents(ctx: Ctx, kind: DocKind) -> Reply:
    key, _, _ = _KEYS[kind]
    org = ctx.org
    ids = ids_arg(ctx)
    numbers = ids_arg(ctx, "InvoiceNumbers") if kind == "invoice" else None
    contact_ids = ids_arg(ctx, "ContactIDs")
    statuses = {s.upper() for s in (ids_arg(ctx, "Statuses") or set())}
    search = (ctx.arg("searchTerm") or "").casefold()

    def keep(d: Document) -> bool:
        if ids is not None and d.doc_id not in ids:
            return False
        if numbers is not None and (d.number or "").lower() not in numbers:
            return False
        if contact_ids is not None and d.contact_id not in contact_ids:
            return False
        if statuses and d.status not in statuses:
            return False
        if search and not any(v and search in v.casefold() for v in (d.number, d.reference)):
            return False
        return not (ctx.flag("createdByMyApp") and d.created_by_app != ctx.provider_name)

    return list_reply(
        ctx,
        key,
        list(_collection(org, kind).values()),
        lambda d: document_json(org, d),
        updated=lambda d: d.updated,
        prefilter=keep,
        unpaged_limit=100,
        strip_unpaged=("LineItems",),
    )


def get_document(ctx: Ctx, kind: DocKind, ref: str) -> Reply:
    doc = _find_document(ctx.org, kind, ref)
    if doc is None:
        raise ApiError(not_found())
    return Reply(200, envelope(ctx, _KEYS[kind][0], [document_json(ctx.org, doc)]))


# ---------------------------------------------------------------------------- settlement


def settle(ctx: Ctx, doc: Document, when: date | None) -> None:
    """Move a document between AUTHORISED and PAID after its payments/allocations changed."""
    if doc.status == "AUTHORISED" and doc.amount_due <= 0:
        doc.status = "PAID"
        doc.fully_paid_on = when or ctx.now.date()
    elif doc.status == "PAID" and doc.amount_due > 0:
        doc.status = "AUTHORISED"
        doc.fully_paid_on = None
    doc.updated = ctx.now
    ctx.emit(_CATEGORY[doc.kind], "UPDATE", doc.doc_id, event_data(doc))


def _allocation_target(org: Org, cn: Document, el: Json) -> tuple[Document, Decimal]:
    """The invoice and amount of one allocation, checked: both documents AUTHORISED, the amount
    within the remaining credit and the amount due, same currency."""
    ref = obj(el, "Invoice")
    inv = None
    if ref.get("InvoiceID"):
        inv = org.invoices.get(str(ref["InvoiceID"]).lower())
    elif ref.get("InvoiceNumber"):
        inv = _find_document(org, "invoice", str(ref["InvoiceNumber"]))
    if inv is None:
        raise ElementError("Invoice could not be found")
    amount = _dec(el.get("Amount"), "Amount") or Decimal(0)
    errors = []
    if cn.status != "AUTHORISED":
        errors.append("Credit note must be AUTHORISED before it can be allocated")  # UNCONFIRMED text
    if inv.status != "AUTHORISED":
        errors.append("Invoice must be AUTHORISED to have credit allocated to it")  # UNCONFIRMED text
    if amount <= 0:
        errors.append("Amount must be greater than zero")
    elif amount > cn.amount_due:
        errors.append("The amount being allocated exceeds the remaining credit on the credit note")
    elif amount > inv.amount_due:
        errors.append("The amount being allocated exceeds the amount due on the invoice")
    if inv.currency_code != cn.currency_code:
        errors.append("The invoice and credit note must be in the same currency")
    if errors:
        raise ElementError(*errors)
    return inv, amount


def allocate(ctx: Ctx, credit_note_id: str) -> Reply:
    org = ctx.org
    cn = org.credit_notes.get(credit_note_id.lower())
    if cn is None:
        raise ApiError(not_found())
    elements = ctx.elements("Allocations")

    def process(el: Json) -> Json:
        inv, amount = _allocation_target(org, cn, el)
        when = optional_date(el.get("Date"), "Date") or ctx.now.date()
        alloc = Allocation(new_guid(), cn.doc_id, inv.doc_id, amount, when)
        org.allocations[alloc.allocation_id] = alloc
        cn.amount_credited += amount
        inv.amount_credited += amount
        settle(ctx, inv, when)
        settle(ctx, cn, when)
        return allocation_json(org, alloc)

    return batch_reply(ctx, "Allocations", elements, process, error_flag=None)


def delete_allocation(ctx: Ctx, credit_note_id: str, allocation_id: str) -> Reply:
    org = ctx.org
    alloc = org.allocations.get(allocation_id.lower())
    if alloc is None or alloc.deleted or alloc.credit_note_id != credit_note_id.lower():
        raise ApiError(not_found())
    alloc.deleted = True
    cn, inv = org.credit_notes[alloc.credit_note_id], org.invoices[alloc.invoice_id]
    cn.amount_credited -= alloc.amount
    inv.amount_credited -= alloc.amount
    settle(ctx, inv, None)
    settle(ctx, cn, None)
    out = allocation_json(org, alloc)
    return Reply(200, out)
