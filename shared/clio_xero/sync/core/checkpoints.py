"""Where a long run (a backfill) notes how far it got, so a new run continues instead of starting
over. The model, the port and a fake; the DynamoDB adapter is
:class:`clio_xero.store.checkpoints.DynamoCheckpointStore`."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, Field

__all__ = ["Checkpoint", "CheckpointStore", "InMemoryCheckpointStore"]


class Checkpoint(BaseModel):
    phase: str = "review"
    last_clio_id: int | None = None  # last Clio id whose batch finished in ``phase``
    counts: dict[str, int] = Field(default_factory=dict)
    started_at: datetime
    updated_at: datetime


class CheckpointStore(Protocol):
    def get(self, connection_id: str) -> Checkpoint | None: ...

    def put(self, connection_id: str, checkpoint: Checkpoint) -> None: ...


class InMemoryCheckpointStore:
    def __init__(self) -> None:
        self.items: dict[str, Checkpoint] = {}
        self.writes = 0

    def get(self, connection_id: str) -> Checkpoint | None:
        return self.items.get(connection_id)

    def put(self, connection_id: str, checkpoint: Checkpoint) -> None:
        self.writes += 1
        self.items[connection_id] = checkpoint
