"""The operator alarms (issue 5) exist after the SAM transform, watch the right metrics and notify the topic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import ROOT

RUNBOOK = ROOT / "docs" / "runbook.md"
RUNBOOK_ALARMS = (
    "DeadLetterQueueDepthAlarm",
    "RecordsDeadLetteredAlarm",
    "SyncWorkerErrorsAlarm",
    "TokenRefreshFailuresAlarm",
    "IntakeFailuresAlarm",
    "WebhookReceiverErrorsAlarm",
)
CUSTOM = {
    "RecordsDeadLetteredAlarm": "DeadLettered",
    "TokenRefreshFailuresAlarm": "TokenRefreshFailures",
    "IntakeFailuresAlarm": "IntakeFailures",
}


def alarms(cfn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in cfn["Resources"].items() if v["Type"] == "AWS::CloudWatch::Alarm"}


def test_custom_metric_alarms_watch_the_powertools_metrics(transformed_template: dict[str, Any]) -> None:
    found = alarms(transformed_template)
    for name, metric in CUSTOM.items():
        props = found[name]
        assert (props["Namespace"], props["MetricName"]) == ("ClioXero", metric)
        # Powertools adds service=<POWERTOOLS_SERVICE_NAME>; an alarm without it watches nothing.
        assert props["Dimensions"] == [{"Name": "service", "Value": "clio-xero"}]
        assert (props["Statistic"], props["Threshold"], props["ComparisonOperator"]) == (
            "Sum",
            1,
            "GreaterThanOrEqualToThreshold",
        )
        assert props["TreatMissingData"] == "notBreaching"


def test_metric_names_are_the_ones_the_code_emits() -> None:
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "shared" / "clio_xero").rglob("*.py"))
    for metric in CUSTOM.values():
        assert f'"{metric}"' in sources, f"no code emits {metric}"


def test_function_error_alarms_watch_the_functions(transformed_template: dict[str, Any]) -> None:
    found = alarms(transformed_template)
    worker = found["SyncWorkerErrorsAlarm"]
    assert (worker["Namespace"], worker["MetricName"]) == ("AWS/Lambda", "Errors")
    assert worker["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "SyncWorkerFunction"}}]
    receivers = found["WebhookReceiverErrorsAlarm"]["Metrics"]
    watched = {m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"] for m in receivers if "MetricStat" in m}
    assert watched == {"ClioWebhookFunction", "XeroWebhookFunction"}
    assert [m["Id"] for m in receivers if m.get("ReturnData", True)] == ["total"]


def test_every_alarm_notifies_the_topic_and_has_a_runbook_entry(transformed_template: dict[str, Any]) -> None:
    runbook = Path(RUNBOOK).read_text(encoding="utf-8")
    found = alarms(transformed_template)
    for name in RUNBOOK_ALARMS:
        props = found[name]
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert f"\n## {name.removesuffix('Alarm')}\n" in runbook, f"{name}: no section in docs/runbook.md"
