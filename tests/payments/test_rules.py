"""The pure rules: plans for every kind of allocation, Xero-side comparisons, the report rows."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest

from clio_xero.billing.clio_models import ClioBill
from clio_xero.payments.models import ClioAllocation, XeroInvoiceView, XeroPaymentRef
from clio_xero.payments.receivables import COLUMNS, ReportFormat, compare_bill, missing_row, render
from clio_xero.payments.rules import (
    PaymentAction,
    XeroChangeKind,
    allocation_id_of,
    compare_invoice,
    payment_reference,
    plan_payment,
)
from clio_xero.payments.settings import PaymentSettings

SETTINGS = PaymentSettings(bank_account_codes={"7": "091"}, trust_payment_account_code="855")


def allocation(**over: object) -> ClioAllocation:
    values: dict[str, object] = {
        "id": 55,
        "etag": "e1",
        "date": "2026-11-20",
        "amount": 100.1,
        "parent": {"id": 9, "type": "Payment"},
        "bill": {"id": 3},
        "destination_bank_account": {"id": 7, "name": "Operating", "type": "Operating"},
    }
    values.update(over)
    return ClioAllocation.model_validate(values)


def invoice(**over: object) -> XeroInvoiceView:
    values: dict[str, object] = {
        "invoice_id": "inv-1",
        "number": "CLIO-3",
        "status": "AUTHORISED",
        "total": Decimal("500.00"),
        "amount_due": Decimal("500.00"),
        "amount_paid": Decimal("0.00"),
        "amount_credited": Decimal("0.00"),
    }
    values.update(over)
    return XeroInvoiceView.model_validate(values)


def plan(alloc: ClioAllocation | None, inv: XeroInvoiceView | None = None, **kw: object):  # type: ignore[no-untyped-def]
    options: dict[str, object] = {"linked_payment_id": None, "synced_amount": None}
    options.update(kw)
    return plan_payment(
        alloc,
        allocation_id="55",
        invoice=inv if inv is not None else invoice(),
        settings=SETTINGS,
        **options,  # type: ignore[arg-type]
    )


def test_a_payment_goes_to_the_mapped_bank_account_exactly() -> None:
    p = plan(allocation())
    assert p.action is PaymentAction.CREATE and p.payload is not None
    assert p.payload == {
        "Invoice": {"InvoiceID": "inv-1"},
        "Account": {"Code": "091"},
        "Amount": 100.1,
        "Reference": "Clio payment 55",
        "Date": "2026-11-20",
    }
    assert Decimal(repr(p.payload["Amount"])) == Decimal("100.1")  # the float is Clio's digits


def test_unmapped_bank_account_uses_the_default_and_interest_is_marked() -> None:
    p = plan(allocation(interest=True, destination_bank_account={"id": 8, "name": "Other", "type": "Operating"}))
    assert p.payload is not None and p.payload["Account"] == {"Code": "090"}
    assert p.payload["Reference"] == "Clio payment 55 (interest)"
    assert allocation_id_of(str(p.payload["Reference"])) == "55"


def test_trust_paid_goes_to_the_trust_account() -> None:
    p = plan(allocation(source_bank_account={"id": 2, "name": "Client Trust", "type": "Trust"}))
    assert p.payload is not None and p.payload["Account"] == {"Code": "855"}
    unset = plan_payment(
        allocation(source_bank_account={"id": 2, "type": "Trust"}),
        allocation_id="55",
        linked_payment_id=None,
        synced_amount=None,
        invoice=invoice(),
        settings=PaymentSettings(),
    )
    assert unset.action is PaymentAction.NEEDS_SETTING and "trust_payment_account_code" in unset.reason


@pytest.mark.parametrize(
    ("alloc", "kw", "action"),
    [
        (None, {"linked_payment_id": "p-1"}, PaymentAction.DELETE),
        (None, {}, PaymentAction.NOTHING),
        (allocation(voided_at="2026-11-21T10:00:00Z"), {"linked_payment_id": "p-1"}, PaymentAction.DELETE),
        (allocation(parent={"id": 4, "type": "CreditMemo"}), {}, PaymentAction.SKIP),
        (allocation(bill=None, interest=True), {}, PaymentAction.SKIP),
        (allocation(amount=-20), {}, PaymentAction.FLAG),
        (allocation(), {"linked_payment_id": "p-1", "synced_amount": Decimal("100.10")}, PaymentAction.NOTHING),
        (allocation(), {"linked_payment_id": "p-1", "synced_amount": Decimal("90")}, PaymentAction.REPLACE),
    ],
)
def test_every_kind_of_allocation_has_its_plan(
    alloc: ClioAllocation | None, kw: dict[str, object], action: PaymentAction
) -> None:
    assert plan(alloc, None, **kw).action is action


def test_a_payment_that_would_overpay_says_what_was_done_in_xero() -> None:
    paid_by_hand = invoice(
        amount_due=Decimal("50.00"),
        amount_paid=Decimal("450.00"),
        payments=[XeroPaymentRef(payment_id="manual-1", amount=Decimal("450.00"), reference="cheque 8812")],
    )
    p = plan(allocation(), paid_by_hand)
    assert p.action is PaymentAction.FLAG
    assert "someone recorded 450.00 (PaymentID manual-1) on it in Xero by hand" in p.reason
    assert "clio-xero retry clio:allocation:55" in p.reason and "clio-xero payments link 55" in p.reason


@pytest.mark.parametrize("status", ["VOIDED", "DELETED", "DRAFT", "PAID"])
def test_a_document_xero_would_refuse_is_never_sent(status: str) -> None:
    p = plan(allocation(), invoice(status=status, amount_due=Decimal(0) if status == "PAID" else Decimal(500)))
    assert p.action is PaymentAction.FLAG
    assert "Authorised Documents" not in p.reason  # our sentence, not Xero's refusal


def test_our_reference_on_the_invoice_is_adopted() -> None:
    found = invoice(
        payments=[XeroPaymentRef(payment_id="p-9", amount=Decimal("100.10"), reference=payment_reference(55))]
    )
    p = plan(allocation(), found)
    assert (p.action, p.xero_payment_id) == (PaymentAction.ADOPT, "p-9")


def test_compare_invoice_tells_manual_payments_deleted_ones_edits_and_voids_apart() -> None:
    inv = invoice(
        total=Decimal("480.00"),
        payments=[
            XeroPaymentRef(payment_id="ours-1", amount=Decimal(10), reference="Clio payment 1"),
            XeroPaymentRef(payment_id="echo", amount=Decimal(10), reference="Clio payment 2"),  # not mapped yet
            XeroPaymentRef(payment_id="hand", amount=Decimal(20), reference=""),
        ],
    )
    changes = compare_invoice(
        inv,
        bill_id="3",
        bill_state="awaiting_payment",
        expected_total=Decimal("500"),
        our_payments={"ours-1": "1", "gone-3": "3"},
    )
    assert [(c.kind, c.reapplicable) for c in changes] == [
        (XeroChangeKind.MANUAL_PAYMENT, False),
        (XeroChangeKind.PAYMENT_DELETED, True),
        (XeroChangeKind.EDITED, True),
    ]
    voided = compare_invoice(
        invoice(status="VOIDED"), bill_id="3", bill_state="awaiting_payment", expected_total=None, our_payments={}
    )
    assert [c.kind for c in voided] == [XeroChangeKind.VOIDED]
    assert (
        compare_invoice(invoice(status="VOIDED"), bill_id="3", bill_state="void", expected_total=None, our_payments={})
        == []
    )


def bill(**over: object) -> ClioBill:
    values: dict[str, object] = {
        "id": 3,
        "number": "3",
        "state": "awaiting_payment",
        "total": 500,
        "due": 500,
        "paid": 100,
        "credits_issued": 0,
        "balance": 400,
        "issued_at": dt.date(2026, 11, 2),
    }
    values.update(over)
    return ClioBill.model_validate(values)


def test_report_rows_agree_or_name_each_difference() -> None:
    agrees = compare_bill(
        bill(), invoice(amount_paid=Decimal(100), amount_due=Decimal(400)), payments_synced=True, credits_synced=True
    )
    assert agrees.differences == []
    differs = compare_bill(bill(), invoice(), payments_synced=True, credits_synced=True)
    assert differs.differences == ["paid: Clio 100.00, Xero 0.00", "balance due: Clio 400.00, Xero 500.00"]
    switched_off = compare_bill(bill(), invoice(), payments_synced=False, credits_synced=False)
    assert switched_off.differences == []
    missing = missing_row(bill(id=4), "it was parked: account code 200 is archived")
    rendered = json.loads(render([agrees, differs, missing], ReportFormat.JSON))
    assert rendered["differences"] == 2
    assert [r["bill_id"] for r in rendered["rows"]] == ["3", "4", "3"]  # differences first
    for fmt in ReportFormat:
        assert "bill_id" in render([differs], fmt)
    assert "&lt;script&gt;" in render([missing_row(bill(number="<script>"), "x")], ReportFormat.HTML)


def test_the_html_page_puts_the_differences_beside_the_bill_and_aligns_the_money() -> None:
    differs = compare_bill(bill(), invoice(paid="0.00", due="500.00"), payments_synced=True, credits_synced=True)
    page = render([differs], ReportFormat.HTML)
    headers = re.findall(r'<th scope="col">([a-z_]+)</th>', page)
    assert headers[:3] == ["bill_id", "bill_number", "differences"] and sorted(headers) == sorted(COLUMNS)
    assert '<td class="differences">paid: Clio 100.00, Xero 0.00; balance due' in page
    assert '<td class="num">100.00</td>' in page and '<tr class="differs">' in page
    csv_header = render([differs], ReportFormat.CSV).splitlines()[0]
    assert csv_header == ",".join(COLUMNS)  # machines keep the column order
