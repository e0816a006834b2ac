"""``LocalRuntime``: moto + the template's resources + functions served, polled and scheduled."""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import os
import secrets
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from clio_xero.aws.clients import aws_client
from clio_xero.clock import Clock, SystemClock, use_clock
from clio_xero_tools.local.cfn_yaml import load_template
from clio_xero_tools.local.functions import REGION, LocalFunction
from clio_xero_tools.local.http_api import BoundRoute, HttpApiApp
from clio_xero_tools.local.scheduler import Scheduler
from clio_xero_tools.local.sqs_fidelity import advance_queue_time, fifo_deduplication
from clio_xero_tools.local.sqs_poller import SqsPoller
from clio_xero_tools.local.stack import DeployedStack, create_table_args, deploy
from clio_xero_tools.local.template import SamTemplate

if TYPE_CHECKING:
    from clio_xero_tools.local.dynamodb_local import DynamoDBLocal
    from clio_xero_tools.sandbox._base import ServedApp

log = logging.getLogger(__name__)

LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    # No X-Ray daemon here (SAM's local mode does the same).
    "POWERTOOLS_TRACE_DISABLED": "1",
}


@dataclass
class RuntimeOptions:
    template: Path = Path("template.yaml")
    api_port: int = 0
    aws_port: int = 0
    stack_name: str = "clio-xero-local"
    parameters: dict[str, str] = field(default_factory=dict)
    dynamodb_local: bool = False
    poll: bool = True  # background SQS pollers (tests drive them with poll_once instead)
    schedule: bool = True  # background scheduler (tests call run_due)
    failed_visibility: int | None = None  # quick local retries; None keeps the queue's timeout
    xero_webhook_key: str | None = None  # stored as the SSM SecureString the Xero receiver reads
    function_output: TextIO | None = None  # functions' stdout (logs, metrics); None = ours


# How long `local up` gives its stack to stop after Ctrl-C before it gives up (see stop_deadline).
STOP_DEADLINE_SECONDS = 30.0


@contextlib.contextmanager
def stop_deadline(seconds: float, log_path: Path) -> Iterator[None]:
    """A process that was asked to stop ends within ``seconds``, whatever hangs.

    Every wait in ``stop()`` is bounded, but a stop that hangs anyway (a thread stuck in a library)
    must not leave a person's terminal, `make demo` or a test waiting for ever: each thread's stack
    goes to the log file (to find the cause) and the process exits with status 1. For processes
    that exit after stopping (`clio-xero local up`), never for a library caller."""

    def give_up() -> None:
        with log_path.open("a", encoding="utf-8") as log:
            log.write(f"stop took longer than {seconds:.0f} s; every thread's stack:\n")
            log.flush()
            faulthandler.dump_traceback(file=log, all_threads=True)
        sys.stderr.write(f"The local stack did not stop within {seconds:.0f} s; where it hung: {log_path}\n")
        sys.stderr.flush()
        os._exit(1)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


