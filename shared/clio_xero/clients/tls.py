"""The one TLS context every HTTP client of a process verifies with.

httpx builds a new ``ssl.SSLContext`` for every ``httpx.Client`` it creates with the default
``verify=True``, and building one loads the whole CA bundle: 30 to 100 ms of CPU (measured,
docs/testing.md#a-tls-context-per-client). A process builds clients per connection (the worker and
sweep after a cold start), per token refresh (authlib) and per CLI command, so the bundle was
loaded again and again. The context holds configuration only (no connection state), Python's
``ssl`` module lets many sockets and threads share one, and httpx takes a ready context as
``verify`` (https://www.python-httpx.org/advanced/ssl/). Verification is unchanged: this is
exactly httpx's default context (certifi's bundle, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``), built once.
"""

from __future__ import annotations

import functools
import ssl

import httpx

__all__ = ["tls_context"]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default certificate verification, built on first use and shared afterwards."""
    return httpx.create_ssl_context()
