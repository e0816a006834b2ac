"""The payments chaos run's section of docs/benchmarks.md. The run itself is a test
(tests/payments/chaos.py; ``make chaos`` runs 500 changes, ``make test`` a smaller one); with
``CHAOS_REPORT=1`` the test stores its figures here through :func:`bench.run.store_result`."""

from __future__ import annotations

from collections import Counter
from typing import Protocol

from bench.common import Section, table

INTRO = (
    "{changes} changes, seed {seed}; `make test` runs the same with 60. `tests/payments/chaos.py`: a firm's billing"
    " changes made in the Clio sandbox as people would (bills approved, interest added to unpaid bills, payments"
    " partial and full, payments from trust, credit notes, payments voided), one change hint each; then 10% of the"
    " hints dropped, 10% duplicated, all reordered, and both sandboxes answering 10% of API calls with 500/503"
    " (seeded `FaultPlan`). The hints go to the real engine (contact, bill, payment, credit-note and invoice-watch"
    " plug-ins, real clients, rate budgets on the simulated clock) in bursts of 10; retryable failures go back on the"
    " queue; the dropped hints are found by the plug-ins' own sweep listing, as the scheduled sweep finds them; one"
    " more quiet sweep runs after the faults stop."
)
KINDS = {  # the names tests/payments/chaos.py counts changes under, in the plural
    "bill": "bills",
    "interest edit": "interest edits",
    "payment": "payments",
    "payment from trust": "payments from trust",
    "credit note": "credit notes",
    "payment voided": "payments voided",
}


class ChaosFigures(Protocol):
    changes: Counter[str]
    hints: int
    dropped: int
    duplicated: int
    deliveries: int
    retried: int
    parked: list[str]
    differences: list[tuple[str, list[str]]]
    duplicates: list[str]
    xero_calls: int
    clio_calls: int
    xero_faults: int


def section(result: ChaosFigures, *, seed: int) -> Section:
    changes = sum(result.changes.values())
    kinds = ", ".join(f"{n} {KINDS.get(kind, kind)}" for kind, n in result.changes.items())
    rows = [
        ["changes", f"{changes}: {kinds}"],
        [
            "hints delivered / dropped / duplicated",
            f"{result.hints} made; {result.dropped} dropped, {result.duplicated} duplicated, all reordered",
        ],
        ["deliveries to the engine / retried after a fault", f"{result.deliveries:,} / {result.retried:,}"],
        ["Xero calls / of them faulted", f"{result.xero_calls:,} / {result.xero_faults:,}"],
        ["Clio calls", f"{result.clio_calls:,}"],
        ["records parked", str(len(result.parked))],
        ["receivables differences afterwards", f"**{len(result.differences)}**"],
        ["invoices, payments or credit notes that exist twice", f"**{len(result.duplicates)}**"],
    ]
    body = INTRO.format(changes=changes, seed=seed) + "\n\n" + table(["measure", "result"], rows)
    return Section(
        title="Payments chaos run (`make chaos`)",
        body=body,
        targets=[
            ("the receivables report shows zero differences after the run", not result.differences),
            (
                "no invoice, payment or credit note exists twice (by InvoiceNumber, our payment Reference, "
                "CreditNoteNumber)",
                not result.duplicates,
            ),
        ],
    )
