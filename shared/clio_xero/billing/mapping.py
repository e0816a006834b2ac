"""A Clio bill → a Xero ACCREC invoice, with the totals check (docs/mapping-bills.md).

Pure and exact: ``Decimal`` end to end, Xero's own arithmetic reproduced (each line's amount
and tax rounded to the cent, then summed; docs/billing.md "Totals and rounding"), and the result
compared with Clio's bill total to the cent. A bill whose invoice would total differently, or
that needs an account code / tax type / tracking option / currency the organisation cannot take,
raises (:class:`~clio_xero.errors.BillTotalsMismatchError`,
:class:`~clio_xero.errors.BillPreflightError`) and nothing is sent half-right.

A switch that is off changes the detail, never the money: with ``sync_time_entries`` off the time
and flat-fee lines become one line per (kind, tax class, tracking) under the default code, and
so on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from clio_xero.billing.clio_models import BillBundle, ClioActivity, ClioBill, ClioLineItem
from clio_xero.billing.preflight import PreflightReport, check_invoice, clio_code_label, require_clean
from clio_xero.billing.settings import (
    BillingSettings,
    InvoiceNumberPolicy,
    LineAmountTypes,
    TaxClass,
    TrackingSource,
)
from clio_xero.billing.xero_models import OrgChart, XeroContactRef, XeroInvoice, XeroLineItem, XeroTracking
from clio_xero.errors import BillTotalsMismatchError, PermanentError

__all__ = [
    "LineKind",
    "MappedBill",
    "XeroTotals",
    "invoice_number",
    "map_bill",
    "round2",
    "xero_totals",
]

CENT = Decimal("0.01")
QTY = Decimal("0.0001")
HUNDRED = Decimal(100)
ZERO = Decimal(0)
DESCRIPTION_LIMIT = 4000  # Xero line Description (docs/mapping-bills.md "Lines")
TRACKING_OPTION_LENGTH = 100


def round2(value: Decimal) -> Decimal:
    """To the cent, halves away from zero, as Xero rounds (docs/billing.md "Totals and rounding")."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class LineKind(StrEnum):
    TIME = "time"
    FLAT_FEE = "flat_fee"
    EXPENSE = "expense"
    INTEREST = "interest"
    DISCOUNT = "discount"


_DEFAULT_KEY = {
    LineKind.TIME: "time_account_code",
    LineKind.FLAT_FEE: "flat_fee_account_code",
    LineKind.EXPENSE: "expense_account_code",
    LineKind.INTEREST: "interest_account_code",
    LineKind.DISCOUNT: "discount_account_code",
}
_COLLAPSED = {
    LineKind.TIME: "Professional services",
    LineKind.FLAT_FEE: "Flat fees",
    LineKind.EXPENSE: "Expenses and disbursements",
    LineKind.INTEREST: "Interest",
}


@dataclass(frozen=True)
class _Line:
    """One planned invoice line with what the checks need beside the payload."""

    kind: LineKind
    description: str
    quantity: Decimal
    unit_amount: Decimal
    account_code: str
    account_setting: str  # the settings key the code came from
    tax_class: TaxClass
    target: Decimal  # the LineAmount Xero must arrive at
    clio_tax: Decimal  # Clio's tax on this line (both tiers)
    discount_rate: Decimal | None = None
    discount_amount: Decimal | None = None
    tracking: XeroTracking | None = None
    count: int = 1  # Clio entries folded into this line


class XeroTotals(BaseModel):
    model_config = ConfigDict(frozen=True)

    sub_total: Decimal
    total_tax: Decimal
    total: Decimal


class MappedBill(BaseModel):
    """The invoice to send, Xero's totals for it (equal to Clio's), and preflight notices."""

    model_config = ConfigDict(frozen=True)

    invoice: XeroInvoice
    totals: XeroTotals
    clio_total: Decimal
    preflight: PreflightReport


# ------------------------------------------------------------------------------ Xero's arithmetic


