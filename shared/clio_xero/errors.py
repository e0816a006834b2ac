"""The one exception tree of clio-xero.

Every branch says what the caller (mostly the queue worker) should do with the record::

    SyncError                       base; never raised directly
    ├── RetryableError              put the record back on the queue and try again later
    │   ├── ThrottledError          a rate limit answered; carries ``retry_after`` seconds
    │   └── UpstreamUnavailableError  5xx, timeouts, "organisation offline"
    ├── PermanentError              park the record (mapping error list, then the DLQ) with a reason
    │   ├── ValidationFailedError   the provider rejected the data; ``provider_messages`` kept verbatim
    │   ├── NotFoundError           the record (or the connection) does not exist
    │   ├── ConfigurationError      a setting is wrong or missing (e.g. an archived account code)
    │   │   └── BillPreflightError  a bill needs account codes / tax types / tracking / a currency the
    │   │                           Xero organisation cannot take; carries every problem with its fix
    │   └── BillTotalsMismatchError the invoice Xero would compute differs from the Clio bill total;
    │                               carries both figures (the bill is parked, never sent wrong)
    ├── NeedsReconnectError         tokens are dead (invalid_grant, revoked, tenant disconnected)
    └── WebhookRejectedError        an inbound delivery we refuse; carries the HTTP status to answer
        ├── SignatureError          401: bad or missing signature
        ├── UnknownConnectionError  404: no such connection
        ├── PayloadTooLargeError    413
        └── MalformedPayloadError   400: not JSON / not the documented shape

Lower-level errors (botocore, httpx, authlib) are translated into this tree inside the adapters
that call those libraries, so no caller has to know their types.
"""

from __future__ import annotations

from decimal import Decimal


class SyncError(Exception):
    """Root of every error clio-xero raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RetryableError(SyncError):
    """The same request may succeed later; the record goes back to the queue."""


class ThrottledError(RetryableError):
    """A rate limit was hit. ``retry_after`` is the provider's hint in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamUnavailableError(RetryableError):
    """The provider failed (5xx, timeout, organisation offline)."""


class PermanentError(SyncError):
    """Retrying the same input cannot succeed; a person has to act."""


class ValidationFailedError(PermanentError):
    """The provider rejected what we sent; its own words are kept for the error list."""

    def __init__(self, message: str, provider_messages: list[str] | None = None) -> None:
        super().__init__(message)
        self.provider_messages = list(provider_messages or [])


class NotFoundError(PermanentError):
    """The record or connection does not exist."""


class ConfigurationError(PermanentError):
    """A deployment or connection setting is wrong or missing."""


class BillPreflightError(ConfigurationError):
    """A bill needs a mapping the organisation's chart cannot honour (docs/billing.md "Preflight").

    ``problems`` holds one sentence per problem, each ending with its fix."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


class BillTotalsMismatchError(PermanentError):
    """Xero would total the invoice differently from Clio's bill (docs/billing.md "Totals").

    Both figures are kept so the error list can show them side by side."""

    def __init__(self, message: str, *, clio_total: Decimal, xero_total: Decimal, currency: str | None) -> None:
        super().__init__(message)
        self.clio_total = clio_total
        self.xero_total = xero_total
        self.currency = currency


class NeedsReconnectError(SyncError):
    """The connection's tokens are dead; a person must reconnect it."""


class WebhookRejectedError(SyncError):
    """An inbound webhook delivery we refuse, with the HTTP status to answer."""

    status_code: int = 400


class SignatureError(WebhookRejectedError):
    """The signature is missing or does not match the raw body."""

    status_code = 401


class UnknownConnectionError(WebhookRejectedError):
    """The connection named in the URL does not exist."""

    status_code = 404


class PayloadTooLargeError(WebhookRejectedError):
    """The body is over the size we accept."""

    status_code = 413


class MalformedPayloadError(WebhookRejectedError):
    """The body is not JSON or not the documented shape."""

    status_code = 400
