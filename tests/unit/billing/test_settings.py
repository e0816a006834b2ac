"""Billing settings are validated like the contact ones: a bad value says what the key accepts."""

from __future__ import annotations

from datetime import date

import pytest

from clio_xero.billing.settings import (
    BillingSettings,
    BillStates,
    InvoiceNumberPolicy,
    apply_assignments,
    describe_billing_fields,
)
from clio_xero.errors import ConfigurationError


def test_defaults_are_safe_and_billing_is_opt_in() -> None:
    s = BillingSettings()
    assert not s.sync_bills and s.bill_states is BillStates.APPROVED_ONLY
    assert s.invoice_number_policy is InvoiceNumberPolicy.CLIO_NUMBER and not s.hard_costs_as_spend_money
    assert not s.sync_payments and not s.sync_credit_notes  # issue 12 turns these on when it exists


def test_assignments_parse_every_kind_of_key() -> None:
    s = apply_assignments(
        BillingSettings(),
        {
            "sync_bills": "true",
            "bills_issued_from": "2026-01-01",
            "activity_category_codes": "Research:210, Court appearance:200",
            "expense_category_codes": '{"Filing fees": "215"}',
            "bill_states": "every_non_draft",
            "tax_type_primary": "OUTPUT",
            "tax_type_untaxed": "",
        },
    )
    assert s.sync_bills and s.bills_issued_from == date(2026, 1, 1)
    assert s.activity_category_codes == {"Research": "210", "Court appearance": "200"}
    assert s.expense_category_codes == {"Filing fees": "215"} and s.tax_type_untaxed is None


def test_bad_values_name_the_key_and_what_it_accepts() -> None:
    with pytest.raises(ConfigurationError) as caught:
        apply_assignments(
            BillingSettings(),
            {"bill_states": "all", "time_account_code": "12345678901", "tax_type_primary": "output"},
        )
    text = caught.value.message
    assert "bill_states='all'" in text and "(accepts approved_only | every_non_draft)" in text
    assert "time_account_code='12345678901'" in text and "(accepts text of 1..10 characters)" in text
    assert "tax_type_primary='output'" in text and "upper-case Xero tax type" in text


def test_unknown_key_lists_the_settings() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown billing setting\(s\) sync_bill;.*sync_bills \(true"):
        apply_assignments(BillingSettings(), {"sync_bill": "true"})


@pytest.mark.parametrize(
    ("updates", "needs"),
    [
        ({"invoice_number_policy": "prefixed"}, "needs invoice_number_prefix"),
        ({"hard_costs_as_spend_money": "true"}, "needs spend_money_bank_account_code"),
        ({"tracking_source": "practice_area"}, "needs tracking_category"),
        ({"activity_category_codes": "Research"}, "'Research' is not NAME:VALUE"),
    ],
)
def test_settings_that_need_each_other(updates: dict[str, str], needs: str) -> None:
    with pytest.raises(ConfigurationError, match=needs):
        apply_assignments(BillingSettings(), updates)


def test_every_key_is_described_and_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[3] / "docs" / "billing.md").read_text(encoding="utf-8")
    for key in describe_billing_fields():
        assert f"`{key}`" in doc, key
