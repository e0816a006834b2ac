"""ClioClient and the Clio OAuth pieces against the Clio sandbox, in-process."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from clio_xero.clients import CONTACT_FIELDS, InMemoryRateBudget, PreconditionFailedError, UnlimitedBudget
from clio_xero.clock import ManualClock
from clio_xero.errors import NotFoundError, ThrottledError, ValidationFailedError
from clio_xero_tools.sandbox.clio import seed_firm
from tests.clients.conftest import ClioWorld, make_clio_world


def person(first: str, last: str, email: str | None = None) -> dict[str, object]:
    data: dict[str, object] = {"type": "Person", "first_name": first, "last_name": last}
    if email:
        data["email_addresses"] = [{"address": email, "name": "Work", "primary": True}]
    return data


def test_contact_fields_are_all_valid(clio: ClioWorld) -> None:
    client = clio.client()
    created = client.create_contact(person("Ada", "Lovelace", "ada@example.com"))
    # Every requested field comes back (the sandbox answers 400 on any unknown field).
    top = set(re.sub(r"\{[^}]*\}", "", CONTACT_FIELDS).split(","))
    assert len(top) == 18 and top == set(created)
    assert created["email_addresses"][0]["address"] == "ada@example.com"
    assert created["currency"] is None or set(created["currency"]) == {"id", "code"}


def test_contact_crud_with_etags(clio: ClioWorld) -> None:
    client = clio.client()
    created = client.create_contact(person("Ada", "Lovelace"))
    cid = created["id"]
    fetched = client.get_contact(cid)
    assert fetched is not None and fetched["name"] == "Ada Lovelace" and fetched["etag"] == created["etag"]
    updated = client.update_contact(cid, {"title": "Countess"}, etag=created["etag"])
    assert updated["title"] == "Countess" and updated["etag"] != created["etag"]
    with pytest.raises(PreconditionFailedError):  # someone changed it since we read it
        client.update_contact(cid, {"title": "Stale"}, etag=created["etag"])
    assert client.get_contact(cid)["title"] == "Countess"  # type: ignore[index]
    assert client.update_contact(cid, {"title": "Dr"}, etag=None)["title"] == "Dr"
    client.delete_contact(cid)
    assert client.get_contact(cid) is None
    with pytest.raises(NotFoundError):
        client.delete_contact(cid)


def test_validation_text_is_kept(clio: ClioWorld) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        clio.client().create_contact({"type": "Person", "first_name": "", "last_name": ""})
    assert caught.value.provider_messages and caught.value.provider_messages[0]
    assert caught.value.message.endswith(caught.value.provider_messages[0])


def test_cursor_paging_over_200(clio: ClioWorld, clock: ManualClock) -> None:
    seed_firm(clio.sandbox, contacts=450, activities=0, bills=0, seed=1)
    client = clio.client(budget=UnlimitedBudget())
    rows = list(client.iter_contacts())
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) == len(clio.sandbox.store.all("contacts"))
    assert ids == sorted(ids) and len(ids) > 400
    assert client.calls == -(-len(ids) // 200)
    # updated_since narrows to what changed
    clock.advance(60)
    cursor = clock.now()
    clock.advance(60)
    client.update_contact(ids[5], {"title": "Changed"}, etag=None)
    assert [r["id"] for r in client.iter_contacts(updated_since=cursor)] == [ids[5]]


def test_who_am_i(clio: ClioWorld) -> None:
    me = clio.client().who_am_i()
    assert me["id"] == clio.sandbox.default_user_id


def test_sandbox_429_is_throttled_with_retry_after(clock: ManualClock) -> None:
    world = make_clio_world(clock, rate_limit_per_minute=3)
    unlimited = world.client(budget=UnlimitedBudget())
    for _ in range(3):
        unlimited.who_am_i()
    with pytest.raises(ThrottledError) as caught:
        unlimited.who_am_i()
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 60


def test_remaining_zero_blocks_the_budget_before_a_429(clock: ManualClock) -> None:
    world = make_clio_world(clock, rate_limit_per_minute=3)
    client = world.client(budget=InMemoryRateBudget(clock))
    for _ in range(3):
        client.who_am_i()  # the third answer says X-RateLimit-Remaining: 0
    with pytest.raises(ThrottledError):
        client.who_am_i()
    assert client.calls == 3  # no call was spent on a 429
    assert all(e.status == 200 for e in world.sandbox.request_log.entries())
    clock.advance(61)
    assert client.who_am_i()


def test_expiry_mid_run_refreshes_and_keeps_the_refresh_token(clock: ManualClock) -> None:
    world = make_clio_world(clock, access_token_ttl=600)
    seed_firm(world.sandbox, contacts=250, activities=0, bills=0, seed=2)
    before = world.store.load("conn-c", "clio")
    assert before is not None
    client = world.client(budget=UnlimitedBudget())
    count = 0
    for _ in client.iter_contacts(page_size=100):
        count += 1
        if count == 100:
            clock.advance(601)  # the next page needs a new token
    assert count == len(world.sandbox.store.all("contacts"))
    after = world.store.load("conn-c", "clio")
    assert after is not None and after.version == 2
    assert after.token.access_token != before.token.access_token
    assert after.token.refresh_token == before.token.refresh_token  # Clio does not rotate
    assert len(world.sandbox.request_log.entries(path_prefix="/oauth/token")) == 1


def test_revoked_grant_needs_reconnect(clio: ClioWorld, clock: ManualClock) -> None:
    from clio_xero.errors import NeedsReconnectError

    calls: list[tuple[str, str]] = []
    client = clio.client(manager=clio.manager(on_reconnect_needed=lambda c, p: calls.append((c, p))))
    stored = clio.store.load("conn-c", "clio")
    assert stored is not None
    # The user disconnects: the grant (refresh token included) is revoked.
    httpx.Client(transport=clio.transport).post(
        clio.endpoints.deauthorize_url, headers={"Authorization": f"Bearer {stored.token.access_token}"}
    ).raise_for_status()
    with pytest.raises(NeedsReconnectError, match="Clio connection needs reconnecting"):
        client.who_am_i()
    assert calls == [("conn-c", "clio")]


def test_refresh_sends_client_credentials_in_the_form(clio: ClioWorld, clock: ManualClock) -> None:
    stored = clio.store.load("conn-c", "clio")
    assert stored is not None and stored.token.refresh_token
    fresh = clio.refresher().refresh(stored.token.refresh_token)
    assert fresh.refresh_token == stored.token.refresh_token
    assert fresh.expires_at == clock.now() + timedelta(days=30)
