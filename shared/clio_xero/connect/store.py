"""The port where the connect flow keeps single-use things: used link nonces and OAuth states.

The DynamoDB adapter is :class:`clio_xero.store.connect_state.DynamoConnectStore` (item layout
there); the link key is read from SSM by :class:`clio_xero.aws.parameters.LinkKey`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from clio_xero.connect.links import ConnectLink
from clio_xero.connect.state import OAuthState


class ConnectStore(Protocol):
    def use_link(self, link: ConnectLink, now: datetime) -> bool: ...

    def put_state(self, state: OAuthState) -> None: ...

    def take_state(self, state_id: str, now: datetime) -> OAuthState | None: ...
