"""The translation table and the 401 retry, with ``httpx.MockTransport`` (no sandbox, no network)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pytest

from clio_xero.clients import (
    ClioClient,
    ClioEndpoints,
    PreconditionFailedError,
    StaticTokenSource,
    XeroClient,
    XeroEndpoints,
)
from clio_xero.errors import (
    ConfigurationError,
    NeedsReconnectError,
    NotFoundError,
    RetryableError,
    SyncError,
    ThrottledError,
    UpstreamUnavailableError,
    ValidationFailedError,
)

TENANT = "11111111-2222-3333-4444-555555555555"


class RecordingBudget:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def acquire(self, provider: str, key: str) -> None:
        self.events.append(("acquire", key))

    def release(self, provider: str, key: str) -> None:
        self.events.append(("release", key))

    def observe(self, provider: str, key: str, status: int, headers: Mapping[str, str]) -> None:
        self.events.append(("observe", status))


class RotatingTokens:
    """Hands out tok-1; a force_refresh gives tok-2 (records the stale token it was given)."""

    def __init__(self) -> None:
        self.current = "tok-1"
        self.forced: list[str] = []

    def access_token(self) -> str:
        return self.current

    def force_refresh(self, stale_access_token: str) -> str:
        self.forced.append(stale_access_token)
        self.current = "tok-2"
        return self.current


Handler = Callable[[httpx.Request], httpx.Response]


def xero_client(handler: Handler, tokens: Any = None, budget: Any = None) -> XeroClient:
    return XeroClient(
        endpoints=XeroEndpoints(),
        tenant_id=TENANT,
        tokens=tokens or StaticTokenSource("tok-1"),
        budget=budget or RecordingBudget(),
        transport=httpx.MockTransport(handler),
    )


def clio_client(handler: Handler, tokens: Any = None, budget: Any = None) -> ClioClient:
    return ClioClient(
        endpoints=ClioEndpoints.for_region("eu"),
        tokens=tokens or StaticTokenSource("tok-1", "clio"),
        budget=budget or RecordingBudget(),
        budget_key="conn-1",
        transport=httpx.MockTransport(handler),
    )


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None, text: str | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return handler


XERO_VALIDATION = {
    "ErrorNumber": 10,
    "Type": "ValidationException",
    "Message": "A validation exception occurred",
    "Elements": [
        {"ValidationErrors": [{"Message": "The contact name A is already assigned to another contact."}]},
        {"ValidationErrors": [{"Message": "Email address must be valid."}, {"Message": "Second problem."}]},
    ],
}


@pytest.mark.parametrize(
    ("status", "body", "text", "error", "messages"),
    [
        (429, {"Title": "Too Many Requests"}, None, ThrottledError, None),
        (500, {"Title": "An error occurred"}, None, UpstreamUnavailableError, None),
        (503, None, "Organisation offline", UpstreamUnavailableError, None),
        (400, XERO_VALIDATION, None, ValidationFailedError,
         ["The contact name A is already assigned to another contact.", "Email address must be valid.",
          "Second problem."]),
        (400, {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": "JSON is invalid"}, None,
         ValidationFailedError, ["JSON is invalid"]),
        (403, {"Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful"}, None,
         NeedsReconnectError, None),
        (404, None, "The resource you're looking for cannot be found", NotFoundError, None),
        (412, None, "Precondition failed", ConfigurationError, None),
    ],
)  # fmt: skip
def test_xero_translation_table(
    status: int, body: Any, text: str | None, error: type[SyncError], messages: list[str] | None
) -> None:
    client = xero_client(answer(status, body, {"Retry-After": "42"} if status == 429 else None, text))
    with pytest.raises(error) as caught:
        client.request("GET", "/Contacts")
    if messages is not None:
        assert isinstance(caught.value, ValidationFailedError)
        assert caught.value.provider_messages == messages
    if status == 429:
        assert isinstance(caught.value, ThrottledError) and caught.value.retry_after == 42
    if status == 503:
        assert "Organisation offline" in caught.value.message
    if status == 403:
        assert caught.value.message.startswith("Xero connection needs reconnecting")


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ValidationFailedError),
        (403, ConfigurationError),
        (404, NotFoundError),
        (410, ConfigurationError),
        (412, PreconditionFailedError),
        (422, ValidationFailedError),
        (429, ThrottledError),
        (502, UpstreamUnavailableError),
    ],
)
def test_clio_translation_table(status: int, error: type[SyncError]) -> None:
    body = {"error": {"type": "RecordInvalid", "message": "First name or last name must be present"}}
    client = clio_client(answer(status, body, {"Retry-After": "7"}))
    with pytest.raises(error) as caught:
        client.request("GET", "/contacts.json")
    if status in (400, 422):
        assert isinstance(caught.value, ValidationFailedError)
        assert caught.value.provider_messages == ["First name or last name must be present"]
    if status == 429:
        assert isinstance(caught.value, ThrottledError) and caught.value.retry_after == 7
    if status == 412:
        assert isinstance(caught.value, RetryableError)


def test_get_returns_none_on_404_but_request_raises() -> None:
    client = clio_client(answer(404, {"error": {"type": "RecordNotFound", "message": "not found"}}))
    assert client.get_contact(5) is None
    xclient = xero_client(answer(404, text="The resource you're looking for cannot be found"))
    assert xclient.get_contact(TENANT) is None
    with pytest.raises(NotFoundError):
        client.delete_contact(5)


def test_timeouts_and_transport_errors_are_upstream_unavailable() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    budget = RecordingBudget()
    for handler in (timeout, refused):
        with pytest.raises(UpstreamUnavailableError):
            xero_client(handler, budget=budget).request("GET", "/Contacts")
    # The concurrency slot went back even though the call failed.
    assert [e for e, _ in budget.events] == ["acquire", "release", "acquire", "release"]


def test_a_401_forces_one_refresh_and_retries_once() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        if request.headers["Authorization"] == "Bearer tok-1":
            return httpx.Response(401, json={"Title": "Unauthorized", "Detail": "TokenExpired: token expired"})
        return httpx.Response(200, json={"Contacts": [{"ContactID": TENANT}]})

    tokens = RotatingTokens()
    budget = RecordingBudget()
    client = xero_client(handler, tokens=tokens, budget=budget)
    assert client.get_contact(TENANT) == {"ContactID": TENANT}
    assert seen == ["Bearer tok-1", "Bearer tok-2"]
    assert tokens.forced == ["tok-1"]
    assert client.calls == 2
    assert budget.events == [
        ("acquire", TENANT), ("release", TENANT), ("observe", 401),
        ("acquire", TENANT), ("release", TENANT), ("observe", 200),
    ]  # fmt: skip


def test_a_second_401_means_reconnect() -> None:
    tokens = RotatingTokens()
    client = clio_client(answer(401, {"error": "invalid_token"}), tokens=tokens)
    with pytest.raises(NeedsReconnectError, match="Clio connection needs reconnecting"):
        client.who_am_i()
    assert tokens.forced == ["tok-1"]
    assert client.calls == 2


def test_static_tokens_cannot_be_refreshed() -> None:
    with pytest.raises(NeedsReconnectError):
        xero_client(answer(401, {"Title": "Unauthorized"})).connections()


def test_headers_sent_and_nothing_secret_logged(caplog: pytest.LogCaptureFixture) -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={"data": {"id": 1, "etag": '"x"'}})

    caplog.set_level(logging.DEBUG)
    client = clio_client(handler, tokens=StaticTokenSource("super-secret-token", "clio"))
    client.update_contact(1, {"first_name": "A"}, etag='"x"')
    sent = requests[0]
    assert str(sent.url).startswith("https://eu.app.clio.com/api/v4/contacts/1.json?fields=")
    assert sent.headers["If-Match"] == '"x"'
    assert sent.headers["X-API-VERSION"] == "4.0.13"
    assert sent.headers["Authorization"] == "Bearer super-secret-token"
    assert "super-secret-token" not in caplog.text and "Authorization" not in caplog.text
    assert "PATCH /api/v4/contacts/1.json -> 200" in caplog.text


def test_xero_requests_carry_the_tenant_and_idempotency_key() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.url.path == "/connections":
            return httpx.Response(200, json=[{"tenantId": TENANT}])
        return httpx.Response(200, json={"Contacts": [{"ContactID": TENANT, "StatusAttributeString": "OK"}]})

    client = xero_client(handler)
    client.save_contacts([{"Name": "A"}], idempotency_key="clio:contact:1:v1", create=True)
    client.connections()
    put, conns = requests
    assert put.method == "PUT" and put.url.params["summarizeErrors"] == "false"
    assert put.headers["xero-tenant-id"] == TENANT and put.headers["Idempotency-Key"] == "clio:contact:1:v1"
    assert "xero-tenant-id" not in conns.headers  # identity calls are not tenant-scoped


@pytest.mark.parametrize("key", ["", "x" * 129, "has space", "naïve"])
def test_bad_idempotency_keys_are_refused_before_any_call(key: str) -> None:
    client = xero_client(answer(200, {"Contacts": []}))
    with pytest.raises(ValueError, match="Idempotency-Key"):
        client.save_contacts([{"Name": "A"}], idempotency_key=key, create=True)
    assert client.calls == 0


def test_clio_paging_links_never_leave_the_connection_host() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if "page_token" in request.url.params:
            return httpx.Response(200, json={"data": [{"id": 2}], "meta": {"paging": {}}})
        nxt = "https://evil.example/api/v4/contacts.json?page_token=abc&limit=1"
        return httpx.Response(200, json={"data": [{"id": 1}], "meta": {"paging": {"next": nxt}}})

    client = clio_client(handler)
    assert [c["id"] for c in client.iter_contacts(page_size=1)] == [1, 2]
    assert requests[1].url.host == "eu.app.clio.com"
    assert requests[0].url.params["order"] == "id(asc)"


def test_ids_are_sent_in_chunks_of_fifty_and_results_mapped_per_element() -> None:
    chunks: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            ids = request.url.params["IDs"].split(",")
            chunks.append(ids)
            assert request.url.params["includeArchived"] == "true" and request.url.params["page"] == "1"
            return httpx.Response(200, json={"Contacts": [{"ContactID": i} for i in ids]})
        return httpx.Response(200, json={"Contacts": [
            {"ContactID": "a", "StatusAttributeString": "WARNING", "Warnings": [{"Message": "w"}]},
            {"Name": "B", "StatusAttributeString": "ERROR", "HasValidationErrors": True,
             "ValidationErrors": [{"Message": "The contact name B is already assigned to another contact."}]},
        ]})  # fmt: skip

    client = xero_client(handler)
    ids = [f"{i:08d}-0000-0000-0000-000000000000" for i in range(120)]
    assert len(client.get_contacts(ids)) == 120
    assert [len(c) for c in chunks] == [50, 50, 20]
    ok, bad = client.save_contacts([{"Name": "A"}, {"Name": "B"}], idempotency_key="k", create=False)
    assert ok.ok and ok.record is not None and ok.errors == []
    assert not bad.ok and bad.errors == ["The contact name B is already assigned to another contact."]
