"""Record references as operators type them: ``clio:contact:123``, ``xero:contact:<uuid>``."""

from __future__ import annotations

from dataclasses import dataclass

from clio_xero.events import RecordType, Source, record_id_for
from clio_xero.sync.record_types import default_registry


@dataclass(frozen=True)
class RecordRef:
    source: Source
    record_type: RecordType
    record_id: str

    def __str__(self) -> str:
        return f"{self.source.value}:{self.record_type.value}:{self.record_id}"

    @classmethod
    def parse(cls, value: str) -> RecordRef:
        """``<clio|xero>:<record type>:<id>``; anything else raises ``ValueError`` saying what is expected.

        The id is checked as intake checks it (a Clio id is a whole number, a Xero id a GUID), so
        a typo is a usage error and never a poison message on the queue.
        """
        parts = value.strip().split(":", 2)
        if len(parts) != 3 or not parts[2]:
            raise ValueError(f"{value!r} is not a record: write SOURCE:TYPE:ID, e.g. clio:contact:123")
        source, record_type, record_id = parts
        plugin = default_registry().find(record_type.lower())
        if source.lower() not in {s.value for s in Source} or plugin is None:
            sources = "|".join(s.value for s in Source)
            types = "|".join(default_registry().names())
            raise ValueError(f"{value!r} is not a record: SOURCE is {sources}, TYPE is {types}")
        source_value = Source(source.lower())
        try:
            return cls(source_value, plugin.record_type, record_id_for(source_value, record_id))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a record: {exc}") from None
