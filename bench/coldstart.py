"""Cold start of each HTTP function: handler-module import time in fresh processes vs bare boto3.

Every sample is a new ``python -c`` process that times (``time.perf_counter``, inside the process)
exactly one statement: loading the function's ``app.py`` with ``importlib.util`` the way the Lambda
runtime does, or the baseline ``import boto3; boto3.client("sqs")``. Interpreter start-up is not
in any sample, and nothing is subtracted.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import ROOT, TEMPLATE, RunOptions, Section, median, table, verdict
from clio_xero_tools.local.cfn_yaml import load_template
from clio_xero_tools.local.template import SamTemplate

ROUNDS = 9  # samples per statement (the median is reported); the brief asks for at least 7
TARGET_RATIO = 1.5
IMPORTTIME_RUNS = 3
IMPORTTIME_TOP = 8
RECEIVERS = ("XeroWebhookFunction", "ClioWebhookFunction", "HealthFunction")
REGION = "us-east-1"

_TIMED = """\
import time
{setup}
t0 = time.perf_counter()
{statement}
print(repr(time.perf_counter() - t0))
"""

_LOAD_HANDLER = """\
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)"""


@dataclass(frozen=True)
class Probe:
    """A statement timed in fresh processes, with the environment it runs in."""

    label: str
    code: str
    env: dict[str, str]
    target: bool  # a receiver checked against the boto3 baseline (else informational)


def base_environment() -> dict[str, str]:
    """This process's environment without AWS/Powertools/bytecode settings, plus the fixed ones."""
    dropped = ("AWS_", "POWERTOOLS_")
    bytecode = {"PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "PYTHONPROFILEIMPORTTIME"}
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped) and k not in bytecode}
    env.update(
        {
            "POWERTOOLS_TRACE_DISABLED": "1",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_SESSION_TOKEN": "bench",
        }
    )
    return env


def dummy_environment(template: SamTemplate, logical_id: str) -> dict[str, str]:
    """The function's template variables: literals kept, parameter Refs at their default, rest dummies."""
    defaults = template.parameter_defaults()
    env: dict[str, str] = {}
    for name, value in template.functions[logical_id].environment.items():
        if isinstance(value, str):
            env[name] = value
        elif isinstance(value, dict) and value.get("Ref") in defaults:
            env[name] = defaults[str(value["Ref"])]
        else:
            env[name] = f"bench-dummy-{name.lower()}"
    return env


def timed_code(setup: str, statement: str) -> str:
    return _TIMED.format(setup=setup, statement=statement)


def handler_code(path: Path) -> str:
    return timed_code("import importlib.util", _LOAD_HANDLER.format(path=str(path)))


def probes(template: SamTemplate) -> list[Probe]:
    base = base_environment()
    found = [
        Probe(
            'baseline: `import boto3; boto3.client("sqs")`',
            timed_code("", f'import boto3\nboto3.client("sqs", region_name="{REGION}")'),
            base,
            target=False,
        )
    ]
    for fid in RECEIVERS:
        spec = template.functions[fid]
        found.append(
            Probe(
                f"`{spec.module_file.relative_to(ROOT)}` ({fid})",
                handler_code(spec.module_file),
                {**base, **dummy_environment(template, fid)},
                target=True,
            )
        )
    found += [
        Probe("`import boto3` (no client)", timed_code("", "import boto3"), base, target=False),
        Probe(
            "`from aws_lambda_powertools.event_handler import APIGatewayHttpResolver`",
            timed_code("", "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver"),
            base,
            target=False,
        ),
    ]
    return found


