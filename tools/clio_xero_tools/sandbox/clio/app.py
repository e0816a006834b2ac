"""The WSGI application: Clio's real URL layout plus the ``/_sandbox`` admin surface.

Request pipeline for ``/api/v4/...`` (the order matters and is tested):
fault injection → ``X-API-VERSION`` (410 when invalid) → bearer token (401 ``invalid_token``)
→ rate limit (429) → handler → ``X-API-VERSION`` echo and ``X-RateLimit-*`` headers → optional
schema validation → request log.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from html import escape
from typing import Any
from urllib.parse import urlencode
from wsgiref.types import StartResponse, WSGIEnvironment

import httpx
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from clio_xero_tools.sandbox._base import LoggedRequest

from . import domain
from .admin import AdminApi
from .api_errors import ApiError, bad_request, not_found, precondition_failed
from .fields import FieldsError, Selection, parse_fields
from .oauth import AccessToken, OAuthError
from .paging import PagingError, cursor_page, offset_page, parse_limit
from .resources import REGISTRY, ResourceDef, iso, render, validate
from .state import ClioFirm

DEFAULT_API_VERSION = "4.0.13"
SUPPORTED_VERSIONS = {f"4.0.{n}" for n in range(14)}
JSON = "application/json; charset=utf-8"

# Which operations each resource offers (from the spec's paths; e.g. bills have no POST).
OPS: dict[str, set[str]] = {
    "contacts": {"list", "get", "create", "update", "delete"},
    "matters": {"list", "get", "create", "update", "delete"},
    "activities": {"list", "get", "create", "update", "delete"},
    "activity_descriptions": {"list", "get"},
    "expense_categories": {"list", "get"},
    "bills": {"list", "get", "update", "delete"},
    "line_items": {"list", "update", "delete"},
    "credit_memos": {"list", "get"},
    "allocations": {"list", "get"},
    "interest_charges": {"list", "delete"},
    "currencies": {"list"},
    "bank_accounts": {"list", "get", "create", "update", "delete"},
    "bank_transactions": {"list", "get", "create", "update", "delete"},
    "users": {"list", "get"},
    "webhooks": {"list", "get", "create", "update", "delete"},
    "practice_areas": {"list", "get", "create", "update", "delete"},
    "trust_line_items": {"list", "update"},
    "trust_requests": {"create"},
    "outstanding_client_balances": {"list"},
}
# Query parameters every list understands; anything else must be a filter the resource models,
# or the request is refused with 400 naming it (a filter silently ignored returns wrong data).
LIST_PARAMS = {
    "fields", "limit", "order", "page_token", "offset", "ids[]", "ids", "exclude_ids[]", "updated_since",
    "created_since",
}  # fmt: skip
# Lists whose documented default order is not by id; they page by offset unless order=id(...).
DEFAULT_ORDER = {"credit_memos": "date(asc)", "allocations": "date(asc)"}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers, content_type=JSON)


def parse_version(raw: str | None) -> tuple[str, tuple[int, ...]]:
    version = raw.strip() if raw else DEFAULT_API_VERSION
    if version not in SUPPORTED_VERSIONS:
        raise ApiError(410, "Gone", f"API version {version!r} is invalid or no longer supported")
    return version, tuple(int(p) for p in version.split("."))


def _since(raw: str | None, name: str) -> datetime | None:
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise bad_request(f"{name} must be an ISO-8601 timestamp") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _int_param(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f"{name} must be integers, got {raw!r}") from None


class ClioApp:
    """The WSGI callable. ``sandbox`` holds all state; this class only speaks HTTP."""

    def __init__(self, sandbox: ClioFirm) -> None:
        self.sb = sandbox
        self.admin = AdminApi(sandbox)
        self.map = Map(
            [
                Rule("/oauth/authorize", endpoint="authorize", methods=["GET", "POST"]),
                Rule("/oauth/token", endpoint="token", methods=["POST"]),
                Rule("/oauth/deauthorize", endpoint="deauthorize", methods=["POST"]),
                Rule("/api/v4/users/who_am_i.json", endpoint="who_am_i"),
                Rule("/api/v4/users/who_am_i", endpoint="who_am_i"),
                Rule("/api/v4/settings/billing.json", endpoint="billing"),
                Rule("/api/v4/settings/billing", endpoint="billing"),
                Rule("/api/v4/webhooks/<int:id>/activate.json", endpoint="activate"),
                Rule("/api/v4/webhooks/<int:id>/activate", endpoint="activate"),
                Rule("/api/v4/<res>.json", endpoint="collection"),
                Rule("/api/v4/<res>/<int:id>.json", endpoint="member"),
                Rule("/api/v4/<res>", endpoint="collection"),
                Rule("/api/v4/<res>/<int:id>", endpoint="member"),
                *self.admin.rules(),
            ],
            strict_slashes=False,
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    # -- dispatch --------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        adapter = self.map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            return self._logged(request, _json(self._route_missing(request), 404), None)
        except HTTPException as exc:
            return self._logged(
                request, _json({"error": {"type": "NotFound", "message": str(exc)}}, exc.code or 405), None
            )
        if str(endpoint).startswith("admin:"):
            return self.admin.dispatch(request, str(endpoint), dict(args))
        if endpoint in {"authorize", "token", "deauthorize"}:
            return self._oauth(request, str(endpoint))
        return self._api(request, str(endpoint), dict(args))

    @staticmethod
    def _route_missing(request: Request) -> dict[str, Any]:
        return {"error": {"type": "NotFound", "message": f"No route matches [{request.method}] {request.path}"}}

    def _logged(self, request: Request, response: Response, connection: str | None) -> Response:
        self.sb.request_log.add(
            LoggedRequest(
                request.method,
                request.full_path.rstrip("?"),
                response.status_code,
                connection,
                iso(self.sb.clock.now()),
            )
        )
        return response

    # -- OAuth -----------------------------------------------------------------------------------
    def _oauth(self, request: Request, endpoint: str) -> Response:
        connection: str | None = None
        try:
            if endpoint == "authorize":
                response = self._authorize(request)
            elif endpoint == "token":
                response = _json(self.sb.oauth.token(dict(request.form.items())), headers={"Cache-Control": "no-store"})
            else:
                access = self.sb.oauth.authenticate(request.headers.get("Authorization"))
                connection = str(access.user_id)
                self.sb.oauth.deauthorize(access)
                response = Response("", status=200)
        except OAuthError as exc:
            headers = {"WWW-Authenticate": f'Bearer error="{exc.error}"'} if exc.status == 401 else None
            response = _json(exc.body(), exc.status, headers)
        return self._logged(request, response, connection)

    def _authorize(self, request: Request) -> Response:
        args = request.values
        user_id = int(args.get("user_id") or self.sb.default_user_id)
        if request.method == "GET" and args.get("prompt") == "consent":
            # Optional one-click consent page (the default flow auto-approves).
            hidden = "".join(
                f'<input type="hidden" name="{escape(str(k))}" value="{escape(str(v))}">'
                for k, v in args.items(multi=True)
                if k != "prompt"
            )
            page = (
                "<!doctype html><title>Clio sandbox</title>"
                f'<form method="post">{hidden}<button>Allow access</button></form>'
            )
            return Response(page, content_type="text/html; charset=utf-8")
        redirect_uri = args.get("redirect_uri")
        code = self.sb.oauth.authorize(
            client_id=args.get("client_id"),
            redirect_uri=redirect_uri,
            response_type=args.get("response_type"),
            user_id=user_id,
        )
        query = {"code": code}
        if args.get("state") is not None:
            query["state"] = args["state"]
        sep = "&" if "?" in str(redirect_uri) else "?"
        return Response("", status=302, headers={"Location": f"{redirect_uri}{sep}{urlencode(query)}"})

    # -- the API pipeline ------------------------------------------------------------------------
    def _api(self, request: Request, endpoint: str, args: dict[str, Any]) -> Response:
        connection: str | None = None
        rate_headers: dict[str, str] = {}
        version = DEFAULT_API_VERSION
        try:
            self._inject_faults(request)
            version, vtuple = parse_version(request.headers.get("X-API-VERSION"))
            access = self.sb.oauth.authenticate(request.headers.get("Authorization"))
            connection = str(access.user_id)
            verdict = self.sb.limiter.check(access.token, self.sb.clock.now())
            rate_headers = verdict.headers()
            if not verdict.allowed:
                raise ApiError(429, "RateLimited", f"Rate limit exceeded. Retry in {verdict.retry_after} seconds.")
            with self.sb.store.lock:
                response = self._handle(request, endpoint, args, access, vtuple)
            response.headers["X-API-VERSION"] = version
        except OAuthError as exc:
            response = _json(exc.body(), exc.status, {"WWW-Authenticate": f'Bearer error="{exc.error}"'})
        except ApiError as exc:
            response = _json(exc.body(), exc.status, exc.headers)
        for k, v in rate_headers.items():
            response.headers[k] = v
        self._check_schema(request, response)
        return self._logged(request, response, connection)

    def _inject_faults(self, request: Request) -> None:
        plan = self.sb.faults
        if plan is None:
            return
        if plan.latency_ms:
            time.sleep(plan.latency_ms / 1000)  # real time by design (see FaultPlan)
        if plan.burst_429 > 0:
            plan.burst_429 -= 1
            raise ApiError(429, "RateLimited", "Rate limit exceeded (injected burst).", {"Retry-After": "1"})
        if plan.roll(plan.timeout_rate):
            sock = request.environ.get("werkzeug.socket")
            if isinstance(sock, socket.socket):
                sock.shutdown(socket.SHUT_RDWR)  # served: the client sees the connection drop
            raise httpx.ReadTimeout("injected timeout (clio sandbox fault plan)")
        if plan.roll(plan.error_rate):
            status = plan.rng.choice(plan.status_codes)
            message = "Service Unavailable" if status == 503 else "Internal Server Error"
            raise ApiError(status, "ServerError", f"{message} (injected)")

    def _check_schema(self, request: Request, response: Response) -> None:
        if not self.sb.validate_responses or not response.content_type.startswith("application/json"):
            return
        body = json.loads(response.get_data()) if response.get_data() else None
        self.sb.check_response(request.method, request.path, response.status_code, body)

    def _handle(
        self, request: Request, endpoint: str, args: dict[str, Any], access: AccessToken, version: tuple[int, ...]
    ) -> Response:
        if endpoint == "who_am_i":
            return self._show(
                request, REGISTRY["users"], domain.require(self.sb.store, "users", access.user_id), version
            )
        if endpoint == "billing":
            settings = self.sb.store.all("billing_settings")[0]
            return self._show(request, REGISTRY["billing_settings"], settings, version)
        if endpoint == "activate":
            return self._activate(request, int(args["id"]))
        res = str(args["res"])
        rdef = REGISTRY.get(res)
        if rdef is None or res not in OPS:
            raise ApiError(404, "NotFound", f"No route matches [{request.method}] {request.path}")
        op = self._op(request.method, endpoint)
        if op not in OPS[res]:
            raise ApiError(404, "NotFound", f"No route matches [{request.method}] {request.path}")
        if op == "list":
            return self._list(request, rdef, version)
        if op == "create":
            rec = self._create(res, self._body(request), access, version)
            return self._show(request, rdef, rec, version, status=201)
        rec = self.sb.store.get(res, int(args["id"]))
        if rec is None:
            raise not_found(res, args["id"])
        if op == "get":
            return self._show(request, rdef, rec, version)
        if op == "update":
            self._check_if_match(request, rec.etag)
            rec = self._update(res, rec, self._body(request), version)
            return self._show(request, rdef, rec, version)
        self._delete(res, rec)
        return Response(status=204)

    @staticmethod
    def _op(method: str, endpoint: str) -> str:
        table = {
            ("collection", "GET"): "list",
            ("collection", "HEAD"): "list",
            ("collection", "POST"): "create",
            ("member", "GET"): "get",
            ("member", "HEAD"): "get",
            ("member", "PATCH"): "update",
            ("member", "PUT"): "update",
            ("member", "DELETE"): "delete",
        }
        return table.get((endpoint, method), "none")

    @staticmethod
    def _body(request: Request) -> Any:
        try:
            payload = json.loads(request.get_data() or b"null")
        except ValueError:
            raise bad_request("request body is not valid JSON") from None
        if not isinstance(payload, dict) or "data" not in payload:
            raise bad_request('request body must be {"data": {...}}')
        return payload["data"]

    @staticmethod
    def _check_if_match(request: Request, etag: str) -> None:
        given = request.headers.get("If-Match")
        if given is None:
            return
        # Accept the etag with or without its quotes, and the weak form, as HTTP caches send both.
        normal = {t.strip().removeprefix("W/").strip('"') for t in given.split(",")}
        if "*" not in normal and etag.strip('"') not in normal:
            raise precondition_failed()

    # -- reading ---------------------------------------------------------------------------------
    @staticmethod
    def _selection(request: Request, rdef: ResourceDef) -> Selection:
        try:
            selection = parse_fields(request.args.get("fields"))
            validate(rdef, selection)
        except FieldsError as exc:
            raise bad_request(str(exc)) from None
        return selection

    def _render(self, rdef: ResourceDef, rec: Any, selection: Selection, version: tuple[int, ...]) -> dict[str, Any]:
        try:
            return render(self.sb.store, rdef, rec, selection, api_version=version)
        except FieldsError as exc:
            raise bad_request(str(exc)) from None

    def _show(
        self, request: Request, rdef: ResourceDef, rec: Any, version: tuple[int, ...], status: int = 200
    ) -> Response:
        selection = self._selection(request, rdef)
        headers = {"ETag": rec.etag, "Last-Modified": format_datetime(rec.updated_at.astimezone(UTC), usegmt=True)}
        if status == 200 and request.method == "GET" and self._not_modified(request, rec):
            return Response(status=304, headers=headers)
        return _json({"data": self._render(rdef, rec, selection, version)}, status, headers)

    @staticmethod
    def _not_modified(request: Request, rec: Any) -> bool:
        inm = request.headers.get("If-None-Match")
        if inm is not None:
            return rec.etag.strip('"') in {t.strip().removeprefix("W/").strip('"') for t in inm.split(",")}
        ims = request.headers.get("If-Modified-Since")
        if ims:
            try:
                since = parsedate_to_datetime(ims)
            except (TypeError, ValueError):
                return False
            return bool(rec.updated_at.replace(microsecond=0) <= since)
        return False

    def _list(self, request: Request, rdef: ResourceDef, version: tuple[int, ...]) -> Response:
        selection = self._selection(request, rdef)
        try:
            limit = parse_limit(request.args.get("limit"))
        except PagingError as exc:
            raise ApiError(exc.status, "ArgumentError", str(exc)) from None
        records = self._filtered(request, rdef)
        order = request.args.get("order") or DEFAULT_ORDER.get(rdef.name, "id(asc)")
        field, descending = self._order(order, rdef)
        if field != "id":
            records.sort(
                key=lambda r: (str(render(self.sb.store, rdef, r, {field: None})[field] or ""), r.id),
                reverse=descending,
            )
        elif descending:
            records.reverse()
        ids = [r.id for r in records]
        offset_raw = request.args.get("offset")
        try:
            if offset_raw is not None or field != "id":
                offset = int(offset_raw or 0)
                page = offset_page(ids, limit=limit, offset=offset)
            else:
                page = cursor_page(ids, limit=limit, token=request.args.get("page_token"), descending=descending)
        except PagingError as exc:
            raise ApiError(exc.status, "ArgumentError", str(exc)) from None
        except ValueError:
            raise bad_request("offset must be an integer") from None
        by_id = {r.id: r for r in records}
        data = [self._render(rdef, by_id[i], selection, version) for i in page.ids]
        paging: dict[str, str] = {}
        if page.next_token:
            paging["next"] = self._page_url(request, page_token=page.next_token)
        if page.next_offset is not None:
            paging["next"] = self._page_url(request, offset=str(page.next_offset))
        if page.previous_offset is not None:
            paging["previous"] = self._page_url(request, offset=str(page.previous_offset))
        # UNCONFIRMED: meta.records (total matching) is seen in live responses but undocumented.
        return _json({"data": data, "meta": {"paging": paging, "records": len(ids)}})

    @staticmethod
    def _page_url(request: Request, **replace: str) -> str:
        params = [(k, v) for k, v in request.args.items(multi=True) if k not in {"page_token", "offset"}]
        params.extend(replace.items())
        return f"{request.base_url}?{urlencode(params)}"

    @staticmethod
    def _order(order: str, rdef: ResourceDef) -> tuple[str, bool]:
        if not order.endswith(("(asc)", "(desc)")):
            raise bad_request(f"invalid order {order!r}")
        field, _, direction = order[:-1].partition("(")
        if field not in rdef.scalars:
            raise bad_request(f"invalid order {order!r}")
        return field, direction == "desc"

    def _filtered(self, request: Request, rdef: ResourceDef) -> list[Any]:
        store = self.sb.store
        for name in request.args:
            if name not in LIST_PARAMS and name not in rdef.filters:
                raise bad_request(
                    f"the sandbox does not model the {rdef.name} filter {name!r} (it refuses what it cannot "
                    f"honour rather than ignore it; see docs/sandbox-clio.md)"
                )
        records = rdef.source(store) if rdef.source else store.all(rdef.name)
        if rdef.name == "webhooks":
            self.sb.hub.sweep_expired()
            records = store.all("webhooks")
        ids = request.args.getlist("ids[]") or request.args.getlist("ids")
        if ids:
            wanted = set()
            for raw in ids:
                try:
                    wanted.add(int(raw))
                except ValueError:
                    raise bad_request(f"ids[] must be integers, got {raw!r}") from None
            records = [r for r in records if r.id in wanted]
        excluded = {_int_param("exclude_ids[]", raw) for raw in request.args.getlist("exclude_ids[]")}
        records = [r for r in records if r.id not in excluded]
        # Inclusive (>=) at second resolution: UNCONFIRMED whether Clio's "after" is strict; an
        # inclusive bound can only cause re-reads, never missed changes.
        updated = _since(request.args.get("updated_since"), "updated_since")
        if updated is not None:
            records = [r for r in records if r.updated_at.replace(microsecond=0) >= updated]
        created = _since(request.args.get("created_since"), "created_since")
        if created is not None:
            records = [r for r in records if r.created_at.replace(microsecond=0) >= created]
        for name, pred in rdef.filters.items():
            for value in request.args.getlist(name):
                if value != "":
                    records = [r for r in records if pred(store, r, value)]
        return records

    # -- writing ---------------------------------------------------------------------------------
    def _create(self, res: str, data: Any, access: AccessToken, version: tuple[int, ...]) -> Any:
        store = self.sb.store
        if res == "contacts":
            return domain.create_contact(store, data)
        if res == "matters":
            return domain.create_matter(store, data)
        if res == "activities":
            return domain.create_activity(store, data, user_id=access.user_id, hours_input=version < (4, 0, 4))
        if res == "bank_accounts":
            return domain.create_bank_account(store, data, user_id=access.user_id)
        if res == "bank_transactions":
            return domain.create_bank_transaction(store, data)
        if res == "webhooks":
            return self.sb.hub.create(data, user_id=access.user_id)
        if res == "practice_areas":
            return domain.create_practice_area(store, data)
        if res == "trust_requests":
            return domain.create_trust_request(store, data, user_id=access.user_id)
        raise ApiError(404, "NotFound", f"No route matches [POST] /api/v4/{res}.json")

    def _update(self, res: str, rec: Any, data: Any, version: tuple[int, ...]) -> Any:
        store = self.sb.store
        if res == "contacts":
            return domain.update_contact(store, rec, data)
        if res == "matters":
            return domain.update_matter(store, rec, data)
        if res == "activities":
            return domain.update_activity(store, rec, data, hours_input=version < (4, 0, 4))
        if res == "bills":
            return domain.patch_bill(store, rec, data)
        if res == "line_items":
            return domain.patch_line_item(store, rec, data)
        if res == "webhooks":
            return self.sb.hub.update(rec, data)
        if res in {"bank_accounts", "bank_transactions"}:
            return domain.patch_bank_record(store, rec, data)
        if res == "practice_areas":
            return domain.update_practice_area(store, rec, data)
        if res == "trust_line_items":
            return domain.patch_trust_line_item(store, rec, data)
        raise ApiError(404, "NotFound", f"No route matches [PATCH] /api/v4/{res}")

    def _delete(self, res: str, rec: Any) -> None:
        if res == "webhooks":
            self.sb.hub.delete(rec)
        else:
            domain.delete_record(self.sb.store, rec)

    def _activate(self, request: Request, webhook_id: int) -> Response:
        if request.method != "PUT":
            raise ApiError(404, "NotFound", f"No route matches [{request.method}] {request.path}")
        rec = domain.require(self.sb.store, "webhooks", webhook_id)
        if not self.sb.hub.activate(rec, request.headers.get("X-Hook-Secret")):
            raise ApiError(403, "Forbidden", "X-Hook-Secret does not match this webhook's secret")
        # UNCONFIRMED: the activate response body; the webhook record is the useful answer.
        return _json({"data": {"id": rec.id, "etag": rec.etag, "status": rec.attrs["status"]}})
