"""Every change made in the console, with who and when (shown on the page).

Items: ``pk=CONN#<id>``, ``sk=CONSOLEAUDIT#<ISO time>#<random>`` (newest first by a reverse query),
kept for :data:`AUDIT_RETENTION` through the table's TTL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict

AUDIT_PREFIX = "CONSOLEAUDIT#"
AUDIT_RETENTION = timedelta(days=400)  # a year of changes and a little more, for the year-end review


class AuditEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    operator: str
    action: str  # e.g. "settings changed", "retry", "disconnect"
    detail: str


class AuditLog(Protocol):
    def record(self, connection_id: str, entry: AuditEntry) -> None: ...

    def recent(self, connection_id: str, limit: int = 20) -> list[AuditEntry]: ...


class InMemoryAuditLog:
    def __init__(self) -> None:
        self.entries: dict[str, list[AuditEntry]] = {}

    def record(self, connection_id: str, entry: AuditEntry) -> None:
        self.entries.setdefault(connection_id, []).append(entry)

    def recent(self, connection_id: str, limit: int = 20) -> list[AuditEntry]:
        return list(reversed(self.entries.get(connection_id, [])))[:limit]
