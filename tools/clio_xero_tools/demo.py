"""``make demo``: a scripted scenario on the local runtime that checks what it shows.

Every step is a real HTTP request to the local HTTP API, through the handler, into moto's SQS:
Xero intent-to-receive (good and bad signatures), the Clio activation handshake, signed
deliveries of each kind, forged and malformed deliveries refused; then the queue is printed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import httpx
from rich.console import Console
from rich.table import Table

from clio_xero.store.connections import Connection, DynamoConnectionStore
from clio_xero.webhooks.signing import sign_clio, sign_xero
from clio_xero_tools.local.runtime import LocalRuntime, RuntimeOptions

if TYPE_CHECKING:
    from clio_xero_tools.local.world import LocalWorld

DEMO_CONNECTION = "demo-firm"
DEMO_TENANT = "8a8b2d2c-6f4e-4d36-9b43-3c3f6c1a0d11"
CLIO_SECRET = "demo-clio-hook-secret"


@dataclass
class Step:
    name: str
    expected: int
    actual: int

    @property
    def ok(self) -> bool:
        return self.expected == self.actual


def xero_body(*events: dict[str, Any]) -> bytes:
    return json.dumps(
        {"events": list(events), "firstEventSequence": 1, "lastEventSequence": len(events), "entropy": "DEMO"}
    ).encode()


def xero_event(category: str, resource_id: str, event_type: str = "UPDATE") -> dict[str, Any]:
    resource = {"CONTACT": "Contacts", "INVOICE": "Invoices", "CREDITNOTE": "CreditNotes"}[category]
    return {
        "resourceUrl": f"https://api.xero.com/api.xro/2.0/{resource}/{resource_id}",
        "resourceId": resource_id,
        "eventDateUtc": "2026-11-25T09:00:00.000",
        "eventType": event_type,
        "eventCategory": category,
        "tenantId": DEMO_TENANT,
        "tenantType": "ORGANISATION",
    }


def clio_body(record_id: int, event: str, webhook_id: int) -> bytes:
    return json.dumps(
        {
            "data": {"id": record_id, "etag": f'"{record_id}-{event}"'},
            "meta": {"event": event, "webhook_id": webhook_id},
        }
    ).encode()


def run_scenario(runtime: LocalRuntime, say: Callable[[str], None]) -> list[Step]:
    """The scenario itself (also used by the integration tests)."""
    store = DynamoConnectionStore(runtime.physical_id("Table"), runtime.client("dynamodb"))
    if store.get(DEMO_CONNECTION) is None:
        store.put_new(
            Connection(connection_id=DEMO_CONNECTION, xero_tenant_id=DEMO_TENANT, created_at=datetime.now(UTC))
        )
    key = runtime.xero_webhook_key
    steps: list[Step] = []
    with httpx.Client(base_url=runtime.api_url, timeout=10) as http:

        def post(name: str, expected: int, path: str, body: bytes, headers: dict[str, str]) -> None:
            response = http.post(path, content=body, headers={"content-type": "application/json", **headers})
            steps.append(Step(name, expected, response.status_code))
            mark = "[green]ok[/]" if response.status_code == expected else "[red]UNEXPECTED[/]"
            say(f"{mark} {name}: HTTP {response.status_code} (expected {expected})")

        itr = json.dumps({"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "ITR"}).encode()
        post(
            "Xero intent-to-receive, good signature",
            200,
            "/webhooks/xero",
            itr,
            {"x-xero-signature": sign_xero(itr, key)},
        )
        post(
            "Xero intent-to-receive, bad signature",
            401,
            "/webhooks/xero",
            itr,
            {"x-xero-signature": sign_xero(itr, "x")},
        )
        post("Xero intent-to-receive, unsigned", 401, "/webhooks/xero", itr, {})
        hooks = {"contact": 101, "bill": 102, "activity": 103}
        for model, webhook_id in hooks.items():
            runtime.expect_clio_activation(DEMO_CONNECTION, model, str(webhook_id))  # as `webhooks register` does
            post(
                f"Clio handshake ({model} webhook {webhook_id})",
                200,
                f"/webhooks/clio/{DEMO_CONNECTION}?model={model}",
                json.dumps({"data": {"webhook_id": webhook_id}}).encode(),
                {"X-Hook-Secret": f"{CLIO_SECRET}-{webhook_id}"},
            )
        batch = xero_body(
            xero_event("CONTACT", "0f1e2d3c-0000-4000-8000-000000000001"),
            xero_event("INVOICE", "0f1e2d3c-0000-4000-8000-000000000002", "CREATE"),
            xero_event("CREDITNOTE", "0f1e2d3c-0000-4000-8000-000000000003"),
        )
        post(
            "Xero delivery: contact + invoice + credit note",
            200,
            "/webhooks/xero",
            batch,
            {"x-xero-signature": sign_xero(batch, key)},
        )
        for model, record_id, event in (
            ("contact", 5001, "created"),
            ("bill", 7001, "updated"),
            ("activity", 9001, "deleted"),
        ):
            webhook_id = hooks[model]
            body = clio_body(record_id, event, webhook_id)
            post(
                f"Clio delivery: {model} {record_id} {event}",
                200,
                f"/webhooks/clio/{DEMO_CONNECTION}?model={model}",
                body,
                {"X-Hook-Signature": sign_clio(body, f"{CLIO_SECRET}-{webhook_id}")},
            )
        forged = clio_body(5001, "deleted", hooks["contact"])
        post(
            "Clio delivery forged with a wrong secret",
            401,
            f"/webhooks/clio/{DEMO_CONNECTION}?model=contact",
            forged,
            {"X-Hook-Signature": sign_clio(forged, "guessed")},
        )
        post(
            "Clio delivery to an unknown connection",
            404,
            "/webhooks/clio/nobody?model=contact",
            forged,
            {"X-Hook-Signature": "00"},
        )
        post(
            "Clio delivery that is not JSON",
            400,
            f"/webhooks/clio/{DEMO_CONNECTION}?model=contact",
            b"{oops",
            {"X-Hook-Signature": "00"},
        )
    return steps


def queued_events(runtime: LocalRuntime) -> list[dict[str, Any]]:
    """Read (without consuming for good) what sits on the sync queue."""
    sqs = runtime.client("sqs")
    url = runtime.queue_url("SyncQueue")
    seen: dict[str, dict[str, Any]] = {}
    handles: list[str] = []
    for _ in range(20):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
        messages = got.get("Messages", [])
        if not messages:
            break
        for m in messages:
            seen[m["MessageId"]] = json.loads(m["Body"])
            handles.append(m["ReceiptHandle"])
    for handle in handles:  # put them back for whoever consumes the queue next
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return list(seen.values())


def run_intake_demo(template: Path, out: Console, function_log: TextIO) -> bool:
    """Part 1: webhook intake alone (every answer checked), then what sits on the queue."""
    out.rule("part 1 - signed webhooks -> verified -> normalised -> queued")
    with LocalRuntime(
        RuntimeOptions(template=template, poll=False, schedule=False, function_output=function_log)
    ) as runtime:
        for line in runtime.describe():
            out.print(line, highlight=False, soft_wrap=True)
        steps = run_scenario(runtime, out.print)
        events = queued_events(runtime)
    table = Table(title=f"On the sync queue: {len(events)} normalised events")
    for column in ("source", "record_type", "record_id", "action", "connection_id"):
        table.add_column(column)
    for e in sorted(events, key=lambda e: (e["source"], e["record_type"])):
        table.add_row(e["source"], e["record_type"], e["record_id"], e["action"], e["connection_id"])
    out.print(table)
    expected_events = 6
    if len(events) != expected_events:
        out.print(f"[red]expected {expected_events} events on the queue, found {len(events)}[/]")
    return all(s.ok for s in steps) and len(events) == expected_events


def _contact_writes(world: LocalWorld) -> tuple[int, int]:
    clio = world.sandboxes.clio.request_log.entries(path_prefix="/api/v4/contacts")
    xero = world.sandboxes.xero.request_log.entries(path_prefix="/api.xro/2.0/Contacts")
    return (
        sum(r.method in ("POST", "PATCH", "DELETE") for r in clio),
        sum(r.method in ("POST", "PUT") for r in xero),
    )


def run_sync_demo(template: Path, out: Console, function_log: TextIO) -> bool:
    """Part 2: a real sync, both ways, through webhooks, the queue and the worker."""
    from clio_xero.sync.settings import ConnectionSettings, ContactScope
    from clio_xero_tools.local.world import local_world
    from clio_xero_tools.sandbox.xero.contacts import contact_json

    out.rule("part 2 - contacts both ways: Clio sandbox <-> local stack <-> Xero sandbox")
    checks: list[tuple[str, bool]] = []
    settings = ConnectionSettings(contact_scope=ContactScope.ALL)
    with local_world(template=template, settings=settings, function_output=function_log) as world:
        out.print(f"Clio sandbox {world.sandboxes.clio_server.url}, Xero sandbox {world.sandboxes.xero_server.url}")
        out.print("Connected: tokens stored encrypted, Clio webhook activated, Xero intent-to-receive passed.")
        clio = world.sandboxes.clio
        record = clio.act_create(
            "contacts",
            {
                "type": "Person",
                "first_name": "Ada",
                "last_name": "Lovelace",
                "email_addresses": [{"address": "ada@example.test", "name": "Work", "primary": True}],
                "phone_numbers": [{"number": "+44 20 7946 0000", "name": "Work", "primary": True}],
            },
        )
        out.print(f"A user creates Clio contact {record.id} 'Ada Lovelace' in Clio ...")
        world.pump()
        mapping = world.mappings.get(world.connection_id, "contact", str(record.id))
        xero_id = mapping.xero_id if mapping else None
        store = world.sandboxes.xero.store

        def xero_contact() -> dict[str, Any]:
            with store.lock:
                return contact_json(store.orgs[world.tenant_id].contacts[str(xero_id)]) if xero_id else {}

        created = xero_contact()
        checks.append(("Clio contact created in Xero", created.get("Name") == "Ada Lovelace"))
        checks.append(("Xero carries our key", created.get("ContactNumber") == f"CLIO-{record.id}"))
        checks.append(("one Xero write, no Clio write (echo suppressed)", _contact_writes(world) == (0, 1)))
        out.print("A bookkeeper changes her email in Xero ...")
        world.sandboxes.xero.admin.update_contact(
            world.tenant_id, str(xero_id), {"EmailAddress": "ada@analytical.test"}
        )
        world.pump()
        with world.clio_api() as api:
            data = api.get(f"/contacts/{record.id}.json", params={"fields": "id,email_addresses{address}"}).json()
        emails = [e["address"] for e in data["data"]["email_addresses"]]
        checks.append(("Xero edit reached Clio", emails == ["ada@analytical.test"]))
        out.print("A user renames her in Clio ...")
        clio.act_update("contacts", record, {"last_name": "King"})
        world.pump()
        checks.append(("Clio edit reached Xero", xero_contact().get("LastName") == "King"))
        checks.append(("writes: Clio 1, Xero 2 - nothing echoed back", _contact_writes(world) == (1, 2)))
        table = Table(title="Ada, on both sides")
        for column in ("system", "name", "email", "key"):
            table.add_column(column)
        final = xero_contact()
        table.add_row("Clio", "Ada King", emails[0], str(record.id))
        table.add_row("Xero", str(final.get("Name")), str(final.get("EmailAddress")), str(final.get("ContactNumber")))
        out.print(table)
        checks.append(("console: the sign-in link opens the status page", _console_link(world, out)))
    for name, ok in checks:
        out.print(f"{'[green]ok[/]' if ok else '[red]FAILED[/]'} {name}")
    return all(ok for _, ok in checks)


def _console_link(world: LocalWorld, out: Console) -> bool:
    """Print a console sign-in link (what `clio-xero console` prints) and sign in with it once."""
    import urllib.parse

    from clio_xero.aws.parameters import LinkKey
    from clio_xero.clock import default_clock
    from clio_xero.console.sessions import sign_in_link

    runtime = world.runtime
    key = LinkKey(runtime.config_path, runtime.client("ssm")).ensure()
    url, _ = sign_in_link(
        key, connection_id=world.connection_id, operator="demo", api_url=runtime.api_url, now=default_clock().now()
    )
    out.print(f"Console sign-in link (`clio-xero console`; valid while this stack runs): {url}", soft_wrap=True)
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["link"][0]
    with httpx.Client(timeout=10) as browser:
        signed_in = browser.post(f"{runtime.api_url}/console/sign-in", data={"link": token})
        status = browser.get(f"{runtime.api_url}/console")
    return signed_in.status_code == 303 and status.status_code == 200 and "<h1>Status</h1>" in status.text


def run_bill_demo(template: Path, out: Console, function_log: TextIO) -> bool:
    """Part 3: a bill approved in Clio arrives in Xero as an AUTHORISED invoice."""
    from decimal import Decimal

    from clio_xero.sync.settings import ConnectionSettings
    from clio_xero_tools.local.world import local_world

    out.rule("part 3 - a bill approved in Clio becomes a Xero invoice")
    checks: list[tuple[str, bool]] = []
    settings = ConnectionSettings(
        sync_bills=True, flat_fee_account_code="260", tax_type_primary="OUTPUT", use_clio_category_codes=False
    )
    with local_world(template=template, settings=settings, function_output=function_log) as world:
        world.xero_user_call("PUT", "/Currencies", {"Code": "USD"})  # the Clio sandbox firm bills in USD
        clio = world.sandboxes.clio
        client = clio.act_create("contacts", {"type": "Company", "name": "Harbour Freight Ltd"})
        matter = clio.act_create("matters", {"client": {"id": client.id}, "description": "Lease dispute"})
        entries = [
            clio.act_create(
                "activities",
                {"matter": {"id": matter.id}, "type": "TimeEntry", "quantity": 5400, "price": 300,
                 "tax_setting": "tax_1_only", "note": "Review of the lease"},
            ),
            clio.act_create(
                "activities",
                {"matter": {"id": matter.id}, "type": "TimeEntry", "quantity": 3600, "price": 750,
                 "flat_rate": True, "tax_setting": "tax_1_only", "note": "Fixed-fee letter"},
            ),
            clio.act_create(
                "activities",
                {"matter": {"id": matter.id}, "type": "ExpenseEntry", "price": 42.5, "quantity": 2,
                 "tax_setting": "no_tax", "note": "Court copies"},
            ),
        ]  # fmt: skip
        bill = clio.create_bill(client_id=client.id, matter_ids=[matter.id], activity_ids=[e.id for e in entries])
        out.print(f"Clio bill {bill.attrs['number']} (draft): 1.5 h at 300, a 750 flat fee, 2 x 42.50 of copies.")
        world.pump()
        checks.append(("a draft stays out of Xero", not _demo_invoices(world)))
        out.print("A partner approves it in Clio ...")
        clio.act_update("bills", bill, {"state": "awaiting_payment"})
        world.pump()
        found = _demo_invoices(world)
        invoice = found[0] if len(found) == 1 else None
        with world.clio_api() as api:
            total = api.get(f"/bills/{bill.id}.json", params={"fields": "total"}).json()["data"]["total"]
        checks.append(("one invoice in Xero", invoice is not None))
        if invoice is not None:
            checks.append(
                (
                    "AUTHORISED, numbered as in Clio",
                    (invoice.status, invoice.number) == ("AUTHORISED", str(bill.attrs["number"])),
                )
            )
            checks.append(("its total is Clio's to the cent", invoice.total == Decimal(str(total))))
            table = Table(title=f"Xero invoice {invoice.number} ({invoice.status})")
            for column in ("line", "account", "tax", "amount"):
                table.add_column(column)
            for line in invoice.lines:
                table.add_row(str(line.description), str(line.account_code), str(line.tax_type), str(line.line_amount))
            table.add_row("total", "", str(invoice.total_tax), str(invoice.total))
            out.print(table)
    for name, ok in checks:
        out.print(f"{'[green]ok[/]' if ok else '[red]FAILED[/]'} {name}")
    return all(ok for _, ok in checks)


def run_trust_demo(out: Console) -> bool:
    """Part 4: the trust reconciliation of a sample January, once balanced, once not (docs/trust-report.md)."""
    from clio_xero_tools.cli.trust import print_report
    from clio_xero_tools.trust_samples import sample_reports

    out.rule("part 4 - trust three-way reconciliation (sample January; `clio-xero trust report`)")
    balanced, unbalanced = sample_reports()
    for report in (balanced, unbalanced):
        print_report(report, out)
    checks = [
        ("balanced January: exit 0", balanced.exit_code == 0),
        ("unbalanced January: exit 1, every difference explained", unbalanced.exit_code == 1),
    ]
    for name, ok in checks:
        out.print(f"{'[green]ok[/]' if ok else '[red]FAILED[/]'} {name}")
    return all(ok for _, ok in checks)


def _demo_invoices(world: LocalWorld) -> list[Any]:
    store = world.sandboxes.xero.store
    with store.lock:
        return [d for d in store.orgs[world.tenant_id].invoices.values() if d.type == "ACCREC"]


def run_demo(template: Path, console: Console | None = None) -> bool:
    out = console or Console()
    log_path = Path(".cache/demo/functions.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as function_log:
        out.print(f"Function logs and metrics (JSON lines): {log_path}")
        intake_ok = run_intake_demo(template, out, function_log)
        sync_ok = run_sync_demo(template, out, function_log)
        bill_ok = run_bill_demo(template, out, function_log)
    ok = intake_ok and sync_ok and bill_ok and run_trust_demo(out)
    out.print("[bold green]Demo passed.[/]" if ok else "[bold red]Demo failed: see the lines marked above.[/]")
    return ok
