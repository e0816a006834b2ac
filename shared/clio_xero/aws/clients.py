"""boto3 clients for the runtime's wiring: the one place outside the adapters that names boto3.

Wiring code asks for clients here and hands them to the adapters (clio_xero.store,
clio_xero.aws), so nothing else imports boto3 or botocore (tests/test_adapters.py checks it).
boto3 is imported when a client is first asked for, not at import time, which keeps cold starts
of functions that never need a service short (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any

__all__ = ["aws_client", "receiver_client"]


def aws_client(service: str) -> Any:
    """A client with boto3's defaults (region and credentials from the environment)."""
    import boto3

    return boto3.client(service)  # type: ignore[call-overload]


def receiver_client(service: str) -> Any:
    """A client for the webhook receivers, which must answer within 5 s.

    Xero wants an answer within 5 s and the function stops at 5 s: fail fast (a 503 makes the
    provider redeliver; dedupe keys make that harmless). Typical calls take milliseconds.
    """
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.client(service, config=config)  # type: ignore[call-overload]
