"""``/BankTransfers``: money moved between two of the organisation's bank accounts (for a law firm:
trust to operating when a bill is paid from trust, or back).

Like Xero, a transfer is recorded as two bank transactions, ``SPEND-TRANSFER`` out of the source
account and ``RECEIVE-TRANSFER`` into the destination, whose ids the transfer carries
(``FromBankTransactionID``/``ToBankTransactionID``); they show in ``GET /BankTransactions`` and in
the bank summary, and cannot be edited there. Transfers are created with ``PUT`` (a batch) and
removed with ``Status: DELETED`` through ``POST /BankTransfers`` (a batch) or
``POST /BankTransfers/{BankTransferID}``, which deletes both transactions. Both accounts must be
ACTIVE bank accounts in the same currency (the sandbox has no exchange rates).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from clio_xero_tools.sandbox.xero.common import (
    ApiError,
    Ctx,
    ElementError,
    Reply,
    batch_reply,
    envelope,
    list_reply,
    not_found,
    obj,
    optional_date,
    text,
)
from clio_xero_tools.sandbox.xero.formats import money, ms_date, ms_datetime, new_guid, to_decimal
from clio_xero_tools.sandbox.xero.store import BankTransaction, BankTransfer

if TYPE_CHECKING:
    from clio_xero_tools.sandbox.xero.store import Account, Org

__all__ = ["delete_bank_transfers", "get_bank_transfer", "list_bank_transfers", "put_bank_transfers"]

Json = dict[str, Any]


def _account_ref(org: Org, account_id: str) -> Json:
    a = org.accounts.get(account_id)
    out: Json = {"AccountID": account_id}
    if a is not None:
        out["Name"] = a.name
        if a.code:
            out["Code"] = a.code
    return out


def transfer_json(org: Org, t: BankTransfer) -> Json:
    source, target = org.bank_transactions[t.from_transaction_id], org.bank_transactions[t.to_transaction_id]
    out: Json = {
        "BankTransferID": t.transfer_id,
        "FromBankAccount": _account_ref(org, source.bank_account_id),
        "ToBankAccount": _account_ref(org, target.bank_account_id),
        "Amount": money(t.amount),
        "Date": ms_date(t.date),
        "CurrencyRate": 1.0,
        "FromBankTransactionID": t.from_transaction_id,
        "ToBankTransactionID": t.to_transaction_id,
        "FromIsReconciled": source.is_reconciled,
        "ToIsReconciled": target.is_reconciled,
        "HasAttachments": False,
        "CreatedDateUTC": ms_datetime(t.created),
        "Status": t.status,
    }
    if t.reference is not None:
        out["Reference"] = t.reference
    return out


def _bank(org: Org, el: Json, key: str) -> Account:
    account = org.account_by_ref(obj(el, key))
    if account is None or account.type != "BANK" or account.status != "ACTIVE":
        raise ElementError(f"{key} must be an active bank account")  # UNCONFIRMED text
    return account


def _create(ctx: Ctx, el: Json) -> BankTransfer:
    org = ctx.org
    errors: list[str] = []
    accounts: list[Account] = []
    for key in ("FromBankAccount", "ToBankAccount"):
        try:
            accounts.append(_bank(org, el, key))
        except ElementError as exc:
            errors.extend(exc.messages)
    try:
        amount = to_decimal(el.get("Amount"))
    except ValueError:
        amount = Decimal(0)
    if amount <= 0:
        errors.append("Amount must be greater than zero")  # UNCONFIRMED text
    if len(accounts) == 2 and accounts[0] is accounts[1]:
        errors.append("The from and to bank accounts must be different")  # UNCONFIRMED text
    if len(accounts) == 2 and (accounts[0].currency_code or org.base_currency) != (
        accounts[1].currency_code or org.base_currency
    ):
        errors.append("Both bank accounts must be in the same currency")  # a sandbox limit: no exchange rates
    if errors:
        raise ElementError(*errors)
    day = optional_date(el.get("Date"), "Date") or ctx.now.date()
    reference = text(el.get("Reference"), "Reference")
    legs = []
    for account, kind, reconciled in (
        (accounts[0], "SPEND-TRANSFER", bool(el.get("FromIsReconciled", False))),
        (accounts[1], "RECEIVE-TRANSFER", bool(el.get("ToIsReconciled", False))),
    ):
        leg = BankTransaction(
            bank_transaction_id=new_guid(), type=kind, contact_id="", bank_account_id=account.account_id,
            date=day, updated=ctx.now, reference=reference, line_amount_types="NoTax",
            currency_code=account.currency_code or org.base_currency, is_reconciled=reconciled,
            sub_total=amount, total=amount,
        )  # fmt: skip
        org.bank_transactions[leg.bank_transaction_id] = leg
        legs.append(leg)
    transfer = BankTransfer(
        transfer_id=new_guid(),
        from_transaction_id=legs[0].bank_transaction_id,
        to_transaction_id=legs[1].bank_transaction_id,
        amount=amount,
        date=day,
        created=ctx.now,
        updated=ctx.now,
        reference=reference,
    )
    org.bank_transfers[transfer.transfer_id] = transfer
    return transfer


def put_bank_transfers(ctx: Ctx) -> Reply:
    elements = ctx.elements("BankTransfers")
    return batch_reply(
        ctx, "BankTransfers", elements, lambda el: transfer_json(ctx.org, _create(ctx, el)), error_flag=None
    )


def _delete(ctx: Ctx, t: BankTransfer | None, el: Json) -> BankTransfer:
    if t is None:
        raise ElementError(f"BankTransferID {el.get('BankTransferID')} could not be found.")  # UNCONFIRMED text
    if el.get("Status") != "DELETED":
        raise ElementError("Only Status DELETED is accepted for bank transfer updates")  # UNCONFIRMED text
    if t.status == "DELETED":
        raise ElementError("This bank transfer has already been deleted")  # UNCONFIRMED text
    t.status, t.updated = "DELETED", ctx.now
    for leg_id in (t.from_transaction_id, t.to_transaction_id):
        leg = ctx.org.bank_transactions[leg_id]
        leg.status, leg.updated = "DELETED", ctx.now
    return t


def delete_bank_transfers(ctx: Ctx, ref: str | None = None) -> Reply:
    """``POST /BankTransfers`` (a batch of ``{BankTransferID, Status: DELETED}``) and
    ``POST /BankTransfers/{BankTransferID}`` (``{Status: DELETED}``)."""
    org = ctx.org
    target = org.bank_transfers.get(ref.lower()) if ref else None
    if ref and target is None:
        raise ApiError(not_found())

    def process(el: Json) -> Json:
        t = target or org.bank_transfers.get(str(el.get("BankTransferID", "")).lower())
        return transfer_json(org, _delete(ctx, t, el))

    return batch_reply(ctx, "BankTransfers", ctx.elements("BankTransfers"), process, error_flag=None)


def list_bank_transfers(ctx: Ctx) -> Reply:
    org = ctx.org
    return list_reply(
        ctx,
        "BankTransfers",
        list(org.bank_transfers.values()),
        lambda t: transfer_json(org, t),
        updated=lambda t: t.updated,
        pageable=False,
    )


def get_bank_transfer(ctx: Ctx, ref: str) -> Reply:
    t = ctx.org.bank_transfers.get(ref.lower())
    if t is None:
        raise ApiError(not_found())
    return Reply(200, envelope(ctx, "BankTransfers", [transfer_json(ctx.org, t)]))
