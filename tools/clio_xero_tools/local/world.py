"""The whole system on one machine: local runtime + both sandboxes on loopback, one connection.

Used by `make demo`, `clio-xero local up --sandbox` and the end-to-end tests. The connection is
set up the way the connect flow leaves it (tokens encrypted in the table, app credentials in SSM,
Clio webhooks registered through Clio's API and activated by the handshake, the Xero webhook
configured and passing intent-to-receive), without the browser steps.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx

from clio_xero.clients.clio import ClioClient
from clio_xero.clients.endpoints import ClioEndpoints
from clio_xero.clients.oauth import StaticTokenSource, token_set_from_response
from clio_xero.clients.ratelimit import UnlimitedBudget
from clio_xero.clients.tls import tls_context
from clio_xero.clock import Clock, default_clock
from clio_xero.store.connections import Connection, ConnectionStatus, DynamoConnectionStore
from clio_xero.store.mappings import DynamoMappingStore
from clio_xero.store.settings import DynamoSettingsStore
from clio_xero.store.tokens import DynamoTokenStore
from clio_xero.store.webhook_records import DynamoWebhookRecords
from clio_xero.store.webhook_secrets import KmsDynamoWebhookSecrets
from clio_xero.sync.record_types import default_registry
from clio_xero.sync.settings import ConnectionSettings
from clio_xero.webhooks.registration import (
    CLIO_WEBHOOKS,
    ClioClientWebhooks,
    WebhookManager,
    WebhookRecord,
    webhook_specs,
)
from clio_xero_tools.local.runtime import LocalRuntime, RuntimeOptions
from clio_xero_tools.local.sqs_poller import SqsPoller
from clio_xero_tools.sandbox.serve import ServedSandboxes, serve_sandboxes

CONNECTION_ID = "local-firm"
CLIO_WEBHOOK_MODELS = tuple(spec.model for spec in CLIO_WEBHOOKS)
CLIO_CONTACT_WEBHOOK_FIELDS = next(spec.fields for spec in CLIO_WEBHOOKS if spec.model == "contact")


@dataclass
class LocalWorld:
    runtime: LocalRuntime
    sandboxes: ServedSandboxes
    connection_id: str = CONNECTION_ID
    tenant_id: str = ""
    clio_token: str = field(default="", repr=False)

    @property
    def worker(self) -> SqsPoller:
        return next(p for p in self.runtime.pollers if p.function.spec.logical_id == "SyncWorkerFunction")

    @property
    def mappings(self) -> DynamoMappingStore:
        return DynamoMappingStore(self.runtime.physical_id("Table"), self.runtime.client("dynamodb"))

    def pump(self, max_rounds: int = 50) -> int:
        """Deliver due webhooks from both sandboxes and run the worker until all is quiet."""
        total = 0
        for _ in range(max_rounds):
            delivered = self.sandboxes.clio.deliver_due_webhooks() + self.sandboxes.xero.deliver_due_webhooks()
            processed = sum(r.received for r in self.worker.drain())
            total += delivered + processed
            if delivered == 0 and processed == 0:
                return total
        raise RuntimeError(f"the system did not settle within {max_rounds} rounds")

    def clio_api(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.sandboxes.clio_server.url}/api/v4",
            headers={"Authorization": f"Bearer {self.clio_token}"},
            timeout=10,
            verify=tls_context(),
        )

    def xero_user_call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """An Accounting API call made outside the product, as a Xero user's app would (setting
        up the organisation in tests and the demo: a tracking category, a currency)."""
        grant = self.sandboxes.xero.issue_tokens([self.tenant_id])
        response = httpx.request(
            method,
            f"{self.sandboxes.xero_server.url}/api.xro/2.0{path}",
            json=body,
            headers={"Authorization": f"Bearer {grant['access_token']}", "xero-tenant-id": self.tenant_id},
            timeout=10,
            verify=tls_context(),
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def settings(self, **values: Any) -> None:
        store = DynamoSettingsStore(self.runtime.physical_id("Table"), self.runtime.client("dynamodb"))
        store.put(self.connection_id, store.get(self.connection_id).changed(**values))


def register_clio_webhooks(world: LocalWorld, clock: Clock) -> list[WebhookRecord]:
    """What `clio-xero webhooks register` does, with the world's Clio token (the receiver answers
    the handshakes on the next pump)."""
    runtime = world.runtime
    clio = ClioClient(
        endpoints=ClioEndpoints(world.sandboxes.clio_server.url),
        tokens=StaticTokenSource(world.clio_token, provider="clio"),
        budget=UnlimitedBudget(),
        budget_key=world.connection_id,
    )
    try:
        manager = WebhookManager(
            connection_id=world.connection_id,
            api=ClioClientWebhooks(clio),
            records=DynamoWebhookRecords(runtime.physical_id("Table"), runtime.client("dynamodb")),
            # The models the connection's switched-on record types need, as `webhooks register` does.
            specs=webhook_specs(
                default_registry(),
                DynamoSettingsStore(runtime.physical_id("Table"), runtime.client("dynamodb")).get(world.connection_id),
            ),
            # No secrets: the receiver, not registration, must answer the handshakes here; it accepts
            # them because registration records which activations it expects.
            secrets=None,
            activations=KmsDynamoWebhookSecrets(
                runtime.physical_id("Table"),
                runtime.client("dynamodb"),
                runtime.client("kms"),
                runtime.data_key_arn,
                clock,
            ),
        )
        return manager.ensure(clock.now(), api_url=runtime.api_url)
    finally:
        clio.close()


def _connect(world: LocalWorld, settings: ConnectionSettings) -> None:
    runtime, sandboxes = world.runtime, world.sandboxes
    clock = default_clock()  # the runtime's clock while it runs
    table = runtime.physical_id("Table")
    dynamodb = runtime.client("dynamodb")
    org = sandboxes.xero.create_organisation("Local Firm Pty Ltd") if not sandboxes.xero.store.orgs else None
    world.tenant_id = org.organisation_id if org else next(iter(sandboxes.xero.store.orgs))
    DynamoConnectionStore(table, dynamodb).put_new(
        Connection(
            connection_id=world.connection_id,
            name="Local firm",
            status=ConnectionStatus.ACTIVE,
            xero_tenant_id=world.tenant_id,
            created_at=clock.now(),
        )
    )
    DynamoSettingsStore(table, dynamodb).put(world.connection_id, settings)
    ssm = runtime.client("ssm")
    path = runtime.config_path
    for provider, app in (("clio", sandboxes.clio.oauth), ("xero", sandboxes.xero.identity)):
        for name, value in (("client-id", app.client_id), ("client-secret", app.client_secret)):
            ssm.put_parameter(Name=f"{path}/{provider}/{name}", Value=value, Type="SecureString", Overwrite=True)
    tokens = DynamoTokenStore(table, dynamodb, runtime.client("kms"), runtime.data_key_arn, clock)
    clio_grant = sandboxes.clio.issue_token()
    xero_grant = sandboxes.xero.issue_tokens([world.tenant_id])
    world.clio_token = clio_grant["access_token"]
    for provider, grant in (("clio", clio_grant), ("xero", xero_grant)):
        tokens.save(world.connection_id, provider, token_set_from_response(grant, clock), expected_version=None)  # type: ignore[arg-type]
    sandboxes.xero.configure_webhook(f"{runtime.api_url}/webhooks/xero", runtime.xero_webhook_key)
    register_clio_webhooks(world, clock)
    world.pump()  # handshakes and intent-to-receive


@contextmanager
def local_world(
    *,
    template: Path = Path("template.yaml"),
    seed: bool = False,
    settings: ConnectionSettings | None = None,
    function_output: TextIO | None = None,
    api_port: int = 0,
    aws_port: int = 0,
    background: bool = False,
    clock: Clock | None = None,
    api_timeout_seconds: int = 10,
    clio_port: int = 0,
    xero_port: int = 0,
    dynamodb_local: bool = False,
    failed_visibility: int = 0,
) -> Iterator[LocalWorld]:
    """Start sandboxes and the runtime wired to them; ``background`` runs pollers and schedules.

    ``clock`` (a ManualClock in tests) is shared by the sandboxes and every hosted function, so a
    test moves time for the whole system at once.
    """
    with serve_sandboxes(
        seed=seed, clock=clock, deliver_every=1.0 if background else None, clio_port=clio_port, xero_port=xero_port
    ) as sandboxes:
        xero_url = sandboxes.xero_server.url
        options = RuntimeOptions(
            template=template,
            api_port=api_port,
            aws_port=aws_port,
            poll=background,
            schedule=background,
            failed_visibility=failed_visibility,  # 0: quick local retries (a worker's own delay still holds)
            dynamodb_local=dynamodb_local,
            function_output=function_output,
            parameters={
                "ClioBaseUrl": sandboxes.clio_server.url,
                "XeroApiUrl": xero_url,
                "XeroIdentityUrl": xero_url,
                "XeroLoginUrl": xero_url,
                "ApiTimeoutSeconds": str(api_timeout_seconds),
            },
        )
        with LocalRuntime(options, clock=clock) as runtime:
            world = LocalWorld(runtime=runtime, sandboxes=sandboxes)
            _connect(world, settings or ConnectionSettings())
            yield world
