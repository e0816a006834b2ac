"""Where the connect flow keeps single-use things in the one table (the DynamoDB adapter of
:class:`clio_xero.connect.store.ConnectStore`).

Items (both expire through the ``expires_at`` TTL and are checked for expiry on read too, because
DynamoDB deletes expired items lazily):

* ``pk=CONN#<id>``, ``sk=CONNECTLINK#<nonce>``: a link that has been used (conditional put: the
  second use of the same link fails);
* ``pk=OAUTHSTATE#<state>``, ``sk=#STATE``: one pending step (taken with a conditional delete that
  returns the item, so exactly one callback gets it).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from clio_xero.aws.errors import aws_errors, is_condition_failure, translate
from clio_xero.connect.links import ConnectLink
from clio_xero.connect.state import OAuthState
from clio_xero.store.dynamo import connection_pk, from_item, key, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


__all__ = ["DynamoConnectStore", "link_sk", "state_pk"]

STATE_SK = "#STATE"


def state_pk(state_id: str) -> str:
    return f"OAUTHSTATE#{state_id}"


def link_sk(nonce: str) -> str:
    return f"CONNECTLINK#{nonce}"


class DynamoConnectStore:
    def __init__(self, table_name: str, dynamodb: DynamoDBClient) -> None:
        self._table = table_name
        self._ddb = dynamodb

    def use_link(self, link: ConnectLink, now: datetime) -> bool:
        """Record the link as used; False if it already was."""
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=to_item(
                    {
                        "pk": connection_pk(link.connection_id),
                        "sk": link_sk(link.nonce),
                        "provider": link.provider,
                        "used_at": now.isoformat(),
                        "expires_at": link.expires,
                    }
                ),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except (ClientError, BotoCoreError) as exc:
            if is_condition_failure(exc):
                return False
            raise translate("record connect link use", exc) from exc
        return True

    def put_state(self, state: OAuthState) -> None:
        values: dict[str, Any] = {
            "pk": state_pk(state.state_id),
            "sk": STATE_SK,
            "state": state.model_dump_json(),
            "expires_at": state.expires,
        }
        with aws_errors("store OAuth state"):
            self._ddb.put_item(
                TableName=self._table, Item=to_item(values), ConditionExpression="attribute_not_exists(pk)"
            )

    def take_state(self, state_id: str, now: datetime) -> OAuthState | None:
        """The state, removed so no one else can take it; None if unknown, taken or expired."""
        if not state_id or len(state_id) > 200:
            return None
        try:
            result = self._ddb.delete_item(
                TableName=self._table,
                Key=key(state_pk(state_id), STATE_SK),
                ConditionExpression="attribute_exists(pk)",
                ReturnValues="ALL_OLD",
            )
        except (ClientError, BotoCoreError) as exc:
            if is_condition_failure(exc):
                return None
            raise translate("take OAuth state", exc) from exc
        item = result.get("Attributes")
        if not item:
            return None
        state = OAuthState.model_validate_json(from_item(item)["state"])
        return state if state.live(now) else None
