"""Preflight: every mapped account code, tax type, tracking option and currency checked against
the Xero organisation before anything is sent (docs/billing.md "Preflight").

Pure over an :class:`~clio_xero.billing.xero_models.OrgChart` as read from Xero. Two entry points:

* :func:`check_settings`: everything the settings map, for ``clio-xero billing check``;
* :func:`check_invoice`: what one invoice needs, just before it is sent; :func:`require_clean`
  turns its errors into :class:`~clio_xero.errors.BillPreflightError`, so a bill that needs a bad
  code is parked with the fix instead of coming back as "TaxType field is mandatory".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict

from clio_xero.billing.settings import BillingSettings, TaxClass, TrackingSource
from clio_xero.billing.xero_models import REVENUE_TYPES, OrgChart, XeroInvoice
from clio_xero.errors import BillPreflightError

__all__ = [
    "TRACKING_OPTION_LIMIT",
    "PreflightReport",
    "Problem",
    "check_invoice",
    "check_settings",
    "require_clean",
]

# Xero's limit on active options per tracking category (UNCONFIRMED; docs/billing.md "Tracking").
TRACKING_OPTION_LIMIT = 100
CHART_PATH = "Accounting > Chart of accounts"


class Problem(BaseModel):
    """One finding; ``message`` ends with what to do about it."""

    model_config = ConfigDict(frozen=True)

    severity: Literal["error", "notice"]
    setting: str | None  # the settings key that maps it, when one does
    message: str
    creates: tuple[str, str] | None = None  # (tracking category, option) this notice announces


class PreflightReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def notices(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "notice"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def options_to_create(self) -> list[tuple[str, str]]:
        """(category, option) pairs the plug-in creates before sending the invoice."""
        return [p.creates for p in self.notices if p.creates is not None]


# ------------------------------------------------------------------------------ single checks


def clio_code_label(kind: str, category: str) -> str:
    """How a code set on a Clio category is named in findings (``kind``: activity / expense)."""
    return f"the Xero code on Clio's {kind} category {category!r}"


def _remap(setting: str, code: str, *, revenue: bool) -> str:
    """The fix for a bad code: which key to change (or, for Clio's own codes, where to change it)."""
    if setting.startswith("the Xero code on Clio's "):
        kind = "expense" if " expense category " in setting else "activity"
        category = _category_in_label(setting)
        return (
            f"correct that code in Clio, override it with {kind}_category_codes={category}:CODE, "
            "or set use_clio_category_codes=false"
        )
    return f"map {setting} to an existing {'revenue ' if revenue else ''}account"


def _category_in_label(setting: str) -> str:
    """The category name inside :func:`clio_code_label` (its last quoted part)."""
    quote = setting[-1]
    return setting[setting.rindex(quote, 0, len(setting) - 1) + 1 : -1] if quote in "'\"" else setting


def _account_problems(chart: OrgChart, code: str, setting: str, *, revenue: bool = True) -> list[Problem]:
    account = chart.account(code)
    where = f"Account code {code} ({setting})"
    if account is None:
        return [
            Problem(
                severity="error",
                setting=setting,
                message=(
                    f"{where} does not exist in Xero's chart of accounts: {_remap(setting, code, revenue=revenue)}, "
                    f"or create account {code} in Xero ({CHART_PATH})."
                ),
            )
        ]
    problems = []
    if (account.Status or "ACTIVE") != "ACTIVE":
        problems.append(
            Problem(
                severity="error",
                setting=setting,
                message=(
                    f"{where} is {account.Status} in Xero (Clio's integration reports this as \"TaxType field is "
                    f'mandatory"): restore it in Xero ({CHART_PATH}) or map {setting} to an active account.'
                ),
            )
        )
    is_revenue = (account.Type or "") in REVENUE_TYPES or account.Class == "REVENUE"
    if revenue and not is_revenue:
        problems.append(
            Problem(
                severity="error",
                setting=setting,
                message=(
                    f"{where} is a {account.Type} account, not a revenue account: invoice lines book income, so map "
                    f"{setting} to an account of type REVENUE, SALES or OTHERINCOME."
                ),
            )
        )
    return problems


def _tax_problems(chart: OrgChart, tax_type: str, setting: str) -> list[Problem]:
    rate = chart.tax_rate(tax_type)
    if rate is None:
        known = ", ".join(sorted(t.TaxType for t in chart.tax_rates if t.Status in (None, "ACTIVE")))
        return [
            Problem(
                severity="error",
                setting=setting,
                message=f"Tax type {tax_type} ({setting}) does not exist in Xero: map {setting} to one of {known}.",
            )
        ]
    if (rate.Status or "ACTIVE") != "ACTIVE":
        return [
            Problem(
                severity="error",
                setting=setting,
                message=(
                    f"Tax type {tax_type} ({setting}) is {rate.Status} in Xero: map {setting} to an active tax rate "
                    "(Settings > Tax rates in Xero)."
                ),
            )
        ]
    if rate.CanApplyToRevenue is False:
        return [
            Problem(
                severity="error",
                setting=setting,
                message=(
                    f"Tax type {tax_type} ({setting}, {rate.Name}) cannot be used on revenue accounts in Xero: map "
                    f"{setting} to a tax rate for sales."
                ),
            )
        ]
    return []


def _line_tax_problem(chart: OrgChart, code: str, tax_type: str | None, setting: str) -> list[Problem]:
    """A line without a TaxType takes its account's default; without one Xero refuses the line."""
    if tax_type is not None:
        return []
    account = chart.account(code)
    if account is not None and not account.TaxType:
        return [
            Problem(
                severity="error",
                setting=setting,
                message=(
                    f"Account code {code} has no default tax type in Xero and no tax type is mapped for this line: "
                    "set the tax_type_* setting for the line's Clio tax (e.g. tax_type_untaxed=NONE), or give the "
                    "account a default tax type in Xero."
                ),
            )
        ]
    return []


def _tracking_problems(
    chart: OrgChart, category_name: str, options: Iterable[str], *, create: bool, setting: str = "tracking_category"
) -> list[Problem]:
    category = chart.tracking_category(category_name)
    if category is None or (category.Status or "ACTIVE") != "ACTIVE":
        state = "does not exist" if category is None else f"is {category.Status}"
        return [
            Problem(
                severity="error",
                setting=setting,
                message=(
                    f"Tracking category {category_name!r} ({setting}) {state} in Xero: create or restore it "
                    f"(Accounting > Advanced > Tracking categories), or change {setting}."
                ),
            )
        ]
    problems: list[Problem] = []
    active = [o for o in category.Options if (o.Status or "ACTIVE") == "ACTIVE"]
    by_name = {o.Name.strip().casefold(): o for o in category.Options}
    room = TRACKING_OPTION_LIMIT - len(active)
    for option in dict.fromkeys(options):
        found = by_name.get(option.strip().casefold())
        if found is not None and (found.Status or "ACTIVE") == "ACTIVE":
            continue
        if found is not None:
            problems.append(
                Problem(
                    severity="error",
                    setting="tracking_options",
                    message=(
                        f"Tracking option {option!r} in {category.Name!r} is {found.Status} in Xero: restore it in "
                        "Xero, or map it to another option with tracking_options."
                    ),
                )
            )
        elif not create:
            problems.append(
                Problem(
                    severity="error",
                    setting="tracking_options",
                    message=(
                        f"Tracking option {option!r} does not exist in {category.Name!r}: add it in Xero, map it with "
                        "tracking_options, or set create_tracking_options=true."
                    ),
                )
            )
        elif room <= 0:
            problems.append(
                Problem(
                    severity="error",
                    setting="tracking_options",
                    message=(
                        f"Tracking option {option!r} cannot be created: {category.Name!r} already has "
                        f"{len(active)} active options, Xero's limit is {TRACKING_OPTION_LIMIT}. Archive an unused "
                        "option in Xero, or map this one to an existing option with tracking_options."
                    ),
                )
            )
        else:
            room -= 1
            problems.append(
                Problem(
                    severity="notice",
                    setting="tracking_options",
                    message=f"Tracking option {option!r} will be created in tracking category {category.Name!r}.",
                    creates=(category.Name, option),
                )
            )
    return problems


def _currency_problem(chart: OrgChart, currency: str) -> list[Problem]:
    if chart.subscribed(currency):
        return []
    return [
        Problem(
            severity="error",
            setting=None,
            message=(
                f"The bill is in {currency} but the Xero organisation is not subscribed to {currency}: add {currency} "
                "in Xero (Settings > Currencies; a plan with multi-currency is needed), then `clio-xero retry`."
            ),
        )
    ]


def _dedupe(problems: Iterable[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


# ------------------------------------------------------------------------------ entry points


def check_settings(
    settings: BillingSettings,
    chart: OrgChart,
    *,
    clio_activity_codes: Mapping[str, str] | None = None,
    clio_expense_codes: Mapping[str, str] | None = None,
) -> PreflightReport:
    """Every code, tax type and tracking category the settings map (``billing check``).

    ``clio_activity_codes`` / ``clio_expense_codes`` (category name → code) are the codes set on
    Clio's own categories (xero_service_code / xero_expense_code), checked when
    use_clio_category_codes is on and no override replaces them."""
    problems = _code_problems(settings, chart, clio_activity_codes or {}, clio_expense_codes or {})
    for tax_class in TaxClass:
        tax_type = settings.tax_type_for(tax_class)
        if tax_type is not None:
            problems += _tax_problems(chart, tax_type, f"tax_type_{tax_class.value}")
    if settings.tracking_source is not TrackingSource.NONE and settings.tracking_category:
        options = settings.tracking_options.values()
        problems += _tracking_problems(
            chart, settings.tracking_category, options, create=settings.create_tracking_options
        )
    if settings.hard_costs_as_spend_money:
        if settings.spend_money_bank_account_code:
            problems += _bank_problems(chart, settings.spend_money_bank_account_code)
        if settings.spend_money_account_code:
            spend = settings.spend_money_account_code
            problems += _account_problems(chart, spend, "spend_money_account_code", revenue=False)
    return PreflightReport(problems=_dedupe(problems))


def _code_problems(
    settings: BillingSettings, chart: OrgChart, clio_activity: Mapping[str, str], clio_expense: Mapping[str, str]
) -> list[Problem]:
    problems: list[Problem] = []
    for key in _DEFAULT_KEYS:
        problems += _account_problems(chart, getattr(settings, key), key)
    for name, code in settings.activity_category_codes.items():
        problems += _account_problems(chart, code, f"activity_category_codes[{name}]")
    for name, code in settings.expense_category_codes.items():
        problems += _account_problems(chart, code, f"expense_category_codes[{name}]")
    if not settings.use_clio_category_codes:
        return problems
    for kind, codes, overrides in (
        ("activity", clio_activity, settings.activity_category_codes),
        ("expense", clio_expense, settings.expense_category_codes),
    ):
        for name, code in codes.items():
            if name not in overrides and code.strip():
                problems += _account_problems(chart, code.strip(), clio_code_label(kind, name))
    return problems


_DEFAULT_KEYS = (
    "time_account_code",
    "expense_account_code",
    "flat_fee_account_code",
    "interest_account_code",
    "discount_account_code",
)


def _bank_problems(chart: OrgChart, code: str) -> list[Problem]:
    setting = "spend_money_bank_account_code"
    problems = _account_problems(chart, code, setting, revenue=False)
    account = chart.account(code)
    if account is not None and account.Type != "BANK":
        problems.append(
            Problem(
                severity="error",
                setting=setting,
                message=f"Account code {code} ({setting}) is a {account.Type} account: map it to a BANK account.",
            )
        )
    return problems


def check_invoice(
    invoice: XeroInvoice,
    settings: BillingSettings,
    chart: OrgChart,
    *,
    line_settings: Mapping[int, str] | None = None,
) -> PreflightReport:
    """What this invoice needs from the organisation. ``line_settings`` names, per line index, the
    settings key its account code came from (so each problem names the key to change)."""
    problems: list[Problem] = []
    tracking: dict[str, list[str]] = {}
    for index, line in enumerate(invoice.LineItems):
        setting = (line_settings or {}).get(index, "account code")
        if line.AccountCode:
            problems += _account_problems(chart, line.AccountCode, setting)
            problems += _line_tax_problem(chart, line.AccountCode, line.TaxType, setting)
        if line.TaxType:
            problems += _tax_problems(chart, line.TaxType, _tax_setting(settings, line.TaxType))
        for t in line.Tracking:
            tracking.setdefault(t.Name, []).append(t.Option)
    for category, options in tracking.items():
        problems += _tracking_problems(chart, category, options, create=settings.create_tracking_options)
    if invoice.CurrencyCode:
        problems += _currency_problem(chart, invoice.CurrencyCode)
    return PreflightReport(problems=_dedupe(problems))


def _tax_setting(settings: BillingSettings, tax_type: str) -> str:
    for tax_class in TaxClass:
        if settings.tax_type_for(tax_class) == tax_type:
            return f"tax_type_{tax_class.value}"
    return "tax type"


def require_clean(report: PreflightReport, *, bill_label: str) -> None:
    """Raise :class:`BillPreflightError` listing every error (with its fix) when there is one."""
    if report.ok:
        return
    sentences = [p.message for p in report.errors]
    text = " ".join(sentences)
    if "`clio-xero retry`" not in text:
        text += " Then `clio-xero retry`."
    raise BillPreflightError(f"{bill_label} was not sent to Xero: {text}", problems=sentences)
