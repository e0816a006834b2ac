"""What the trust reconciliation reads: Clio's trust book, the bank's statement, Xero's view.

Clio records are validated into these models at the boundary (``source.py``); the statement
parsers (``statements.py``) produce :class:`BankStatement`. Money is ``Decimal`` throughout:
Clio and Xero send JSON numbers/strings, which are converted through ``str`` so no binary float
ever touches a figure. docs/trust-report.md describes every field's origin.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic.dataclasses import dataclass as pydantic_dataclass

CENT = Decimal("0.01")
Day = date  # a field named ``date`` would shadow the type in a slotted dataclass


def money(value: Any) -> Decimal:
    """A JSON number or string as an exact amount to the cent (``str()`` first: never via float)."""
    if isinstance(value, Decimal):
        return value.quantize(CENT, rounding=ROUND_HALF_UP)
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not an amount: {value!r}")
    return Decimal(str(value).replace(",", "").strip()).quantize(CENT, rounding=ROUND_HALF_UP)


class TxnKind(enum.StrEnum):
    """The ledger columns a trust transaction is counted in (docs/trust-report.md, "Kinds")."""

    RECEIPT = "receipt"
    BILL_PAYMENT = "bill_payment"
    DISBURSEMENT = "disbursement"
    TRANSFER = "transfer"


class MatterStatus(enum.StrEnum):
    PENDING = "Pending"
    OPEN = "Open"
    CLOSED = "Closed"


class _Ref(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    id: int


class _NamedRef(_Ref):
    name: str | None = None


class TrustAccount(BaseModel):
    """A Clio bank account of type Trust (``GET /bank_accounts.json``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    id: int
    name: str
    type: str
    currency: str = ""
    account_number: str | None = None
    institution: str | None = None
    holder: str | None = None
    balance: Decimal | None = None  # Clio's own figure for the account today (integrity check)

    @field_validator("balance", mode="before")
    @classmethod
    def _money(cls, v: Any) -> Decimal | None:
        return None if v is None else money(v)


class ClioMatter(BaseModel):
    """A matter (``GET /matters.json``): only what the report shows or decides on."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    id: int
    display_number: str | None = None
    description: str | None = None
    status: MatterStatus | None = None
    close_date: date | None = None
    client: _NamedRef | None = None


@pydantic_dataclass(frozen=True, slots=True, config=ConfigDict(extra="ignore"))
class ClioTrustTransaction:
    """A Clio bank transaction on a trust account (``GET /bank_transactions.json``), flattened.

    A slotted, validated dataclass rather than a model with nested models: a firm has tens of
    thousands of these and each nested model costs several hundred bytes (docs/benchmarks.md).
    Build it from Clio's JSON with :meth:`model_validate`.
    """

    id: int
    date: Day
    amount: Decimal
    bank_account_id: int
    client_id: int | None = None
    client_name: str | None = None
    matter_id: int | None = None
    matter_number: str | None = None
    bill_id: int | None = None
    allocation_id: int | None = None
    confirmation: str | None = None
    description: str | None = None
    transaction_type: str | None = None
    currency: str | None = None

    @field_validator("amount", mode="before")
    @classmethod
    def _money(cls, v: Any) -> Decimal:
        return money(v)

    @classmethod
    def model_validate(cls, record: Mapping[str, Any]) -> ClioTrustTransaction:
        """From Clio's record, whose links are nested (``client{id,name}``, ``matter{id,display_number}``)."""

        def link(name: str) -> Mapping[str, Any]:
            value = record.get(name)
            return value if isinstance(value, Mapping) else {}

        client, matter = link("client"), link("matter")
        account_id = link("bank_account").get("id", record.get("bank_account_id"))
        return cls(
            id=record["id"],
            date=record["date"],
            amount=record["amount"],
            bank_account_id=account_id,
            client_id=client.get("id"),
            client_name=client.get("name"),
            matter_id=matter.get("id"),
            matter_number=matter.get("display_number"),
            bill_id=link("bill").get("id"),
            allocation_id=link("allocation").get("id"),
            confirmation=record.get("confirmation"),
            description=record.get("description"),
            transaction_type=record.get("transaction_type"),
            currency=record.get("currency"),
        )

    def model_copy(self, *, update: Mapping[str, Any]) -> ClioTrustTransaction:
        return dataclasses.replace(self, **update)

    @property
    def kind(self) -> TxnKind:
        """Receipts, payments to bills, disbursements, transfers (docs/trust-report.md, "Kinds").

        Clio gives no documented enum for ``transaction_type``; a payment to a bill is known by
        its bill/allocation link, a transfer by its type's name, the rest by the sign.
        """
        if "transfer" in (self.transaction_type or "").lower():
            return TxnKind.TRANSFER
        if self.amount < 0 and (self.bill_id is not None or self.allocation_id is not None):
            return TxnKind.BILL_PAYMENT
        return TxnKind.RECEIPT if self.amount >= 0 else TxnKind.DISBURSEMENT

    @property
    def client_label(self) -> str:
        return (self.client_name or f"Contact {self.client_id}") if self.client_id is not None else "(no client)"


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One line of a bank statement; ``line`` is where it sits in its file (for errors and the report)."""

    file: str
    line: int
    date: date
    amount: Decimal
    reference: str
    description: str
    bank_id: str = ""  # the bank's own id (OFX FITID), used to spot the same line in two files


@dataclass(frozen=True)
class BankStatement:
    """A statement file, parsed: its period, closing balance and lines."""

    file: str
    start: date
    end: date
    closing_balance: Decimal
    currency: str | None
    account_number: str | None
    lines: list[StatementLine] = field(default_factory=list)
    period_stated: bool = True  # False for CSV: the period is its first to last line's date

    @property
    def opening_balance(self) -> Decimal:
        return self.closing_balance - sum((x.amount for x in self.lines), Decimal(0))


@dataclass(frozen=True)
class XeroAccountView:
    """Xero's figure for the bank account that mirrors the trust account (Reports/BankSummary)."""

    account_id: str
    name: str
    currency: str | None
    closing_balance: Decimal
