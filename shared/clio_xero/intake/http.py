"""The HTTP request/response seen by a receiver, and their API Gateway HTTP API (v2) shapes.

Hand-rolled on purpose: Powertools' ``APIGatewayHttpResolver`` and data classes would cost
70-90 ms of cold import for what is one route per function (measured, docs/benchmarks.md); the
conversion below is the documented v2 payload format and nothing more.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    path_params: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    request_id: str | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)

    def to_apigw(self) -> dict[str, Any]:
        return {
            "statusCode": self.status,
            "headers": dict(self.headers),
            "body": self.body,
            "isBase64Encoded": False,
        }


def request_from_apigw(event: Mapping[str, Any]) -> HttpRequest:
    """Build an :class:`HttpRequest` from an HTTP API v2 event, keeping the body's raw bytes.

    API Gateway base64-encodes bodies it does not consider text; signatures are over the raw
    bytes, so decode exactly once and never re-serialise.
    """
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode("utf-8")
    http = (event.get("requestContext") or {}).get("http") or {}
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    return HttpRequest(
        method=str(http.get("method", "GET")).upper(),
        path=str(event.get("rawPath") or http.get("path") or "/"),
        body=body,
        headers=headers,
        path_params=dict(event.get("pathParameters") or {}),
        query=dict(event.get("queryStringParameters") or {}),
        request_id=(event.get("requestContext") or {}).get("requestId"),
    )


def empty(status: int, headers: Mapping[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status=status, body="", headers=dict(headers or {}))


def error(status: int, message: str) -> HttpResponse:
    # Plain text keeps the error readable in Clio's and Xero's delivery logs.
    return HttpResponse(status=status, body=message, headers={"content-type": "text/plain; charset=utf-8"})
