"""``POST /_sandbox/seed`` with ``trust_recipe``: the recipe alone, or none, as asked."""

from __future__ import annotations

import httpx


def test_the_admin_seed_adds_the_trust_recipe_alone_when_asked(admin: httpx.Client) -> None:
    refused = admin.post("/_sandbox/seed", json={"bills": 0, "trust_recipe": "yes"})
    assert refused.status_code == 400 and "trust_recipe must be true or false" in refused.text
    seeded = admin.post("/_sandbox/seed", json={"contacts": 0, "activities": 0, "bills": 0, "trust_recipe": True})
    assert seeded.status_code == 201, seeded.text
    recipe = admin.get("/_sandbox/seed").json()["trust_recipe"]
    assert sorted(recipe["matters"]) == ["M1", "M2", "M3", "M4", "M5", "M6"]
    assert len(recipe["bank_transactions"]) == 12  # the recipe's trust transactions (docs/sandbox-clio.md)
    assert recipe["expected"]["matter_ledgers"]["M5"] == "-250.00"


def test_no_recipe_without_bills_unless_asked(admin: httpx.Client) -> None:
    seeded = admin.post("/_sandbox/seed", json={"contacts": 0, "activities": 0, "bills": 0})
    assert seeded.status_code == 201, seeded.text
    assert seeded.json()["trust_recipe"] is None
