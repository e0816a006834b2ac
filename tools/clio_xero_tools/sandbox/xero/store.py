"""Typed in-memory records of the Xero sandbox: one :class:`Org` per tenant holds its data.

Money is ``Decimal`` throughout; the JSON layer converts at the edge. Nested value objects that the
sandbox only stores and echoes (addresses, phones, contact persons, tracking) stay plain dicts that
were checked on the way in; everything the rules reason about is a typed field.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

__all__ = [
    "Account",
    "Allocation",
    "BankTransaction",
    "BankTransfer",
    "Contact",
    "Currency",
    "Document",
    "Item",
    "LineItem",
    "Org",
    "Payment",
    "Store",
    "TaxRate",
    "TrackingCategory",
    "TrackingOption",
]

Json = dict[str, Any]
Day = date  # alias: ``Document.date`` would shadow the type inside the class body
DocKind = Literal["invoice", "creditnote"]


@dataclass
class Contact:
    contact_id: str
    name: str
    created: datetime
    updated: datetime
    status: str = "ACTIVE"  # ACTIVE | ARCHIVED | GDPRREQUEST
    contact_number: str | None = None
    account_number: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    company_number: str | None = None
    tax_number: str | None = None
    default_currency: str | None = None
    ar_tax_type: str | None = None
    ap_tax_type: str | None = None
    bank_account_details: str | None = None
    addresses: list[Json] = field(default_factory=list)
    phones: list[Json] = field(default_factory=list)
    persons: list[Json] = field(default_factory=list)
    is_customer: bool = False
    is_supplier: bool = False
    merged_to: str | None = None


@dataclass
class LineItem:
    line_item_id: str
    description: str | None
    quantity: Decimal | None
    unit_amount: Decimal | None
    line_amount: Decimal
    tax_amount: Decimal
    account_code: str | None = None
    item_code: str | None = None
    tax_type: str | None = None
    discount_rate: Decimal | None = None
    discount_amount: Decimal | None = None
    tracking: list[Json] = field(default_factory=list)


@dataclass
class Document:
    """An invoice (``ACCREC``/``ACCPAY``) or a credit note (``ACCRECCREDIT``/``ACCPAYCREDIT``)."""

    kind: DocKind
    doc_id: str
    type: str
    contact_id: str
    status: str
    date: Day
    created: datetime
    updated: datetime
    number: str | None = None
    reference: str | None = None
    due_date: Day | None = None
    line_amount_types: str = "Exclusive"
    lines: list[LineItem] = field(default_factory=list)
    currency_code: str = "AUD"
    currency_rate: Decimal = Decimal(1)
    sub_total: Decimal = Decimal(0)
    total_tax: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    amount_paid: Decimal = Decimal(0)
    amount_credited: Decimal = Decimal(0)  # invoices: credit allocated to it; credit notes: allocated away
    url: str | None = None
    sent_to_contact: bool = False
    expected_payment_date: Day | None = None
    fully_paid_on: Day | None = None
    created_by_app: str | None = None

    @property
    def amount_due(self) -> Decimal:
        return self.total - self.amount_paid - self.amount_credited


@dataclass
class Allocation:
    allocation_id: str
    credit_note_id: str
    invoice_id: str
    amount: Decimal
    date: date
    deleted: bool = False


@dataclass
class Payment:
    payment_id: str
    doc_kind: DocKind
    doc_id: str
    account_id: str
    date: date
    amount: Decimal
    payment_type: str
    created: datetime
    updated: datetime
    status: str = "AUTHORISED"  # AUTHORISED | DELETED
    reference: str | None = None
    is_reconciled: bool = False
    currency_rate: Decimal = Decimal(1)


@dataclass
class Account:
    account_id: str
    code: str | None
    name: str
    type: str
    updated: datetime
    status: str = "ACTIVE"  # ACTIVE | ARCHIVED | DELETED
    tax_type: str | None = None
    description: str | None = None
    enable_payments: bool = False
    bank_account_type: str | None = None
    bank_account_number: str | None = None
    currency_code: str | None = None
    system_account: str | None = None

    @property
    def account_class(self) -> str:
        return _ACCOUNT_CLASS.get(self.type, "ASSET")


_ACCOUNT_CLASS = {
    "BANK": "ASSET",
    "CURRENT": "ASSET",
    "FIXED": "ASSET",
    "INVENTORY": "ASSET",
    "NONCURRENT": "ASSET",
    "PREPAYMENT": "ASSET",
    "CURRLIAB": "LIABILITY",
    "LIABILITY": "LIABILITY",
    "TERMLIAB": "LIABILITY",
    "PAYG": "LIABILITY",
    "EQUITY": "EQUITY",
    "DEPRECIATN": "EXPENSE",
    "DIRECTCOSTS": "EXPENSE",
    "EXPENSE": "EXPENSE",
    "OVERHEADS": "EXPENSE",
    "OTHERINCOME": "REVENUE",
    "REVENUE": "REVENUE",
    "SALES": "REVENUE",
}


@dataclass
class TaxRate:
    name: str
    tax_type: str
    rate: Decimal  # percent, e.g. Decimal("10")
    status: str = "ACTIVE"
    report_tax_type: str | None = None
    can_apply_to_revenue: bool = True
    can_apply_to_expenses: bool = True
    can_apply_to_assets: bool = True
    can_apply_to_liabilities: bool = True
    can_apply_to_equity: bool = True


@dataclass
class Currency:
    code: str
    description: str


@dataclass
class Item:
    item_id: str
    code: str
    updated: datetime
    name: str | None = None
    description: str | None = None
    purchase_description: str | None = None
    is_sold: bool = True
    is_purchased: bool = True
    sales_unit_price: Decimal | None = None
    sales_account_code: str | None = None
    sales_tax_type: str | None = None
    purchase_unit_price: Decimal | None = None
    purchase_account_code: str | None = None
    purchase_tax_type: str | None = None


@dataclass
class BankTransaction:
    bank_transaction_id: str
    type: str
    contact_id: str
    bank_account_id: str
    date: date
    updated: datetime
    lines: list[LineItem] = field(default_factory=list)
    status: str = "AUTHORISED"
    reference: str | None = None
    line_amount_types: str = "Exclusive"
    currency_code: str = "AUD"
    sub_total: Decimal = Decimal(0)
    total_tax: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    is_reconciled: bool = False


@dataclass
class BankTransfer:
    """Money moved between two bank accounts: two bank transactions (SPEND-/RECEIVE-TRANSFER)."""

    transfer_id: str
    from_transaction_id: str
    to_transaction_id: str
    amount: Decimal
    date: date
    created: datetime
    updated: datetime
    reference: str | None = None
    status: str = "AUTHORISED"  # AUTHORISED | DELETED


@dataclass
class TrackingOption:
    option_id: str
    name: str
    status: str = "ACTIVE"  # ACTIVE | ARCHIVED | DELETED


@dataclass
class TrackingCategory:
    category_id: str
    name: str
    status: str = "ACTIVE"  # ACTIVE | ARCHIVED | DELETED
    options: dict[str, TrackingOption] = field(default_factory=dict)

    def option_named(self, name: str) -> TrackingOption | None:
        key = name.strip().casefold()
        return next((o for o in self.options.values() if o.status != "DELETED" and o.name.casefold() == key), None)


@dataclass
class Org:
    """One Xero organisation (tenant) and everything in it."""

    organisation_id: str
    name: str
    country: str
    base_currency: str
    timezone: str
    created: datetime
    short_code: str
    sales_tax_default: str = "OUTPUT"
    purchases_tax_default: str = "INPUT"
    contacts: dict[str, Contact] = field(default_factory=dict)
    invoices: dict[str, Document] = field(default_factory=dict)
    credit_notes: dict[str, Document] = field(default_factory=dict)
    allocations: dict[str, Allocation] = field(default_factory=dict)
    payments: dict[str, Payment] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    tax_rates: dict[str, TaxRate] = field(default_factory=dict)
    currencies: dict[str, Currency] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    bank_transactions: dict[str, BankTransaction] = field(default_factory=dict)
    tracking_categories: dict[str, TrackingCategory] = field(default_factory=dict)
    bank_transfers: dict[str, BankTransfer] = field(default_factory=dict)
    next_invoice_number: int = 1
    next_credit_note_number: int = 1

    def account_by_code(self, code: str) -> Account | None:
        for account in self.accounts.values():
            if account.code is not None and account.code.casefold() == code.casefold():
                return account
        return None

    def account_by_ref(self, ref: Json) -> Account | None:
        """The account a reference object names: ``{"AccountID": ...}`` or ``{"Code": ...}``."""
        if ref.get("AccountID"):
            return self.accounts.get(str(ref["AccountID"]).lower())
        return self.account_by_code(str(ref["Code"])) if ref.get("Code") else None

    def item_by_code(self, code: str) -> Item | None:
        for item in self.items.values():
            if item.code.casefold() == code.casefold():
                return item
        return None

    def tracking_category_named(self, name: str) -> TrackingCategory | None:
        key = name.strip().casefold()
        return next(
            (c for c in self.tracking_categories.values() if c.status != "DELETED" and c.name.casefold() == key),
            None,
        )

    def document(self, kind: DocKind, doc_id: str) -> Document | None:
        return (self.invoices if kind == "invoice" else self.credit_notes).get(doc_id)


class Store:
    """All organisations of the sandbox, behind one re-entrant lock (requests are short)."""

    def __init__(self) -> None:
        self.orgs: dict[str, Org] = {}
        self.lock = threading.RLock()