def sample(probe: Probe) -> float:
    """One fresh process; returns the statement's wall time in milliseconds."""
    done = subprocess.run(  # noqa: S603 - our own interpreter running our own code
        [sys.executable, "-c", probe.code], env=probe.env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{probe.label} failed in a fresh process:\n{done.stderr}")
    return float(done.stdout.strip().splitlines()[-1]) * 1000


@dataclass(frozen=True)
class ImportEntry:
    name: str
    depth: int
    self_us: int
    cumulative_us: int


_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


def parse_importtime(stderr: str) -> list[ImportEntry]:
    entries = []
    for line in stderr.splitlines():
        m = _IMPORTTIME.match(line)
        if m:
            entries.append(ImportEntry(m[4], len(m[3]) // 2, int(m[1]), int(m[2])))
    return entries


def _importtime(code: str, env: dict[str, str]) -> list[ImportEntry]:
    done = subprocess.run(  # noqa: S603 - our own interpreter running our own code
        [sys.executable, "-X", "importtime", "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return parse_importtime(done.stderr)


def importtime_profile(probe: Probe, runs: int = IMPORTTIME_RUNS) -> list[ImportEntry]:
    """``-X importtime`` of ``probe`` over a few runs: per module, the run with the median cumulative.

    Modules the interpreter imports before the statement (``site``, ``encodings``, the venv's
    ``.pth`` files, ``importlib.util`` for the loader) are left out: they are not the handler's.
    """
    startup = {e.name for e in _importtime("import time\nimport importlib.util", probe.env)}
    by_name: dict[str, list[ImportEntry]] = {}
    for _ in range(runs):
        for entry in _importtime(probe.code, probe.env):
            if entry.name not in startup:
                by_name.setdefault(entry.name, []).append(entry)
    chosen = [sorted(es, key=lambda e: e.cumulative_us)[len(es) // 2] for es in by_name.values()]
    return sorted(chosen, key=lambda e: e.cumulative_us, reverse=True)


def ms(value: float) -> str:
    return f"{value:.0f}"


def run(opts: RunOptions) -> Section:
    del opts  # the same on --quick: it is already short
    template = SamTemplate.from_dict(load_template(TEMPLATE), TEMPLATE.parent)
    all_probes = probes(template)
    for probe in all_probes:  # warm: write every .pyc first, so no sample pays for compiling
        sample(probe)
    samples: dict[str, list[float]] = {p.label: [] for p in all_probes}
    for _ in range(ROUNDS):  # interleaved, so drift on the machine hits every statement alike
        for probe in all_probes:
            samples[probe.label].append(sample(probe))
    baseline = median(samples[all_probes[0].label])

    rows: list[list[Any]] = []
    targets: list[tuple[str, bool]] = []
    for probe in all_probes:
        values = samples[probe.label]
        ratio = median(values) / baseline
        if probe.target:
            ok = ratio <= TARGET_RATIO
            name = probe.label.split("(")[-1].rstrip(")")
            targets.append((f"{name} cold import ≤ {TARGET_RATIO}x boto3 + SQS client ({ratio:.2f}x)", ok))
            check = verdict(ok)
        else:
            check = "baseline" if probe is all_probes[0] else "info"
        rows.append([probe.label, ms(median(values)), ms(min(values)), ms(max(values)), f"{ratio:.2f}x", check])

    xero = next(p for p in all_probes if "XeroWebhookFunction" in p.label)
    profile = importtime_profile(xero)
    top = profile[:IMPORTTIME_TOP]
    direct = [e for e in profile if e.depth == 0][:IMPORTTIME_TOP]

    def import_rows(entries: list[ImportEntry]) -> list[list[Any]]:
        return [[f"`{e.name}`", e.depth, f"{e.cumulative_us / 1000:.1f}", f"{e.self_us / 1000:.1f}"] for e in entries]

    has_boto = any(e.name == "boto3" for e in profile)
    boto_note = (
        "The receiver imports boto3 at module load (see the nesting above): its clients are created "
        "lazily, on the first invocation, but `boto3` itself is not."
        if has_boto
        else "The receiver does not import boto3 at module load."
    )
    body = "\n\n".join(
        [
            f"Target: each HTTP receiver's handler module imports in at most {TARGET_RATIO}x the time of "
            f'`import boto3; boto3.client("sqs", region_name="{REGION}")`, measured in the same run.',
            "**Method.** Every sample is a fresh `python -c` process timing one statement with "
            "`time.perf_counter()` inside the process (interpreter start-up is not included and nothing is "
            "subtracted). A handler module is loaded with `importlib.util.spec_from_file_location` + "
            "`exec_module`, as the Lambda runtime loads `app.handler`. Each statement ran once first so every "
            "`.pyc` exists (as after `make build`, which precompiles; without `.pyc` imports cost 2-3x more, "
            f"see docs/facts-aws.md#cold-import), then {ROUNDS} interleaved rounds; the table shows the "
            "median, min and max. Environment: `POWERTOOLS_TRACE_DISABLED=1`, "
            f"`AWS_DEFAULT_REGION={REGION}`, dummy credentials, and each function's template variables set "
            "to dummies (parameter references at their defaults); importing needs none of them. "
            "Informational rows are not targets.",
            table(["statement", "median ms", "min ms", "max ms", "÷ baseline", "target"], rows),
            f"**Where the Xero receiver's import time goes** (`python -X importtime`, {IMPORTTIME_RUNS} runs, "
            f"the median run per module; microsecond totals converted to ms). Top {IMPORTTIME_TOP} by "
            "cumulative time (entries nest: depth 0 is imported directly by `app.py`):",
            table(["module", "depth", "cumulative ms", "self ms"], import_rows(top)),
            "Imported directly by the handler module (depth 0), by cumulative time:",
            table(["module", "depth", "cumulative ms", "self ms"], import_rows(direct)),
            boto_note,
        ]
    )
    return Section("Receiver cold start (import of the handler module)", body, targets)
