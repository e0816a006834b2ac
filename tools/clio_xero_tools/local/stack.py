"""Create a template's data resources in moto through CloudFormation, and resolve what functions need.

The functions' environment values and SQS event-source queues are added as stack *outputs*, so
CloudFormation itself resolves every ``!Ref``/``!GetAtt``/``!Sub``: there is no second, hand-kept
list of tables and queues. moto's CloudFormation ignores a few properties; they are applied after
the stack is created (TTL, point-in-time recovery; see docs/facts-aws.md#moto).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from clio_xero_tools.local.template import SamTemplate

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass
class DeployedStack:
    name: str
    physical_ids: dict[str, str]
    function_env: dict[str, dict[str, str]]
    sqs_queue_arns: dict[tuple[str, str], str]
    outputs: dict[str, str] = field(default_factory=dict)
    unresolved: dict[str, str] = field(default_factory=dict)


def _references(expr: Any) -> set[str]:
    """Logical ids an intrinsic expression refers to."""
    found: set[str] = set()
    if isinstance(expr, dict):
        for k, v in expr.items():
            if k == "Ref" and isinstance(v, str):
                found.add(v)
            elif k == "Fn::GetAtt":
                target = v[0] if isinstance(v, list) else str(v).split(".", 1)[0]
                found.add(str(target))
            elif k == "Fn::Sub":
                text = v[0] if isinstance(v, list) else v
                found.update(_sub_names(str(text)))
                if isinstance(v, list) and len(v) > 1:
                    found.update(_references(v[1]))
            else:
                found.update(_references(v))
    elif isinstance(expr, list):
        for item in expr:
            found.update(_references(item))
    return found


def _sub_names(text: str) -> set[str]:
    import re

    return {m.split(".", 1)[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text)}


def build_local_template(
    template: SamTemplate,
) -> tuple[dict[str, Any], dict[str, tuple[str, str]], dict[str, tuple[str, str]], dict[str, str]]:
    """The CloudFormation body to create, plus which output answers which question.

    Returns (body, env_outputs: output -> (function, variable), queue_outputs: output -> (function,
    source), unresolved: "function.variable" -> why).
    """
    resources = template.data_resources()
    known = set(resources) | set(template.raw.get("Parameters") or {})
    outputs: dict[str, Any] = {}
    env_outputs: dict[str, tuple[str, str]] = {}
    queue_outputs: dict[str, tuple[str, str]] = {}
    unresolved: dict[str, str] = {}
    for fi, (fid, fn) in enumerate(sorted(template.functions.items())):
        for vi, (var, value) in enumerate(sorted(fn.environment.items())):
            if isinstance(value, str | int | float | bool):
                continue
            missing = {r for r in _references(value) if not r.startswith("AWS::") and r not in known}
            if missing:
                unresolved[f"{fid}.{var}"] = f"refers to {', '.join(sorted(missing))}, not created locally"
                continue
            out = f"F{fi}E{vi}"
            outputs[out] = {"Value": value}
            env_outputs[out] = (fid, var)
        for si, source in enumerate(fn.sqs_sources):
            out = f"F{fi}Q{si}"
            outputs[out] = {"Value": source.queue}
            queue_outputs[out] = (fid, source.name)
    # The template's own outputs, where they refer only to what exists locally, so tools that
    # read a stack's outputs (the CLI) work the same against `local up` and a deployed stack.
    for name, output in (template.raw.get("Outputs") or {}).items():
        refs = _references(output.get("Value"))
        if all(r.startswith("AWS::") or r in known for r in refs):
            outputs[name] = {"Value": output["Value"]}
    body: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": template.raw.get("Parameters") or {},
        "Conditions": template.raw.get("Conditions") or {},
        "Resources": resources,
        "Outputs": outputs,
    }
    if not body["Conditions"]:
        del body["Conditions"]
    return body, env_outputs, queue_outputs, unresolved


def deploy(
    template: SamTemplate,
    cloudformation: CloudFormationClient,
    dynamodb: DynamoDBClient,
    *,
    stack_name: str,
    parameters: dict[str, str] | None = None,
) -> DeployedStack:
    """Create the stack in moto and return the resolved names a function sees."""
    body, env_outputs, queue_outputs, unresolved = build_local_template(template)
    params = [{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()]
    cloudformation.create_stack(StackName=stack_name, TemplateBody=json.dumps(body), Parameters=params)  # type: ignore[arg-type]
    described = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    if described["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"local stack {stack_name}: {described['StackStatus']} {described.get('StackStatusReason')}")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    # moto lists a resource its condition left out as an entry with no logical id: skip those.
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
        if "LogicalResourceId" in r
    }
    function_env: dict[str, dict[str, str]] = {}
    for fid, fn in template.functions.items():
        function_env[fid] = {k: str(v) for k, v in fn.environment.items() if isinstance(v, str | int | float | bool)}
    for out, (fid, var) in env_outputs.items():
        function_env[fid][var] = outputs[out]
    queues = {(fid, src): outputs[out] for out, (fid, src) in queue_outputs.items()}
    _apply_ignored_table_properties(template, physical, dynamodb)
    return DeployedStack(stack_name, physical, function_env, queues, outputs, unresolved)


def _apply_ignored_table_properties(template: SamTemplate, physical: dict[str, str], dynamodb: DynamoDBClient) -> None:
    """moto's CloudFormation drops TTL and PITR: apply them as the real service would."""
    for logical_id, resource in template.data_resources().items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource.get("Properties") or {}
        table = physical[logical_id]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=table, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )
        pitr = props.get("PointInTimeRecoverySpecification") or {}
        if pitr.get("PointInTimeRecoveryEnabled"):
            dynamodb.update_continuous_backups(
                TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )


def create_table_args(template: SamTemplate, logical_id: str, table_name: str) -> dict[str, Any]:
    """``CreateTable`` arguments for a template table (used for DynamoDB Local)."""
    props = template.raw["Resources"][logical_id]["Properties"]
    args: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    return args
