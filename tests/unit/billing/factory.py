"""Builders for billing tests: an AU-style Xero organisation and Clio bills as Clio serves them."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from clio_xero.billing.clio_models import BillBundle
from clio_xero.billing.settings import BillingSettings
from clio_xero.billing.xero_models import OrgChart, XeroInvoice

D = Decimal
CENT = D("0.01")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def chart(*, options: int = 3, extra_currencies: tuple[str, ...] = ("USD",)) -> OrgChart:
    """Xero's AU default chart plus a law firm's income accounts (as GET /Accounts etc. answer)."""
    accounts = [
        {"Code": "090", "Name": "Business Bank Account", "Type": "BANK", "Status": "ACTIVE", "Class": "ASSET"},
        {"Code": "200", "Name": "Sales", "Type": "REVENUE", "Status": "ACTIVE", "Class": "REVENUE",
         "TaxType": "OUTPUT"},
        {"Code": "205", "Name": "Legal Fees (old)", "Type": "REVENUE", "Status": "ARCHIVED", "Class": "REVENUE",
         "TaxType": "OUTPUT"},
        {"Code": "210", "Name": "Professional Fees", "Type": "REVENUE", "Status": "ACTIVE", "Class": "REVENUE",
         "TaxType": "OUTPUT"},
        {"Code": "215", "Name": "Disbursements Recovered", "Type": "REVENUE", "Status": "ACTIVE", "Class": "REVENUE",
         "TaxType": "OUTPUT"},
        {"Code": "220", "Name": "Interest Charged to Clients", "Type": "OTHERINCOME", "Status": "ACTIVE",
         "Class": "REVENUE", "TaxType": "NONE"},
        {"Code": "429", "Name": "General Expenses", "Type": "EXPENSE", "Status": "ACTIVE", "Class": "EXPENSE",
         "TaxType": "INPUT"},
        {"Code": "300", "Name": "No default tax", "Type": "REVENUE", "Status": "ACTIVE", "Class": "REVENUE"},
    ]  # fmt: skip
    tax_rates = [
        {"Name": "GST on Income", "TaxType": "OUTPUT", "Status": "ACTIVE", "EffectiveRate": 10.0,
         "CanApplyToRevenue": True},
        {"Name": "GST on Expenses", "TaxType": "INPUT", "Status": "ACTIVE", "EffectiveRate": 10.0,
         "CanApplyToRevenue": False},
        {"Name": "No GST", "TaxType": "NONE", "Status": "ACTIVE", "EffectiveRate": 0.0, "CanApplyToRevenue": True},
        {"Name": "GST + levy", "TaxType": "TAX001", "Status": "ACTIVE", "EffectiveRate": 15.5,
         "CanApplyToRevenue": True},
        {"Name": "Old rate", "TaxType": "TAX002", "Status": "DELETED", "EffectiveRate": 12.5,
         "CanApplyToRevenue": True},
    ]  # fmt: skip
    tracking = [
        {
            "TrackingCategoryID": "6b0b6c4a-6f5a-4f47-9d53-2d5c6f8f0a01",
            "Name": "Practice area",
            "Status": "ACTIVE",
            "Options": [{"Name": f"Area {i}", "Status": "ACTIVE"} for i in range(options)]
            + [{"Name": "Family law", "Status": "ACTIVE"}, {"Name": "Tax", "Status": "ARCHIVED"}],
        }
    ]
    currencies = [{"Code": "AUD", "Description": "Australian Dollar"}] + [{"Code": c} for c in extra_currencies]
    return OrgChart.from_xero(
        accounts=accounts, tax_rates=tax_rates, tracking_categories=tracking, currencies=currencies, base_currency="AUD"
    )


def settings(**overrides: Any) -> BillingSettings:
    values: dict[str, Any] = {
        "sync_bills": True,
        "time_account_code": "210",
        "flat_fee_account_code": "210",
        "expense_account_code": "215",
        "interest_account_code": "220",
        "discount_account_code": "210",
        "tax_type_primary": "OUTPUT",
        "tax_type_untaxed": "NONE",
    }
    values.update(overrides)
    return BillingSettings.model_validate(values)


def line(
    line_id: int,
    *,
    kind: str = "Service",
    quantity: str,
    price: str,
    taxable: bool = True,
    rate: str = "10",
    discount: str | None = None,
    activity: int | None = None,
    description: str = "Work",
    tax: str | None = None,
    matter: int | None = None,
    line_type: str = "ActivityLineItem",
) -> dict[str, Any]:
    """A line item as Clio serves it: sub_total = price x quantity, the line discount off that,
    tax on the discounted amount (half-up to the cent unless ``tax`` says what Clio charged)."""
    sub = cents(D(quantity) * D(price))
    net = sub if discount is None else cents(sub * (100 - D(discount)) / 100)
    if line_type == "NoChargeLineItem":
        net = D(0)
    tax_amount = D(tax) if tax is not None else (cents(net * D(rate) / 100) if taxable else D(0))
    out: dict[str, Any] = {
        "id": line_id,
        "type": line_type,
        "kind": kind,
        "description": description,
        "date": "2026-03-02",
        "price": float(price),
        "quantity": float(quantity),
        "sub_total": float(sub),
        "tax": float(tax_amount),
        "secondary_tax": 0.0,
        "total": float(net + tax_amount),
        "taxable": taxable,
        "secondary_taxable": False,
        "group_ordering": line_id,
        "activity": {"id": activity} if activity is not None else None,
        "matter": {"id": matter} if matter is not None else None,
        "discount": {"rate": float(discount), "type": "percentage"} if discount is not None else None,
    }
    return out


def bundle(
    lines: list[dict[str, Any]],
    *,
    number: str = "1042",
    state: str = "awaiting_payment",
    interest: list[str] = (),  # type: ignore[assignment]
    discount: dict[str, Any] | None = None,
    total: Decimal | None = None,
    total_tax: Decimal | None = None,
    activities: list[dict[str, Any]] = (),  # type: ignore[assignment]
    matters: list[dict[str, Any]] = (),  # type: ignore[assignment]
    currency: str = "AUD",
    **bill: Any,
) -> BillBundle:
    """A bill around ``lines``; ``total`` defaults to Clio's arithmetic (line totals + interest),
    ``due`` is that less the bill discount (taken after tax)."""
    line_total = sum((D(str(li["total"])) for li in lines), D(0))
    line_tax = sum((D(str(li["tax"])) for li in lines), D(0))
    interest_total = sum((D(x) for x in interest), D(0))
    discount_amount = D(0)
    if discount and discount["type"] == "money":
        discount_amount = D(str(discount["rate"]))
    elif discount:
        net = sum((D(str(li["total"])) - D(str(li["tax"])) for li in lines), D(0))
        discount_amount = cents(net * D(str(discount["rate"])) / 100)
    data = {
        "id": 7000 + int(number) if number.isdigit() else 7000,
        "number": number,
        "state": state,
        "type": "MatterBill",
        "kind": "revenue_kind",
        "issued_at": "2026-03-31",
        "due_at": "2026-04-30",
        "currency": {"id": 1, "code": currency, "sign": "$"},
        "client": {"id": 55},
        "matters": [{"id": m["id"]} for m in matters] or [{"id": 900}],
        "discount": discount,
        "interest": {"rate": 1.5, "type": "simple", "period": 30, "total": float(interest_total)},
        "tax_rate": 10.0,
        "secondary_tax_rate": 0.0,
        "total_tax": float(total_tax if total_tax is not None else line_tax),
        # Clio: total = lines + interest; due = total - the bill discount (docs/billing.md)
        "total": float(total if total is not None else line_total + interest_total),
        "due": float((total if total is not None else line_total + interest_total) - discount_amount),
        **bill,
    }
    return BillBundle.model_validate(
        {
            "bill": data,
            "line_items": lines,
            "activities": {a["id"]: a for a in activities},
            "interest_charges": [
                {"id": 300 + i, "date": "2026-04-15", "description": "Interest on overdue balance", "total": float(x)}
                for i, x in enumerate(interest)
            ],
            "matters": {m["id"]: m for m in matters}
            or {900: {"id": 900, "display_number": "00900-Harbour", "practice_area": {"id": 1, "name": "Family law"}}},
        }
    )


RATES = {"OUTPUT": D(10), "TAX001": D("15.5"), "NONE": D(0)}  # as in chart()


def independent_total(invoice: XeroInvoice) -> Decimal:
    """Xero's total for ``invoice`` as the Xero sandbox computes it (its code, not the mapping's)."""
    from clio_xero_tools.sandbox.xero.rules import compute_line, document_totals

    pairs = []
    for li in invoice.LineItems:
        math = compute_line(
            quantity=li.Quantity,
            unit_amount=li.UnitAmount,
            line_amount=None,
            discount_rate=li.DiscountRate,
            discount_amount=li.DiscountAmount,
            tax_rate=RATES[li.TaxType or "NONE"],
            line_amount_types=invoice.LineAmountTypes,
            tax_amount=None,
        )
        pairs.append((math.line_amount, math.tax_amount))
    return document_totals(pairs, invoice.LineAmountTypes)[2]
