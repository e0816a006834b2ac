"""Per-connection billing settings (every key is documented in docs/billing.md "Settings").

Validated like the contact settings: unknown keys and bad values are refused, and
:func:`apply_assignments` turns ``KEY=VALUE`` pairs (as ``clio-xero settings set`` takes them)
into a new :class:`BillingSettings` or one :class:`~clio_xero.errors.ConfigurationError` that
names every bad key together with what it accepts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, StringConstraints, ValidationError, field_validator, model_validator

from clio_xero.errors import ConfigurationError
from clio_xero.sync.section import SettingsSection, accepts, is_optional

__all__ = [
    "AccountCode",
    "BillStates",
    "BillingSettings",
    "InvoiceNumberPolicy",
    "LineAmountTypes",
    "TaxClass",
    "TrackingSource",
    "apply_assignments",
    "describe_billing_fields",
]

# Xero account codes are at most 10 characters (xero_accounting.yaml, Account.Code).
AccountCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10)]
# Xero tax types are upper-case codes: OUTPUT, OUTPUT2, NONE, user-defined TAX001 ...
TaxTypeCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Z0-9]{1,50}$")]
TrackingName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class BillStates(StrEnum):
    """Which Clio bill states become Xero invoices (Clio's own "only sync bills after they are
    approved" toggle). Drafts never sync."""

    APPROVED_ONLY = "approved_only"  # awaiting_payment and paid
    EVERY_NON_DRAFT = "every_non_draft"  # also awaiting_approval, sent as SUBMITTED (awaiting approval)


class LineAmountTypes(StrEnum):
    """Whether the invoice's line amounts include tax (Xero's Invoice.LineAmountTypes)."""

    EXCLUSIVE = "Exclusive"
    INCLUSIVE = "Inclusive"
    NO_TAX = "NoTax"


class TrackingSource(StrEnum):
    """What a line's Xero tracking option is taken from."""

    NONE = "none"
    PRACTICE_AREA = "practice_area"  # the line's matter's practice area name
    MATTER = "matter"  # the line's matter display number


class InvoiceNumberPolicy(StrEnum):
    """How the Xero InvoiceNumber is chosen (docs/billing.md "Invoice numbers")."""

    CLIO_NUMBER = "clio_number"  # the bill number; an existing Xero invoice with it parks the bill
    PREFIXED = "prefixed"  # invoice_number_prefix + the bill number, outside Xero's own sequence
    XERO_ASSIGNS = "xero_assigns"  # Xero numbers it; the bill number is written into Reference


class TaxClass(StrEnum):
    """Clio's two tax tiers on a line (LineItem.taxable / secondary_taxable) as one class."""

    UNTAXED = "untaxed"
    PRIMARY = "primary"
    SECONDARY = "secondary"
    PRIMARY_AND_SECONDARY = "primary_and_secondary"


_MAP_FIELDS = ("activity_category_codes", "expense_category_codes", "tracking_options")


class BillingSettings(SettingsSection):
    """The ``billing`` section of a connection's settings (``ConnectionSettings.billing``).

    Defaults are what a firm gets without touching anything; billing itself is opt-in. The line
    switches default to itemised lines, like Clio's own integration
    (docs/facts-clio.md#clio-own-xero-sync)."""

    # --- what syncs (Clio's own tick-boxes) -------------------------------------------------
    # Off until the firm has run `clio-xero billing check`: invoices land in the books.
    sync_bills: bool = False
    sync_time_entries: bool = True  # off: time and flat-fee lines collapse into one line per tax class
    sync_expenses: bool = True  # off: expense lines collapse into one line per tax class
    sync_interest: bool = True  # off: the interest charges collapse into one "Interest" line
    sync_payments: bool = False  # issue 12; off until that sync exists and the firm turns it on
    sync_credit_notes: bool = False  # issue 12
    bill_states: BillStates = BillStates.APPROVED_ONLY
    bills_issued_from: date | None = None  # Clio's "sync bills issued on or after"

    # --- account codes (Xero names accounts by code per organisation) ------------------------
    # Xero's default charts call 200 "Sales" and 270 "Interest Income".
    time_account_code: AccountCode = "200"
    expense_account_code: AccountCode = "200"
    flat_fee_account_code: AccountCode = "200"
    interest_account_code: AccountCode = "270"
    discount_account_code: AccountCode = "200"
    # Clio activity category (activity description) / expense category, by name or id → code.
    activity_category_codes: dict[str, AccountCode] = Field(default_factory=dict)
    expense_category_codes: dict[str, AccountCode] = Field(default_factory=dict)
    # Clio's own per-category Xero codes (xero_service_code / xero_expense_code) when no override.
    use_clio_category_codes: bool = True

    # --- tax -----------------------------------------------------------------------------------
    line_amount_types: LineAmountTypes = LineAmountTypes.EXCLUSIVE
    # Clio tax tier(s) on a line → Xero TaxType. Unset: the account's own default tax type.
    tax_type_untaxed: TaxTypeCode | None = "NONE"
    tax_type_primary: TaxTypeCode | None = None
    tax_type_secondary: TaxTypeCode | None = None
    tax_type_primary_and_secondary: TaxTypeCode | None = None

    # --- tracking ------------------------------------------------------------------------------
    tracking_source: TrackingSource = TrackingSource.NONE
    tracking_category: TrackingName | None = None
    # Clio practice area name / matter display number → Xero option name (default: the same text).
    tracking_options: dict[str, TrackingName] = Field(default_factory=dict)
    create_tracking_options: bool = True

    # --- hard costs as spend money (Clio's integration offers it; off by default) ---------------
    hard_costs_as_spend_money: bool = False
    spend_money_bank_account_code: AccountCode | None = None
    spend_money_account_code: AccountCode | None = None

    # --- invoice numbers -----------------------------------------------------------------------
    invoice_number_policy: InvoiceNumberPolicy = InvoiceNumberPolicy.CLIO_NUMBER
    invoice_number_prefix: Annotated[str, StringConstraints(max_length=20)] = ""

    @field_validator(*_MAP_FIELDS, mode="before")
    @classmethod
    def _parse_pairs(cls, value: Any) -> Any:
        """``"Research:210,Drafting:200"`` or a JSON object, as typed on the command line."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return {}
        if text.startswith("{"):
            return json.loads(text)
        pairs: dict[str, str] = {}
        for part in text.split(","):
            name, sep, code = part.rpartition(":")
            if not sep or not name.strip():
                raise ValueError(f"{part.strip()!r} is not NAME:VALUE")
            pairs[name.strip()] = code.strip()
        return pairs

    @model_validator(mode="after")
    def _consistent(self) -> BillingSettings:
        if self.invoice_number_policy is InvoiceNumberPolicy.PREFIXED and not self.invoice_number_prefix.strip():
            raise ValueError("invoice_number_policy=prefixed needs invoice_number_prefix (e.g. CL-)")
        if self.hard_costs_as_spend_money and not (
            self.spend_money_bank_account_code and self.spend_money_account_code
        ):
            raise ValueError(
                "hard_costs_as_spend_money=true needs spend_money_bank_account_code (the bank account the firm "
                "paid from) and spend_money_account_code (where the cost is booked)"
            )
        if self.tracking_source is not TrackingSource.NONE and not self.tracking_category:
            raise ValueError(f"tracking_source={self.tracking_source.value} needs tracking_category (a Xero name)")
        return self

    def tax_type_for(self, tax_class: TaxClass) -> str | None:
        """The mapped Xero TaxType for a Clio tax class (``None``: the account's default)."""
        return {
            TaxClass.UNTAXED: self.tax_type_untaxed,
            TaxClass.PRIMARY: self.tax_type_primary,
            TaxClass.SECONDARY: self.tax_type_secondary,
            TaxClass.PRIMARY_AND_SECONDARY: self.tax_type_primary_and_secondary,
        }[tax_class]


def describe_billing_fields() -> dict[str, str]:
    """Each settable key and what it accepts (for error messages and `settings show`)."""
    return {name: accepts(info.rebuild_annotation()) for name, info in BillingSettings.model_fields.items()}


def apply_assignments(current: BillingSettings, updates: Mapping[str, str]) -> BillingSettings:
    """``current`` with ``updates`` (raw strings) applied, all or nothing.

    An empty value unsets an optional key. Raises :class:`ConfigurationError` naming every bad key
    and what it accepts."""
    known = describe_billing_fields()
    unknown = [k for k in updates if k not in known]
    if unknown:
        listed = ", ".join(f"{k} ({v})" for k, v in known.items())
        raise ConfigurationError(f"unknown billing setting(s) {', '.join(unknown)}; settings are: {listed}")
    merged: dict[str, Any] = current.model_dump()
    for name, raw in updates.items():
        optional = is_optional(BillingSettings.model_fields[name].annotation)
        merged[name] = None if (raw.strip() == "" and optional) else raw
    try:
        return BillingSettings.model_validate(merged)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else ""
            message = str(error["msg"]).removeprefix("Value error, ")
            if name:
                problems.append(f"{name}={updates.get(name, '')!r}: {message} (accepts {known.get(name, '?')})")
            else:
                problems.append(message)
        raise ConfigurationError("; ".join(problems)) from None
