"""Clio Manage API v4 client (docs/facts-clio.md#rest): any resource by id or by cursor pages, etags, who_am_i.

Example (sandbox, in-process)::

    sb = ClioSandbox(clock=clock)
    client = ClioClient(endpoints=ClioEndpoints("http://clio.test"), tokens=manager,
                        budget=InMemoryRateBudget(clock), budget_key="conn-1",
                        transport=wsgi_transport(sb.wsgi_app))
    for bill in client.iter_records("bills", fields="id,etag,state", updated_since=cursor): ...
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from clio_xero.clients._http import PreconditionFailedError, ProviderHttp, RecordPage, clio_error
from clio_xero.clients.endpoints import ClioEndpoints
from clio_xero.clients.oauth import AccessTokenSource
from clio_xero.clients.ratelimit import RateBudget
from clio_xero.clock import Clock
from clio_xero.errors import UpstreamUnavailableError

__all__ = ["CONTACT_FIELDS", "ClioClient", "PreconditionFailedError", "RecordPage"]

#: What the contact sync reads. Every field and sub-field checked against the official spec
#: (Contact, EmailAddress_base, PhoneNumber_base, Address_base, Contact_base, Currency_base) and the
#: sandbox; one nesting level only, as Clio allows (docs/facts-clio.md#rest).
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

    # ------------------------------------------------------------------ any resource

    def get_record(self, resource: str, record_id: int | str, *, fields: str) -> dict[str, Any] | None:
        """``GET /{resource}/{id}.json?fields=...``; ``None`` when Clio answers 404."""
        response = self._http.send(
            "GET", self._url(f"/{_resource(resource)}/{_id(record_id)}.json"), params={"fields": fields}, allow=(404,)
        )
        if response.status_code == 404:
            return None
        return _data(response)

    def read_page(
        self,
        resource: str,
        *,
        fields: str,
        params: Mapping[str, Any] | None = None,
        updated_since: datetime | None = None,
        page_size: int = MAX_PAGE_SIZE,
        next_url: str | None = None,
    ) -> RecordPage:
        """One page of ``GET /{resource}.json`` by cursor (``order=id(asc)``); ``next_url`` is the
        previous page's :attr:`RecordPage.next` (the link repeats the query with its page token).

        :meth:`iter_records` walks these; callers that must survive a throttle between pages (the
        backfill waits it out and asks for the same page again) walk them themselves."""
        if next_url is not None:
            body = self.request("GET", next_url).json()
        else:
            if not 1 <= page_size <= MAX_PAGE_SIZE:
                raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
            query: dict[str, Any] = {**(params or {}), "fields": fields, "limit": page_size, "order": "id(asc)"}
            if updated_since is not None:
                query["updated_since"] = _iso(updated_since)
            body = self.request("GET", f"/{_resource(resource)}.json", params=query).json()
        rows = body.get("data") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise UpstreamUnavailableError(f"Clio answered a {resource} page without a data list")
        following = ((body.get("meta") or {}).get("paging") or {}).get("next")
        return RecordPage(rows=rows, next=str(following) if following else None)

    def iter_records(
        self,
        resource: str,
        *,
        fields: str,
        params: Mapping[str, Any] | None = None,
        updated_since: datetime | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Every record of ``resource`` (optionally changed since ``updated_since``), by cursor:
        ``order=id(asc)``, following ``meta.paging.next`` (unlimited, unlike offset paging's 10,000
        cap). Extra filters (``{"client_id": 5}``, ``{"ids[]": [1, 2]}``) go in ``params``."""
        page = self.read_page(resource, fields=fields, params=params, updated_since=updated_since, page_size=page_size)
        while True:
            yield from page.rows
            if page.next is None:
                return
            page = self.read_page(resource, fields=fields, next_url=page.next)

    def create_record(self, resource: str, data: dict[str, Any], *, fields: str) -> dict[str, Any]:
        """``POST /{resource}.json`` with ``{"data": data}``; the created record."""
        response = self.request("POST", f"/{_resource(resource)}.json", params={"fields": fields}, json={"data": data})
        return _data(response)

    def update_record(
        self, resource: str, record_id: int | str, data: dict[str, Any], *, fields: str, etag: str | None = None
    ) -> dict[str, Any]:
        """``PATCH``; with ``etag`` it is sent as ``If-Match`` and a stale one raises
        :class:`PreconditionFailedError` (nothing changed: re-fetch, re-map, retry)."""
        headers = {"If-Match": etag} if etag else None
        response = self.request(
            "PATCH",
            f"/{_resource(resource)}/{_id(record_id)}.json",
            params={"fields": fields},
            json={"data": data},
            headers=headers,
        )
        return _data(response)

    def delete_record(self, resource: str, record_id: int | str) -> None:
        """``DELETE``; ``NotFoundError`` if it is already gone."""
        self.request("DELETE", f"/{_resource(resource)}/{_id(record_id)}.json")

    # ------------------------------------------------------------------ contacts (thin callers)

    def get_contact(self, contact_id: int | str, fields: str = CONTACT_FIELDS) -> dict[str, Any] | None:
        """The contact, or ``None`` when Clio answers 404."""
        return self.get_record("contacts", contact_id, fields=fields)

    def iter_contacts(
        self, *, updated_since: datetime | None = None, fields: str = CONTACT_FIELDS, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """Every contact (optionally changed since ``updated_since``); see :meth:`iter_records`."""
        return self.iter_records("contacts", fields=fields, updated_since=updated_since, page_size=page_size)

    def create_contact(self, data: dict[str, Any], fields: str = CONTACT_FIELDS) -> dict[str, Any]:
        return self.create_record("contacts", data, fields=fields)

    def update_contact(
        self, contact_id: int | str, data: dict[str, Any], *, etag: str | None, fields: str = CONTACT_FIELDS
    ) -> dict[str, Any]:
        """See :meth:`update_record`."""
        return self.update_record("contacts", contact_id, data, fields=fields, etag=etag)

    def delete_contact(self, contact_id: int | str) -> None:
        """DELETE; ``NotFoundError`` if it is already gone."""
        self.delete_record("contacts", contact_id)

    def who_am_i(self, fields: str = WHO_AM_I_FIELDS) -> dict[str, Any]:
        """The user whose token this is (``/users/who_am_i``)."""
        return _data(self.request("GET", "/users/who_am_i.json", params={"fields": fields}))


def _id(record_id: int | str) -> str:
    text = str(record_id)
    if not text.isdigit():
        raise ValueError(f"not a Clio id: {record_id!r}")
    return text


_RESOURCE = re.compile(r"^[a-z][a-z_]*(/[a-z][a-z_]*)?$")


def _resource(resource: str) -> str:
    """A collection name such as ``contacts`` or ``bills`` (never a path that could leave /api/v4)."""
    if not _RESOURCE.match(resource):
        raise ValueError(f"not a Clio resource name: {resource!r}")
    return resource


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
