"""Pair bank statement lines with Clio trust transactions: deterministic, never a guess.

The rules (docs/trust-report.md, "Matching"):

1. **Reference.** A line whose reference (cheque number, bank reference) equals a Clio
   transaction's ``confirmation`` (compared upper-case, letters and digits only, leading zeros
   dropped) and whose bank date is from ``reference_days_before`` before to ``reference_days_after``
   after the Clio date pairs with it when that pairing is the only one on both sides. Equal amounts:
   matched; different amounts: listed as an amount difference with both figures.
2. **Amount and date.** Every line left pairs with a Clio transaction left of exactly the same
   amount dated within ``date_window_days`` of it, again only when each is the other's only candidate.
3. **Ambiguous.** Lines and transactions that have candidates but no unique partner are grouped
   (connected candidates) and listed for a person to decide. Nothing is paired by order or nearness.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from clio_xero.trust.model import ClioTrustTransaction, StatementLine


@dataclass(frozen=True)
class MatchRules:
    date_window_days: int = 5
    reference_days_before: int = 5  # a bank line a little before Clio's date (recorded late in Clio)
    reference_days_after: int = 90  # a cheque can take weeks to be presented


@dataclass
class MatchResult:
    matched: list[tuple[StatementLine, ClioTrustTransaction]] = field(default_factory=list)
    amount_differs: list[tuple[StatementLine, ClioTrustTransaction]] = field(default_factory=list)
    ambiguous: list[tuple[list[StatementLine], list[ClioTrustTransaction]]] = field(default_factory=list)
    unmatched_lines: list[StatementLine] = field(default_factory=list)
    unmatched_transactions: list[ClioTrustTransaction] = field(default_factory=list)


_NOT_ALNUM = re.compile(r"[\W_]+")


def normalise_reference(value: str | None) -> str:
    """Upper-case letters and digits only; a number loses its leading zeros."""
    if not value:
        return ""
    cleaned = _NOT_ALNUM.sub("", value).upper()
    return cleaned.lstrip("0") if cleaned.isdigit() else cleaned


def match(
    lines: Sequence[StatementLine], transactions: Sequence[ClioTrustTransaction], rules: MatchRules | None = None
) -> MatchResult:
    rules = rules or MatchRules()
    result = MatchResult()
    line_ids = {id(x): x for x in lines}
    txn_by_id = {t.id: t for t in transactions}

    # 1. reference
    by_ref: dict[str, list[ClioTrustTransaction]] = defaultdict(list)
    for t in transactions:
        if ref := normalise_reference(t.confirmation):
            by_ref[ref].append(t)
    before, after = timedelta(days=rules.reference_days_before), timedelta(days=rules.reference_days_after)
    ref_edges: dict[int, list[int]] = {}
    for line in lines:
        if ref := normalise_reference(line.reference):
            ref_edges[id(line)] = [t.id for t in by_ref.get(ref, ()) if -before <= line.date - t.date <= after]
    paired_lines, paired_txns = _unique_pairs(ref_edges)
    for lid, tid in paired_lines.items():
        line, txn = line_ids[lid], txn_by_id[tid]
        (result.matched if line.amount == txn.amount else result.amount_differs).append((line, txn))

    # 2. amount and date window
    open_lines = [x for x in lines if id(x) not in paired_lines]
    by_amount: dict[object, list[ClioTrustTransaction]] = defaultdict(list)
    for t in transactions:
        if t.id not in paired_txns:
            by_amount[t.amount].append(t)
    window = rules.date_window_days
    edges = {
        id(line): [t.id for t in by_amount.get(line.amount, ()) if abs((line.date - t.date).days) <= window]
        for line in open_lines
    }
    pairs, _ = _unique_pairs(edges)
    for lid, tid in pairs.items():
        result.matched.append((line_ids[lid], txn_by_id[tid]))

    # 3. the rest: ambiguous groups, or unmatched on one side
    left = {lid: cands for lid, cands in edges.items() if lid not in pairs and cands}
    grouped_lines, grouped_txns = _components(left)
    for group_lines, group_txns in zip(grouped_lines, grouped_txns, strict=True):
        result.ambiguous.append(
            (
                sorted((line_ids[i] for i in group_lines), key=_line_key),
                sorted((txn_by_id[t] for t in group_txns), key=_txn_key),
            )
        )
    result.ambiguous.sort(key=lambda group: _line_key(group[0][0]))
    in_groups = {t for g in grouped_txns for t in g}
    used = set(paired_txns) | set(pairs.values()) | in_groups
    result.unmatched_lines = sorted((x for x in open_lines if id(x) not in pairs and not edges[id(x)]), key=_line_key)
    result.unmatched_transactions = sorted((t for t in transactions if t.id not in used), key=_txn_key)
    result.matched.sort(key=lambda p: _line_key(p[0]))
    result.amount_differs.sort(key=lambda p: _line_key(p[0]))
    return result


def _unique_pairs(edges: dict[int, list[int]]) -> tuple[dict[int, int], dict[int, int]]:
    """Pairs (line, txn) where each is the other's only candidate."""
    lines_per_txn: dict[int, int] = defaultdict(int)
    for cands in edges.values():
        for t in set(cands):
            lines_per_txn[t] += 1
    by_line = {lid: cands[0] for lid, cands in edges.items() if len(cands) == 1 and lines_per_txn[cands[0]] == 1}
    return by_line, {t: lid for lid, t in by_line.items()}


def _components(edges: dict[int, list[int]]) -> tuple[list[set[int]], list[set[int]]]:
    """Connected groups of lines and transactions that share candidates (union-find)."""
    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(node: tuple[str, int]) -> tuple[str, int]:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for lid, cands in edges.items():
        for t in cands:
            a, b = find(("l", lid)), find(("t", t))
            if a != b:
                parent[a] = b
    groups: dict[tuple[str, int], tuple[set[int], set[int]]] = {}
    for node in list(parent):
        lines, txns = groups.setdefault(find(node), (set(), set()))
        (lines if node[0] == "l" else txns).add(node[1])
    ordered = list(groups.values())
    return [g[0] for g in ordered], [g[1] for g in ordered]


def _line_key(line: StatementLine) -> tuple[object, ...]:
    return (line.date, line.file, line.line)


def _txn_key(txn: ClioTrustTransaction) -> tuple[object, ...]:
    return (txn.date, txn.id)
