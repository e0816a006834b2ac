"""Property: whatever the switches and tax settings, the invoice total equals the Clio bill total
to the cent, or the bill is refused with both figures (docs/billing.md "Totals and rounding")."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from clio_xero.billing.mapping import map_bill, round2
from clio_xero.billing.settings import LineAmountTypes
from clio_xero.errors import BillTotalsMismatchError
from clio_xero_tools.sandbox.openapi import SpecValidator
from tests.unit.billing.factory import D, bundle, chart, independent_total, line, settings

VALIDATOR = SpecValidator.for_spec("xero_accounting")


@st.composite
def clio_line(draw: st.DrawFn, index: int, rate: str, quirky: bool) -> dict[str, Any]:
    expense = draw(st.booleans())
    quantity = str(draw(st.integers(1, 5))) if expense else str(D(draw(st.integers(1, 80))) / 10)
    price = str(D(draw(st.integers(1, 60000))) / 100)
    taxable = draw(st.booleans())
    discount = draw(st.sampled_from([None, None, "5", "10", "12.5", "33"]))
    made = line(index, kind="Expense" if expense else "Service", quantity=quantity, price=price, taxable=taxable,
                rate=rate, discount=discount)  # fmt: skip
    if quirky and taxable:
        # Clio rounding half to even (or a hand-edited tax): Xero rounds half away from zero.
        net = D(str(made["total"])) - D(str(made["tax"]))
        tax = (net * D(rate) / 100).quantize(D("0.01"), rounding=ROUND_HALF_EVEN)
        made.update(tax=float(tax), total=float(net + tax))
    return made


@st.composite
def bills(draw: st.DrawFn, *, quirky: bool | None = None) -> tuple[Any, str]:
    tax_type, rate = draw(st.sampled_from([("OUTPUT", "10"), ("TAX001", "15.5")]))
    rounding_quirk = draw(st.booleans()) if quirky is None else quirky
    lines = [draw(clio_line(i + 1, rate, rounding_quirk)) for i in range(draw(st.integers(1, 8)))]
    interest = [str(D(c) / 100) for c in draw(st.lists(st.integers(1, 5000), max_size=2))]
    discount = draw(
        st.one_of(
            st.none(),
            st.builds(lambda c: {"rate": float(D(c) / 100), "type": "money"}, st.integers(1, 5000)),
            st.builds(lambda r: {"rate": r, "type": "percentage"}, st.sampled_from([2.5, 5.0, 10.0])),
        )
    )
    return bundle(lines, interest=interest, discount=discount), tax_type


SWITCHES = st.fixed_dictionaries(
    {
        "sync_time_entries": st.booleans(),
        "sync_expenses": st.booleans(),
        "sync_interest": st.booleans(),
        "line_amount_types": st.sampled_from(list(LineAmountTypes)),
    }
)


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=bills(), switches=SWITCHES)
def test_invoice_total_equals_bill_total_or_bill_is_refused(drawn: tuple[Any, str], switches: dict[str, Any]) -> None:
    bill, tax_type = drawn
    clio_total = round2(bill.bill.due)  # what Clio says is owed: total less the bill discount
    error: BillTotalsMismatchError | None = None
    try:
        mapped = map_bill(bill, settings(tax_type_primary=tax_type, **switches), chart(), contact_id="c")
    except BillTotalsMismatchError as refused:
        error = refused
    if error is not None:
        assert error.clio_total == clio_total and error.xero_total != clio_total
        assert str(clio_total) in error.message and str(error.xero_total) in error.message
        return
    assert mapped.totals.total == clio_total == independent_total(mapped.invoice)
    assert VALIDATOR.validate_schema("Invoice", mapped.invoice.to_xero()) == []


@hypothesis_settings(max_examples=200, deadline=None)
@given(drawn=bills(quirky=False))
def test_itemised_exclusive_bills_always_sync(drawn: tuple[Any, str]) -> None:
    """With every line itemised and Exclusive amounts, Xero's per-line rounding is Clio's: no
    well-formed bill is ever refused."""
    bill, tax_type = drawn
    mapped = map_bill(bill, settings(tax_type_primary=tax_type), chart(), contact_id="c")
    assert mapped.totals.total == round2(bill.bill.due) == independent_total(mapped.invoice)
