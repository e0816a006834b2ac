"""Clio Manage API v4 client (clio-api.md §3-§4): contacts, cursor paging, etags, who_am_i.

Example (sandbox, in-process)::

    sb = ClioSandbox(clock=clock)
    client = ClioClient(endpoints=ClioEndpoints("http://clio.test"), tokens=manager,
                        budget=InMemoryRateBudget(clock), budget_key="conn-1",
                        transport=wsgi_transport(sb.wsgi_app))
    for contact in client.iter_contacts(updated_since=cursor): ...
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from clio_xero.clients._http import PreconditionFailedError, ProviderHttp, clio_error
from clio_xero.clients.endpoints import ClioEndpoints
from clio_xero.clients.oauth import AccessTokenSource
from clio_xero.clients.ratelimit import RateBudget
from clio_xero.clock import Clock
from clio_xero.errors import UpstreamUnavailableError

__all__ = ["CONTACT_FIELDS", "ClioClient", "PreconditionFailedError"]

#: What the contact sync reads. Every field and sub-field checked against the official spec
#: (Contact, EmailAddress_base, PhoneNumber_base, Address_base, Contact_base, Currency_base) and the
#: sandbox; one nesting level only, as Clio allows (clio-api.md §3).
CONTACT_FIELDS = (
    "id,etag,name,first_name,middle_name,last_name,prefix,title,type,updated_at,created_at,is_client,"
    "email_addresses{id,address,name,primary},"
    "phone_numbers{id,number,name,primary},"
    "addresses{id,street,city,province,postal_code,country,name,primary},"
    "company{id,name},sales_tax_number,currency{id,code}"
)
WHO_AM_I_FIELDS = "id,etag,name,first_name,last_name,email"
MAX_PAGE_SIZE = 200


class ClioClient:
    """Clio Manage API for one connection (one access token, one region)."""

    def __init__(
        self,
        *,
        endpoints: ClioEndpoints,
        tokens: AccessTokenSource,
        budget: RateBudget,
        budget_key: str,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        api_version: str = "4.0.13",
        clock: Clock | None = None,
    ) -> None:
        self.endpoints = endpoints
        self._http = ProviderHttp(
            provider="clio",
            tokens=tokens,
            budget=budget,
            budget_key=budget_key,
            translate=clio_error,
            transport=transport,
            timeout=timeout,
            headers={"X-API-VERSION": api_version, "Accept": "application/json"},
            clock=clock,
        )

    @property
    def calls(self) -> int:
        """HTTP calls made to the API (for tests and benchmarks)."""
        return self._http.calls

    def close(self) -> None:
        self._http.close()

    def _url(self, path: str) -> str:
        base = self.endpoints.api_url
        if path.startswith(("http://", "https://")):
            # Paging links are full URLs. Keep only their path and query so the token is never
            # sent to a host other than the connection's own.
            parts = urllib.parse.urlsplit(path)
            origin = urllib.parse.urlsplit(base)
            return urllib.parse.urlunsplit((origin.scheme, origin.netloc, parts.path, parts.query, ""))
        return f"{base}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Any API call (``path`` relative to ``/api/v4`` or a full paging URL), translated."""
        return self._http.send(method, self._url(path), params=params, json=json, headers=headers)

    # ------------------------------------------------------------------ contacts

    def get_contact(self, contact_id: int | str, fields: str = CONTACT_FIELDS) -> dict[str, Any] | None:
        """The contact, or ``None`` when Clio answers 404."""
        response = self._http.send(
            "GET", self._url(f"/contacts/{_id(contact_id)}.json"), params={"fields": fields}, allow=(404,)
        )
        if response.status_code == 404:
            return None
        return _data(response)

    def iter_contacts(
        self, *, updated_since: datetime | None = None, fields: str = CONTACT_FIELDS, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """Every contact (optionally changed since ``updated_since``), by cursor: ``order=id(asc)``,
        following ``meta.paging.next`` (unlimited, unlike offset paging's 10,000 cap)."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
        first: dict[str, Any] = {"fields": fields, "limit": page_size, "order": "id(asc)"}
        if updated_since is not None:
            first["updated_since"] = _iso(updated_since)
        params: dict[str, Any] | None = first
        url: str | None = "/contacts.json"
        while url:
            body = self.request("GET", url, params=params).json()
            yield from body.get("data") or []
            url = ((body.get("meta") or {}).get("paging") or {}).get("next")
            params = None  # the next link repeats the query with its page_token

    def create_contact(self, data: dict[str, Any], fields: str = CONTACT_FIELDS) -> dict[str, Any]:
        response = self.request("POST", "/contacts.json", params={"fields": fields}, json={"data": data})
        return _data(response)

    def update_contact(
        self, contact_id: int | str, data: dict[str, Any], *, etag: str | None, fields: str = CONTACT_FIELDS
    ) -> dict[str, Any]:
        """PATCH; with ``etag`` it is sent as ``If-Match`` and a stale one raises
        :class:`PreconditionFailedError` (nothing changed: re-fetch, re-map, retry)."""
        headers = {"If-Match": etag} if etag else None
        response = self.request(
            "PATCH",
            f"/contacts/{_id(contact_id)}.json",
            params={"fields": fields},
            json={"data": data},
            headers=headers,
        )
        return _data(response)

    def delete_contact(self, contact_id: int | str) -> None:
        """DELETE; ``NotFoundError`` if it is already gone."""
        self.request("DELETE", f"/contacts/{_id(contact_id)}.json")

    def who_am_i(self, fields: str = WHO_AM_I_FIELDS) -> dict[str, Any]:
        """The user whose token this is (``/users/who_am_i``)."""
        return _data(self.request("GET", "/users/who_am_i.json", params={"fields": fields}))


def _id(contact_id: int | str) -> str:
    text = str(contact_id)
    if not text.isdigit():
        raise ValueError(f"not a Clio id: {contact_id!r}")
    return text


def _iso(when: datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("updated_since must be timezone-aware")
    return when.astimezone(UTC).isoformat(timespec="seconds")


def _data(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise UpstreamUnavailableError(f"Clio answered {response.status_code} without a data object")
    return data
