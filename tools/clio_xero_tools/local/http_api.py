"""Serve a template's ``HttpApi`` routes on loopback as API Gateway HTTP API (payload v2) events."""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from clio_xero_tools.local.functions import ACCOUNT, LocalFunction
from clio_xero_tools.local.template import HttpRoute

log = logging.getLogger(__name__)
API_GATEWAY_MAX_BODY = 10 * 1024 * 1024  # HTTP API payload limit
# HTTP APIs pass these content types as text and base64-encode everything else.
_TEXT_TYPES = re.compile(r"^(text/.*|application/(json|xml|javascript)|application/[\w.+-]+\+(json|xml))", re.I)


@dataclass(frozen=True)
class BoundRoute:
    route: HttpRoute
    function: LocalFunction
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, route: HttpRoute, function: LocalFunction) -> BoundRoute:
        regex = ""
        for part in re.split(r"(\{[^}]+\})", route.path):
            if part.startswith("{") and part.endswith("+}"):
                regex += f"(?P<{part[1:-2]}>.+)"
            elif part.startswith("{"):
                regex += f"(?P<{part[1:-1]}>[^/]+)"
            else:
                regex += re.escape(part)
        return cls(route, function, re.compile(f"^{regex}$"))


def is_text(content_type: str | None) -> bool:
    return bool(content_type and _TEXT_TYPES.match(content_type.split(";")[0].strip()))


def build_event(request: Request, route: HttpRoute, path_params: dict[str, str], body: bytes) -> dict[str, Any]:
    """The v2 event API Gateway would send for ``request`` (headers lower-cased, repeats joined)."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    query: dict[str, str] = {}
    for name, value in request.args.items(multi=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    return apigw_v2_event(
        method=request.method,
        path=request.path,
        route=route,
        headers=headers,
        query=query,
        raw_query=request.query_string.decode("latin-1"),
        path_params=path_params,
        body=body,
        host=request.host,
        source_ip=request.remote_addr or "127.0.0.1",
    )


def apigw_v2_event(
    *,
    method: str,
    path: str,
    route: HttpRoute,
    headers: dict[str, str],
    body: bytes,
    query: dict[str, str] | None = None,
    raw_query: str = "",
    path_params: dict[str, str] | None = None,
    host: str = "localhost",
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
    when: datetime | None = None,
) -> dict[str, Any]:
    """An HTTP API payload-v2 event (also used to write the sample events in ``events/``)."""
    text = is_text(headers.get("content-type"))
    now = when or datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split(".", maxsplit=1)[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id or uuid.uuid4().hex,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": not text,
    }
    if query:
        event["queryStringParameters"] = query
    if path_params:
        event["pathParameters"] = path_params
    if body:
        event["body"] = body.decode("utf-8", "replace") if text else base64.b64encode(body).decode("ascii")
    return event


def to_response(result: Any) -> Response:
    """Map a handler's return value to HTTP the way HTTP API payload v2 does."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return Response(json.dumps(result), status=200, content_type="application/json")
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    response = Response(data, status=int(result["statusCode"]))
    response.headers.remove("content-type")
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for cookie in result.get("cookies") or []:
        response.headers.add("set-cookie", cookie)
    return response


class HttpApiApp:
    """WSGI app routing requests to functions; unknown routes answer like API Gateway does."""

    def __init__(self, routes: Iterable[BoundRoute]) -> None:
        self.routes = list(routes)

    def _match(self, method: str, path: str) -> tuple[BoundRoute, dict[str, str]] | None:
        for bound in self.routes:
            if bound.route.method not in (method, "ANY"):
                continue
            match = bound.pattern.match(path)
            if match:
                return bound, match.groupdict()
        return None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        found = self._match(request.method, request.path)
        if found is None:
            return Response(json.dumps({"message": "Not Found"}), status=404, content_type="application/json")
        bound, params = found
        body = request.get_data(cache=False)
        if len(body) > API_GATEWAY_MAX_BODY:
            return Response(json.dumps({"message": "Request Entity Too Large"}), status=413)
        event = build_event(request, bound.route, params, body)
        try:
            result = bound.function.invoke(event)
        except Exception:
            log.exception("function %s failed", bound.function.spec.logical_id)
            return Response(
                json.dumps({"message": "Internal Server Error"}), status=500, content_type="application/json"
            )
        return to_response(result)
