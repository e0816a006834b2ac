"""docs/benchmarks.md is assembled from stored results: a partial run replaces only its sections."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench import chaos
from bench.common import Section
from bench.run import store_result, write_document

AT = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)


def test_a_partial_run_replaces_its_own_section_and_keeps_the_others(tmp_path: Path) -> None:
    results, doc = tmp_path / "results", tmp_path / "benchmarks.md"

    def keep(name: str, section: Section, command: str, seconds: float) -> None:
        store_result(name, section, command=command, seconds=seconds, at=AT, results=results)

    keep("trust", Section("Trust report", "first trust body", [("fast", True)]), "x", 3)
    keep("bills", Section("Bill backfill", "bills body", [("cheap", False)]), "y", 1)
    keep("zz-extra", Section("Something else", "extra body"), "make other", 0)
    keep("trust", Section("Trust report", "second trust body", [("fast", True)]), "z", 2)  # a rerun
    write_document(doc, results)
    text = doc.read_text()
    assert "second trust body" in text and "first trust body" not in text
    assert text.index("## Bill backfill") < text.index("## Trust report") < text.index("## Something else")
    assert "*Measured 2026-12-06 06:00 UTC with `z` (2 s).*" in text
    assert "1 of 2 targets met. **1 failed.**" in text


@dataclass
class Figures:
    changes: Counter[str] = field(default_factory=lambda: Counter({"bill": 3, "payment voided": 1}))
    hints: int = 4
    dropped: int = 1
    duplicated: int = 1
    deliveries: int = 1200
    retried: int = 7
    parked: list[str] = field(default_factory=list)
    differences: list[tuple[str, list[str]]] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=lambda: ["INV-1"])
    xero_calls: int = 10
    clio_calls: int = 12
    xero_faults: int = 1


def test_the_chaos_section_names_its_figures_and_fails_on_a_duplicate() -> None:
    section = chaos.section(Figures(), seed=12)
    assert "4 changes, seed 12" in section.body and "3 bills, 1 payments voided" in section.body
    assert "| deliveries to the engine / retried after a fault | 1,200 / 7 |" in section.body
    assert [ok for _, ok in section.targets] == [True, False]
