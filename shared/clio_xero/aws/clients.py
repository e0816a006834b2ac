"""boto3 clients for the runtime's wiring: the one place outside the adapters that names boto3.

Wiring code asks for clients here and hands them to the adapters (clio_xero.store,
clio_xero.aws), so nothing else imports boto3 or botocore (tests/test_adapters.py checks it).
boto3 is imported when a client is first asked for, not at import time, which keeps cold starts
of functions that never need a service short (docs/benchmarks.md).

One client per service and kind per process. Building a boto3 client costs 25 to 70 ms of CPU
(botocore copies its event hooks and resolves the endpoint for each; measured,
docs/testing.md#one-boto3-client-per-service); a cold start asked for the same service up to
four times, and a CLI command or a locally hosted function built them all again. boto3's
low-level clients are thread-safe (https://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html#multithreading-or-multiprocessing-with-clients),
so one serves the whole process. The key holds every ``AWS_*`` variable of the environment, so a
different region, endpoint or set of credentials gets its own client, as a new process would.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["aws_client", "receiver_client"]

_clients: dict[tuple[object, ...], Any] = {}
_lock = threading.Lock()


def _shared(service: str, kind: str, options: dict[str, str], build: Callable[[], Any]) -> Any:
    environment = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))
    key = (service, kind, tuple(sorted(options.items())), environment)
    with _lock:  # boto3's default session is not safe to build clients from on many threads
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = build()
        return client


def aws_client(service: str, **options: str) -> Any:
    """A client with boto3's defaults (region and credentials from the environment); ``options``
    are passed to ``boto3.client`` (the CLI names an endpoint and local credentials with them)."""

    def build() -> Any:
        import boto3

        return boto3.client(service, **options)  # type: ignore[call-overload]

    return _shared(service, "default", options, build)


def receiver_client(service: str) -> Any:
    """A client for the webhook receivers, which must answer within 5 s.

    Xero wants an answer within 5 s and the function stops at 5 s: fail fast (a 503 makes the
    provider redeliver; dedupe keys make that harmless). Typical calls take milliseconds.
    """

    def build() -> Any:
        import boto3
        from botocore.config import Config

        config = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 2, "mode": "standard"})
        return boto3.client(service, config=config)  # type: ignore[call-overload]

    return _shared(service, "receiver", {}, build)
