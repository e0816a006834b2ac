"""Which bills sync, the create/update/void/delete decision, and `explain` (docs/billing.md)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from clio_xero.billing.clio_models import ClioBill
from clio_xero.billing.eligibility import BillAction, BillSyncState, LinkedInvoice, decide, explain
from clio_xero.billing.settings import BillStates
from tests.unit.billing.factory import settings

ON = settings()
EVERY = settings(bill_states=BillStates.EVERY_NON_DRAFT)


def bill(state: str, **extra: Any) -> ClioBill:
    return ClioBill.model_validate({"id": 1, "number": "1042", "state": state, "issued_at": "2026-03-31", **extra})


def linked(status: str, *, payments: bool = False) -> BillSyncState:
    return BillSyncState(
        invoice=LinkedInvoice(invoice_id="inv-1", invoice_number="1042", status=status, has_payments=payments),
        contact_id="c-1",
    )


UNLINKED = BillSyncState(contact_id="c-1")


@pytest.mark.parametrize(
    ("state", "settings_", "sync_state", "action", "status"),
    [
        ("draft", ON, UNLINKED, BillAction.SKIP, None),
        ("draft", EVERY, UNLINKED, BillAction.SKIP, None),
        ("awaiting_approval", ON, UNLINKED, BillAction.SKIP, None),
        ("awaiting_approval", EVERY, UNLINKED, BillAction.CREATE, "SUBMITTED"),
        ("awaiting_payment", ON, UNLINKED, BillAction.CREATE, "AUTHORISED"),
        ("paid", ON, UNLINKED, BillAction.CREATE, "AUTHORISED"),
        ("awaiting_payment", ON, linked("AUTHORISED"), BillAction.UPDATE, "AUTHORISED"),
        ("awaiting_payment", EVERY, linked("SUBMITTED"), BillAction.UPDATE, "AUTHORISED"),
        ("paid", ON, linked("PAID"), BillAction.NOTHING, None),
        ("awaiting_payment", ON, linked("VOIDED"), BillAction.WAIT, None),
        ("void", ON, UNLINKED, BillAction.SKIP, None),
        ("deleted", ON, UNLINKED, BillAction.SKIP, None),
        ("void", ON, linked("AUTHORISED"), BillAction.VOID, None),
        ("void", ON, linked("AUTHORISED", payments=True), BillAction.WAIT, None),
        ("void", ON, linked("PAID"), BillAction.WAIT, None),
        ("deleted", ON, linked("DRAFT"), BillAction.DELETE, None),
        ("void", ON, linked("SUBMITTED"), BillAction.DELETE, None),
        ("void", ON, linked("VOIDED"), BillAction.NOTHING, None),
        ("draft", ON, linked("AUTHORISED"), BillAction.WAIT, None),
        ("awaiting_approval", ON, linked("AUTHORISED"), BillAction.WAIT, None),
        ("awaiting_approval", EVERY, linked("AUTHORISED"), BillAction.WAIT, None),
        ("awaiting_approval", EVERY, linked("SUBMITTED"), BillAction.UPDATE, "SUBMITTED"),
    ],
)
def test_decision_table(state: str, settings_: Any, sync_state: BillSyncState, action: BillAction, status: Any) -> None:
    decision = decide(bill(state), settings_, sync_state)
    assert (decision.action, decision.xero_status) == (action, status)
    assert decision.reason.endswith(".")
    # `billing explain` says the same, after the bill's state: one sentence per rule.
    assert explain(bill(state), settings_, sync_state) == f"Bill 1042 ({state} in Clio): {decision.reason}"


def test_billing_off_keeps_everything_out() -> None:
    decision = decide(bill("awaiting_payment"), settings(sync_bills=False), UNLINKED)
    assert decision.action is BillAction.SKIP and "sync_bills=false" in decision.reason


def test_floor_date_applies_to_new_bills_only() -> None:
    floored = settings(bills_issued_from=date(2026, 4, 1))
    old = bill("awaiting_payment")
    assert decide(old, floored, UNLINKED).action is BillAction.SKIP
    assert "before bills_issued_from=2026-04-01" in decide(old, floored, UNLINKED).reason
    assert decide(old, floored, linked("AUTHORISED")).action is BillAction.UPDATE  # already in Xero: kept current
    assert decide(bill("paid", issued_at="2026-04-01"), floored, UNLINKED).action is BillAction.CREATE


def test_trust_bills_never_sync() -> None:
    decision = decide(bill("awaiting_payment", kind="trust_kind"), ON, UNLINKED)
    assert decision.action is BillAction.SKIP and "trust" in decision.reason


def test_explain_names_the_rule_the_error_or_the_wait() -> None:
    assert explain(bill("draft"), ON, UNLINKED) == (
        "Bill 1042 (draft in Clio): Bill 1042 is a draft in Clio; drafts never sync. Approve it in Clio."
    )
    assert "pending approval" in explain(bill("awaiting_approval"), ON, UNLINKED)
    parked = BillSyncState(contact_id="c-1", last_error="Account code 205 (time_account_code) is ARCHIVED")
    assert explain(bill("paid"), ON, parked).endswith("parked: Account code 205 (time_account_code) is ARCHIVED")
    assert "once its client is linked in Xero" in explain(bill("paid"), ON, BillSyncState())
    assert explain(bill("paid"), ON, UNLINKED) == "Bill 1042 (paid in Clio): Bill 1042 is sent as a new invoice."
    assert "has payments or credit notes applied" in explain(bill("void"), ON, linked("AUTHORISED", payments=True))


def test_a_bill_read_without_its_state_is_never_sent() -> None:
    decision = decide(ClioBill.model_validate({"id": 1, "number": "9"}), EVERY, UNLINKED)
    assert decision.action is BillAction.WAIT and "without its state" in decision.reason
