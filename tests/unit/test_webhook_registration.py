"""WebhookManager rules with a fake Clio webhooks API and in-memory records (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from clio_xero.errors import ThrottledError
from clio_xero.webhooks.registration import (
    CLIO_WEBHOOKS,
    WebhookManager,
    WebhookRecord,
    WebhookSpec,
    webhook_url,
)
from tests.fakes.intake import FakeSecrets

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
API = "https://api.example"
CID = "conn-1"
URL = webhook_url(API, CID, "contact")
SPEC = CLIO_WEBHOOKS[0]


def iso(when: datetime) -> str:
    return when.isoformat()


class FakeClio:
    def __init__(self) -> None:
        self.hooks: dict[int, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.next_id = 100
        self.fail_create: Exception | None = None

    def add(self, **attrs: Any) -> dict[str, Any]:
        hook = {
            "id": self.next_id,
            "url": URL,
            "model": "contact",
            "status": "enabled",
            "fields": SPEC.fields,
            "events": list(SPEC.events),
            "expires_at": iso(NOW + timedelta(days=20)),
            "shared_secret": f"secret-{self.next_id}",
            **attrs,
        }
        self.hooks[hook["id"]] = hook
        self.next_id += 1
        return hook

    def list(self) -> list[dict[str, Any]]:
        self.calls.append("list")
        return [dict(h) for h in self.hooks.values()]

    def create(self, spec: WebhookSpec, url: str, expires_at: datetime) -> dict[str, Any]:
        self.calls.append("create")
        if self.fail_create:
            raise self.fail_create
        return dict(self.add(url=url, model=spec.model, status="pending", expires_at=iso(expires_at)))

    def update(self, webhook_id: int, data: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(f"update {webhook_id} {sorted(data)}")
        self.hooks[webhook_id].update(data)
        return dict(self.hooks[webhook_id])

    def get(self, webhook_id: int) -> dict[str, Any] | None:
        hook = self.hooks.get(webhook_id)
        return dict(hook) if hook else None

    def delete(self, webhook_id: int) -> None:
        self.calls.append(f"delete {webhook_id}")
        self.hooks.pop(webhook_id, None)

    def activate(self, webhook_id: int, secret: str) -> None:
        self.calls.append(f"activate {webhook_id}")
        assert secret == self.hooks[webhook_id]["shared_secret"]
        self.hooks[webhook_id]["status"] = "enabled"


class MemoryRecords:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], WebhookRecord] = {}

    def put(self, record: WebhookRecord) -> None:
        self.items[(record.connection_id, record.model)] = record

    def list(self, connection_id: str) -> list[WebhookRecord]:
        return [r for (c, _), r in self.items.items() if c == connection_id]


class MemorySecrets(FakeSecrets):
    def __init__(self) -> None:
        super().__init__()
        self.stored: dict[str, str] = {}

    def remember(self, connection_id: str, webhook_id: str | None, secret: str, model: str | None) -> bool:
        assert webhook_id is not None
        return self.stored.setdefault(webhook_id, secret) == secret


@pytest.fixture
def clio() -> FakeClio:
    return FakeClio()


@pytest.fixture
def records() -> MemoryRecords:
    return MemoryRecords()


@pytest.fixture
def secrets() -> MemorySecrets:
    return MemorySecrets()


def manager(clio: FakeClio, records: MemoryRecords, secrets: MemorySecrets | None = None) -> WebhookManager:
    return WebhookManager(connection_id=CID, api=clio, records=records, secrets=secrets)


def test_register_creates_a_missing_webhook_and_completes_the_handshake(
    clio: FakeClio, records: MemoryRecords, secrets: MemorySecrets
) -> None:
    [record] = manager(clio, records, secrets).ensure(NOW, api_url=API)

    [hook] = clio.hooks.values()
    assert (hook["url"], hook["model"], hook["status"]) == (URL, "contact", "enabled")
    assert hook["expires_at"] == iso(NOW + timedelta(days=30))
    assert secrets.stored == {str(hook["id"]): hook["shared_secret"]}  # stored as the receiver would
    assert (record.action, record.status, record.webhook_id) == ("created", "enabled", hook["id"])
    assert records.list(CID) == [record]


def test_register_twice_changes_nothing_the_second_time(clio: FakeClio, records: MemoryRecords) -> None:
    manager(clio, records).ensure(NOW, api_url=API)
    clio.calls.clear()
    [record] = manager(clio, records).ensure(NOW, api_url=API)
    assert len(clio.hooks) == 1
    assert not [c for c in clio.calls if c.startswith(("create", "update", "delete"))]
    assert record.action == "unchanged"


def test_the_enabled_webhook_is_kept_and_duplicates_and_suspended_ones_deleted(
    clio: FakeClio, records: MemoryRecords
) -> None:
    pending = clio.add(status="pending", expires_at=iso(NOW + timedelta(days=29)))
    enabled = clio.add(status="enabled")
    suspended = clio.add(status="suspended")
    other_connection = clio.add(url=webhook_url(API, "conn-2", "contact"))

    [record] = manager(clio, records).ensure(NOW, api_url=API)

    assert set(clio.hooks) == {enabled["id"], other_connection["id"]}
    assert record.webhook_id == enabled["id"] and "deleted 2" in record.message
    assert pending["id"] not in clio.hooks and suspended["id"] not in clio.hooks


def test_only_suspended_means_recreated(clio: FakeClio, records: MemoryRecords, secrets: MemorySecrets) -> None:
    old = clio.add(status="suspended")
    [record] = manager(clio, records, secrets).ensure(NOW, api_url=API)
    assert old["id"] not in clio.hooks
    assert record.action == "recreated" and record.status == "enabled"


@pytest.mark.parametrize(("days_left", "renewed"), [(6.9, True), (7.1, False), (-1, True)])
def test_renewal_threshold(clio: FakeClio, records: MemoryRecords, days_left: float, renewed: bool) -> None:
    hook = clio.add(expires_at=iso(NOW + timedelta(days=days_left)))
    [record] = manager(clio, records).ensure(NOW, api_url=API)
    assert (record.action == "renewed") is renewed
    expected = NOW + timedelta(days=30) if renewed else NOW + timedelta(days=days_left)
    assert clio.hooks[hook["id"]]["expires_at"] == iso(expected)


def test_changed_fields_are_updated_in_place(clio: FakeClio, records: MemoryRecords) -> None:
    hook = clio.add(fields="id", events=["created"])
    [record] = manager(clio, records).ensure(NOW, api_url=API)
    assert record.action == "updated" and record.webhook_id == hook["id"]
    assert clio.hooks[hook["id"]]["fields"] == SPEC.fields
    assert sorted(clio.hooks[hook["id"]]["events"]) == sorted(SPEC.events)


def test_renewal_uses_the_recorded_url_and_skips_unregistered_connections(
    clio: FakeClio, records: MemoryRecords, secrets: MemorySecrets
) -> None:
    assert manager(clio, records).ensure(NOW) == []  # never registered: nothing created
    assert not clio.hooks

    manager(clio, records, secrets).ensure(NOW, api_url=API)
    clio.hooks.clear()  # someone deleted it in Clio
    [record] = manager(clio, records, secrets).ensure(NOW + timedelta(days=1))
    [hook] = clio.hooks.values()
    assert hook["url"] == URL and record.action == "recreated"


def test_a_failure_is_recorded_and_keeps_what_was_known(clio: FakeClio, records: MemoryRecords) -> None:
    manager(clio, records).ensure(NOW, api_url=API)
    clio.hooks.clear()
    clio.fail_create = ThrottledError("Clio rate limited", retry_after=30)

    [record] = manager(clio, records).ensure(NOW, api_url=API)

    assert record.action == "failed" and "rate limited" in record.message
    assert record.webhook_id is not None  # the last known id stays on the record


def test_a_pending_webhook_without_a_secret_store_is_left_to_the_receiver(
    clio: FakeClio, records: MemoryRecords
) -> None:
    [record] = manager(clio, records, None).ensure(NOW, api_url=API)
    assert record.status == "pending"
    assert not [c for c in clio.calls if c.startswith("activate")]


def test_remove_all_deletes_only_this_connections_webhooks(clio: FakeClio, records: MemoryRecords) -> None:
    manager(clio, records).ensure(NOW, api_url=API)
    other = clio.add(url=webhook_url(API, "conn-2", "contact"))
    done = manager(clio, records).remove_all(NOW)
    assert list(clio.hooks) == [other["id"]] and len(done) == 1
    [record] = records.list(CID)
    assert record.status == "removed"
    assert manager(clio, records).ensure(NOW + timedelta(days=1)) == []  # renewal leaves it removed


def test_registration_tells_the_receiver_which_handshake_to_expect(
    clio: FakeClio, records: MemoryRecords, secrets: MemorySecrets
) -> None:
    [record] = manager(clio, records, secrets).ensure(NOW, api_url=API)
    [expected] = secrets.expected_activations(CID)
    assert (expected.model, expected.webhook_id) == ("contact", str(record.webhook_id))
    # Only that webhook's handshake is accepted, and only a few times.
    assert secrets.claim_handshake(CID, "contact", "999") is None
    assert secrets.claim_handshake(CID, "bill", str(record.webhook_id)) is None
    assert secrets.claim_handshake(CID, "contact", str(record.webhook_id)) is not None
