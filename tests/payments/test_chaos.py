"""The small chaos run inside `make test` (the 500-change run is `make chaos`)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import pytest

from tests.payments.chaos import run_chaos

pytestmark = pytest.mark.slow


def test_faults_and_messy_webhooks_leave_the_books_agreeing_and_nothing_twice() -> None:
    changes = int(os.environ.get("CHAOS_CHANGES", "60"))
    started, t0 = datetime.now(UTC), time.perf_counter()
    result = run_chaos(changes)
    assert sum(result.changes.values()) == changes
    assert result.retried > 0 and result.dropped > 0 and result.duplicated > 0  # the chaos happened
    assert result.parked == []
    assert result.differences == []
    assert result.duplicates == []
    if os.environ.get("CHAOS_REPORT"):  # `make chaos`: the figures go into docs/benchmarks.md
        from bench import chaos
        from bench.run import store_result, write_document

        section = chaos.section(result, seed=12)
        store_result("chaos", section, command="make chaos", seconds=time.perf_counter() - t0, at=started)
        write_document()
        print("\n" + section.body)
