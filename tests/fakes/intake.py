"""In-memory fakes of the intake ports, type-checked against the protocols they stand in for."""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from clio_xero.aws.archive import DeliveryArchive
from clio_xero.aws.queue import EventPublisher
from clio_xero.clock import Clock, ManualClock
from clio_xero.errors import UpstreamUnavailableError
from clio_xero.events import SyncEvent
from clio_xero.store.connections import Connection, ConnectionLookup
from clio_xero.store.webhook_secrets import (
    ACTIVATION_WINDOW,
    MAX_HANDSHAKES,
    ClioWebhookSecrets,
    ExpectedActivation,
    StoredHook,
)


@dataclass
class FakeConnections:
    items: dict[str, Connection] = field(default_factory=dict)

    def get(self, connection_id: str) -> Connection | None:
        return self.items.get(connection_id)

    def find_by_xero_tenant(self, tenant_id: str) -> list[Connection]:
        return [c for c in self.items.values() if (c.xero_tenant_id or "").lower() == tenant_id.lower()]


@dataclass
class FakeArchive:
    stored: list[dict[str, Any]] = field(default_factory=list)
    fail: bool = False

    def put(
        self,
        *,
        source: str,
        connection_id: str | None,
        headers: Mapping[str, str],
        body: bytes,
        received_at: datetime,
        path: str | None = None,
    ) -> str:
        if self.fail:
            raise UpstreamUnavailableError("archive down")
        key = f"deliveries/{source}/{len(self.stored)}"
        self.stored.append({"key": key, "source": source, "headers": dict(headers), "body": body, "path": path})
        return key


@dataclass
class FakePublisher:
    events: list[SyncEvent] = field(default_factory=list)
    fail: bool = False

    def publish(self, events: Sequence[SyncEvent]) -> int:
        if self.fail:
            raise UpstreamUnavailableError("queue down")
        self.events.extend(events)
        return len(events)


@dataclass
class FakeSecrets:
    hooks: dict[tuple[str, str], StoredHook] = field(default_factory=dict)
    pending_secrets: dict[str, list[str]] = field(default_factory=dict)
    expected: dict[tuple[str, str], ExpectedActivation] = field(default_factory=dict)
    claimed: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    clock: Clock = field(default_factory=ManualClock)

    def expect_activation(self, connection_id: str, model: str, queue_only_with: Sequence[str] = ()) -> None:
        expires = self.clock.now() + ACTIVATION_WINDOW
        self.expected[(connection_id, model)] = ExpectedActivation(
            connection_id, model, None, expires, MAX_HANDSHAKES, queue_only_with=tuple(queue_only_with)
        )

    def expect_webhook_id(self, connection_id: str, model: str, webhook_id: str) -> None:
        if (connection_id, model) in self.expected:
            self.expected[(connection_id, model)] = replace(
                self.expected[(connection_id, model)], webhook_id=webhook_id
            )

    def claim_handshake(self, connection_id: str, model: str, webhook_id: str | None) -> ExpectedActivation | None:
        found = self.expected.get((connection_id, model))
        if found is None or found.expires_at <= self.clock.now() or found.handshakes_left <= 0:
            return None
        if webhook_id is not None and found.webhook_id not in (None, webhook_id):
            return None
        self.expected[(connection_id, model)] = replace(found, handshakes_left=found.handshakes_left - 1)
        if webhook_id is not None:
            self.claimed.setdefault((connection_id, model), set()).add(webhook_id)
        return self.expected[(connection_id, model)]

    def mark_activated(self, connection_id: str, model: str) -> None:
        if (connection_id, model) in self.expected:
            found = self.expected[(connection_id, model)]
            self.expected[(connection_id, model)] = replace(found, activated_at=self.clock.now())

    def expected_activations(self, connection_id: str) -> list[ExpectedActivation]:
        now = self.clock.now()
        return [e for (c, _), e in self.expected.items() if c == connection_id and e.expires_at > now]

    def remember(self, connection_id: str, webhook_id: str | None, secret: str, model: str | None) -> bool:
        if webhook_id is None:
            self.pending_secrets.setdefault(connection_id, []).append(secret)
            return True
        existing = self.hooks.get((connection_id, webhook_id))
        if existing is not None:
            return hmac.compare_digest(existing.secret, secret)
        self.hooks[(connection_id, webhook_id)] = StoredHook(secret, model)
        return True

    def lookup(self, connection_id: str, webhook_id: str) -> StoredHook | None:
        return self.hooks.get((connection_id, webhook_id))

    def pending(self, connection_id: str) -> list[str]:
        return list(self.pending_secrets.get(connection_id, []))

    def bind(self, connection_id: str, webhook_id: str, secret: str) -> None:
        self.remember(connection_id, webhook_id, secret, None)

    def declare(self, connection_id: str, webhook_id: str, queue_only_with: Sequence[str]) -> bool:
        existing = self.hooks.get((connection_id, webhook_id))
        if existing is None:
            return False
        self.hooks[(connection_id, webhook_id)] = replace(existing, queue_only_with=tuple(queue_only_with))
        return True


@dataclass
class RecordingLog:
    records: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def _add(self, level: str, msg: str, kwargs: dict[str, Any]) -> None:
        self.records.append((level, msg, dict(kwargs.get("extra") or {})))

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._add("info", msg, kwargs)

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._add("warning", msg, kwargs)

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._add("error", msg, kwargs)

    def text(self) -> str:
        return repr(self.records)


@dataclass
class Counts:
    values: dict[str, int] = field(default_factory=dict)

    def __call__(self, name: str, value: int = 1) -> None:
        self.values[name] = self.values.get(name, 0) + value


# Static conformance: mypy checks these assignments against the ports.
_connections: ConnectionLookup = FakeConnections()
_archive: DeliveryArchive = FakeArchive()
_publisher: EventPublisher = FakePublisher()
_secrets: ClioWebhookSecrets = FakeSecrets()
