"""Record references as operators type them: ``clio:contact:123``, ``xero:contact:<uuid>``."""

from __future__ import annotations

from dataclasses import dataclass

from clio_xero.events import RecordType, Source


@dataclass(frozen=True)
class RecordRef:
    source: Source
    record_type: RecordType
    record_id: str

    def __str__(self) -> str:
        return f"{self.source.value}:{self.record_type.value}:{self.record_id}"

    @classmethod
    def parse(cls, value: str) -> RecordRef:
        """``<clio|xero>:<record type>:<id>``; anything else raises ``ValueError`` saying what is expected."""
        parts = value.strip().split(":", 2)
        if len(parts) != 3 or not parts[2]:
            raise ValueError(f"{value!r} is not a record: write SOURCE:TYPE:ID, e.g. clio:contact:123")
        source, record_type, record_id = parts
        try:
            return cls(Source(source.lower()), RecordType(record_type.lower()), record_id)
        except ValueError:
            sources = "|".join(s.value for s in Source)
            types = "|".join(t.value for t in RecordType)
            raise ValueError(f"{value!r} is not a record: SOURCE is {sources}, TYPE is {types}") from None
