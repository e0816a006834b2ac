"""The intake benchmarks still run (a small size): a change to intake that breaks them shows here,
not at the next `make bench`. Speed is not checked here (docs/benchmarks.md is where it is)."""

from __future__ import annotations

import pytest

from bench.common import RunOptions
from bench.intake import run_sustained

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_sustained_intake_runs_small_and_loses_nothing() -> None:
    section = run_sustained(RunOptions(quick=True, deliveries=20))
    assert section.targets and all(ok for _, ok in section.targets), section.targets