def _tax_rate(chart: OrgChart, tax_type: str | None, account_code: str | None) -> Decimal:
    """The percentage Xero applies: the line's TaxType, else its account's default tax type."""
    if tax_type is None and account_code is not None:
        account = chart.account(account_code)
        tax_type = account.TaxType if account is not None else None
    rate = chart.tax_rate(tax_type) if tax_type else None
    return rate.rate if rate is not None else ZERO


def _line_amount(line: XeroLineItem) -> Decimal:
    gross = (line.Quantity if line.Quantity is not None else Decimal(1)) * (line.UnitAmount or ZERO)
    if line.DiscountRate is not None:
        gross = gross * (HUNDRED - line.DiscountRate) / HUNDRED
    if line.DiscountAmount is not None:
        gross -= line.DiscountAmount
    return round2(gross)


def xero_totals(invoice: XeroInvoice, chart: OrgChart) -> XeroTotals:
    """What Xero computes for ``invoice``: per line, the amount and its tax each rounded to the
    cent, then summed (Exclusive adds tax on top, Inclusive takes it out, NoTax has none)."""
    amounts = ZERO
    taxes = ZERO
    for line in invoice.LineItems:
        amount = _line_amount(line)
        rate = _tax_rate(chart, line.TaxType, line.AccountCode)
        if invoice.LineAmountTypes == "Exclusive":
            tax = round2(amount * rate / HUNDRED)
        elif invoice.LineAmountTypes == "Inclusive":
            tax = round2(amount * rate / (HUNDRED + rate))
        else:
            tax = ZERO
        amounts += amount
        taxes += tax
    if invoice.LineAmountTypes == "Inclusive":
        return XeroTotals(sub_total=amounts - taxes, total_tax=taxes, total=amounts)
    return XeroTotals(sub_total=amounts, total_tax=taxes, total=amounts + taxes)


# ------------------------------------------------------------------------------ lines from Clio


def _tax_class(line: ClioLineItem) -> TaxClass:
    primary = line.taxable if line.taxable is not None else bool(line.tax)
    secondary = line.secondary_taxable if line.secondary_taxable is not None else bool(line.secondary_tax)
    if primary and secondary:
        return TaxClass.PRIMARY_AND_SECONDARY
    if primary:
        return TaxClass.PRIMARY
    return TaxClass.SECONDARY if secondary else TaxClass.UNTAXED


def _kind(line: ClioLineItem, activity: ClioActivity | None) -> LineKind:
    if line.kind == "Expense" or (activity is not None and activity.type not in (None, "TimeEntry")):
        return LineKind.EXPENSE
    if activity is not None and activity.flat_rate:
        return LineKind.FLAT_FEE
    return LineKind.TIME


def _override(table: dict[str, str], record_id: int, name: str | None) -> str | None:
    if str(record_id) in table:
        return table[str(record_id)]
    wanted = (name or "").strip().casefold()
    return next((code for key, code in table.items() if key.strip().casefold() == wanted and wanted), None)


def _account(kind: LineKind, activity: ClioActivity | None, settings: BillingSettings) -> tuple[str, str]:
    """(code, the settings key it came from): an override for the Clio category, else Clio's own
    code on the category (use_clio_category_codes), else the default for the line's kind."""
    if activity is not None and kind in (LineKind.TIME, LineKind.FLAT_FEE) and activity.activity_description:
        category = activity.activity_description
        code = _override(settings.activity_category_codes, category.id, category.name)
        if code:
            return code, f"activity_category_codes[{category.name or category.id}]"
        if settings.use_clio_category_codes and (category.xero_service_code or "").strip():
            return str(category.xero_service_code).strip(), clio_code_label(
                "activity", category.name or str(category.id)
            )
    if activity is not None and kind is LineKind.EXPENSE and activity.expense_category:
        expense = activity.expense_category
        code = _override(settings.expense_category_codes, expense.id, expense.name)
        if code:
            return code, f"expense_category_codes[{expense.name or expense.id}]"
        if settings.use_clio_category_codes and (expense.xero_expense_code or "").strip():
            return str(expense.xero_expense_code).strip(), clio_code_label("expense", expense.name or str(expense.id))
    key = _DEFAULT_KEY[kind]
    return str(getattr(settings, key)), key


