"""Webhooks: intent to receive, signed batched deliveries, echoes, retries, disabling, faults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from clio_xero.clock import ManualClock
from clio_xero.webhooks.signing import sign_xero
from clio_xero_tools.sandbox._base import FaultPlan
from clio_xero_tools.sandbox.xero import XeroSandbox
from clio_xero_tools.sandbox.xero.store import Org

from .conftest import WEBHOOK_KEY, Receiver

MakeContact = Callable[..., dict[str, Any]]
URL = "https://hooks.example/xero"


@pytest.fixture
def live(sandbox: XeroSandbox, receiver: Receiver) -> XeroSandbox:
    """A sandbox whose webhook passed intent to receive."""
    sandbox.configure_webhook(URL, WEBHOOK_KEY)
    sandbox.deliver_due_webhooks()
    assert sandbox.webhooks.status == "OK"
    receiver.raw.clear()
    receiver.posts.clear()
    return sandbox


def test_intent_to_receive_mixes_good_and_bad_signatures(sandbox: XeroSandbox, receiver: Receiver, org: Org) -> None:
    sandbox.configure_webhook(URL, WEBHOOK_KEY)
    assert sandbox.webhooks.status == "PENDING_ITR"
    posts = sandbox.deliver_due_webhooks()
    assert posts == 4
    itr = [r for r in sandbox.webhooks.log if r.kind == "itr"]
    assert {r.signed_correctly for r in itr} == {True, False}
    for body, signature in receiver.raw:
        assert body.startswith(b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"')
        assert signature
    good = [sig == sign_xero(body, WEBHOOK_KEY) for body, sig in receiver.raw]
    assert good == [r.signed_correctly for r in itr]
    assert sandbox.webhooks.info()["status"] == "OK"


@pytest.mark.parametrize("mode", ["always_200", "body", "fail"])
def test_endpoint_that_fails_itr_stays_disabled(
    sandbox: XeroSandbox, receiver: Receiver, api: httpx.Client, mode: str
) -> None:
    receiver.mode = mode
    sandbox.configure_webhook(URL, WEBHOOK_KEY)
    sandbox.deliver_due_webhooks()
    assert sandbox.webhooks.status == "ITR_FAILED"
    api.put("Contacts", json={"Contacts": [{"Name": "Quiet"}]})
    receiver.raw.clear()
    assert sandbox.deliver_due_webhooks() == 0
    assert receiver.raw == []
    # Fix the endpoint and re-enable: ITR runs again, then the queued event arrives.
    receiver.mode = "correct"
    sandbox.webhooks.enable()
    assert sandbox.deliver_due_webhooks() == 5
    assert [e["eventCategory"] for e in receiver.events] == ["CONTACT"]


def test_api_writes_echo_as_signed_batched_events(
    live: XeroSandbox, receiver: Receiver, api: httpx.Client, org: Org, make_invoice: Callable[..., dict[str, Any]]
) -> None:
    invoice = make_invoice()
    contact_id = invoice["Contact"]["ContactID"]
    api.post(f"Contacts/{contact_id}", json={"Contacts": [{"EmailAddress": "new@example.com"}]})
    assert live.deliver_due_webhooks() == 1  # one batched POST
    payload = receiver.posts[0]
    assert payload["firstEventSequence"] == 1
    assert payload["lastEventSequence"] == 3
    assert len(payload["entropy"]) == 20
    got = [(e["eventCategory"], e["eventType"], e["resourceId"]) for e in payload["events"]]
    assert got == [
        ("CONTACT", "CREATE", contact_id),
        ("INVOICE", "CREATE", invoice["InvoiceID"]),
        ("CONTACT", "UPDATE", contact_id),
    ]
    event = payload["events"][1]
    assert event["tenantId"] == org.organisation_id
    assert event["tenantType"] == "ORGANISATION"
    assert event["resourceUrl"] == f"http://xero.test/api.xro/2.0/Invoices/{invoice['InvoiceID']}"
    assert api.get(event["resourceUrl"]).json()["Invoices"][0]["InvoiceID"] == invoice["InvoiceID"]
    assert "data" not in event
    assert len(event["eventDateUtc"]) == len("2026-01-05T09:00:00.000")
    body, signature = receiver.raw[0]
    assert signature == sign_xero(body, WEBHOOK_KEY)
    assert live.deliver_due_webhooks() == 0  # nothing left


def test_user_changes_and_credit_notes_fire_events(
    live: XeroSandbox, receiver: Receiver, org: Org, make_contact: MakeContact
) -> None:
    contact = make_contact("User Edited")
    live.admin.update_contact(org.organisation_id, contact["ContactID"], {"Name": "Edited In Xero"})
    cn = live.admin.create_invoice(
        org.organisation_id,
        {
            "Type": "ACCRECCREDIT",
            "Contact": {"ContactID": contact["ContactID"]},
            "Status": "AUTHORISED",
            "LineItems": [{"Description": "Refund", "Quantity": 1, "UnitAmount": 10, "AccountCode": "200"}],
        },
    )
    live.deliver_due_webhooks()
    events = receiver.events
    assert [(e["eventCategory"], e["eventType"]) for e in events] == [
        ("CONTACT", "CREATE"),
        ("CONTACT", "UPDATE"),
        ("CREDITNOTE", "CREATE"),
    ]
    assert events[2]["resourceId"] == cn["CreditNoteID"]
    assert events[2]["data"] == {"Type": "ACCRECCREDIT", "Status": "AUTHORISED"}


def test_no_events_without_a_webhook(sandbox: XeroSandbox, receiver: Receiver, make_contact: MakeContact) -> None:
    make_contact("Nobody Listens")
    sandbox.configure_webhook(URL, WEBHOOK_KEY)
    sandbox.deliver_due_webhooks()
    assert receiver.events == []


def test_failed_delivery_retries_immediately_then_every_15_minutes(
    live: XeroSandbox, receiver: Receiver, make_contact: MakeContact, clock: ManualClock
) -> None:
    receiver.mode = "fail"
    contact = make_contact("Retry Me")
    assert live.deliver_due_webhooks() == 2  # first attempt + immediate retry
    assert live.webhooks.status == "RETRYING"
    clock.advance(14 * 60)
    assert live.deliver_due_webhooks() == 0
    clock.advance(60)
    assert live.deliver_due_webhooks() == 1
    receiver.mode = "correct"
    clock.advance(15 * 60)
    assert live.deliver_due_webhooks() == 1
    assert live.webhooks.info()["status"] == "OK"
    assert [e["resourceId"] for e in receiver.events] == [contact["ContactID"]]
    assert [r.ok for r in live.webhooks.log if r.kind == "events"] == [False, False, False, True]


def test_disabled_after_24_hours_of_failure_and_replayed_after_reenable(
    live: XeroSandbox, receiver: Receiver, make_contact: MakeContact, clock: ManualClock
) -> None:
    receiver.mode = "fail"
    make_contact("Lost For A Day")
    live.deliver_due_webhooks()
    for _ in range(24 * 4):
        clock.advance(15 * 60)
        live.deliver_due_webhooks()
    assert live.webhooks.status == "DISABLED"
    live.admin.create_contact(next(iter(live.store.orgs)), {"Name": "Raised While Disabled"})
    assert live.deliver_due_webhooks() == 0
    receiver.mode = "correct"
    live.webhooks.enable()
    live.deliver_due_webhooks()
    assert [e["eventType"] for e in receiver.events] == ["CREATE", "CREATE"]
    assert receiver.posts[-1]["firstEventSequence"] == 1
    assert receiver.posts[-1]["lastEventSequence"] == 2


def test_delivery_faults_are_seeded(
    sandbox: XeroSandbox, receiver: Receiver, api: httpx.Client, clock: ManualClock
) -> None:
    def run(plan: FaultPlan) -> list[list[int]]:
        sandbox.set_faults(plan)
        sandbox.webhooks.remove()
        sandbox.configure_webhook(URL, WEBHOOK_KEY)
        sandbox.deliver_due_webhooks()
        receiver.posts.clear()
        start = len(api.get("Contacts").json()["Contacts"])
        created = []
        for i in range(20):
            r = api.put("Contacts", json={"Contacts": [{"Name": f"Faulty {start + i}"}]})
            created.append(r.json()["Contacts"][0]["ContactID"])
        sandbox.deliver_due_webhooks()
        # Each POST as the positions (in creation order) of the contacts it reports.
        return [[created.index(e["resourceId"]) for e in p["events"]] for p in receiver.posts]

    first = run(FaultPlan(seed=7, drop_rate=0.2, duplicate_rate=0.3, reorder=True))
    again = run(FaultPlan(seed=7, drop_rate=0.2, duplicate_rate=0.3, reorder=True))
    assert again == first  # same seed, same story
    delivered = [i for post in first for i in post]
    assert len(set(delivered)) < 20  # some events were dropped
    assert len(delivered) > len(set(delivered))  # some arrived twice...
    assert len(first) == 2  # ...in a later POST
    assert first[0] != sorted(first[0])  # and the batch was reordered


def test_delayed_events_wait_for_the_clock(
    sandbox: XeroSandbox, receiver: Receiver, make_contact: MakeContact, clock: ManualClock
) -> None:
    sandbox.set_faults(FaultPlan(delay_seconds=120))
    sandbox.configure_webhook(URL, WEBHOOK_KEY)
    sandbox.deliver_due_webhooks()
    make_contact("Late")
    assert sandbox.deliver_due_webhooks() == 0
    clock.advance(120)
    assert sandbox.deliver_due_webhooks() == 1
    assert len(receiver.events) == 1


def test_reorder_shuffles_within_a_batch(sandbox: XeroSandbox, receiver: Receiver, make_contact: MakeContact) -> None:
    sandbox.set_faults(FaultPlan(seed=3, reorder=True))
    sandbox.configure_webhook(URL, WEBHOOK_KEY)
    sandbox.deliver_due_webhooks()
    created = [make_contact(f"Order {i}")["ContactID"] for i in range(10)]
    sandbox.deliver_due_webhooks()
    ids = [e["resourceId"] for e in receiver.events if e]
    assert sorted(ids) == sorted(created)
    assert ids != created
    assert receiver.posts[-1]["firstEventSequence"] == 1
    assert receiver.posts[-1]["lastEventSequence"] == 10


def test_admin_surface_configures_and_delivers(
    http: httpx.Client, sandbox: XeroSandbox, receiver: Receiver, make_contact: MakeContact
) -> None:
    r = http.put("/_sandbox/webhook", json={"url": URL, "key": WEBHOOK_KEY})
    assert r.json()["status"] == "PENDING_ITR"
    make_contact("Via Admin")
    out = http.post("/_sandbox/webhook/deliver").json()
    assert out["posts"] == 5
    assert out["status"] == "OK"
    assert out["pending"] == 0
    assert [e["eventCategory"] for e in receiver.events] == ["CONTACT"]


def test_only_connected_orgs_raise_events(
    live: XeroSandbox, receiver: Receiver, org: Org, http: httpx.Client, make_contact: MakeContact
) -> None:
    other = live.create_organisation("Never Connected Ltd")
    live.admin.create_contact(other.organisation_id, {"Name": "Invisible"})
    make_contact("Visible")
    http.post(f"/_sandbox/tenants/{org.organisation_id}/disconnect")
    live.admin.create_contact(org.organisation_id, {"Name": "After Disconnect"})
    live.deliver_due_webhooks()
    assert [e["tenantId"] for e in receiver.events] == [org.organisation_id]
