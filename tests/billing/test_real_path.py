"""Bills as the Clio sandbox serves them → mapped → preflighted against the Xero sandbox's chart →
PUT into the Xero sandbox, over loopback HTTP with the real clients.

Stand-in until the bill plug-in exists: this test will be replaced by the plug-in's end-to-end
test through the local runtime (worker, sweep, webhooks), which the engine makes possible. What it
proves now: the pure core takes Clio's real response shapes, refuses what the chart cannot take
before anything is sent, and every invoice it sends comes back from Xero with Clio's total.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from clio_xero.billing.clio_models import BillBundle
from clio_xero.billing.eligibility import BillAction, BillSyncState, decide
from clio_xero.billing.mapping import MappedBill, map_bill
from clio_xero.billing.preflight import check_settings
from clio_xero.billing.settings import BillingSettings
from clio_xero.billing.xero_models import OrgChart
from clio_xero.clients import ClioClient, ClioEndpoints, XeroClient, XeroEndpoints
from clio_xero.clock import ManualClock
from clio_xero.errors import BillPreflightError, ThrottledError
from clio_xero_tools.sandbox._base import serve
from clio_xero_tools.sandbox.clio.seed import seed_firm
from clio_xero_tools.sandbox.openapi import SpecValidator
from clio_xero_tools.sandbox.xero.seed import seed_org
from tests.clients.conftest import make_clio_world, make_xero_world

pytestmark = pytest.mark.integration

BILL_FIELDS = (
    "id,etag,number,state,type,kind,issued_at,due_at,currency{id,code},client{id,name},matters{id},"
    "discount,interest,tax_rate,secondary_tax_rate,sub_total,tax_sum,secondary_tax_sum,total_tax,total,updated_at"
)
LINE_FIELDS = (
    "id,type,kind,description,note,date,price,quantity,sub_total,tax,secondary_tax,total,taxable,"
    "secondary_taxable,group_ordering,activity{id},matter{id}"
)
ACTIVITY_FIELDS = (
    "id,type,flat_rate,price,quantity,activity_description{id,name,xero_service_code},"
    "expense_category{id,name,entry_type,xero_expense_code}"
)


def _patient(clock: ManualClock, read: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """``read()``, waiting out Clio's rate limit on the simulated clock (the worker's job later)."""
    for _ in range(5):
        try:
            return read()
        except ThrottledError as throttled:
            clock.advance(throttled.retry_after or 60.0)
    return read()


def read_bundle(client: ClioClient, bill: dict[str, Any], clock: ManualClock) -> BillBundle:
    """One bill's line items, activities, interest charges and matters: 4 reads, one page each."""

    def records(resource: str, fields: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return _patient(clock, lambda: list(client.iter_records(resource, fields=fields, params=params)))

    lines = records("line_items", LINE_FIELDS, {"bill_id": bill["id"]})
    activity_ids = sorted({li["activity"]["id"] for li in lines if li.get("activity")})
    activities = records("activities", ACTIVITY_FIELDS, {"ids[]": activity_ids}) if activity_ids else []
    charges = records("interest_charges", "id,date,description,total", {"bill_id": bill["id"]})
    matter_ids = [m["id"] for m in bill.get("matters") or []]
    matters = records("matters", "id,display_number", {"ids[]": matter_ids})
    return BillBundle.model_validate(
        {
            "bill": bill,
            "line_items": lines,
            "activities": {a["id"]: a for a in activities},
            "interest_charges": charges,
            "matters": {m["id"]: m for m in matters},
        }
    )


def read_chart(client: XeroClient) -> OrgChart:
    org = client.request("GET", "/Organisation").json()["Organisations"][0]
    return OrgChart.from_xero(
        accounts=client.request("GET", "/Accounts").json()["Accounts"],  # not paged in Xero
        tax_rates=client.request("GET", "/TaxRates").json()["TaxRates"],
        currencies=client.request("GET", "/Currencies").json()["Currencies"],
        base_currency=org["BaseCurrency"],
    )


@pytest.fixture
def worlds() -> Iterator[tuple[ClioClient, XeroClient, Any, ManualClock]]:
    clock = ManualClock()
    clio, xero = make_clio_world(clock), make_xero_world(clock)
    seed_firm(clio.sandbox, contacts=24, activities=160, bills=36, seed=11)
    seed_org(xero.sandbox, tenant_id=xero.org.organisation_id, near_matches=0, extra_contacts=0, invoices=0)
    clio_server, xero_server = serve(clio.sandbox.wsgi_app), serve(xero.sandbox.wsgi_app)
    clio.transport = xero.transport = None  # type: ignore[assignment]  # real sockets on 127.0.0.1
    clio.endpoints, xero.endpoints = ClioEndpoints(clio_server.url), XeroEndpoints.sandbox(xero_server.url)
    clio_client, xero_client = clio.client(), xero.client()
    yield clio_client, xero_client, xero, clock
    clio_client.close()
    xero_client.close()
    clio_server.close()
    xero_server.close()


def test_sandbox_bills_become_invoices_with_clios_totals(
    worlds: tuple[ClioClient, XeroClient, Any, ManualClock],
) -> None:
    clio, xero, xero_world, clock = worlds
    settings = BillingSettings(
        sync_bills=True,
        time_account_code="210",
        flat_fee_account_code="210",
        expense_account_code="215",
        interest_account_code="220",
        discount_account_code="210",
        tax_type_primary="OUTPUT",  # the sandboxes' Clio GST 10% = Xero AU "GST on Income" 10%
        tax_type_untaxed="NONE",
    )
    chart = read_chart(xero)
    assert check_settings(settings, chart).ok

    bills = list(clio.iter_records("bills", fields=BILL_FIELDS))
    decisions = {b["id"]: decide(BillBundle.model_validate({"bill": b}).bill, settings, BillSyncState()) for b in bills}
    to_send = [b for b in bills if decisions[b["id"]].action is BillAction.CREATE]
    assert to_send
    for b in bills:  # approved revenue bills are sent; drafts, pending, void, deleted and trust bills not
        approved_revenue = b["state"] in ("awaiting_payment", "paid") and b["kind"] != "trust_kind"
        assert (decisions[b["id"]].action is BillAction.CREATE) == approved_revenue, decisions[b["id"]].reason

    contacts: dict[int, str] = {}
    for bill in to_send:
        client_id = bill["client"]["id"]
        if client_id not in contacts:
            [saved] = xero.save_contacts(
                [{"Name": f"{bill['client']['name']} (Clio {client_id})"}],
                idempotency_key=f"c-{client_id}",
                create=True,
            )
            assert saved.ok and saved.record is not None
            contacts[client_id] = saved.record["ContactID"]
    bundles = [read_bundle(clio, bill, clock) for bill in to_send]
    assert any(b.interest_charges for b in bundles) and any(
        li.kind == "Expense" for b in bundles for li in b.line_items
    )

    # Clio's own category codes (420, 425, 493 on expense categories) are not in this chart:
    # those bills are refused before anything is sent, each with the code and its fix.
    clio_codes = BillingSettings.model_validate({**settings.model_dump(), "use_clio_category_codes": True})
    refusals: list[str] = []
    for bundle in bundles:
        try:
            map_bill(bundle, clio_codes, chart, contact_id=contacts[bundle.bill.client.id])  # type: ignore[union-attr]
        except BillPreflightError as error:
            refusals.append(error.message)
    assert refusals
    for message in refusals:
        assert "does not exist in Xero's chart of accounts: correct that code in Clio" in message
        assert any(f"Account code {code} " in message for code in ("420", "425", "493"))
    assert not xero_world.sandbox.store.orgs[xero.tenant_id].invoices  # nothing was sent

    own_codes = BillingSettings.model_validate({**settings.model_dump(), "use_clio_category_codes": False})
    mapped: list[MappedBill] = [
        map_bill(b, own_codes, chart, contact_id=contacts[b.bill.client.id])  # type: ignore[union-attr]
        for b in bundles
    ]
    payloads = [m.invoice.to_xero() for m in mapped]
    validator = SpecValidator.for_spec("xero_accounting")
    assert validator.validate_request("PUT", "/api.xro/2.0/Invoices", {"Invoices": payloads}) == []
    results = xero.save_records("Invoices", "Invoices", payloads, idempotency_key="billing-real-path-1", create=True)
    assert [r.errors for r in results] == [[]] * len(payloads)
    for bundle, result, sent in zip(bundles, results, mapped, strict=True):
        invoice = result.record
        assert invoice is not None
        assert invoice["Status"] == "AUTHORISED" and invoice["InvoiceNumber"] == bundle.bill.number
        assert Decimal(str(invoice["Total"])) == sent.clio_total, bundle.bill.number
        if not (bundle.bill.discount and bundle.bill.discount.rate):
            assert sent.clio_total == bundle.bill.total  # no discount: Xero's total is Clio's total
        assert len(invoice["LineItems"]) == len(bundle.line_items) + len(bundle.interest_charges)
