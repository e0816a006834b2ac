"""Idempotency-Key: replay, conflict, length limit, cached errors, 6-minute memory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from clio_xero.clock import ManualClock

MakeContact = Callable[..., dict[str, Any]]


def put_contact(api: httpx.Client, name: str, key: str, **params: str) -> httpx.Response:
    return api.put("Contacts", params=params, json={"Contacts": [{"Name": name}]}, headers={"Idempotency-Key": key})


def count(api: httpx.Client, name: str) -> int:
    return sum(c["Name"] == name for c in api.get("Contacts").json()["Contacts"])


def test_same_key_same_request_replays_without_creating_twice(api: httpx.Client) -> None:
    first = put_contact(api, "Once Only", "key-1")
    second = put_contact(api, "Once Only", "key-1")
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert count(api, "Once Only") == 1


def test_same_key_different_request_is_rejected(api: httpx.Client) -> None:
    put_contact(api, "First Body", "key-2")
    r = put_contact(api, "Second Body", "key-2")
    assert r.status_code == 400
    assert r.json()["Elements"][0]["ValidationErrors"][0]["Message"] == (
        "Idempotency Key: key-2 is used with a different request."
    )
    # A different URL with the same body is a different request as well.
    assert put_contact(api, "First Body", "key-2", summarizeErrors="false").status_code == 400
    assert count(api, "Second Body") == 0


def test_key_longer_than_128_characters_is_rejected(api: httpx.Client) -> None:
    assert put_contact(api, "Long Key", "k" * 128).status_code == 200
    r = put_contact(api, "Longer Key", "k" * 129)
    assert r.status_code == 400
    assert count(api, "Longer Key") == 0


def test_errors_are_cached_and_replayed(api: httpx.Client, make_contact: MakeContact) -> None:
    taken = make_contact("Taken")
    failed = put_contact(api, "Taken", "key-3")
    assert failed.status_code == 400
    # Archive the blocker: a fresh request would now succeed, but the key replays the old error.
    api.post(f"Contacts/{taken['ContactID']}", json={"Contacts": [{"ContactStatus": "ARCHIVED"}]})
    replay = put_contact(api, "Taken", "key-3")
    assert replay.status_code == 400
    assert replay.json()["Elements"] == failed.json()["Elements"]
    assert put_contact(api, "Taken", "key-3-new").status_code == 200


def test_key_is_forgotten_after_six_minutes(api: httpx.Client, clock: ManualClock) -> None:
    put_contact(api, "Retry Later", "key-4")
    clock.advance(5 * 60 + 59)
    put_contact(api, "Retry Later", "key-4")
    assert count(api, "Retry Later") == 1
    clock.advance(2)
    # Processed as new after 6 minutes: the duplicate now fails on the unique-name rule.
    assert put_contact(api, "Retry Later", "key-4").status_code == 400


def test_replays_still_count_against_rate_limits(api: httpx.Client) -> None:
    first = put_contact(api, "Counted", "key-5")
    second = put_contact(api, "Counted", "key-5")
    remaining = int(first.headers["X-MinLimit-Remaining"]) - int(second.headers["X-MinLimit-Remaining"])
    assert remaining == 1


def test_get_ignores_the_key(api: httpx.Client) -> None:
    api.put("Contacts", json={"Contacts": [{"Name": "Visible"}]})
    a = api.get("Contacts", headers={"Idempotency-Key": "key-6"})
    b = api.get("Contacts", params={"where": 'Name=="nobody"'}, headers={"Idempotency-Key": "key-6"})
    assert len(a.json()["Contacts"]) == 1
    assert b.json()["Contacts"] == []
