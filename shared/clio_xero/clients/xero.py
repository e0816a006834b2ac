"""Xero Accounting API client (docs/facts-xero.md) for one tenant: any collection (read by id, by ids,
by pages; batched saves) and ``/connections``.

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

from clio_xero.clients._http import ProviderHttp, RecordPage, xero_error
from clio_xero.clients.endpoints import XeroEndpoints
from clio_xero.clients.oauth import AccessTokenSource
from clio_xero.clients.ratelimit import RateBudget
from clio_xero.clock import Clock
from clio_xero.errors import UpstreamUnavailableError

__all__ = ["IDS_PER_REQUEST", "MAX_IDEMPOTENCY_KEY", "ElementResult", "XeroClient", "check_idempotency_key"]

#: ``IDs=`` is limited by URL length: ~52 GUIDs worked, 53 gave 404 (docs/facts-xero.md#batching).
IDS_PER_REQUEST = 50
MAX_IDEMPOTENCY_KEY = 128  # docs/facts-xero.md#idempotency
MAX_PAGE_SIZE = 1000
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SAFE_NUMBER = re.compile(r"^[A-Za-z0-9._~-]+$")
_RESOURCE = re.compile(r"^[A-Z][A-Za-z]*(/[A-Za-z0-9-]+)*$")
#: Collections whose archived records Xero leaves out unless asked (docs/facts-xero.md#batching).
_ARCHIVED: dict[str, dict[str, str]] = {"Contacts": {"includeArchived": "true"}}


class ElementResult(BaseModel):
    """One element of a batch write with ``summarizeErrors=false`` (docs/facts-xero.md#batching)."""

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

    # ------------------------------------------------------------------ any collection

    def get_record(self, resource: str, key: str, record_id: str) -> dict[str, Any] | None:
        """``GET /{resource}/{id}`` (e.g. ``("Invoices", "Invoices", id)``); ``None`` on 404."""
        response = self._send("GET", f"/{_resource(resource)}/{urllib.parse.quote(record_id, safe='')}", allow=(404,))
        if response.status_code == 404:
            return None
        return _first(response, key)

    def get_records(self, resource: str, key: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Many by id, ``IDs=`` in chunks of 50 (one call per chunk); missing ids are skipped.

        ``page=1`` makes Xero return full records (line items, ``MergedToContactID``), which
        unpaged list reads leave out; archived contacts are included (their numbers stay taken)."""
        out: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), IDS_PER_REQUEST):
            chunk = unique[start : start + IDS_PER_REQUEST]
            params: dict[str, Any] = {"IDs": ",".join(chunk), "page": 1, "pageSize": IDS_PER_REQUEST}
            params.update(_ARCHIVED.get(resource, {}))
            out.extend(_list(self._send("GET", f"/{_resource(resource)}", params=params), key))
        return out

    def read_page(
        self,
        resource: str,
        key: str,
        *,
        page: int = 1,
        params: Mapping[str, Any] | None = None,
        modified_since: datetime | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> RecordPage:
        """One page (``page``/``pageSize``, up to 1000), optionally ``If-Modified-Since``.

        :meth:`iter_records` walks these; the next page is ``int(RecordPage.next)``. Callers that
        must survive a throttle between pages (the backfill) walk them themselves."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}")
        headers: dict[str, str] = {}
        if modified_since is not None:
            if modified_since.tzinfo is None:
                raise ValueError("modified_since must be timezone-aware")
            headers["If-Modified-Since"] = modified_since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        query: dict[str, Any] = {**(params or {}), "page": page, "pageSize": page_size}
        response = self._send("GET", f"/{_resource(resource)}", params=query, headers=headers)
        if response.status_code == 304:
            return RecordPage(rows=[], next=None)
        body = response.json()
        rows = body.get(key) if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise UpstreamUnavailableError(f"Xero answered {response.status_code} without {key}")
        page_count = (body.get("pagination") or {}).get("pageCount")
        last = len(rows) < page_size or (isinstance(page_count, int) and page >= page_count)
        return RecordPage(rows=rows, next=None if last else str(page + 1))

    def iter_records(
        self,
        resource: str,
        key: str,
        *,
        params: Mapping[str, Any] | None = None,
        modified_since: datetime | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Every record of the collection, page by page; filters (``where``, ``Statuses``,
        ``includeArchived``) go in ``params``."""
        page: int | None = 1
        while page is not None:
            found = self.read_page(
                resource, key, page=page, params=params, modified_since=modified_since, page_size=page_size
            )
            yield from found.rows
            page = int(found.next) if found.next is not None else None

    def save_records(
        self, resource: str, key: str, records: Sequence[dict[str, Any]], *, idempotency_key: str, create: bool
    ) -> list[ElementResult]:
        """``PUT`` (create) or ``POST`` (create or update) ``/{resource}?summarizeErrors=false``.

        One result per element, in order, with Xero's ValidationErrors messages verbatim. Never
        send a batch without summarizeErrors=false: a 400 would hide that the valid elements were
        created (docs/facts-xero.md#batching). Keep batches at ~50 (Xero's recommendation)."""
        check_idempotency_key(idempotency_key)
        if not records:
            return []
        response = self._send(
            "PUT" if create else "POST",
            f"/{_resource(resource)}",
            params={"summarizeErrors": "false"},
            json={key: list(records)},
            headers={"Idempotency-Key": idempotency_key},
        )
        rows = _list(response, key)
        if len(rows) != len(records):
            raise UpstreamUnavailableError(f"Xero answered {len(rows)} results for {len(records)} {key}")
        return [_element(i, row) for i, row in enumerate(rows)]

    # ------------------------------------------------------------------ contacts (thin callers)

    def get_contact(self, contact_id: str) -> dict[str, Any] | None:
        """By ContactID (includes ``MergedToContactID``); ``None`` on 404."""
        return self.get_record("Contacts", "Contacts", contact_id)

    def get_contacts(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Many by ContactID, ``IDs=`` in chunks of 50, archived included; missing ids are skipped."""
        return self.get_records("Contacts", "Contacts", ids)

    def find_contact_by_number(self, number: str) -> dict[str, Any] | None:
        """The contact with this ``ContactNumber`` (archived ones too: the number stays taken)."""
        if _SAFE_NUMBER.match(number) and not _GUID.match(number):
            # Xero's direct lookup by external key (docs/facts-xero.md#batching); a GUID-shaped value would be
            # read as a ContactID, hence the where-filter for those.
            return self.get_record("Contacts", "Contacts", number)
        escaped = number.replace("\\", "\\\\").replace('"', '\\"')
        params = {"where": f'ContactNumber=="{escaped}"', "includeArchived": "true", "page": 1}
        found = _list(self._send("GET", "/Contacts", params=params), "Contacts")
        return found[0] if found else None

    def iter_contacts(
        self, *, modified_since: datetime | None = None, include_archived: bool = True, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """All contacts, paged (``pageSize`` up to 1000), optionally ``If-Modified-Since``."""
        params = _ARCHIVED["Contacts"] if include_archived else None
        return self.iter_records(
            "Contacts", "Contacts", params=params, modified_since=modified_since, page_size=page_size
        )

    def save_contacts(
        self, contacts: Sequence[dict[str, Any]], *, idempotency_key: str, create: bool
    ) -> list[ElementResult]:
        """See :meth:`save_records`."""
        return self.save_records("Contacts", "Contacts", contacts, idempotency_key=idempotency_key, create=create)

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


def _resource(resource: str) -> str:
    """A collection path such as ``Invoices`` or ``CreditNotes/{id}/Allocations``."""
    if not _RESOURCE.match(resource):
        raise ValueError(f"not a Xero collection: {resource!r}")
    return resource


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
