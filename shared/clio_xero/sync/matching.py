"""Which existing Xero contact is which Clio contact (pure). The rules are in docs/backfill.md.

In order, for each Clio contact (ascending id):

1. already linked in the mapping table → kept; already awaiting review → left for the person;
2. outside the connection's contact scope → skipped;
3. a Xero contact (archived ones too) whose ``ContactNumber`` is ``CLIO-<id>`` → linked: we
   created it earlier (a run that was interrupted, or the worker);
4. exactly one unlinked, active Xero contact with the same normalised name *and* email, claimed
   by no other Clio contact → linked;
5. several such candidates, or one candidate claimed by several Clio contacts → needs review;
6. near matches (same normalised name but a different or missing email, or same email but a
   different name) → needs review: a name alone is not an identity, and neither is an email
   (firms share accounts@ addresses);
7. otherwise → created in Xero, under a disambiguated name (``"John Smith [C-42]"``) when its
   name is already held by an active Xero contact or by an earlier contact of the same run.

Normalisation: our ``" [C-<id>]"`` suffix removed, accents stripped (NFKD, combining marks
dropped), case folded, punctuation and runs of whitespace collapsed to one space.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from clio_xero.sync.contacts.projection import (
    clio_id_from_contact_number,
    contact_number,
    disambiguated_name,
    strip_disambiguation,
)

_PUNCTUATION = re.compile(r"[\W_]+", re.UNICODE)


def normalise_name(name: str | None) -> str:
    text = unicodedata.normalize("NFKD", strip_disambiguation(str(name or "").strip()))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(_PUNCTUATION.sub(" ", text).split())


def normalise_email(email: str | None) -> str:
    return str(email or "").strip().casefold()


def xero_name_key(name: str) -> str:
    """How Xero compares Names for its "unique among active contacts" rule (case, spacing)."""
    return " ".join(name.split()).casefold()


class Action(StrEnum):
    KEEP = "keep"  # already linked
    LINK = "link"
    CREATE = "create"
    REVIEW = "review"
    SKIP = "skip"  # out of scope


@dataclass(frozen=True)
class ClioEntry:
    clio_id: str
    name: str
    email: str = ""
    in_scope: bool = True


@dataclass(frozen=True)
class XeroEntry:
    xero_id: str
    name: str
    email: str = ""
    number: str | None = None
    active: bool = True

    @classmethod
    def of(cls, contact: Mapping[str, Any]) -> XeroEntry:
        return cls(
            xero_id=str(contact["ContactID"]),
            name=str(contact.get("Name") or ""),
            email=str(contact.get("EmailAddress") or ""),
            number=contact.get("ContactNumber") or None,
            active=contact.get("ContactStatus", "ACTIVE") == "ACTIVE",
        )


@dataclass(frozen=True)
class Decision:
    clio_id: str
    action: Action
    xero_id: str | None = None
    candidates: tuple[str, ...] = ()
    reason: str = ""
    name: str = ""  # CREATE: the Name to give the new Xero contact
    existing: bool = False  # REVIEW: already recorded by an earlier run (nothing to write)


@dataclass
class _Pool:
    """Unlinked, active Xero contacts not carrying another Clio contact's number, indexed."""

    exact: dict[tuple[str, str], list[XeroEntry]] = field(default_factory=lambda: defaultdict(list))
    by_name: dict[str, list[XeroEntry]] = field(default_factory=lambda: defaultdict(list))
    by_email: dict[str, list[XeroEntry]] = field(default_factory=lambda: defaultdict(list))

    def add(self, x: XeroEntry) -> None:
        name, email = normalise_name(x.name), normalise_email(x.email)
        self.exact[(name, email)].append(x)
        if name:
            self.by_name[name].append(x)
        if email:
            self.by_email[email].append(x)


def _ids(entries: Iterable[XeroEntry]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(x.xero_id for x in entries))


def _describe(entries: Iterable[XeroEntry]) -> str:
    return "; ".join(f"{x.name!r} <{x.email or 'no email'}> ({x.xero_id})" for x in entries)


def plan_matches(
    clio: Iterable[ClioEntry],
    xero: Iterable[XeroEntry],
    *,
    linked: Mapping[str, str],
    reviews: Mapping[str, tuple[str, ...]] | None = None,
) -> list[Decision]:
    """One :class:`Decision` per Clio contact, in ascending Clio id order.

    ``linked`` maps Clio id → Xero id for every existing link of the connection (including links
    of Clio contacts not in ``clio``); ``reviews`` holds Clio ids already awaiting a person.
    """
    contacts = sorted(clio, key=lambda c: (len(c.clio_id), c.clio_id))
    planner = _Planner(list(xero), linked, reviews or {})
    pending = [c for c in contacts if not planner.settled(c)]
    undecided = planner.exact_matches(pending)
    planner.near_matches_or_create(undecided)
    return [planner.decisions[c.clio_id] for c in contacts]


