"""Backfill: link a firm's existing Clio and Xero address books, then create the rest in Xero.

``clio-xero backfill contacts`` is a thin shell over :class:`ContactBackfill`; tests and the
benchmark use the class directly. One run:

1. **reads** every Clio contact (cursor paging, 200 a page), every Xero contact (1,000 a page,
   archived included so our ``ContactNumber``s are seen) and the connection's mappings;
2. **plans** with :func:`clio_xero.sync.matching.plan_matches` (link / create / review / skip);
   ``--dry-run`` stops here;
3. **records reviews** (mapping status ``needs_review`` with the candidate Xero ids);
4. **links**: the first-link merge of :mod:`clio_xero.sync.contacts.merge` (Clio wins, Clio's
   blanks are filled from Xero) is written where a side differs: Xero in batches of up to 50
   (``POST``, which also stamps our ``ContactNumber``), Clio one ``PATCH`` each with ``If-Match``;
   then the mapping, whose base is that merged projection;
5. **creates** the rest in Xero in batches of up to 50 (``PUT ?summarizeErrors=false``), one
   mapping per created contact. Per element: a duplicate Name is retried once disambiguated
   (in one more batch call), or goes to review when an unlinked Xero contact holds the name;
   any other refusal is recorded on the mapping (status ``error``) in Xero's words.

A checkpoint (``pk=CONN#<id>``, ``sk=#CHECKPOINT#backfill#contact``) is written after every
batch: phase, last Clio id done, counts so far. Run again after an interruption, the backfill
says where the last run stopped, carries its counts on, and continues: everything finished is in
the mapping table, so the new plan keeps it; a batch that reached Xero but whose mappings were
never written is found by its ``CLIO-<id>`` ContactNumbers and linked, never created twice.

Rate limits: a throttled call waits ``retry_after`` and is sent again (``wait`` is injected:
``time.sleep`` for people, a clock for tests and benchmarks).
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, Field

from clio_xero.clients import RecordPage
from clio_xero.clients.clio import CONTACT_FIELDS, ClioClient
from clio_xero.clients.xero import MAX_PAGE_SIZE, XeroClient
from clio_xero.clock import Clock
from clio_xero.errors import LinkTakenError, PermanentError, RetryableError, ThrottledError, UpstreamUnavailableError
from clio_xero.sync.contacts.engine import RECORD_TYPE, ElementOutcome, is_duplicate_name
from clio_xero.sync.contacts.merge import merge, parse_iso, parse_xero_date
from clio_xero.sync.contacts.projection import (
    SharedContact,
    contact_number,
    disambiguated_name,
    from_clio,
    from_xero,
    strip_disambiguation,
    to_clio_patch,
    to_xero_payload,
)
from clio_xero.sync.mapping import Mapping, MappingStatus, MappingStore
from clio_xero.sync.matching import Action, ClioEntry, Decision, XeroEntry, plan_matches, xero_name_key
from clio_xero.sync.settings import ConnectionSettings, ContactScope

BATCH_SIZE = 50  # Xero's recommended batch size (docs/facts-xero.md#batching)
CHECKPOINT_SK = f"#CHECKPOINT#backfill#{RECORD_TYPE}"
PHASES = ("review", "link", "create", "done")
T = TypeVar("T")


# ----------------------------------------------------------------------------- checkpoint
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


# ----------------------------------------------------------------------------- rate limits
class Patience:
    """Runs one API call, waiting out throttles and retrying uncertain failures.

    A throttled call waits ``retry_after`` and is sent again; an uncertain failure (timeout, 5xx)
    is sent again after ``backoff`` seconds *with the same idempotency key* (Xero answers a replay
    with the first outcome). ``waited`` sums the seconds asked for (the benchmark reports it).
    """

    def __init__(
        self, wait: Callable[[float], None] = time.sleep, *, max_attempts: int = 30, backoff: float = 2.0
    ) -> None:
        self.wait = wait
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.waited = 0.0
        self.throttles = 0

    def call(self, fn: Callable[[], T]) -> T:
        for attempt in range(1, self.max_attempts + 1):
            try:
                return fn()
            except ThrottledError as exc:
                if attempt == self.max_attempts:
                    raise
                self.throttles += 1
                seconds = exc.retry_after if exc.retry_after is not None else self.backoff
                self.waited += seconds
                self.wait(seconds)
            except UpstreamUnavailableError:
                if attempt >= min(self.max_attempts, 4):
                    raise
                self.waited += self.backoff
                self.wait(self.backoff)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


# ----------------------------------------------------------------------------- ports
class BackfillClio(Protocol):
    def iter_contacts(self) -> Iterator[dict[str, Any]]: ...

    def has_bills(self, contact_id: int | str) -> bool: ...

    def update_contact(self, contact_id: int | str, data: dict[str, Any], *, etag: str | None) -> dict[str, Any]: ...


class BackfillXero(Protocol):
    def iter_contacts(self) -> Iterator[dict[str, Any]]: ...

    def save_contacts(
        self, contacts: Sequence[dict[str, Any]], *, idempotency_key: str, create: bool
    ) -> Sequence[ElementOutcome]: ...


def patient_pages(read: Callable[[str | None], RecordPage], patience: Patience) -> Iterator[dict[str, Any]]:
    """Every row of a paged read, each page through ``patience``: a throttle waits and asks for the
    same page again, where a client's ``iter_records`` generator would end on the exception."""
    cursor: str | None = None
    while True:
        page = patience.call(functools.partial(read, cursor))
        yield from page.rows
        if page.next is None:
            return
        cursor = page.next


