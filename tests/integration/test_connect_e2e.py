"""Connecting through the real path: `clio-xero connect` → signed links → the local API's Connect
function → the sandboxes' consent screens (auto-approved) → callbacks → encrypted tokens.

A browser is an httpx client following redirects with a cookie jar. The whole system shares one
ManualClock (sandboxes, hosted functions, the CLI), so "the link expired" is a clock move.
"""

from __future__ import annotations

import io
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from clio_xero.clients.tokens import DynamoTokenStore
from clio_xero.clock import ManualClock
from clio_xero.store.connections import Connection, ConnectionStatus, DynamoConnectionStore
from clio_xero.sync.settings import ContactScope
from clio_xero_tools.cli import app
from clio_xero_tools.cli.context import LocalState
from clio_xero_tools.local.world import LocalWorld, local_world
from tests.integration.conftest import WorldPool

pytestmark = pytest.mark.integration

runner = CliRunner()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def world(shared_world: WorldPool, clock: ManualClock) -> Iterator[LocalWorld]:
    with shared_world(function_output=io.StringIO(), clock=clock) as w:
        yield w


def browser() -> httpx.Client:
    return httpx.Client(follow_redirects=True, timeout=10)


def connections(world: LocalWorld) -> DynamoConnectionStore:
    return DynamoConnectionStore(world.runtime.physical_id("Table"), world.runtime.client("dynamodb"))


def connection(world: LocalWorld, connection_id: str) -> Connection:
    found = connections(world).get(connection_id)
    assert found is not None
    return found


def tokens(world: LocalWorld, clock: ManualClock) -> DynamoTokenStore:
    rt = world.runtime
    return DynamoTokenStore(
        rt.physical_id("Table"), rt.client("dynamodb"), rt.client("kms"), rt.physical_id("DataKey"), clock
    )


def new_connection(cli: Any, *extra: str) -> dict[str, Any]:
    code, out = cli("connect", "--name", "Smith & Co", "--json", *extra)
    assert code == 0, out
    return dict(out)


def tamper(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    token = urllib.parse.parse_qs(parts.query)["link"][0]
    version, payload, mac = token.split(".")
    claims = json.loads(urllib.parse.unquote(_unb64(payload)))
    claims["c"] = "someone-elses-connection"
    forged = ".".join([version, _b64(json.dumps(claims, separators=(",", ":"))), mac])
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode({"link": forged})))


