"""template.yaml after aws-sam-translator: the rules cfn-lint does not check.

Each rule is a function over the transformed template returning the violations, tested twice:
on our template (no violations) and on a deliberately broken one (each rule fires), so none of
these checks can pass vacuously.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, transform

Template = dict[str, Any]


def resources(cfn: Template, kind: str) -> dict[str, dict[str, Any]]:
    """Resources of one type, each with ``Properties`` present (CloudFormation lets it be omitted)."""
    return {k: {"Properties": {}, **v} for k, v in cfn["Resources"].items() if v["Type"] == kind}


def _ref_id(value: Any) -> str | None:
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
        if "Ref" in value:
            return str(value["Ref"])
    return None


def rule_sqs_sources_report_batch_item_failures(cfn: Template) -> list[str]:
    return [
        f"{k}: FunctionResponseTypes must be [ReportBatchItemFailures]"
        for k, v in resources(cfn, "AWS::Lambda::EventSourceMapping").items()
        if v["Properties"].get("FunctionResponseTypes") != ["ReportBatchItemFailures"]
    ]


def rule_visibility_timeout_at_least_six_function_timeouts(cfn: Template) -> list[str]:
    out = []
    for k, mapping in resources(cfn, "AWS::Lambda::EventSourceMapping").items():
        props = mapping["Properties"]
        queue = cfn["Resources"].get(_ref_id(props["EventSourceArn"]) or "", {})
        function = cfn["Resources"].get(_ref_id(props["FunctionName"]) or "", {})
        visibility = int(queue.get("Properties", {}).get("VisibilityTimeout", 30))
        timeout = int(function.get("Properties", {}).get("Timeout", 3))
        if visibility < 6 * timeout:
            out.append(f"{k}: queue visibility {visibility}s < 6 x function timeout {timeout}s")
    return out


def rule_fifo_batch_and_redrive_limits(cfn: Template) -> list[str]:
    out = []
    queues = resources(cfn, "AWS::SQS::Queue")
    for k, mapping in resources(cfn, "AWS::Lambda::EventSourceMapping").items():
        props = mapping["Properties"]
        queue = queues.get(_ref_id(props["EventSourceArn"]) or "", {}).get("Properties", {})
        if queue.get("FifoQueue") and int(props.get("BatchSize", 10)) > 10:
            out.append(f"{k}: FIFO sources take at most 10 records per batch")
    for k, q in queues.items():
        redrive = q["Properties"].get("RedrivePolicy")
        if redrive and not 1 <= int(redrive["maxReceiveCount"]) <= 1000:
            out.append(f"{k}: maxReceiveCount must be 1..1000")
    return out


def rule_dead_letter_queue_kind_matches_source(cfn: Template) -> list[str]:
    out = []
    queues = resources(cfn, "AWS::SQS::Queue")
    for k, q in queues.items():
        redrive = q["Properties"].get("RedrivePolicy")
        if not redrive:
            continue
        dlq = queues.get(_ref_id(redrive["deadLetterTargetArn"]) or "")
        if dlq is None:
            out.append(f"{k}: dead-letter target is not a queue of this stack")
        elif bool(q["Properties"].get("FifoQueue")) != bool(dlq["Properties"].get("FifoQueue")):
            out.append(f"{k}: a FIFO queue needs a FIFO DLQ and a standard queue a standard one")
    return out


def rule_every_work_queue_has_a_dead_letter_queue(cfn: Template) -> list[str]:
    queues = resources(cfn, "AWS::SQS::Queue")
    dlqs = {
        _ref_id(q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for q in queues.values()
        if q["Properties"].get("RedrivePolicy")
    }
    return [
        f"{k}: no RedrivePolicy"
        for k, q in queues.items()
        if k not in dlqs and not q["Properties"].get("RedrivePolicy")
    ]


def rule_table_ttl_pitr_and_cmk_encryption(cfn: Template) -> list[str]:
    out = []
    tables = resources(cfn, "AWS::DynamoDB::Table")
    if not tables:
        out.append("no DynamoDB table")
    for k, t in tables.items():
        p = t["Properties"]
        if not (p.get("TimeToLiveSpecification") or {}).get("Enabled"):
            out.append(f"{k}: TTL missing")
        if not (p.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled"):
            out.append(f"{k}: point-in-time recovery off")
        sse = p.get("SSESpecification") or {}
        if not (sse.get("SSEEnabled") and sse.get("SSEType") == "KMS" and sse.get("KMSMasterKeyId")):
            out.append(f"{k}: not encrypted with a customer-managed KMS key")
        if not p.get("GlobalSecondaryIndexes"):
            out.append(f"{k}: no GSI")
    return out


def rule_queues_and_buckets_encrypted(cfn: Template) -> list[str]:
    out = [
        f"{k}: queue not encrypted"
        for k, q in resources(cfn, "AWS::SQS::Queue").items()
        if not (q["Properties"].get("SqsManagedSseEnabled") or q["Properties"].get("KmsMasterKeyId"))
    ]
    out += [
        f"{k}: bucket has no default encryption"
        for k, b in resources(cfn, "AWS::S3::Bucket").items()
        if not b["Properties"].get("BucketEncryption")
    ]
    return out


def rule_no_wildcard_actions_in_function_roles(cfn: Template) -> list[str]:
    out = []
    for k, role in resources(cfn, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement.get("Action", [])
                actions = [actions] if isinstance(actions, str) else actions
                for action in actions:
                    if action == "*" or action.endswith(":*"):
                        out.append(f"{k}: wildcard action {action}")
                if statement.get("Resource") == "*" and statement.get("Effect") == "Allow":
                    out.append(f"{k}: Allow on Resource '*' ({actions})")
    return out


def rule_runtime_and_architecture(cfn: Template) -> list[str]:
    return [
        f"{k}: must be python3.13 on arm64"
        for k, f in resources(cfn, "AWS::Lambda::Function").items()
        if f["Properties"].get("Runtime") != "python3.13" or f["Properties"].get("Architectures") != ["arm64"]
    ]


RULES = [
    rule_sqs_sources_report_batch_item_failures,
    rule_visibility_timeout_at_least_six_function_timeouts,
    rule_fifo_batch_and_redrive_limits,
    rule_dead_letter_queue_kind_matches_source,
    rule_every_work_queue_has_a_dead_letter_queue,
    rule_table_ttl_pitr_and_cmk_encryption,
    rule_queues_and_buckets_encrypted,
    rule_no_wildcard_actions_in_function_roles,
    rule_runtime_and_architecture,
]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
def test_our_template_keeps_the_rule(transformed_template: Template, rule: Any) -> None:
    assert rule(transformed_template) == []


@pytest.fixture(scope="module")
def broken_template() -> Template:
    return transform(ROOT / "tests" / "fixtures" / "broken_template.yaml")


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
def test_each_rule_catches_its_violation(broken_template: Template, rule: Any) -> None:
    assert rule(broken_template), f"{rule.__name__} found nothing in the broken template"


def test_http_api_routes(transformed_template: Template) -> None:
    api = resources(transformed_template, "AWS::ApiGatewayV2::Api")
    body = next(iter(api.values()))["Properties"]["Body"]
    paths = {(path, method.upper()) for path, ops in body["paths"].items() for method in ops}
    assert {("/webhooks/clio/{connection_id}", "POST"), ("/webhooks/xero", "POST"), ("/health", "GET")} <= paths


def test_dlq_alarm_is_wired_to_the_topic(transformed_template: Template) -> None:
    alarm = resources(transformed_template, "AWS::CloudWatch::Alarm")["DeadLetterQueueDepthAlarm"]
    props = alarm["Properties"]
    assert props["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert (props["Threshold"], props["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    subscription = transformed_template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"


def test_raw_deliveries_kept_at_least_14_days(transformed_template: Template) -> None:
    param = transformed_template["Parameters"]["DeliveryRetentionDays"]
    assert int(param["Default"]) >= 14 and int(param["MinValue"]) >= 14
    bucket = transformed_template["Resources"]["DeliveryBucket"]["Properties"]
    rules = {r["Prefix"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["deliveries/"]["ExpirationInDays"] == {"Ref": "DeliveryRetentionDays"}
    # Nothing else expires sooner than the raw deliveries, and the trust reports are kept.
    assert set(rules) == {"deliveries/", "receivables/reports/"}
    assert rules["receivables/reports/"]["ExpirationInDays"] >= 14


def test_secrets_are_not_template_values(transformed_template: Template) -> None:
    text = json.dumps(transformed_template).lower()
    for needle in ("client_secret", 'webhook_key":', "password"):
        assert needle not in text
    xero_env = transformed_template["Resources"]["XeroWebhookFunction"]["Properties"]["Environment"]["Variables"]
    assert "XERO_WEBHOOK_KEY_PARAMETER" in xero_env  # a parameter *name*, resolved at run time


def test_template_file_is_valid_yaml_with_transform() -> None:
    text = Path(ROOT / "template.yaml").read_text()
    assert "Transform: AWS::Serverless-2016-10-31" in text