def _tracking(bundle: BillBundle, line: ClioLineItem | None, settings: BillingSettings) -> XeroTracking | None:
    if settings.tracking_source is TrackingSource.NONE or not settings.tracking_category:
        return None
    matter = bundle.matter_of(line)
    if matter is None:
        return None
    if settings.tracking_source is TrackingSource.PRACTICE_AREA:
        key = matter.practice_area.name if matter.practice_area else None
    else:
        key = matter.display_number
    if not key:
        return None
    option = settings.tracking_options.get(key, key).strip()[:TRACKING_OPTION_LENGTH]
    return XeroTracking(Name=settings.tracking_category, Option=option)


def _fit(
    quantity: Decimal | None, unit: Decimal | None, target: Decimal, discount_percent: Decimal | None
) -> tuple[Decimal, Decimal, Decimal | None, Decimal | None] | None:
    """(Quantity, UnitAmount, DiscountRate, DiscountAmount) with which Xero arrives at exactly
    ``target``, keeping Clio's quantity and rate when it can; ``None`` when it cannot."""
    if quantity is None or unit is None or quantity <= 0 or unit != round2(unit) or quantity != quantity.quantize(QTY):
        return None  # Xero keeps 2 dp unit amounts (without unitdp=4) and 4 dp quantities
    gross = round2(quantity * unit)
    if gross == target:
        return quantity, unit, None, None
    if discount_percent is not None and round2(quantity * unit * (HUNDRED - discount_percent) / HUNDRED) == target:
        return quantity, unit, discount_percent, None
    if ZERO < gross - target <= gross and discount_percent is not None:
        return quantity, unit, None, gross - target
    return None


def _describe(line: ClioLineItem, kind: LineKind) -> str:
    text = (line.description or line.note or "").strip() or {
        LineKind.TIME: "Professional services",
        LineKind.FLAT_FEE: "Flat fee",
        LineKind.EXPENSE: "Expense",
    }.get(kind, "Line")
    if line.date is not None:
        text = f"{line.date.isoformat()} {text}"
    if line.type == "NoChargeLineItem":
        text += " (no charge)"
    return text


def _plan_line(bundle: BillBundle, line: ClioLineItem, settings: BillingSettings, chart: OrgChart) -> _Line:
    activity = bundle.activity_of(line)
    kind = _kind(line, activity)
    tax_class = _tax_class(line)
    code, setting = _account(kind, activity, settings)
    tax_type = settings.tax_type_for(tax_class)
    clio_tax = (line.tax or ZERO) + (line.secondary_tax or ZERO)
    gross = line.sub_total if line.sub_total is not None else round2((line.quantity or ZERO) * (line.price or ZERO))
    net = line.total - clio_tax if line.total is not None else gross
    inclusive = settings.line_amount_types is LineAmountTypes.INCLUSIVE
    target = net + clio_tax if inclusive else net
    unit = line.price
    if inclusive and unit is not None:
        unit = round2(unit * (HUNDRED + _tax_rate(chart, tax_type, code)) / HUNDRED)
    discount = line.discount
    percent = discount.rate if discount and discount.type == "percentage" and discount.rate else None
    if line.type == "NoChargeLineItem" and target == ZERO:
        percent = HUNDRED
    elif net != gross and percent is None:
        percent = ZERO  # a discount of another kind: allowed as a DiscountAmount below
    description = _describe(line, kind)
    fitted = _fit(line.quantity, unit, target, percent)
    if fitted is None:
        # Xero cannot arrive at Clio's amount from Clio's quantity and rate (a rate with more
        # than 2 decimals, a rounding Clio did differently): one unit of the amount, the detail
        # kept in the description. The money is Clio's either way.
        if line.quantity is not None and line.price is not None:
            description += f" ({line.quantity.normalize():f} x {line.price:.2f})"
        fitted = (Decimal(1), target, None, None)
    quantity, unit_amount, rate, amount = fitted
    return _Line(
        kind=kind,
        description=description[:DESCRIPTION_LIMIT],
        quantity=quantity,
        unit_amount=unit_amount,
        discount_rate=rate if rate else None,
        discount_amount=amount,
        account_code=code,
        account_setting=setting,
        tax_class=tax_class,
        target=target,
        clio_tax=clio_tax,
        tracking=_tracking(bundle, line, settings),
    )


