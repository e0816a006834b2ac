"""The vendored specs (specs/) are exact copies of the team's reference specs, when those are here."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.conftest import ROOT

VENDORED = ROOT / "specs"
REFERENCE = ROOT.parent / "shared" / "specs"
FILES = ["clio/openapi.json", "xero/xero_accounting.yaml", "xero/xero-webhooks.yaml", "xero/xero-identity.yaml"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", FILES)
def test_vendored_copy_is_present(name: str) -> None:
    assert (VENDORED / name).stat().st_size > 1000


@pytest.mark.parametrize("name", FILES)
def test_vendored_copy_matches_the_reference(name: str) -> None:
    if not REFERENCE.is_dir():
        pytest.skip("no ../shared/specs beside the repository: nothing to compare with")
    assert digest(VENDORED / name) == digest(REFERENCE / name), f"specs/{name} drifted from ../shared/specs"
