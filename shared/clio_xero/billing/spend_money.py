"""Hard costs the firm paid as Xero "spend money" bank transactions (off by default;
docs/billing.md "Hard costs as spend money"), as Clio's own integration offers.

A Clio HardCostEntry is money the firm paid out (a court filing fee, a search) that it then bills
to the client. The bill's line books the income; this transaction books the payment from the
firm's bank account, so the bank feed in Xero has something to reconcile against.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from clio_xero.billing.clio_models import ClioActivity
from clio_xero.billing.mapping import round2
from clio_xero.billing.settings import BillingSettings
from clio_xero.billing.xero_models import Money, XeroContactRef
from clio_xero.errors import ConfigurationError, PermanentError

__all__ = ["XeroBankAccountRef", "XeroSpendLine", "XeroSpendMoney", "map_hard_cost"]


class XeroBankAccountRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    Code: str


class XeroSpendLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    Description: str
    Quantity: Money
    UnitAmount: Money
    AccountCode: str


class XeroSpendMoney(BaseModel):
    """A ``SPEND`` BankTransaction (xero_accounting.yaml BankTransaction)."""

    model_config = ConfigDict(frozen=True)

    Type: str = "SPEND"
    Contact: XeroContactRef
    BankAccount: XeroBankAccountRef
    Date: str
    Reference: str | None = None
    CurrencyCode: str | None = None
    # What the firm paid already includes any tax; the account's default tax type splits it out.
    LineAmountTypes: str = "Inclusive"
    LineItems: list[XeroSpendLine]

    def to_xero(self) -> dict[str, object]:
        return self.model_dump(mode="json", exclude_none=True)


def is_hard_cost(activity: ClioActivity) -> bool:
    entry_type = activity.expense_category.entry_type if activity.expense_category else None
    return activity.type == "HardCostEntry" or (activity.type == "ExpenseEntry" and entry_type == "hard_cost")


def map_hard_cost(
    activity: ClioActivity, settings: BillingSettings, *, contact_id: str, currency: str | None = None
) -> XeroSpendMoney | None:
    """The spend-money transaction for a hard cost, or ``None`` when the setting is off or the
    activity is not a hard cost. ``contact_id`` is the payee (the activity's vendor, else the
    client) as linked in Xero: Xero requires a contact on every bank transaction."""
    if not settings.hard_costs_as_spend_money or not is_hard_cost(activity):
        return None
    if not (settings.spend_money_bank_account_code and settings.spend_money_account_code):
        raise ConfigurationError(
            "hard_costs_as_spend_money needs spend_money_bank_account_code and spend_money_account_code"
        )
    if activity.date is None or activity.price is None:
        raise PermanentError(f"Clio activity {activity.id} has no date or amount; re-read it with those fields.")
    quantity = activity.quantity if activity.quantity and activity.quantity > 0 else Decimal(1)
    amount = activity.total if activity.total is not None else round2(quantity * activity.price)
    if round2(quantity * activity.price) != amount:
        quantity = Decimal(1)  # Clio's rate does not reproduce its total: one unit of the amount
    unit = amount / quantity
    category = activity.expense_category.name if activity.expense_category and activity.expense_category.name else None
    description = " - ".join(x for x in (category, activity.note) if x) or "Hard cost"
    return XeroSpendMoney(
        Contact=XeroContactRef(ContactID=contact_id),
        BankAccount=XeroBankAccountRef(Code=settings.spend_money_bank_account_code),
        Date=activity.date.isoformat(),
        Reference=activity.reference,
        CurrencyCode=currency,
        LineItems=[
            XeroSpendLine(
                Description=description[:4000],
                Quantity=quantity,
                UnitAmount=unit,
                AccountCode=settings.spend_money_account_code,
            )
        ],
    )
