"""The sync core: record types as plug-ins of one engine (see docs/architecture.md, "Adding a
record type").

* :mod:`.plugin`: the interface a record type implements (:class:`RecordTypePlugin`) and the
  per-connection :class:`SyncContext` it is given;
* :mod:`.registry`: the :class:`Registry` everything that needs the list of record types reads;
* :mod:`.engine`: :class:`SyncEngine`, which runs a plug-in for an event (or a burst), parents first;
* :mod:`.disposition`: what becomes of a queue message (done / retry later / park), decided once.
"""

from clio_xero.sync.core.disposition import Decision, Verdict, decide, retry_delay_seconds
from clio_xero.sync.core.engine import Handled, Skip, SyncEngine
from clio_xero.sync.core.plugin import (
    BatchedPlugin,
    ClioWebhook,
    Done,
    DoneOutcome,
    RecordTypePlugin,
    SyncContext,
    SyncedRecord,
)
from clio_xero.sync.core.registry import Registry

__all__ = [
    "BatchedPlugin",
    "ClioWebhook",
    "Decision",
    "Done",
    "DoneOutcome",
    "Handled",
    "RecordTypePlugin",
    "Registry",
    "Skip",
    "SyncContext",
    "SyncEngine",
    "SyncedRecord",
    "Verdict",
    "decide",
    "retry_delay_seconds",
]
