"""The one exception tree of clio-xero.

Every branch says what the caller (mostly the queue worker) should do with the record::

    SyncError                       base; never raised directly
    ├── RetryableError              put the record back on the queue and try again later
    │   ├── ThrottledError          a rate limit answered; carries ``retry_after`` seconds
    │   │   └── RefreshInProgressError  another worker holds the token-refresh lease
    │   ├── UpstreamUnavailableError  5xx, timeouts, "organisation offline"
    │   ├── PreconditionFailedError Clio 412: the record changed since its etag was read
    │   ├── StaleTokenError         the stored token moved on since it was read
    │   ├── StaleMappingError       the mapping changed since it was read
    │   ├── LinkTakenError          another worker linked the record first
    │   └── DependencyPendingError  the record's parent is not linked in Xero yet (shown in `errors`)
    ├── PermanentError              park the record (mapping error list, then the DLQ) with a reason
    │   ├── ValidationFailedError   the provider rejected the data; ``provider_messages`` kept verbatim
    │   ├── NotFoundError           the record (or the connection) does not exist
    │   ├── ConfigurationError      a setting is wrong or missing (e.g. an archived account code)
    │   │   ├── InvalidSettingsError  a setting value refused before it is stored (CLI exit 2)
    │   │   └── BillPreflightError  a bill needs account codes / tax types / tracking / a currency the
    │   │                           Xero organisation cannot take; carries every problem with its fix
    │   ├── BillTotalsMismatchError the invoice Xero would compute differs from the Clio bill total;
    │   │                           carries both figures (the bill is parked, never sent wrong)
    │   ├── XeroSideChangeError     a person changed a synced invoice or payment in Xero; the record
    │   │                           waits with what was done there and the two ways out
    │   └── InputFileError          a file a person gave us is unusable; names the file and line
    ├── NeedsReviewError            several Xero records could match: a person chooses (contacts review)
    ├── NeedsReconnectError         tokens are dead (invalid_grant, revoked, tenant disconnected)
    ├── LinkRefused                 a connect link we refuse; ``explanation`` is the page's sentence
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
from enum import StrEnum


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


class RefreshInProgressError(ThrottledError):
    """Another worker holds the refresh lease for longer than we may wait; retry after ``retry_after``."""


class UpstreamUnavailableError(RetryableError):
    """The provider failed (5xx, timeout, organisation offline)."""


class PreconditionFailedError(RetryableError):
    """Clio answered 412: the record changed since its etag was read. Re-fetch, re-map, retry."""


class StaleTokenError(RetryableError):
    """The stored token moved on (another worker saved a newer version) since it was read."""


class StaleMappingError(RetryableError):
    """The mapping changed since it was read; re-read and try again."""


class LinkTakenError(RetryableError):
    """The Clio record or the Xero record is already linked (another worker won the race)."""


class DependencyPendingError(RetryableError):
    """The record needs its parent (an invoice its contact, a payment its invoice) linked in Xero
    first, and the parent could not be synced now. Nothing was written; the message says which
    parent and why, and the worker records it on the mapping (status ``waiting``) for `errors`."""

    def __init__(self, message: str, *, parent: str) -> None:
        super().__init__(message)
        self.parent = parent  # "<record type>:<clio id>"


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


class InvalidSettingsError(ConfigurationError):
    """A setting value refused before it is stored: one line per problem, with what the key accepts.
    ``problems`` keys them by setting name ("" for a rule across keys), for a form to show each
    next to its field (the console's Settings page)."""

    def __init__(self, message: str, problems: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.problems = dict(problems or {})


class NeedsReviewError(SyncError):
    """Several Xero records could be this one; a person chooses (``clio-xero contacts review``)."""

    def __init__(self, candidates: list[str]) -> None:
        super().__init__("needs review")
        self.candidates = candidates


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


class XeroSideChangeError(PermanentError):
    """A person changed a synced invoice or payment in Xero (docs/payments.md "Changes made in Xero").

    The message says what was done in Xero and the two ways out; nothing was written."""


class InputFileError(PermanentError):
    """A file given to us (a bank statement) cannot be used as it is; says which file and line."""

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


class NeedsReconnectError(SyncError):
    """The connection's tokens are dead; a person must reconnect it."""


class LinkRefusal(StrEnum):
    """Why a connect link is refused; each has a sentence a person can act on."""

    MISSING = "missing"
    MALFORMED = "malformed"
    FORGED = "forged"
    WRONG_PROVIDER = "wrong_provider"
    EXPIRED = "expired"
    USED = "used"


_LINK_EXPLANATIONS = {
    LinkRefusal.MISSING: "This page needs a connect link. Run `clio-xero connect` to get one.",
    LinkRefusal.MALFORMED: "This connect link is damaged (perhaps cut off when it was copied). Copy the whole link.",
    LinkRefusal.FORGED: "This connect link was not issued by this installation (its signature does not match).",
    LinkRefusal.WRONG_PROVIDER: "This connect link is for the other provider. Use the link printed for this one.",
    LinkRefusal.EXPIRED: "This connect link has expired. Run `clio-xero connect --connection <id>` for a new one.",
    LinkRefusal.USED: "This connect link has already been used. Run `clio-xero connect --connection <id>` "
    "for a new one.",
}


class LinkRefused(SyncError):
    """A connect link we refuse (the browser gets :attr:`explanation`)."""

    def __init__(self, reason: LinkRefusal, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason

    @property
    def explanation(self) -> str:
        return _LINK_EXPLANATIONS[self.reason]


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
