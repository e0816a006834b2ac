"""The contacts commands as an operator runs them (`--local`), against a local world.

`backfill contacts`, `contacts review`, `contacts link`, `contacts unlink` run through typer's
CliRunner in this process; the local stack is found through a state file named by
CLIO_XERO_LOCAL_STATE, as `clio-xero local up` would leave it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clio_xero.sync.mapping import MappingStatus
from clio_xero.sync.settings import ConnectionSettings, ContactScope
from clio_xero_tools.cli import app
from clio_xero_tools.cli.context import LocalState
from clio_xero_tools.local.world import LocalWorld
from clio_xero_tools.sandbox.clio.seed import seed_firm
from clio_xero_tools.sandbox.xero.contacts import contact_json
from clio_xero_tools.sandbox.xero.seed import seed_org
from tests.integration.conftest import WorldPool

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.fixture
def world(shared_world: WorldPool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalWorld]:
    with shared_world(settings=ConnectionSettings(contact_scope=ContactScope.ALL), function_output=io.StringIO()) as w:
        firm = seed_firm(w.sandboxes.clio, contacts=30, activities=0, bills=0, seed=11)
        matching = [(name, email) for name, email in firm.contact_names[:12] if email]
        seed_org(w.sandboxes.xero, tenant_id=w.tenant_id, matching_contacts=matching, near_matches=4, extra_contacts=5)
        runtime = w.runtime
        state = tmp_path / "stack.json"
        LocalState(runtime.options.stack_name, runtime.aws_endpoint, runtime.api_url, runtime.config_path).write(state)
        monkeypatch.setenv("CLIO_XERO_LOCAL_STATE", str(state))
        monkeypatch.setenv("COLUMNS", "200")
        yield w


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--local"])
    return result.exit_code, result.output


def xero_writes(world: LocalWorld) -> int:
    return len([r for r in world.sandboxes.xero.request_log.entries() if r.method in ("POST", "PUT")])


def xero_contact(world: LocalWorld, xero_id: str) -> dict[str, Any]:
    store = world.sandboxes.xero.store
    with store.lock:
        return contact_json(store.orgs[world.tenant_id].contacts[xero_id])


def test_dry_run_prints_the_plan_and_writes_nothing(world: LocalWorld) -> None:
    code, out = cli("backfill", "contacts", "--dry-run")
    assert code == 0, out
    assert "Plan:" in out and "link" in out and "create" in out
    code, out = cli("backfill", "contacts", "--dry-run", "--json")
    plan = json.loads(out)
    assert code == 0 and plan["counts"]["create"] > 0 and len(plan["decisions"]) == 30
    assert xero_writes(world) == 0 and world.mappings.list(world.connection_id, "contact") == []


def test_backfill_then_review_link_and_unlink(world: LocalWorld) -> None:
    code, out = cli("backfill", "contacts")
    assert code == 1, out  # some contacts need a person
    assert "Linked" in out and "contacts review" in out

    code, out = cli("contacts", "review", "--json")
    waiting = json.loads(out)
    assert code == 1 and waiting
    item = waiting[0]
    candidate = item["candidates"][0]
    assert item["reason"] and candidate["contact"]  # "Name <email>" read from Xero
    clio_id, xero_id = item["clio_id"], candidate["xero_id"]
    code, out = cli("contacts", "review")
    assert code == 1 and clio_id in out and "contacts link" in out

    code, out = cli("contacts", "link", clio_id, xero_id)
    assert code == 0, out
    assert f"Linked Clio {clio_id}" in out
    mapping = world.mappings.get(world.connection_id, "contact", clio_id)
    assert mapping is not None and mapping.xero_id == xero_id and mapping.status is MappingStatus.OK
    assert mapping.synced is not None  # the sync ran and recorded the base
    assert xero_contact(world, xero_id)["ContactNumber"] == f"CLIO-{clio_id}"

    # The same Xero contact cannot be linked to a second Clio contact.
    other = next(m for m in world.mappings.list(world.connection_id, "contact") if m.xero_id and m.clio_id != clio_id)
    code, out = cli("contacts", "link", other.clio_id, xero_id)
    assert code == 1 and f"is linked to Xero contact {other.xero_id}" in out
    unlinked_clio = next(w["clio_id"] for w in waiting[1:]) if len(waiting) > 1 else None
    if unlinked_clio:
        code, out = cli("contacts", "link", unlinked_clio, xero_id)
        assert code == 1 and f"is linked to Clio contact {clio_id}" in out

    before = xero_contact(world, xero_id)
    writes = xero_writes(world)
    code, out = cli("contacts", "unlink", clio_id)
    assert code == 0, out
    mapping = world.mappings.get(world.connection_id, "contact", clio_id)
    assert mapping is not None and mapping.xero_id is None and mapping.status is MappingStatus.NEEDS_REVIEW
    assert mapping.candidates == [xero_id]
    assert world.mappings.clio_id_for(world.connection_id, "contact", xero_id) is None
    assert xero_contact(world, xero_id) == before and xero_writes(world) == writes  # data untouched

    code, out = cli("contacts", "unlink", clio_id)
    assert code == 1 and "is not linked" in out


def test_errors_are_clear(world: LocalWorld) -> None:
    code, out = cli("contacts", "link", "abc", "x")
    assert code == 2 and "not a Clio id" in out
    code, out = cli("contacts", "link", "99999999", "00000000-0000-0000-0000-000000000000")
    assert code == 1 and "does not exist" in out
    result = runner.invoke(app, ["contacts", "review", "--local", "--connection", "nope"])
    assert result.exit_code == 3 and "nope" in result.output


def test_conflicts_lists_fields_both_sides_changed(world: LocalWorld) -> None:
    record = world.sandboxes.clio.act_create(
        "contacts", {"type": "Company", "name": "Both Sides Ltd", "is_client": True}
    )
    world.pump()
    mapping = world.mappings.get(world.connection_id, "contact", str(record.id))
    assert mapping is not None and mapping.xero_id
    assert cli("contacts", "conflicts") == (0, "No conflicts recorded.\n")
    world.sandboxes.clio.act_update("contacts", record, {"sales_tax_number": "FROM-CLIO"})
    world.sandboxes.xero.admin.update_contact(world.tenant_id, mapping.xero_id, {"TaxNumber": "FROM-XERO"})
    world.pump()
    code, output = cli("contacts", "conflicts", "--json")
    assert code == 0
    [conflict] = json.loads(output)
    assert (conflict["clio_id"], conflict["field"], conflict["clio_value"], conflict["xero_value"]) == (
        str(record.id),
        "tax_number",
        "FROM-CLIO",
        "FROM-XERO",
    )
    assert conflict["winner"] in ("clio", "xero") and conflict["reason"]
    code, output = cli("contacts", "conflicts")
    assert code == 0 and "tax_number" in output and "FROM-XERO" in output