class _Planner:
    def __init__(self, xero: list[XeroEntry], linked: Mapping[str, str], reviews: Mapping[str, tuple[str, ...]]):
        self.xero = xero
        self.linked = linked
        self.reviews = reviews
        self.taken = {x.lower() for x in linked.values()}
        self.ours = {n: x for x in xero if (n := clio_id_from_contact_number(x.number)) is not None}
        self.decisions: dict[str, Decision] = {}
        self._pool: _Pool | None = None

    def decide(self, clio_id: str, action: Action, **values: Any) -> None:
        self.decisions[clio_id] = Decision(clio_id, action, **values)

    def settled(self, c: ClioEntry) -> bool:
        """Rules 1-3: existing links and reviews, scope, our ContactNumber. False: match by name/email."""
        if c.clio_id in self.linked:
            self.decide(c.clio_id, Action.KEEP, xero_id=self.linked[c.clio_id], reason="already linked")
        elif c.clio_id in self.reviews:
            self.decide(
                c.clio_id,
                Action.REVIEW,
                candidates=self.reviews[c.clio_id],
                reason="already awaiting review",
                existing=True,
            )
        elif not c.in_scope:
            self.decide(c.clio_id, Action.SKIP, reason="outside the contact scope")
        elif (x := self.ours.get(c.clio_id)) is not None:
            number = contact_number(c.clio_id)
            if x.xero_id.lower() in self.taken:
                reason = f"Xero contact {x.xero_id} carries {number} but is linked to another Clio contact"
                self.decide(c.clio_id, Action.REVIEW, candidates=(x.xero_id,), reason=reason)
            else:
                self.taken.add(x.xero_id.lower())
                self.decide(c.clio_id, Action.LINK, xero_id=x.xero_id, reason=f"ContactNumber {number}")
        else:
            return False
        return True

    @property
    def pool(self) -> _Pool:
        """Built after rule 3 so contacts linked by number are not offered to anyone else."""
        if self._pool is None:
            self._pool = _Pool()
            for x in self.xero:
                if x.active and x.xero_id.lower() not in self.taken and clio_id_from_contact_number(x.number) is None:
                    self._pool.add(x)
        return self._pool

    def exact_matches(self, pending: list[ClioEntry]) -> list[ClioEntry]:
        """Rules 4-5; returns the contacts with no exact candidate."""
        keys = {c.clio_id: (normalise_name(c.name), normalise_email(c.email)) for c in pending}
        exact = {cid: self.pool.exact.get(k, []) if all(k) else [] for cid, k in keys.items()}
        claims: dict[str, list[str]] = defaultdict(list)
        for cid, found in exact.items():
            for x in found:
                claims[x.xero_id].append(cid)
        undecided: list[ClioEntry] = []
        for c in pending:
            found = exact[c.clio_id]
            if not found:
                undecided.append(c)
                continue
            rivals = sorted({o for x in found for o in claims[x.xero_id] if o != c.clio_id})
            if len(found) == 1 and not rivals:
                self.taken.add(found[0].xero_id.lower())
                self.decide(c.clio_id, Action.LINK, xero_id=found[0].xero_id, reason="name and email")
                continue
            why = f"{len(found)} Xero contact(s) match name and email: {_describe(found)}"
            if rivals:
                why += f"; also matching Clio contact(s) {', '.join(rivals)}"
            self.decide(c.clio_id, Action.REVIEW, candidates=_ids(found), reason=why)
        return undecided

    def near_matches_or_create(self, undecided: list[ClioEntry]) -> None:
        """Rules 6-7."""
        taken_names = {xero_name_key(x.name) for x in self.xero if x.active}
        for c in undecided:
            name, email = normalise_name(c.name), normalise_email(c.email)
            near = list(self.pool.by_name.get(name, [])) + (list(self.pool.by_email.get(email, [])) if email else [])
            near = [x for x in dict.fromkeys(near) if x.xero_id.lower() not in self.taken]
            if near:
                reason = f"near match (same name or same email, not both): {_describe(near)}"
                self.decide(c.clio_id, Action.REVIEW, candidates=_ids(near), reason=reason)
                continue
            create_as = c.name
            if xero_name_key(c.name) in taken_names:
                create_as = disambiguated_name(c.name, c.clio_id)
            taken_names.add(xero_name_key(create_as))
            self.decide(c.clio_id, Action.CREATE, name=create_as, reason="no match in Xero")
