"""Where moto's SQS differs from SQS in ways our code relies on, the local runtime applies SQS's rule.

* **FIFO deduplication.** SQS FIFO drops a message whose deduplication id (given, or the body's
  SHA-256 with content-based deduplication) was sent in the last 5 minutes, whether or not the
  first copy is still queued, and answers the send as a success (with the first message's id).
  moto only compares against messages still in the queue, so a delivery replayed after the worker
  processed it would be queued again (docs/runbook.md). :func:`fifo_deduplication` wraps moto's
  ``send_message`` with SQS's rule for as long as a local runtime runs.
* **Time for tests.** Visibility timeouts are wall-clock time inside moto; a test on a ManualClock
  that lets a throttled record's ``Retry-After`` pass calls :func:`advance_queue_time`.

Both reach into moto's in-process backend (the local runtime always runs moto in-process):
moto has no API for either. Hand-rolled for that reason; kept to these two functions.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

DEDUPLICATION_WINDOW_MS = 5 * 60 * 1000

_lock = threading.Lock()


@dataclass
class _Patch:
    installed: int = 0
    original_send: Any = None
    original_delete: Any = None
    # (the queue object's id, message group or "", deduplication id) -> (sent at ms, the first
    # message, the queue). Keyed by the queue *object*, not its ARN: several local runtimes in one
    # process (tests) create queues of the same name and ARN, and each is a queue of its own. The
    # entry holds the queue, so its id cannot be reused while the entry lives.
    sent: dict[tuple[int, str, str], tuple[int, Any, Any]] = field(default_factory=dict)


_patch = _Patch()
_sent = _patch.sent


def _dedup_key(
    queue: Any, message_body: str, deduplication_id: str | None, group_id: str | None
) -> tuple[int, str, str] | None:
    if not queue.fifo_queue:
        return None
    if deduplication_id is None:
        if queue.attributes.get("ContentBasedDeduplication") != "true":
            return None
        deduplication_id = hashlib.sha256(message_body.encode("utf-8")).hexdigest()
    scope = (group_id or "") if queue.attributes.get("DeduplicationScope") == "messageGroup" else ""
    return (id(queue), scope, deduplication_id)


def _send_message(self: Any, queue_name: str, message_body: str, *args: Any, **kwargs: Any) -> Any:
    from moto.core.utils import unix_time_millis

    deduplication_id = kwargs.get("deduplication_id", args[2] if len(args) > 2 else None)
    group_id = kwargs.get("group_id", args[3] if len(args) > 3 else None)
    queue = self.get_queue(queue_name)
    key = _dedup_key(queue, message_body, deduplication_id, group_id)
    now = int(unix_time_millis())
    with _lock:
        for stale in [k for k, (at, _, _) in _sent.items() if now - at >= DEDUPLICATION_WINDOW_MS]:
            del _sent[stale]
        if key is not None and key in _sent:
            return _sent[key][1]  # SQS: accepted, not queued again, the first message's id
    message = _patch.original_send(self, queue_name, message_body, *args, **kwargs)
    if key is not None:
        with _lock:
            _sent.setdefault(key, (now, message, queue))
    return message


def _delete_queue(self: Any, queue_name: str) -> Any:
    # SQS keeps no deduplication memory for a queue deleted and created again under the same name.
    queue_id = id(self.get_queue(queue_name))
    deleted = _patch.original_delete(self, queue_name)
    with _lock:
        for key in [k for k in _sent if k[0] == queue_id]:
            del _sent[key]
    return deleted


@contextmanager
def fifo_deduplication() -> Iterator[None]:
    """SQS FIFO's 5-minute deduplication window in moto while the block runs (nestable)."""
    from moto.sqs.models import SQSBackend

    with _lock:
        if _patch.installed == 0:
            _patch.original_send = SQSBackend.send_message
            _patch.original_delete = SQSBackend.delete_queue
            SQSBackend.send_message = _send_message  # type: ignore[method-assign]
            SQSBackend.delete_queue = _delete_queue  # type: ignore[method-assign]
        _patch.installed += 1
    try:
        yield
    finally:
        with _lock:
            _patch.installed -= 1
            if _patch.installed == 0:
                SQSBackend.send_message = _patch.original_send  # type: ignore[method-assign]
                SQSBackend.delete_queue = _patch.original_delete  # type: ignore[method-assign]
                _sent.clear()


def advance_queue_time(seconds: float) -> None:
    """Let ``seconds`` pass for every message in moto's queues (visibility, delay, dedup window)."""
    from moto.sqs.models import sqs_backends

    shift = int(seconds * 1000)
    for account in sqs_backends.values():
        for backend in account.values():
            for queue in backend.queues.values():
                for message in list(queue._messages):
                    message.visible_at -= shift
                    if getattr(message, "delayed_until", 0):
                        message.delayed_until -= shift
    with _lock:
        for key, (at, message, queue) in list(_sent.items()):
            _sent[key] = (at - shift, message, queue)
