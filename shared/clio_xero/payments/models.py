"""What Clio serves for money against bills, and the part of a Xero invoice we compare.

Named as the official specs name the fields (Clio: Allocation, CreditMemo, BankAccount; Xero:
Invoice, Payment). Money is ``Decimal`` from the JSON text on; a float is converted through its
shortest repr (``12.3`` stays ``12.30``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from clio_xero.billing.clio_models import ClioRef
from clio_xero.sync.contacts.merge import parse_xero_date

__all__ = [
    "ALLOCATION_FIELDS",
    "CREDIT_MEMO_FIELDS",
    "ClioAllocation",
    "ClioBankAccountRef",
    "ClioCreditMemo",
    "XeroCreditRef",
    "XeroInvoiceView",
    "XeroPaymentRef",
    "cents",
    "xero_day",
]

#: One level of nesting only (Clio refuses deeper ``fields``).
ALLOCATION_FIELDS = (
    "id,etag,date,amount,interest,voided_at,description,has_online_payment,payment_type,updated_at,"
    "parent,bill{id},contact{id},source_bank_account{id,name,type},destination_bank_account{id,name,type}"
)
CREDIT_MEMO_FIELDS = "id,etag,date,amount,description,discount,voided_at,created_at,updated_at,contact{id}"


def cents(value: Decimal | float | int | str | None) -> Decimal:
    """Money to the cent (``None`` is zero): how both sides are compared."""
    if value is None:
        return Decimal("0.00")
    if isinstance(value, float):
        value = repr(value)
    return Decimal(value).quantize(Decimal("0.01"))


class _Clio(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ClioBankAccountRef(_Clio):
    id: int
    name: str | None = None
    type: str | None = None  # "Operating" | "Trust" in responses

    @property
    def is_trust(self) -> bool:
        return (self.type or "").lower().startswith("trust")


class ClioParent(_Clio):
    id: int
    type: Literal["Payment", "CreditMemo"] | str


class ClioAllocation(_Clio):
    """A payment (or a credit memo's share) applied to a bill."""

    id: int
    etag: str | None = None
    date: dt.date | None = None
    amount: Decimal
    interest: bool = False  # applied to the bill's interest
    voided_at: dt.datetime | None = None
    description: str | None = None
    has_online_payment: bool | None = None  # a Clio Payments transaction
    payment_type: str | None = None
    parent: ClioParent | None = None
    bill: ClioRef | None = None  # None: an interest allocation whose interest bill was deleted
    contact: ClioRef | None = None
    source_bank_account: ClioBankAccountRef | None = None
    destination_bank_account: ClioBankAccountRef | None = None
    updated_at: dt.datetime | None = None

    @field_validator("amount", mode="before")
    @classmethod
    def _money(cls, value: Any) -> Any:
        return repr(value) if isinstance(value, float) else value

    @property
    def from_credit_memo(self) -> bool:
        return self.parent is not None and self.parent.type == "CreditMemo"

    @property
    def paid_from_trust(self) -> bool:
        return self.source_bank_account is not None and self.source_bank_account.is_trust


class ClioCreditMemo(_Clio):
    id: int
    etag: str | None = None
    date: dt.date | None = None
    amount: Decimal
    description: str | None = None
    discount: bool | None = None
    voided_at: dt.datetime | None = None
    contact: ClioRef | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @field_validator("amount", mode="before")
    @classmethod
    def _money(cls, value: Any) -> Any:
        return repr(value) if isinstance(value, float) else value


def xero_day(value: Any) -> dt.date | None:
    """The day of a Xero date (``/Date(1551744000000+0000)/`` or ISO text); ``None`` when absent."""
    if not isinstance(value, str) or not value:
        return None
    parsed = parse_xero_date(value)
    return parsed.date() if parsed is not None else None


class XeroPaymentRef(BaseModel):
    """A payment as an invoice lists it (``Invoice.Payments[]``)."""

    model_config = ConfigDict(frozen=True)

    payment_id: str
    amount: Decimal
    reference: str = ""
    date: dt.date | None = None


class XeroCreditRef(BaseModel):
    """Credit applied to an invoice as the invoice lists it (``Invoice.CreditNotes[]``: the credit
    note, the amount applied and its date)."""

    model_config = ConfigDict(frozen=True)

    credit_note_id: str
    amount: Decimal
    number: str | None = None
    date: dt.date | None = None


class XeroInvoiceView(BaseModel):
    """The money and status of a Xero invoice, as ``GET /Invoices/{id}`` answers."""

    model_config = ConfigDict(frozen=True)

    invoice_id: str
    number: str | None = None
    status: str
    total: Decimal
    amount_due: Decimal
    amount_paid: Decimal
    amount_credited: Decimal
    payments: list[XeroPaymentRef] = Field(default_factory=list)
    credits: list[XeroCreditRef] = Field(default_factory=list)
    updated: str | None = None
    currency_code: str | None = None

    @classmethod
    def from_xero(cls, row: dict[str, Any]) -> XeroInvoiceView:
        return cls(
            invoice_id=str(row["InvoiceID"]),
            number=row.get("InvoiceNumber"),
            status=str(row.get("Status") or ""),
            total=cents(row.get("Total")),
            amount_due=cents(row.get("AmountDue")),
            amount_paid=cents(row.get("AmountPaid")),
            amount_credited=cents(row.get("AmountCredited")),
            payments=[
                XeroPaymentRef(
                    payment_id=str(p["PaymentID"]),
                    amount=cents(p.get("Amount")),
                    reference=str(p.get("Reference") or ""),
                    date=xero_day(p.get("Date")),
                )
                for p in row.get("Payments") or []
                if p.get("PaymentID")
            ],
            credits=[
                XeroCreditRef(
                    credit_note_id=str(c["CreditNoteID"]).lower(),
                    amount=cents(c.get("AppliedAmount")),
                    number=c.get("CreditNoteNumber"),
                    date=xero_day(c.get("Date")),
                )
                for c in row.get("CreditNotes") or []
                if c.get("CreditNoteID")
            ],
            updated=row.get("UpdatedDateUTC"),
            currency_code=row.get("CurrencyCode"),
        )

    def credited_from(self, credit_note_id: str) -> Decimal:
        """What the credit note ``credit_note_id`` has already applied to this invoice."""
        wanted = credit_note_id.lower()
        return sum((c.amount for c in self.credits if c.credit_note_id == wanted), Decimal("0.00"))

    @property
    def label(self) -> str:
        return f"invoice {self.number}" if self.number else f"invoice {self.invoice_id}"
