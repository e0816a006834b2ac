"""The matching rules of docs/trust-report.md, one by one."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from clio_xero.trust.matching import MatchRules, match, normalise_reference
from clio_xero.trust.model import ClioTrustTransaction, StatementLine


def txn(tid: int, day: str, amount: str, ref: str = "") -> ClioTrustTransaction:
    return ClioTrustTransaction.model_validate(
        {"id": tid, "date": day, "amount": amount, "bank_account": {"id": 1}, "confirmation": ref}
    )


def line(n: int, day: str, amount: str, ref: str = "") -> StatementLine:
    return StatementLine(
        file="s.csv", line=n, date=date.fromisoformat(day), amount=Decimal(amount), reference=ref, description=""
    )


def test_references_compare_without_case_punctuation_or_leading_zeros() -> None:
    assert normalise_reference("chq 001024") == "CHQ001024"
    assert normalise_reference("001024") == normalise_reference("1024") == "1024"
    assert normalise_reference("dep-77") == "DEP77"


def test_reference_wins_over_amount_and_date_and_allows_late_cheques() -> None:
    # Cheque 1024 written 1 Jan, presented 20 Feb (50 days: inside the 90-day reference window);
    # a second Clio item of the same amount and date as the line does not make it ambiguous.
    result = match(
        [line(2, "2026-02-20", "-100.00", "001024")],
        [txn(1, "2026-01-01", "-100.00", "1024"), txn(2, "2026-02-20", "-100.00")],
    )
    assert [(x.line, t.id) for x, t in result.matched] == [(2, 1)]
    assert [t.id for t in result.unmatched_transactions] == [2]


def test_same_reference_different_amount_is_an_amount_difference() -> None:
    result = match([line(2, "2026-01-12", "-310.00", "1025")], [txn(5, "2026-01-10", "-300.00", "1025")])
    assert result.matched == []
    assert [(x.line, t.id) for x, t in result.amount_differs] == [(2, 5)]


def test_amount_within_the_date_window_only() -> None:
    rules = MatchRules(date_window_days=5)
    inside = match([line(2, "2026-01-06", "50.00")], [txn(1, "2026-01-01", "50.00")], rules)
    outside = match([line(2, "2026-01-07", "50.00")], [txn(1, "2026-01-01", "50.00")], rules)
    assert len(inside.matched) == 1
    assert outside.matched == []
    assert [x.line for x in outside.unmatched_lines] == [2]
    assert [t.id for t in outside.unmatched_transactions] == [1]


def test_two_candidates_are_listed_never_guessed() -> None:
    result = match(
        [line(2, "2026-01-26", "500.00"), line(3, "2026-01-27", "500.00")],
        [txn(12, "2026-01-25", "500.00"), txn(13, "2026-01-25", "500.00")],
    )
    assert result.matched == []
    [(lines, txns)] = result.ambiguous
    assert [x.line for x in lines] == [2, 3]
    assert [t.id for t in txns] == [12, 13]
    assert result.unmatched_lines == []
    assert result.unmatched_transactions == []


def test_a_chain_of_shared_candidates_is_one_group_and_unique_pairs_still_match() -> None:
    # Line 2 could be txn 1 or 2; line 3 only txn 2: txn 2 has two lines, so all three are one group.
    # Line 4 and txn 9 are each other's only candidate: matched.
    result = match(
        [line(2, "2026-01-05", "10.00"), line(3, "2026-01-09", "10.00"), line(4, "2026-01-20", "99.00")],
        [txn(1, "2026-01-01", "10.00"), txn(2, "2026-01-06", "10.00"), txn(9, "2026-01-19", "99.00")],
    )
    assert [(x.line, t.id) for x, t in result.matched] == [(4, 9)]
    [(lines, txns)] = result.ambiguous
    assert ([x.line for x in lines], [t.id for t in txns]) == ([2, 3], [1, 2])


def test_the_result_does_not_depend_on_input_order() -> None:
    lines = [line(2, "2026-01-05", "10.00"), line(3, "2026-01-09", "20.00"), line(4, "2026-01-20", "99.00", "77")]
    txns = [txn(1, "2026-01-04", "10.00"), txn(2, "2026-01-08", "20.00"), txn(9, "2026-01-19", "98.00", "77")]
    a, b = match(lines, txns), match(lines[::-1], txns[::-1])
    assert [(x.line, t.id) for x, t in a.matched] == [(x.line, t.id) for x, t in b.matched] == [(2, 1), (3, 2)]
    assert [(x.line, t.id) for x, t in a.amount_differs] == [(x.line, t.id) for x, t in b.amount_differs] == [(4, 9)]
