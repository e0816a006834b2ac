"""The ``payments`` settings section: what payments and credit notes need once ``sync_payments``
/ ``sync_credit_notes`` (in the ``billing`` section, beside Clio's other tick-boxes) are on.
Every key in docs/payments.md "Settings"."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator

from clio_xero.billing.settings import BillingSettings
from clio_xero.sync.section import SettingsSection

__all__ = ["PaymentSettings", "XeroChangePolicy"]


class XeroChangePolicy(StrEnum):
    """What the sync does when a person changed a synced invoice or payment in Xero
    (docs/payments.md "Changes made in Xero")."""

    # Default: the record waits in `clio-xero errors` with a sentence saying what was done in Xero
    # and the two ways out. Nothing in Xero is touched.
    FLAG = "flag"
    # Clio's own behaviour where it is safe: our payments deleted in Xero are written again and an
    # edited invoice is rewritten from the bill. A payment a person added in Xero and a voided
    # invoice are still flagged (undoing a person's money entry, or un-voiding, is not ours to do).
    REAPPLY = "reapply"


#: Xero account codes are at most 10 characters (Account.Code in the Accounting spec).
AccountCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10)]


class PaymentSettings(SettingsSection):
    """What payments and credit notes need once ``sync_payments`` / ``sync_credit_notes`` are on
    (docs/payments.md "Settings")."""

    # The Xero bank account (by code) a payment into a Clio bank account lands in, keyed by the
    # Clio bank account's id or name; unlisted accounts use payment_account_code.
    bank_account_codes: dict[str, AccountCode] = Field(default_factory=dict)
    payment_account_code: AccountCode = "090"  # Xero's demo charts: "Business Bank Account"
    # Bills paid from trust land here (a clearing account with payments enabled). Unset: such
    # payments wait in `errors` asking for it. Trust money itself is never synced.
    trust_payment_account_code: AccountCode | None = None
    # The revenue account a Clio credit note (a write-off against a bill) is booked against.
    credit_note_account_code: AccountCode = "200"
    xero_change_policy: XeroChangePolicy = XeroChangePolicy.FLAG

    @field_validator("bank_account_codes", mode="before")
    @classmethod
    def _parse_pairs(cls, value: Any) -> Any:
        """``"7:090,Operating:091"`` or a JSON object, as typed on the command line (the billing
        section's own NAME:VALUE parser)."""
        return BillingSettings._parse_pairs(value)

    def account_code_for(self, *, bank_account_id: int | None, bank_account_name: str | None) -> str:
        """The Xero account code for a payment into a Clio (operating) bank account."""
        for key in (str(bank_account_id) if bank_account_id is not None else None, bank_account_name):
            if key and key in self.bank_account_codes:
                return self.bank_account_codes[key]
        return self.payment_account_code
