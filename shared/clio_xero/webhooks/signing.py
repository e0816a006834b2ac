"""HMAC signing and constant-time verification for both providers.

Pure functions over raw bytes: the receivers verify with them, and the sandboxes, the sample
events in ``events/`` and the tests sign with the very same code (the svix / stripe pattern).

* Xero: ``x-xero-signature`` = base64(HMAC-SHA256(webhook key, raw body)).
* Clio: ``X-Hook-Signature`` = HMAC-SHA256(shared secret, raw body). Clio does not document the
  encoding; production code seen in the wild compares lowercase hex (UNCONFIRMED, see
  docs/facts-clio.md#webhooks), so we sign hex and accept base64 as well.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from clio_xero.errors import SignatureError


def _digest(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()


def sign_xero(body: bytes, webhook_key: str) -> str:
    """Return the ``x-xero-signature`` value Xero would send for ``body``."""
    return base64.b64encode(_digest(webhook_key, body)).decode("ascii")


def sign_clio(body: bytes, shared_secret: str) -> str:
    """Return the ``X-Hook-Signature`` value (lowercase hex) Clio would send for ``body``."""
    return _digest(shared_secret, body).hex()


def verify_xero(body: bytes, signature: str | None, webhook_key: str) -> None:
    """Raise :class:`SignatureError` unless ``signature`` signs ``body`` with ``webhook_key``."""
    if not signature:
        raise SignatureError("missing x-xero-signature header")
    expected = sign_xero(body, webhook_key).encode("ascii")
    if not hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace")):
        raise SignatureError("x-xero-signature does not match the body")


def verify_clio(body: bytes, signature: str | None, shared_secret: str) -> None:
    """Raise :class:`SignatureError` unless ``signature`` (hex or base64) signs ``body``."""
    if not signature:
        raise SignatureError("missing X-Hook-Signature header")
    digest = _digest(shared_secret, body)
    given = signature.strip().encode("utf-8", "replace")
    hex_ok = hmac.compare_digest(digest.hex().encode("ascii"), given.lower())
    b64_ok = hmac.compare_digest(base64.b64encode(digest), given)
    if not (hex_ok or b64_ok):
        raise SignatureError("X-Hook-Signature does not match the body")
