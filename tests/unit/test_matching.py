"""The matching rules of the backfill (pure): docs/backfill.md."""

from __future__ import annotations

from clio_xero.sync.matching import (
    Action,
    ClioEntry,
    XeroEntry,
    normalise_email,
    normalise_name,
    plan_matches,
)


def x(xero_id: str, name: str, email: str = "", number: str | None = None, active: bool = True) -> XeroEntry:
    return XeroEntry(xero_id, name, email, number, active)


def test_normalisation_strips_accents_case_punctuation_spacing_and_our_suffix() -> None:
    assert normalise_name("  Zoë  O'Brien-Smith [C-42]") == normalise_name("zoe o brien smith")
    assert normalise_name("Łukasz Müller") == "łukasz muller"  # Ł has no decomposition: kept, lower-cased
    assert normalise_name("株式会社 山田商事") == "株式会社 山田商事"
    assert normalise_email("  Ada@Example.TEST ") == "ada@example.test"


def test_contact_number_links_first_even_archived_and_before_names() -> None:
    [d] = plan_matches(
        [ClioEntry("7", "Ada Lovelace", "ada@x.test")],
        [x("X-NAME", "Ada Lovelace", "ada@x.test"), x("X-NUM", "Someone Else", number="CLIO-7", active=False)],
        linked={},
    )
    assert (d.action, d.xero_id) == (Action.LINK, "X-NUM")


def test_one_exact_candidate_links_normalised() -> None:
    [d] = plan_matches(
        [ClioEntry("1", "José García", "Jose@Firm.test")], [x("A", "JOSE  GARCIA", "jose@firm.test")], linked={}
    )
    assert (d.action, d.xero_id, d.reason) == (Action.LINK, "A", "name and email")


def test_several_candidates_need_review_with_their_ids() -> None:
    [d] = plan_matches(
        [ClioEntry("1", "Mary Brown", "m@b.test")],
        [x("A", "Mary Brown", "m@b.test"), x("B", "Mary Brown.", "M@B.test")],
        linked={},
    )
    assert d.action is Action.REVIEW and set(d.candidates) == {"A", "B"}


def test_a_candidate_claimed_by_two_clio_contacts_links_neither() -> None:
    decisions = plan_matches(
        [ClioEntry("1", "John Smith", "js@x.test"), ClioEntry("2", "John Smith", "js@x.test")],
        [x("A", "John Smith", "js@x.test")],
        linked={},
    )
    assert [(d.action, d.candidates) for d in decisions] == [(Action.REVIEW, ("A",)), (Action.REVIEW, ("A",))]
    assert "also matching Clio contact(s) 2" in decisions[0].reason


def test_near_matches_are_never_linked() -> None:
    decisions = plan_matches(
        [
            ClioEntry("1", "Ada Lovelace", "ada@x.test"),  # same name, other email
            ClioEntry("2", "Charles Babbage", "cb@x.test"),  # same email, other name
            ClioEntry("3", "Alan Turing", ""),  # same name, no email on either side
        ],
        [x("A", "Ada Lovelace", "ada@old.test"), x("B", "C. Babbage", "cb@x.test"), x("C", "Alan Turing")],
        linked={},
    )
    assert [(d.action, d.candidates) for d in decisions] == [
        (Action.REVIEW, ("A",)),
        (Action.REVIEW, ("B",)),
        (Action.REVIEW, ("C",)),
    ]


def test_existing_links_and_reviews_are_kept_and_linked_xero_contacts_are_not_offered() -> None:
    decisions = plan_matches(
        [ClioEntry("1", "Ada", "a@x.test"), ClioEntry("2", "Ada", "a@x.test"), ClioEntry("3", "Bob", "b@x.test")],
        [x("A", "Ada", "a@x.test")],
        linked={"1": "A"},
        reviews={"3": ("Z",)},
    )
    assert [(d.action, d.xero_id, d.existing) for d in decisions] == [
        (Action.KEEP, "A", False),
        (Action.CREATE, None, False),  # A belongs to Clio 1: not a candidate, and not a near match either
        (Action.REVIEW, None, True),
    ]
    assert decisions[1].name == "Ada [C-2]"  # "Ada" is held by the linked contact


def test_out_of_scope_is_skipped_and_creates_get_unique_names() -> None:
    decisions = plan_matches(
        [
            ClioEntry("10", "John Smith", "a@x.test"),
            ClioEntry("9", "John Smith", "b@x.test"),
            ClioEntry("11", "Court", in_scope=False),
        ],
        [x("Z", "Xero Only", "z@x.test"), x("ARCH", "john smith", "old@x.test", active=False)],
        linked={},
    )
    assert [(d.clio_id, d.action, d.name) for d in decisions] == [
        ("9", Action.CREATE, "John Smith"),  # ascending ids: 9 before 10
        ("10", Action.CREATE, "John Smith [C-10]"),
        ("11", Action.SKIP, ""),
    ]


def test_a_xero_contact_numbered_for_another_clio_contact_is_not_a_candidate() -> None:
    [d] = plan_matches([ClioEntry("1", "Ada", "a@x.test")], [x("A", "Ada", "a@x.test", number="CLIO-99")], linked={})
    assert d.action is Action.CREATE and d.name == "Ada [C-1]"