class LocalRuntime:
    """The whole stack on loopback. Use as a context manager; ``stop()`` undoes everything."""

    def __init__(self, options: RuntimeOptions | None = None, *, clock: Clock | None = None) -> None:
        self.options = options or RuntimeOptions()
        self.clock = clock or SystemClock()
        self.template = SamTemplate.from_dict(load_template(self.options.template), self.options.template.parent)
        self.functions: dict[str, LocalFunction] = {}
        self.pollers: list[SqsPoller] = []
        self.scheduler = Scheduler(self.clock)
        self.stack: DeployedStack | None = None
        self.xero_webhook_key = self.options.xero_webhook_key or secrets.token_urlsafe(32)
        self._moto: Any = None
        self._api: ServedApp | None = None
        self._ddb_local: DynamoDBLocal | None = None
        self._saved_env: dict[str, str | None] = {}
        self._clock_scope: contextlib.AbstractContextManager[Clock] | None = None
        self._sqs_rules: contextlib.ExitStack | None = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> LocalRuntime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def aws_endpoint(self) -> str:
        host, port = self._moto.get_host_and_port()
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        assert self._api is not None, "start() first"
        return self._api.url

    def start(self) -> None:
        from clio_xero_tools.local.moto_server import AtomicMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto logs every request otherwise
        # Functions hosted here take their time from the runtime's clock (a ManualClock in tests).
        self._clock_scope = use_clock(self.clock)
        self._clock_scope.__enter__()
        self._moto = AtomicMotoServer(ip_address="127.0.0.1", port=self.options.aws_port, verbose=False)
        self._moto.start()
        self._sqs_rules = contextlib.ExitStack()
        self._sqs_rules.enter_context(fifo_deduplication())  # SQS FIFO's 5-minute window (sqs_fidelity.py)
        self._set_env({**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL": self.aws_endpoint})
        try:
            self._deploy()
            self._serve()
        except BaseException:
            self.stop()
            raise

    def _deploy(self) -> None:
        params = {**self.options.parameters, "ConfigPath": self.config_path}
        params = {k: v for k, v in params.items() if k in (self.template.raw.get("Parameters") or {})}
        self.stack = deploy(
            self.template,
            self.client("cloudformation"),
            self.client("dynamodb"),
            stack_name=self.options.stack_name,
            parameters=params,
        )
        self.client("ssm").put_parameter(
            Name=f"{self.config_path}/xero-webhook-key",
            Value=self.xero_webhook_key,
            Type="SecureString",
            Overwrite=True,
        )
        if self.options.dynamodb_local:
            self._start_dynamodb_local()
        for fid, spec in self.template.functions.items():
            self.functions[fid] = LocalFunction(
                spec, self.stack.function_env[fid], physical_name=f"local-{fid}", output=self.options.function_output
            )

    @property
    def config_path(self) -> str:
        return self.options.parameters.get("ConfigPath", self.template.parameter_defaults().get("ConfigPath", "/local"))

    def _start_dynamodb_local(self) -> None:
        from clio_xero_tools.local.dynamodb_local import DynamoDBLocal, ensure_installed

        assert self.stack is not None
        self._ddb_local = DynamoDBLocal(ensure_installed())
        self._set_env({"AWS_ENDPOINT_URL_DYNAMODB": self._ddb_local.endpoint})
        ddb = self.client("dynamodb")
        for logical_id, resource in self.template.data_resources().items():
            if resource["Type"] == "AWS::DynamoDB::Table":
                ddb.create_table(**create_table_args(self.template, logical_id, self.stack.physical_ids[logical_id]))

    def _serve(self) -> None:
        from clio_xero_tools.sandbox._base import serve

        self._reset_function_loggers()
        assert self.stack is not None
        routes = [
            BoundRoute.of(route, self.functions[fid])
            for fid, spec in self.template.functions.items()
            for route in spec.http_routes
        ]
        self._api = serve(HttpApiApp(routes), port=self.options.api_port)
        sqs = self.client("sqs")
        for fid, spec in self.template.functions.items():
            for source in spec.sqs_sources:
                if not source.enabled:
                    continue
                arn = self.stack.sqs_queue_arns[(fid, source.name)]
                poller = SqsPoller(
                    sqs,
                    queue_url=sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"],
                    queue_arn=arn,
                    function=self.functions[fid],
                    batch_size=source.batch_size,
                    report_batch_item_failures=source.report_batch_item_failures,
                    failed_visibility=self.options.failed_visibility,
                )
                self.pollers.append(poller)
                if self.options.poll:
                    poller.start()
            for schedule in spec.schedules:
                self.scheduler.add(self.functions[fid], schedule)
        if self.options.schedule and self.scheduler.jobs:
            self.scheduler.start()

    def _reset_function_loggers(self) -> None:
        """Forget Powertools' per-service logger set-up, as a fresh Lambda container would.

        Powertools configures the stdlib logger named after the service once per process and keeps
        the stream it found then; in one process hosting several runtimes (tests) the second
        runtime's functions would otherwise keep logging to the first one's output.
        """
        services = {str(f.environment.get("POWERTOOLS_SERVICE_NAME", "")) for f in self.functions.values()}
        for name in services - {""}:
            service_logger = logging.getLogger(name)
            for handler in list(service_logger.handlers):
                service_logger.removeHandler(handler)
            for attribute in ("init", "powertools_handler", "powertools_buffer_config", "powertools_buffer_cache"):
                if hasattr(service_logger, attribute):
                    delattr(service_logger, attribute)

    def stop(self) -> None:
        self._reset_function_loggers()
        for poller in self.pollers:
            poller.stop()
        self.scheduler.stop()
        if self._api is not None:
            self._api.close()
            self._api = None
        if self._ddb_local is not None:
            self._ddb_local.stop()
            self._ddb_local = None
        if self._moto is not None:
            # moto keeps its state in module globals shared by every server in this process:
            # wipe it, so the next runtime in the same process (tests) starts empty.
            import httpx

            with contextlib.suppress(httpx.HTTPError):
                httpx.post(f"{self.aws_endpoint}/moto-api/reset", timeout=10)
            self._moto.stop()
            self._moto = None
        if self._sqs_rules is not None:
            self._sqs_rules.close()
            self._sqs_rules = None
        if self._clock_scope is not None:
            self._clock_scope.__exit__(None, None, None)
            self._clock_scope = None
        for k, v in self._saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._saved_env.clear()

    # ------------------------------------------------------------------ helpers
    def _set_env(self, values: dict[str, str]) -> None:
        for k, v in values.items():
            self._saved_env.setdefault(k, os.environ.get(k))
            os.environ[k] = v

    def client(self, service: str) -> Any:
        """A boto3 client for the local stack (endpoint and credentials come from the environment):
        the process's one client for this service and environment (clio_xero.aws.clients), since
        tests, the demo and the stores the world hands out ask for one per call."""
        return aws_client(service, region_name=REGION)

    def physical_id(self, logical_id: str) -> str:
        assert self.stack is not None
        return self.stack.physical_ids[logical_id]

    @property
    def data_key_arn(self) -> str:
        """The stack's KMS key: the one it created, or the ``ExistingDataKeyArn`` it was given."""
        assert self.stack is not None
        return self.stack.outputs["DataKeyArn"]

    def queue_url(self, logical_id: str) -> str:
        name = self.physical_id(logical_id).rstrip("/").rsplit("/", 1)[-1]
        return str(self.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])

    def advance_queue_time(self, seconds: float) -> None:
        """Let ``seconds`` pass for the queues (visibility timeouts, delays, the FIFO dedup window):
        what a test on a ManualClock does after ``clock.advance`` so SQS sees the same time pass."""
        advance_queue_time(seconds)

    def expect_clio_activation(self, connection_id: str, model: str, webhook_id: str | None = None) -> None:
        """Record what `clio-xero webhooks register` records before it creates a Clio webhook, so
        the receiver accepts that webhook's handshake (the demo and tests send it by hand)."""
        from clio_xero.store.webhook_secrets import KmsDynamoWebhookSecrets

        ledger = KmsDynamoWebhookSecrets(
            self.physical_id("Table"),
            self.client("dynamodb"),
            self.client("kms"),
            self.data_key_arn,
            self.clock,
        )
        ledger.expect_activation(connection_id, model)
        if webhook_id is not None:
            ledger.expect_webhook_id(connection_id, model, webhook_id)

    def describe(self) -> list[str]:
        """Human-readable lines: what is served where."""
        lines = [f"AWS (moto)   {self.aws_endpoint}", f"HTTP API     {self.api_url}"]
        for fid, spec in sorted(self.template.functions.items()):
            for route in spec.http_routes:
                lines.append(f"  {route.method:<6} {self.api_url}{route.path}  -> {fid}")
        for poller in self.pollers:
            lines.append(f"SQS          {poller.queue_url} -> {poller.function.spec.logical_id}")
        for job in self.scheduler.jobs:
            lines.append(f"Schedule     {job.source.expression} -> {job.function.spec.logical_id}")
        if self._ddb_local is not None:
            lines.append(f"DynamoDB     DynamoDB Local at {self._ddb_local.endpoint}")
        skipped = self.template.skipped_resources()
        if skipped:
            lines.append("Not created locally: " + ", ".join(f"{k} ({v})" for k, v in sorted(skipped.items())))
        return lines