def _b64(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def _unb64(text: str) -> str:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


# ---------------------------------------------------------------------------- the journey


def test_connect_both_sides_through_the_signed_links(world: LocalWorld, cli: Any, clock: ManualClock) -> None:
    created = new_connection(cli, "--clio-region", "au")
    cid = created["connection_id"]
    assert connection(world, cid).status is ConnectionStatus.PENDING
    assert set(created["links"]) == {"clio", "xero"}

    with browser() as b:
        clio_page = b.get(created["links"]["clio"])
        assert clio_page.status_code == 200, clio_page.text
        assert "Clio is connected as" in clio_page.text
        assert "Next: connect Xero" in clio_page.text
        # Clio documents no PKCE: nothing is sent; the consent URL carries our signed state only.
        clio_authorize = str(clio_page.history[1].url)
        assert "code_challenge" not in clio_authorize and "state=" in clio_authorize
        assert connection(world, cid).status is ConnectionStatus.PENDING

        xero_page = b.get(created["links"]["xero"])
    assert xero_page.status_code == 200, xero_page.text
    assert "Xero is connected to Local Firm Pty Ltd" in xero_page.text
    assert "the connection is active" in xero_page.text
    xero_authorize = urllib.parse.parse_qs(urllib.parse.urlsplit(str(xero_page.history[1].url)).query)
    assert xero_authorize["code_challenge_method"] == ["S256"] and len(xero_authorize["code_challenge"][0]) == 43
    assert "offline_access" in xero_authorize["scope"][0]

    done = connection(world, cid)
    assert done.status is ConnectionStatus.ACTIVE
    assert done.clio_region.value == "au"
    assert done.clio_user_id == world.sandboxes.clio.default_user_id and done.clio_user_name
    assert done.xero_tenant_id == world.tenant_id and done.xero_tenant_name == "Local Firm Pty Ltd"
    assert done.xero_connection_id
    # The Xero receiver finds the new connection by its tenant (gsi1 maintained).
    assert cid in {c.connection_id for c in connections(world).find_by_xero_tenant(world.tenant_id)}
    store = tokens(world, clock)
    for provider in ("clio", "xero"):
        stored = store.load(cid, provider)
        assert stored is not None and stored.version == 1
    # Stored encrypted: the raw item holds no token text.
    raw = world.runtime.client("dynamodb").get_item(
        TableName=world.runtime.physical_id("Table"), Key={"pk": {"S": f"CONN#{cid}"}, "sk": {"S": "TOKEN#xero"}}
    )["Item"]
    xero_token = store.load(cid, "xero")
    assert (
        xero_token is not None and xero_token.token.access_token.encode() not in json.dumps(raw, default=str).encode()
    )


def test_forged_link_is_refused_and_starts_nothing(world: LocalWorld, cli: Any) -> None:
    created = new_connection(cli)
    before = len(world.sandboxes.xero.identity.all_connections())
    with browser() as b:
        answer = b.get(tamper(created["links"]["xero"]))
        wrong_provider = b.get(created["links"]["clio"].replace("/connect/clio?", "/connect/xero?"))
        missing = b.get(f"{world.runtime.api_url}/connect/clio")
    assert answer.status_code == 403 and "not issued by this installation" in answer.text
    assert not answer.history  # no redirect to the provider
    assert wrong_provider.status_code == 403 and "for the other provider" in wrong_provider.text
    assert missing.status_code == 403 and "needs a connect link" in missing.text
    assert len(world.sandboxes.xero.identity.all_connections()) == before
    assert connection(world, created["connection_id"]).status is ConnectionStatus.PENDING


def test_expired_link_is_refused(world: LocalWorld, cli: Any, clock: ManualClock) -> None:
    created = new_connection(cli, "--minutes", "30")
    clock.advance(30 * 60 + 1)
    with browser() as b:
        answer = b.get(created["links"]["clio"])
    assert answer.status_code == 403 and "has expired" in answer.text and not answer.history


def test_reused_link_is_refused(world: LocalWorld, cli: Any) -> None:
    created = new_connection(cli)
    with browser() as b:
        assert b.get(created["links"]["clio"]).status_code == 200
        again = b.get(created["links"]["clio"])
    assert again.status_code == 403 and "already been used" in again.text and not again.history


def test_state_is_single_use_and_bound_to_the_browser(world: LocalWorld, cli: Any) -> None:
    created = new_connection(cli)
    with httpx.Client(follow_redirects=False, timeout=10) as b:
        start = b.get(created["links"]["xero"])
        assert start.status_code == 302
        consent = httpx.get(start.headers["location"], follow_redirects=False, timeout=10)
        callback = consent.headers["location"]
        stranger = httpx.get(callback, timeout=10)  # another browser: no cookie
        replay = b.get(callback)  # the state was spent by the first try
    assert stranger.status_code == 403 and "different browser" in stranger.text
    assert replay.status_code == 400 and "cannot be completed" in replay.text
    assert tokens_missing(world, created["connection_id"], "xero")


def tokens_missing(world: LocalWorld, cid: str, provider: str) -> bool:
    item = world.runtime.client("dynamodb").get_item(
        TableName=world.runtime.physical_id("Table"), Key={"pk": {"S": f"CONN#{cid}"}, "sk": {"S": f"TOKEN#{provider}"}}
    )
    return "Item" not in item


def test_several_xero_organisations_offer_a_choice(world: LocalWorld, cli: Any) -> None:
    second = world.sandboxes.xero.create_organisation("Second Practice Ltd")
    created = new_connection(cli)
    with browser() as b:
        choice = b.get(created["links"]["xero"])
        assert choice.status_code == 200 and "Choose the Xero organisation" in choice.text
        assert "Second Practice Ltd" in choice.text and "Local Firm Pty Ltd" in choice.text
        href = next(
            urllib.parse.unquote(h.split('"')[0]).replace("&amp;", "&")
            for h in choice.text.split('href="')[1:]
            if second.organisation_id in h
        )
        picked = b.get(f"{world.runtime.api_url}{href}")
        again = b.get(f"{world.runtime.api_url}{href}")
    assert picked.status_code == 200 and "Xero is connected to Second Practice Ltd" in picked.text
    assert again.status_code == 400  # the choice is single use too
    done = connection(world, created["connection_id"])
    assert done.xero_tenant_id == second.organisation_id
    assert done.status is ConnectionStatus.PENDING  # Clio not connected yet


# ---------------------------------------------------------------------------- disconnect and reconnect


def test_disconnect_revokes_both_sides_and_keeps_mappings(world: LocalWorld, cli: Any, clock: ManualClock) -> None:
    cid = world.connection_id
    record = world.sandboxes.clio.act_create("contacts", {"type": "Person", "first_name": "Ada", "last_name": "Byron"})
    world.settings(contact_scope=ContactScope.ALL)
    world.pump()
    assert world.mappings.get(cid, "contact", str(record.id)) is not None

    code, report = cli("disconnect", "--connection", cid, "--yes", "--json")

    assert code == 0, report
    assert any("Xero organisation" in line and "disconnected" in line for line in report["done"])
    assert "Clio access revoked" in report["done"]
    assert not [c for c in world.sandboxes.xero.identity.all_connections() if c.tenant_id == world.tenant_id]
    with world.clio_api() as clio:
        assert clio.get("/users/who_am_i.json").status_code == 401  # the grant is gone
    assert tokens_missing(world, cid, "clio") and tokens_missing(world, cid, "xero")
    assert connection(world, cid).status is ConnectionStatus.DISCONNECTED
    assert world.mappings.get(cid, "contact", str(record.id)) is not None  # kept for a reconnect


def test_disconnect_purge_deletes_mappings(world: LocalWorld, cli: Any) -> None:
    cid = world.connection_id
    record = world.sandboxes.clio.act_create("contacts", {"type": "Person", "first_name": "Eve", "last_name": "Lin"})
    world.settings(contact_scope=ContactScope.ALL)
    world.pump()
    assert world.mappings.get(cid, "contact", str(record.id)) is not None

    code, report = cli("disconnect", "--connection", cid, "--purge", "--yes", "--json")

    assert code == 0, report
    assert report["mappings_deleted"] >= 2  # the mapping and its reverse index
    assert world.mappings.list(cid, "contact") == []


def test_tenant_disconnected_in_xero_shows_needs_reconnect_then_reconnect(
    world: LocalWorld, cli: Any, clock: ManualClock
) -> None:
    world.sandboxes.xero.identity.disconnect_tenant(world.tenant_id)  # a user does it inside Xero
    clock.advance(24 * 3600)
    assert world.runtime.scheduler.run_due() >= 1  # the daily renewal/health run

    broken = connection(world, world.connection_id)
    assert broken.status is ConnectionStatus.NEEDS_RECONNECT
    assert "disconnected from this app in Xero" in (broken.status_reason or "")
    code, status = cli("webhooks", "status", "--json")
    assert code == 1
    assert status["clio_webhooks"][0]["connection_status"] == "needs_reconnect"

    code, links = cli("connect", "--connection", world.connection_id, "--json")
    assert code == 0
    with browser() as b:
        page = b.get(links["links"]["xero"])
    assert page.status_code == 200 and "the connection is active" in page.text, page.text
    fixed = connection(world, world.connection_id)
    assert fixed.status is ConnectionStatus.ACTIVE and fixed.xero_tenant_id == world.tenant_id
    stored = tokens(world, clock).load(world.connection_id, "xero")
    assert stored is not None and stored.version >= 2  # saved over the old grant, conditionally


def test_no_link_code_or_token_in_function_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    output = io.StringIO()
    with local_world(function_output=output, clock=ManualClock()) as w:
        rt = w.runtime
        state = tmp_path / "stack.json"
        LocalState(rt.options.stack_name, rt.aws_endpoint, rt.api_url, rt.config_path).write(state)
        monkeypatch.setenv("CLIO_XERO_LOCAL_STATE", str(state))
        result = runner.invoke(app, ["connect", "--json", "--local"])
        links = json.loads(result.stdout)["links"]
        with browser() as b:
            pages = [b.get(links["clio"]), b.get(links["xero"]), b.get(tamper(links["xero"]))]
        stored = tokens(w, ManualClock()).load(json.loads(result.stdout)["connection_id"], "xero")
    assert [p.status_code for p in pages] == [200, 200, 403]
    logs = output.getvalue()
    assert "connect started" in logs and "connect link refused" in logs  # the function did log
    secrets = [urllib.parse.parse_qs(urllib.parse.urlsplit(u).query)["link"][0] for u in links.values()]
    for page in pages[:2]:
        callback = urllib.parse.parse_qs(urllib.parse.urlsplit(str(page.url)).query)
        secrets += [callback["code"][0], callback["state"][0]]
    assert stored is not None
    secrets += [stored.token.access_token, stored.token.refresh_token or "-"]
    for secret in secrets:
        assert secret.split(".")[-1] not in logs
