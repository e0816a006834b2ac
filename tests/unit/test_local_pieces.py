"""Pure parts of the local runtime: template reading, schedules, API Gateway conversions."""

from __future__ import annotations

import base64
import json

import pytest

from clio_xero.intake.http import HttpResponse, request_from_apigw
from clio_xero_tools.local.cfn_yaml import load_template
from clio_xero_tools.local.http_api import apigw_v2_event, is_text, to_response
from clio_xero_tools.local.sqs_poller import failed_ids
from clio_xero_tools.local.stack import build_local_template
from clio_xero_tools.local.template import HttpRoute, SamTemplate, schedule_interval
from tests.conftest import ROOT, TEMPLATE


@pytest.fixture(scope="module")
def template() -> SamTemplate:
    return SamTemplate.from_dict(load_template(TEMPLATE), ROOT)


def test_short_form_intrinsics_become_long_form(template: SamTemplate) -> None:
    env = template.functions["XeroWebhookFunction"].environment
    assert env["QUEUE_URL"] == {"Ref": "SyncQueue"}
    assert env["KMS_KEY_ID"] == {
        "Fn::If": ["CreatesDataKey", {"Fn::GetAtt": ["DataKey", "Arn"]}, {"Ref": "ExistingDataKeyArn"}]
    }
    assert env["XERO_WEBHOOK_KEY_PARAMETER"] == {"Fn::Sub": "${ConfigPath}/xero-webhook-key"}


def test_every_use_of_the_data_key_yields_to_an_existing_key(template: SamTemplate) -> None:
    """``ExistingDataKeyArn`` (docs/cost.md): each place that names the stack's own key names the
    given one instead when there is one; only the key and its alias are conditional resources."""
    mine = {"Fn::If": ["CreatesDataKey", {"Fn::GetAtt": ["DataKey", "Arn"]}, {"Ref": "ExistingDataKeyArn"}]}
    found: list[str] = []

    def walk(node: object, path: str) -> None:
        if node == mine:
            found.append(path)
            return
        if node in ({"Ref": "DataKey"}, {"Fn::GetAtt": ["DataKey", "Arn"]}):
            raise AssertionError(f"{path} names the created key unconditionally")
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}[{index}]")

    resources = template.raw["Resources"]
    assert resources["DataKey"]["Condition"] == resources["DataKeyAlias"]["Condition"] == "CreatesDataKey"
    walk({k: v for k, v in resources.items() if k != "DataKeyAlias"}, "Resources")
    walk(template.raw["Outputs"], "Outputs")
    walk(template.raw["Globals"], "Globals")
    for where in ("Table.Properties.SSESpecification", "DeliveryBucket.Properties.BucketEncryption", "AlarmTopic"):
        assert any(path.startswith(f"Resources.{where}") for path in found), where
    assert "Outputs.DataKeyArn.Value" in found


def test_globals_are_merged_into_each_function(template: SamTemplate) -> None:
    xero = template.functions["XeroWebhookFunction"]
    assert xero.environment["POWERTOOLS_SERVICE_NAME"] == "clio-xero"  # from Globals
    assert "XERO_WEBHOOK_KEY_PARAMETER" not in template.functions["ClioWebhookFunction"].environment
    assert template.functions["HealthFunction"].timeout == 3  # function value beats the global 10
    assert xero.timeout == 5
    assert xero.memory_mb == 256  # from Globals
    assert xero.module_file == ROOT / "functions" / "xero_webhook" / "app.py"
    assert [r.route_key for r in xero.http_routes] == ["POST /webhooks/xero"]


def test_only_data_resources_go_to_moto(template: SamTemplate) -> None:
    body, env_outputs, _queues, unresolved = build_local_template(template)
    assert set(body["Resources"]) == {
        "DataKey", "DataKeyAlias", "Table", "DeliveryBucket", "SyncQueue", "SyncDeadLetterQueue", "AlarmTopic",
    }  # fmt: skip
    assert ("XeroWebhookFunction", "QUEUE_URL") in env_outputs.values()
    assert unresolved == {}
    assert "HttpApi" in template.skipped_resources()


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)],
)
def test_rate_expressions(expression: str, seconds: int) -> None:
    assert schedule_interval(expression) == seconds


def test_cron_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="only rate"):
        schedule_interval("cron(0 12 * * ? *)")


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("text/plain", True),
        ("application/vnd.api+json", True),
        ("application/octet-stream", False),
        ("application/x-www-form-urlencoded", False),
        (None, False),
    ],
)
def test_which_bodies_api_gateway_base64_encodes(content_type: str | None, text: bool) -> None:
    assert is_text(content_type) is text


@pytest.mark.parametrize("content_type", ["application/json", "application/octet-stream"])
def test_request_from_apigw_restores_the_raw_bytes(content_type: str) -> None:
    raw = '{"name": "Zoë"}'.encode()
    event = apigw_v2_event(
        method="POST",
        path="/webhooks/clio/c1",
        route=HttpRoute("POST", "/webhooks/clio/{connection_id}"),
        headers={"content-type": content_type, "X-Hook-Signature": "abc"},
        body=raw,
        path_params={"connection_id": "c1"},
        query={"model": "contact"},
    )
    request = request_from_apigw(event)
    assert request.body == raw
    assert request.header("x-hook-signature") == "abc"
    assert request.path_params == {"connection_id": "c1"}
    assert request.query == {"model": "contact"}
    assert request.method == "POST"


def test_handler_results_map_to_http_like_payload_v2() -> None:
    plain = to_response({"ok": True})
    assert plain.status_code == 200 and json.loads(plain.get_data()) == {"ok": True}
    encoded = to_response({"statusCode": 202, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True})
    assert (encoded.status_code, encoded.get_data()) == (202, b"\x00\x01")
    empty = to_response(HttpResponse(200, "", {"X-Hook-Secret": "s"}).to_apigw())
    assert empty.get_data() == b"" and empty.headers["X-Hook-Secret"] == "s"


def test_batch_failure_reports_are_read_like_lambda() -> None:
    ids = {"a", "b"}
    assert failed_ids({"batchItemFailures": []}, ids) == set()
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "a"}]}, ids) == {"a"}
    assert failed_ids(None, ids) == set()
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, ids) is None
    assert failed_ids({"batchItemFailures": [{}]}, ids) is None
