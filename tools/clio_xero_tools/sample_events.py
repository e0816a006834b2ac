"""Write the sample API Gateway (HTTP API v2) events in events/, signed with the project's own signer.

Run with `make events` (python -m clio_xero_tools.sample_events). Every case of the receivers has a
file; `CASES` says what each should get back, and tests/integration/test_sample_events.py invokes
the handlers with them to check it.
Use them with `sam local invoke XeroWebhookFunction -e events/xero_delivery.json` where Docker is
available; the keys below are sample values (see events/README.md), never real secrets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clio_xero.webhooks.signing import sign_clio, sign_xero
from clio_xero_tools.local.http_api import apigw_v2_event
from clio_xero_tools.local.template import HttpRoute

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
SAMPLE_XERO_KEY = "sample-xero-webhook-key"
SAMPLE_CLIO_SECRET = "sample-clio-hook-secret"
SAMPLE_CONNECTION = "sample-connection"
SAMPLE_TENANT = "11111111-2222-4333-8444-555555555555"
SAMPLE_WEBHOOK_ID = 4242
WHEN = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

XERO_ROUTE = HttpRoute("POST", "/webhooks/xero")
CLIO_ROUTE = HttpRoute("POST", "/webhooks/clio/{connection_id}")
HEALTH_ROUTE = HttpRoute("GET", "/health")


@dataclass(frozen=True)
class Case:
    file: str
    function: str
    status: int
    event: dict[str, Any]
    what: str


def _xero_events(*items: tuple[str, str, str], tenant: str = SAMPLE_TENANT) -> bytes:
    resources = {"CONTACT": "Contacts", "INVOICE": "Invoices", "CREDITNOTE": "CreditNotes"}
    events = [
        {
            "resourceUrl": f"https://api.xero.com/api.xro/2.0/{resources[cat]}/{rid}",
            "resourceId": rid,
            "eventDateUtc": "2026-11-25T08:59:58.123",
            "eventType": kind,
            "eventCategory": cat,
            "tenantId": tenant,
            "tenantType": "ORGANISATION",
        }
        for cat, rid, kind in items
    ]
    first = 0 if not events else 101
    return json.dumps(
        {
            "events": events,
            "firstEventSequence": first,
            "lastEventSequence": first + max(len(events) - 1, 0),
            "entropy": "SAMPLEENTROPY",
        }
    ).encode()


def _xero(name: str, status: int, body: bytes, signature: str | None, what: str) -> Case:
    headers = {"content-type": "application/json", "user-agent": "Xero Webhooks"}
    if signature is not None:
        headers["x-xero-signature"] = signature
    event = apigw_v2_event(
        method="POST",
        path="/webhooks/xero",
        route=XERO_ROUTE,
        headers=headers,
        body=body,
        request_id=f"sample-{name}",
        when=WHEN,
    )
    return Case(f"{name}.json", "XeroWebhookFunction", status, event, what)


def _clio(
    name: str, status: int, body: bytes, headers: dict[str, str], what: str, connection: str = SAMPLE_CONNECTION
) -> Case:
    all_headers = {"content-type": "application/json", "user-agent": "Clio-Webhooks", **headers}
    event = apigw_v2_event(
        method="POST",
        path=f"/webhooks/clio/{connection}",
        route=CLIO_ROUTE,
        headers=all_headers,
        body=body,
        query={"model": "contact"},
        raw_query="model=contact",
        path_params={"connection_id": connection},
        request_id=f"sample-{name}",
        when=WHEN,
    )
    return Case(f"{name}.json", "ClioWebhookFunction", status, event, what)


def cases() -> list[Case]:
    itr = _xero_events()
    delivery = _xero_events(
        ("CONTACT", "a0b1c2d3-0000-4000-8000-000000000001", "UPDATE"),
        ("INVOICE", "a0b1c2d3-0000-4000-8000-000000000002", "CREATE"),
        ("CREDITNOTE", "a0b1c2d3-0000-4000-8000-000000000003", "UPDATE"),
    )
    stranger = _xero_events(
        ("CONTACT", "a0b1c2d3-0000-4000-8000-000000000009", "UPDATE"), tenant="99999999-0000-4000-8000-000000000000"
    )
    clio = json.dumps(
        {
            "data": {
                "id": 1001,
                "etag": '"6a1b2c3d"',
                "name": "Ada Lovelace",
                "updated_at": "2026-11-25T09:00:00-05:00",
            },
            "meta": {"event": "updated", "webhook_id": SAMPLE_WEBHOOK_ID},
        }
    ).encode()
    return [
        _xero(
            "xero_intent_to_receive",
            200,
            itr,
            sign_xero(itr, SAMPLE_XERO_KEY),
            "Xero intent-to-receive, correctly signed",
        ),
        _xero(
            "xero_intent_to_receive_bad_signature",
            401,
            itr,
            sign_xero(itr, "wrong-key"),
            "intent-to-receive, wrong signature",
        ),
        _xero("xero_unsigned", 401, itr, None, "no x-xero-signature header"),
        _xero(
            "xero_delivery",
            200,
            delivery,
            sign_xero(delivery, SAMPLE_XERO_KEY),
            "contact + invoice + credit note events",
        ),
        _xero(
            "xero_unknown_tenant",
            200,
            stranger,
            sign_xero(stranger, SAMPLE_XERO_KEY),
            "event for an org no connection knows: counted, dropped",
        ),
        _clio(
            "clio_handshake",
            200,
            json.dumps({"data": {"webhook_id": SAMPLE_WEBHOOK_ID}}).encode(),
            {"x-hook-secret": SAMPLE_CLIO_SECRET},
            "activation handshake: secret stored, header echoed",
        ),
        _clio(
            "clio_delivery",
            200,
            clio,
            {"x-hook-signature": sign_clio(clio, SAMPLE_CLIO_SECRET)},
            "signed contact update",
        ),
        _clio(
            "clio_bad_signature",
            401,
            clio,
            {"x-hook-signature": sign_clio(clio, "wrong")},
            "signed with another secret",
        ),
        _clio("clio_missing_signature", 401, clio, {}, "no X-Hook-Signature header"),
        _clio("clio_invalid_json", 400, b'{"data": {"id": 1', {"x-hook-signature": "00"}, "body is not JSON"),
        _clio(
            "clio_unknown_connection",
            404,
            clio,
            {"x-hook-signature": sign_clio(clio, SAMPLE_CLIO_SECRET)},
            "connection id that does not exist",
            connection="no-such-connection",
        ),
        _clio("clio_too_large", 413, b" " * 1_000_001, {"x-hook-signature": "00"}, "body over 1 MB"),
        Case(
            "health.json",
            "HealthFunction",
            200,
            apigw_v2_event(
                method="GET",
                path="/health",
                route=HEALTH_ROUTE,
                headers={},
                body=b"",
                request_id="sample-health",
                when=WHEN,
            ),
            "liveness",
        ),
    ]


def render(case: Case) -> str:
    return json.dumps(case.event, indent=2, sort_keys=True) + "\n"


def main() -> None:
    EVENTS_DIR.mkdir(exist_ok=True)
    for case in cases():
        (EVENTS_DIR / case.file).write_text(render(case), encoding="utf-8")
        print(f"events/{case.file:45} {case.function:22} -> {case.status}  {case.what}")


if __name__ == "__main__":
    main()
