"""A Clio bill → a Xero invoice: hand-computed figures on realistic bills (docs/mapping-bills.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from clio_xero.billing.mapping import map_bill, xero_totals
from clio_xero.billing.settings import InvoiceNumberPolicy, LineAmountTypes, TrackingSource
from clio_xero.errors import BillPreflightError, BillTotalsMismatchError, PermanentError
from clio_xero_tools.sandbox.openapi import SpecValidator
from tests.unit.billing.factory import D, bundle, chart, independent_total, line, settings

ACTIVITIES: list[dict[str, Any]] = [
    {"id": 11, "type": "TimeEntry", "activity_description": {"id": 1, "name": "Court appearance",
                                                            "xero_service_code": "200"}},
    {"id": 12, "type": "TimeEntry", "activity_description": {"id": 2, "name": "Research"}},
    {"id": 13, "type": "TimeEntry", "flat_rate": True, "activity_description": {"id": 3, "name": "Conveyancing"}},
    {"id": 14, "type": "HardCostEntry", "expense_category": {"id": 3, "name": "Filing fees",
                                                             "entry_type": "hard_cost", "xero_expense_code": "215"}},
    {"id": 15, "type": "ExpenseEntry", "expense_category": {"id": 4, "name": "Courier", "entry_type": "soft_cost"}},
]  # fmt: skip


def realistic_lines() -> list[dict[str, Any]]:
    return [
        line(1, quantity="1.5", price="350.00", activity=11, description="Hearing, Federal Circuit Court"),
        line(2, quantity="0.3", price="300.00", discount="10", activity=12, description="Case law research"),
        line(3, quantity="1", price="1200.00", activity=13, description="Conveyancing, fixed fee"),
        line(4, kind="Expense", quantity="3", price="12.35", activity=14, description="Filing fee"),
        line(5, kind="Expense", quantity="1", price="85.00", taxable=False, activity=15, description="Courier"),
    ]


def realistic(**kwargs: Any) -> Any:
    options: dict[str, Any] = {
        "interest": ["14.27"],
        "discount": {"rate": 50.0, "type": "money", "note": "Loyalty"},
        "activities": ACTIVITIES,
    }
    options.update(kwargs)
    return bundle(realistic_lines(), **options)


VALIDATOR = SpecValidator.for_spec("xero_accounting")


def assert_valid(payload: dict[str, Any]) -> None:
    assert VALIDATOR.validate_schema("Invoice", payload) == []
    assert VALIDATOR.validate_request("PUT", "/api.xro/2.0/Invoices", {"Invoices": [payload]}) == []


def test_realistic_bill_exclusive_hand_computed() -> None:
    # Clio: 577.50 + 89.10 + 1320.00 + 40.76 + 85.00 = 2112.36 in lines, + 14.27 interest = total
    # 2126.63, - 50.00 discount = 2076.63 due. Xero: amounts 525.00, 81.00, 1200.00, 37.05, 85.00, 14.27, -50.00 =
    # 1892.32; tax 52.50 + 8.10 + 120.00 + 3.71 (3.705 half-up) = 184.31; total 2076.63.
    mapped = map_bill(realistic(), settings(expense_category_codes={"Courier": "200"}), chart(), contact_id="c-1")
    assert mapped.clio_total == D("2076.63")
    assert mapped.totals.sub_total == D("1892.32")
    assert mapped.totals.total_tax == D("184.31")
    assert mapped.totals.total == D("2076.63")
    payload = mapped.invoice.to_xero()
    assert_valid(payload)
    assert payload["Type"] == "ACCREC" and payload["Status"] == "AUTHORISED"
    assert payload["Contact"] == {"ContactID": "c-1"}
    assert payload["InvoiceNumber"] == "1042" and payload["Reference"] == "00900-Harbour"
    assert (payload["Date"], payload["DueDate"], payload["CurrencyCode"]) == ("2026-03-31", "2026-04-30", "AUD")
    rows = [
        (li["Description"], li.get("Quantity"), li.get("UnitAmount"), li.get("DiscountRate"), li["AccountCode"],
         li["TaxType"])
        for li in payload["LineItems"]
    ]  # fmt: skip
    assert rows == [
        ("2026-03-02 Hearing, Federal Circuit Court", 1.5, 350.0, None, "200", "OUTPUT"),  # Clio's category code
        ("2026-03-02 Case law research", 0.3, 300.0, 10.0, "210", "OUTPUT"),  # time default
        ("2026-03-02 Conveyancing, fixed fee", 1.0, 1200.0, None, "210", "OUTPUT"),  # flat-fee default
        ("2026-03-02 Filing fee", 3.0, 12.35, None, "215", "OUTPUT"),  # Clio's expense category code
        ("2026-03-02 Courier", 1.0, 85.0, None, "200", "NONE"),  # override per expense category
        ("2026-04-15 Interest on overdue balance", 1.0, 14.27, None, "220", "NONE"),
        ("Discount: Loyalty", 1.0, -50.0, None, "210", "NONE"),
    ]


def test_inclusive_keeps_clio_total_and_folds_unfit_rates() -> None:
    mapped = map_bill(
        realistic(),
        settings(line_amount_types=LineAmountTypes.INCLUSIVE, expense_category_codes={"Courier": "200"}),
        chart(),
        contact_id="c-1",
    )
    lines = mapped.invoice.LineItems
    assert (lines[0].Quantity, lines[0].UnitAmount) == (D("1.5"), D("385.00"))  # 350 + 10% GST
    assert (lines[1].Quantity, lines[1].UnitAmount, lines[1].DiscountRate) == (D("0.3"), D("330.00"), D(10))
    # 12.35 + GST = 13.585: no 2 dp unit gives 40.76 for 3, so one unit of the amount, detail kept.
    assert (lines[3].Quantity, lines[3].UnitAmount) == (D(1), D("40.76"))
    assert lines[3].Description.endswith("(3 x 12.35)")
    # Inclusive tax per line: 577.50/11 = 52.50, 89.10/11 = 8.10, 1320/11 = 120, 40.76/11 = 3.705 -> 3.71
    assert mapped.totals.total == D("2076.63") and mapped.totals.total_tax == D("184.31")
    assert mapped.invoice.LineAmountTypes == "Inclusive"
    assert_valid(mapped.invoice.to_xero())


def test_no_tax_bill_as_no_tax_invoice() -> None:
    lines = [line(1, quantity="2", price="250.00", taxable=False), line(2, quantity="0.5", price="300", taxable=False)]
    mapped = map_bill(bundle(lines), settings(line_amount_types=LineAmountTypes.NO_TAX), chart(), contact_id="c")
    assert mapped.totals.total == D("650.00") and mapped.totals.total_tax == 0
    assert_valid(mapped.invoice.to_xero())


def test_taxed_bill_with_no_tax_setting_is_parked_with_both_figures() -> None:
    with pytest.raises(BillTotalsMismatchError) as caught:
        map_bill(realistic(), settings(line_amount_types=LineAmountTypes.NO_TAX), chart(), contact_id="c")
    error = caught.value
    assert (error.clio_total, error.xero_total, error.currency) == (D("2076.63"), D("1892.32"), "AUD")
    assert "AUD 1892.32" in error.message
    assert "comes to AUD 2076.63 (its total 2126.63 less the 50.00 discount)" in error.message
    assert "line_amount_types is NoTax" in error.message


def test_pre_tax_bill_discount_carries_the_tax_class() -> None:
    # 600 + 250 = 850, 10% discount before tax = 85; Clio's tax 765 x 10% = 76.50 (lines: 60 + 25);
    # total 850 + 76.50 = 926.50, less the discount 841.50.
    lines = [line(1, quantity="2", price="300.00"), line(2, quantity="1", price="250.00")]
    b = bundle(lines, discount={"rate": 10.0, "type": "percentage"}, total=D("926.50"), total_tax=D("76.50"))
    mapped = map_bill(b, settings(), chart(), contact_id="c")
    discount = mapped.invoice.LineItems[-1]
    assert (discount.Description, discount.UnitAmount, discount.TaxType) == ("Discount 10%", D("-85.00"), "OUTPUT")
    assert mapped.totals.total_tax == D("76.50") and mapped.totals.total == D("841.50")


def test_no_charge_line_is_shown_at_zero() -> None:
    lines = [line(1, quantity="1", price="300"), line(2, quantity="0.2", price="300", line_type="NoChargeLineItem")]
    mapped = map_bill(bundle(lines), settings(), chart(), contact_id="c")
    free = mapped.invoice.LineItems[1]
    assert free.DiscountRate == 100 and free.Description.endswith("(no charge)")
    assert mapped.totals.total == D("330.00")


def test_clio_rounding_a_half_cent_down_is_parked_not_sent() -> None:
    # 3 x 12.35 = 37.05; 10% = 3.705. Clio charged 3.70 (rounded half to even); Xero rounds half
    # away from zero to 3.71: the invoice would be a cent over, so the bill is parked.
    b = bundle([line(1, kind="Expense", quantity="3", price="12.35", tax="3.70")])
    with pytest.raises(BillTotalsMismatchError) as caught:
        map_bill(b, settings(), chart(), contact_id="c")
    assert (caught.value.clio_total, caught.value.xero_total) == (D("40.75"), D("40.76"))
    assert "round each line's tax to the cent" in caught.value.message


def test_collapsed_lines_round_tax_once_and_may_park() -> None:
    # Three 1.05 expenses: Clio taxes each 0.105 -> 0.11 (0.33). Collapsed (sync_expenses off) Xero
    # taxes 3.15 once: 0.315 -> 0.32. The switch would change the money, so the bill is parked.
    lines = [line(i, kind="Expense", quantity="1", price="1.05") for i in (1, 2, 3)]
    with pytest.raises(BillTotalsMismatchError):
        map_bill(bundle(lines), settings(sync_expenses=False), chart(), contact_id="c")
    assert map_bill(bundle(lines), settings(), chart(), contact_id="c").totals.total == D("3.48")


def test_switches_off_collapse_detail_not_money() -> None:
    mapped = map_bill(
        realistic(),
        settings(sync_time_entries=False, sync_expenses=False, sync_interest=False),
        chart(),
        contact_id="c",
    )
    rows = [(li.Description, li.UnitAmount, li.AccountCode, li.TaxType) for li in mapped.invoice.LineItems]
    assert rows == [
        ("Professional services (2 entries)", D("606.00"), "210", "OUTPUT"),  # default code, no overrides
        ("Flat fees (1 entry)", D("1200.00"), "210", "OUTPUT"),
        ("Expenses and disbursements (1 entry)", D("37.05"), "215", "OUTPUT"),
        ("Expenses and disbursements (1 entry)", D("85.00"), "215", "NONE"),
        ("Interest", D("14.27"), "220", "NONE"),
        ("Discount: Loyalty", D("-50.00"), "210", "NONE"),
    ]
    assert mapped.totals.total == D("2076.63")


def test_tracking_by_practice_area_and_matter() -> None:
    matters = [
        {"id": 900, "display_number": "00900-Harbour", "practice_area": {"id": 1, "name": "Family law"}},
        {"id": 901, "display_number": "00901-Kauri", "practice_area": {"id": 2, "name": "Estates"}},
    ]
    lines = [line(1, quantity="1", price="100", matter=900), line(2, quantity="1", price="200", matter=901)]
    b = bundle(lines, matters=matters, type="ClientBill")
    by_area = map_bill(
        b,
        settings(tracking_source=TrackingSource.PRACTICE_AREA, tracking_category="Practice area"),
        chart(),
        contact_id="c",
    )
    assert [li.Tracking[0].Option for li in by_area.invoice.LineItems] == ["Family law", "Estates"]
    assert by_area.preflight.options_to_create() == [("Practice area", "Estates")]
    assert by_area.invoice.Reference == "00900-Harbour, 00901-Kauri"
    by_matter = map_bill(
        b,
        settings(
            tracking_source=TrackingSource.MATTER,
            tracking_category="Practice area",
            tracking_options={"00900-Harbour": "Area 1", "00901-Kauri": "Area 2"},
        ),
        chart(),
        contact_id="c",
    )
    assert [li.Tracking[0].Option for li in by_matter.invoice.LineItems] == ["Area 1", "Area 2"]
    assert by_matter.preflight.notices == []
    assert_valid(by_matter.invoice.to_xero())


def test_archived_code_is_refused_before_sending_with_the_fix() -> None:
    with pytest.raises(BillPreflightError) as caught:
        map_bill(realistic(), settings(time_account_code="205"), chart(), contact_id="c")
    assert "Account code 205 (time_account_code) is ARCHIVED" in caught.value.message
    assert "TaxType field is mandatory" in caught.value.message  # the words users know it by
    assert len(caught.value.problems) == 1


def test_currency_not_subscribed_is_refused() -> None:
    with pytest.raises(BillPreflightError, match="not subscribed to EUR"):
        map_bill(realistic(currency="EUR"), settings(), chart(), contact_id="c")


def test_invoice_number_policies() -> None:
    b = realistic()
    assert map_bill(b, settings(), chart(), contact_id="c").invoice.InvoiceNumber == "1042"
    prefixed = settings(invoice_number_policy=InvoiceNumberPolicy.PREFIXED, invoice_number_prefix="CL-")
    assert map_bill(b, prefixed, chart(), contact_id="c").invoice.InvoiceNumber == "CL-1042"
    xero = map_bill(b, settings(invoice_number_policy=InvoiceNumberPolicy.XERO_ASSIGNS), chart(), contact_id="c")
    assert xero.invoice.InvoiceNumber is None and xero.invoice.Reference == "Clio bill 1042 / 00900-Harbour"
    assert "InvoiceNumber" not in xero.invoice.to_xero()


def test_pending_approval_goes_as_submitted() -> None:
    mapped = map_bill(realistic(state="awaiting_approval"), settings(), chart(), contact_id="c", status="SUBMITTED")
    assert mapped.invoice.to_xero()["Status"] == "SUBMITTED"


def test_bill_without_total_is_refused() -> None:
    b = realistic()
    broken = b.model_copy(update={"bill": b.bill.model_copy(update={"total": None})})
    with pytest.raises(PermanentError, match="without its total"):
        map_bill(broken, settings(), chart(), contact_id="c")


def test_xero_totals_match_xeros_own_rules() -> None:
    """The same arithmetic as the Xero sandbox's own implementation, on a sample."""
    mapped = map_bill(realistic(), settings(expense_category_codes={"Courier": "200"}), chart(), contact_id="c")
    assert independent_total(mapped.invoice) == xero_totals(mapped.invoice, chart()).total == Decimal("2076.63")


def test_unrepresentable_quantity_or_rate_becomes_one_unit_of_clios_amount() -> None:
    # 0.33333 h (5 dp) and a 4 dp rate: Xero would round them, so one unit of Clio's 100.00.
    odd = line(1, quantity="0.33333", price="300.00")
    rate = line(2, quantity="2", price="12.3456")
    mapped = map_bill(bundle([odd, rate]), settings(), chart(), contact_id="c")
    first, second = mapped.invoice.LineItems
    assert (first.Quantity, first.UnitAmount) == (D(1), D("100.00"))
    assert first.Description.endswith("(0.33333 x 300.00)")
    assert (second.Quantity, second.UnitAmount) == (D(1), D("24.69"))
    assert mapped.totals.total == D("137.16")  # 100.00 + 10.00 + 24.69 + 2.47
