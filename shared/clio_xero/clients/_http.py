"""One request pipeline for both API clients, and the one place provider answers become errors.

Per call: ``budget.acquire`` → HTTP with a Bearer token → ``budget.observe`` → ``budget.release``.
A 401 forces one token refresh and one retry; a second 401 means the grant is dead.

Translation into :mod:`clio_xero.errors`:

====================================  ================================================
answer                                error
====================================  ================================================
429                                   ``ThrottledError(retry_after=Retry-After)``
5xx, timeout, transport error         ``UpstreamUnavailableError`` (Xero's 503
                                      "Organisation offline" is plain text)
Xero 400 / Clio 400, 422              ``ValidationFailedError`` with the provider's
                                      messages verbatim
404                                   ``NotFoundError`` (methods that return ``None``
                                      for a missing record ask for the 404 instead)
Xero 403 (AuthenticationUnsuccessful) ``NeedsReconnectError``
Clio 403                              ``ConfigurationError`` (permission or the user's
                                      role, docs/facts-clio.md#rest; reconnecting may not help)
Clio 412 (stale ``If-Match``)         ``PreconditionFailedError`` (retryable)
Clio 410 (bad API version)            ``ConfigurationError``
401, twice                            ``NeedsReconnectError``
====================================  ================================================

Nothing here logs a token or an ``Authorization`` header; request logs carry method, path and
status only.
"""

from __future__ import annotations

import json as jsonlib
import logging
import threading
import urllib.parse
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from clio_xero.clients.oauth import AccessTokenSource, reconnect_message
from clio_xero.clients.ratelimit import DEFAULT_BACKOFF_SECONDS, RateBudget, parse_retry_after
from clio_xero.clients.tls import tls_context
from clio_xero.clients.tokens import PROVIDER_NAMES
from clio_xero.clock import Clock, SystemClock
from clio_xero.errors import (
    ConfigurationError,
    NeedsReconnectError,
    NotFoundError,
    PreconditionFailedError,
    SyncError,
    ThrottledError,
    UpstreamUnavailableError,
    ValidationFailedError,
)

__all__ = ["PreconditionFailedError", "ProviderHttp", "RecordPage", "clio_error", "xero_error"]

log = logging.getLogger("clio_xero.clients")

Translator = Callable[[httpx.Response], SyncError]


@dataclass(frozen=True)
class RecordPage:
    """One page of a collection read: its rows and the cursor of the next page (``None``: last).

    Clio's cursor is the ``meta.paging.next`` URL; Xero's is the next page number as text."""

    rows: list[dict[str, Any]]
    next: str | None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return None


def _snippet(response: httpx.Response) -> str:
    """A short, single-line excerpt of a non-JSON body (e.g. "Organisation offline")."""
    text = " ".join(response.text.split())
    return text[:200]


def _common(provider: str, response: httpx.Response, clock: Clock) -> SyncError | None:
    name = PROVIDER_NAMES.get(provider, provider)
    status = response.status_code
    if status == 429:
        retry = parse_retry_after(response.headers, clock.now())
        problem = response.headers.get("X-Rate-Limit-Problem")
        what = f" ({problem})" if problem else ""
        return ThrottledError(
            f"{name} rate limit hit{what}", retry_after=retry if retry is not None else DEFAULT_BACKOFF_SECONDS
        )
    if status >= 500:
        detail = _snippet(response) if _json(response) is None else ""
        return UpstreamUnavailableError(f"{name} answered {status}" + (f": {detail}" if detail else ""))
    return None


def xero_validation_messages(body: Any) -> list[str]:
    """``Elements[*].ValidationErrors[*].Message`` (or the top-level ``Message``), verbatim."""
    messages: list[str] = []
    if isinstance(body, dict):
        for element in body.get("Elements") or []:
            if isinstance(element, dict):
                for err in element.get("ValidationErrors") or []:
                    if isinstance(err, dict) and err.get("Message"):
                        messages.append(str(err["Message"]))
        if not messages:
            for field in ("Message", "Detail", "Title"):
                if body.get(field):
                    messages.append(str(body[field]))
                    break
    return messages


