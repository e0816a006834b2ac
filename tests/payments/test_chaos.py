"""The small chaos run inside `make test` (the 500-change run is `make chaos`)."""

from __future__ import annotations

import os

import pytest

from tests.payments.chaos import run_chaos

pytestmark = pytest.mark.slow


def test_faults_and_messy_webhooks_leave_the_books_agreeing_and_nothing_twice() -> None:
    changes = int(os.environ.get("CHAOS_CHANGES", "60"))
    result = run_chaos(changes)
    assert sum(result.changes.values()) == changes
    assert result.retried > 0 and result.dropped > 0 and result.duplicated > 0  # the chaos happened
    assert result.parked == []
    assert result.differences == []
    assert result.duplicates == []
    if os.environ.get("CHAOS_REPORT"):
        print(
            f"\nchaos: {changes} changes {dict(result.changes)}; hints {result.hints}, dropped {result.dropped}, "
            f"duplicated {result.duplicated}; deliveries {result.deliveries}, retried {result.retried}; "
            f"Xero calls {result.xero_calls} ({result.xero_faults} faulted), Clio calls {result.clio_calls}"
        )
