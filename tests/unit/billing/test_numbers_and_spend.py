"""Invoice-number clashes (never a silent renumber) and hard costs as spend money."""

from __future__ import annotations

from decimal import Decimal

from clio_xero.billing.clio_models import ClioActivity
from clio_xero.billing.numbers import ExistingInvoice, NumberAction, resolve_number
from clio_xero.billing.spend_money import map_hard_cost
from clio_xero_tools.sandbox.openapi import SpecValidator
from tests.unit.billing.factory import settings

THEIRS = ExistingInvoice(
    InvoiceID="x-1", InvoiceNumber="1042", Type="ACCREC", Status="VOIDED", ContactID="other",
    ContactName="Harbour Holdings Ltd", DateString="2025-11-02T00:00:00",
)  # fmt: skip


def test_free_number_and_our_own_invoice_are_sent() -> None:
    assert resolve_number("1042", [], linked_invoice_id=None, contact_id="c", reference="R").action is NumberAction.SEND
    ours = THEIRS.model_copy(update={"InvoiceID": "inv-ours"})
    assert resolve_number("1042", [ours], linked_invoice_id="inv-ours", contact_id="c", reference="R").action is (
        NumberAction.SEND
    )
    assert resolve_number(None, [THEIRS], linked_invoice_id=None, contact_id="c", reference="R").action is (
        NumberAction.SEND
    )
    payable = THEIRS.model_copy(update={"Type": "ACCPAY"})  # bills from suppliers may share numbers
    assert resolve_number("1042", [payable], linked_invoice_id=None, contact_id="c", reference="R").action is (
        NumberAction.SEND
    )


def test_an_invoice_from_a_lost_answer_is_adopted() -> None:
    lost = THEIRS.model_copy(update={"InvoiceID": "inv-lost", "Status": "AUTHORISED", "ContactID": "c",
                                     "Reference": "00900-Harbour"})  # fmt: skip
    resolution = resolve_number("1042", [lost], linked_invoice_id=None, contact_id="c", reference="00900-Harbour")
    assert (resolution.action, resolution.invoice_id) == (NumberAction.ADOPT, "inv-lost")


def test_someone_elses_number_parks_with_both_ways_out() -> None:
    resolution = resolve_number("1042", [THEIRS], linked_invoice_id=None, contact_id="c", reference="R")
    assert resolution.action is NumberAction.PARK
    assert resolution.reason.startswith(
        "Invoice number 1042 is already used in Xero by another invoice for Harbour Holdings Ltd dated 2025-11-02 "
        "(VOIDED); Xero keeps invoice numbers unique, voided ones included, and nothing was renumbered."
    )
    assert "invoice_number_policy=prefixed" in resolution.reason


def hard_cost(**extra: object) -> ClioActivity:
    return ClioActivity.model_validate(
        {"id": 14, "type": "HardCostEntry", "date": "2026-03-02", "price": 120.5, "quantity": 1, "total": 120.5,
         "reference": "CHQ 0042", "note": "Federal Circuit Court filing",
         "expense_category": {"id": 3, "name": "Filing fees", "entry_type": "hard_cost"}, **extra}
    )  # fmt: skip


def test_hard_cost_as_spend_money_only_when_switched_on() -> None:
    assert map_hard_cost(hard_cost(), settings(), contact_id="v") is None
    on = settings(hard_costs_as_spend_money=True, spend_money_bank_account_code="090", spend_money_account_code="429")
    spend = map_hard_cost(hard_cost(), on, contact_id="v", currency="AUD")
    assert spend is not None
    body = spend.to_xero()
    assert body == {
        "Type": "SPEND",
        "Contact": {"ContactID": "v"},
        "BankAccount": {"Code": "090"},
        "Date": "2026-03-02",
        "Reference": "CHQ 0042",
        "CurrencyCode": "AUD",
        "LineAmountTypes": "Inclusive",
        "LineItems": [
            {"Description": "Filing fees - Federal Circuit Court filing", "Quantity": 1.0, "UnitAmount": 120.5,
             "AccountCode": "429"}
        ],
    }  # fmt: skip
    validator = SpecValidator.for_spec("xero_accounting")
    assert validator.validate_request("PUT", "/api.xro/2.0/BankTransactions", {"BankTransactions": [body]}) == []
    soft = hard_cost(type="SoftCostEntry", expense_category={"id": 9, "name": "Copies", "entry_type": "soft_cost"})
    assert map_hard_cost(soft, on, contact_id="v") is None
    odd = map_hard_cost(hard_cost(quantity=3, price=33.33, total=100.0), on, contact_id="v")
    assert odd is not None and (odd.LineItems[0].Quantity, odd.LineItems[0].UnitAmount) == (Decimal(1), Decimal(100))
