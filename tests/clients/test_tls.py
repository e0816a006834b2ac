"""Every HTTP client of a process verifies TLS with one context, built once (clients/tls.py)."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from clio_xero.clients.clio import ClioClient
from clio_xero.clients.endpoints import ClioEndpoints
from clio_xero.clients.oauth import AuthlibRefresher, StaticTokenSource
from clio_xero.clients.ratelimit import UnlimitedBudget
from clio_xero.clients.tls import tls_context


def _context_of(client: httpx.Client) -> Any:
    transport = client._transport  # httpx's default transport: an httpcore pool with the context
    assert isinstance(transport, httpx.HTTPTransport)
    return transport._pool._ssl_context


def test_the_context_verifies_certificates_and_host_names_as_httpx_does() -> None:
    context = tls_context()
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.cert_store_stats()["x509_ca"] > 0  # a CA bundle is loaded
    assert tls_context() is context  # built once


def test_api_clients_and_token_refreshes_share_it() -> None:
    first, second = (
        ClioClient(
            endpoints=ClioEndpoints("https://app.clio.com"),
            tokens=StaticTokenSource("t", "clio"),
            budget=UnlimitedBudget(),
            budget_key=f"connection-{n}",
        )
        for n in (1, 2)
    )
    refresher = AuthlibRefresher(
        provider="xero", token_url="https://identity.xero.com/connect/token", client_id="id", client_secret="s"
    )
    with refresher.client() as oauth:
        contexts = {id(_context_of(first._http._client)), id(_context_of(second._http._client)), id(_context_of(oauth))}
    assert contexts == {id(tls_context())}
