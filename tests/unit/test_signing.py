"""Signing and verification: known answers and every failure mode."""

from __future__ import annotations

import base64

import pytest

from clio_xero.errors import SignatureError
from clio_xero.webhooks.signing import sign_clio, sign_xero, verify_clio, verify_xero

BODY = b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"ABC"}'
KEY = "key"
# Known answers, computed once with `openssl dgst -sha256 -hmac key` over BODY.
XERO_KNOWN = "y7DZP/qUP/FHPuIym4fDDP3uZIAXhSXNTgDCfplPWss="
CLIO_KNOWN = "cbb0d93ffa943ff1473ee2329b87c30cfdee6480178525cd4e00c27e994f5acb"


def test_known_answers() -> None:
    assert sign_xero(BODY, KEY) == XERO_KNOWN
    assert sign_clio(BODY, KEY) == CLIO_KNOWN
    assert base64.b64decode(XERO_KNOWN).hex() == CLIO_KNOWN


def test_xero_accepts_its_own_signature() -> None:
    verify_xero(BODY, sign_xero(BODY, KEY), KEY)  # raises SignatureError (failing the test) otherwise


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("not-base64!", "does not match"),
        (sign_xero(BODY, "other-key"), "does not match"),
        (sign_xero(BODY + b" ", KEY), "does not match"),
        (sign_clio(BODY, KEY), "does not match"),  # hex is not what Xero sends
    ],
)
def test_xero_rejects(signature: str | None, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify_xero(BODY, signature, KEY)


def test_xero_signature_is_over_raw_bytes_not_reserialised_json() -> None:
    reformatted = b'{"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "ABC"}'
    with pytest.raises(SignatureError):
        verify_xero(reformatted, sign_xero(BODY, KEY), KEY)


def test_clio_accepts_hex_any_case_and_base64() -> None:
    # Each call raises SignatureError (failing the test) when it does not verify.
    verify_clio(BODY, CLIO_KNOWN, KEY)
    verify_clio(BODY, CLIO_KNOWN.upper(), KEY)
    verify_clio(BODY, XERO_KNOWN, KEY)


@pytest.mark.parametrize("signature", [None, "", "00", sign_clio(BODY, "wrong"), sign_clio(b"other", KEY)])
def test_clio_rejects(signature: str | None) -> None:
    with pytest.raises(SignatureError):
        verify_clio(BODY, signature, KEY)


def test_non_ascii_signature_header_is_rejected_not_crashing() -> None:
    with pytest.raises(SignatureError):
        verify_xero(BODY, "é" * 44, KEY)
    with pytest.raises(SignatureError):
        verify_clio(BODY, "é" * 64, KEY)
