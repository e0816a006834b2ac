"""Translate botocore errors into the project's exception tree."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from clio_xero.errors import ConfigurationError, SyncError, ThrottledError, UpstreamUnavailableError

_THROTTLING = {
    "Throttling",
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
}
_MISCONFIGURED = {
    "AccessDenied",
    "AccessDeniedException",
    "ResourceNotFoundException",
    "NoSuchBucket",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "ParameterNotFound",
    "NotFoundException",
}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_condition_failure(exc: BaseException) -> bool:
    """True for a failed DynamoDB condition (the write lost a race or the item exists)."""
    return isinstance(exc, ClientError) and error_code(exc) == "ConditionalCheckFailedException"


def translate(what: str, exc: ClientError | BotoCoreError) -> SyncError:
    """The project error for a botocore failure of ``what``."""
    if isinstance(exc, BotoCoreError):
        return UpstreamUnavailableError(f"{what}: {type(exc).__name__}")
    code = error_code(exc)
    if code in _THROTTLING:
        return ThrottledError(f"{what}: AWS throttled ({code})")
    if code in _MISCONFIGURED:
        return ConfigurationError(f"{what}: {code} (check the stack's resources and permissions)")
    return UpstreamUnavailableError(f"{what}: {code or 'AWS error'}")


@contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """Re-raise botocore failures of ``what`` as project errors (see :func:`translate`)."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translate(what, exc) from exc
