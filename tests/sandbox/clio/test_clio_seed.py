"""The seeded firm: sizes, variety, determinism, and a schema sweep over every resource."""

from __future__ import annotations

import unicodedata
from typing import Any

import httpx
import pytest

from clio_xero_tools.sandbox.clio import ClioSandbox, FirmSeed, seed_firm
from clio_xero_tools.sandbox.clio.app import OPS
from clio_xero_tools.sandbox.clio.resources import REGISTRY

from .conftest import client_for


@pytest.fixture
def seeded(sandbox: ClioSandbox) -> tuple[ClioSandbox, FirmSeed]:
    return sandbox, seed_firm(sandbox)


def test_default_sizes(seeded: tuple[ClioSandbox, FirmSeed]) -> None:
    sb, seed = seeded
    assert (len(seed.contacts), len(seed.activities), len(seed.bills)) == (200, 500, 60)
    assert seed.trust is not None
    # the trust recipe adds its own 4 clients and 4 bills (2 revenue bills, 2 trust requests)
    assert sb.store.count("contacts") == 200 + len(seed.trust.clients) == 204
    assert sb.store.count("bills") == 60 + len(seed.trust.bills) == 64
    assert len(seed.matters) == 100
    assert seed.credit_memos
    assert seed.interest_charges
    assert seed.allocations


def test_bills_in_every_state(seeded: tuple[ClioSandbox, FirmSeed]) -> None:
    sb, seed = seeded
    states = {str(b.attrs["state"]) for b in sb.store.all("bills")}
    assert states == {"draft", "awaiting_approval", "awaiting_payment", "paid", "void", "deleted"}
    assert set(seed.bills_by_state) == states


def test_contacts_are_messy_like_real_ones(seeded: tuple[ClioSandbox, FirmSeed]) -> None:
    _sb, seed = seeded
    names = [n for n, _ in seed.contact_names]
    assert len(names) - len(set(names)) >= 5  # duplicate names
    assert any(
        any(unicodedata.category(ch) == "Mn" or (ord(ch) > 127 and ch.isalpha() and ch.isascii() is False) for ch in n)
        for n in names
    )
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in n) for n in names)  # CJK
    assert any(any("\u0400" <= ch <= "\u04ff" for ch in n) for n in names)  # Cyrillic
    assert max(len(n) for n in names) > 120  # very long
    emails = [e for _, e in seed.contact_names]
    assert None in emails
    assert sum(e is not None for e in emails) > 100


def test_contacts_have_several_emails_phones_addresses(seeded: tuple[ClioSandbox, FirmSeed]) -> None:
    sb, _seed = seeded
    contacts = sb.store.all("contacts")
    for kind in ("email_addresses", "phone_numbers", "addresses"):
        assert max(len(c.link_ids(kind)) for c in contacts) >= 2, kind
        assert min(len(c.link_ids(kind)) for c in contacts) == 0, kind


def test_trust_account_has_transactions(seeded: tuple[ClioSandbox, FirmSeed]) -> None:
    sb, seed = seeded
    trust = [t for t in sb.store.all("bank_transactions") if t.link_id("bank_account") == seed.trust_account]
    assert len(trust) >= 10
    assert any(t.attrs["amount"] < 0 for t in trust)
    paid_from_trust = [a for a in sb.store.all("allocations") if a.link_id("source_bank_account") == seed.trust_account]
    assert paid_from_trust


def test_same_seed_same_firm_other_seed_other_firm(make_sandbox: Any) -> None:
    a = seed_firm(make_sandbox(), contacts=40, activities=80, bills=12, seed=5)
    b = seed_firm(make_sandbox(), contacts=40, activities=80, bills=12, seed=5)
    c = seed_firm(make_sandbox(), contacts=40, activities=80, bills=12, seed=6)
    assert a == b
    assert a.contact_names != c.contact_names


def test_sizes_are_parameters(make_sandbox: Any) -> None:
    seed = seed_firm(make_sandbox(), contacts=1000, activities=2000, bills=150, seed=1)
    assert (len(seed.contacts), len(seed.activities), len(seed.bills)) == (1000, 2000, 150)


def test_seeding_does_not_fire_webhooks(make_sandbox: Any, receiver: Any) -> None:
    sb: ClioSandbox = make_sandbox()
    sb.hub.create({"url": "https://hooks.example/x", "model": "contact", "fields": "id"}, user_id=sb.default_user_id)
    sb.deliver_due_webhooks()
    seed_firm(sb, contacts=10, activities=10, bills=2)
    assert sb.deliver_due_webhooks() == 0


def test_admin_seed_endpoint(sandbox: ClioSandbox, admin: httpx.Client) -> None:
    r = admin.post("/_sandbox/seed", json={"contacts": 30, "activities": 60, "bills": 12, "seed": 2})
    body = r.json()
    assert r.status_code == 201
    assert body["counts"]["contacts"] == 30
    assert body["counts"]["bills"] == 12
    assert len(body["contact_names"]) == 30
    assert set(body["bills_by_state"]) >= {"draft", "paid"}


def test_every_field_of_every_resource_validates_against_the_spec(make_sandbox: Any) -> None:
    """The fidelity sweep: every modelled field (and every relation, nested with all its fields)
    of every listable resource, across the whole seeded firm, through the validator."""
    sb: ClioSandbox = make_sandbox(rate_limit_per_minute=10_000)
    seed_firm(sb)
    with client_for(sb, str(sb.issue_token()["access_token"])) as api:
        for res, ops in OPS.items():
            if "list" not in ops:
                continue
            rdef = REGISTRY[res]
            parts = [*rdef.scalars, *rdef.embedded]
            parts += [f"{rel}{{{','.join(REGISTRY[t].scalars)}}}" for rel, t in rdef.relations.items()]
            url: str | None = f"/api/v4/{res}.json?fields={','.join(parts)}"
            pages = 0
            while url:
                r = api.get(url)
                assert r.status_code == 200, (res, r.text)
                url = r.json()["meta"]["paging"].get("next")
                pages += 1
            assert pages >= 1
            for rec in sb.store.all(res)[:3]:
                one = api.get(f"/api/v4/{res}/{rec.id}.json", params={"fields": ",".join(parts)})
                assert one.status_code in (200, 404), res
        me = api.get("/api/v4/users/who_am_i.json", params={"fields": ",".join(REGISTRY["users"].scalars)})
        settings = api.get(
            "/api/v4/settings/billing.json", params={"fields": ",".join(REGISTRY["billing_settings"].scalars)}
        )
        assert me.status_code == settings.status_code == 200
    assert sb.schema_violations == []
