"""The handle every operator function takes: the stack's resource names and boto3 clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from clio_xero.clock import Clock, SystemClock
from clio_xero.errors import ConfigurationError
from clio_xero.store.connections import Connection, DynamoConnectionStore


class StackLike(Protocol):
    """What the CLI's stack context offers (structural: the runtime never imports the tooling)."""

    endpoint_url: str | None

    def client(self, service: str) -> Any: ...

    @property
    def table_name(self) -> str: ...

    @property
    def queue_url(self) -> str: ...

    @property
    def dead_letter_queue_url(self) -> str: ...

    @property
    def delivery_bucket(self) -> str: ...

    @property
    def data_key_arn(self) -> str: ...


@dataclass
class OpsStack:
    table_name: str
    queue_url: str
    dead_letter_queue_url: str
    delivery_bucket: str
    data_key_arn: str
    clients: Any  # a callable service name -> boto3 client
    clock: Clock = field(default_factory=SystemClock)
    # Short polling on AWS samples a subset of servers and can come back empty while messages
    # exist; a 1 s long poll does not. moto answers from one process, so 0 is exact there.
    receive_wait_seconds: int = 1
    # `clio-xero local up` is moto, which has no StartMessageMoveTask: do not ask it every time.
    move_task_available: bool = True

    @classmethod
    def from_context(cls, context: StackLike, clock: Clock | None = None) -> OpsStack:
        return cls(
            table_name=context.table_name,
            queue_url=context.queue_url,
            dead_letter_queue_url=context.dead_letter_queue_url,
            delivery_bucket=context.delivery_bucket,
            data_key_arn=context.data_key_arn,
            clients=context.client,
            clock=clock or SystemClock(),
            receive_wait_seconds=0 if context.endpoint_url else 1,
            move_task_available=not context.endpoint_url,
        )

    def client(self, service: str) -> Any:
        return self.clients(service)

    @property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    @property
    def sqs(self) -> Any:
        return self.client("sqs")

    def connections(self) -> DynamoConnectionStore:
        return DynamoConnectionStore(self.table_name, self.dynamodb)

    def select_connections(self, connection_id: str | None) -> list[Connection]:
        """The named connection, or all of them; an unknown id is a configuration error."""
        store = self.connections()
        if connection_id is None:
            return sorted(store.list_all(), key=lambda c: c.connection_id)
        found = store.get(connection_id)
        if found is None:
            raise ConfigurationError(f"no connection {connection_id!r} in this stack")
        return [found]

    def one_connection(self, connection_id: str | None) -> Connection:
        """The named connection, or the only one; ambiguity is a configuration error."""
        found = self.select_connections(connection_id)
        if not found:
            raise ConfigurationError("this stack has no connections yet: run `clio-xero connect`")
        if len(found) > 1:
            names = ", ".join(c.connection_id for c in found)
            raise ConfigurationError(f"several connections ({names}): choose one with --connection")
        return found[0]