def xero_error(response: httpx.Response, clock: Clock | None = None) -> SyncError:
    common = _common("xero", response, clock or SystemClock())
    if common is not None:
        return common
    status = response.status_code
    body = _json(response)
    if status == 403:
        detail = body.get("Detail") if isinstance(body, dict) else None
        return NeedsReconnectError(
            reconnect_message("xero", f"the organisation is not connected to this app ({detail or 'Forbidden'})")
        )
    if status == 404:
        return NotFoundError("Xero: the record does not exist")
    if status == 412:
        return ConfigurationError(f"Xero answered 412: {_snippet(response)}")
    messages = xero_validation_messages(body) or [_snippet(response) or f"HTTP {status}"]
    return ValidationFailedError(f"Xero rejected the request: {messages[0]}", messages)


def clio_error(response: httpx.Response, clock: Clock | None = None) -> SyncError:
    common = _common("clio", response, clock or SystemClock())
    if common is not None:
        return common
    status = response.status_code
    body = _json(response)
    message = ""
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            message = str(err.get("message") or err.get("type") or "")
        elif isinstance(err, str):
            message = str(body.get("error_description") or err)
    message = message or _snippet(response) or f"HTTP {status}"
    if status == 404:
        return NotFoundError(f"Clio: the record does not exist ({message})")
    if status == 412:
        return PreconditionFailedError(f"Clio: the record changed since it was read ({message})")
    if status == 403:
        return ConfigurationError(
            f"Clio refused access (the app's permissions or the connecting user's role): {message}"
        )
    if status == 410:
        return ConfigurationError(f"Clio refused the API version: {message}")
    return ValidationFailedError(f"Clio rejected the request: {message}", [message])


class ProviderHttp:
    """An ``httpx.Client`` plus budget, tokens, 401-retry and error translation for one provider."""

    def __init__(
        self,
        *,
        provider: str,
        tokens: AccessTokenSource,
        budget: RateBudget,
        budget_key: str,
        translate: Callable[[httpx.Response, Clock | None], SyncError],
        transport: httpx.BaseTransport | None,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.provider = provider
        self._tokens = tokens
        self._budget = budget
        self._key = budget_key
        self._translate = translate
        self._clock = clock or SystemClock()
        self._client = httpx.Client(
            transport=transport,
            timeout=timeout,
            headers=dict(headers or {}),
            follow_redirects=False,
            verify=tls_context(),
        )
        self._lock = threading.Lock()
        self._calls = 0

    @property
    def calls(self) -> int:
        """HTTP calls sent (refresh calls to the token endpoint are not counted)."""
        with self._lock:
            return self._calls

    def close(self) -> None:
        self._client.close()

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        allow: Collection[int] = (),
    ) -> httpx.Response:
        """Send, translating failures; statuses in ``allow`` are returned instead of raised."""
        token = self._tokens.access_token()
        refreshed = False
        while True:
            response = self._once(method, url, token, params=params, json=json, headers=headers)
            status = response.status_code
            if status == 401:
                if refreshed:
                    raise NeedsReconnectError(
                        reconnect_message(self.provider, "the access token was rejected even after a refresh")
                    )
                token = self._tokens.force_refresh(token)
                refreshed = True
                continue
            if status < 300 or status == 304 or status in allow:
                return response
            raise self._translate(response, self._clock)

    def _once(
        self,
        method: str,
        url: str,
        token: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        name = PROVIDER_NAMES.get(self.provider, self.provider)
        path = urllib.parse.urlsplit(url).path
        all_headers = {**(headers or {}), "Authorization": f"Bearer {token}"}
        content: bytes | None = None
        if json is not None:
            content = jsonlib.dumps(json, separators=(",", ":")).encode()
            all_headers.setdefault("Content-Type", "application/json")
        self._budget.acquire(self.provider, self._key)
        try:
            with self._lock:
                self._calls += 1
            try:
                response = self._client.request(
                    method, url, params=dict(params) if params else None, content=content, headers=all_headers
                )
            except httpx.TimeoutException:
                raise UpstreamUnavailableError(f"{name} {method} {path}: timed out") from None
            except httpx.TransportError as exc:
                raise UpstreamUnavailableError(f"{name} {method} {path}: {type(exc).__name__}") from None
        finally:
            self._budget.release(self.provider, self._key)
        log.debug("%s %s %s -> %s", name, method, path, response.status_code)
        self._budget.observe(self.provider, self._key, response.status_code, response.headers)
        return response
