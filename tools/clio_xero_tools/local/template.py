"""What the local runtime needs to know from a SAM template: functions, their events, data resources.

Pure: reads the parsed template, does no I/O. SAM's ``Globals.Function`` are merged into each
function the way SAM does (maps merged, scalars overridden, ``Environment.Variables`` merged).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Resource types moto's CloudFormation can create. Others (alarms, bucket policies, SNS
# subscriptions, API Gateway, IAM, Lambda) are skipped locally and listed by `local up`.
MOTO_CFN_TYPES = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::KMS::Alias",
        "AWS::SNS::Topic",
        "AWS::SSM::Parameter",
        "AWS::SecretsManager::Secret",
    }
)

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class HttpRoute:
    method: str  # upper case, or ANY
    path: str  # /webhooks/clio/{connection_id}

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class SqsSource:
    name: str
    queue: Any  # an intrinsic expression resolving to the queue ARN
    batch_size: int
    report_batch_item_failures: bool
    enabled: bool = True


@dataclass(frozen=True)
class ScheduleSource:
    name: str
    expression: str
    interval_seconds: int
    enabled: bool = True
    input: str | None = None


@dataclass
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    timeout: int
    memory_mb: int
    environment: dict[str, Any]
    http_routes: list[HttpRoute] = field(default_factory=list)
    sqs_sources: list[SqsSource] = field(default_factory=list)
    schedules: list[ScheduleSource] = field(default_factory=list)

    @property
    def module_file(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        return self.code_dir / (module.replace(".", "/") + ".py")

    @property
    def handler_name(self) -> str:
        return self.handler.rpartition(".")[2]


def schedule_interval(expression: str) -> int:
    """Seconds between runs for ``rate(N unit)``; cron expressions are not run locally."""
    match = _RATE.match(expression.strip())
    if not match:
        raise ValueError(f"only rate(...) schedules run locally, not {expression!r}")
    count, unit = int(match.group(1)), match.group(2).rstrip("s")
    return count * _UNIT_SECONDS[unit]


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _function(logical_id: str, props: dict[str, Any], root: Path) -> FunctionSpec:
    env = (props.get("Environment") or {}).get("Variables") or {}
    spec = FunctionSpec(
        logical_id=logical_id,
        code_dir=(root / str(props.get("CodeUri", "."))).resolve(),
        handler=str(props["Handler"]),
        timeout=int(props.get("Timeout", 3)),
        memory_mb=int(props.get("MemorySize", 128)),
        environment=dict(env),
    )
    for name, event in (props.get("Events") or {}).items():
        kind, ev = event.get("Type"), event.get("Properties") or {}
        if kind == "HttpApi":
            spec.http_routes.append(HttpRoute(str(ev.get("Method", "ANY")).upper(), str(ev.get("Path", "/"))))
        elif kind == "SQS":
            spec.sqs_sources.append(
                SqsSource(
                    name=name,
                    queue=ev["Queue"],
                    batch_size=int(ev.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures" in (ev.get("FunctionResponseTypes") or []),
                    enabled=bool(ev.get("Enabled", True)),
                )
            )
        elif kind in ("Schedule", "ScheduleV2"):
            expression = str(ev.get("Schedule") or ev.get("ScheduleExpression"))
            enabled = bool(ev.get("Enabled", True)) and ev.get("State", "ENABLED") != "DISABLED"
            spec.schedules.append(
                ScheduleSource(name, expression, schedule_interval(expression), enabled, ev.get("Input"))
            )
    return spec


@dataclass
class SamTemplate:
    """The parts of a SAM template the local runtime acts on."""

    raw: dict[str, Any]
    root: Path
    functions: dict[str, FunctionSpec]

    @classmethod
    def from_dict(cls, raw: dict[str, Any], root: Path) -> SamTemplate:
        globals_fn = (raw.get("Globals") or {}).get("Function") or {}
        functions = {}
        for logical_id, resource in raw["Resources"].items():
            if resource.get("Type") == "AWS::Serverless::Function":
                props = _merge(globals_fn, resource.get("Properties") or {})
                functions[logical_id] = _function(logical_id, props, root)
        return cls(raw=raw, root=root, functions=functions)

    def data_resources(self) -> dict[str, Any]:
        return {k: v for k, v in self.raw["Resources"].items() if v.get("Type") in MOTO_CFN_TYPES}

    def skipped_resources(self) -> dict[str, str]:
        return {
            k: v["Type"]
            for k, v in self.raw["Resources"].items()
            if v.get("Type") not in MOTO_CFN_TYPES and v.get("Type") != "AWS::Serverless::Function"
        }

    def parameter_defaults(self) -> dict[str, str]:
        return {name: str(p["Default"]) for name, p in (self.raw.get("Parameters") or {}).items() if "Default" in p}
