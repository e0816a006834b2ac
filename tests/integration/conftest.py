"""Fixtures shared by the end-to-end tests: one shared local world (reset before every test) and the
CLI run against it.

Booting a world (moto, the stack created from template.yaml through CloudFormation, the HTTP API,
both sandboxes served on loopback) per test function cost about a second and a half of set-up and
tear-down each, most of the suite's time. ``shared_world`` boots the servers once per test process
and, before every test, puts the world back to what `local_world` would have built:

- AWS: every item of the stack's tables deleted, its queues deleted and created again with the
  same attributes and tags (no message survives, visible, in flight or delayed), its
  buckets emptied (every version), every SSM parameter under the stack's config path deleted and
  the Xero webhook key put back;
- both sandboxes brand new (the served ports stay; a dispatcher serves the current sandbox);
- every function cold again (its handler module re-imported on the next invocation, Powertools'
  logger set-up forgotten), writing to this test's ``function_output``;
- the scheduler rebuilt on this test's clock, and ``use_clock`` set to it while the test runs;
- the connection set up again exactly as `local_world` does (`clio_xero_tools.local.world._connect`).

The AWS_* variables the runtime needs are set only while a test holds the world, so tests that do
not use it see the environment they would see without it. moto keeps its state in process-wide
globals and another runtime's ``stop()`` wipes it: the pool then notices the stack is gone and
deploys again. Under pytest-xdist every worker is its own process with its own pool.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import pytest
from typer.testing import CliRunner

from clio_xero.clock import Clock, SystemClock, use_clock
from clio_xero.sync.record_types import default_registry
from clio_xero.sync.settings import ConnectionSettings
from clio_xero_tools.cli import app
from clio_xero_tools.cli.context import LocalState
from clio_xero_tools.local.functions import _environment  # set variables, restore them after
from clio_xero_tools.local.runtime import LOCAL_CREDENTIALS, LocalRuntime, RuntimeOptions
from clio_xero_tools.local.scheduler import Scheduler
from clio_xero_tools.local.world import LocalWorld, _connect
from clio_xero_tools.sandbox._base import ServedApp, serve
from clio_xero_tools.sandbox.clio import ClioSandbox
from clio_xero_tools.sandbox.serve import ServedSandboxes, build_sandboxes
from clio_xero_tools.sandbox.xero import XeroSandbox

CliCall = Callable[..., tuple[int, Any]]
# Its own stack name and config path: a runtime another module starts (default names) never
# collides with the shared one while both live in the same moto.
SHARED_STACK = "clio-xero-shared"
SHARED_CONFIG_PATH = "/clio-xero-shared"
RUNTIME_ENV = (*LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL")


class WorldPool:
    """Servers booted once; ``pool(settings=..., clock=...)`` is `local_world` with a reset."""

    def __init__(self, template: Path) -> None:
        self.template = template
        self._clio: ClioSandbox | None = None
        self._xero: XeroSandbox | None = None
        self._servers: tuple[ServedApp, ServedApp] | None = None
        self._runtime: LocalRuntime | None = None
        self._runtime_key: tuple[str, ...] = ()
        self._runtime_env: dict[str, str] = {}

    # ------------------------------------------------------------------ servers
    def _dispatch_clio(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self._clio is not None, "no test holds the shared world"
        return self._clio.wsgi_app(environ, start_response)

    def _dispatch_xero(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self._xero is not None, "no test holds the shared world"
        return self._xero.wsgi_app(environ, start_response)

    def _sandbox_servers(self) -> tuple[ServedApp, ServedApp]:
        if self._servers is None:
            self._servers = (serve(self._dispatch_clio), serve(self._dispatch_xero))
        return self._servers

    def _ensure_runtime(self, api_timeout_seconds: int) -> LocalRuntime:
        clio_server, xero_server = self._sandbox_servers()
        parameters = {
            "ClioBaseUrl": clio_server.url,
            "XeroApiUrl": xero_server.url,
            "XeroIdentityUrl": xero_server.url,
            "XeroLoginUrl": xero_server.url,
            "ApiTimeoutSeconds": str(api_timeout_seconds),
            "ConfigPath": SHARED_CONFIG_PATH,
        }
        key = tuple(sorted(f"{k}={v}" for k, v in parameters.items()))
        if self._runtime is not None and (key != self._runtime_key or not self._stack_alive(self._runtime)):
            self._stop_runtime()
        if self._runtime is None:
            options = RuntimeOptions(
                template=self.template,
                stack_name=SHARED_STACK,
                poll=False,
                schedule=False,
                failed_visibility=0,
                parameters=parameters,
            )
            before = {k: os.environ.get(k) for k in RUNTIME_ENV}
            runtime = LocalRuntime(options, clock=SystemClock())  # keeps one boto3 client per service
            runtime.start()
            self._runtime_env = {k: os.environ[k] for k in RUNTIME_ENV}
            _restore_env(before)
            self._runtime, self._runtime_key = runtime, key
        return self._runtime

    def _stack_alive(self, runtime: LocalRuntime) -> bool:
        """False when another runtime's stop() reset moto (its state is process-wide)."""
        with _environment(self._runtime_env):
            dynamodb = runtime.client("dynamodb")
            try:
                dynamodb.describe_table(TableName=runtime.physical_id("Table"))
            except dynamodb.exceptions.ResourceNotFoundException:
                return False
        return True

    def _stop_runtime(self) -> None:
        if self._runtime is not None:
            self._runtime.stop()
            self._runtime = None

    def close(self) -> None:
        self._stop_runtime()
        if self._servers is not None:
            for server in self._servers:
                server.close()
            self._servers = None

    # ------------------------------------------------------------------ reset
    def _reset_aws(self, runtime: LocalRuntime) -> None:
        resources = runtime.template.data_resources()
        for logical_id, resource in resources.items():
            kind = resource["Type"]
            if kind == "AWS::DynamoDB::Table":
                _empty_table(runtime.client("dynamodb"), runtime.physical_id(logical_id))
            elif kind == "AWS::SQS::Queue":
                _recreate_queue(runtime.client("sqs"), runtime.queue_url(logical_id))
            elif kind == "AWS::S3::Bucket":
                _empty_bucket(runtime.client("s3"), runtime.physical_id(logical_id))
        ssm = runtime.client("ssm")
        names = [
            p["Name"]
            for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=runtime.config_path, Recursive=True)
            for p in page["Parameters"]
        ]
        for start in range(0, len(names), 10):
            ssm.delete_parameters(Names=names[start : start + 10])
        ssm.put_parameter(
            Name=f"{runtime.config_path}/xero-webhook-key",
            Value=runtime.xero_webhook_key,
            Type="SecureString",
            Overwrite=True,
        )

    def _reset_functions(self, runtime: LocalRuntime, clock: Clock, output: TextIO | None) -> None:
        # A new container builds the record-type plug-ins anew: their memory per connection (the
        # bill plug-in's read-ahead cursor, burst window and activity etags) must not carry from
        # one test's sandboxes to the next test's, which reuse the same connection, ids and etags.
        default_registry.cache_clear()
        for function in runtime.functions.values():
            function._handler = None  # the next invocation is a cold start, as in a new runtime
            function.invocations = 0
            function.output = output
        runtime._reset_function_loggers()
        runtime.clock = clock
        runtime.scheduler = Scheduler(clock)
        for function_id, spec in runtime.template.functions.items():
            for schedule in spec.schedules:
                runtime.scheduler.add(runtime.functions[function_id], schedule)

    # ------------------------------------------------------------------ one test's world
    @contextlib.contextmanager
    def __call__(
        self,
        *,
        settings: ConnectionSettings | None = None,
        function_output: TextIO | None = None,
        clock: Clock | None = None,
        api_timeout_seconds: int = 10,
    ) -> Iterator[LocalWorld]:
        """What `local_world(...)` yields (no seed, no background threads), on the shared servers."""
        runtime = self._ensure_runtime(api_timeout_seconds)
        clio, xero = build_sandboxes(seed=False, clock=clock)
        self._clio, self._xero = clio, xero
        world_clock = clock or SystemClock()
        try:
            with _environment(self._runtime_env), use_clock(world_clock):
                self._reset_aws(runtime)
                self._reset_functions(runtime, world_clock, function_output)
                clio_server, xero_server = self._sandbox_servers()
                world = LocalWorld(runtime=runtime, sandboxes=ServedSandboxes(clio, xero, clio_server, xero_server))
                _connect(world, settings or ConnectionSettings())
                yield world
            # As serve_sandboxes does on leaving: every response of the test validated against the specs.
            violations = [*clio.schema_violations, *xero.schema_violations]
            if violations:
                raise AssertionError("sandbox responses broke the official specs:\n" + "\n".join(violations[:20]))
        finally:
            self._clio = self._xero = None