def _interest_lines(bundle: BillBundle, settings: BillingSettings) -> list[_Line]:
    bill = bundle.bill
    lines: list[_Line] = []
    charged = ZERO
    for charge in sorted(bundle.interest_charges, key=lambda c: (c.date or date.min, c.id)):
        amount = charge.total or ZERO
        charged += amount
        text = (charge.description or "").strip() or "Interest charge"
        if charge.date is not None:
            text = f"{charge.date.isoformat()} {text}"
        lines.append(_simple_line(LineKind.INTEREST, text, amount, settings, _tracking(bundle, None, settings)))
    interest = bill.interest
    rest = (interest.total or ZERO) - charged if interest is not None else ZERO
    if rest > ZERO:
        rate = f" ({interest.rate.normalize():f}% {interest.type or ''})".rstrip() if interest and interest.rate else ""
        text = f"Interest{rate}".replace(" )", ")")
        lines.append(_simple_line(LineKind.INTEREST, text, rest, settings, _tracking(bundle, None, settings)))
    return lines


def _simple_line(
    kind: LineKind,
    description: str,
    amount: Decimal,
    settings: BillingSettings,
    tracking: XeroTracking | None,
    *,
    tax_class: TaxClass = TaxClass.UNTAXED,
    clio_tax: Decimal = ZERO,
) -> _Line:
    key = _DEFAULT_KEY[kind]
    return _Line(
        kind=kind,
        description=description[:DESCRIPTION_LIMIT],
        quantity=Decimal(1),
        unit_amount=amount,
        account_code=str(getattr(settings, key)),
        account_setting=key,
        tax_class=tax_class,
        target=amount,
        clio_tax=clio_tax,
        tracking=tracking,
    )


def _services_only(bill: ClioBill) -> bool:
    value = bill.discount_services_only
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


def _discount_line(
    bundle: BillBundle, planned: Sequence[_Line], settings: BillingSettings
) -> tuple[_Line, Decimal] | None:
    """The bill-level discount as a negative line of its own, with the discount amount Clio takes
    off its ``total`` (docs/mapping-bills.md "Discount")."""
    bill = bundle.bill
    discount = bill.discount
    if discount is None or not discount.rate:
        return None
    # The discount is on the fees (services only when discount_services_only), never on interest.
    fees = (
        (LineKind.TIME, LineKind.FLAT_FEE)
        if _services_only(bill)
        else (LineKind.TIME, LineKind.FLAT_FEE, LineKind.EXPENSE)
    )
    eligible = [p for p in planned if p.kind in fees]
    net = sum((p.target - (p.clio_tax if settings.line_amount_types is LineAmountTypes.INCLUSIVE else ZERO)
               for p in eligible), ZERO)  # fmt: skip
    if discount.type == "money":
        amount = round2(discount.rate)
        label = "Discount"
    else:
        amount = round2(net * discount.rate / HUNDRED)
        label = f"Discount {discount.rate.normalize():f}%"
    if amount == ZERO:
        return None
    # Did Clio take the discount off before tax? Then its bill tax is below the sum of its line
    # taxes, and the discount line carries the tax class of the lines it discounts (one class
    # only; mixed classes fall through to the totals check, which parks with both figures).
    line_tax = sum((p.clio_tax for p in planned), ZERO)
    tax_cut = line_tax - bill.total_tax if bill.total_tax is not None else ZERO
    classes = {p.tax_class for p in eligible}
    tax_class = TaxClass.UNTAXED
    if tax_cut > ZERO and len(classes) == 1:
        tax_class = classes.pop()
    else:
        tax_cut = ZERO
    trackings = {p.tracking for p in eligible}
    target = -(amount + tax_cut) if settings.line_amount_types is LineAmountTypes.INCLUSIVE else -amount
    text = f"{label}: {discount.note.strip()}" if discount.note and discount.note.strip() else label
    line = _simple_line(
        LineKind.DISCOUNT,
        text,
        target,
        settings,
        trackings.pop() if len(trackings) == 1 else None,
        tax_class=tax_class,
        clio_tax=-tax_cut,
    )
    return line, amount


