"""Data access against moto's DynamoDB and, when Java is present, DynamoDB Local (AWS's own jar).

The table is created from template.yaml's definition. KMS comes from the moto server in both
cases. When DynamoDB Local cannot run, its half is skipped with the reason in the report header
and the skip message.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from clio_xero.clock import ManualClock
from clio_xero.errors import ConfigurationError, SyncError
from clio_xero.store.connections import Connection, DynamoConnectionStore
from clio_xero.store.webhook_secrets import PENDING_TTL, KmsDynamoWebhookSecrets
from clio_xero_tools.local.cfn_yaml import load_template
from clio_xero_tools.local.moto_server import AtomicMotoServer
from clio_xero_tools.local.stack import create_table_args
from clio_xero_tools.local.template import SamTemplate
from tests.conftest import ROOT, TEMPLATE, java_and_jar

pytestmark = pytest.mark.integration


def aws_client(service: str, endpoint: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        region_name="us-east-1",
    )


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = AtomicMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module", params=["moto", "dynamodb-local"])
def dynamodb_endpoint(request: pytest.FixtureRequest, moto_endpoint: str) -> Iterator[str]:
    if request.param == "moto":
        yield moto_endpoint
        return
    reason = java_and_jar()
    if reason is not None:
        pytest.skip(f"DynamoDB Local tests skipped: {reason}")
    from clio_xero_tools.local.dynamodb_local import DynamoDBLocal, ensure_installed

    local = DynamoDBLocal(ensure_installed())
    try:
        yield local.endpoint
    finally:
        local.stop()


@pytest.fixture
def table(dynamodb_endpoint: str) -> tuple[Any, str]:
    ddb = aws_client("dynamodb", dynamodb_endpoint)
    template = SamTemplate.from_dict(load_template(TEMPLATE), ROOT)
    name = f"t-{uuid.uuid4().hex[:8]}"
    ddb.create_table(**create_table_args(template, "Table", name))
    return ddb, name


@pytest.fixture
def kms(moto_endpoint: str) -> tuple[Any, str]:
    client = aws_client("kms", moto_endpoint)
    return client, client.create_key()["KeyMetadata"]["Arn"]


def connection(cid: str, tenant: str | None = None) -> Connection:
    return Connection(connection_id=cid, xero_tenant_id=tenant, created_at=datetime(2026, 1, 1, tzinfo=UTC))


def test_connections_round_trip_and_tenant_index(table: tuple[Any, str]) -> None:
    ddb, name = table
    store = DynamoConnectionStore(name, ddb)
    store.put_new(connection("a", "TENANT-1"))
    store.put_new(connection("b", "tenant-1"))
    store.put_new(connection("c"))
    assert store.get("a") == connection("a", "TENANT-1")
    assert store.get("missing") is None
    assert store.get("../../etc") is None  # not even a valid key: never reaches DynamoDB
    assert sorted(c.connection_id for c in store.find_by_xero_tenant("Tenant-1")) == ["a", "b"]
    assert store.find_by_xero_tenant("nobody") == []


def test_creating_a_connection_twice_is_refused(table: tuple[Any, str]) -> None:
    ddb, name = table
    store = DynamoConnectionStore(name, ddb)
    store.put_new(connection("a"))
    with pytest.raises(ConfigurationError, match="already exists"):
        store.put_new(connection("a", "other"))
    assert store.get("a") == connection("a")


def test_webhook_secrets_are_encrypted_first_writer_wins(table: tuple[Any, str], kms: tuple[Any, str]) -> None:
    ddb, name = table
    client, key_id = kms
    secrets = KmsDynamoWebhookSecrets(name, ddb, client, key_id, ManualClock())
    assert secrets.remember("c1", "7", "s3cret", "contact") is True
    assert secrets.remember("c1", "7", "s3cret", "contact") is True  # Clio repeating the handshake
    assert secrets.remember("c1", "7", "intruder", None) is False
    fresh = KmsDynamoWebhookSecrets(name, ddb, client, key_id, ManualClock())  # no cache
    hook = fresh.lookup("c1", "7")
    assert hook is not None and (hook.secret, hook.model) == ("s3cret", "contact")
    assert fresh.lookup("c1", "8") is None
    raw = ddb.scan(TableName=name)["Items"]
    assert b"s3cret" not in repr(raw).encode()


def test_ciphertext_moved_to_another_connection_does_not_decrypt(table: tuple[Any, str], kms: tuple[Any, str]) -> None:
    ddb, name = table
    client, key_id = kms
    secrets = KmsDynamoWebhookSecrets(name, ddb, client, key_id, ManualClock())
    secrets.remember("victim", "1", "s3cret", None)
    item = ddb.get_item(TableName=name, Key={"pk": {"S": "CONN#victim"}, "sk": {"S": "CLIOHOOK#1"}})["Item"]
    ddb.put_item(TableName=name, Item={**item, "pk": {"S": "CONN#thief"}})
    with pytest.raises(SyncError):
        secrets.lookup("thief", "1")


def test_pending_secrets_expire(table: tuple[Any, str], kms: tuple[Any, str]) -> None:
    ddb, name = table
    client, key_id = kms
    clock = ManualClock()
    secrets = KmsDynamoWebhookSecrets(name, ddb, client, key_id, clock)
    assert secrets.remember("c1", None, "early", None)
    assert secrets.pending("c1") == ["early"]
    clock.advance(PENDING_TTL.total_seconds() + 1)
    assert secrets.pending("c1") == []


def test_expected_activations_are_bounded_in_time_number_and_webhook(
    table: tuple[Any, str], kms: tuple[Any, str]
) -> None:
    from clio_xero.store.webhook_secrets import ACTIVATION_WINDOW, MAX_HANDSHAKES

    ddb, name = table
    client, key_id = kms
    clock = ManualClock()
    secrets = KmsDynamoWebhookSecrets(name, ddb, client, key_id, clock)
    assert secrets.claim_handshake("c1", "contact", "7") is None  # nothing asked for: refused
    secrets.expect_activation("c1", "contact")
    assert secrets.claim_handshake("c1", "contact", None) is not None  # before Clio answered the create
    secrets.expect_webhook_id("c1", "contact", "7")
    assert secrets.claim_handshake("c1", "contact", "8") is None  # another webhook id
    assert secrets.claim_handshake("c1", "bill", "7") is None  # another model
    assert secrets.claim_handshake("other", "contact", "7") is None  # another connection
    for _ in range(MAX_HANDSHAKES - 1):
        claimed = secrets.claim_handshake("c1", "contact", "7")
        assert claimed is not None and claimed.webhook_id == "7"
    assert secrets.claim_handshake("c1", "contact", "7") is None  # the number is spent
    [waiting] = secrets.expected_activations("c1")
    assert (waiting.webhook_id, waiting.handshakes_left, waiting.activated_at) == ("7", 0, None)
    secrets.mark_activated("c1", "contact")
    assert secrets.expected_activations("c1")[0].activated_at == clock.now()
    secrets.expect_activation("c1", "contact")  # a new registration starts a new window
    clock.advance(ACTIVATION_WINDOW.total_seconds() + 1)
    assert secrets.claim_handshake("c1", "contact", "7") is None  # the window is over
    assert secrets.expected_activations("c1") == []


def test_a_secret_planted_before_clio_answered_the_create_call_is_deleted(
    table: tuple[Any, str], kms: tuple[Any, str]
) -> None:
    ddb, name = table
    client, key_id = kms
    secrets = KmsDynamoWebhookSecrets(name, ddb, client, key_id, ManualClock())
    secrets.expect_activation("c1", "contact")
    # Someone races Clio: a handshake naming a made-up webhook id, before Clio answered.
    assert secrets.claim_handshake("c1", "contact", "666") is not None
    assert secrets.remember("c1", "666", "planted", "contact")
    assert secrets.claim_handshake("c1", "contact", "7") is not None  # Clio's own handshake
    assert secrets.remember("c1", "7", "genuine", "contact")
    secrets.expect_webhook_id("c1", "contact", "7")  # Clio's answer: webhook 7
    assert secrets.lookup("c1", "666") is None  # the planted secret is gone
    hook = secrets.lookup("c1", "7")
    assert hook is not None and hook.secret == "genuine"
