"""Which stack the CLI talks to: a deployed one (CloudFormation outputs) or `clio-xero local up`.

Every operator command takes ``--stack NAME`` (env ``CLIO_XERO_STACK``, default ``clio-xero``)
or ``--local`` (env ``CLIO_XERO_LOCAL=1``). ``--local`` reads the state file `local up` writes
(``.cache/local/stack.json``: the moto endpoint, the local API URL, the stack name) and points
boto3 at it; then both cases are the same code: the stack's outputs name the table, queues,
bucket and key.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clio_xero.aws.clients import aws_client
from clio_xero.errors import ConfigurationError

DEFAULT_STACK = "clio-xero"
LOCAL_STATE = Path(".cache/local/stack.json")


def local_state_path() -> Path:
    """The local state file: ``$CLIO_XERO_LOCAL_STATE``, else ``.cache/local/stack.json``."""
    return Path(os.environ.get("CLIO_XERO_LOCAL_STATE") or LOCAL_STATE)


@dataclass
class LocalState:
    stack_name: str
    aws_endpoint: str
    api_url: str
    config_path: str

    def write(self, path: Path = LOCAL_STATE) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.__dict__, indent=2), encoding="utf-8")

    @classmethod
    def read(cls, path: Path = LOCAL_STATE) -> LocalState:
        if not path.is_file():
            raise ConfigurationError(f"no local stack running ({path} not found): start `clio-xero local up`")
        return cls(**json.loads(path.read_text(encoding="utf-8")))


@dataclass
class StackContext:
    stack_name: str
    outputs: dict[str, str]
    endpoint_url: str | None = None  # set for the local stack
    api_url: str | None = None
    region: str | None = None

    def client(self, service: str) -> Any:
        """One client per service for the process (clio_xero.aws.clients), not one per command."""
        if not self.endpoint_url:
            return aws_client(service)
        return aws_client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region or "us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto accepts anything
        )

    def output(self, name: str) -> str:
        try:
            return self.outputs[name]
        except KeyError:
            raise ConfigurationError(f"stack {self.stack_name} has no output {name}: is it up to date?") from None

    @property
    def table_name(self) -> str:
        return self.output("TableName")

    @property
    def queue_url(self) -> str:
        return self.output("SyncQueueUrl")

    @property
    def dead_letter_queue_url(self) -> str:
        return self.output("SyncDeadLetterQueueUrl")

    @property
    def delivery_bucket(self) -> str:
        return self.output("DeliveryBucketName")

    @property
    def data_key_arn(self) -> str:
        return self.output("DataKeyArn")

    @classmethod
    def resolve(
        cls, *, stack: str | None = None, local: bool | None = None, state_path: Path | None = None
    ) -> StackContext:
        """The stack named by the options or the environment (see module docstring).

        The local state file is ``state_path``, else ``$CLIO_XERO_LOCAL_STATE``, else
        ``.cache/local/stack.json`` (tests and several local stacks point elsewhere).
        """
        if state_path is None:
            state_path = local_state_path()
        if local is None:
            local = os.environ.get("CLIO_XERO_LOCAL", "") not in ("", "0", "false")
        state = LocalState.read(state_path) if local else None
        name = stack or (state.stack_name if state else os.environ.get("CLIO_XERO_STACK", DEFAULT_STACK))
        context = cls(
            stack_name=name,
            outputs={},
            endpoint_url=state.aws_endpoint if state else None,
            api_url=state.api_url if state else None,
        )
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            described = context.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
        except (ClientError, BotoCoreError) as exc:
            raise ConfigurationError(f"cannot read stack {name!r}: {exc}") from exc
        context.outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        if context.api_url is None and "ApiUrl" in context.outputs:
            context.api_url = context.outputs["ApiUrl"]
        return context
