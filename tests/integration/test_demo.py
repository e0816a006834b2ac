"""`make demo` end to end: both parts pass and say so."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from clio_xero_tools.demo import run_demo
from tests.conftest import TEMPLATE

pytestmark = pytest.mark.integration


def test_the_demo_passes_and_shows_a_real_sync() -> None:
    output = io.StringIO()
    assert run_demo(TEMPLATE, Console(file=output, width=160)) is True
    text = output.getvalue()
    assert "Demo passed." in text
    assert "ok Xero edit reached Clio" in text and "ok Clio edit reached Xero" in text
    assert "Console sign-in link" in text and "/console/sign-in?link=v1." in text
    assert "ok console: the sign-in link opens the status page" in text
    assert "FAILED" not in text and "UNEXPECTED" not in text