def _empty_table(dynamodb: Any, table: str) -> None:
    schema = dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
    key_names = [k["AttributeName"] for k in schema]
    pages = dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
    keys = [{name: item[name] for name in key_names} for page in pages for item in page["Items"]]
    for start in range(0, len(keys), 25):
        batch = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
        dynamodb.batch_write_item(RequestItems={table: batch})
    assert dynamodb.scan(TableName=table, ConsistentRead=True, Select="COUNT")["Count"] == 0


# What CreateQueue accepts back of what GetQueueAttributes returns (the rest is read-only).
QUEUE_SETTABLE = frozenset(
    {
        "DelaySeconds",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "Policy",
        "ReceiveMessageWaitTimeSeconds",
        "VisibilityTimeout",
        "RedrivePolicy",
        "RedriveAllowPolicy",
        "FifoQueue",
        "ContentBasedDeduplication",
        "DeduplicationScope",
        "FifoThroughputLimit",
        "KmsMasterKeyId",
        "KmsDataKeyReusePeriodSeconds",
        "SqsManagedSseEnabled",
    }
)


def _recreate_queue(sqs: Any, url: str) -> None:
    """Delete the queue and create it again with the same name, attributes and tags: no message
    (visible, in flight or delayed) survives, and neither does a test's purge (SQS allows one a
    minute, so purging here would make a test's own `dlq purge` fail)."""
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
    sqs.delete_queue(QueueUrl=url)
    settable = {k: v for k, v in attributes.items() if k in QUEUE_SETTABLE}
    created = sqs.create_queue(QueueName=url.rstrip("/").rsplit("/", 1)[-1], Attributes=settable, tags=tags)
    assert created["QueueUrl"] == url, (created["QueueUrl"], url)


def _empty_bucket(s3: Any, bucket: str) -> None:
    objects = [
        {"Key": v["Key"], "VersionId": v["VersionId"]}
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
        for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
    ]
    for start in range(0, len(objects), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": objects[start : start + 1000], "Quiet": True})


def _restore_env(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def cli(world: LocalWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliCall:
    """``cli("errors", "--json")`` → (exit code, parsed JSON or text), with ``--local`` pointing at
    the requesting module's ``world`` through a state file, as `clio-xero local up` leaves one."""
    runtime = world.runtime
    state = tmp_path / "stack.json"
    LocalState(runtime.options.stack_name, runtime.aws_endpoint, runtime.api_url, runtime.config_path).write(state)
    monkeypatch.setenv("CLIO_XERO_LOCAL_STATE", str(state))
    monkeypatch.setenv("COLUMNS", "250")
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> tuple[int, Any]:
        result = runner.invoke(app, [*args, "--local"], input=input)
        assert "Traceback" not in result.output, result.output
        if "--json" in args and result.exit_code in (0, 1):
            return result.exit_code, json.loads(result.stdout)
        return result.exit_code, result.output

    return run
