"""The worker's remembered access token (docs/cost.md "The token item") through the local runtime
and the Xero sandbox over loopback: a token another container rotated is picked up after the bound
without a refresh of our own, and at once when Xero refuses the one we hold (a 401)."""

from __future__ import annotations

import pytest

from clio_xero.clients.endpoints import XeroEndpoints
from clio_xero.clients.oauth import AuthlibRefresher, TokenManager
from clio_xero.clock import ManualClock
from clio_xero.store.tokens import DynamoTokenStore
from clio_xero.sync.mapping import MappingStatus
from clio_xero.wiring import TOKEN_RECHECK_SECONDS
from clio_xero_tools.local.world import LocalWorld
from tests.integration import test_webhooks_e2e
from tests.integration.test_ops_e2e import create_clio_contact

pytestmark = pytest.mark.integration

# The shared world on a ManualClock the test moves, as the webhook tests have it (all contacts in scope).
clock = test_webhooks_e2e.clock
world = test_webhooks_e2e.world


def token_store(world: LocalWorld, clock: ManualClock) -> DynamoTokenStore:
    runtime = world.runtime
    return DynamoTokenStore(
        runtime.physical_id("Table"),
        runtime.client("dynamodb"),
        runtime.client("kms"),
        runtime.physical_id("DataKey"),
        clock,
    )


def other_container(world: LocalWorld, clock: ManualClock) -> TokenManager:
    """Another Lambda's token manager for the connection's Xero grant: its own store and memory."""
    identity = world.sandboxes.xero.identity
    return TokenManager(
        connection_id=world.connection_id,
        provider="xero",
        store=token_store(world, clock),
        refresher=AuthlibRefresher(
            provider="xero",
            token_url=XeroEndpoints.sandbox(world.sandboxes.xero_server.url).token_url,
            client_id=identity.client_id,
            client_secret=identity.client_secret,
            clock=clock,
        ),
        clock=clock,
    )


def revoke_access_token(world: LocalWorld, access_token: str) -> None:
    """Xero stops accepting an access token before its expiry. Xero does not say that a refresh
    does this (docs/facts-xero.md#oauth); the sandbox keeps old access tokens, so the test removes
    it from the sandbox's identity by hand (the sandbox has no public switch for it)."""
    world.sandboxes.xero.identity._access.pop(access_token)


def unauthorised(world: LocalWorld) -> int:
    return len([r for r in world.sandboxes.xero.request_log.entries() if r.status == 401])


def token_calls(world: LocalWorld) -> int:
    return len(world.sandboxes.xero.request_log.entries(path_prefix="/connect/token"))


def synced(world: LocalWorld, name: str) -> None:
    record = create_clio_contact(world, name, f"accounts@{name.split(maxsplit=1)[0].lower()}.test")
    world.pump()
    mapping = world.mappings.get(world.connection_id, "contact", str(record.id))
    assert mapping is not None and mapping.status is MappingStatus.OK and mapping.xero_id, mapping


def test_a_token_rotated_by_another_container_is_picked_up(world: LocalWorld, clock: ManualClock) -> None:
    synced(world, "First Pty Ltd")  # the worker now holds version 1's access token
    store = token_store(world, clock)
    first = store.load(world.connection_id, "xero")
    assert first is not None and first.version == 1
    calls_before = token_calls(world)

    # Another container refreshes (Xero rotates the refresh token); Xero then refuses the old access token.
    other = other_container(world, clock)
    second = other.force_refresh(first.token.access_token)
    revoke_access_token(world, first.token.access_token)
    assert token_calls(world) == calls_before + 1

    # Inside the bound the worker still sends version 1: Xero answers 401, the worker re-reads
    # the item, takes version 2 and retries once, without a refresh of its own.
    synced(world, "Second Pty Ltd")
    assert unauthorised(world) == 1
    assert token_calls(world) == calls_before + 1
    stored = store.load(world.connection_id, "xero")
    assert stored is not None and stored.version == 2 and stored.token.access_token == second

    # Rotated again; past the bound the worker reads the item before its next call: no 401 at all,
    # although Xero refuses version 2 by then.
    third = other.force_refresh(second)
    revoke_access_token(world, second)
    clock.advance(TOKEN_RECHECK_SECONDS)
    synced(world, "Third Pty Ltd")
    assert unauthorised(world) == 1
    assert token_calls(world) == calls_before + 2
    stored = store.load(world.connection_id, "xero")
    assert stored is not None and stored.version == 3 and stored.token.access_token == third
