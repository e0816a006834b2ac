"""The Xero sandbox: one WSGI app serving identity, accounting and the ``/_sandbox`` admin surface.

Request pipeline for ``/api.xro/2.0/...`` (the order matters and mirrors what clients observe):

1. Bearer token → 401 problem-details (``TokenExpired: ...`` once expired).
2. ``xero-tenant-id`` must name an org this token's user has connected → else 403.
3. Faults (seeded): added latency, ``burst_429``, random 5xx / 503 "Organisation offline".
4. Rate limits (per tenant 5 concurrent / 60 per minute / N per day, app 10,000 per minute) →
   429 with ``Retry-After`` and ``X-Rate-Limit-Problem``; the remaining-quota headers go on every
   tenant response.
5. ``Idempotency-Key`` replay / conflict (after the limits: replays still count, docs/facts-xero.md#idempotency).
6. The resource handler, under the store lock; changes queue webhook events.
7. Timeout fault: the work is done but the client gets ``httpx.ReadTimeout`` (in-process) or no
   answer within its timeout (served), the nastiest case for retries.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import httpx
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from clio_xero.clock import Clock, OffsetClock
from clio_xero_tools.sandbox._base import FaultPlan, LoggedRequest, RequestLog
from clio_xero_tools.sandbox.openapi import SpecName, SpecValidator
from clio_xero_tools.sandbox.xero import contacts, documents, payments, reports, settings, tracking, transfers
from clio_xero_tools.sandbox.xero.admin import Admin
from clio_xero_tools.sandbox.xero.chart import new_org
from clio_xero_tools.sandbox.xero.common import ApiError, Ctx, Reply, not_found, simple_validation_error
from clio_xero_tools.sandbox.xero.formats import new_guid
from clio_xero_tools.sandbox.xero.idempotency import MAX_KEY_LENGTH, IdempotencyStore, StoredResponse, fingerprint
from clio_xero_tools.sandbox.xero.identity import DEFAULT_USER, Identity, OAuthError
from clio_xero_tools.sandbox.xero.ratelimit import RateLimiter, XeroLimits
from clio_xero_tools.sandbox.xero.routes import Match, Router
from clio_xero_tools.sandbox.xero.store import Org, Store
from clio_xero_tools.sandbox.xero.webhooks import Webhooks

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["SchemaViolationError", "XeroSandbox"]

Json = dict[str, Any]
API_PREFIX = "/api.xro/2.0/"
DEFAULT_SCOPE = (
    "openid profile email offline_access accounting.contacts accounting.invoices accounting.payments "
    "accounting.banktransactions accounting.settings accounting.reports.banksummary.read"
)
# Resource -> scopes that grant it (docs/facts-xero.md#scopes: granular 2026 scopes, or the legacy broad one).
_SCOPES: dict[str, tuple[str, ...]] = {
    "contacts": ("accounting.contacts",),
    "invoices": ("accounting.invoices", "accounting.transactions"),
    "creditnotes": ("accounting.invoices", "accounting.transactions"),
    "items": ("accounting.invoices", "accounting.settings", "accounting.transactions"),
    "payments": ("accounting.payments", "accounting.transactions"),
    "banktransactions": ("accounting.banktransactions", "accounting.transactions"),
    "banktransfers": ("accounting.banktransactions", "accounting.transactions"),
    "accounts": ("accounting.settings",),
    "taxrates": ("accounting.settings",),
    "currencies": ("accounting.settings",),
    "organisation": ("accounting.settings",),
    "trackingcategories": ("accounting.settings",),
    # The broad report scope, or the 2026 granular one for the one report modelled (docs/facts-xero.md#scopes).
    "reports": ("accounting.reports.read", "accounting.reports.banksummary.read"),
}


def has_scope(granted: str, method: str, rest: str) -> bool:
    """Whether ``granted`` allows ``method`` on the resource; ``<scope>.read`` allows GET only."""
    resource = rest.strip("/").split("/")[0].lower()
    have = set(granted.split())
    for scope in _SCOPES.get(resource, ()):
        if scope in have or (method == "GET" and f"{scope}.read" in have):
            return True
    return resource not in _SCOPES  # unknown resources answer 404 later


# Responses whose bodies the official spec does not describe (401/403/404/429/5xx) are not checked;
# these deliberate deviations are listed in docs/sandbox-xero.md.
_UNDOCUMENTED = "undocumented:"


class SchemaViolationError(AssertionError):
    """A sandbox response does not validate against the official OpenAPI document."""


class XeroSandbox:
    """An in-memory Xero (identity + accounting + webhooks) that speaks the real wire format.

    Parameters
    ----------
    clock:
        Sandbox time. Tests pass a ``ManualClock``; the default ``OffsetClock`` is wall time plus
        an offset the admin surface can advance.
    limits:
        Rate limits (``XeroLimits(per_day=1000)`` models the Starter tier).
    webhook_transport:
        httpx transport for webhook POSTs (``None``: real HTTP, e.g. to a loopback receiver).
    faults:
        Seeded fault plan; replace later with :meth:`set_faults` or ``POST /_sandbox/faults``.
    validate_responses:
        Check every JSON body against Xero's OpenAPI documents and raise
        :class:`SchemaViolationError` on a mismatch (tests turn this on).

    Examples
    --------
    >>> sb = XeroSandbox(clock=ManualClock())
    >>> org = sb.create_organisation("Demo Law")
    >>> tokens = sb.issue_tokens([org.organisation_id])
    >>> client = httpx.Client(transport=wsgi_transport(sb.wsgi_app), base_url="http://xero.test")
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        limits: XeroLimits | None = None,
        webhook_transport: httpx.BaseTransport | None = None,
        faults: FaultPlan | None = None,
        validate_responses: bool = False,
        client_id: str = "xero-sandbox-client",
        client_secret: str = "xero-sandbox-secret",  # noqa: S107 - a sandbox-only, documented dummy
    ) -> None:
        self.clock: Clock = clock or OffsetClock()
        self.store = Store()
        self.identity = Identity(self.clock, client_id, client_secret)
        self.rate_limiter = RateLimiter(self.clock, limits or XeroLimits())
        self.idempotency = IdempotencyStore(self.clock)
        self.faults = faults or FaultPlan()
        self._burst_left = self.faults.burst_429
        self.request_log = RequestLog()
        self.validate_responses = validate_responses
        self.schema_violations: list[str] = []
        self.provider_name = "clio-xero sandbox"
        #: What webhook ``resourceUrl`` values start with. ``None``: the base URL of the latest
        #: accounting request (so a served sandbox points back at itself), else Xero's.
        self.public_base_url: str | None = None
        self._seen_base_url: str | None = None
        #: Called with the tenant id while a request holds its concurrency slot (tests use it to
        #: keep requests in flight deterministically).
        self.request_hook: Callable[[str], None] | None = None
        #: Served mode: seconds a "timeout" fault keeps the connection silent.
        self.timeout_sleep_seconds = 30.0
        self.webhooks = Webhooks(
            self.clock,
            lambda: self.faults,
            webhook_transport,
            base_url=lambda: self.resource_base_url,
            validate=self._validate_webhook if validate_responses else None,
        )
        self._fault_lock = threading.Lock()
        #: Python equivalents of the admin surface (act as a user, merge contacts, ...).
        self.admin = Admin(self)
        self.wsgi_app: Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]] = self._wsgi

    # ------------------------------------------------------------------ python admin API

    @property
    def resource_base_url(self) -> str:
        return self.public_base_url or self._seen_base_url or "https://api.xero.com"

    @property
    def limits(self) -> XeroLimits:
        return self.rate_limiter.limits

    def set_limits(self, limits: XeroLimits) -> None:
        self.rate_limiter.limits = limits

    def set_faults(self, faults: FaultPlan) -> None:
        with self._fault_lock:
            self.faults = faults
            self._burst_left = faults.burst_429

    def create_organisation(self, name: str, *, country: str = "AU", organisation_id: str | None = None) -> Org:
        """A new org (tenant) with Xero's default chart for ``country`` (AU, NZ, UK, US)."""
        org = new_org(name, country, self.clock.now(), organisation_id)
        with self.store.lock:
            self.store.orgs[org.organisation_id] = org
        return org

    def org(self, tenant_id: str) -> Org:
        return self.store.orgs[tenant_id]

    def issue_tokens(
        self, tenant_ids: Iterable[str] | None = None, *, user_id: str = DEFAULT_USER, scope: str = DEFAULT_SCOPE
    ) -> Json:
        """Connect orgs for ``user_id`` and return a token response, skipping the browser step."""
        ids = list(tenant_ids) if tenant_ids is not None else list(self.store.orgs)
        tenants = [(t, self.store.orgs[t].name) for t in ids]
        return self.identity.issue(user_id, tenants, scope)

    def configure_webhook(self, url: str, key: str) -> None:
        """Set the app's one webhook (delivery URL + key); intent to receive runs on next delivery."""
        self.webhooks.configure(url, key)

    def deliver_due_webhooks(self) -> int:
        """Send every webhook ITR/delivery/retry due by the sandbox clock; return POSTs made."""
        return self.webhooks.deliver_due()

    def emit(self, tenant_id: str, category: str, event_type: str, resource_id: str, data: Json | None = None) -> None:
        """Queue a webhook event. Xero sends events only for orgs connected to the app (§2)."""
        if any(c.tenant_id == tenant_id for c in self.identity.all_connections()):
            self.webhooks.record(tenant_id, category, event_type, resource_id, data)

    def user_ctx(self, tenant_id: str) -> Ctx:
        """A context for changes made "as a user in the web app" (admin surface, seed)."""
        return Ctx(
            org=self.store.orgs[tenant_id],
            tenant_id=tenant_id,
            request=Request.from_values("/"),
            now=self.clock.now(),
            provider_name="Xero",
            emit=lambda c, t, r, d: self.emit(tenant_id, c, t, r, d),
            base_url=self.resource_base_url,
        )

    # ------------------------------------------------------------------ WSGI

    def _wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        path = request.path
        admin = self.admin.router.match(request.method, path)
        if admin is not None:
            return self.admin.dispatch(request, admin)(environ, start_response)
        tenant: str | None = None
        timeout = False
        try:
            identity = _IDENTITY_ROUTER.match(request.method, path)
            if identity is not None:
                reply = self._identity(request, identity)
            elif path.lower().startswith(API_PREFIX.lower()):
                tenant = request.headers.get("xero-tenant-id")
                self._seen_base_url = request.host_url.rstrip("/")
                reply, timeout = self._accounting(request)
            else:
                reply = not_found()
        except ApiError as exc:
            reply = exc.reply
        self.request_log.add(LoggedRequest(request.method, path, reply.status, tenant, self.clock.now().isoformat()))
        self._check_schema(request, reply)
        if timeout:
            if environ.get("wsgi.multithread") and "werkzeug.socket" in environ:
                time.sleep(self.timeout_sleep_seconds)  # served: stay silent past the client's timeout
            else:
                raise httpx.ReadTimeout("sandbox fault: the request was processed but timed out")
        return _to_response(reply)(environ, start_response)

    # ------------------------------------------------------------------ identity

    def _identity(self, request: Request, match: Match) -> Reply:
        endpoint = match.endpoint
        try:
            if endpoint == "authorize":
                return self._authorize(request)
            if endpoint == "token":
                form = {k: str(v) for k, v in request.form.items()}
                return Reply(200, self.identity.token(form, request.headers.get("Authorization")),
                             {"Cache-Control": "no-store"})  # fmt: skip
            if endpoint == "revocation":
                form = {k: str(v) for k, v in request.form.items()}
                self.identity.revoke(form, request.headers.get("Authorization"))
                return Reply(200)
        except OAuthError as exc:
            return Reply(exc.status, exc.body())
        grant = self.identity.access(request.headers.get("Authorization"))
        if isinstance(grant, str):
            return _problem(401, "Unauthorized", grant)
        if endpoint == "connections":
            event = request.args.get("authEventId")
            return Reply(200, [c.as_json() for c in self.identity.connections(grant.user_id, event)])
        if self.identity.delete_connection(grant.user_id, match.args[0].lower()):
            return Reply(204)
        return Reply(404)

    def _authorize(self, request: Request) -> Reply:
        args = request.args
        if args.get("response_type") != "code":
            return Reply(400, {"error": "unsupported_response_type"})
        wanted = args.get("sandbox_tenant_ids")  # sandbox-only: pick orgs on the "consent screen"
        ids = [t for t in (wanted.split(",") if wanted else list(self.store.orgs)) if t in self.store.orgs]
        try:
            code = self.identity.authorize(
                client_id=args.get("client_id", ""),
                redirect_uri=args.get("redirect_uri", ""),
                scope=args.get("scope", ""),
                tenants=[(t, self.store.orgs[t].name) for t in ids],
                user_id=args.get("sandbox_user", DEFAULT_USER),
            )
        except OAuthError as exc:
            return Reply(exc.status, exc.body())
        query = {"code": code, "scope": args.get("scope", "")}
        if "state" in args:
            query["state"] = args["state"]
        redirect = args["redirect_uri"]
        sep = "&" if "?" in redirect else "?"
        return Reply(302, None, {"Location": f"{redirect}{sep}{urllib.parse.urlencode(query)}"})

    # ------------------------------------------------------------------ accounting

    def _accounting(self, request: Request) -> tuple[Reply, bool]:
        grant = self.identity.access(request.headers.get("Authorization"))
        if isinstance(grant, str):
            return _problem(401, "Unauthorized", grant, {"WWW-Authenticate": "Bearer"}), False
        tenant = (request.headers.get("xero-tenant-id") or "").strip().lower()
        # The quota headers go on every answer about a real org, refusals included.
        quota = self.rate_limiter.headers(tenant) if tenant in self.store.orgs else {}
        if not tenant or tenant not in self.store.orgs or tenant not in self.identity.connected_tenants(grant.user_id):
            return _problem(403, "Forbidden", "AuthenticationUnsuccessful", quota), False
        if not has_scope(grant.scope, request.method, request.path[len(API_PREFIX) :]):
            # UNCONFIRMED detail text; Xero answers a missing scope with 401.
            return _problem(401, "Unauthorized", "AuthorizationUnsuccessful", quota), False
        fault = self._roll_faults()
        if fault is not None:
            fault.headers.update(self.rate_limiter.headers(tenant))
            return fault, False
        decision = self.rate_limiter.acquire(tenant)
        if not decision.allowed:
            headers = dict(decision.headers)
            headers["X-Rate-Limit-Problem"] = decision.problem or ""
            if decision.retry_after is not None:
                headers["Retry-After"] = str(decision.retry_after)
            return _problem(429, "Too Many Requests", f"Rate limit exceeded: {decision.problem}", headers), False
        try:
            if self.request_hook is not None:
                self.request_hook(tenant)
            reply = self._idempotent(request, tenant)
        finally:
            self.rate_limiter.release(tenant)
        reply.headers.update(self.rate_limiter.headers(tenant))
        timeout = self.faults.roll(self.faults.timeout_rate)
        return reply, timeout

    def _roll_faults(self) -> Reply | None:
        plan = self.faults
        if plan.latency_ms:
            time.sleep(plan.latency_ms / 1000)  # real wall time, see FaultPlan
        with self._fault_lock:
            if self._burst_left > 0:
                self._burst_left -= 1
                return _problem(429, "Too Many Requests", "Rate limit exceeded: minute",
                                {"X-Rate-Limit-Problem": "minute", "Retry-After": "60"})  # fmt: skip
            if plan.roll(plan.error_rate):
                status = plan.rng.choice(plan.status_codes)
                if status == 503:
                    # Xero's "Organisation offline" answer is plain text (docs/facts-xero.md#errors).
                    return Reply(503, "Organisation offline")
                return Reply(status, {"Title": "An error occurred", "Status": status, "Detail": "Internal error"})
            return None

    def _idempotent(self, request: Request, tenant: str) -> Reply:
        key = request.headers.get("Idempotency-Key")
        if not key or request.method not in ("POST", "PUT", "PATCH"):
            return self._handle(request, tenant)
        if len(key) > MAX_KEY_LENGTH:
            return simple_validation_error(f"Idempotency-Key must be {MAX_KEY_LENGTH} characters or fewer.")
        fp = fingerprint(request.method, tenant, request.full_path, request.get_data())
        with self.idempotency.key_lock(key):  # a concurrent duplicate waits for the first call
            found = self.idempotency.lookup(key, fp)
            if found is False:
                return simple_validation_error(f"Idempotency Key: {key} is used with a different request.")
            if isinstance(found, StoredResponse):
                body: Any = found.body.decode("utf-8") if found.body else None
                if body is not None and found.content_type.startswith("application/json"):
                    body = json.loads(body)
                return Reply(found.status, body)
            reply = self._handle(request, tenant)
            # Errors are cached too (docs/facts-xero.md#idempotency): a retry with the same key gets the same error.
            self.idempotency.remember(key, fp, StoredResponse(reply.status, reply.encode(), reply.content_type))
            return reply

    def _handle(self, request: Request, tenant: str) -> Reply:
        with self.store.lock:
            ctx = Ctx(
                org=self.store.orgs[tenant],
                tenant_id=tenant,
                request=request,
                now=self.clock.now(),
                provider_name=self.provider_name,
                emit=lambda c, t, r, d: self.emit(tenant, c, t, r, d),
                base_url=self.resource_base_url,
            )
            match = API_ROUTER.match(request.method, request.path)
            if match is None:
                return not_found()
            try:
                return match.endpoint(ctx, *match.args)  # type: ignore[no-any-return]
            except ApiError as exc:
                return exc.reply

    # ------------------------------------------------------------------ schema fidelity

    def _check_schema(self, request: Request, reply: Reply) -> None:
        if not self.validate_responses or not isinstance(reply.body, dict | list):
            return
        accounting = request.path.lower().startswith(API_PREFIX.lower())
        spec: SpecName = "xero_accounting" if accounting else "xero_identity"
        if not accounting and not request.path.lower().startswith("/connections"):
            return  # the OAuth endpoints are in none of Xero's documents (see docs)
        errors = SpecValidator.for_spec(spec).validate_response(request.method, request.path, reply.status, reply.body)
        if errors and not errors[0].startswith(_UNDOCUMENTED):
            message = f"{request.method} {request.path} {reply.status}: " + "; ".join(errors)
            self.schema_violations.append(message)
            raise SchemaViolationError(message)

    def _validate_webhook(self, payload: Json) -> None:
        v = SpecValidator.for_spec("xero_webhooks")
        errors = v.validate_schema("WebhookEvent", payload)
        for event in payload["events"]:
            if event["eventCategory"] == "CREDITNOTE":
                errors += v.validate_schema("CreditNoteWebhookEvent", {**payload, "events": [event]})
        if errors:
            message = "webhook payload: " + "; ".join(errors)
            self.schema_violations.append(message)
            raise SchemaViolationError(message)


