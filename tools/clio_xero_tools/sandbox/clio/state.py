""":class:`ClioFirm`: the state of one fake Clio firm and the Python face of the admin surface.

The HTTP face (:class:`~.app.ClioApp`) sits above this module and :class:`~.sandbox.ClioSandbox`
joins the two, so no module here imports one that imports it back."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import httpx

from clio_xero.clock import Clock, ManualClock, OffsetClock
from clio_xero_tools.sandbox._base import FaultPlan, RequestLog
from clio_xero_tools.sandbox.openapi import SpecValidator

from . import domain
from .api_errors import bad_request
from .deviations import DEVIATIONS, Deviation, filter_violations
from .fields import Selection
from .oauth import OAuthServer
from .ratelimit import RateLimiter
from .resources import REGISTRY, render
from .store import Record, Store
from .webhooks import WebhookHub

CURRENCIES = (("USD", "$"), ("CAD", "$"), ("EUR", "€"), ("GBP", "£"), ("AUD", "$"))


class ClioFirm:
    """One fake firm: its store, OAuth server, rate limiter, webhook hub and admin operations."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        rate_limit_per_minute: int = 50,
        access_token_ttl: int = 30 * 24 * 3600,
        webhook_transport: httpx.BaseTransport | None = None,
        faults: FaultPlan | None = None,
        validate_responses: bool = False,
        client_id: str = "clio-sandbox-client",
        client_secret: str = "clio-sandbox-secret",  # noqa: S107 - a sandbox's well-known test secret
    ) -> None:
        self.clock: Clock = clock or OffsetClock()
        self.store = Store(self.clock)
        self.oauth = OAuthServer(self.clock, client_id, client_secret, access_token_ttl)
        self.limiter = RateLimiter(rate_limit_per_minute)
        self.faults = faults
        self.webhook_transport = webhook_transport
        self.validate_responses = validate_responses
        self.schema_violations: list[str] = []
        self.last_seed: dict[str, Any] | None = None  # FirmSeed.summary() of the last admin seed
        self.request_log = RequestLog()
        self.hub = WebhookHub(self.store, lambda: self.faults)
        self._deliver_lock = threading.Lock()
        self._bootstrap()

    # -- the firm every sandbox starts with ------------------------------------------------------
    def _bootstrap(self) -> None:
        with self.store.muted():
            owner = self.add_user("Alex", "Owner", "alex.owner@sandbox-firm.test", account_owner=True)
            self.default_user_id = owner.id
            for code, sign in CURRENCIES:
                self.store.insert("currencies", {"code": code, "sign": sign})
            self.store.insert(
                "billing_settings",
                {
                    "rounded_duration": 0.1,
                    "rounding": 6,
                    "use_decimal_rounding": True,
                    "currency": "USD",
                    "currency_sign": "$",
                    "tax_rate": 10.0,
                    "tax_name": "GST",
                    "apply_tax_by_default": True,
                    "apply_secondary_tax_by_default": False,
                    "use_secondary_tax": True,
                    "secondary_tax_rate": 5.0,
                    "secondary_tax_rule": "Pre",
                    "secondary_tax_name": "PST",
                    "multi_currency_billing": False,
                    "use_utbms_codes": False,
                },
            )
            # What every bill points at: the firm's group and its default bill theme.
            self.store.insert("groups", {"name": "Sandbox Firm", "type": "AccountGroup", "client_connect_user": False})
            self.store.insert(
                "bill_themes",
                {"account_id": 1, "default": True, "name": "Default", "config": '{"layout":"standard"}'},
            )
            domain.create_bank_account(
                self.store,
                {"name": "Operating Account", "type": "Operating", "default_account": True},
                user_id=owner.id,
            )
            domain.create_bank_account(self.store, {"name": "Client Trust Account", "type": "Trust"}, user_id=owner.id)

    def add_user(self, first: str, last: str, email: Any = None, *, account_owner: bool = False) -> Record:
        with self.store.lock:
            return self.store.insert(
                "users",
                {
                    "first_name": first,
                    "last_name": last,
                    "name": f"{first} {last}",
                    "email": email if isinstance(email, str) else f"{first}.{last}@sandbox-firm.test".lower(),
                    "enabled": True,
                    "initials": f"{first[:1]}{last[:1]}".upper(),
                    "account_owner": account_owner,
                    "subscription_type": "Attorney",
                    "time_zone": "Eastern Time (US & Canada)",
                    "rate": 300.0,
                    "clio_connect": False,
                },
            )

    # -- tokens, clock, webhooks -----------------------------------------------------------------
    def issue_token(self, user_id: int | None = None) -> dict[str, Any]:
        """A token pair for ``user_id`` (default: the firm owner) without the browser round trip."""
        return self.oauth.issue(user_id or self.default_user_id)

    def advance_clock(self, seconds: float) -> datetime:
        clock = self.clock
        if isinstance(clock, ManualClock | OffsetClock):
            return clock.advance(seconds)
        raise TypeError(f"{type(clock).__name__} cannot be moved")

    def deliver_due_webhooks(self) -> int:
        """Send every handshake, delivery and retry due by the sandbox clock; returns POSTs made."""
        with self._deliver_lock:
            return self.hub.deliver_due(self.webhook_transport)

    # -- acting as a user in the web app (admin surface and tests) -------------------------------
    def act_create(self, res: str, body: dict[str, Any]) -> Record:
        store = self.store
        with store.lock:
            if res == "contacts":
                return domain.create_contact(store, body)
            if res == "matters":
                return domain.create_matter(store, body)
            if res == "activities":
                return domain.create_activity(store, body, user_id=int(body.get("user_id") or self.default_user_id))
            if res == "bank_accounts":
                return domain.create_bank_account(store, body, user_id=self.default_user_id)
            if res == "bank_transactions":
                return domain.create_bank_transaction(store, body)
            if res == "bills":
                return self.create_bill(**body)
        raise bad_request(f"cannot create {res} from the admin surface")

    def act_update(self, res: str, rec: Record, body: dict[str, Any]) -> Record:
        store = self.store
        with store.lock:
            if res == "contacts":
                return domain.update_contact(store, rec, body)
            if res == "matters":
                return domain.update_matter(store, rec, body)
            if res == "activities":
                return domain.update_activity(store, rec, body)
            if res == "bills":
                # The web app may put a bill in any state (including paid/void), unlike the API.
                state = body.pop("state", None)
                if body:
                    domain.patch_bill(store, rec, body)
                if state is not None:
                    domain.set_bill_state(store, rec, str(state))
                return rec
        raise bad_request(f"cannot update {res} from the admin surface")

    def act_delete(self, res: str, rec: Record) -> None:
        with self.store.lock:
            domain.delete_record(self.store, rec)

    def create_bill(self, **kw: Any) -> Record:
        """A bill as the web app makes it (the API has no POST /bills). See domain.create_bill."""
        try:
            client_id = int(kw.pop("client_id"))
        except (KeyError, TypeError, ValueError):
            raise bad_request("client_id is required") from None
        matter_ids = [int(m) for m in kw.pop("matter_ids", [])]
        allowed = {
            "state", "activity_ids", "line_items", "issued_at", "due_at", "currency_id", "kind",
            "user_id", "subject", "number", "interest", "discount", "discount_services_only",
        }  # fmt: skip
        unknown = set(kw) - allowed
        if unknown:
            raise bad_request(f"unknown bill attributes {sorted(unknown)}")
        with self.store.lock:
            return domain.create_bill(self.store, client_id=client_id, matter_ids=matter_ids, **kw)

    def record_payment(self, bill_id: int, amount: float, **kw: Any) -> Record:
        """A payment received against a bill (``when``, ``bank_account_id``, ``description``)."""
        with self.store.lock:
            return domain.record_payment(self.store, domain.require(self.store, "bills", bill_id), amount=amount, **kw)

    def issue_credit_memo(self, bill_id: int, amount: float, description: str | None = None) -> Record:
        with self.store.lock:
            bill = domain.require(self.store, "bills", bill_id)
            return domain.issue_credit_memo(self.store, bill, amount=amount, description=description)

    def add_interest(self, bill_id: int, amount: float, description: str | None = None) -> Record:
        with self.store.lock:
            bill = domain.require(self.store, "bills", bill_id)
            return domain.add_interest(self.store, bill, amount=amount, description=description)

    # -- rendering and schema checks -------------------------------------------------------------
    def full(self, rec: Record) -> dict[str, Any]:
        """Every modelled field of ``rec`` (admin responses)."""
        rdef = REGISTRY[rec.resource]
        selection: Selection = dict.fromkeys((*rdef.scalars, *rdef.embedded, *rdef.relations))
        return render(self.store, rdef, rec, selection)

    def check_response(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Validate one response against the official spec, minus the documented deviations."""
        # Clio serves each path with and without ".json"; the spec documents the ".json" form.
        spec_path = path if path.endswith(".json") or "/activate" in path else f"{path}.json"
        errors = SpecValidator.for_spec("clio").validate_response(method, spec_path, status, body)
        errors = filter_violations(method, path, status, errors)
        self.schema_violations.extend(f"{method} {path} {status}: {e}" for e in errors)
        return errors

    def deviations(self) -> list[Deviation]:
        return list(DEVIATIONS)
