"""Reference data: ``/Accounts``, ``/TaxRates``, ``/Currencies``, ``/Organisation``, ``/Items``,
plus ``/BankTransactions`` (the trust/operating bank movements the sync may read).

Accounts and TaxRates take one element per write (docs/facts-xero.md#batching); Accounts have no paging.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clio_xero_tools.sandbox.xero.chart import CURRENCY_NAMES
from clio_xero_tools.sandbox.xero.common import (
    ApiError,
    Ctx,
    ElementError,
    Reply,
    batch_reply,
    envelope,
    ids_arg,
    list_reply,
    not_found,
    obj,
    optional_date,
    simple_validation_error,
    text,
    validation_exception,
)
from clio_xero_tools.sandbox.xero.contacts import resolve_contact_ref
from clio_xero_tools.sandbox.xero.documents import _build_line, line_json
from clio_xero_tools.sandbox.xero.formats import is_guid, money, ms_date, ms_datetime, new_guid, to_decimal
from clio_xero_tools.sandbox.xero.rules import document_totals
from clio_xero_tools.sandbox.xero.store import Account, BankTransaction, Currency, Item

if TYPE_CHECKING:
    from clio_xero_tools.sandbox.xero.store import LineItem, Org, TaxRate

__all__ = [
    "account_json",
    "apply_bank_transaction",
    "bank_transaction_json",
    "get_account",
    "get_bank_transaction",
    "get_item",
    "get_organisation",
    "list_accounts",
    "list_bank_transactions",
    "list_currencies",
    "list_items",
    "list_tax_rates",
    "put_account",
    "put_currency",
    "update_account",
    "write_bank_transactions",
    "write_items",
]

Json = dict[str, Any]
ACCOUNT_TYPES = {
    "BANK", "CURRENT", "CURRLIAB", "DEPRECIATN", "DIRECTCOSTS", "EQUITY", "EXPENSE", "FIXED", "INVENTORY",
    "LIABILITY", "NONCURRENT", "OTHERINCOME", "OVERHEADS", "PREPAYMENT", "REVENUE", "SALES", "TERMLIAB", "PAYG",
}  # fmt: skip


# ---------------------------------------------------------------------------- Accounts


def account_json(a: Account) -> Json:
    out: Json = {"AccountID": a.account_id}
    if a.code is not None:
        out["Code"] = a.code
    out["Name"] = a.name
    out["Status"] = a.status
    out["Type"] = a.type
    if a.tax_type:
        out["TaxType"] = a.tax_type
    if a.description:
        out["Description"] = a.description
    out["Class"] = a.account_class
    out["SystemAccount"] = a.system_account or ""
    out["EnablePaymentsToAccount"] = a.enable_payments
    out["ShowInExpenseClaims"] = False
    out["BankAccountType"] = a.bank_account_type or ""
    if a.bank_account_number:
        out["BankAccountNumber"] = a.bank_account_number
    if a.currency_code:
        out["CurrencyCode"] = a.currency_code
    out["ReportingCode"] = a.account_class[:3]
    out["HasAttachments"] = False
    out["UpdatedDateUTC"] = ms_datetime(a.updated)
    out["AddToWatchlist"] = False
    return out


def list_accounts(ctx: Ctx) -> Reply:
    return list_reply(
        ctx, "Accounts", list(ctx.org.accounts.values()), account_json, updated=lambda a: a.updated, pageable=False
    )


def get_account(ctx: Ctx, account_id: str) -> Reply:
    a = ctx.org.accounts.get(account_id.lower())
    if a is None:
        raise ApiError(not_found())
    return Reply(200, envelope(ctx, "Accounts", [account_json(a)]))


def _one(ctx: Ctx, key: str) -> Json:
    data = ctx.json_body()
    items = data.get(key)
    if items is None:
        return data
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
        # Accounts and TaxRates accept one element per request (docs/facts-xero.md#batching).
        raise ApiError(simple_validation_error(f"Only one {key[:-1]} can be created or updated per request"))
    return items[0]


def _account_fields(org: Org, el: Json, existing: Account | None) -> list[str]:
    errors = []
    code = el.get("Code")
    if code is not None and (not isinstance(code, str) or len(code) > 10):
        errors.append("Code must be at most 10 characters")
    elif code and any(
        a.code and a.code.casefold() == code.casefold() and a is not existing for a in org.accounts.values()
    ):
        errors.append("Please enter a unique Code.")
    name = el.get("Name")
    if name is not None and (not isinstance(name, str) or len(name) > 150 or not name.strip()):
        errors.append("Name must be between 1 and 150 characters")
    elif name and any(a.name.casefold() == name.casefold() and a is not existing for a in org.accounts.values()):
        errors.append("Please enter a unique Name.")
    if el.get("Type") is not None and el["Type"] not in ACCOUNT_TYPES:
        errors.append(f"Account Type '{el['Type']}' is not valid")
    if el.get("TaxType") and el["TaxType"] not in org.tax_rates:
        errors.append(
            f"The TaxType code {el['TaxType']} does not exist or cannot be used for this type of transaction."
        )
    if el.get("Status") is not None and el["Status"] not in ("ACTIVE", "ARCHIVED"):
        errors.append("Status must be ACTIVE or ARCHIVED")
    return errors


def _set_account(a: Account, el: Json) -> None:
    for key, attr in (("Code", "code"), ("Name", "name"), ("Type", "type"), ("TaxType", "tax_type"),
                      ("Description", "description"), ("Status", "status"),
                      ("EnablePaymentsToAccount", "enable_payments"), ("BankAccountNumber", "bank_account_number"),
                      ("BankAccountType", "bank_account_type"), ("CurrencyCode", "currency_code")):  # fmt: skip
        if key in el:
            setattr(a, attr, el[key])


def put_account(ctx: Ctx) -> Reply:
    org = ctx.org
    el = _one(ctx, "Accounts")
    errors = _account_fields(org, el, None)
    if not el.get("Name") or not el.get("Type"):
        errors.append("Name and Type are required")
    if el.get("Type") == "BANK" and not el.get("BankAccountNumber"):
        errors.append("Bank account number is required for bank accounts")
    if errors:
        raise ApiError(validation_exception([{**el, "ValidationErrors": [{"Message": m} for m in errors]}]))
    a = Account(account_id=new_guid(), code=None, name="", type="EXPENSE", updated=ctx.now)
    _set_account(a, el)
    if a.type == "BANK":
        a.bank_account_type = a.bank_account_type or "BANK"
        a.currency_code = a.currency_code or org.base_currency
    org.accounts[a.account_id] = a
    return Reply(200, envelope(ctx, "Accounts", [account_json(a)]))


def update_account(ctx: Ctx, account_id: str) -> Reply:
    org = ctx.org
    a = org.accounts.get(account_id.lower())
    if a is None:
        raise ApiError(not_found())
    el = _one(ctx, "Accounts")
    errors = _account_fields(org, el, a)
    if a.system_account and el.get("Status") == "ARCHIVED":
        errors.append("System accounts cannot be archived")
    if errors:
        raise ApiError(validation_exception([{**el, "ValidationErrors": [{"Message": m} for m in errors]}]))
    _set_account(a, el)
    a.updated = ctx.now
    return Reply(200, envelope(ctx, "Accounts", [account_json(a)]))


# ---------------------------------------------------------------------------- TaxRates, Currencies, Organisation


def tax_rate_json(t: TaxRate) -> Json:
    return {
        "Name": t.name,
        "TaxType": t.tax_type,
        "ReportTaxType": t.report_tax_type or "NONE",
        "CanApplyToAssets": t.can_apply_to_assets,
        "CanApplyToEquity": t.can_apply_to_equity,
        "CanApplyToExpenses": t.can_apply_to_expenses,
        "CanApplyToLiabilities": t.can_apply_to_liabilities,
        "CanApplyToRevenue": t.can_apply_to_revenue,
        "DisplayTaxRate": float(t.rate),
        "EffectiveRate": float(t.rate),
        "Status": t.status,
        "TaxComponents": [
            {"Name": t.name.split(" (")[0], "Rate": float(t.rate), "IsCompound": False, "IsNonRecoverable": False}
        ],
    }


def list_tax_rates(ctx: Ctx) -> Reply:
    wanted = ctx.arg("TaxType")
    rates = [t for t in ctx.org.tax_rates.values() if wanted is None or t.tax_type == wanted]
    return list_reply(ctx, "TaxRates", rates, tax_rate_json, pageable=False)


def list_currencies(ctx: Ctx) -> Reply:
    return list_reply(
        ctx,
        "Currencies",
        list(ctx.org.currencies.values()),
        lambda c: {"Code": c.code, "Description": c.description},
        pageable=False,
    )


def put_currency(ctx: Ctx) -> Reply:
    el = _one(ctx, "Currencies")
    code = str(el.get("Code") or "")
    if len(code) != 3 or not code.isalpha():
        raise ApiError(simple_validation_error("Code must be a 3 letter ISO currency code"))
    cur = ctx.org.currencies.setdefault(code, Currency(code, CURRENCY_NAMES.get(code, code)))
    return Reply(200, envelope(ctx, "Currencies", [{"Code": cur.code, "Description": cur.description}]))


def get_organisation(ctx: Ctx) -> Reply:
    org = ctx.org
    body = {
        "OrganisationID": org.organisation_id,
        "APIKey": org.short_code.strip("!").upper(),
        "Name": org.name,
        "LegalName": org.name,
        "PaysTax": True,
        "Version": org.country if org.country in ("AU", "NZ", "UK", "US") else "GLOBAL",
        "OrganisationType": "COMPANY",
        "BaseCurrency": org.base_currency,
        "CountryCode": "GB" if org.country == "UK" else org.country,
        "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE",
        "FinancialYearEndDay": 30,
        "FinancialYearEndMonth": 6,
        "SalesTaxBasis": "ACCRUALS" if org.country in ("AU", "NZ") else "ACCRUAL" if org.country == "UK" else "NONE",
        "SalesTaxPeriod": "QUARTERLY",
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Exclusive",
        "CreatedDateUTC": ms_datetime(org.created),
        "OrganisationEntityType": "COMPANY",
        "Timezone": org.timezone,
        "ShortCode": org.short_code,
        "Edition": "BUSINESS",
        "Class": "STANDARD",
        "LineOfBusiness": "Legal services",
        "Addresses": [],
        "Phones": [],
        "ExternalLinks": [],
        "PaymentTerms": {},
    }
    return Reply(200, envelope(ctx, "Organisations", [body]))


# ---------------------------------------------------------------------------- Items


def item_json(i: Item) -> Json:
    out: Json = {"ItemID": i.item_id, "Code": i.code}
    if i.name is not None:
        out["Name"] = i.name
    if i.description is not None:
        out["Description"] = i.description
    if i.purchase_description is not None:
        out["PurchaseDescription"] = i.purchase_description
    out["UpdatedDateUTC"] = ms_datetime(i.updated)
    out["IsSold"] = i.is_sold
    out["IsPurchased"] = i.is_purchased
    out["IsTrackedAsInventory"] = False
    sales: Json = {}
    if i.sales_unit_price is not None:
        sales["UnitPrice"] = float(i.sales_unit_price)
    if i.sales_account_code:
        sales["AccountCode"] = i.sales_account_code
    if i.sales_tax_type:
        sales["TaxType"] = i.sales_tax_type
    purchase: Json = {}
    if i.purchase_unit_price is not None:
        purchase["UnitPrice"] = float(i.purchase_unit_price)
    if i.purchase_account_code:
        purchase["AccountCode"] = i.purchase_account_code
    if i.purchase_tax_type:
        purchase["TaxType"] = i.purchase_tax_type
    out["SalesDetails"] = sales
    out["PurchaseDetails"] = purchase
    return out


def _item_errors(org: Org, existing: Item | None, code: str, el: Json) -> list[str]:
    errors = []
    if any(i.code.casefold() == code.casefold() and i is not existing for i in org.items.values()):
        errors.append(f"Item code '{code}' already exists")
    for section in ("SalesDetails", "PurchaseDetails"):
        acct = obj(el, section).get("AccountCode")
        if acct:
            account = org.account_by_code(str(acct))
            if account is None or account.status != "ACTIVE":
                errors.append(f"Account code '{acct}' is not a valid code for this document.")
    return errors


def _set_item_details(item: Item, el: Json) -> None:
    for section, prefix in (("SalesDetails", "sales"), ("PurchaseDetails", "purchase")):
        details = obj(el, section)
        if details.get("UnitPrice") is not None:
            setattr(item, f"{prefix}_unit_price", to_decimal(details["UnitPrice"]))
        for key, suffix in (("AccountCode", "account_code"), ("TaxType", "tax_type")):
            if key in details:
                setattr(item, f"{prefix}_{suffix}", details[key])


def _apply_item(ctx: Ctx, existing: Item | None, el: Json) -> Item:
    org = ctx.org
    code = text(el.get("Code"), "Code", 30) if "Code" in el else (existing.code if existing else None)
    if not code:
        raise ElementError("Item code must be specified")
    name = text(el.get("Name"), "Name", 50)
    errors = _item_errors(org, existing, code, el)
    if errors:
        raise ElementError(*errors)
    item = existing or Item(item_id=new_guid(), code=code, updated=ctx.now)
    item.code, item.updated = code, ctx.now
    if name is not None:
        item.name = name
    for key, attr in (("Description", "description"), ("PurchaseDescription", "purchase_description")):
        if key in el:
            setattr(item, attr, text(el[key], key, 4000))
    for key, attr in (("IsSold", "is_sold"), ("IsPurchased", "is_purchased")):
        if key in el:
            setattr(item, attr, bool(el[key]))
    _set_item_details(item, el)
    org.items[item.item_id] = item
    return item


def _find_item(org: Org, ref: str) -> Item | None:
    return org.items.get(ref.lower()) if is_guid(ref) else org.item_by_code(ref)


def write_items(ctx: Ctx, ref: str | None = None) -> Reply:
    org = ctx.org
    target = _find_item(org, ref) if ref else None
    if ref and target is None:
        raise ApiError(not_found())
    elements = ctx.elements("Items")

    def process(el: Json) -> Json:
        existing = target
        if existing is None and el.get("ItemID"):
            existing = org.items.get(str(el["ItemID"]).lower())
            if existing is None:
                raise ElementError(f"Item {el['ItemID']} could not be found")
        return item_json(_apply_item(ctx, existing, el))

    return batch_reply(ctx, "Items", elements, process, error_flag=None)


def list_items(ctx: Ctx) -> Reply:
    return list_reply(
        ctx, "Items", list(ctx.org.items.values()), item_json, updated=lambda i: i.updated, pageable=False
    )


def get_item(ctx: Ctx, ref: str) -> Reply:
    item = _find_item(ctx.org, ref)
    if item is None:
        raise ApiError(not_found())
    return Reply(200, envelope(ctx, "Items", [item_json(item)]))


# ---------------------------------------------------------------------------- BankTransactions

_BT_TYPES = ("RECEIVE", "SPEND")


def bank_transaction_json(org: Org, bt: BankTransaction) -> Json:
    bank = org.accounts.get(bt.bank_account_id)
    contact = org.contacts.get(bt.contact_id)
    out: Json = {
        "BankTransactionID": bt.bank_transaction_id,
        "Type": bt.type,
        "BankAccount": {
            "AccountID": bt.bank_account_id,
            **({"Code": bank.code, "Name": bank.name} if bank and bank.code else {}),
        },
        "IsReconciled": bt.is_reconciled,
        "Date": ms_date(bt.date),
        "Status": bt.status,
        "LineAmountTypes": bt.line_amount_types,
        "LineItems": [line_json(li) for li in bt.lines],
        "SubTotal": money(bt.sub_total),
        "TotalTax": money(bt.total_tax),
        "Total": money(bt.total),
        "UpdatedDateUTC": ms_datetime(bt.updated),
        "CurrencyCode": bt.currency_code,
        "HasAttachments": False,
    }
    if contact is not None:  # transfer legs have no contact
        out["Contact"] = {"ContactID": bt.contact_id, "Name": contact.name}
    if bt.reference is not None:
        out["Reference"] = bt.reference
    return out


def _bank_account(org: Org, el: Json, existing: BankTransaction | None) -> Account | None:
    if "BankAccount" not in el and existing is not None:
        return org.accounts.get(existing.bank_account_id)
    bank = org.account_by_ref(obj(el, "BankAccount"))
    return bank if bank is not None and bank.type == "BANK" and bank.status == "ACTIVE" else None


def _bank_transaction_status(existing: BankTransaction | None, el: Json) -> str:
    """The status after this element: created AUTHORISED; an AUTHORISED one may become DELETED
    (how Xero removes spend/receive money), and nothing leaves DELETED or VOIDED."""
    status = el.get("Status") or (existing.status if existing else "AUTHORISED")
    if existing is None and status != "AUTHORISED":
        raise ElementError("A bank transaction can only be created with status AUTHORISED")  # UNCONFIRMED text
    if existing is not None and existing.type.endswith("-TRANSFER"):
        raise ElementError("This bank transaction is part of a bank transfer and cannot be edited")  # UNCONFIRMED
    if existing is not None and existing.status != "AUTHORISED":
        raise ElementError(f"This bank transaction is {existing.status} and cannot be edited")  # UNCONFIRMED text
    if status not in ("AUTHORISED", "DELETED"):
        raise ElementError("Status must be AUTHORISED or DELETED")
    if existing is not None and existing.is_reconciled and set(el) - {"BankTransactionID", "IsReconciled"}:
        # UNCONFIRMED text; Xero keeps reconciled lines fixed until they are un-reconciled in the app.
        raise ElementError("This bank transaction has been reconciled and cannot be edited")
    return str(status)


def _bank_lines(org: Org, el: Json, existing: BankTransaction | None, bt_type: Any, lat: str) -> list[LineItem]:
    if "LineItems" not in el and existing is not None:
        return existing.lines
    raw_lines = el.get("LineItems") or []
    if not raw_lines:
        raise ElementError("At least one line item is required")
    previous = {li.line_item_id: li for li in (existing.lines if existing else [])}
    lines, errors = [], []
    for raw in raw_lines:
        try:
            lines.append(_build_line(org, "ACCREC" if bt_type == "RECEIVE" else "ACCPAY", lat, raw, previous))
        except ElementError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ElementError(*errors)
    return lines


def apply_bank_transaction(ctx: Ctx, existing: BankTransaction | None, el: Json) -> BankTransaction:
    """Create (``existing`` None) or update one spend/receive-money transaction; raise ElementError."""
    org = ctx.org
    status = _bank_transaction_status(existing, el)
    if existing is not None and status == "DELETED":
        existing.status, existing.updated = "DELETED", ctx.now
        return existing
    errors: list[str] = []
    bt_type = el.get("Type") or (existing.type if existing else None)
    if bt_type not in _BT_TYPES:
        errors.append("Type must be RECEIVE or SPEND")  # the sandbox models plain spend/receive money only
    bank = _bank_account(org, el, existing)
    if bank is None:
        errors.append("BankAccount must be a valid bank account")
    lat = el.get("LineAmountTypes") or (existing.line_amount_types if existing else "Exclusive")
    lines: list[LineItem] = []
    try:
        lines = _bank_lines(org, el, existing, bt_type, lat)
    except ElementError as exc:
        errors.extend(exc.messages)
    if errors:
        raise ElementError(*errors)
    assert bank is not None
    contact_id = (
        resolve_contact_ref(ctx, el.get("Contact")).contact_id
        if "Contact" in el or existing is None
        else existing.contact_id
    )
    bt = existing or BankTransaction(
        bank_transaction_id=new_guid(), type="", contact_id="", bank_account_id="", date=ctx.now.date(), updated=ctx.now
    )
    bt.type, bt.contact_id, bt.bank_account_id, bt.lines = str(bt_type), contact_id, bank.account_id, lines
    bt.date = optional_date(el.get("Date"), "Date") or bt.date
    bt.updated, bt.line_amount_types = ctx.now, lat
    bt.currency_code = bank.currency_code or org.base_currency
    if "Reference" in el:
        bt.reference = text(el.get("Reference"), "Reference")
    if "IsReconciled" in el:
        bt.is_reconciled = bool(el["IsReconciled"])
    bt.sub_total, bt.total_tax, bt.total = document_totals([(li.line_amount, li.tax_amount) for li in lines], lat)
    org.bank_transactions[bt.bank_transaction_id] = bt
    return bt


def write_bank_transactions(ctx: Ctx, ref: str | None = None) -> Reply:
    """PUT/POST ``/BankTransactions`` (a batch; an element with ``BankTransactionID`` updates) and
    POST ``/BankTransactions/{id}`` (``{"Status":"DELETED"}`` deletes)."""
    org = ctx.org
    target = org.bank_transactions.get(ref.lower()) if ref else None
    if ref and target is None:
        raise ApiError(not_found())

    def process(el: Json) -> Json:
        existing = target
        if existing is None and el.get("BankTransactionID"):
            existing = org.bank_transactions.get(str(el["BankTransactionID"]).lower())
            if existing is None:
                raise ElementError(f"BankTransactionID {el['BankTransactionID']} could not be found.")
        return bank_transaction_json(org, apply_bank_transaction(ctx, existing, el))

    return batch_reply(ctx, "BankTransactions", ctx.elements("BankTransactions"), process, error_flag=None)


def list_bank_transactions(ctx: Ctx) -> Reply:
    org = ctx.org
    ids = ids_arg(ctx)
    return list_reply(
        ctx,
        "BankTransactions",
        list(org.bank_transactions.values()),
        lambda bt: bank_transaction_json(org, bt),
        updated=lambda bt: bt.updated,
        prefilter=(lambda bt: bt.bank_transaction_id in ids) if ids is not None else None,
    )


def get_bank_transaction(ctx: Ctx, bt_id: str) -> Reply:
    bt = ctx.org.bank_transactions.get(bt_id.lower())
    if bt is None:
        raise ApiError(not_found())
    return Reply(200, envelope(ctx, "BankTransactions", [bank_transaction_json(ctx.org, bt)]))