class ClioSource:
    """:class:`BackfillClio` over :class:`ClioClient`; every page waits out its own throttles."""

    def __init__(self, client: ClioClient, patience: Patience, page_size: int = 200) -> None:
        self.client = client
        self.patience = patience
        self.page_size = page_size

    def iter_contacts(self) -> Iterator[dict[str, Any]]:
        def read(cursor: str | None) -> RecordPage:
            return self.client.read_page("contacts", fields=CONTACT_FIELDS, page_size=self.page_size, next_url=cursor)

        return patient_pages(read, self.patience)

    def has_bills(self, contact_id: int | str) -> bool:
        page = self.patience.call(
            lambda: self.client.read_page("bills", fields="id", params={"client_id": str(contact_id)}, page_size=1)
        )
        return bool(page.rows)

    def update_contact(self, contact_id: int | str, data: dict[str, Any], *, etag: str | None) -> dict[str, Any]:
        return self.patience.call(
            lambda: self.client.update_record("contacts", contact_id, data, etag=etag, fields=CONTACT_FIELDS)
        )


class XeroSource:
    """:class:`BackfillXero` over :class:`XeroClient`."""

    def __init__(self, client: XeroClient, patience: Patience, page_size: int = MAX_PAGE_SIZE) -> None:
        self.client = client
        self.patience = patience
        self.page_size = page_size

    def iter_contacts(self) -> Iterator[dict[str, Any]]:
        def read(cursor: str | None) -> RecordPage:
            return self.client.read_page(
                "Contacts",
                "Contacts",
                page=int(cursor or 1),
                params={"includeArchived": "true"},
                page_size=self.page_size,
            )

        return patient_pages(read, self.patience)

    def save_contacts(
        self, contacts: Sequence[dict[str, Any]], *, idempotency_key: str, create: bool
    ) -> Sequence[ElementOutcome]:
        return self.patience.call(
            lambda: self.client.save_records(
                "Contacts", "Contacts", contacts, idempotency_key=idempotency_key, create=create
            )
        )


# ----------------------------------------------------------------------------- plan
@dataclass
class BackfillPlan:
    decisions: list[Decision]
    clio: dict[str, dict[str, Any]]  # Clio id → record
    xero: dict[str, dict[str, Any]]  # lower-case Xero id → contact
    mappings: dict[str, Mapping]  # Clio id → existing mapping
    xero_total: int = 0

    def of(self, action: Action) -> list[Decision]:
        return [d for d in self.decisions if d.action is action]

    def counts(self) -> dict[str, int]:
        out = {a.value: 0 for a in Action}
        for d in self.decisions:
            out[d.action.value] += 1
        return out

    def xero_contact(self, xero_id: str) -> dict[str, Any]:
        return self.xero[xero_id.lower()]


@dataclass
class BackfillReport:
    plan: BackfillPlan
    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)  # what this run (and the run it resumed) did
    errors: list[tuple[str, str]] = field(default_factory=list)  # (Clio id, Xero's words)
    resumed: Checkpoint | None = None
    create_calls: int = 0
    link_calls: int = 0
    clio_writes: int = 0


Progress = Callable[[str, int, int], None]  # (phase, done, total)


