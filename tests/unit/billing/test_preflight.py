"""Preflight over the organisation's chart: every problem listed with its fix (docs/billing.md)."""

from __future__ import annotations

from clio_xero.billing.preflight import TRACKING_OPTION_LIMIT, check_settings
from clio_xero.billing.settings import TrackingSource
from tests.unit.billing.factory import chart, settings


def messages(report: object) -> list[str]:
    return [p.message for p in report.errors]  # type: ignore[attr-defined]


def test_good_settings_pass() -> None:
    report = check_settings(settings(), chart())
    assert report.ok and report.problems == []


def test_every_bad_code_is_listed_with_its_fix() -> None:
    report = check_settings(
        settings(
            time_account_code="205",  # archived
            expense_account_code="999",  # missing
            interest_account_code="090",  # a bank account
            discount_account_code="429",  # an expense account
            activity_category_codes={"Research": "205"},
            expense_category_codes={"Courier": "215"},
            tax_type_primary="INPUT",  # purchases only
            tax_type_secondary="TAX002",  # deleted
            tax_type_primary_and_secondary="GST",  # unknown
        ),
        chart(),
        clio_expense_codes={"Filing fees": "420", "Courier": "999"},  # Courier is overridden below
    )
    found = messages(report)
    assert len(found) == 9
    expected = [
        "Account code 205 (time_account_code) is ARCHIVED in Xero",
        "Account code 999 (expense_account_code) does not exist in Xero's chart of accounts: map "
        "expense_account_code to an existing revenue account, or create account 999 in Xero",
        "Account code 090 (interest_account_code) is a BANK account, not a revenue account",
        "Account code 429 (discount_account_code) is a EXPENSE account, not a revenue account",
        "Account code 205 (activity_category_codes[Research]) is ARCHIVED",
        "Account code 420 (the Xero code on Clio's expense category 'Filing fees') does not exist in Xero's chart "
        "of accounts: correct that code in Clio, override it with expense_category_codes=Filing fees:CODE, or set "
        "use_clio_category_codes=false, or create account 420 in Xero",
        "Tax type INPUT (tax_type_primary, GST on Expenses) cannot be used on revenue accounts",
        "Tax type TAX002 (tax_type_secondary) is DELETED in Xero",
        "Tax type GST (tax_type_primary_and_secondary) does not exist in Xero: map "
        "tax_type_primary_and_secondary to one of INPUT, NONE, OUTPUT, TAX001.",
    ]
    for text in expected:
        assert any(text in m for m in found), (text, found)


def test_clio_category_codes_ignored_when_switched_off() -> None:
    report = check_settings(settings(use_clio_category_codes=False), chart(), clio_expense_codes={"Courier": "420"})
    assert report.ok


def test_tracking_missing_option_will_be_created_until_the_limit() -> None:
    tracked = settings(
        tracking_source=TrackingSource.PRACTICE_AREA,
        tracking_category="Practice area",
        tracking_options={"Wills": "Estates", "Family": "Family law", "Old": "Tax"},
    )
    report = check_settings(tracked, chart())
    assert [p.message for p in report.notices] == [
        "Tracking option 'Estates' will be created in tracking category 'Practice area'."
    ]
    assert messages(report) == [
        "Tracking option 'Tax' in 'Practice area' is ARCHIVED in Xero: restore it in Xero, or map it to another "
        "option with tracking_options."
    ]
    full = check_settings(tracked, chart(options=TRACKING_OPTION_LIMIT - 1))  # + "Family law" = the limit
    assert any("'Estates' cannot be created" in m and "limit is 100" in m for m in messages(full))
    manual = check_settings(tracked.model_copy(update={"create_tracking_options": False}), chart())
    assert any("'Estates' does not exist in 'Practice area'" in m for m in messages(manual))


def test_missing_tracking_category() -> None:
    report = check_settings(settings(tracking_source=TrackingSource.MATTER, tracking_category="Matters"), chart())
    assert messages(report) == [
        "Tracking category 'Matters' (tracking_category) does not exist in Xero: create or restore it "
        "(Accounting > Advanced > Tracking categories), or change tracking_category."
    ]


def test_spend_money_accounts() -> None:
    spend = settings(
        hard_costs_as_spend_money=True, spend_money_bank_account_code="200", spend_money_account_code="429"
    )
    assert messages(check_settings(spend, chart())) == [
        "Account code 200 (spend_money_bank_account_code) is a REVENUE account: map it to a BANK account."
    ]


def test_account_without_default_tax_needs_a_mapping() -> None:
    import pytest

    from clio_xero.billing.mapping import map_bill
    from clio_xero.errors import BillPreflightError
    from tests.unit.billing.factory import bundle, line

    with pytest.raises(BillPreflightError, match="Account code 300 has no default tax type"):
        map_bill(bundle([line(1, quantity="1", price="10")]), settings(time_account_code="300",
                 tax_type_primary=None), chart(), contact_id="c")  # fmt: skip
