"""`clio-xero backfill bills`, `billing check` and `billing explain` against the local runtime and
both sandboxes over loopback."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from clio_xero.clock import ManualClock
from clio_xero_tools.local.world import LocalWorld
from tests.billing.test_real_path import (
    SETTINGS,
    TRACKING,
    bill_with_every_kind_of_line,
    clock,
    invoices,
    one_invoice,
    xero_admin,
    xero_api,
)
from tests.integration.conftest import WorldPool, cli

__all__ = ["cli", "clock"]  # fixtures

pytestmark = pytest.mark.integration


@pytest.fixture
def world(shared_world: WorldPool, clock: ManualClock) -> Iterator[LocalWorld]:
    with shared_world(
        settings=SETTINGS.changed(sync_bills=False), function_output=io.StringIO(), clock=clock, api_timeout_seconds=1
    ) as w:
        xero_api(w, "PUT", "/TrackingCategories", {"Name": TRACKING})
        xero_api(w, "PUT", "/Currencies", {"Code": "USD"})
        yield w


def spend_money(world: LocalWorld) -> list[Any]:
    store = world.sandboxes.xero.store
    with store.lock:
        return list(store.orgs[world.tenant_id].bank_transactions.values())


def test_backfill_plans_then_sends_each_bill_once_and_explain_says_why(world: LocalWorld, cli: Any) -> None:
    approved = [bill_with_every_kind_of_line(world, state="awaiting_payment")[0] for _ in range(3)]
    clio = world.sandboxes.clio
    client = clio.act_create("contacts", {"type": "Person", "first_name": "Ivy", "last_name": "Cost"})
    matter = clio.act_create("matters", {"client": {"id": client.id}, "description": "Filing"})
    hard_cost = clio.act_create(
        "activities",
        {"matter": {"id": matter.id}, "type": "HardCostEntry", "price": 120, "quantity": 1, "tax_setting": "no_tax",
         "note": "Court filing fee"},
    )  # fmt: skip
    approved.append(
        clio.create_bill(
            client_id=client.id, matter_ids=[matter.id], activity_ids=[hard_cost.id], state="awaiting_payment"
        )
    )
    draft, _ = bill_with_every_kind_of_line(world)
    world.pump()
    assert invoices(world) == []  # sync_bills is off: nothing yet

    code, out = cli("billing", "explain", str(approved[0].id))
    assert code == 0 and "sync_bills=false" in out
    code, report = cli("billing", "check", "--json")
    assert code == 0 and report["ok"] is True

    assert cli("settings", "set", "hard_costs_as_spend_money=true")[0] == 2  # needs both codes: refused
    setting = ("sync_bills=true", "hard_costs_as_spend_money=true", "spend_money_bank_account_code=090",
               "spend_money_account_code=310")  # fmt: skip
    assert cli("settings", "set", *setting)[0] == 0
    code, plan = cli("backfill", "bills", "--dry-run", "--json")
    assert code == 0 and plan["counts"]["create"] == 4 and plan["counts"]["skip"] == 1
    assert list(plan["phases"]) == ["payments", "credit_notes"]  # then the money of these bills, planned too
    assert plan["phases"]["credit_notes"]["off"] == "switched off (sync_credit_notes=false)"
    skipped = next(b for b in plan["bills"] if b["action"] == "skip")
    assert skipped["clio_id"] == str(draft.id) and "draft" in skipped["reason"]
    assert invoices(world) == []  # a dry run writes nothing

    code, done = cli("backfill", "bills", "--json")
    assert code == 0, done
    assert done["done"] == {"invoice_created": 4} and done["batches"] == 1 and done["errors"] == []
    for bill in approved:
        assert one_invoice(world, str(bill.attrs["number"])).status == "AUTHORISED"

    code, again = cli("backfill", "bills", "--dry-run", "--json")
    assert again["counts"]["create"] == 0 and again["counts"]["nothing"] == 4  # never a duplicate
    spent = spend_money(world)
    assert [(t.type, str(t.total)) for t in spent] == [("SPEND", "120.00")]  # the hard cost, once
    code, out = cli("billing", "explain", str(draft.id))
    assert code == 0 and "draft" in out and "Approve it in Clio" in out

    # Paid in Xero, then voided in Clio: Xero would refuse the void, so the bill waits in `errors`
    # with the reason and a hint, and the invoice stays as it is.
    paid = one_invoice(world, str(approved[1].attrs["number"]))
    xero_admin(world, "/payments", {"Invoice": {"InvoiceID": paid.doc_id}, "Account": {"Code": "090"}})
    world.sandboxes.clio.act_update("bills", approved[1], {"state": "void"})
    assert cli("retry", f"clio:bill:{approved[1].id}")[0] == 0
    world.pump()
    code, listed = cli("errors", "--json")
    rows = listed if isinstance(listed, list) else listed.get("errors", [])
    row = next(r for r in rows if str(approved[1].id) in str(r))
    assert "payments" in str(row) and "remove the payments" in str(row)
    assert one_invoice(world, str(approved[1].attrs["number"])).status == "PAID"

    xero_admin(world, "/accounts/260", {"Status": "ARCHIVED"})
    code, report = cli("billing", "check", "--json")
    assert code == 1 and not report["ok"]
    assert any("260" in p["message"] and p["setting"] == "flat_fee_account_code" for p in report["problems"])
    assert len(invoices(world)) == 4
