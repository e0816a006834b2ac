"""Deterministic seed data: chart, tax, currencies, items, matching / near-matching / Xero-only contacts."""

from __future__ import annotations

import unicodedata
from typing import Any

import httpx

from clio_xero.clock import ManualClock
from clio_xero_tools.sandbox._base import wsgi_transport
from clio_xero_tools.sandbox.xero import XeroSandbox, seed_org
from clio_xero_tools.sandbox.xero.contacts import name_key

CLIO_PAIRS = [
    ("José García", "jose.garcia@example.com"),
    ("Harbour Holdings Pty Ltd", "accounts@harbour.example"),
    ("Zoë O'Brien", "zoe@obrien.example"),
    ("王伟", "wang.wei@example.cn"),
]


def seeded(**kwargs: Any) -> tuple[XeroSandbox, httpx.Client, Any]:
    sandbox = XeroSandbox(clock=ManualClock(), validate_responses=True)
    result = seed_org(sandbox, matching_contacts=CLIO_PAIRS, **kwargs)
    token = sandbox.issue_tokens()["access_token"]
    client = httpx.Client(
        transport=wsgi_transport(sandbox.wsgi_app),
        base_url="http://xero.test/api.xro/2.0/",
        headers={"Authorization": f"Bearer {token}", "xero-tenant-id": result.tenant_id},
    )
    return sandbox, client, result


def test_realistic_chart_tax_currencies_items() -> None:
    _, api, result = seeded(near_matches=4, extra_contacts=8)
    accounts = {a["Code"]: a for a in api.get("Accounts").json()["Accounts"]}
    assert accounts["200"]["Name"] == "Sales"
    assert accounts["090"]["Type"] == "BANK"
    assert accounts["092"]["Name"] == "Trust Account"
    assert accounts["205"]["Status"] == "ARCHIVED"
    assert accounts["855"]["EnablePaymentsToAccount"] is True
    assert result.bank_account_codes == ["090", "091", "092"]
    assert result.archived_account_codes == ["205"]
    assert {"090", "855"} <= set(result.payment_account_codes)
    assert {"OUTPUT", "INPUT", "EXEMPTOUTPUT", "BASEXCLUDED"} <= {
        t["TaxType"] for t in api.get("TaxRates").json()["TaxRates"]
    }
    assert len(api.get("Currencies").json()["Currencies"]) == 3
    assert "PROF" in {i["Code"] for i in api.get("Items").json()["Items"]}


def test_matching_near_and_xero_only_contacts() -> None:
    _, api, result = seeded(near_matches=8, extra_contacts=30)
    everyone = api.get("Contacts", params={"includeArchived": "true", "page": 1, "pageSize": 1000}).json()["Contacts"]
    by_id = {c["ContactID"]: c for c in everyone}
    exact = [(by_id[i]["Name"], by_id[i]["EmailAddress"]) for i in result.matching_contact_ids]
    assert exact == CLIO_PAIRS
    near = [by_id[i] for i in result.near_match_contact_ids]
    assert len(near) == 8
    exact_pairs = set(CLIO_PAIRS)
    for c in near:
        assert (c["Name"], c.get("EmailAddress")) not in exact_pairs
        plain = unicodedata.normalize("NFKD", c["Name"]).casefold()
        assert any(p[0].split()[-1][:3].casefold() in plain or p[0][:2] in c["Name"] for p in CLIO_PAIRS)
    assert any(c["ContactStatus"] == "ARCHIVED" for c in near)
    assert len(result.xero_only_contact_ids) == 30
    active = [c for c in everyone if c["ContactStatus"] == "ACTIVE"]
    assert len({name_key(c["Name"]) for c in active}) == len(active)  # the uniqueness rule holds
    invoices = api.get("Invoices", params={"page": 1}).json()["Invoices"]
    assert len(invoices) == len(result.invoice_ids) == 7
    assert any(i["Status"] == "PAID" for i in invoices)


def test_same_seed_same_data() -> None:
    def fingerprint() -> list[tuple[str, str | None, str]]:
        _, api, _ = seeded(near_matches=5, extra_contacts=25, seed=9)
        rows = api.get("Contacts", params={"includeArchived": "true"}).json()["Contacts"]
        return [(c["Name"], c.get("EmailAddress"), c["ContactStatus"]) for c in rows]

    assert fingerprint() == fingerprint()
    _, api, _ = seeded(near_matches=5, extra_contacts=25, seed=10)
    other = api.get("Contacts", params={"includeArchived": "true"}).json()["Contacts"]
    assert [c["Name"] for c in other] != [row[0] for row in fingerprint()]


def test_benchmark_sizes_seed() -> None:
    # How fast is measured by `make bench`, not asserted here.
    sandbox = XeroSandbox(clock=ManualClock())
    result = seed_org(sandbox, near_matches=200, extra_contacts=3000, invoices=300)
    assert len(result.xero_only_contact_ids) == 3000
    assert len(sandbox.org(result.tenant_id).contacts) >= 3200


def test_seed_via_admin_surface() -> None:
    sandbox = XeroSandbox(clock=ManualClock())
    with httpx.Client(transport=wsgi_transport(sandbox.wsgi_app), base_url="http://xero.test") as http:
        r = http.post(
            "/_sandbox/seed",
            json={"matching_contacts": [list(p) for p in CLIO_PAIRS], "near_matches": 2, "extra_contacts": 3},
        )
        assert r.status_code == 201
        body = r.json()
        assert len(body["matching_contact_ids"]) == 4
        orgs = http.get("/_sandbox/organisations").json()
        assert orgs[0]["organisationId"] == body["tenant_id"]
        assert orgs[0]["contacts"] == 4 + 2 + 3
