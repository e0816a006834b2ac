"""Backfill planning and execution against the in-memory fakes (the real path: tests/integration)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from clio_xero.clients.patience import Patience
from clio_xero.clock import ManualClock
from clio_xero.errors import ThrottledError
from clio_xero.store.checkpoints import checkpoint_sk
from clio_xero.sync.backfill import ContactBackfill
from clio_xero.sync.contacts.engine import RECORD_TYPE
from clio_xero.sync.core.checkpoints import InMemoryCheckpointStore
from clio_xero.sync.mapping import InMemoryMappingStore, MappingStatus
from clio_xero.sync.matching import Action
from clio_xero.sync.settings import ConnectionSettings, ContactScope
from tests.fakes.contacts import FakeClio, FakeXero, Result

CONN = "c1"


class Clio(FakeClio):
    def iter_contacts(self) -> Iterator[dict[str, Any]]:
        for key in sorted(self.records, key=int):
            yield dict(self.records[key])


class Xero(FakeXero):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[bool, int]] = []  # (create, batch size)
        self.crash_after: int | None = None

    def iter_contacts(self) -> Iterator[dict[str, Any]]:
        yield from (dict(c) for c in self.contacts.values())

    def save_contacts(self, contacts: Sequence[dict[str, Any]], *, idempotency_key: str, create: bool) -> list[Result]:
        self.calls.append((create, len(contacts)))
        results = super().save_contacts(contacts, idempotency_key=idempotency_key, create=create)
        if self.crash_after is not None and len(self.calls) >= self.crash_after:
            raise KeyboardInterrupt  # the process dies after Xero wrote, before any mapping write
        return results


def person(clio: Clio, first: str, last: str, email: str | None = None, **more: Any) -> str:
    emails = [{"address": email, "name": "Work", "primary": True}] if email else []
    return str(clio.add(first_name=first, last_name=last, email_addresses=emails, **more)["id"])


def backfill(
    clio: Clio,
    xero: Xero,
    mappings: InMemoryMappingStore,
    checkpoints: InMemoryCheckpointStore | None = None,
    scope: ContactScope = ContactScope.ALL,
    batch_size: int = 50,
) -> ContactBackfill:
    return ContactBackfill(
        connection_id=CONN,
        clio=clio,
        xero=xero,
        mappings=mappings,
        settings=ConnectionSettings(contact_scope=scope),
        checkpoints=checkpoints or InMemoryCheckpointStore(),
        clock=ManualClock(),
        batch_size=batch_size,
    )


def test_plan_links_creates_reviews_and_skips() -> None:
    clio, xero, mappings = Clio(), Xero(), InMemoryMappingStore()
    ada = person(clio, "Ada", "Lovelace", "ada@x.test")
    bob = person(clio, "Bob", "Jones", "bob@x.test")
    cat = person(clio, "Cat", "Stevens", "cat@x.test", is_client=False)
    dan = person(clio, "Dan", "Brown", "dan@x.test")
    xero.add(Name="Ada Lovelace", EmailAddress="ADA@x.test")
    xero.add(Name="Dan Brown", EmailAddress="dan@other.test")
    plan = backfill(clio, xero, mappings, scope=ContactScope.CLIENTS).plan()
    assert {d.clio_id: d.action for d in plan.decisions} == {
        ada: Action.LINK,
        bob: Action.CREATE,
        cat: Action.SKIP,
        dan: Action.REVIEW,
    }
    assert plan.counts() == {"keep": 0, "link": 1, "create": 1, "review": 1, "skip": 1}


def test_dry_run_writes_nothing() -> None:
    clio, xero, mappings = Clio(), Xero(), InMemoryMappingStore()
    person(clio, "Ada", "Lovelace", "ada@x.test")
    checkpoints = InMemoryCheckpointStore()
    report = backfill(clio, xero, mappings, checkpoints).run(dry_run=True)
    assert report.plan.counts()["create"] == 1
    assert (xero.calls, clio.writes, mappings.items, checkpoints.writes) == ([], 0, {}, 0)


def test_run_links_with_first_link_merge_creates_in_batches_and_records_reviews() -> None:
    clio, xero, mappings = Clio(), Xero(), InMemoryMappingStore()
    ada = person(clio, "Ada", "Lovelace", "ada@x.test")
    ada_x = xero.add(
        Name="Ada Lovelace", EmailAddress="ada@x.test", Phones=[{"PhoneType": "MOBILE", "PhoneNumber": "021"}]
    )
    new = [person(clio, "New", f"Person{i}", f"n{i}@x.test") for i in range(7)]
    dan = person(clio, "Dan", "Brown", "dan@x.test")
    xero.add(Name="Dan Brown", EmailAddress="dan@other.test")

    report = backfill(clio, xero, mappings, batch_size=3).run()

    assert report.counts == {"linked": 1, "created": 7, "disambiguated": 0, "review": 1, "errors": 0}
    assert xero.calls == [(False, 1), (True, 3), (True, 3), (True, 1)]  # ceil(7/3) creates + 1 link update
    link = mappings.get(CONN, "contact", ada)
    assert link is not None and link.xero_id == ada_x["ContactID"] and link.status is MappingStatus.OK
    assert xero.contacts[ada_x["ContactID"]]["ContactNumber"] == f"CLIO-{ada}"
    assert clio.records[ada]["phone_numbers"][0]["number"] == "021"  # Clio's blank filled from Xero
    assert link.synced is not None and link.synced["phone_personal"] == "021"
    for clio_id in new:
        m = mappings.get(CONN, "contact", clio_id)
        assert m is not None and xero.contacts[m.xero_id or ""]["ContactNumber"] == f"CLIO-{clio_id}"
    review = mappings.get(CONN, "contact", dan)
    assert review is not None and review.status is MappingStatus.NEEDS_REVIEW and len(review.candidates) == 1
    assert review.error_hint == f"clio-xero contacts link {dan} {review.candidates[0]}"


def test_rerun_is_a_no_op() -> None:
    clio, xero, mappings = Clio(), Xero(), InMemoryMappingStore()
    for i in range(4):
        person(clio, "P", f"N{i}", f"p{i}@x.test")
    backfill(clio, xero, mappings).run()
    before = len(xero.contacts)
    again = backfill(clio, xero, mappings).run()
    assert again.plan.counts()["keep"] == 4 and len(xero.contacts) == before and len(xero.calls) == 1


def test_crash_after_a_batch_then_resume_creates_each_contact_once() -> None:
    clio, xero, mappings = Clio(), Xero(), InMemoryMappingStore()
    ids = [person(clio, "P", f"N{i}", f"p{i}@x.test") for i in range(10)]
    checkpoints = InMemoryCheckpointStore()
    xero.crash_after = 2  # batch 2 reaches Xero, then the process dies before its mappings
    with pytest.raises(KeyboardInterrupt):
        backfill(clio, xero, mappings, checkpoints, batch_size=3).run()
    checkpoint = checkpoints.get(CONN)
    assert checkpoint is not None and (checkpoint.phase, checkpoint.last_clio_id) == ("create", int(ids[2]))
    xero.crash_after = None
    report = backfill(clio, xero, mappings, checkpoints, batch_size=3).run()
    assert report.resumed is not None
    numbers = sorted(c["ContactNumber"] for c in xero.contacts.values())
    assert numbers == sorted(f"CLIO-{i}" for i in ids)  # each exactly once
    assert report.plan.counts()["link"] == 3  # batch 2's contacts, found by ContactNumber
    assert report.counts["created"] == 3 + 4 and report.counts["linked"] == 3
    assert all((m := mappings.get(CONN, "contact", i)) is not None and m.xero_id for i in ids)
    done = checkpoints.get(CONN)
    assert done is not None and done.phase == "done"
    assert checkpoint_sk(RECORD_TYPE) == "#CHECKPOINT#backfill#contact"  # where the adapter keeps it


def test_duplicate_name_in_a_batch_is_retried_disambiguated_and_other_errors_are_recorded() -> None:
    clio, xero, mappings = Clio(), Xero(), InMemoryMappingStore()
    first = person(clio, "John", "Smith", "a@x.test")
    second = person(clio, "Jane", "Doe", "jd@x.test")
    bad = person(clio, "Bad", "Data", "bad@x.test")
    engine = backfill(clio, xero, mappings)
    plan = engine.plan()
    # Between the plan and the write, someone creates "Jane Doe" in Xero and links it elsewhere.
    taken = xero.add(Name="Jane Doe", EmailAddress="other@x.test")
    mappings.reverse[(CONN, "contact", taken["ContactID"].lower())] = "999"
    original = xero._errors

    def errors(element: dict[str, Any]) -> list[str]:
        if element.get("Name") == "Bad Data":
            return ["Email address must be valid."]
        return original(element)

    xero._errors = errors  # type: ignore[method-assign]
    report = engine.run(plan=plan)
    assert report.counts["created"] == 2 and report.counts["disambiguated"] == 1
    assert xero.contacts[mappings.get(CONN, "contact", second).xero_id or ""]["Name"] == f"Jane Doe [C-{second}]"  # type: ignore[union-attr]
    failed = mappings.get(CONN, "contact", bad)
    assert (
        failed is not None
        and failed.status is MappingStatus.ERROR
        and failed.last_error == "Email address must be valid."
    )
    assert report.errors == [(bad, "Email address must be valid.")]
    assert mappings.get(CONN, "contact", first) is not None


def test_duplicate_name_held_by_an_unlinked_contact_goes_to_review() -> None:
    clio, xero, mappings = Clio(), Xero(), InMemoryMappingStore()
    jane = person(clio, "Jane", "Doe", "jd@x.test")
    engine = backfill(clio, xero, mappings)
    plan = engine.plan()
    holder = xero.add(Name="Jane Doe", EmailAddress="else@x.test")
    plan.xero[holder["ContactID"].lower()] = holder  # seen by a fresh read
    report = engine.run(plan=plan)
    m = mappings.get(CONN, "contact", jane)
    assert report.counts["review"] == 1 and m is not None and m.candidates == [holder["ContactID"]]
    assert len(xero.contacts) == 1


def test_patience_waits_out_throttles() -> None:
    waits: list[float] = []
    patience = Patience(waits.append)
    calls = iter([ThrottledError("slow down", retry_after=7), ThrottledError("again", retry_after=None)])

    def call() -> str:
        error = next(calls, None)
        if error:
            raise error
        return "ok"

    assert patience.call(call) == "ok"
    assert waits == [7, 2.0] and patience.waited == 9.0 and patience.throttles == 2