def _batch_key(connection_id: str, what: str, payloads: Sequence[dict[str, Any]]) -> str:
    """Idempotency-Key from (connection, batch content): a replay of the same batch is the same call."""
    canonical = json.dumps(list(payloads), sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(f"{connection_id}|{what}|{canonical}".encode()).hexdigest()[:48]
    return f"cx-backfill-{what}-{digest}"


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ContactBackfill:
    def __init__(
        self,
        *,
        connection_id: str,
        clio: BackfillClio,
        xero: BackfillXero,
        mappings: MappingStore,
        settings: ConnectionSettings,
        checkpoints: CheckpointStore,
        clock: Clock,
        batch_size: int = BATCH_SIZE,
        progress: Progress | None = None,
    ) -> None:
        if not 1 <= batch_size <= BATCH_SIZE:
            raise ValueError(f"batch_size must be 1..{BATCH_SIZE}")
        self.connection_id = connection_id
        self.clio = clio
        self.xero = xero
        self.mappings = mappings
        self.settings = settings
        self.checkpoints = checkpoints
        self.clock = clock
        self.batch_size = batch_size
        self.progress = progress or (lambda _phase, _done, _total: None)

    # ------------------------------------------------------------------ plan (reads only)
    def plan(self) -> BackfillPlan:
        existing = {m.clio_id: m for m in self.mappings.list(self.connection_id, RECORD_TYPE)}
        linked = {c: m.xero_id for c, m in existing.items() if m.xero_id}
        reviews = {
            c: tuple(m.candidates)
            for c, m in existing.items()
            if not m.xero_id and m.status is MappingStatus.NEEDS_REVIEW
        }
        clio: dict[str, dict[str, Any]] = {}
        entries: list[ClioEntry] = []
        for record in self.clio.iter_contacts():
            clio_id = str(record["id"])
            clio[clio_id] = record
            projected = from_clio(record)
            unmapped = clio_id not in linked and clio_id not in reviews
            entries.append(
                ClioEntry(clio_id, projected.name, projected.email, self._in_scope(record) if unmapped else True)
            )
        xero = {str(c["ContactID"]).lower(): c for c in self.xero.iter_contacts()}
        decisions = plan_matches(entries, [XeroEntry.of(c) for c in xero.values()], linked=linked, reviews=reviews)
        return BackfillPlan(decisions, clio, xero, existing, xero_total=len(xero))

    def _in_scope(self, record: dict[str, Any]) -> bool:
        scope = self.settings.contacts.contact_scope
        if scope is ContactScope.ALL:
            return True
        if scope is ContactScope.CLIENTS:
            return bool(record.get("is_client"))
        return self.clio.has_bills(record["id"])  # one Clio call per unmapped contact

    # ------------------------------------------------------------------ run
    def run(self, *, dry_run: bool = False, plan: BackfillPlan | None = None) -> BackfillReport:
        plan = plan or self.plan()
        report = BackfillReport(plan=plan, dry_run=dry_run)
        if dry_run:
            return report
        checkpoint = self.checkpoints.get(self.connection_id)
        if checkpoint is not None and checkpoint.phase != "done":
            report.resumed = checkpoint.model_copy(deep=True)
            report.counts = dict(checkpoint.counts)
        else:
            now = self.clock.now()
            checkpoint = Checkpoint(started_at=now, updated_at=now)
        for name in ("linked", "created", "disambiguated", "review", "errors"):
            report.counts.setdefault(name, 0)
        self._reviews(plan, checkpoint, report)
        self._links(plan, checkpoint, report)
        self._creates(plan, checkpoint, report)
        self._enter(checkpoint, "done", report)
        return report

    def _todo(self, plan: BackfillPlan, action: Action) -> list[Decision]:
        # What earlier (interrupted) runs finished is in the mapping table, so the fresh plan
        # already says KEEP or "already awaiting review" for it: nothing here is done twice.
        return [d for d in plan.of(action) if not d.existing]

    def _enter(self, checkpoint: Checkpoint, phase: str, report: BackfillReport) -> None:
        self._save_checkpoint(checkpoint, phase, None, report)

    def _save_checkpoint(self, checkpoint: Checkpoint, phase: str, last: str | None, report: BackfillReport) -> None:
        checkpoint.phase = phase
        checkpoint.last_clio_id = int(last) if last is not None else None
        checkpoint.counts = dict(report.counts)
        checkpoint.updated_at = self.clock.now()
        self.checkpoints.put(self.connection_id, checkpoint)

    # ------------------------------------------------------------------ mapping writes
    def _write_mapping(self, plan: BackfillPlan, clio_id: str, values: dict[str, Any]) -> bool:
        """Create the mapping (or update one an earlier run left without a link); False if taken."""
        now = self.clock.now()
        values = {**values, "updated_at": now}
        prior = plan.mappings.get(clio_id) or self.mappings.get(self.connection_id, RECORD_TYPE, clio_id)
        try:
            if prior is None:
                written = self.mappings.create(
                    Mapping(
                        connection_id=self.connection_id,
                        record_type=RECORD_TYPE,
                        clio_id=clio_id,
                        created_at=now,
                        **values,
                    )
                )
            elif prior.xero_id and prior.xero_id != values.get("xero_id"):
                return False  # linked meanwhile (the worker, a person): that link stands
            else:
                written = self.mappings.update(prior.model_copy(update=values), previous_xero_id=prior.xero_id)
        except LinkTakenError:
            return False
        plan.mappings[clio_id] = written
        return True

    def _linked_values(
        self, record: dict[str, Any], xero: dict[str, Any], synced: SharedContact | None, error: str | None
    ) -> dict[str, Any]:
        return {
            "xero_id": str(xero["ContactID"]),
            "status": MappingStatus.ERROR if error else MappingStatus.OK,
            "synced": synced.model_dump(mode="json") if synced else None,
            "synced_hash": synced.digest() if synced else None,
            "clio_version": record.get("etag"),
            "clio_updated_at": record.get("updated_at"),
            "xero_updated_at": xero.get("UpdatedDateUTC"),
            "xero_label": xero.get("Name"),
            "last_error": error,
            "error_hint": "fix the contact, then `clio-xero retry`" if error else None,
            "attempts": 1 if error else 0,
            "candidates": [],
        }

    def _review(self, plan: BackfillPlan, clio_id: str, candidates: Sequence[str], reason: str) -> bool:
        return self._write_mapping(
            plan,
            clio_id,
            {
                "status": MappingStatus.NEEDS_REVIEW,
                "candidates": list(candidates),
                "last_error": reason,
                "error_hint": (
                    f"clio-xero contacts link {clio_id} {candidates[0]}" if candidates else "clio-xero contacts review"
                ),
            },
        )

    def _error(self, plan: BackfillPlan, clio_id: str, messages: Sequence[str], report: BackfillReport) -> None:
        text = "; ".join(messages) or "Xero refused the contact without a reason"
        written = self._write_mapping(
            plan,
            clio_id,
            {
                "status": MappingStatus.ERROR,
                "last_error": text,
                "error_hint": "fix the contact in Clio, then run the backfill again",
                "attempts": 1,
            },
        )
        if written:  # not written: linked meanwhile (by the worker), which is what a refusal here means
            report.counts["errors"] += 1
            report.errors.append((clio_id, text))

    # ------------------------------------------------------------------ phases
    def _reviews(self, plan: BackfillPlan, checkpoint: Checkpoint, report: BackfillReport) -> None:
        todo = self._todo(plan, Action.REVIEW)
        for done, decision in enumerate(todo, 1):
            if self._review(plan, decision.clio_id, decision.candidates, decision.reason):
                report.counts["review"] += 1
            self.progress("review", done, len(todo))
        self._enter(checkpoint, "link", report)

    def _links(self, plan: BackfillPlan, checkpoint: Checkpoint, report: BackfillReport) -> None:
        todo = self._todo(plan, Action.LINK)
        done = 0
        for chunk in _chunks(todo, self.batch_size):
            self._link_batch(plan, chunk, report)
            done += len(chunk)
            self._save_checkpoint(checkpoint, "link", chunk[-1].clio_id, report)
            self.progress("link", done, len(todo))
        self._enter(checkpoint, "create", report)

    def _link_batch(self, plan: BackfillPlan, chunk: Sequence[Decision], report: BackfillReport) -> None:
        now = self.clock.now()
        merged: dict[str, SharedContact] = {}
        to_xero: list[tuple[Decision, dict[str, Any]]] = []
        for d in chunk:
            assert d.xero_id is not None
            record, xero = plan.clio[d.clio_id], plan.xero_contact(d.xero_id)
            result = merge(
                None,
                from_clio(record),
                from_xero(xero),
                clio_changed_at=parse_iso(record.get("updated_at")),
                xero_changed_at=parse_xero_date(xero.get("UpdatedDateUTC")),
                now=now,
            )
            merged[d.clio_id] = result.merged
            if result.writes_xero(from_xero(xero)) or (xero.get("ContactNumber") or "") != contact_number(d.clio_id):
                current = str(xero.get("Name") or "")
                name = current if strip_disambiguation(current) == result.merged.name else result.merged.name
                to_xero.append(
                    (d, to_xero_payload(result.merged, clio_id=d.clio_id, xero_id=str(xero["ContactID"]), name=name))
                )
        xero_errors: dict[str, list[str]] = {}
        if to_xero:
            payloads = [p for _, p in to_xero]
            results = self.xero.save_contacts(
                payloads, idempotency_key=_batch_key(self.connection_id, "link", payloads), create=False
            )
            report.link_calls += 1
            for (d, _), outcome in zip(to_xero, results, strict=True):
                if outcome.ok and outcome.record is not None:
                    plan.xero[str(outcome.record["ContactID"]).lower()] = outcome.record
                else:
                    xero_errors[d.clio_id] = list(outcome.errors)
        for d in chunk:
            assert d.xero_id is not None
            record, xero, target = plan.clio[d.clio_id], plan.xero_contact(d.xero_id), merged[d.clio_id]
            error = "; ".join(xero_errors[d.clio_id]) if d.clio_id in xero_errors else None
            if error is None and target != from_clio(record):
                try:
                    record = self.clio.update_contact(d.clio_id, to_clio_patch(target, record), etag=record.get("etag"))
                    report.clio_writes += 1
                except (PermanentError, RetryableError) as exc:
                    error = f"Clio refused the merged contact: {exc}"
            # With an error the pair is linked without a base: the next sync redoes the first-link merge.
            if self._write_mapping(
                plan, d.clio_id, self._linked_values(record, xero, None if error else target, error)
            ):
                report.counts["linked"] += 1
                if error:
                    report.counts["errors"] += 1
                    report.errors.append((d.clio_id, error))

    def _creates(self, plan: BackfillPlan, checkpoint: Checkpoint, report: BackfillReport) -> None:
        todo = self._todo(plan, Action.CREATE)
        done = 0
        for chunk in _chunks(todo, self.batch_size):
            self._create_batch(plan, chunk, report)
            done += len(chunk)
            self._save_checkpoint(checkpoint, "create", chunk[-1].clio_id, report)
            self.progress("create", done, len(todo))

    def _unlinked_holders(self, plan: BackfillPlan, name: str) -> list[str]:
        wanted = xero_name_key(name)
        linked = {m.xero_id.lower() for m in plan.mappings.values() if m.xero_id}
        return [
            str(c["ContactID"])
            for lower, c in plan.xero.items()
            if c.get("ContactStatus", "ACTIVE") == "ACTIVE"
            and xero_name_key(str(c.get("Name") or "")) == wanted
            and lower not in linked
        ]

    def _create_batch(self, plan: BackfillPlan, chunk: Sequence[Decision], report: BackfillReport) -> None:
        attempt: list[tuple[Decision, SharedContact, str]] = [
            (d, from_clio(plan.clio[d.clio_id]), d.name or from_clio(plan.clio[d.clio_id]).name) for d in chunk
        ]
        for round_ in (1, 2):
            payloads = [to_xero_payload(c, clio_id=d.clio_id, name=name) for d, c, name in attempt]
            results = self.xero.save_contacts(
                payloads, idempotency_key=_batch_key(self.connection_id, "create", payloads), create=True
            )
            report.create_calls += 1
            retry: list[tuple[Decision, SharedContact, str]] = []
            for (d, contact, name), outcome in zip(attempt, results, strict=True):
                if outcome.ok and outcome.record is not None:
                    created = outcome.record
                    plan.xero[str(created["ContactID"]).lower()] = created
                    values = self._linked_values(plan.clio[d.clio_id], created, contact, None)
                    if self._write_mapping(plan, d.clio_id, values):
                        report.counts["created"] += 1
                        if name != contact.name:
                            report.counts["disambiguated"] += 1
                elif round_ == 1 and is_duplicate_name(outcome.errors) and name == contact.name:
                    holders = self._unlinked_holders(plan, name)
                    if holders:
                        reason = f"an unlinked Xero contact already has the name {name!r}: link it or create anew"
                        if self._review(plan, d.clio_id, holders, reason):
                            report.counts["review"] += 1
                    else:
                        retry.append((d, contact, disambiguated_name(contact.name, d.clio_id)))
                else:
                    self._error(plan, d.clio_id, outcome.errors, report)
            if not retry:
                return
            attempt = retry
