"""What a new Xero organisation starts with: a regional chart of accounts, tax rates, currency.

Modelled on Xero's default charts (AU, NZ, UK, US); codes such as ``090`` (bank) and ``200``
(Sales) are the ones every Xero user recognises. A small law firm flavour is added by the seed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal

from clio_xero_tools.sandbox.xero.formats import new_guid
from clio_xero_tools.sandbox.xero.store import Account, Currency, Org, TaxRate

__all__ = ["CURRENCY_NAMES", "REGIONS", "new_org"]

CURRENCY_NAMES = {
    "AUD": "Australian Dollar",
    "NZD": "New Zealand Dollar",
    "GBP": "Great British Pound",
    "USD": "United States Dollar",
    "EUR": "Euro",
    "CAD": "Canadian Dollar",
}

# region -> (base currency, timezone, [(TaxType, Name, rate, revenue?, expenses?, ReportTaxType)], sales, purchases)
REGIONS: dict[str, tuple[str, str, list[tuple[str, str, str, bool, bool, str]], str, str]] = {
    "AU": (
        "AUD",
        "AUSEASTERNSTANDARDTIME",
        [
            ("OUTPUT", "GST on Income", "10", True, False, "OUTPUT"),
            ("INPUT", "GST on Expenses", "10", False, True, "INPUT"),
            ("EXEMPTOUTPUT", "GST Free Income", "0", True, False, "EXEMPTOUTPUT"),
            ("EXEMPTEXPENSES", "GST Free Expenses", "0", False, True, "EXEMPTEXPENSES"),
            ("BASEXCLUDED", "BAS Excluded", "0", True, True, "BASEXCLUDED"),
            ("INPUTTAXED", "Input Taxed", "0", True, True, "INPUTTAXED"),
            ("NONE", "No GST", "0", True, True, "NONE"),
        ],
        "OUTPUT",
        "INPUT",
    ),
    "NZ": (
        "NZD",
        "NEWZEALANDSTANDARDTIME",
        [
            ("OUTPUT2", "15% GST on Income", "15", True, False, "OUTPUT"),
            ("INPUT2", "15% GST on Expenses", "15", False, True, "INPUT"),
            ("ZERORATED", "Zero Rated", "0", True, True, "NONE"),
            ("NONE", "No GST", "0", True, True, "NONE"),
        ],
        "OUTPUT2",
        "INPUT2",
    ),
    "UK": (
        "GBP",
        "GMTSTANDARDTIME",
        [
            ("OUTPUT2", "20% (VAT on Income)", "20", True, False, "OUTPUT"),
            ("INPUT2", "20% (VAT on Expenses)", "20", False, True, "INPUT"),
            ("RROUTPUT", "5% (VAT on Income)", "5", True, False, "OUTPUT"),
            ("ZERORATEDOUTPUT", "Zero Rated Income", "0", True, False, "OUTPUT"),
            ("EXEMPTOUTPUT", "Exempt Income", "0", True, False, "EXEMPTOUTPUT"),
            ("NONE", "No VAT", "0", True, True, "NONE"),
        ],
        "OUTPUT2",
        "INPUT2",
    ),
    "US": (
        "USD",
        "EASTERNSTANDARDTIME",
        [
            ("TAX001", "Sales Tax (8.875%)", "8.875", True, False, "USSALESTAX"),
            ("OUTPUT", "Tax on Sales", "0", True, False, "OUTPUT"),
            ("INPUT", "Tax on Purchases", "0", False, True, "INPUT"),
            ("NONE", "Tax Exempt", "0", True, True, "NONE"),
        ],
        "TAX001",
        "INPUT",
    ),
}

# (Code, Name, Type, tax role "sales"/"purchases"/"none", extras)
_CHART: list[tuple[str, str, str, str, dict[str, object]]] = [
    (
        "090",
        "Business Bank Account",
        "BANK",
        "none",
        {"bank_account_type": "BANK", "bank_account_number": "062-000 1234 5678"},
    ),
    (
        "091",
        "Business Savings Account",
        "BANK",
        "none",
        {"bank_account_type": "BANK", "bank_account_number": "062-000 8765 4321"},
    ),
    ("200", "Sales", "REVENUE", "sales", {}),
    ("260", "Other Revenue", "REVENUE", "sales", {}),
    ("270", "Interest Income", "REVENUE", "none", {}),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "purchases", {}),
    ("400", "Advertising", "OVERHEADS", "purchases", {}),
    ("404", "Bank Fees", "OVERHEADS", "none", {}),
    ("412", "Consulting & Accounting", "EXPENSE", "purchases", {}),
    ("429", "General Expenses", "EXPENSE", "purchases", {}),
    ("461", "Printing & Stationery", "OVERHEADS", "purchases", {}),
    ("469", "Rent", "OVERHEADS", "purchases", {}),
    ("489", "Telephone & Internet", "OVERHEADS", "purchases", {}),
    ("610", "Accounts Receivable", "CURRENT", "none", {"system_account": "DEBTORS"}),
    ("620", "Prepayments", "CURRENT", "none", {}),
    ("800", "Accounts Payable", "CURRLIAB", "none", {"system_account": "CREDITORS"}),
    ("820", "Sales Tax", "CURRLIAB", "none", {"system_account": "GST"}),
    ("840", "Historical Adjustment", "CURRLIAB", "none", {"system_account": "HISTORICAL"}),
    ("860", "Rounding", "CURRLIAB", "none", {"system_account": "ROUNDING"}),
    ("877", "Tracking Transfers", "CURRLIAB", "none", {"system_account": "TRACKINGTRANSFERS"}),
    ("960", "Retained Earnings", "EQUITY", "none", {"system_account": "RETAINEDEARNINGS"}),
    ("970", "Owner A Funds Introduced", "EQUITY", "none", {}),
]


def _short_code(seed: str) -> str:
    return "!" + hashlib.sha256(seed.encode()).hexdigest()[:5]


def new_org(name: str, country: str, now: datetime, organisation_id: str | None = None) -> Org:
    """A fresh organisation with Xero's default chart, tax rates and base currency for ``country``."""
    if country not in REGIONS:
        raise ValueError(f"unsupported country {country!r}; one of {sorted(REGIONS)}")
    currency, tz, taxes, sales_tax, purchases_tax = REGIONS[country]
    org_id = organisation_id or new_guid()
    org = Org(
        organisation_id=org_id,
        name=name,
        country=country,
        base_currency=currency,
        timezone=tz,
        created=now,
        short_code=_short_code(org_id),
        sales_tax_default=sales_tax,
        purchases_tax_default=purchases_tax,
    )
    for tax_type, tax_name, rate, revenue, expenses, report in taxes:
        org.tax_rates[tax_type] = TaxRate(
            name=tax_name,
            tax_type=tax_type,
            rate=Decimal(rate),
            report_tax_type=report,
            can_apply_to_revenue=revenue,
            can_apply_to_expenses=expenses,
        )
    org.currencies[currency] = Currency(currency, CURRENCY_NAMES.get(currency, currency))
    for code, acct_name, acct_type, role, extra in _CHART:
        tax = {"sales": sales_tax, "purchases": purchases_tax}.get(role, "NONE" if "NONE" in org.tax_rates else None)
        account = Account(
            account_id=new_guid(),
            code=code,
            name=acct_name,
            type=acct_type,
            updated=now,
            tax_type=tax,
            currency_code=currency if acct_type == "BANK" else None,
        )
        for attr, value in extra.items():
            setattr(account, attr, value)
        org.accounts[account.account_id] = account
    return org
