"""The sandbox over real loopback HTTP: OAuth, accounting, admin surface and webhooks to a receiver."""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from clio_xero.errors import SignatureError
from clio_xero.webhooks.signing import verify_xero
from clio_xero_tools.sandbox._base import ServedApp, serve
from clio_xero_tools.sandbox.xero import XeroSandbox

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

pytestmark = pytest.mark.integration
KEY = "served-webhook-key"


class ReceiverApp:
    """A minimal, correct Xero webhook endpoint as a WSGI app."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.on_events: Callable[[list[dict[str, Any]]], None] | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        try:
            verify_xero(body, environ.get("HTTP_X_XERO_SIGNATURE"), KEY)
        except SignatureError:
            start_response("401 Unauthorized", [("Content-Length", "0")])
            return [b""]
        events = json.loads(body)["events"]
        self.events.extend(events)
        if self.on_events is not None and events:
            self.on_events(events)
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]


@pytest.fixture
def served() -> Iterator[tuple[XeroSandbox, ServedApp, ReceiverApp, ServedApp]]:
    sandbox = XeroSandbox(validate_responses=True)  # default OffsetClock: wall time + admin offset
    receiver = ReceiverApp()
    app, hook = serve(sandbox.wsgi_app), serve(receiver)
    try:
        yield sandbox, app, receiver, hook
    finally:
        app.close()
        hook.close()


def test_full_round_trip_over_loopback(served: tuple[XeroSandbox, ServedApp, ReceiverApp, ServedApp]) -> None:
    sandbox, app, receiver, hook = served
    with httpx.Client(base_url=app.url, timeout=10) as http:
        org = http.post("/_sandbox/organisations", json={"name": "Served Legal", "country": "NZ"}).json()
        tenant = org["organisationId"]
        assert http.put("/_sandbox/webhook", json={"url": hook.url + "/xero", "key": KEY}).status_code == 200
        assert http.post("/_sandbox/webhook/deliver").json()["status"] == "OK"

        redirect = "http://127.0.0.1:1/callback"
        r = http.get(
            "/connect/authorize",
            params={"response_type": "code", "client_id": "xero-sandbox-client", "redirect_uri": redirect,
                    "scope": "offline_access accounting.contacts accounting.settings.read", "state": "x"},
        )  # fmt: skip
        assert r.status_code == 302
        code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["Location"]).query))["code"]
        basic = base64.b64encode(b"xero-sandbox-client:xero-sandbox-secret").decode()
        tokens = http.post(
            "/connect/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect},
            headers={"Authorization": f"Basic {basic}"},
        ).json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert [c["tenantId"] for c in http.get("/connections", headers=auth).json()] == [tenant]

        api = {**auth, "xero-tenant-id": tenant}
        created = http.put("/api.xro/2.0/Contacts", json={"Contacts": [{"Name": "Over The Wire"}]}, headers=api)
        assert created.status_code == 200
        assert created.headers["X-MinLimit-Remaining"] == "59"
        contact_id = created.json()["Contacts"][0]["ContactID"]
        rates = http.get("/api.xro/2.0/TaxRates", headers=api).json()["TaxRates"]
        assert "OUTPUT2" in {t["TaxType"] for t in rates}
        read_only = http.put("/api.xro/2.0/Currencies", json={"Code": "USD"}, headers=api)
        assert read_only.status_code == 401  # accounting.settings.read allows GET only

        delivered = http.post("/_sandbox/webhook/deliver").json()
        assert delivered["posts"] == 1
        assert [(e["eventCategory"], e["resourceId"]) for e in receiver.events] == [("CONTACT", contact_id)]
        # Unset public_base_url: resourceUrl points back at the served sandbox itself.
        assert receiver.events[0]["resourceUrl"] == f"{app.url}/api.xro/2.0/Contacts/{contact_id}"

        # A receiver that writes back to Xero while handling a delivery (from another thread) must
        # not deadlock the sandbox; its write is itself an event (the echo), due on the next run.
        def write_back(events: list[dict[str, Any]]) -> None:
            receiver.on_events = None
            body = {"Contacts": [{"ContactID": events[0]["resourceId"], "EmailAddress": "echo@example.com"}]}
            assert httpx.post(f"{app.url}/api.xro/2.0/Contacts", json=body, headers=api, timeout=5).status_code == 200

        receiver.on_events = write_back
        http.post("/_sandbox/tenants/" + tenant + "/contacts", json={"Name": "Made By A User"})
        assert http.post("/_sandbox/webhook/deliver").json()["posts"] == 1
        assert http.post("/_sandbox/webhook/deliver").json()["posts"] == 1  # the echo, raised mid-delivery
        assert [e["eventType"] for e in receiver.events[1:]] == ["CREATE", "UPDATE"]

        # The admin clock moves the served sandbox's time: the access token expires.
        http.post("/_sandbox/clock/advance", json={"seconds": 1801})
        expired = http.get("/api.xro/2.0/Contacts", headers=api)
        assert expired.status_code == 401
        assert expired.json()["Detail"].startswith("TokenExpired")
        log = http.get("/_sandbox/requests").json()
        assert [(e["method"], e["status"]) for e in log][-2:] == [("POST", 200), ("GET", 401)]
        assert sandbox.schema_violations == []


def test_billing_payments_and_bank_summary_over_loopback(
    served: tuple[XeroSandbox, ServedApp, ReceiverApp, ServedApp],
) -> None:
    """The surfaces the billing, payments and trust work use, through real HTTP and the admin surface."""
    sandbox, app, receiver, hook = served
    with httpx.Client(base_url=app.url, timeout=10) as http:
        seeded = http.post("/_sandbox/seed", json={"name": "Loopback Legal", "extra_contacts": 2}).json()
        tenant = seeded["tenant_id"]
        tokens = http.post("/_sandbox/tokens", json={"tenantIds": [tenant]}).json()
        api = {"Authorization": f"Bearer {tokens['access_token']}", "xero-tenant-id": tenant}
        assert http.put("/_sandbox/webhook", json={"url": hook.url + "/xero", "key": KEY}).status_code == 200
        http.post("/_sandbox/webhook/deliver")
        base = "/api.xro/2.0"
        cat = http.put(f"{base}/trackingcategories", json={"Name": "Practice Area"}, headers=api).json()
        cat_id = cat["TrackingCategories"][0]["TrackingCategoryID"]
        http.put(f"{base}/TrackingCategories/{cat_id}/Options", json={"Name": "Probate"}, headers=api)
        invoice = {"Type": "ACCREC", "Contact": {"Name": "Loopback Client"}, "Status": "AUTHORISED",
                   "InvoiceNumber": "LB-1", "Date": "2026-03-02",
                   "LineItems": [{"Description": "Estate", "Quantity": 2, "UnitAmount": 150, "AccountCode": "210",
                                  "Tracking": [{"Name": "Practice Area", "Option": "Probate"}]}]}  # fmt: skip
        made = http.put(f"{base}/Invoices?summarizeErrors=false", json={"Invoices": [invoice]}, headers=api).json()
        inv = made["Invoices"][0]
        assert (inv["Total"], inv["LineItems"][0]["Tracking"][0]["Option"]) == (330.0, "Probate")
        paid = http.post(
            f"/_sandbox/tenants/{tenant}/payments",
            json={"Invoice": {"InvoiceID": inv["InvoiceID"]}, "Account": {"Code": "092"}, "Date": "2026-03-03"},
        ).json()
        assert (paid["Amount"], paid["Account"]["Code"]) == (330.0, "092")
        late = http.put(f"{base}/Payments?summarizeErrors=false", headers=api, json={"Payments": [
            {"Invoice": {"InvoiceNumber": "LB-1"}, "Account": {"Code": "090"}, "Amount": 330}]}).json()  # fmt: skip
        assert late["Payments"][0]["ValidationErrors"] == [
            {"Message": "Payments can only be made against Authorised Documents"}
        ]
        report = http.get(f"{base}/Reports/BankSummary?fromDate=2026-03-01&toDate=2026-03-31", headers=api).json()
        rows = {r["Cells"][0]["Value"]: r["Cells"][2]["Value"] for r in report["Reports"][0]["Rows"][1]["Rows"]}
        assert rows["Trust Account"] == "330.00"
        assert http.delete(f"/_sandbox/tenants/{tenant}/payments/{paid['PaymentID']}").json()["Status"] == "DELETED"
        assert http.get(f"{base}/Invoices/LB-1", headers=api).json()["Invoices"][0]["Status"] == "AUTHORISED"
        http.post("/_sandbox/webhook/deliver")
        updates = [e["eventType"] for e in receiver.events if e["resourceId"] == inv["InvoiceID"]]
        assert updates == ["CREATE", "UPDATE", "UPDATE"]  # created, paid by hand, payment deleted
        assert sandbox.schema_violations == []
