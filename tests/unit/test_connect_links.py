"""Connect links, OAuth state and PKCE: pure functions, no I/O."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from clio_xero.connect.flow import cookie_of
from clio_xero.connect.links import LinkRefusal, LinkRefused, mint_link, sign, verify_link
from clio_xero.connect.providers import authorize_url, xero_auth_event_id
from clio_xero.connect.state import (
    OAuthState,
    browser_hash,
    browser_matches,
    new_browser_secret,
    new_pkce_verifier,
    pkce_challenge,
)
from clio_xero.connect.wiring import base_url_of
from clio_xero.intake.http import HttpRequest

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def refusal(token: str | None, *, key: bytes = KEY, provider: str = "xero", now: datetime = NOW) -> LinkRefusal:
    with pytest.raises(LinkRefused) as caught:
        verify_link(key, token, provider=provider, now=now)  # type: ignore[arg-type]
    return caught.value.reason


def test_a_minted_link_verifies_and_says_what_it_grants() -> None:
    token, link = mint_link(KEY, connection_id="conn-1", provider="xero", now=NOW)
    verified = verify_link(KEY, token, provider="xero", now=NOW + timedelta(minutes=29))
    assert verified == link
    assert (verified.connection_id, verified.provider) == ("conn-1", "xero")
    assert verified.expires_at == NOW + timedelta(minutes=30)


def test_each_link_has_its_own_nonce() -> None:
    first = mint_link(KEY, connection_id="c", provider="clio", now=NOW)[1]
    second = mint_link(KEY, connection_id="c", provider="clio", now=NOW)[1]
    assert first.nonce != second.nonce


def test_a_link_signed_with_another_key_is_forged() -> None:
    token, _ = mint_link(OTHER_KEY, connection_id="c", provider="xero", now=NOW)
    assert refusal(token) is LinkRefusal.FORGED


def test_changing_the_payload_breaks_the_signature() -> None:
    token, _ = mint_link(KEY, connection_id="mine", provider="xero", now=NOW)
    version, payload, mac = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["c"] = "theirs"
    claims["e"] += 86400
    altered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert refusal(f"{version}.{altered}.{mac}") is LinkRefusal.FORGED


def test_a_correctly_signed_but_invalid_payload_is_malformed() -> None:
    payload = base64.urlsafe_b64encode(b'{"c":"x"}').rstrip(b"=").decode()
    assert refusal(f"v1.{payload}.{sign(KEY, f'v1.{payload}')}") is LinkRefusal.MALFORMED


@pytest.mark.parametrize("token", ["", None])
def test_a_missing_link(token: str | None) -> None:
    assert refusal(token) is LinkRefusal.MISSING


@pytest.mark.parametrize("token", ["abc", "v2.a.b", "v1.a", "v1.a.b.c", "v1." + "a" * 2000 + ".b"])
def test_malformed_links(token: str) -> None:
    assert refusal(token) in (LinkRefusal.MALFORMED, LinkRefusal.FORGED)


def test_a_link_for_the_other_provider_is_refused() -> None:
    token, _ = mint_link(KEY, connection_id="c", provider="clio", now=NOW)
    assert refusal(token, provider="xero") is LinkRefusal.WRONG_PROVIDER


def test_a_link_expires_at_its_expiry_exactly() -> None:
    token, _ = mint_link(KEY, connection_id="c", provider="xero", now=NOW, ttl=timedelta(minutes=5))
    verify_link(KEY, token, provider="xero", now=NOW + timedelta(minutes=5) - timedelta(seconds=1))
    assert refusal(token, now=NOW + timedelta(minutes=5)) is LinkRefusal.EXPIRED


def test_every_refusal_explains_itself() -> None:
    for reason in LinkRefusal:
        assert LinkRefused(reason).explanation.endswith(".")


@pytest.mark.parametrize("ttl", [timedelta(0), timedelta(days=2)])
def test_link_lifetime_is_bounded(ttl: timedelta) -> None:
    with pytest.raises(ValueError, match="lifetime"):
        mint_link(KEY, connection_id="c", provider="xero", now=NOW, ttl=ttl)


def test_a_short_key_is_rejected() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        mint_link(b"short", connection_id="c", provider="xero", now=NOW)


# ---------------------------------------------------------------------------- state and PKCE


def test_pkce_challenge_matches_rfc_7636_appendix_b() -> None:
    assert (
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_pkce_verifiers_are_long_random_and_unreserved() -> None:
    verifiers = {new_pkce_verifier() for _ in range(20)}
    assert len(verifiers) == 20
    for v in verifiers:
        assert 43 <= len(v) <= 128
        assert set(v) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def test_browser_binding() -> None:
    secret = new_browser_secret()
    expected = browser_hash(secret)
    assert browser_matches(expected, secret)
    assert not browser_matches(expected, new_browser_secret())
    assert not browser_matches(expected, None)
    assert not browser_matches(expected, "")


def test_state_lives_until_its_expiry_and_hides_secrets() -> None:
    state = OAuthState(
        state_id="s" * 40,
        connection_id="c",
        provider="xero",
        code_verifier="verifier-value",
        browser_hash="hash-value",
        expires=int((NOW + timedelta(minutes=15)).timestamp()),
    )
    assert state.live(NOW + timedelta(minutes=14))
    assert not state.live(NOW + timedelta(minutes=15))
    assert "verifier-value" not in repr(state) and "hash-value" not in repr(state)
    assert OAuthState.model_validate_json(state.model_dump_json()) == state


def test_authorize_url_sends_pkce_only_when_given() -> None:
    with_pkce = authorize_url(
        "https://login.example/authorize", client_id="id", redirect_uri="https://api/cb", state="s", scope="a b",
        code_challenge="ch",
    )  # fmt: skip
    without = authorize_url(
        "https://clio.example/oauth/authorize", client_id="id", redirect_uri="https://api/cb", state="s", scope=None,
        code_challenge=None,
    )  # fmt: skip
    assert "code_challenge=ch" in with_pkce and "code_challenge_method=S256" in with_pkce and "scope=a+b" in with_pkce
    assert (
        "code_challenge" not in without and "scope" not in without and "redirect_uri=https%3A%2F%2Fapi%2Fcb" in without
    )


def test_xero_auth_event_id_from_the_access_token() -> None:
    def jwt(claims: dict[str, object]) -> str:
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return f"h.{body}.s"

    assert xero_auth_event_id(jwt({"authentication_event_id": "evt-1"})) == "evt-1"
    assert xero_auth_event_id(jwt({"sub": "x"})) is None
    assert xero_auth_event_id("opaque-token") is None
    assert xero_auth_event_id("a.!!!.c") is None


# ---------------------------------------------------------------------------- request helpers


def test_base_url_from_the_request() -> None:
    deployed = {"requestContext": {"domainName": "abc.execute-api.eu-west-1.amazonaws.com"}, "headers": {}}
    local = {"requestContext": {"domainName": "127.0.0.1:3000"}, "headers": {}}
    forwarded = {"requestContext": {"domainName": "api.firm.example"}, "headers": {"X-Forwarded-Proto": "https"}}
    assert base_url_of(deployed) == "https://abc.execute-api.eu-west-1.amazonaws.com"
    assert base_url_of(local) == "http://127.0.0.1:3000"
    assert base_url_of(forwarded) == "https://api.firm.example"


def test_cookie_of() -> None:
    request = HttpRequest(method="GET", path="/", body=b"", headers={"cookie": "a=1; clio_xero_connect=xyz; b=2"})
    assert cookie_of(request, "clio_xero_connect") == "xyz"
    assert cookie_of(request, "missing") is None
