"""The mapping table: one record per (connection, record type, Clio id) <-> Xero id.

It is the product's memory. For each linked pair it keeps the last synced shared projection and
its hash (echo suppression and three-way conflict detection), the versions last seen on each side,
status (ok / error / needs_review / tombstoned), the last error and attempts, conflicts, timestamps.

Every record type uses the same item layout; ``<type>`` is the registered record type
(:mod:`clio_xero.sync.core`). Items (single table):

* ``pk=CONN#<c>``, ``sk=MAP#<type>#clio#<clio id>``: the mapping itself (with ``depends_on`` and
  ``belongs_to`` where the type has a parent or an owner);
* ``pk=CONN#<c>``, ``sk=MAP#<type>#xero#<xero id>``: the reverse index, holding the Clio id.

The DynamoDB adapter is :class:`clio_xero.store.mappings.DynamoMappingStore`. Creating a link
writes both items in one transaction, each conditional on not existing, so two
workers can never both link the same Clio record, nor link one Xero record twice. Updates are
conditional on the record's ``version`` (optimistic locking).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from clio_xero.errors import LinkTakenError, StaleMappingError

MAX_CONFLICTS_KEPT = 10


class MappingStatus(StrEnum):
    OK = "ok"
    ERROR = "error"
    NEEDS_REVIEW = "needs_review"
    TOMBSTONED = "tombstoned"
    WAITING = "waiting"  # its parent is not linked yet (DependencyPendingError); retried by itself


class Conflict(BaseModel):
    """Both sides changed the same field since the last sync; which value won and why."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    field: str
    clio_value: Any
    xero_value: Any
    winner: str  # "clio" | "xero"
    reason: str


def record_ref(record_type: str, clio_id: str) -> str:
    """How a mapping names another record: ``"<record type>:<clio id>"``, e.g. ``"contact:42"``."""
    return f"{record_type}:{clio_id}"


class Mapping(BaseModel):
    """One Clio record and its Xero counterpart. Fields a record type does not use stay empty."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    connection_id: str
    record_type: str  # a registered record type (clio_xero.sync.core), e.g. "contact", "bill"
    clio_id: str
    xero_id: str | None = None
    # The record it depends on, which must be linked before this one is written (an invoice's
    # contact, a payment's invoice), and the record it belongs to, whose Xero document holds it
    # (a time entry's bill). Both as record_ref(); None where the type has none.
    depends_on: str | None = None
    belongs_to: str | None = None
    status: MappingStatus = MappingStatus.OK
    synced: dict[str, Any] | None = None  # the shared projection both sides held at the last sync
    synced_hash: str | None = None
    clio_version: str | None = None  # Clio etag last seen
    clio_updated_at: str | None = None
    xero_updated_at: str | None = None  # Xero UpdatedDateUTC last seen (as Xero writes it)
    # What we named the record in Xero: a contact's Name (may be disambiguated), an invoice's
    # number. Stored as ``xero_name`` before record types were generalised; both are read.
    xero_label: str | None = Field(default=None, validation_alias=AliasChoices("xero_label", "xero_name"))
    last_error: str | None = None
    error_hint: str | None = None
    attempts: int = 0
    candidates: list[str] = Field(default_factory=list)  # Xero ids a person must choose from
    conflicts: list[Conflict] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    version: int = 0

    def with_conflicts(self, new: list[Conflict]) -> list[Conflict]:
        return (self.conflicts + new)[-MAX_CONFLICTS_KEPT:]


class MappingStore(Protocol):
    def get(self, connection_id: str, record_type: str, clio_id: str) -> Mapping | None: ...

    def clio_id_for(self, connection_id: str, record_type: str, xero_id: str) -> str | None: ...

    def create(self, mapping: Mapping) -> Mapping: ...

    def update(self, mapping: Mapping, *, previous_xero_id: str | None) -> Mapping: ...

    def delete(self, mapping: Mapping) -> None: ...

    def list(self, connection_id: str, record_type: str) -> list[Mapping]: ...


class InMemoryMappingStore:
    """The same contract as :class:`DynamoMappingStore`, in memory (unit tests, dry runs)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str], Mapping] = {}
        self.reverse: dict[tuple[str, str, str], str] = {}

    def get(self, connection_id: str, record_type: str, clio_id: str) -> Mapping | None:
        return self.items.get((connection_id, record_type, clio_id))

    def clio_id_for(self, connection_id: str, record_type: str, xero_id: str) -> str | None:
        return self.reverse.get((connection_id, record_type, xero_id.lower()))

    def create(self, mapping: Mapping) -> Mapping:
        k = (mapping.connection_id, mapping.record_type, mapping.clio_id)
        rk = (mapping.connection_id, mapping.record_type, (mapping.xero_id or "").lower())
        if k in self.items or (mapping.xero_id and rk in self.reverse):
            raise LinkTakenError("create mapping: already linked")
        created = mapping.model_copy(update={"version": 1})
        self.items[k] = created
        if mapping.xero_id:
            self.reverse[rk] = mapping.clio_id
        return created

    def update(self, mapping: Mapping, *, previous_xero_id: str | None) -> Mapping:
        k = (mapping.connection_id, mapping.record_type, mapping.clio_id)
        current = self.items.get(k)
        if current is None or current.version != mapping.version:
            raise StaleMappingError("update mapping: changed since read")
        if mapping.xero_id and mapping.xero_id != previous_xero_id:
            rk = (mapping.connection_id, mapping.record_type, mapping.xero_id.lower())
            if self.reverse.get(rk, mapping.clio_id) != mapping.clio_id:
                raise LinkTakenError("update mapping: Xero record linked elsewhere")
            self.reverse[rk] = mapping.clio_id
        if previous_xero_id and previous_xero_id != mapping.xero_id:
            self.reverse.pop((mapping.connection_id, mapping.record_type, previous_xero_id.lower()), None)
        updated = mapping.model_copy(update={"version": mapping.version + 1})
        self.items[k] = updated
        return updated

    def delete(self, mapping: Mapping) -> None:
        self.items.pop((mapping.connection_id, mapping.record_type, mapping.clio_id), None)
        if mapping.xero_id:
            self.reverse.pop((mapping.connection_id, mapping.record_type, mapping.xero_id.lower()), None)

    def list(self, connection_id: str, record_type: str) -> list[Mapping]:
        return [m for (c, t, _), m in self.items.items() if c == connection_id and t == record_type]
