"""``make bench``: run every benchmark and (re)write docs/benchmarks.md with results and targets.

A benchmark is a function ``(RunOptions) -> Section`` (see ``bench/common.py``); to add one, write
a module under ``bench/`` and append its function to :func:`benchmarks`. Targets are checked here,
never in timed tests. Exit status 1 when a target fails (the document is written either way).

Every run stores each section it measured in ``bench/results/<name>.json`` (with when, how and on
which machine) and then assembles docs/benchmarks.md from *all* stored results, so ``--only NAME``
(or a run elsewhere, such as ``make chaos``, that stores a result with :func:`store_result`)
replaces its own section and keeps the others: the document is never edited by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script (bench/run.py): make ``bench`` importable
    sys.path.insert(0, str(ROOT))

from bench.common import RunOptions, Section, table, verdict  # noqa: E402 - needs the sys.path entry above

Benchmark = Callable[[RunOptions], Section]

DOC = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "bench" / "results"
PACKAGES = ("boto3", "botocore", "aws-lambda-powertools", "pydantic", "httpx", "moto")


def benchmarks() -> list[tuple[str, Benchmark]]:
    """Every benchmark, in run order, by the name ``--only`` selects it with."""
    from bench import backfill, bills, coldstart, cost, intake, payments, trust

    return [
        ("coldstart", coldstart.run),
        ("latency", intake.run_latency),
        ("sustained", intake.run_sustained),
        ("backfill", backfill.run),
        ("bills", bills.run),
        ("bill-latency", bills.run_latency),
        ("bill-burst", bills.run_burst),
        ("payments", payments.run),
        ("trust", trust.run),
        ("cost", cost.run),
    ]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> list[tuple[str, str]]:
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return [
        ("CPUs (nproc)", str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())),
        ("CPU", cpu_model()),
        ("OS", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()}, `{sys.executable}`)"),
        ("Packages", ", ".join(versions)),
    ]


def store_result(
    name: str, section: Section, *, command: str, seconds: float, at: datetime, results: Path = RESULTS
) -> Path:
    """Keep one measured section (what the document is assembled from)."""
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"{name}.json"
    record = {
        "name": name,
        "title": section.title,
        "body": section.body,
        "targets": [[text, ok] for text, ok in section.targets],
        "measured_at": at.strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "seconds": round(seconds, 1),
        "machine": dict(machine()),
    }
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def stored_results(order: list[str], results: Path = RESULTS) -> list[dict[str, object]]:
    """Every stored result: the benchmarks' in run order, then any other (``make chaos``...) by name."""
    found = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(results.glob("*.json"))}
    ranked = [found.pop(name) for name in order if name in found]
    return ranked + [found[name] for name in sorted(found)]


def render(records: list[dict[str, object]]) -> str:
    info = machine()
    nproc = info[0][1]
    summary_rows = [
        [str(r["title"]), str(text), verdict(bool(ok))]
        for r in records
        for text, ok in r["targets"]  # type: ignore[attr-defined]
    ]
    failed = sum(1 for row in summary_rows if row[2] != verdict(True))
    parts = [
        "# Benchmarks",
        f"Assembled by `bench/run.py` (`make bench`) from the results stored in `bench/results/`; each "
        "section says when and with which command it was measured, on this "
        f"{nproc}-core machine. Do not edit by hand: rerun the command a section names. Performance "
        "targets are checked here, on a known machine, and never in timed tests (the test suite checks "
        "behaviour only). Absolute numbers depend on the machine; the cold-start target is a ratio to "
        "boto3 measured in the same run for that reason.",
        "## Machine",
        table(["", ""], info),
        "## Targets",
        table(["benchmark", "target", "result"], summary_rows),
        f"{len(summary_rows) - failed} of {len(summary_rows)} targets met."
        + ("" if not failed else f" **{failed} failed.**"),
    ]
    for r in records:
        checks = "\n".join(f"- {verdict(bool(ok))} {text}" for text, ok in r["targets"])  # type: ignore[attr-defined]
        took = f" ({r['seconds']} s)" if r.get("seconds") else ""
        stamp = f"*Measured {r['measured_at']} with `{r['command']}`{took}.*"
        if str(r["command"]).startswith("by hand"):
            stamp = f"*Written {r['measured_at']} {r['command']}.*"
        parts += [f"## {r['title']}", stamp, str(r["body"]).strip(), "**Targets.**\n\n" + checks if checks else ""]
    return "\n\n".join(p for p in parts if p).rstrip() + "\n"


def section_order() -> list[str]:
    order = [name for name, _ in benchmarks()]
    order.insert(order.index("sustained") + 1, "sustained-soak")  # `make soak`'s 10,000 deliveries
    return order


def write_document(output: Path = DOC, results: Path = RESULTS) -> None:
    """docs/benchmarks.md from every stored result (also after ``make chaos`` stores its own)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(stored_results(section_order(), results)), encoding="utf-8")


def command_line(argv: list[str] | None) -> str:
    given = sys.argv[1:] if argv is None else argv
    return " ".join(["python bench/run.py", *given]) if given else "make bench"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sustained-load run (100 deliveries)")
    names = [name for name, _ in benchmarks()]
    parser.add_argument("--only", choices=names, action="append", help="run only these (their sections are replaced)")
    parser.add_argument("--output", type=Path, default=DOC, help=f"where to write the results (default {DOC})")
    parser.add_argument("--deliveries", type=int, help="sustained-load size (make soak: 10,000)")
    args = parser.parse_args(argv)

    opts = RunOptions(quick=args.quick, deliveries=args.deliveries)
    t0 = time.perf_counter()
    sections: list[Section] = []
    for name, bench in benchmarks():
        if args.only and name not in args.only:
            continue
        print(f"== {name} ...", flush=True)
        started, b0 = datetime.now(UTC), time.perf_counter()
        section = bench(opts)
        sections.append(section)
        for target, ok in section.targets:
            print(f"   {'PASS' if ok else 'FAIL'}  {target}")
        seconds = time.perf_counter() - b0
        print(f"   ({seconds:.1f} s)", flush=True)
        stored_as = f"{name}-soak" if args.deliveries and name == "sustained" else name
        store_result(stored_as, section, command=command_line(argv), seconds=seconds, at=started)
    seconds = time.perf_counter() - t0
    write_document(args.output)
    print(f"wrote {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
    failed = [t for s in sections for t, ok in s.targets if not ok]
    print(f"{'all targets met' if not failed else f'{len(failed)} target(s) FAILED'} in {seconds:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
