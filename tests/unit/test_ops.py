"""The pure parts of the operator commands, and the DLQ move-task path (moto has none: botocore Stubber)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from clio_xero.admin.records import RecordRef
from clio_xero.admin.retry import retry_event
from clio_xero.admin.settings import InvalidSettingsError, describe_fields, parse_assignments
from clio_xero.admin.stack import OpsStack
from clio_xero.admin.status import day_window, minute_window
from clio_xero.aws.archive import delivery_received_at as key_time
from clio_xero.aws.dlq import DeadLetterQueue, decode
from clio_xero.clock import ManualClock
from clio_xero.events import RecordType, Source
from clio_xero_tools.cli import app
from clio_xero_tools.ops.replay import Replayer, day_prefixes
from clio_xero_tools.ops.when import parse_when

NOW = datetime(2026, 1, 5, 12, 30, tzinfo=UTC)
DLQ_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/s-sync-dlq.fifo"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/s-sync.fifo"


# ------------------------------------------------------------------------------ when
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", datetime(2026, 1, 5, 10, 30, tzinfo=UTC)),
        ("90m", datetime(2026, 1, 5, 11, 0, tzinfo=UTC)),
        ("3d", datetime(2026, 1, 2, 12, 30, tzinfo=UTC)),
        (" 1w ", datetime(2025, 12, 29, 12, 30, tzinfo=UTC)),
        ("2026-01-04", datetime(2026, 1, 4, tzinfo=UTC)),
        ("2026-01-04T09:15", datetime(2026, 1, 4, 9, 15, tzinfo=UTC)),
        ("2026-01-04T09:15:00Z", datetime(2026, 1, 4, 9, 15, tzinfo=UTC)),
        ("2026-01-04T19:15:00+10:00", datetime(2026, 1, 4, 9, 15, tzinfo=UTC)),
    ],
)
def test_when_reads_relative_and_iso_times(text: str, expected: datetime) -> None:
    assert parse_when(text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "2h ago", "-3d", "2026-13-01", ""])
def test_when_rejects_anything_else_saying_what_it_accepts(text: str) -> None:
    with pytest.raises(ValueError, match=r"relative one \(30m, 2h, 3d, 1w\)"):
        parse_when(text, NOW)


# ------------------------------------------------------------------------------ records
def test_record_refs_round_trip() -> None:
    ref = RecordRef.parse("xero:contact:5b96e86b-418e-48e8-8949-308c14aec278")
    assert (ref.source, ref.record_type, ref.record_id) == (
        Source.XERO,
        RecordType.CONTACT,
        "5b96e86b-418e-48e8-8949-308c14aec278",
    )
    assert str(RecordRef.parse("CLIO:Contact:123")) == "clio:contact:123"


@pytest.mark.parametrize("text", ["clio:contact", "clio:contact:", "123", "sage:contact:1", "clio:widget:1"])
def test_bad_record_refs_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a record"):
        RecordRef.parse(text)


def test_retry_events_get_fresh_dedupe_keys_in_the_records_group() -> None:
    stack = OpsStack("t", QUEUE_URL, DLQ_URL, "b", "k", clients=None, clock=ManualClock(NOW))
    ref = RecordRef.parse("clio:contact:7")
    first, second = (retry_event("c1", ref, stack=stack) for _ in range(2))
    assert first.dedupe_key != second.dedupe_key
    assert first.message_group_id == second.message_group_id == "c1#clio:contact:7"
    assert (
        retry_event("c1", ref, stack=stack, nonce="n").dedupe_key
        == retry_event("c1", ref, stack=stack, nonce="n").dedupe_key
    )


# ------------------------------------------------------------------------------ settings
def test_settings_assignments_parse_and_fields_describe_their_values() -> None:
    assert parse_assignments(["contact_scope=all", " sync_contacts = false "]) == {
        "contact_scope": "all",
        "sync_contacts": "false",
    }
    with pytest.raises(InvalidSettingsError, match="KEY=VALUE"):
        parse_assignments(["contact_scope"])
    fields = describe_fields()
    assert fields["contact_scope"] == "all | clients | billed"
    assert fields["sync_contacts"] == "true | false"
    assert "updated_at" not in fields


# ------------------------------------------------------------------------------ replay / status keys
def test_delivery_keys_encode_their_receipt_time() -> None:
    key = "deliveries/clio/2026/01/05/093015123456-0f0e.json"
    assert key_time(key) == datetime(2026, 1, 5, 9, 30, 15, 123456, tzinfo=UTC)
    assert key_time("deliveries/clio/README") is None
    assert list(day_prefixes("xero", datetime(2026, 1, 30, 23, tzinfo=UTC), datetime(2026, 2, 1, 1, tzinfo=UTC))) == [
        "deliveries/xero/2026/01/30/",
        "deliveries/xero/2026/01/31/",
        "deliveries/xero/2026/02/01/",
    ]


def test_budget_windows_match_the_rate_budget_item_keys() -> None:
    from clio_xero.clients.ratelimit import InMemoryRateBudget

    budget = InMemoryRateBudget(ManualClock(NOW))
    budget.acquire("xero", "tenant-1")  # Xero counts both windows
    assert budget.count("xero", "tenant-1", minute_window(NOW)) == 1  # the ids status reads are the ones counted
    assert budget.count("xero", "tenant-1", day_window(NOW)) == 1


# ------------------------------------------------------------------------------ dlq
def _message(message_id: str, **attributes: str) -> dict[str, Any]:
    return {
        "MessageId": message_id,
        "ReceiptHandle": f"rh-{message_id}",
        "Body": "not an event",
        "Attributes": {"SentTimestamp": "1767600000000", "MessageGroupId": "invalid", "ApproximateReceiveCount": "2"},
        "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    }


def test_dead_letters_decode_the_workers_reason_attributes() -> None:
    letter = decode(
        _message("m1", failure_kind="ValidationFailedError", attempts="3", hint="-", record="clio:contact:1")
    )
    summary = letter.summary()
    assert (summary["failure_kind"], summary["attempts"], summary["hint"], summary["record"]) == (
        "ValidationFailedError",
        3,
        None,  # "-" is the worker's placeholder for an empty attribute
        "clio:contact:1",
    )
    assert summary["sent_at"] == "2026-01-05T08:00:00+00:00"
    assert "receipt_handle" not in summary and "rh-m1" not in str(letter.details())
    assert decode(_message("m2")).summary()["failure_kind"] == "invalid_message"


def _stubbed_stack() -> tuple[OpsStack, Any, Stubber]:
    sqs = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stack = OpsStack("t", QUEUE_URL, DLQ_URL, "b", "k", clients=lambda _name: sqs, receive_wait_seconds=0)
    return stack, sqs, Stubber(sqs)


def _arns(stub: Stubber) -> None:
    for url in (DLQ_URL, QUEUE_URL):
        stub.add_response(
            "get_queue_attributes",
            {"Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:123456789012:" + url.rsplit("/", 1)[1]}},
            {"QueueUrl": url, "AttributeNames": ["QueueArn"]},
        )


def test_redrive_all_uses_the_move_task_where_sqs_has_it() -> None:
    stack, sqs, stub = _stubbed_stack()
    _arns(stub)
    stub.add_response(
        "start_message_move_task",
        {"TaskHandle": "handle-1"},
        {
            "SourceArn": "arn:aws:sqs:us-east-1:123456789012:s-sync-dlq.fifo",
            "DestinationArn": "arn:aws:sqs:us-east-1:123456789012:s-sync.fifo",
        },
    )
    for status, moved in (("RUNNING", 1), ("COMPLETED", 3)):
        stub.add_response(
            "list_message_move_tasks",
            {"Results": [{"Status": status, "ApproximateNumberOfMessagesMoved": moved}]},
        )
    seen: list[int] = []
    pauses: list[float] = []
    with stub:
        report = DeadLetterQueue(stack, sqs=sqs).redrive(progress=seen.append, sleep=pauses.append)
        stub.assert_no_pending_responses()
    assert (report.method, report.task_handle, report.sent, report.moved) == ("move_task", "handle-1", 3, 3)
    assert seen == [1, 3] and pauses == [2]  # polled, never slept for real


def test_redrive_falls_back_to_the_loop_where_the_move_task_is_missing() -> None:
    stack, sqs, stub = _stubbed_stack()
    _arns(stub)
    stub.add_client_error("start_message_move_task", "UnsupportedOperation", http_status_code=400)
    stub.add_response("receive_message", {"Messages": []})
    with stub:
        report = DeadLetterQueue(stack, sqs=sqs).redrive()
        stub.assert_no_pending_responses()
    assert (report.method, report.sent) == ("loop", 0)


# ------------------------------------------------------------------------------ CLI edges
def test_commands_without_a_stack_exit_3_with_a_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIO_XERO_LOCAL_STATE", str(tmp_path / "missing.json"))
    for args in (["status"], ["errors"], ["dlq", "list"], ["settings", "show"], ["replay", "--since", "1h"]):
        result = CliRunner().invoke(app, [*args, "--local"])
        assert result.exit_code == 3, (args, result.output)
        assert "no local stack running" in result.output and "Traceback" not in result.output


def test_help_lists_the_operator_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    for verb in ("status", "errors", "retry", "replay", "dlq", "settings"):
        assert verb in result.output


# ------------------------------------------------------------------------------ replay: Clio's model
def _clio_document(path: str | None, webhook_id: int = 7) -> dict[str, Any]:
    body = {"data": {"id": 42, "etag": '"e1"'}, "meta": {"event": "updated", "webhook_id": webhook_id}}
    return {
        "source": "clio",
        "connection_id": "c1",
        "received_at": NOW.isoformat(),
        "headers": {},
        "path": path,
        "body_b64": base64.b64encode(json.dumps(body).encode()).decode(),
    }


def test_replay_takes_clios_model_from_the_archived_url_first() -> None:
    def no_aws(_name: str) -> Any:
        raise AssertionError("the model is in the URL: no AWS call needed")

    replayer = Replayer(OpsStack("t", QUEUE_URL, DLQ_URL, "b", "k", clients=no_aws))
    [event] = replayer.events_for("deliveries/clio/k", _clio_document("/webhooks/clio/c1?model=contact"))
    assert (event.record_type, event.record_id, event.delivery_id) == (RecordType.CONTACT, "42", "deliveries/clio/k")


def test_replay_falls_back_to_the_model_stored_with_the_webhook_secret() -> None:
    ddb = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    replayer = Replayer(OpsStack("t", QUEUE_URL, DLQ_URL, "b", "k", clients=lambda _name: ddb))
    stub = Stubber(ddb)
    stub.add_response(
        "get_item",
        {"Item": {"model": {"S": "contact"}}},
        {
            "TableName": "t",
            "Key": {"pk": {"S": "CONN#c1"}, "sk": {"S": "CLIOHOOK#7"}},
            "ProjectionExpression": "#m",
            "ExpressionAttributeNames": {"#m": "model"},
        },
    )
    stub.add_response("get_item", {})  # webhook 8: nothing stored
    with stub:
        [event] = replayer.events_for("k", _clio_document(None))  # an older archive: no path
        assert event.record_type is RecordType.CONTACT
        with pytest.raises(ValueError, match="cannot tell the model of webhook 8"):
            replayer.events_for("k", _clio_document(None, webhook_id=8))
        stub.assert_no_pending_responses()
