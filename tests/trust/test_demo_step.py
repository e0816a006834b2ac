"""`make demo` part 3 prints a balanced and an unbalanced trust report."""

from __future__ import annotations

import io

from rich.console import Console

from clio_xero_tools.demo import run_trust_demo


def test_the_demo_prints_a_balanced_and_an_unbalanced_report() -> None:
    buffer = io.StringIO()
    assert run_trust_demo(Console(file=buffer, width=140)) is True
    text = buffer.getvalue()
    assert text.count("Trust reconciliation Archer & Co (sample)") == 2
    assert "BALANCED" in text and "OUT OF BALANCE" in text
    assert "Adjusted bank - book                        -525.00" in text
    assert "ACCOUNT FEE" in text and "Dave Dunn" in text
