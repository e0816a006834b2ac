"""What Clio serves for a bill, as pydantic models named as the official spec names the fields
(openapi.json: Bill, LineItem, Activity, InterestCharge, Matter, PracticeArea, Currency).

Clio's ``fields`` parameter nests one level only (docs/mapping-bills.md "Reading a bill"), so a
bill arrives as several reads put together in :class:`BillBundle`: the bill, its line items, the
activities those lines came from (with their category), its interest charges and its matters
(with their practice area). Every field Clio may leave out or send as ``null`` is optional;
unknown fields are ignored. Money is ``Decimal`` from the JSON text on (a float is converted
through its shortest repr, so ``12.3`` stays ``12.30``, never ``12.2999...``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BillBundle",
    "ClioActivity",
    "ClioActivityDescription",
    "ClioBill",
    "ClioCurrency",
    "ClioDiscount",
    "ClioExpenseCategory",
    "ClioInterest",
    "ClioInterestCharge",
    "ClioLineItem",
    "ClioMatter",
    "ClioPracticeArea",
    "ClioRef",
    "ClioState",
]

ClioState = Literal["draft", "awaiting_approval", "awaiting_payment", "paid", "void", "deleted"]


class _Clio(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ClioRef(_Clio):
    id: int


class ClioCurrency(_Clio):
    id: int | None = None
    code: str | None = None  # ISO 4217
    sign: str | None = None


class ClioDiscount(_Clio):
    rate: Decimal | None = None  # a percentage, or the amount when type is "money"
    type: Literal["percentage", "money"] | None = None
    note: str | None = None


class ClioInterest(_Clio):
    rate: Decimal | None = None
    type: Literal["simple", "compound"] | None = None
    period: int | None = None
    total: Decimal | None = None
    balance: Decimal | None = None


class ClioPracticeArea(_Clio):
    id: int
    name: str | None = None
    code: str | None = None


class ClioMatter(_Clio):
    id: int
    display_number: str | None = None
    description: str | None = None
    practice_area: ClioPracticeArea | None = None


class ClioActivityDescription(_Clio):
    """Clio's "activity category"."""

    id: int
    name: str | None = None
    xero_service_code: str | None = None
    category_type: str | None = None


class ClioExpenseCategory(_Clio):
    id: int
    name: str | None = None
    entry_type: str | None = None  # hard_cost | soft_cost | unassociated
    xero_expense_code: str | None = None


class ClioActivity(_Clio):
    id: int
    etag: str | None = None  # the version its bill was synced with (docs/billing.md "A burst of bills")
    type: Literal["TimeEntry", "ExpenseEntry", "HardCostEntry", "SoftCostEntry"] | None = None
    date: dt.date | None = None
    flat_rate: bool | None = None
    price: Decimal | None = None
    quantity: Decimal | None = None
    total: Decimal | None = None
    note: str | None = None
    reference: str | None = None
    activity_description: ClioActivityDescription | None = None
    expense_category: ClioExpenseCategory | None = None
    vendor: ClioRef | None = None
    matter: ClioRef | None = None


class ClioLineItem(_Clio):
    id: int
    type: Literal["ActivityLineItem", "LineItem", "NoChargeLineItem", "SummaryLineItem"] | None = None
    kind: Literal["Service", "Expense"] | None = None
    description: str | None = None
    note: str | None = None
    date: dt.date | None = None
    price: Decimal | None = None
    quantity: Decimal | None = None  # hours for time ("amount of hours"), a count for expenses
    sub_total: Decimal | None = None  # price x quantity, before discount and tax
    discount: ClioDiscount | None = None
    tax: Decimal | None = None
    secondary_tax: Decimal | None = None
    total: Decimal | None = None  # after discount, with both taxes
    taxable: bool | None = None
    secondary_taxable: bool | None = None
    group_ordering: int | None = None
    activity: ClioRef | None = None
    matter: ClioRef | None = None


class ClioInterestCharge(_Clio):
    id: int
    date: dt.date | None = None
    description: str | None = None
    total: Decimal | None = None


class ClioBill(_Clio):
    id: int
    etag: str | None = None
    number: str | None = None
    state: ClioState | None = None
    type: Literal["MatterBill", "ClientBill"] | None = None
    kind: str | None = None
    issued_at: dt.date | None = None
    due_at: dt.date | None = None
    subject: str | None = None
    memo: str | None = None
    purchase_order: str | None = None
    currency: ClioCurrency | None = None
    client: ClioRef | None = None
    matters: list[ClioRef] = Field(default_factory=list)
    discount: ClioDiscount | None = None
    discount_services_only: str | bool | None = None
    interest: ClioInterest | None = None
    tax_rate: Decimal | None = None  # percent
    secondary_tax_rate: Decimal | None = None
    sub_total: Decimal | None = None
    tax_sum: Decimal | None = None
    secondary_tax_sum: Decimal | None = None
    total_tax: Decimal | None = None
    total: Decimal | None = None  # "the total with interest"
    due: Decimal | None = None
    balance: Decimal | None = None
    paid: Decimal | None = None
    credits_issued: Decimal | None = None
    updated_at: dt.datetime | None = None


class BillBundle(_Clio):
    """One bill with everything its invoice is made of (several Clio reads put together)."""

    bill: ClioBill
    line_items: list[ClioLineItem] = Field(default_factory=list)
    activities: dict[int, ClioActivity] = Field(default_factory=dict)
    interest_charges: list[ClioInterestCharge] = Field(default_factory=list)
    matters: dict[int, ClioMatter] = Field(default_factory=dict)

    def activity_of(self, line: ClioLineItem) -> ClioActivity | None:
        return self.activities.get(line.activity.id) if line.activity else None

    def matter_of(self, line: ClioLineItem | None) -> ClioMatter | None:
        """The line's matter, else (or for a bill-level line: ``None``) the bill's first matter."""
        if line is not None and line.matter is not None:
            matter_id: int | None = line.matter.id
        else:
            matter_id = self.bill.matters[0].id if self.bill.matters else None
        return self.matters.get(matter_id) if matter_id is not None else None
