"""A toy record type written only against the public plug-in interface (clio_xero.sync.core).

Clio matters become Xero Items (Code ``M<matter id>``), one way. A matter depends on its client
contact: the item's description names the client's Xero ContactID, so the contact must be linked
first (``ctx.linked_parent``). A burst of matter events is coalesced: one Clio read by ids and one
Xero write for all of them (``sync_batch``).

Nothing here is in the product; tests register it to prove a new record type needs no change to
the engine, the worker, the sweep or webhook registration.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from clio_xero.errors import SyncError, ValidationFailedError
from clio_xero.events import RecordType, Source, SyncEvent
from clio_xero.sync.core import BatchedPlugin, ClioWebhook, SyncContext, SyncedRecord
from clio_xero.sync.mapping import Mapping, MappingStatus, record_ref

if TYPE_CHECKING:
    from clio_xero.clients.clio import ClioClient
    from clio_xero.clients.xero import XeroClient

MATTER_FIELDS = "id,etag,display_number,description,updated_at,client{id}"


class MatterOutcome(StrEnum):
    WRITTEN = "item_written"
    GONE = "matter_gone"


@dataclass
class MatterResult:
    outcome: MatterOutcome
    clio_id: str
    xero_id: str | None = None


class ToyMatters(BatchedPlugin):
    record_type = RecordType.MATTER
    depends_on = RecordType.CONTACT
    clio_webhooks = (ClioWebhook("matter", "id,etag,updated_at,display_number,description"),)
    sweep_sources = (Source.CLIO,)
    backfill_phase = 20

    def __init__(self) -> None:
        self.batches: list[int] = []  # size of every batch this plug-in was handed

    def sync_batch(self, ctx: SyncContext, events: Sequence[SyncEvent]) -> list[SyncedRecord | SyncError]:
        self.batches.append(len(events))
        ids = list(dict.fromkeys(e.record_id for e in events))
        # One read for the whole burst.
        found = {str(m["id"]): m for m in ctx.clio.iter_records("matters", fields=MATTER_FIELDS, params={"ids[]": ids})}
        outcomes: dict[str, SyncedRecord | SyncError] = {}
        payloads: list[tuple[str, Mapping | None, str, dict[str, Any]]] = []
        for clio_id in ids:
            matter = found.get(clio_id)
            if matter is None:
                outcomes[clio_id] = MatterResult(MatterOutcome.GONE, clio_id)
                continue
            client_id = str(matter["client"]["id"])
            try:
                parent = ctx.linked_parent(RecordType.CONTACT, client_id)  # never an orphan
            except SyncError as exc:
                outcomes[clio_id] = exc
                continue
            mapping = ctx.mappings.get(ctx.connection_id, self.name, clio_id)
            payload: dict[str, Any] = {
                "Code": f"M{clio_id}",
                "Name": str(matter["display_number"])[:50],
                "Description": f"{matter.get('description') or ''} (client {parent.xero_id})",
            }
            if mapping is not None and mapping.xero_id:
                payload["ItemID"] = mapping.xero_id
            payloads.append((clio_id, mapping, client_id, payload))
        for create in (True, False):
            chunk = [p for p in payloads if (p[1] is None or not p[1].xero_id) is create]
            if not chunk:
                continue
            body = "|".join(f"{c}:{sorted(p.items())}" for c, _, _, p in chunk)
            key = "toy-items-" + hashlib.sha256(f"{ctx.connection_id}|{body}".encode()).hexdigest()[:40]
            # One write for the whole burst (Xero takes up to 50 per call).
            results = ctx.xero.save_records(
                "Items", "Items", [p for *_, p in chunk], idempotency_key=key, create=create
            )
            for (clio_id, mapping, client_id, _), result in zip(chunk, results, strict=True):
                if not result.ok or result.record is None:
                    outcomes[clio_id] = ValidationFailedError(f"Xero refused item M{clio_id}", result.errors)
                    continue
                item_id = str(result.record["ItemID"])
                self._link(ctx, mapping, clio_id, item_id, client_id)
                outcomes[clio_id] = MatterResult(MatterOutcome.WRITTEN, clio_id, item_id)
        return [outcomes[e.record_id] for e in events]

    def _link(self, ctx: SyncContext, mapping: Mapping | None, clio_id: str, item_id: str, client_id: str) -> None:
        now = ctx.clock.now()
        values: dict[str, Any] = {
            "xero_id": item_id,
            "status": MappingStatus.OK,
            "last_error": None,
            "error_hint": None,
            "depends_on": record_ref("contact", client_id),
            "updated_at": now,
        }
        if mapping is None:
            ctx.mappings.create(
                Mapping(
                    connection_id=ctx.connection_id, record_type=self.name, clio_id=clio_id, created_at=now, **values
                )
            )
        else:
            ctx.mappings.update(mapping.model_copy(update=values), previous_xero_id=mapping.xero_id)

    def changed_since(
        self, clio: ClioClient, xero: XeroClient, source: Source, since: datetime
    ) -> Iterator[tuple[str, object]]:
        for matter in clio.iter_records("matters", fields="id,etag", updated_since=since):
            yield str(matter["id"]), matter.get("etag")
