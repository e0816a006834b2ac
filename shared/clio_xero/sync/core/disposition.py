"""What becomes of a queue message, decided in one place.

The rate budget and the provider only *report* a throttle (``ThrottledError(retry_after=...)``);
what to do about it, and about every other outcome, is :func:`decide`:

==========================================  ===============================================
the sync ended in                           disposition
==========================================  ===============================================
nothing raised                              ``DONE``: the message is deleted
``ThrottledError``, receives left           ``RETRY_LATER`` after ``retry_after`` (the Lambda
                                            entry sets the message's visibility to it, so no
                                            Lambda time is slept away)
``ThrottledError``, last receive but one    ``REQUEUE``: a fresh copy (receive count 1), so
                                            waiting for a rate limit never lands in the DLQ
other ``RetryableError``                    ``RETRY_LATER`` (SQS's own visibility timeout);
                                            ``PARK`` on the last allowed receive
``NeedsReconnectError``                     as retryable (the connection is flagged at once)
``PermanentError``, ``NeedsReviewError``    ``PARK`` at once: retrying cannot help until a
                                            person acts
==========================================  ===============================================
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from clio_xero.errors import NeedsReconnectError, RetryableError, SyncError, ThrottledError

__all__ = ["MAX_DELAY_SECONDS", "Decision", "Verdict", "decide", "retry_delay_seconds"]

MAX_DELAY_SECONDS = 12 * 3600  # SQS's visibility timeout ceiling
DEFAULT_THROTTLE_DELAY = 60


class Verdict(StrEnum):
    DONE = "done"
    RETRY_LATER = "retry_later"
    REQUEUE = "requeue"
    PARK = "park"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    delay_seconds: int | None = None  # for RETRY_LATER after a throttle; None: SQS's default


def retry_delay_seconds(exc: SyncError) -> int | None:
    """How long a message waits before it is tried again: a throttle's ``retry_after`` (clamped
    to what SQS allows), else ``None`` (the queue's visibility timeout)."""
    if isinstance(exc, ThrottledError):
        return int(min(max(exc.retry_after or DEFAULT_THROTTLE_DELAY, 1), MAX_DELAY_SECONDS))
    return None


def decide(exc: SyncError | None, *, receive_count: int, max_receive_count: int, can_requeue: bool) -> Decision:
    """The disposition of one message whose sync ended in ``exc`` (``None``: it succeeded)."""
    if exc is None:
        return Decision(Verdict.DONE)
    if isinstance(exc, ThrottledError):
        if can_requeue and receive_count >= max_receive_count - 1:
            return Decision(Verdict.REQUEUE)
        return Decision(Verdict.RETRY_LATER, retry_delay_seconds(exc))
    if isinstance(exc, RetryableError | NeedsReconnectError):
        if receive_count < max_receive_count:
            return Decision(Verdict.RETRY_LATER)
        return Decision(Verdict.PARK)
    return Decision(Verdict.PARK)