def _collapse(lines: list[_Line], settings: BillingSettings) -> list[_Line]:
    """Switch off → one line per (kind, tax class, tracking) under the kind's default code."""
    off = set()
    if not settings.sync_time_entries:
        off |= {LineKind.TIME, LineKind.FLAT_FEE}
    if not settings.sync_expenses:
        off.add(LineKind.EXPENSE)
    if not settings.sync_interest:
        off.add(LineKind.INTEREST)
    # Each merged line stands where its first member stood, so the invoice reads in Clio's order.
    slots: list[_Line | tuple[LineKind, TaxClass, XeroTracking | None]] = []
    groups: dict[tuple[LineKind, TaxClass, XeroTracking | None], list[_Line]] = {}
    for line in lines:
        if line.kind not in off:
            slots.append(line)
            continue
        key = (line.kind, line.tax_class, line.tracking)
        if key not in groups:
            groups[key] = []
            slots.append(key)
        groups[key].append(line)
    out: list[_Line] = []
    for slot in slots:
        if isinstance(slot, _Line):
            out.append(slot)
            continue
        kind, tax_class, tracking = slot
        members = groups[slot]
        count = sum(m.count for m in members)
        noun = "entry" if count == 1 else "entries"
        merged = _simple_line(
            kind,
            f"{_COLLAPSED[kind]} ({count} {noun})" if kind is not LineKind.INTEREST else _COLLAPSED[kind],
            sum((m.target for m in members), ZERO),
            settings,
            tracking,
            tax_class=tax_class,
            clio_tax=sum((m.clio_tax for m in members), ZERO),
        )
        out.append(replace(merged, count=count))
    return out


# ------------------------------------------------------------------------------ the invoice


def invoice_number(bill: ClioBill, settings: BillingSettings) -> str | None:
    """The InvoiceNumber the policy gives (``None``: Xero numbers it)."""
    if settings.invoice_number_policy is InvoiceNumberPolicy.XERO_ASSIGNS or not bill.number:
        return None
    if settings.invoice_number_policy is InvoiceNumberPolicy.PREFIXED:
        return f"{settings.invoice_number_prefix}{bill.number}"
    return bill.number


def _reference(bundle: BillBundle, settings: BillingSettings) -> str | None:
    numbers = [
        bundle.matters[m.id].display_number
        for m in bundle.bill.matters
        if m.id in bundle.matters and bundle.matters[m.id].display_number
    ]
    reference = ", ".join(n for n in numbers if n) or None
    if settings.invoice_number_policy is InvoiceNumberPolicy.XERO_ASSIGNS and bundle.bill.number:
        reference = f"Clio bill {bundle.bill.number}" + (f" / {reference}" if reference else "")
    return reference


def _payload_line(line: _Line, tax_type: str | None) -> XeroLineItem:
    return XeroLineItem(
        Description=line.description,
        Quantity=line.quantity,
        UnitAmount=line.unit_amount,
        AccountCode=line.account_code,
        TaxType=tax_type,
        DiscountRate=line.discount_rate,
        DiscountAmount=line.discount_amount,
        Tracking=[line.tracking] if line.tracking else [],
    )


def _less_discount(bill: ClioBill, discount: Decimal) -> str:
    return f" (its total {round2(bill.total or ZERO)} less the {discount} discount)" if discount else ""


