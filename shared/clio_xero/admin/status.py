"""``status``: per connection, what a person needs to know at a glance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from clio_xero.admin.errorlist import error_list
from clio_xero.admin.stack import OpsStack
from clio_xero.aws.dlq import DeadLetter, DeadLetterQueue, queue_depth
from clio_xero.clients.ratelimit import DEFAULT_LIMITS
from clio_xero.clients.tokens import Provider
from clio_xero.errors import SyncError
from clio_xero.store.connections import Connection, ConnectionStatus
from clio_xero.store.mappings import DynamoMappingStore
from clio_xero.store.rate_budget import DynamoRateBudget
from clio_xero.store.tokens import DynamoTokenStore
from clio_xero.sync.mapping import MappingStatus
from clio_xero.sync.record_types import default_registry

PROVIDERS: tuple[Provider, ...] = ("clio", "xero")


@dataclass
class TokenState:
    expires_at: datetime | None
    problem: str | None = None  # "missing" / why it cannot be read

    def as_dict(self) -> dict[str, Any]:
        return {"expires_at": self.expires_at.isoformat() if self.expires_at else None, "problem": self.problem}


@dataclass
class Budget:
    used_minute: int
    limit_minute: int | None
    used_day: int
    limit_day: int | None

    def as_dict(self) -> dict[str, Any]:
        left = {
            "minute_left": None if self.limit_minute is None else max(0, self.limit_minute - self.used_minute),
            "day_left": None if self.limit_day is None else max(0, self.limit_day - self.used_day),
        }
        return {**self.__dict__, **left}


@dataclass
class ConnectionReport:
    connection: Connection
    tokens: dict[str, TokenState]
    counts: dict[str, int]  # synced / failed / needs_review / tombstoned
    last_sync: dict[str, datetime]  # record type -> newest synced mapping
    budgets: dict[str, Budget]
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "connection_id": self.connection.connection_id,
            "name": self.connection.name,
            "status": self.connection.status.value,
            "healthy": self.healthy,
            "problems": self.problems,
            "xero_tenant_id": self.connection.xero_tenant_id,
            "tokens": {k: v.as_dict() for k, v in self.tokens.items()},
            "counts": self.counts,
            "last_sync": {k: v.isoformat() for k, v in self.last_sync.items()},
            "rate_budget": {k: v.as_dict() for k, v in self.budgets.items()},
        }


@dataclass
class StackReport:
    connections: list[ConnectionReport]
    queue: dict[str, int]
    dead_letter_queue: dict[str, int]

    @property
    def healthy(self) -> bool:
        return all(c.healthy for c in self.connections) and self.dead_letter_queue["visible"] == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "queue": self.queue,
            "dead_letter_queue": self.dead_letter_queue,
            "connections": [c.as_dict() for c in self.connections],
        }


def minute_window(now: datetime) -> str:
    """The id :class:`DynamoRateBudget` counts the current minute under (``m#YYYYmmddHHMM``)."""
    return f"m#{now.strftime('%Y%m%d%H%M')}"


def day_window(now: datetime) -> str:
    return f"d#{now.strftime('%Y-%m-%d')}"


def _tokens(stack: OpsStack, connection: Connection) -> dict[str, TokenState]:
    store = DynamoTokenStore(stack.table_name, stack.dynamodb, stack.client("kms"), stack.data_key_arn, stack.clock)
    out: dict[str, TokenState] = {}
    for provider in PROVIDERS:
        try:
            stored = store.load(connection.connection_id, provider)
        except SyncError as exc:
            out[provider] = TokenState(None, exc.message)
            continue
        # Only the expiry leaves this function: the decrypted token is dropped here.
        out[provider] = TokenState(stored.token.expires_at if stored else None, None if stored else "missing")
    return out


def _budgets(stack: OpsStack, connection: Connection) -> dict[str, Budget]:
    budget = DynamoRateBudget(stack.table_name, stack.dynamodb, stack.clock)
    now = stack.clock.now()
    keys = {"clio": connection.connection_id, "xero": connection.xero_tenant_id}  # the clients' budget keys
    out: dict[str, Budget] = {}
    for provider, key in keys.items():
        if key is None:
            continue
        limits = DEFAULT_LIMITS[provider]
        out[provider] = Budget(
            used_minute=budget.count(provider, key, minute_window(now)),
            limit_minute=limits.per_minute,
            used_day=budget.count(provider, key, day_window(now)),
            limit_day=limits.per_day,
        )
    return out


_COUNT_PROBLEMS = (
    ("failed", "failed: `clio-xero errors`"),
    ("dead_lettered", "dead-lettered: `clio-xero errors`"),
    ("waiting", "wait for a parent record: `clio-xero errors`"),
    ("needs_review", "need review: `clio-xero contacts review`"),
)


def connection_report(
    stack: OpsStack, connection: Connection, dead_letters: list[DeadLetter] | None = None
) -> ConnectionReport:
    mappings = DynamoMappingStore(stack.table_name, stack.dynamodb)
    counts = {"synced": 0, "failed": 0, "needs_review": 0, "tombstoned": 0, "waiting": 0, "dead_lettered": 0}
    last_sync: dict[str, datetime] = {}
    status_key = {
        MappingStatus.OK: "synced",
        MappingStatus.ERROR: "failed",
        MappingStatus.NEEDS_REVIEW: "needs_review",
        MappingStatus.TOMBSTONED: "tombstoned",
        MappingStatus.WAITING: "waiting",
    }
    for record_type in default_registry().names():
        for mapping in mappings.list(connection.connection_id, record_type):
            counts[status_key[mapping.status]] += 1
            if mapping.status is MappingStatus.OK:
                newest = last_sync.get(record_type)
                if newest is None or mapping.updated_at > newest:
                    last_sync[record_type] = mapping.updated_at
    # What `errors` lists as dead-lettered (no mapping in error): the same join, so the two agree.
    counts["dead_lettered"] = sum(
        1
        for e in error_list(stack, [connection.connection_id], dead_letters=dead_letters or [])
        if e.status == "dead_lettered"
    )
    report = ConnectionReport(
        connection=connection,
        tokens=_tokens(stack, connection),
        counts=counts,
        last_sync=last_sync,
        budgets=_budgets(stack, connection),
    )
    report.problems.extend(_problems(report))
    return report


def _problems(report: ConnectionReport) -> list[str]:
    problems = []
    counts = report.counts
    if report.connection.status is not ConnectionStatus.ACTIVE:
        problems.append(f"connection is {report.connection.status.value}")
    for provider, token in report.tokens.items():
        if token.problem:
            problems.append(f"{provider} token: {token.problem}")
    for key, what in _COUNT_PROBLEMS:
        if counts[key]:
            problems.append(f"{counts[key]} record(s) {what}")
    for provider, b in report.budgets.items():
        if b.limit_day is not None and b.used_day >= b.limit_day:
            problems.append(f"{provider} daily API budget spent (resets at midnight UTC)")
    return problems


def stack_report(stack: OpsStack, connection_id: str | None = None) -> StackReport:
    dead_letter_queue = queue_depth(stack.sqs, stack.dead_letter_queue_url)
    # Looking at the DLQ changes nothing it shows (aws/dlq.py); only look when it holds something.
    letters = DeadLetterQueue(stack).list() if dead_letter_queue["visible"] or dead_letter_queue["in_flight"] else []
    return StackReport(
        connections=[connection_report(stack, c, letters) for c in stack.select_connections(connection_id)],
        queue=queue_depth(stack.sqs, stack.queue_url),
        dead_letter_queue=dead_letter_queue,
    )
