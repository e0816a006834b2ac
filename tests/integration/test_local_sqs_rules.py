"""The local runtime behaves like SQS where our code relies on it (issue 10).

* The poller honours the visibility the worker sets from ``Retry-After``: during a throttle the
  worker does not call the API again until the delay has passed (counted on the Xero sandbox).
* FIFO deduplication lasts 5 minutes by deduplication id, also after the first copy was
  processed and deleted (moto alone only compares with messages still queued).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from clio_xero.clock import ManualClock
from clio_xero.sync.mapping import MappingStatus
from clio_xero.sync.settings import ConnectionSettings, ContactScope
from clio_xero_tools.local.runtime import LocalRuntime, RuntimeOptions
from clio_xero_tools.local.sqs_fidelity import fifo_deduplication
from clio_xero_tools.local.world import LocalWorld
from clio_xero_tools.sandbox._base import FaultPlan
from tests.conftest import TEMPLATE
from tests.integration.conftest import WorldPool

pytestmark = pytest.mark.integration


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def world(shared_world: WorldPool, clock: ManualClock) -> Iterator[LocalWorld]:
    with shared_world(
        settings=ConnectionSettings(contact_scope=ContactScope.ALL), function_output=io.StringIO(), clock=clock
    ) as w:
        yield w


def xero_api_calls(world: LocalWorld) -> int:
    return sum(1 for e in world.sandboxes.xero.request_log.entries() if "/api.xro/" in e.path)


def test_a_throttled_record_waits_for_retry_after_instead_of_hammering_the_api(
    world: LocalWorld, clock: ManualClock
) -> None:
    world.sandboxes.xero.set_faults(FaultPlan(burst_429=1000))  # every Xero call: 429, Retry-After 60
    record = world.sandboxes.clio.act_create(
        "contacts", {"type": "Company", "name": "Throttled Pty Ltd", "email_addresses": []}
    )
    world.pump()
    after_first_try = xero_api_calls(world)
    assert after_first_try >= 1
    for _ in range(30):  # the poller keeps polling; the record stays invisible for its Retry-After
        assert world.worker.poll_once().received == 0
    assert xero_api_calls(world) == after_first_try  # no call at all during the throttle

    world.sandboxes.xero.set_faults(FaultPlan())
    clock.advance(61)
    world.runtime.advance_queue_time(61)
    world.pump()
    mapping = world.mappings.get(world.connection_id, "contact", str(record.id))
    assert mapping is not None and mapping.status is MappingStatus.OK


def test_fifo_deduplication_lasts_five_minutes_after_the_first_copy_is_gone() -> None:
    options = RuntimeOptions(template=TEMPLATE, poll=False, schedule=False, function_output=io.StringIO())
    with LocalRuntime(options) as runtime:
        sqs, url = runtime.client("sqs"), runtime.queue_url("SyncQueue")

        def send() -> str:
            sent = sqs.send_message(QueueUrl=url, MessageBody="{}", MessageGroupId="g", MessageDeduplicationId="d-1")
            return str(sent["MessageId"])

        def receive_all() -> int:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            for m in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            return len(messages)

        first = send()
        assert receive_all() == 1  # processed and deleted
        assert send() == first  # accepted as SQS does, with the first message's id...
        assert receive_all() == 0  # ...but not queued again
        runtime.advance_queue_time(4 * 60)
        send()
        assert receive_all() == 0  # still inside the 5 minutes
        runtime.advance_queue_time(61)
        send()
        assert receive_all() == 1  # the window is over


def test_a_delivery_replayed_after_it_was_processed_is_queued_once() -> None:
    """Issue 10's case: the same Xero delivery (5 ids) three times within a minute, each time after
    the previous events were processed and deleted: 5 events reach the worker, not 15."""
    import uuid

    import httpx

    from clio_xero.store.connections import Connection, DynamoConnectionStore
    from clio_xero.webhooks.signing import sign_xero

    tenant, key = "4d0b3a7e-1111-4222-8333-444455556666", "replay-key"
    options = RuntimeOptions(
        template=TEMPLATE, poll=False, schedule=False, xero_webhook_key=key, function_output=io.StringIO()
    )
    with LocalRuntime(options) as runtime:
        DynamoConnectionStore(runtime.physical_id("Table"), runtime.client("dynamodb")).put_new(
            Connection(connection_id="firm1", xero_tenant_id=tenant, created_at=datetime.now(UTC))
        )
        events = [
            {
                "resourceId": str(uuid.uuid4()),
                "eventCategory": "CONTACT",
                "eventType": "UPDATE",
                "tenantId": tenant,
                "eventDateUtc": "2026-12-01T00:00:00",
            }
            for _ in range(5)
        ]
        raw = json.dumps({"events": events, "firstEventSequence": 1, "lastEventSequence": 5}).encode()
        sqs, url = runtime.client("sqs"), runtime.queue_url("SyncQueue")
        processed = 0
        for _ in range(3):
            response = httpx.post(
                f"{runtime.api_url}/webhooks/xero", content=raw, headers={"x-xero-signature": sign_xero(raw, key)}
            )
            assert response.status_code == 200
            while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                processed += len(messages)
                for m in messages:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        assert processed == 5


def test_a_queue_deleted_and_created_again_remembers_no_deduplication_ids() -> None:
    """SQS keeps no deduplication memory for a queue created again under the same name."""
    options = RuntimeOptions(template=TEMPLATE, poll=False, schedule=False, function_output=io.StringIO())
    with LocalRuntime(options) as runtime:
        sqs, url = runtime.client("sqs"), runtime.queue_url("SyncQueue")
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["FifoQueue", "DeduplicationScope"])
        first = sqs.send_message(QueueUrl=url, MessageBody="{}", MessageGroupId="g", MessageDeduplicationId="d-1")
        sqs.delete_queue(QueueUrl=url)
        sqs.create_queue(QueueName=url.rsplit("/", 1)[-1], Attributes=attributes["Attributes"])
        again = sqs.send_message(QueueUrl=url, MessageBody="{}", MessageGroupId="g", MessageDeduplicationId="d-1")
        assert again["MessageId"] != first["MessageId"]
        assert len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])) == 1


def test_two_local_runtimes_in_one_process_keep_separate_deduplication_memories() -> None:
    """Queues of the same name in two local stacks are two queues: a deduplication id one of them
    saw does not drop the other's message (tests run many stacks in one process, and while a shared
    one lives the deduplication rule stays installed across the others)."""
    with fifo_deduplication(), fifo_deduplication():  # as if another runtime were running
        _send_once_in_two_stacks()


def _send_once_in_two_stacks() -> None:
    for _ in range(2):
        options = RuntimeOptions(template=TEMPLATE, poll=False, schedule=False, function_output=io.StringIO())
        with LocalRuntime(options) as runtime:
            sqs, url = runtime.client("sqs"), runtime.queue_url("SyncQueue")
            sqs.send_message(QueueUrl=url, MessageBody="{}", MessageGroupId="g", MessageDeduplicationId="same-id")
            assert len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])) == 1