# ---------------------------------------------------------------------------- routing


def _doc(handler: Callable[..., Reply], kind: str) -> Callable[..., Reply]:
    """Bind an /Invoices-or-/CreditNotes handler to its document kind."""
    return lambda ctx, *args: handler(ctx, kind, *args)


_INV, _CN = "/api.xro/2.0/invoices", "/api.xro/2.0/creditnotes"
_A = "/api.xro/2.0"
_TC = "/api.xro/2.0/trackingcategories"
#: Every accounting endpoint: rules in lower case (matching is case-insensitive, see routes.py);
#: a handler is called as ``handler(ctx, *variable segments in path order)``.
API_ROUTER = Router(
    [
        Rule(f"{_A}/contacts", endpoint=contacts.list_contacts, methods=["GET"]),
        Rule(f"{_A}/contacts", endpoint=contacts.write_contacts, methods=["PUT", "POST"]),
        Rule(f"{_A}/contacts/<ref>", endpoint=contacts.get_contact, methods=["GET"]),
        Rule(f"{_A}/contacts/<ref>", endpoint=contacts.write_contacts, methods=["POST"]),
        *(
            rule
            for base, kind in ((_INV, "invoice"), (_CN, "creditnote"))
            for rule in (
                Rule(base, endpoint=_doc(documents.list_documents, kind), methods=["GET"]),
                Rule(base, endpoint=_doc(documents.write_documents, kind), methods=["PUT", "POST"]),
                Rule(f"{base}/<ref>", endpoint=_doc(documents.get_document, kind), methods=["GET"]),
                Rule(f"{base}/<ref>", endpoint=_doc(documents.write_documents, kind), methods=["POST"]),
            )
        ),
        Rule(f"{_CN}/<ref>/allocations", endpoint=documents.allocate, methods=["PUT"]),
        Rule(f"{_CN}/<ref>/allocations/<allocation>", endpoint=documents.delete_allocation, methods=["DELETE"]),
        Rule(f"{_A}/payments", endpoint=payments.list_payments, methods=["GET"]),
        Rule(f"{_A}/payments", endpoint=payments.write_payments, methods=["PUT", "POST"]),
        Rule(f"{_A}/payments/<ref>", endpoint=payments.get_payment, methods=["GET"]),
        Rule(f"{_A}/payments/<ref>", endpoint=payments.delete_payment, methods=["POST"]),
        Rule(f"{_A}/accounts", endpoint=settings.list_accounts, methods=["GET"]),
        Rule(f"{_A}/accounts", endpoint=settings.put_account, methods=["PUT"]),
        Rule(f"{_A}/accounts/<ref>", endpoint=settings.get_account, methods=["GET"]),
        Rule(f"{_A}/accounts/<ref>", endpoint=settings.update_account, methods=["POST"]),
        Rule(f"{_A}/taxrates", endpoint=settings.list_tax_rates, methods=["GET"]),
        Rule(f"{_A}/currencies", endpoint=settings.list_currencies, methods=["GET"]),
        Rule(f"{_A}/currencies", endpoint=settings.put_currency, methods=["PUT"]),
        Rule(f"{_A}/organisation", endpoint=settings.get_organisation, methods=["GET"]),
        Rule(f"{_A}/items", endpoint=settings.list_items, methods=["GET"]),
        Rule(f"{_A}/items", endpoint=settings.write_items, methods=["PUT", "POST"]),
        Rule(f"{_A}/items/<ref>", endpoint=settings.get_item, methods=["GET"]),
        Rule(f"{_A}/items/<ref>", endpoint=settings.write_items, methods=["POST"]),
        Rule(f"{_A}/banktransactions", endpoint=settings.list_bank_transactions, methods=["GET"]),
        Rule(f"{_A}/banktransactions", endpoint=settings.write_bank_transactions, methods=["PUT", "POST"]),
        Rule(f"{_A}/banktransactions/<ref>", endpoint=settings.get_bank_transaction, methods=["GET"]),
        Rule(f"{_A}/banktransactions/<ref>", endpoint=settings.write_bank_transactions, methods=["POST"]),
        Rule(f"{_A}/banktransfers", endpoint=transfers.list_bank_transfers, methods=["GET"]),
        Rule(f"{_A}/banktransfers", endpoint=transfers.put_bank_transfers, methods=["PUT"]),
        Rule(f"{_A}/banktransfers", endpoint=transfers.delete_bank_transfers, methods=["POST"]),
        Rule(f"{_A}/banktransfers/<ref>", endpoint=transfers.get_bank_transfer, methods=["GET"]),
        Rule(f"{_A}/banktransfers/<ref>", endpoint=transfers.delete_bank_transfers, methods=["POST"]),
        Rule(f"{_A}/reports/banksummary", endpoint=reports.bank_summary, methods=["GET"]),
        Rule(f"{_TC}", endpoint=tracking.list_tracking_categories, methods=["GET"]),
        Rule(f"{_TC}", endpoint=tracking.create_tracking_categories, methods=["PUT"]),
        Rule(f"{_TC}/<ref>", endpoint=tracking.get_tracking_category, methods=["GET"]),
        Rule(f"{_TC}/<ref>", endpoint=tracking.update_tracking_category, methods=["POST"]),
        Rule(f"{_TC}/<ref>", endpoint=tracking.delete_tracking_category, methods=["DELETE"]),
        Rule(f"{_TC}/<ref>/options", endpoint=tracking.create_tracking_options, methods=["PUT"]),
        Rule(f"{_TC}/<ref>/options/<option>", endpoint=tracking.update_tracking_option, methods=["POST"]),
        Rule(f"{_TC}/<ref>/options/<option>", endpoint=tracking.delete_tracking_option, methods=["DELETE"]),
    ]
)

#: Identity service paths (also under ``/identity``, the path of Xero's real authorize URL
#: login.xero.com/identity/connect/authorize, so either base URL style works).
_IDENTITY_ROUTER = Router(
    [
        *(
            Rule(f"{prefix}/connect/{name}", endpoint=name, methods=[method])
            for prefix in ("", "/identity")
            for name, method in (("authorize", "GET"), ("token", "POST"), ("revocation", "POST"))
        ),
        Rule("/connections", endpoint="connections", methods=["GET"]),
        Rule("/connections/<connection>", endpoint="disconnect", methods=["DELETE"]),
    ]
)


def _problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> Reply:
    """RFC 7807-style body Xero uses for 401/403/429 (docs/facts-xero.md#errors)."""
    return Reply(
        status,
        {"Type": None, "Title": title, "Status": status, "Detail": detail, "Instance": new_guid(), "Extensions": {}},
        dict(headers or {}),
    )


def _to_response(reply: Reply) -> Response:
    if reply.body is None:
        return Response(b"", status=reply.status, headers=reply.headers)
    return Response(reply.encode(), status=reply.status, headers=reply.headers, content_type=reply.content_type)
