"""``/_sandbox/...``: the admin surface. Not part of Clio's API; never rate-limited or logged.

Everything a test, a benchmark or ``make demo`` needs to drive the sandbox from outside the
process: seed data, act as a user of the Clio web app, move the clock, inject faults, read the
request log and webhook deliveries, deliver due webhooks. docs/sandbox-clio.md lists each route.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from clio_xero_tools.sandbox._base import FaultPlan

from . import domain
from .api_errors import ApiError, bad_request, not_found
from .resources import REGISTRY, iso
from .seed import seed_firm
from .state import ClioFirm

JSON = "application/json; charset=utf-8"
ACT_CREATE = {"contacts", "matters", "activities", "bank_accounts", "bank_transactions", "bills"}
ACT_UPDATE = {"contacts", "matters", "activities", "bills"}
ACT_DELETE = {"contacts", "matters", "activities", "bills"}
BILL_MONEY = {"payments", "credit_memos", "interest_charges"}


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str), status=status, content_type=JSON)


def _num(body: dict[str, Any], key: str) -> float:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_request(f"{key} must be a number")
    return float(value)


class AdminApi:
    def __init__(self, sandbox: ClioFirm) -> None:
        self.sb = sandbox

    @staticmethod
    def rules() -> list[Rule]:
        r = "/_sandbox"
        return [
            Rule(f"{r}", endpoint="admin:index", methods=["GET"]),
            Rule(f"{r}/seed", endpoint="admin:seed", methods=["POST"]),
            Rule(f"{r}/seed", endpoint="admin:seed_summary", methods=["GET"]),
            Rule(f"{r}/tokens", endpoint="admin:tokens", methods=["POST"]),
            Rule(f"{r}/oauth/redirect_uris", endpoint="admin:redirect_uris", methods=["PUT"]),
            Rule(f"{r}/users", endpoint="admin:users", methods=["POST"]),
            Rule(f"{r}/clock", endpoint="admin:clock", methods=["GET"]),
            Rule(f"{r}/clock/advance", endpoint="admin:advance", methods=["POST"]),
            Rule(f"{r}/faults", endpoint="admin:faults", methods=["GET", "PUT", "DELETE"]),
            Rule(f"{r}/rate_limit", endpoint="admin:rate_limit", methods=["GET", "PUT"]),
            Rule(f"{r}/requests", endpoint="admin:requests", methods=["GET", "DELETE"]),
            Rule(f"{r}/webhooks/deliveries", endpoint="admin:deliveries", methods=["GET"]),
            Rule(f"{r}/webhooks/deliver", endpoint="admin:deliver", methods=["POST"]),
            Rule(f"{r}/schema_violations", endpoint="admin:violations", methods=["GET"]),
            Rule(f"{r}/act/<res>", endpoint="admin:act_create", methods=["POST"]),
            Rule(f"{r}/act/<res>/<int:id>", endpoint="admin:act_member", methods=["GET", "PATCH", "DELETE"]),
            Rule(f"{r}/act/bills/<int:id>/<money>", endpoint="admin:act_money", methods=["POST"]),
            Rule(f"{r}/act/allocations/<int:id>/void", endpoint="admin:act_void", methods=["POST"]),
        ]

    def dispatch(self, request: Request, endpoint: str, args: dict[str, Any]) -> Response:
        name = endpoint.removeprefix("admin:")
        try:
            body = self._body(request)
            if name == "deliver":
                # Deliveries may call back into the API (a receiver re-fetching the record), so
                # the store lock must not be held while they go out.
                return self._deliver(request, body)
            with self.sb.store.lock:
                return getattr(self, f"_{name}")(request, body, **args)  # type: ignore[no-any-return]
        except ApiError as exc:
            return _json(exc.body(), exc.status)

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        raw = request.get_data()
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            raise bad_request("admin request body must be JSON") from None
        if not isinstance(data, dict):
            raise bad_request("admin request body must be a JSON object")
        return data

    # -- housekeeping ----------------------------------------------------------------------------
    def _index(self, _r: Request, _b: dict[str, Any]) -> Response:
        return _json({"routes": sorted(str(rule.rule) for rule in self.rules()), "docs": "docs/sandbox-clio.md"})

    def _seed(self, _r: Request, body: dict[str, Any]) -> Response:
        try:
            sizes = {k: int(body[k]) for k in ("contacts", "activities", "bills", "seed") if k in body}
        except (TypeError, ValueError):
            raise bad_request("contacts, activities, bills and seed must be integers") from None
        recipe = body.get("trust_recipe")
        if recipe is not None and not isinstance(recipe, bool):
            raise bad_request("trust_recipe must be true or false")
        result = seed_firm(
            self.sb,
            contacts=sizes.get("contacts", 200),
            activities=sizes.get("activities", 500),
            bills=sizes.get("bills", 60),
            seed=sizes.get("seed", 0),
            trust_recipe=recipe,
        )
        self.sb.last_seed = result.summary()
        return _json(self.sb.last_seed, 201)

    def _seed_summary(self, _r: Request, _b: dict[str, Any]) -> Response:
        """What the last seed created and the trust recipe's expected figures (tests read this)."""
        if self.sb.last_seed is None:
            raise not_found("seed", "last")
        return _json(self.sb.last_seed)

    def _tokens(self, _r: Request, body: dict[str, Any]) -> Response:
        user_id = int(body.get("user_id") or self.sb.default_user_id)
        domain.require(self.sb.store, "users", user_id)
        return _json(self.sb.oauth.issue(user_id), 201)

    def _redirect_uris(self, _r: Request, body: dict[str, Any]) -> Response:
        uris = body.get("redirect_uris")
        if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
            raise bad_request("redirect_uris must be a list of strings")
        self.sb.oauth.redirect_uris = set(uris)
        return _json({"redirect_uris": sorted(uris)})

    def _users(self, _r: Request, body: dict[str, Any]) -> Response:
        rec = self.sb.add_user(
            str(body.get("first_name", "Sam")), str(body.get("last_name", "Staff")), body.get("email")
        )
        return _json({"data": self.sb.full(rec)}, 201)

    def _clock(self, _r: Request, _b: dict[str, Any]) -> Response:
        return _json({"now": iso(self.sb.clock.now())})

    def _advance(self, _r: Request, body: dict[str, Any]) -> Response:
        now = self.sb.advance_clock(_num(body, "seconds"))
        return _json({"now": iso(now)})

    def _faults(self, request: Request, body: dict[str, Any]) -> Response:
        if request.method == "PUT":
            self.sb.faults = FaultPlan.from_dict(body)
        elif request.method == "DELETE":
            self.sb.faults = None
        plan = self.sb.faults
        return _json({"faults": None if plan is None else {k: v for k, v in asdict(plan).items() if k != "rng"}})

    def _rate_limit(self, request: Request, body: dict[str, Any]) -> Response:
        if request.method == "PUT":
            per_minute = int(_num(body, "per_minute"))
            if per_minute < 1:
                raise bad_request("per_minute must be at least 1")
            self.sb.limiter.per_minute = per_minute
            self.sb.limiter.reset()
        return _json({"per_minute": self.sb.limiter.per_minute})

    def _requests(self, request: Request, _b: dict[str, Any]) -> Response:
        if request.method == "DELETE":
            self.sb.request_log.clear()
        entries = self.sb.request_log.as_dicts()
        return _json({"requests": entries, "count": len(entries)})

    def _deliveries(self, request: Request, _b: dict[str, Any]) -> Response:
        items = [d.as_dict() for d in self.sb.hub.deliveries]
        state = request.args.get("state")
        if state:
            items = [d for d in items if d["state"] == state]
        return _json({"deliveries": items})

    def _deliver(self, _r: Request, _b: dict[str, Any]) -> Response:
        posts = self.sb.deliver_due_webhooks()
        return _json({"posts": posts})

    def _violations(self, _r: Request, _b: dict[str, Any]) -> Response:
        return _json({"violations": list(self.sb.schema_violations)})

    # -- acting as a user in the web app --------------------------------------------------------
    def _act_create(self, _r: Request, body: dict[str, Any], res: str) -> Response:
        if res not in ACT_CREATE:
            raise not_found("admin action", res)
        rec = self.sb.act_create(res, body)
        return _json({"data": self.sb.full(rec)}, 201)

    def _act_member(self, request: Request, body: dict[str, Any], res: str, id: int) -> Response:
        rec = self.sb.store.get(res, id) if res in REGISTRY else None
        if rec is None:
            raise not_found(res, id)
        if request.method == "GET":
            return _json({"data": self.sb.full(rec)})
        if request.method == "PATCH":
            if res not in ACT_UPDATE:
                raise not_found("admin action", res)
            return _json({"data": self.sb.full(self.sb.act_update(res, rec, body))})
        if res not in ACT_DELETE:
            raise not_found("admin action", res)
        self.sb.act_delete(res, rec)
        return Response(status=204)

    def _act_money(self, _r: Request, body: dict[str, Any], id: int, money: str) -> Response:
        if money not in BILL_MONEY:
            raise not_found("admin action", money)
        bill = domain.require(self.sb.store, "bills", id)
        amount = _num(body, "amount")
        if money == "payments":
            rec = domain.record_payment(
                self.sb.store,
                bill,
                amount=amount,
                when=body.get("date"),
                bank_account_id=body.get("bank_account_id"),
                description=body.get("description"),
            )
        elif money == "credit_memos":
            rec = domain.issue_credit_memo(self.sb.store, bill, amount=amount, description=body.get("description"))
        else:
            rec = domain.add_interest(self.sb.store, bill, amount=amount, description=body.get("description"))
        return _json({"data": self.sb.full(rec)}, 201)

    def _act_void(self, _r: Request, _b: dict[str, Any], id: int) -> Response:
        alloc = domain.require(self.sb.store, "allocations", id)
        return _json({"data": self.sb.full(domain.void_allocation(self.sb.store, alloc))})
