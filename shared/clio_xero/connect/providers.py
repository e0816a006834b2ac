"""The provider calls of connecting and disconnecting: authorize URLs, Xero's tenants, Clio's user.

Xero (docs/facts-xero.md#oauth): the access token is a JWT carrying ``authentication_event_id``;
``GET /connections?authEventId=`` lists exactly the organisations this consent connected;
``DELETE /connections/{id}`` takes the *connection* id, not the tenant id.
Clio (docs/facts-clio.md#oauth): ``/users/who_am_i`` names the user; ``POST /oauth/deauthorize`` with the
access token revokes the grant (UNCONFIRMED in Clio's own text).
"""

from __future__ import annotations

import base64
import binascii
import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

import httpx

from clio_xero.clients._http import xero_error
from clio_xero.clients.clio import ClioClient
from clio_xero.clients.endpoints import ClioEndpoints, XeroEndpoints
from clio_xero.clients.oauth import StaticTokenSource
from clio_xero.clients.ratelimit import UnlimitedBudget
from clio_xero.clients.tls import tls_context
from clio_xero.errors import NeedsReconnectError, UpstreamUnavailableError

__all__ = [
    "XERO_SCOPES",
    "XERO_TRUST_REPORT_SCOPE",
    "ClioUser",
    "XeroIdentity",
    "XeroTenant",
    "authorize_url",
    "clio_deauthorize",
    "clio_who_am_i",
    "xero_auth_event_id",
]

#: The one read-only report scope the trust report needs (``GET /Reports/BankSummary``). Asked for up front,
#: so a firm that turns the trust report on later needs no reconnect (docs/connect.md, "Scopes").
XERO_TRUST_REPORT_SCOPE = "accounting.reports.banksummary.read"
#: Granular scopes (apps created after 2 Mar 2026 get no others; docs/facts-xero.md#oauth). ``offline_access``
#: brings the refresh token; settings are read only (accounts, tax rates); reports: the bank summary only.
XERO_SCOPES = (
    "offline_access accounting.contacts accounting.invoices accounting.payments accounting.settings.read "
    f"{XERO_TRUST_REPORT_SCOPE}"
)


def authorize_url(
    base: str, *, client_id: str, redirect_uri: str, state: str, scope: str | None, code_challenge: str | None
) -> str:
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "state": state}
    if scope:
        query["scope"] = scope
    if code_challenge:
        query.update(code_challenge=code_challenge, code_challenge_method="S256")
    return f"{base}?{urllib.parse.urlencode(query)}"


def xero_auth_event_id(access_token: str) -> str | None:
    """``authentication_event_id`` from Xero's JWT access token.

    Not verified: the token came straight from Xero's token endpoint over TLS, and the claim only
    narrows ``/connections``, which Xero itself answers for this token."""
    parts = access_token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    value = claims.get("authentication_event_id") if isinstance(claims, dict) else None
    return str(value) if value else None


@dataclass(frozen=True)
class XeroTenant:
    connection_id: str  # Xero's id of the (app, user, org) connection
    tenant_id: str
    tenant_name: str
    tenant_type: str


class XeroIdentity:
    """``/connections`` with a bearer token (no tenant header, no rate budget: identity calls)."""

    def __init__(self, endpoints: XeroEndpoints, transport: httpx.BaseTransport | None = None) -> None:
        self._endpoints = endpoints
        self._transport = transport

    def _client(self, token: str) -> httpx.Client:
        return httpx.Client(
            transport=self._transport,
            timeout=10,
            verify=tls_context(),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )

    def tenants(self, token: str, auth_event_id: str | None = None) -> list[XeroTenant]:
        params = {"authEventId": auth_event_id} if auth_event_id else None
        with self._client(token) as client:
            response = _send(client, "GET", self._endpoints.connections_url, params=params)
        if response.status_code >= 300:
            raise xero_error(response)
        body = response.json()
        if not isinstance(body, list):
            raise UpstreamUnavailableError("Xero /connections did not answer a list")
        return [
            XeroTenant(
                connection_id=str(c.get("id", "")),
                tenant_id=str(c.get("tenantId", "")),
                tenant_name=str(c.get("tenantName") or ""),
                tenant_type=str(c.get("tenantType") or ""),
            )
            for c in body
            if isinstance(c, dict) and c.get("tenantId")
        ]

    def disconnect(self, token: str, xero_connection_id: str) -> bool:
        """``DELETE /connections/{id}``; False when Xero no longer knows it (404)."""
        url = f"{self._endpoints.connections_url}/{urllib.parse.quote(xero_connection_id, safe='')}"
        with self._client(token) as client:
            response = _send(client, "DELETE", url)
        if response.status_code == 404:
            return False
        if response.status_code >= 300:
            raise xero_error(response)
        return True


def _send(client: httpx.Client, method: str, url: str, params: dict[str, str] | None = None) -> httpx.Response:
    try:
        response = client.request(method, url, params=params)
    except httpx.HTTPError as exc:
        raise UpstreamUnavailableError(f"Xero {method} /connections: {type(exc).__name__}") from None
    if response.status_code == 401:
        raise NeedsReconnectError("Xero connection needs reconnecting: the access token was rejected")
    return response


@dataclass(frozen=True)
class ClioUser:
    id: int
    name: str


def clio_who_am_i(endpoints: ClioEndpoints, token: str, transport: httpx.BaseTransport | None = None) -> ClioUser:
    client = ClioClient(
        endpoints=endpoints,
        tokens=StaticTokenSource(token, provider="clio"),
        budget=UnlimitedBudget(),
        budget_key="connect",
        transport=transport,
    )
    try:
        data: dict[str, Any] = client.who_am_i()
    finally:
        client.close()
    name = data.get("name") or " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
    return ClioUser(id=int(data["id"]), name=str(name or data.get("email") or ""))


def clio_deauthorize(endpoints: ClioEndpoints, token: str, transport: httpx.BaseTransport | None = None) -> bool:
    """Revoke the Clio grant; False when the token is already dead (401)."""
    with httpx.Client(transport=transport, timeout=10, verify=tls_context()) as client:
        try:
            response = client.post(
                endpoints.deauthorize_url, headers={"Authorization": f"Bearer {token}"}, data={"token": token}
            )
        except httpx.HTTPError as exc:
            raise UpstreamUnavailableError(f"Clio deauthorize: {type(exc).__name__}") from None
    if response.status_code == 401:
        return False
    if response.status_code >= 300:
        raise UpstreamUnavailableError(f"Clio deauthorize answered {response.status_code}")
    return True
