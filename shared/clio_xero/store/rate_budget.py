"""The rate budget in the one table, shared by every Lambda of the stack (the DynamoDB adapter of
:class:`clio_xero.clients.ratelimit.RateBudget`; how the budget counts is in that module).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from clio_xero.aws.errors import aws_errors, is_condition_failure, translate
from clio_xero.clients.ratelimit import RateLimits, WindowedBudget
from clio_xero.clock import Clock
from clio_xero.store.dynamo import connection_pk
from clio_xero.store.dynamo import key as item_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["WORKER_BLOCKED_RECHECK_SECONDS", "WORKER_LEASE", "DynamoRateBudget"]

#: Calls a Lambda container leases per window in one write (docs/cost.md#the-rate-budget): 5 cuts the
#: budget's writes about fivefold for a busy container; at most 10% of a window's limit is leased.
WORKER_LEASE = 5

#: How long a container trusts the blocked-until it last read (docs/cost.md#the-blocked-until-read);
#: it also re-reads whenever it takes a new lease. Another Lambda's 429 is heeded within this bound.
WORKER_BLOCKED_RECHECK_SECONDS = 15.0


def _epoch_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


class DynamoRateBudget(WindowedBudget):
    """The budget in the single table, shared by every Lambda of the stack.

    Items (``pk=CONN#<key>``): ``RATE#<provider>#m#<YYYYmmddHHMM>`` and ``RATE#<provider>#d#<YYYY-mm-dd>``
    counters (``count``), ``RATE#<provider>#slot#<i>`` (``owner``, ``lease_until`` epoch ms) and
    ``RATE#<provider>#blocked`` (``blocked_until`` epoch ms). All carry the ``expires_at`` TTL.
    Cost per call: 1 read (blocked-until; less with ``blocked_recheck_seconds``), 1 conditional
    write per window (per ``lease`` calls with leases), 1 write per concurrency slot taken and 1 per
    slot freed (docs/cost.md).
    """

    def __init__(
        self,
        table_name: str,
        dynamodb: DynamoDBClient,
        clock: Clock | None = None,
        limits: Mapping[str, RateLimits] | None = None,
        *,
        lease: int = 1,
        blocked_recheck_seconds: float = 0,
    ) -> None:
        super().__init__(clock, limits, lease, blocked_recheck_seconds)
        self._table = table_name
        self._ddb = dynamodb

    def _ttl(self, when: datetime) -> str:
        # Kept a day past the window so an operator can still see what happened.
        return str(int((when + timedelta(days=1)).timestamp()))

    def _blocked_until(self, provider: str, key: str) -> datetime | None:
        with aws_errors("read rate budget"):
            result = self._ddb.get_item(
                TableName=self._table,
                Key=item_key(connection_pk(key), f"RATE#{provider}#blocked"),
                # A budget that rechecks on a bound already accepts a block seen late by that much;
                # an eventually consistent read (half the units) adds about a second to it.
                ConsistentRead=self._blocked_recheck == 0,
            )
        item = result.get("Item")
        if not item or "blocked_until" not in item:
            return None
        return datetime.fromtimestamp(int(item["blocked_until"]["N"]) / 1000, UTC)

    def _block(self, provider: str, key: str, until: datetime) -> None:
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=item_key(connection_pk(key), f"RATE#{provider}#blocked"),
                UpdateExpression="SET blocked_until = :u, expires_at = :ttl",
                ConditionExpression="attribute_not_exists(blocked_until) OR blocked_until < :u",
                ExpressionAttributeValues={":u": {"N": str(_epoch_ms(until))}, ":ttl": {"N": self._ttl(until)}},
            )
        except (ClientError, BotoCoreError) as exc:
            if not is_condition_failure(exc):  # already blocked for longer: fine
                raise translate("record rate limit block", exc) from exc

    def _take_slot(self, provider: str, key: str, slots: int, now: datetime, until: datetime) -> str | None:
        owner = uuid.uuid4().hex
        start = int(uuid.uuid4().int % slots)  # spread contention over the slots
        for n in range(slots):
            i = (start + n) % slots
            try:
                self._ddb.update_item(
                    TableName=self._table,
                    Key=item_key(connection_pk(key), f"RATE#{provider}#slot#{i}"),
                    UpdateExpression="SET #o = :o, lease_until = :until, expires_at = :ttl",
                    ConditionExpression="attribute_not_exists(lease_until) OR lease_until <= :now",
                    ExpressionAttributeNames={"#o": "owner"},
                    ExpressionAttributeValues={
                        ":o": {"S": owner},
                        ":until": {"N": str(_epoch_ms(until))},
                        ":now": {"N": str(_epoch_ms(now))},
                        ":ttl": {"N": self._ttl(until)},
                    },
                )
            except (ClientError, BotoCoreError) as exc:
                if is_condition_failure(exc):
                    continue
                raise translate("take rate budget slot", exc) from exc
            return f"{i}:{owner}"
        return None

    def _free_slot(self, provider: str, key: str, slot: str) -> None:
        index, owner = slot.split(":", 1)
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=item_key(connection_pk(key), f"RATE#{provider}#slot#{index}"),
                UpdateExpression="REMOVE #o, lease_until",
                ConditionExpression="#o = :o",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":o": {"S": owner}},
            )
        except (ClientError, BotoCoreError) as exc:
            if not is_condition_failure(exc):  # the lease expired and someone else has the slot
                raise translate("free rate budget slot", exc) from exc

    def _increment(
        self, provider: str, key: str, window: str, limit: int, expires: datetime, *, calls: int = 1
    ) -> bool:
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=item_key(connection_pk(key), f"RATE#{provider}#{window}"),
                UpdateExpression="ADD #c :calls SET expires_at = :ttl",
                ConditionExpression="attribute_not_exists(#c) OR #c <= :room",
                ExpressionAttributeNames={"#c": "count"},
                ExpressionAttributeValues={
                    ":calls": {"N": str(calls)},
                    ":room": {"N": str(limit - calls)},
                    ":ttl": {"N": self._ttl(expires)},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            if is_condition_failure(exc):
                return False
            raise translate("count rate budget", exc) from exc
        return True

    def _decrement(self, provider: str, key: str, window: str) -> None:
        try:
            self._ddb.update_item(
                TableName=self._table,
                Key=item_key(connection_pk(key), f"RATE#{provider}#{window}"),
                UpdateExpression="ADD #c :minus",
                ConditionExpression="attribute_exists(#c) AND #c > :zero",
                ExpressionAttributeNames={"#c": "count"},
                ExpressionAttributeValues={":minus": {"N": "-1"}, ":zero": {"N": "0"}},
            )
        except (ClientError, BotoCoreError) as exc:
            if not is_condition_failure(exc):
                raise translate("uncount rate budget", exc) from exc

    def count(self, provider: str, key_: str, window: str) -> int:
        """Calls counted in ``window`` (``m#YYYYmmddHHMM`` / ``d#YYYY-mm-dd``); for tests and the CLI."""
        with aws_errors("read rate budget"):
            result = self._ddb.get_item(
                TableName=self._table,
                Key=item_key(connection_pk(key_), f"RATE#{provider}#{window}"),
                ConsistentRead=True,
            )
        item = result.get("Item")
        return int(item["count"]["N"]) if item else 0
