"""The ``/_sandbox`` admin surface: not part of Xero. Seed data, act as a user in the web app,
move the clock, inject faults, configure the app's webhook, read the request log.

Every operation is also a Python method on :class:`Admin` (``sandbox.admin``), so in-process
tests do not need HTTP for set-up. Changes made "as a user" fire webhooks exactly like API
writes. Admin calls are never rate limited, faulted or logged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from clio_xero_tools.sandbox._base import FaultPlan
from clio_xero_tools.sandbox.xero.common import ApiError, ElementError
from clio_xero_tools.sandbox.xero.contacts import apply_contact, contact_json
from clio_xero_tools.sandbox.xero.documents import apply_document, document_json, event_data
from clio_xero_tools.sandbox.xero.payments import create_payment, payment_json, remove_payment
from clio_xero_tools.sandbox.xero.ratelimit import XeroLimits
from clio_xero_tools.sandbox.xero.routes import Match, Router
from clio_xero_tools.sandbox.xero.seed import seed_org
from clio_xero_tools.sandbox.xero.settings import account_json, apply_bank_transaction, bank_transaction_json

if TYPE_CHECKING:
    from clio_xero_tools.sandbox.xero.app import XeroSandbox
    from clio_xero_tools.sandbox.xero.store import DocKind

__all__ = ["Admin", "AdminError"]

Json = dict[str, Any]


class AdminError(Exception):
    """An admin operation was refused; ``messages`` say why (HTTP 400/404 on the admin surface)."""

    def __init__(self, status: int, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.status = status
        self.messages = list(messages)


class Admin:
    def __init__(self, sandbox: XeroSandbox) -> None:
        self.sb = sandbox

    # ------------------------------------------------------------------ acting as a user

    def _org_ctx(self, tenant_id: str) -> Any:
        if tenant_id not in self.sb.store.orgs:
            raise AdminError(404, f"no organisation {tenant_id}")
        return self.sb.user_ctx(tenant_id)

    def create_contact(self, tenant_id: str, fields: Json) -> Json:
        """A user adds a contact in the web app."""
        ctx = self._org_ctx(tenant_id)
        with self.sb.store.lock:
            try:
                contact = apply_contact(ctx.org, None, fields, ctx.now)
            except ElementError as exc:
                raise AdminError(400, *exc.messages) from None
            ctx.emit("CONTACT", "CREATE", contact.contact_id, None)
            return contact_json(contact)

    def update_contact(self, tenant_id: str, contact_id: str, fields: Json) -> Json:
        """A user edits a contact (rename, archive, change email...) in the web app."""
        ctx = self._org_ctx(tenant_id)
        with self.sb.store.lock:
            contact = ctx.org.contacts.get(contact_id.lower())
            if contact is None:
                raise AdminError(404, f"no contact {contact_id}")
            try:
                apply_contact(ctx.org, contact, fields, ctx.now)
            except ElementError as exc:
                raise AdminError(400, *exc.messages) from None
            ctx.emit("CONTACT", "UPDATE", contact.contact_id, None)
            return contact_json(contact)

    def merge_contacts(self, tenant_id: str, merge_id: str, into_id: str) -> Json:
        """The web app's merge: ``merge_id`` is archived with ``MergedToContactID`` = ``into_id``
        and its documents move to ``into_id``."""
        ctx = self._org_ctx(tenant_id)
        org = ctx.org
        with self.sb.store.lock:
            src, dst = org.contacts.get(merge_id.lower()), org.contacts.get(into_id.lower())
            if src is None or dst is None or src is dst:
                raise AdminError(404, "both contacts must exist and differ")
            for coll in (org.invoices, org.credit_notes):
                for doc in coll.values():
                    if doc.contact_id == src.contact_id:
                        doc.contact_id = dst.contact_id
                        doc.updated = ctx.now
            src.status, src.merged_to, src.updated = "ARCHIVED", dst.contact_id, ctx.now
            dst.is_customer = dst.is_customer or src.is_customer
            dst.updated = ctx.now
            ctx.emit("CONTACT", "UPDATE", src.contact_id, None)
            ctx.emit("CONTACT", "UPDATE", dst.contact_id, None)
            return contact_json(src)

    def update_invoice(self, tenant_id: str, invoice_id: str, fields: Json, *, kind: str = "invoice") -> Json:
        """A user edits/approves/voids an invoice (or credit note) in the web app."""
        ctx = self._org_ctx(tenant_id)
        with self.sb.store.lock:
            doc_kind: DocKind = "invoice" if kind == "invoice" else "creditnote"
            doc = ctx.org.document(doc_kind, invoice_id.lower())
            if doc is None:
                raise AdminError(404, f"no {kind} {invoice_id}")
            try:
                apply_document(ctx, doc.kind, doc, fields)
            except ElementError as exc:
                raise AdminError(400, *exc.messages) from None
            ctx.emit("INVOICE" if doc.kind == "invoice" else "CREDITNOTE", "UPDATE", doc.doc_id, event_data(doc))
            return document_json(ctx.org, doc)

    def create_invoice(self, tenant_id: str, fields: Json) -> Json:
        """A user raises an invoice (or, with ``Type: ACCRECCREDIT``, a credit note) in the web app."""
        ctx = self._org_ctx(tenant_id)
        kind: DocKind = "creditnote" if str(fields.get("Type", "")).endswith("CREDIT") else "invoice"
        with self.sb.store.lock:
            try:
                doc = apply_document(ctx, kind, None, fields)
            except ElementError as exc:
                raise AdminError(400, *exc.messages) from None
            ctx.emit("INVOICE" if kind == "invoice" else "CREDITNOTE", "CREATE", doc.doc_id, event_data(doc))
            return document_json(ctx.org, doc)

    def record_payment(self, tenant_id: str, fields: Json) -> Json:
        """A user records a manual payment (``{"Invoice":{"InvoiceID"}, "Account":{"Code"}, "Amount", "Date"}``).

        As in the web app's "Receive a payment" box, ``Amount`` defaults to what is still due and
        ``Account`` to the first ACTIVE bank account by code; the invoice webhook fires."""
        ctx = self._org_ctx(tenant_id)
        with self.sb.store.lock:
            fields = dict(fields)
            invoice = fields.get("Invoice")
            doc = ctx.org.invoices.get(str(invoice.get("InvoiceID", "")).lower()) if isinstance(invoice, dict) else None
            if "Amount" not in fields and doc is not None:
                fields["Amount"] = str(doc.amount_due)
            if "Account" not in fields:
                banks = sorted(
                    (a for a in ctx.org.accounts.values() if a.type == "BANK" and a.status == "ACTIVE" and a.code),
                    key=lambda a: str(a.code),
                )
                if banks:
                    fields["Account"] = {"AccountID": banks[0].account_id}
            try:
                payment = create_payment(ctx, fields)
            except ElementError as exc:
                raise AdminError(400, *exc.messages) from None
            return payment_json(ctx.org, payment)

    def delete_payment(self, tenant_id: str, payment_id: str) -> Json:
        """A user deletes a payment (e.g. to void the invoice or correct an amount); the invoice
        goes back to AUTHORISED and an INVOICE UPDATE webhook event is raised."""
        ctx = self._org_ctx(tenant_id)
        with self.sb.store.lock:
            payment = ctx.org.payments.get(payment_id.lower())
            if payment is None:
                raise AdminError(404, f"no payment {payment_id}")
            try:
                remove_payment(ctx, payment)
            except ElementError as exc:
                raise AdminError(400, *exc.messages) from None
            return payment_json(ctx.org, payment)

    def create_bank_transaction(self, tenant_id: str, fields: Json) -> Json:
        """A user enters spend or receive money (``{"Type","Contact","BankAccount","LineItems",...}``)
        or, with ``BankTransactionID``, edits, reconciles (``IsReconciled``) or deletes one."""
        ctx = self._org_ctx(tenant_id)
        with self.sb.store.lock:
            existing = None
            if fields.get("BankTransactionID"):
                existing = ctx.org.bank_transactions.get(str(fields["BankTransactionID"]).lower())
                if existing is None:
                    raise AdminError(404, f"no bank transaction {fields['BankTransactionID']}")
            try:
                bt = apply_bank_transaction(ctx, existing, fields)
            except ElementError as exc:
                raise AdminError(400, *exc.messages) from None
            return bank_transaction_json(ctx.org, bt)

    def update_account(self, tenant_id: str, code: str, fields: Json) -> Json:
        """A user edits the chart of accounts (e.g. ``{"Status": "ARCHIVED"}``)."""
        ctx = self._org_ctx(tenant_id)
        with self.sb.store.lock:
            account = ctx.org.account_by_code(code)
            if account is None:
                raise AdminError(404, f"no account {code}")
            for key, attr in (("Status", "status"), ("Name", "name"), ("EnablePaymentsToAccount", "enable_payments"),
                              ("TaxType", "tax_type")):  # fmt: skip
                if key in fields:
                    setattr(account, attr, fields[key])
            account.updated = ctx.now
            return account_json(account)

    # ------------------------------------------------------------------ HTTP surface

    @staticmethod
    def rules() -> list[Rule]:
        """The admin surface as werkzeug rules (endpoint ``admin:<name>`` calls ``_<name>``)."""
        r, t = "/_sandbox", "/_sandbox/tenants/<tenant>"

        def rule(path: str, name: str, *methods: str) -> Rule:
            return Rule(path, endpoint=f"admin:{name}", methods=list(methods))

        return [
            rule(r, "index", "GET"),
            rule(f"{r}/organisations", "organisations", "GET", "POST"),
            rule(f"{r}/seed", "seed", "POST"),
            rule(f"{r}/tokens", "tokens", "POST"),
            rule(f"{r}/connections", "connections", "GET"),
            rule(f"{r}/clock", "clock", "GET"),
            rule(f"{r}/clock/advance", "advance", "POST"),
            rule(f"{r}/faults", "faults", "GET", "PUT", "POST", "DELETE"),
            rule(f"{r}/limits", "limits", "GET", "PUT", "POST"),
            rule(f"{r}/requests", "requests", "GET", "DELETE"),
            rule(f"{r}/schema-violations", "violations", "GET"),
            rule(f"{r}/webhook", "webhook", "GET", "PUT", "POST", "DELETE"),
            rule(f"{r}/webhook/enable", "webhook_enable", "POST"),
            rule(f"{r}/webhook/deliver", "webhook_deliver", "POST"),
            rule(f"{t}/disconnect", "disconnect", "POST"),
            rule(f"{t}/contacts", "contact_create", "POST"),
            rule(f"{t}/contacts/merge", "contact_merge", "POST"),
            rule(f"{t}/contacts/<contact>", "contact_update", "POST"),
            rule(f"{t}/<any(invoices, creditnotes):what>", "document_create", "POST"),
            rule(f"{t}/<any(invoices, creditnotes):what>/<doc>", "document_update", "POST"),
            rule(f"{t}/payments", "payment_create", "POST"),
            rule(f"{t}/payments/<payment>", "payment_delete", "DELETE"),
            rule(f"{t}/accounts/<code>", "account_update", "POST"),
            rule(f"{t}/banktransactions", "bank_transaction", "POST"),
        ]

    @property
    def router(self) -> Router:
        return _ROUTER

    def dispatch(self, request: Request, match: Match) -> Response:
        try:
            body = json.loads(request.get_data() or b"{}")
            if not isinstance(body, dict):
                raise AdminError(400, "body must be a JSON object")
            name = str(match.endpoint).removeprefix("admin:")
            handler: Callable[..., tuple[int, Any]] = getattr(self, f"_{name}")
            status, result = handler(request.method, body, *match.args)
        except AdminError as exc:
            status, result = exc.status, {"errors": exc.messages}
        except ApiError as exc:
            status, result = exc.reply.status, exc.reply.body
        except (ValueError, KeyError, TypeError) as exc:
            status, result = 400, {"errors": [str(exc)]}
        return Response(json.dumps(result, default=str), status=status, content_type="application/json")

    def _index(self, _method: str, _body: Json) -> tuple[int, Any]:
        return 200, {"endpoints": _ENDPOINTS}

    def _organisations(self, method: str, body: Json) -> tuple[int, Any]:
        sb = self.sb
        if method == "POST":
            org = sb.create_organisation(
                body["name"], country=body.get("country", "AU"), organisation_id=body.get("organisationId")
            )
            return 201, _org_summary(org)
        return 200, [_org_summary(o) for o in sb.store.orgs.values()]

    def _seed(self, _method: str, body: Json) -> tuple[int, Any]:
        result = seed_org(
            self.sb,
            tenant_id=body.get("tenantId"),
            name=body.get("name", "Sandbox Legal Pty Ltd"),
            country=body.get("country", "AU"),
            matching_contacts=[(str(p[0]), str(p[1])) for p in body.get("matching_contacts", [])],
            near_matches=int(body.get("near_matches", 10)),
            extra_contacts=int(body.get("extra_contacts", 20)),
            seed=int(body.get("seed", 0)),
        )
        return 201, asdict(result)

    def _tokens(self, _method: str, body: Json) -> tuple[int, Any]:
        return 200, self.sb.issue_tokens(body.get("tenantIds"), user_id=body.get("userId", "sandbox-user"))

    def _connections(self, _method: str, _body: Json) -> tuple[int, Any]:
        return 200, [{**c.as_json(), "userId": c.user_id} for c in self.sb.identity.all_connections()]

    def _clock(self, _method: str, _body: Json) -> tuple[int, Any]:
        return 200, {"now": self.sb.clock.now().isoformat()}

    def _advance(self, method: str, body: Json) -> tuple[int, Any]:
        advance = getattr(self.sb.clock, "advance", None)
        if advance is None:
            raise AdminError(400, "this sandbox clock cannot be moved")
        advance(float(body.get("seconds", 0)))
        return self._clock(method, body)

    def _faults(self, method: str, body: Json) -> tuple[int, Any]:
        if method in ("PUT", "POST"):
            self.sb.set_faults(FaultPlan.from_dict(body))
        elif method == "DELETE":
            self.sb.set_faults(FaultPlan())
        return 200, {k: v for k, v in asdict(self.sb.faults).items() if k != "rng"}

    def _limits(self, method: str, body: Json) -> tuple[int, Any]:
        if method in ("PUT", "POST"):
            self.sb.set_limits(XeroLimits(**{**asdict(self.sb.limits), **body}))
        return 200, asdict(self.sb.limits)

    def _requests(self, method: str, _body: Json) -> tuple[int, Any]:
        if method == "DELETE":
            self.sb.request_log.clear()
            return 200, []
        return 200, self.sb.request_log.as_dicts()

    def _violations(self, _method: str, _body: Json) -> tuple[int, Any]:
        return 200, list(self.sb.schema_violations)

    def _webhook(self, method: str, body: Json) -> tuple[int, Any]:
        if method in ("PUT", "POST"):
            self.sb.configure_webhook(body["url"], body["key"])
        elif method == "DELETE":
            self.sb.webhooks.remove()
        return 200, self.sb.webhooks.info()

    def _webhook_enable(self, _method: str, _body: Json) -> tuple[int, Any]:
        self.sb.webhooks.enable()
        return 200, self.sb.webhooks.info()

    def _webhook_deliver(self, _method: str, _body: Json) -> tuple[int, Any]:
        return 200, {"posts": self.sb.deliver_due_webhooks(), **self.sb.webhooks.info()}

    def _disconnect(self, _method: str, _body: Json, tenant: str) -> tuple[int, Any]:
        return 200, {"disconnected": self.sb.identity.disconnect_tenant(tenant)}

    def _contact_create(self, _method: str, body: Json, tenant: str) -> tuple[int, Any]:
        return 201, self.create_contact(tenant, body)

    def _contact_merge(self, _method: str, body: Json, tenant: str) -> tuple[int, Any]:
        return 200, self.merge_contacts(tenant, body["merge"], body["into"])

    def _contact_update(self, _method: str, body: Json, tenant: str, contact: str) -> tuple[int, Any]:
        return 200, self.update_contact(tenant, contact, body)

    def _document_create(self, _method: str, body: Json, tenant: str, _what: str) -> tuple[int, Any]:
        return 201, self.create_invoice(tenant, body)

    def _document_update(self, _method: str, body: Json, tenant: str, what: str, doc: str) -> tuple[int, Any]:
        return 200, self.update_invoice(tenant, doc, body, kind=what.lower()[:-1])

    def _payment_create(self, _method: str, body: Json, tenant: str) -> tuple[int, Any]:
        return 201, self.record_payment(tenant, body)

    def _payment_delete(self, _method: str, _body: Json, tenant: str, payment: str) -> tuple[int, Any]:
        return 200, self.delete_payment(tenant, payment)

    def _bank_transaction(self, _method: str, body: Json, tenant: str) -> tuple[int, Any]:
        return 201, self.create_bank_transaction(tenant, body)

    def _account_update(self, _method: str, body: Json, tenant: str, code: str) -> tuple[int, Any]:
        return 200, self.update_account(tenant, code, body)


def _org_summary(org: Any) -> Json:
    return {"organisationId": org.organisation_id, "name": org.name, "country": org.country,
            "baseCurrency": org.base_currency, "contacts": len(org.contacts)}  # fmt: skip


_ENDPOINTS = [
    "GET  /_sandbox/organisations | POST {name, country?, organisationId?}",
    "POST /_sandbox/seed {tenantId?, name?, country?, matching_contacts, near_matches, extra_contacts, seed}",
    "POST /_sandbox/tokens {tenantIds?, userId?} -> token response (skips the browser)",
    "GET  /_sandbox/connections",
    "GET  /_sandbox/clock | POST /_sandbox/clock/advance {seconds}",
    "GET|PUT|DELETE /_sandbox/faults (FaultPlan fields)",
    "GET|PUT /_sandbox/limits {concurrent, per_minute, per_day, app_per_minute}",
    "GET|DELETE /_sandbox/requests",
    "GET  /_sandbox/schema-violations",
    "GET|PUT|DELETE /_sandbox/webhook {url, key} | POST /_sandbox/webhook/enable | POST /_sandbox/webhook/deliver",
    "POST /_sandbox/tenants/{id}/disconnect",
    "POST /_sandbox/tenants/{id}/contacts {fields} | /contacts/{ContactID} {fields} | /contacts/merge {merge, into}",
    "POST /_sandbox/tenants/{id}/invoices {fields} | /invoices/{InvoiceID} {fields} (same for creditnotes)",
    "POST /_sandbox/tenants/{id}/payments {Invoice, Account, Amount, Date} | DELETE .../payments/{PaymentID}",
    "POST /_sandbox/tenants/{id}/accounts/{Code} {Status|Name|EnablePaymentsToAccount|TaxType}",
    "POST /_sandbox/tenants/{id}/banktransactions {fields} (spend/receive money; with BankTransactionID: edit)",
]


_ROUTER = Router(Admin.rules())
