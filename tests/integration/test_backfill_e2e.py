"""Backfill through the real path: local runtime (moto on loopback) + both sandboxes over HTTP.

The Clio firm and the Xero organisation are seeded the way a firm arrives: Clio contacts with
duplicate names, a Xero org holding exact matches, near matches and contacts of its own. The
sandboxes' request logs count every API call.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from clio_xero.sync.backfill import (
    BackfillReport,
    ClioSource,
    ContactBackfill,
    Patience,
    XeroSource,
)
from clio_xero.sync.contacts.engine import ElementOutcome
from clio_xero.sync.mapping import MappingStatus
from clio_xero.sync.settings import ConnectionSettings, ContactScope
from clio_xero_tools.cli.contacts import ConnectionTools, connection_tools
from clio_xero_tools.cli.context import LocalState, StackContext
from clio_xero_tools.local.world import LocalWorld
from clio_xero_tools.sandbox.clio import domain
from clio_xero_tools.sandbox.clio.seed import seed_firm
from clio_xero_tools.sandbox.xero.seed import seed_org
from tests.integration.conftest import WorldPool

pytestmark = pytest.mark.integration
XERO_CONTACTS = "/api.xro/2.0/Contacts"


@pytest.fixture
def world(shared_world: WorldPool) -> Iterator[LocalWorld]:
    with shared_world(settings=ConnectionSettings(contact_scope=ContactScope.ALL), function_output=io.StringIO()) as w:
        firm = seed_firm(w.sandboxes.clio, contacts=40, activities=0, bills=0, seed=7)
        matching = [(name, email) for name, email in firm.contact_names[:15] if email]
        seed_org(w.sandboxes.xero, tenant_id=w.tenant_id, matching_contacts=matching, near_matches=4, extra_contacts=8)
        # A contact Xero will refuse: Clio takes any address with an "@", Xero only ASCII ones.
        # And two different people of the same name, unknown to Xero.
        with w.sandboxes.clio.store.lock:
            for data in (
                {"type": "Company", "name": "Zoë Umlaut GmbH", "email_addresses": [{"address": "zoë@exämple.test"}]},
                {
                    "type": "Person",
                    "first_name": "Hemi",
                    "last_name": "Twin",
                    "email_addresses": [{"address": "h1@a.test"}],
                },
                {
                    "type": "Person",
                    "first_name": "Hemi",
                    "last_name": "Twin",
                    "email_addresses": [{"address": "h2@b.test"}],
                },
            ):
                domain.create_contact(w.sandboxes.clio.store, data)
        w.sandboxes.clio.request_log.clear()
        w.sandboxes.xero.request_log.clear()
        yield w


@pytest.fixture
def tools(world: LocalWorld, tmp_path: Path) -> ConnectionTools:
    runtime = world.runtime
    state = tmp_path / "stack.json"
    LocalState(runtime.options.stack_name, runtime.aws_endpoint, runtime.api_url, runtime.config_path).write(state)
    return connection_tools(StackContext.resolve(local=True, state_path=state), world.connection_id)


class CrashingXero(XeroSource):
    """Dies right after Xero accepted the k-th create batch: before any of its mappings exist."""

    def __init__(self, source: XeroSource, crash_after: int) -> None:
        super().__init__(source.client, source.patience)
        self.crash_after = crash_after
        self.creates = 0

    def save_contacts(
        self, contacts: Sequence[dict[str, Any]], *, idempotency_key: str, create: bool
    ) -> Sequence[ElementOutcome]:
        results = super().save_contacts(contacts, idempotency_key=idempotency_key, create=create)
        self.creates += create
        if create and self.creates >= self.crash_after:
            raise KeyboardInterrupt
        return results


def engine(tools: ConnectionTools, *, batch_size: int = 50, crash_after: int | None = None) -> ContactBackfill:
    patience = Patience(wait=lambda seconds: pytest.fail(f"throttled for {seconds}s: the test would sleep"))
    xero = XeroSource(tools.xero, patience)
    return ContactBackfill(
        connection_id=tools.connection_id,
        clio=ClioSource(tools.clio, patience),
        xero=CrashingXero(xero, crash_after) if crash_after else xero,
        mappings=tools.mappings,
        settings=tools.settings,
        checkpoints=tools.checkpoints,
        clock=tools.clock,
        batch_size=batch_size,
    )


def xero_contacts(world: LocalWorld) -> list[dict[str, Any]]:
    store = world.sandboxes.xero.store
    with store.lock:
        org = store.orgs[world.tenant_id]
        return [{"id": c.contact_id, "number": c.contact_number, "name": c.name} for c in org.contacts.values()]


def writes(world: LocalWorld) -> tuple[int, int]:
    clio = [r for r in world.sandboxes.clio.request_log.entries() if r.method in ("POST", "PATCH", "PUT", "DELETE")]
    xero = [r for r in world.sandboxes.xero.request_log.entries() if r.method in ("POST", "PUT", "DELETE")]
    return len(clio), len(xero)


def test_dry_run_reads_and_writes_nothing(world: LocalWorld, tools: ConnectionTools) -> None:
    report = engine(tools).run(dry_run=True)
    counts = report.plan.counts()
    assert counts["link"] > 0 and counts["create"] > 0 and counts["review"] > 0
    assert writes(world) == (0, 0)
    assert tools.mappings.list(world.connection_id, "contact") == []
    assert tools.checkpoints.get(world.connection_id) is None


def test_backfill_links_creates_reviews_and_never_duplicates(world: LocalWorld, tools: ConnectionTools) -> None:
    before = {c["id"] for c in xero_contacts(world)}
    report = engine(tools).run()
    plan = report.plan.counts()
    new = plan["create"]

    # Calls: the read pages, ceil(new/50) creates, ceil(links/50) link updates (our ContactNumber, merged fields).
    xero_log = world.sandboxes.xero.request_log
    creates = xero_log.entries(method="PUT", path_prefix=XERO_CONTACTS)
    reads = xero_log.entries(method="GET", path_prefix=XERO_CONTACTS)
    assert len(creates) == report.create_calls == math.ceil(new / 50)
    assert len(reads) == 1  # one page of up to 1,000
    assert len(xero_log.entries(method="POST", path_prefix=XERO_CONTACTS)) == math.ceil(plan["link"] / 50)

    # Every Clio contact reached Xero at most once; linked ones were not created again.
    after = xero_contacts(world)
    numbers = Counter(c["number"] for c in after if c["number"] and c["number"].startswith("CLIO-"))
    assert all(n == 1 for n in numbers.values())
    assert len(after) - len(before) == report.counts["created"]
    mappings = {m.clio_id: m for m in tools.mappings.list(world.connection_id, "contact")}
    for d in report.plan.decisions:
        m = mappings[d.clio_id]
        if d.action.value == "link":
            assert m.xero_id == d.xero_id and m.xero_id in before and numbers[f"CLIO-{d.clio_id}"] == 1
        elif d.action.value == "review":
            assert m.status is MappingStatus.NEEDS_REVIEW and m.xero_id is None and m.candidates
        elif d.action.value == "create" and m.xero_id:
            assert m.xero_id not in before and m.synced is not None

    # The refused contact carries Xero's own words; nothing else failed.
    assert [e for _, e in report.errors] == ["Email address must be valid."]
    [refused] = [m for m in mappings.values() if m.status is MappingStatus.ERROR]
    assert refused.last_error == "Email address must be valid." and refused.xero_id is None

    # Same-name Clio contacts both reached Xero: one under a disambiguated name.
    assert report.counts["disambiguated"] >= 1
    twins = sorted(c["name"] for c in after if c["name"].startswith("Hemi Twin"))
    assert len(twins) == 2 and twins[0] == "Hemi Twin" and twins[1].startswith("Hemi Twin [C-")


def test_resume_after_a_crash_creates_each_contact_exactly_once(world: LocalWorld, tools: ConnectionTools) -> None:
    with pytest.raises(KeyboardInterrupt):
        engine(tools, batch_size=5, crash_after=2).run()
    checkpoint = tools.checkpoints.get(world.connection_id)
    assert checkpoint is not None and checkpoint.phase == "create" and checkpoint.last_clio_id is not None
    assert checkpoint.counts["created"] == 5  # batch 1's mappings; batch 2 reached Xero only

    report: BackfillReport = engine(tools, batch_size=5).run()
    assert report.resumed is not None and report.resumed.last_clio_id == checkpoint.last_clio_id
    assert report.plan.counts()["link"] >= 5  # batch 2's contacts, found by their ContactNumber
    numbers = Counter(c["number"] for c in xero_contacts(world) if (c["number"] or "").startswith("CLIO-"))
    in_scope = [d.clio_id for d in report.plan.decisions if d.action.value in ("create", "link", "keep")]
    assert all(numbers[f"CLIO-{i}"] <= 1 for i in in_scope) and max(numbers.values()) == 1
    done = tools.checkpoints.get(world.connection_id)
    assert done is not None and done.phase == "done"

    # A third run only retries what Xero refused (still refused, in the same words).
    world.sandboxes.xero.request_log.clear()
    world.sandboxes.clio.request_log.clear()
    again = engine(tools).run()
    assert again.plan.counts()["link"] == 0 and again.plan.counts()["create"] == 1
    assert [e for _, e in again.errors] == ["Email address must be valid."]
    assert writes(world) == (0, 1)
