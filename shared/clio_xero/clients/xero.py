"""Xero Accounting API client (xero-api.md §3-§7) for one tenant: contacts and ``/connections``.

Example (sandbox, in-process)::

    sb = XeroSandbox(clock=clock)
    org = sb.create_organisation("Demo Law")
    client = XeroClient(endpoints=XeroEndpoints.sandbox("http://xero.test"), tenant_id=org.organisation_id,
                        tokens=manager, budget=InMemoryRateBudget(clock),
                        transport=wsgi_transport(sb.wsgi_app))
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import BaseModel

from clio_xero.clients._http import ProviderHttp, xero_error
from clio_xero.clients.endpoints import XeroEndpoints
from clio_xero.clients.oauth import AccessTokenSource
from clio_xero.clients.ratelimit import RateBudget
from clio_xero.clock import Clock
from clio_xero.errors import UpstreamUnavailableError

__all__ = ["IDS_PER_REQUEST", "MAX_IDEMPOTENCY_KEY", "ElementResult", "XeroClient", "check_idempotency_key"]

#: ``IDs=`` is limited by URL length: ~52 GUIDs worked, 53 gave 404 (xero-api.md §5).
IDS_PER_REQUEST = 50
MAX_IDEMPOTENCY_KEY = 128  # xero-api.md §4 [P]
MAX_PAGE_SIZE = 1000
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SAFE_NUMBER = re.compile(r"^[A-Za-z0-9._~-]+$")


class ElementResult(BaseModel):
    """One element of a batch write with ``summarizeErrors=false`` (xero-api.md §5)."""

    index: int
    ok: bool
    record: dict[str, Any] | None
    errors: list[str]


def check_idempotency_key(key: str) -> str:
    """Xero accepts up to 128 characters; a header value must be printable ASCII."""
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not all(33 <= ord(c) <= 126 for c in key):
        raise ValueError(f"Idempotency-Key must be 1..{MAX_IDEMPOTENCY_KEY} printable ASCII characters without spaces")
    return key


class XeroClient:
    """Xero Accounting for one tenant; the rate budget key is the tenant id (Xero limits per tenant)."""

    def __init__(
        self,
        *,
        endpoints: XeroEndpoints,
        tenant_id: str,
        tokens: AccessTokenSource,
        budget: RateBudget,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        clock: Clock | None = None,
    ) -> None:
        self.endpoints = endpoints
        self.tenant_id = tenant_id
        self._http = ProviderHttp(
            provider="xero",
            tokens=tokens,
            budget=budget,
            budget_key=tenant_id,
            translate=xero_error,
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json"},
            clock=clock,
        )

    @property
    def calls(self) -> int:
        """HTTP calls made (for tests and benchmarks)."""
        return self._http.calls

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """An Accounting API call (``path`` relative to ``/api.xro/2.0``), translated."""
        return self._send(method, path, params=params, json=json, headers=headers)

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        allow: Sequence[int] = (),
    ) -> httpx.Response:
        url = f"{self.endpoints.accounting_url}/{path.lstrip('/')}"
        all_headers = {"xero-tenant-id": self.tenant_id, **(headers or {})}
        return self._http.send(method, url, params=params, json=json, headers=all_headers, allow=allow)

    # ------------------------------------------------------------------ identity

    def connections(self) -> list[dict[str, Any]]:
        """``GET /connections``: the tenants this token may use (no tenant header)."""
        body = self._http.send("GET", self.endpoints.connections_url).json()
        if not isinstance(body, list):
            raise UpstreamUnavailableError("Xero /connections did not answer a list")
        return body

    # ------------------------------------------------------------------ contacts

    def get_contact(self, contact_id: str) -> dict[str, Any] | None:
        """By ContactID (includes ``MergedToContactID``); ``None`` on 404."""
        response = self._send("GET", f"/Contacts/{urllib.parse.quote(contact_id, safe='')}", allow=(404,))
        if response.status_code == 404:
            return None
        return _first(response, "Contacts")

    def get_contacts(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Many by ContactID, ``IDs=`` in chunks of 50, archived included; missing ids are skipped."""
        out: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), IDS_PER_REQUEST):
            chunk = unique[start : start + IDS_PER_REQUEST]
            # page=1 makes Xero return full records (MergedToContactID is only in paged/single reads).
            params = {"IDs": ",".join(chunk), "includeArchived": "true", "page": 1, "pageSize": IDS_PER_REQUEST}
            out.extend(_list(self._send("GET", "/Contacts", params=params), "Contacts"))
        return out

    def find_contact_by_number(self, number: str) -> dict[str, Any] | None:
        """The contact with this ``ContactNumber`` (archived ones too: the number stays taken)."""
        if _SAFE_NUMBER.match(number) and not _GUID.match(number):
            # Xero's direct lookup by external key (xero-api.md §5); a GUID-shaped value would be
            # read as a ContactID, hence the where-filter for those.
            response = self._send("GET", f"/Contacts/{number}", allow=(404,))
            return None if response.status_code == 404 else _first(response, "Contacts")
        escaped = number.replace("\\", "\\\\").replace('"', '\\"')
        params = {"where": f'ContactNumber=="{escaped}"', "includeArchived": "true", "page": 1}
        found = _list(self._send("GET", "/Contacts", params=params), "Contacts")
        return found[0] if found else None

    def iter_contacts(
        self, *, modified_since: datetime | None = None, include_archived: bool = True, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """All contacts, paged (``pageSize`` up to 1000), optionally ``If-Modified-Since``."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
        headers: dict[str, str] = {}
        if modified_since is not None:
            if modified_since.tzinfo is None:
                raise ValueError("modified_since must be timezone-aware")
            headers["If-Modified-Since"] = modified_since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        page = 1
        while True:
            params: dict[str, Any] = {"page": page, "pageSize": page_size}
            if include_archived:
                params["includeArchived"] = "true"
            response = self._send("GET", "/Contacts", params=params, headers=headers)
            if response.status_code == 304:
                return
            body = response.json()
            rows = body.get("Contacts") or []
            yield from rows
            pagination = body.get("pagination") or {}
            page_count = pagination.get("pageCount")
            if len(rows) < page_size or (isinstance(page_count, int) and page >= page_count):
                return
            page += 1

    def save_contacts(
        self, contacts: Sequence[dict[str, Any]], *, idempotency_key: str, create: bool
    ) -> list[ElementResult]:
        """``PUT`` (create) or ``POST`` (create or update) ``/Contacts?summarizeErrors=false``.

        One result per element, in order, with Xero's ValidationErrors messages verbatim. Never
        send a batch without summarizeErrors=false: a 400 would hide that the valid elements were
        created (xero-api.md §5, §9.4). Keep batches at ~50 (Xero's recommendation)."""
        check_idempotency_key(idempotency_key)
        if not contacts:
            return []
        response = self._send(
            "PUT" if create else "POST",
            "/Contacts",
            params={"summarizeErrors": "false"},
            json={"Contacts": list(contacts)},
            headers={"Idempotency-Key": idempotency_key},
        )
        rows = _list(response, "Contacts")
        if len(rows) != len(contacts):
            raise UpstreamUnavailableError(f"Xero answered {len(rows)} results for {len(contacts)} contacts")
        return [_element(i, row) for i, row in enumerate(rows)]

    def archive_contact(self, contact_id: str, *, idempotency_key: str) -> dict[str, Any]:
        """Set ``ContactStatus=ARCHIVED`` (Xero has no contact delete)."""
        check_idempotency_key(idempotency_key)
        response = self._send(
            "POST",
            f"/Contacts/{urllib.parse.quote(contact_id, safe='')}",
            json={"Contacts": [{"ContactID": contact_id, "ContactStatus": "ARCHIVED"}]},
            headers={"Idempotency-Key": idempotency_key},
        )
        return _first(response, "Contacts")


def _element(index: int, row: dict[str, Any]) -> ElementResult:
    errors = [str(e["Message"]) for e in row.get("ValidationErrors") or [] if isinstance(e, dict) and e.get("Message")]
    failed = row.get("StatusAttributeString") == "ERROR" or bool(row.get("HasValidationErrors")) or bool(errors)
    return ElementResult(index=index, ok=not failed, record=None if failed else row, errors=errors)


def _list(response: httpx.Response, key: str) -> list[dict[str, Any]]:
    if response.status_code == 304:
        return []
    body = response.json()
    rows = body.get(key) if isinstance(body, dict) else None
    if not isinstance(rows, list):
        raise UpstreamUnavailableError(f"Xero answered {response.status_code} without {key}")
    return rows


def _first(response: httpx.Response, key: str) -> dict[str, Any]:
    rows = _list(response, key)
    if not rows:
        raise UpstreamUnavailableError(f"Xero answered {response.status_code} with no {key}")
    return rows[0]