def _mismatch_hint(
    expected: Decimal, bill: ClioBill, lines: Sequence[_Line], totals: XeroTotals, settings: BillingSettings
) -> str:
    clio_tax = sum((line.clio_tax for line in lines), ZERO)
    if settings.line_amount_types is LineAmountTypes.NO_TAX and clio_tax:
        return (
            f"The bill carries {clio_tax} of tax but line_amount_types is NoTax: set line_amount_types=Exclusive and "
            "map Clio's tax rates with the tax_type_* settings."
        )
    parts = sum((line.target for line in lines), ZERO)
    if settings.line_amount_types is not LineAmountTypes.INCLUSIVE:
        parts += clio_tax
    if parts != expected:
        return (
            f"Clio's own lines, discount and interest add up to {parts}, not to that: the bill holds "
            'something the invoice cannot show (see docs/mapping-bills.md, "Lossy parts").'
        )
    if settings.line_amount_types is LineAmountTypes.EXCLUSIVE and totals.total_tax != clio_tax:
        difference = abs(totals.total_tax - clio_tax)
        if difference <= CENT * len(lines):
            return (
                f"Xero's tax is {totals.total_tax} and Clio's is {clio_tax}: both round each line's tax to the cent, "
                "but not the same way or not at the same rate. Check that the mapped Xero tax rates have Clio's "
                "rates, or record the bill with the cent adjusted in Clio."
            )
        return (
            f"Xero's tax is {totals.total_tax} and Clio's is {clio_tax}: the Xero tax types mapped by the tax_type_* "
            f"settings do not carry Clio's rates (primary {bill.tax_rate}%, secondary {bill.secondary_tax_rate}%)."
        )
    return 'The difference is rounding in how the lines were merged or converted; see docs/billing.md "Totals".'


def map_bill(
    bundle: BillBundle,
    settings: BillingSettings,
    chart: OrgChart,
    *,
    contact_id: str,
    status: Literal["SUBMITTED", "AUTHORISED"] = "AUTHORISED",
) -> MappedBill:
    """The invoice for ``bundle``, checked. Raises :class:`BillPreflightError` when the organisation
    cannot take what the invoice needs, :class:`BillTotalsMismatchError` when Xero's total would
    not be Clio's, :class:`PermanentError` when Clio served the bill without a total or date."""
    bill = bundle.bill
    label = f"Bill {bill.number}" if bill.number else f"Bill id {bill.id}"
    if bill.total is None or bill.issued_at is None:
        raise PermanentError(f"{label}: Clio served it without its total or issue date; re-read it with those fields.")
    ordered = sorted(bundle.line_items, key=lambda li: (li.group_ordering is None, li.group_ordering or 0, li.id))
    planned = [_plan_line(bundle, line, settings, chart) for line in ordered]
    planned += _interest_lines(bundle, settings)
    discount = _discount_line(bundle, planned, settings)
    discount_amount = ZERO
    if discount is not None:
        planned.append(discount[0])
        discount_amount = discount[1]
    planned = _collapse(planned, settings)
    lines = [_payload_line(p, settings.tax_type_for(p.tax_class)) for p in planned]
    invoice = XeroInvoice(
        Contact=XeroContactRef(ContactID=contact_id),
        InvoiceNumber=invoice_number(bill, settings),
        Reference=_reference(bundle, settings),
        Date=bill.issued_at.isoformat(),
        DueDate=bill.due_at.isoformat() if bill.due_at else None,
        CurrencyCode=(bill.currency.code if bill.currency and bill.currency.code else None),
        Status=status,
        LineAmountTypes=settings.line_amount_types.value,
        LineItems=lines,
    )
    report = check_invoice(
        invoice, settings, chart, line_settings={i: p.account_setting for i, p in enumerate(planned)}
    )
    require_clean(report, bill_label=label)
    totals = xero_totals(invoice, chart)
    # What the client owes for the bill: Clio's "total with interest" less the bill discount,
    # the spec's "due" before any payment (docs/billing.md "Totals and rounding").
    clio_total = round2(bill.total) - discount_amount
    if totals.total != clio_total:
        currency = invoice.CurrencyCode or chart.base_currency
        money = f"{currency} " if currency else ""
        raise BillTotalsMismatchError(
            f"{label} was not sent to Xero: Xero would total the invoice {money}{totals.total} but the Clio bill "
            f"comes to {money}{clio_total}{_less_discount(bill, discount_amount)} (a difference of "
            f"{abs(totals.total - clio_total)}). "
            + _mismatch_hint(clio_total, bill, planned, totals, settings)
            + " Nothing was sent; after fixing it, `clio-xero retry`.",
            clio_total=clio_total,
            xero_total=totals.total,
            currency=currency,
        )
    return MappedBill(invoice=invoice, totals=totals, clio_total=clio_total, preflight=report)
