"""The contact syncer: given "this record changed", make both sides agree. Idempotent.

Events are hints: every call fetches the current state of both sides and the mapping, so order
and duplicates do not matter. Writes happen only when the shared projection differs, which makes
our own writes, coming back as webhooks, no-ops (echo suppression). See docs/mapping-contacts.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from clio_xero.clock import Clock
from clio_xero.errors import NeedsReviewError, NotFoundError, SyncError, ValidationFailedError
from clio_xero.sync.contacts.merge import merge, parse_iso, parse_xero_date
from clio_xero.sync.contacts.projection import (
    SharedContact,
    clio_id_from_contact_number,
    contact_number,
    disambiguated_name,
    from_clio,
    from_xero,
    strip_disambiguation,
    to_clio_patch,
    to_xero_payload,
)
from clio_xero.sync.mapping import Mapping, MappingStatus, MappingStore
from clio_xero.sync.settings import ConnectionSettings, ContactScope

RECORD_TYPE = "contact"
#: Contacts created in one Xero call by :meth:`ContactSyncer.link_new` (Xero's recommended batch).
BATCH = 50
_DUPLICATE_NAME = ("already assigned to another contact", "must be unique")


class ElementOutcome(Protocol):
    ok: bool
    record: dict[str, Any] | None
    errors: list[str]


class ClioContactsPort(Protocol):
    def get_contact(self, contact_id: int | str) -> dict[str, Any] | None: ...

    def create_contact(self, data: dict[str, Any]) -> dict[str, Any]: ...

    def update_contact(self, contact_id: int | str, data: dict[str, Any], *, etag: str | None) -> dict[str, Any]: ...

    def has_bills(self, contact_id: int | str) -> bool: ...


class XeroContactsPort(Protocol):
    def get_contact(self, contact_id: str) -> dict[str, Any] | None: ...

    def find_contact_by_number(self, number: str) -> dict[str, Any] | None: ...

    def find_active_by_name(self, name: str) -> list[dict[str, Any]]: ...

    def save_contacts(
        self, contacts: Sequence[dict[str, Any]], *, idempotency_key: str, create: bool
    ) -> Sequence[ElementOutcome]: ...

    def archive_contact(self, contact_id: str, *, idempotency_key: str) -> dict[str, Any]: ...


class Outcome(StrEnum):
    CREATED_IN_XERO = "created_in_xero"
    CREATED_IN_CLIO = "created_in_clio"
    LINKED = "linked"
    UPDATED = "updated"
    NO_CHANGE = "no_change"
    OUT_OF_SCOPE = "out_of_scope"
    XERO_ONLY_IGNORED = "xero_only_ignored"
    ARCHIVED_IN_XERO = "archived_in_xero"
    NEEDS_REVIEW = "needs_review"
    REPOINTED = "repointed"
    GONE = "gone"


@dataclass
class SyncResult:
    outcome: Outcome
    clio_id: str | None = None
    xero_id: str | None = None
    wrote_clio: bool = False
    wrote_xero: bool = False
    conflicts: int = 0


def idempotency_key(connection_id: str, what: str, clio_id: str, content: str) -> str:
    """Xero Idempotency-Key from (connection, record, version of what we send); ≤ 128 chars."""
    digest = hashlib.sha256(f"{connection_id}|{what}|{clio_id}|{content}".encode()).hexdigest()[:40]
    return f"cx-{what}-{clio_id}-{digest}"[:128]


def is_duplicate_name(errors: Sequence[str]) -> bool:
    return any(marker in e for e in errors for marker in _DUPLICATE_NAME)


class ContactSyncer:
    def __init__(
        self,
        *,
        connection_id: str,
        clio: ClioContactsPort,
        xero: XeroContactsPort,
        mappings: MappingStore,
        settings: ConnectionSettings,
        clock: Clock,
    ) -> None:
        self.connection_id = connection_id
        self.clio = clio
        self.xero = xero
        self.mappings = mappings
        self.settings = settings
        self.clock = clock

    # ------------------------------------------------------------------ entry points
    def sync_from_clio(self, clio_id: str) -> SyncResult:
        mapping = self.mappings.get(self.connection_id, RECORD_TYPE, clio_id)
        record = self.clio.get_contact(clio_id)
        if record is None:
            return self._clio_deleted(clio_id, mapping)
        if mapping is None or mapping.xero_id is None:
            if not self._in_scope(record):
                return SyncResult(Outcome.OUT_OF_SCOPE, clio_id=clio_id)
            if mapping is not None and mapping.status is MappingStatus.NEEDS_REVIEW:
                return SyncResult(Outcome.NEEDS_REVIEW, clio_id=clio_id)
            return self._link_or_create(record, mapping)
        if self._unchanged(mapping, from_clio(record)):
            # Clio holds what both sides agreed at the last sync: an echo of our own write or a
            # change to fields we do not sync. Nothing to do, and no Xero call spent finding out
            # (a Xero-side change arrives as its own event).
            return SyncResult(Outcome.NO_CHANGE, clio_id=clio_id, xero_id=mapping.xero_id)
        xero = self.xero.get_contact(mapping.xero_id)
        if xero is None:
            raise NotFoundError(f"Xero contact {mapping.xero_id} linked to Clio contact {clio_id} no longer exists")
        if xero.get("MergedToContactID"):
            return self._repoint(mapping, xero)
        return self._reconcile(mapping, record, xero)

    def sync_from_xero(self, xero_id: str) -> SyncResult:
        xero = self.xero.get_contact(xero_id)
        if xero is None:
            return SyncResult(Outcome.GONE, xero_id=xero_id)
        clio_id = self.mappings.clio_id_for(self.connection_id, RECORD_TYPE, xero_id)
        if clio_id is None:
            ours = clio_id_from_contact_number(xero.get("ContactNumber"))
            if ours is not None:  # we created it, but the mapping write never happened
                return self.sync_from_clio(ours)
            return self._xero_only(xero)
        mapping = self.mappings.get(self.connection_id, RECORD_TYPE, clio_id)
        if mapping is None:
            raise NotFoundError(f"reverse link for Xero contact {xero_id} has no mapping (clio {clio_id})")
        if xero.get("MergedToContactID"):
            return self._repoint(mapping, xero)
        if self._unchanged(mapping, from_xero(xero)) and xero.get("ContactNumber") == contact_number(clio_id):
            # The echo of our own write (or a change outside the shared fields): no Clio call.
            return SyncResult(Outcome.NO_CHANGE, clio_id=clio_id, xero_id=xero_id)
        record = self.clio.get_contact(clio_id)
        if record is None:
            return self._clio_deleted(clio_id, mapping)
        return self._reconcile(mapping, record, xero)

    def link_new(self, records: Sequence[dict[str, Any]], *, numbers_taken: set[str]) -> list[str]:
        """Create many not-yet-linked Clio contacts in Xero at once (the clients of a bill burst):
        one write of up to 50 (per-element results), then their mappings. Best effort and
        conservative: a contact whose ContactNumber Xero already holds (an earlier uncertain
        attempt), one Xero refuses (a duplicate name) or one under review is left to
        :meth:`sync_from_clio`, which links, disambiguates or asks for review one by one. Returns
        the Clio ids linked."""
        fresh: list[tuple[dict[str, Any], Mapping | None, SharedContact]] = []
        for record in records:
            clio_id = str(record["id"])
            mapping = self.mappings.get(self.connection_id, RECORD_TYPE, clio_id)
            if mapping is not None and (mapping.xero_id or mapping.status is MappingStatus.NEEDS_REVIEW):
                continue
            if contact_number(clio_id) in numbers_taken:
                continue
            fresh.append((record, mapping, from_clio(record)))
        linked: list[str] = []
        for start in range(0, len(fresh), BATCH):
            chunk = fresh[start : start + BATCH]
            payloads = [
                to_xero_payload(contact, clio_id=str(record["id"]), xero_id=None, name=contact.name)
                for record, _, contact in chunk
            ]
            content = "|".join(f"{record['id']}:{contact.digest()}" for record, _, contact in chunk)
            key = idempotency_key(self.connection_id, "contacts", str(chunk[0][0]["id"]), content)
            results = self.xero.save_contacts(payloads, idempotency_key=key, create=True)
            for (record, mapping, contact), result in zip(chunk, results, strict=True):
                if not result.ok or result.record is None:
                    continue
                try:
                    self._create_mapping(record, result.record, synced=contact, prior=mapping)
                except SyncError:  # another worker linked it first; its own sync finds the winner
                    continue
                linked.append(str(record["id"]))
        return linked

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _unchanged(mapping: Mapping, projection: SharedContact) -> bool:
        """True when one side still holds exactly what both agreed at the last sync."""
        return (
            mapping.status is MappingStatus.OK
            and mapping.synced_hash is not None
            and projection.digest() == mapping.synced_hash
        )

    def _in_scope(self, record: dict[str, Any]) -> bool:
        scope = self.settings.contacts.contact_scope
        if scope is ContactScope.ALL:
            return True
        if scope is ContactScope.CLIENTS:
            return bool(record.get("is_client"))
        return self.clio.has_bills(record["id"])

    def _now_iso(self) -> str:
        return self.clock.now().isoformat()

    def _xero_name(self, contact: SharedContact, mapping: Mapping | None) -> str:
        """Keep a disambiguated Name as long as the underlying name is unchanged."""
        if mapping and mapping.xero_label and strip_disambiguation(mapping.xero_label) == contact.name:
            return mapping.xero_label
        return contact.name

    def _save_to_xero(self, contact: SharedContact, *, clio_id: str, xero_id: str | None, name: str) -> dict[str, Any]:
        """Create or update one Xero contact; on a duplicate Name, retry once disambiguated."""
        for attempt_name in (name, disambiguated_name(contact.name, clio_id)):
            payload = to_xero_payload(contact, clio_id=clio_id, xero_id=xero_id, name=attempt_name)
            # The key covers everything that makes the request: target, content and name.
            key = idempotency_key(
                self.connection_id, "contact", clio_id, f"{xero_id or 'new'}|{contact.digest()}|{attempt_name}"
            )
            [result] = self.xero.save_contacts([payload], idempotency_key=key, create=xero_id is None)
            if result.ok and result.record is not None:
                return result.record
            if not is_duplicate_name(result.errors) or attempt_name != name:
                raise ValidationFailedError(
                    f"Xero refused contact {contact.name!r} (Clio {clio_id})", provider_messages=result.errors
                )
            holders = [c for c in self.xero.find_active_by_name(name) if c.get("ContactID") != xero_id]
            unlinked = [
                c
                for c in holders
                if self.mappings.clio_id_for(self.connection_id, RECORD_TYPE, str(c["ContactID"])) is None
            ]
            if unlinked:
                raise NeedsReviewError([str(c["ContactID"]) for c in unlinked])
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises

    def _link_or_create(self, record: dict[str, Any], mapping: Mapping | None) -> SyncResult:
        clio_id = str(record["id"])
        existing = self.xero.find_contact_by_number(contact_number(clio_id))
        if existing is not None:
            # Ours from an earlier attempt whose outcome was uncertain (timeout, crash before the
            # mapping write): link it instead of creating a second one.
            linked = self._create_mapping(record, existing, synced=None, prior=mapping)
            result = self._reconcile(linked, record, existing)
            result.outcome = Outcome.LINKED
            return result
        contact = from_clio(record)
        try:
            created = self._save_to_xero(contact, clio_id=clio_id, xero_id=None, name=contact.name)
        except NeedsReviewError as signal:
            self._mark_review(record, mapping, signal.candidates)
            return SyncResult(Outcome.NEEDS_REVIEW, clio_id=clio_id)
        self._create_mapping(record, created, synced=contact, prior=mapping)
        return SyncResult(Outcome.CREATED_IN_XERO, clio_id=clio_id, xero_id=str(created["ContactID"]), wrote_xero=True)

    def _create_mapping(
        self, record: dict[str, Any], xero: dict[str, Any], *, synced: SharedContact | None, prior: Mapping | None
    ) -> Mapping:
        now = self.clock.now()
        values: dict[str, Any] = {
            "xero_id": str(xero["ContactID"]),
            "status": MappingStatus.OK,
            "synced": synced.model_dump(mode="json") if synced else None,
            "synced_hash": synced.digest() if synced else None,
            "clio_version": record.get("etag"),
            "clio_updated_at": record.get("updated_at"),
            "xero_updated_at": xero.get("UpdatedDateUTC"),
            "xero_label": xero.get("Name"),
            "last_error": None,
            "error_hint": None,
            "attempts": 0,
            "candidates": [],
            "updated_at": now,
        }
        if prior is not None:
            return self.mappings.update(prior.model_copy(update=values), previous_xero_id=prior.xero_id)
        mapping = Mapping(
            connection_id=self.connection_id,
            record_type=RECORD_TYPE,
            clio_id=str(record["id"]),
            created_at=now,
            **values,
        )
        # A LinkTakenError here means another worker linked it first: the message is retried
        # and then finds the winner's mapping.
        return self.mappings.create(mapping)

    def _mark_review(self, record: dict[str, Any], mapping: Mapping | None, candidates: list[str]) -> None:
        now = self.clock.now()
        values: dict[str, Any] = {
            "status": MappingStatus.NEEDS_REVIEW,
            "candidates": candidates,
            "last_error": "an unlinked Xero contact already has this name: link it or create a new one",
            "error_hint": f"clio-xero contacts link {record['id']} {candidates[0]}",
            "updated_at": now,
        }
        if mapping is None:
            self.mappings.create(
                Mapping(
                    connection_id=self.connection_id,
                    record_type=RECORD_TYPE,
                    clio_id=str(record["id"]),
                    created_at=now,
                    **values,
                )
            )
        else:
            self.mappings.update(mapping.model_copy(update=values), previous_xero_id=mapping.xero_id)

    def _reconcile(self, mapping: Mapping, record: dict[str, Any], xero: dict[str, Any]) -> SyncResult:
        clio_now, xero_now = from_clio(record), from_xero(xero)
        base = SharedContact.model_validate(mapping.synced) if mapping.synced else None
        clio_id, xero_id = mapping.clio_id, str(xero["ContactID"])
        if base is not None and clio_now == base and xero_now == base:
            return SyncResult(Outcome.NO_CHANGE, clio_id=clio_id, xero_id=xero_id)
        result = merge(
            base,
            clio_now,
            xero_now,
            clio_changed_at=parse_iso(record.get("updated_at")),
            xero_changed_at=parse_xero_date(xero.get("UpdatedDateUTC")),
            now=self.clock.now(),
        )
        merged = result.merged
        wrote_xero = wrote_clio = False
        if result.writes_xero(xero_now) or (xero.get("ContactNumber") or "") != contact_number(clio_id):
            xero = self._save_to_xero(merged, clio_id=clio_id, xero_id=xero_id, name=self._xero_name(merged, mapping))
            wrote_xero = True
        if result.writes_clio(clio_now):
            record = self.clio.update_contact(clio_id, to_clio_patch(merged, record), etag=record.get("etag"))
            wrote_clio = True
        self.mappings.update(
            mapping.model_copy(
                update={
                    "status": MappingStatus.OK,
                    "synced": merged.model_dump(mode="json"),
                    "synced_hash": merged.digest(),
                    "clio_version": record.get("etag"),
                    "clio_updated_at": record.get("updated_at"),
                    "xero_updated_at": xero.get("UpdatedDateUTC"),
                    "xero_label": xero.get("Name"),
                    "last_error": None,
                    "error_hint": None,
                    "attempts": 0,
                    "conflicts": mapping.with_conflicts(result.conflicts),
                    "updated_at": self.clock.now(),
                }
            ),
            previous_xero_id=mapping.xero_id,
        )
        return SyncResult(
            Outcome.UPDATED if (wrote_xero or wrote_clio) else Outcome.NO_CHANGE,
            clio_id=clio_id,
            xero_id=xero_id,
            wrote_clio=wrote_clio,
            wrote_xero=wrote_xero,
            conflicts=len(result.conflicts),
        )

    def _repoint(self, mapping: Mapping, merged_away: dict[str, Any]) -> SyncResult:
        """A Xero merge archived our contact into another: follow ``MergedToContactID``."""
        survivor_id = str(merged_away["MergedToContactID"])
        other = self.mappings.clio_id_for(self.connection_id, RECORD_TYPE, survivor_id)
        if other is not None and other != mapping.clio_id:
            self.mappings.update(
                mapping.model_copy(
                    update={
                        "status": MappingStatus.NEEDS_REVIEW,
                        "candidates": [survivor_id],
                        "last_error": f"merged in Xero into a contact linked to Clio contact {other}",
                        "error_hint": "merge the two contacts in Clio too, or unlink one of them",
                        "updated_at": self.clock.now(),
                    }
                ),
                previous_xero_id=mapping.xero_id,
            )
            return SyncResult(Outcome.NEEDS_REVIEW, clio_id=mapping.clio_id, xero_id=survivor_id)
        self._release_contact_number(str(merged_away["ContactID"]), merged_away, mapping.clio_id)
        repointed = self.mappings.update(
            mapping.model_copy(update={"xero_id": survivor_id, "synced": None, "synced_hash": None}),
            previous_xero_id=mapping.xero_id,
        )
        record = self.clio.get_contact(mapping.clio_id)
        survivor = self.xero.get_contact(survivor_id)
        if record is None or survivor is None:
            return SyncResult(Outcome.REPOINTED, clio_id=mapping.clio_id, xero_id=survivor_id)
        result = self._reconcile(repointed, record, survivor)
        result.outcome = Outcome.REPOINTED
        return result

    def _release_contact_number(self, xero_id: str, contact: dict[str, Any], clio_id: str) -> None:
        """Free our ContactNumber from a merged-away contact so the survivor can carry it.

        Xero keeps ContactNumber unique even among archived contacts (docs/facts-xero.md#batching). That an
        archived contact's ContactNumber can be cleared through the API is UNCONFIRMED; if Xero
        refuses, a person is told exactly what to clear.
        """
        if contact.get("ContactNumber") != contact_number(clio_id):
            return
        key = idempotency_key(self.connection_id, "release", clio_id, xero_id)
        [result] = self.xero.save_contacts(
            [{"ContactID": xero_id, "ContactNumber": ""}], idempotency_key=key, create=False
        )
        if not result.ok:
            raise ValidationFailedError(
                f"could not move contact code {contact_number(clio_id)} off the merged Xero contact {xero_id}: "
                "clear its Contact Code in Xero, then retry",
                provider_messages=result.errors,
            )

    def _clio_deleted(self, clio_id: str, mapping: Mapping | None) -> SyncResult:
        if mapping is None or mapping.xero_id is None or mapping.status is MappingStatus.TOMBSTONED:
            return SyncResult(Outcome.GONE, clio_id=clio_id)
        key = idempotency_key(self.connection_id, "archive", clio_id, mapping.xero_id)
        try:
            self.xero.archive_contact(mapping.xero_id, idempotency_key=key)
        except ValidationFailedError as exc:
            # Xero refuses to archive a contact with outstanding balances; keep it visible.
            self.mappings.update(
                mapping.model_copy(
                    update={
                        "status": MappingStatus.ERROR,
                        "last_error": "deleted in Clio, but Xero refused to archive it: "
                        + "; ".join(exc.provider_messages or [exc.message]),
                        "error_hint": "settle or void its invoices in Xero, then `clio-xero retry`",
                        "attempts": mapping.attempts + 1,
                        "updated_at": self.clock.now(),
                    }
                ),
                previous_xero_id=mapping.xero_id,
            )
            raise
        self.mappings.update(
            mapping.model_copy(update={"status": MappingStatus.TOMBSTONED, "updated_at": self.clock.now()}),
            previous_xero_id=mapping.xero_id,
        )
        return SyncResult(Outcome.ARCHIVED_IN_XERO, clio_id=clio_id, xero_id=mapping.xero_id, wrote_xero=True)

    def _xero_only(self, xero: dict[str, Any]) -> SyncResult:
        xero_id = str(xero["ContactID"])
        if not self.settings.contacts.import_xero_only_contacts or xero.get("ContactStatus", "ACTIVE") != "ACTIVE":
            return SyncResult(Outcome.XERO_ONLY_IGNORED, xero_id=xero_id)
        contact = from_xero(xero)
        record = self.clio.create_contact(to_clio_patch(contact, None))
        clio_id = str(record["id"])
        mapping = self._create_mapping(record, xero, synced=None, prior=None)
        result = self._reconcile(mapping, record, xero)  # stamps ContactNumber, records the base
        result.outcome = Outcome.CREATED_IN_CLIO
        result.wrote_clio = True
        result.clio_id = clio_id
        return result
