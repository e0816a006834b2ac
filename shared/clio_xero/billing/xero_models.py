"""What Xero takes and serves for billing, named as xero_accounting.yaml names the fields.

Output: :class:`XeroInvoice` (an ACCREC invoice with :class:`XeroLineItem` lines); ``to_xero()``
gives the JSON element for ``PUT/POST /Invoices`` (money as JSON numbers, unset fields left out).
Input: :class:`OrgChart`, the organisation's Accounts, TaxRates, TrackingCategories and
Currencies as read from Xero, which preflight checks against and the totals check computes with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

__all__ = [
    "OrgChart",
    "XeroAccount",
    "XeroContactRef",
    "XeroCurrency",
    "XeroInvoice",
    "XeroLineItem",
    "XeroTaxRate",
    "XeroTracking",
    "XeroTrackingCategory",
    "XeroTrackingOption",
]

# Exact inside, a JSON number on the wire (Xero's schema says number). A 2 dp (or 4 dp unit)
# Decimal converts to the float whose shortest repr is the same digits, so nothing is lost.
Money = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]

# Account types whose balances are income (docs/billing.md "Preflight"; Class REVENUE).
REVENUE_TYPES = frozenset({"REVENUE", "SALES", "OTHERINCOME"})


class _Xero(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class XeroTracking(_Xero):
    Name: str
    Option: str


class XeroLineItem(_Xero):
    Description: str
    Quantity: Money | None = None
    UnitAmount: Money | None = None
    AccountCode: str | None = None
    TaxType: str | None = None
    DiscountRate: Money | None = None
    DiscountAmount: Money | None = None
    Tracking: list[XeroTracking] = Field(default_factory=list)
    LineItemID: str | None = None  # kept on updates, or Xero deletes and recreates the line


class XeroContactRef(_Xero):
    ContactID: str  # only the id: extra contact fields would update the contact (docs/mapping-bills.md "Invoice")


class XeroInvoice(_Xero):
    Type: Literal["ACCREC"] = "ACCREC"
    Contact: XeroContactRef
    InvoiceNumber: str | None = None
    Reference: str | None = None
    Date: str  # YYYY-MM-DD
    DueDate: str | None = None
    CurrencyCode: str | None = None
    Status: Literal["SUBMITTED", "AUTHORISED"] = "AUTHORISED"
    LineAmountTypes: Literal["Exclusive", "Inclusive", "NoTax"] = "Exclusive"
    LineItems: list[XeroLineItem]
    Url: str | None = None

    def to_xero(self) -> dict[str, Any]:
        """The element for ``{"Invoices": [...]}``; empty tracking lists left out."""
        body = self.model_dump(mode="json", exclude_none=True)
        for line in body["LineItems"]:
            if not line.get("Tracking"):
                line.pop("Tracking", None)
        return body


# ------------------------------------------------------------------------------ the org as read


class XeroAccount(_Xero):
    Code: str | None = None
    Name: str | None = None
    Type: str | None = None
    Status: str | None = None
    Class: str | None = None
    TaxType: str | None = None
    SystemAccount: str | None = None
    BankAccountType: str | None = None
    CurrencyCode: str | None = None


class XeroTaxRate(_Xero):
    Name: str | None = None
    TaxType: str
    Status: str | None = None
    EffectiveRate: Decimal | None = None
    DisplayTaxRate: Decimal | None = None
    CanApplyToRevenue: bool | None = None

    @property
    def rate(self) -> Decimal:
        """The percentage Xero applies per line (EffectiveRate, which folds compound components)."""
        if self.EffectiveRate is not None:
            return self.EffectiveRate
        return self.DisplayTaxRate if self.DisplayTaxRate is not None else Decimal(0)


class XeroTrackingOption(_Xero):
    TrackingOptionID: str | None = None
    Name: str
    Status: str | None = None


class XeroTrackingCategory(_Xero):
    TrackingCategoryID: str | None = None
    Name: str
    Status: str | None = None
    Options: list[XeroTrackingOption] = Field(default_factory=list)


class XeroCurrency(_Xero):
    Code: str
    Description: str | None = None


class OrgChart(_Xero):
    """The organisation as preflight and the totals check need it (GET /Accounts, /TaxRates,
    /TrackingCategories?includeArchived=true, /Currencies, /Organisation.BaseCurrency)."""

    accounts: list[XeroAccount] = Field(default_factory=list)
    tax_rates: list[XeroTaxRate] = Field(default_factory=list)
    tracking_categories: list[XeroTrackingCategory] = Field(default_factory=list)
    currencies: list[XeroCurrency] = Field(default_factory=list)
    base_currency: str | None = None

    @classmethod
    def from_xero(
        cls,
        *,
        accounts: Sequence[Mapping[str, Any]],
        tax_rates: Sequence[Mapping[str, Any]],
        tracking_categories: Sequence[Mapping[str, Any]] = (),
        currencies: Sequence[Mapping[str, Any]] = (),
        base_currency: str | None = None,
    ) -> OrgChart:
        """From the response lists as Xero serves them (``body["Accounts"]`` and so on)."""
        return cls.model_validate(
            {
                "accounts": list(accounts),
                "tax_rates": list(tax_rates),
                "tracking_categories": list(tracking_categories),
                "currencies": list(currencies),
                "base_currency": base_currency,
            }
        )

    def account(self, code: str) -> XeroAccount | None:
        """By code, case-insensitively as Xero matches codes (UNCONFIRMED; docs/billing.md)."""
        wanted = code.strip().upper()
        return next((a for a in self.accounts if (a.Code or "").strip().upper() == wanted), None)

    def tax_rate(self, tax_type: str) -> XeroTaxRate | None:
        return next((t for t in self.tax_rates if t.TaxType == tax_type), None)

    def tracking_category(self, name: str) -> XeroTrackingCategory | None:
        wanted = name.strip().casefold()
        return next((c for c in self.tracking_categories if c.Name.strip().casefold() == wanted), None)

    def subscribed(self, currency: str) -> bool:
        code = currency.upper()
        return code == (self.base_currency or "").upper() or any(c.Code.upper() == code for c in self.currencies)
