"""Trim and check the built Lambda layer (`make build`, after `sam build`; docs/packaging.md).

``sam build`` installs shared/requirements.txt with every transitive dependency. aws-xray-sdk
declares botocore, so the layer used to carry its own botocore (plus urllib3, python-dateutil and
six, which only botocore needs) while boto3 came from the Lambda runtime: a boto3/botocore pair
nobody chose, since a layer sits before the runtime's own packages on ``sys.path``. We ship neither:
the runtime's boto3 and botocore, which AWS releases together, serve every function.

``prune`` removes every installed distribution that the requirements do not need once boto3,
botocore and s3transfer are left to the runtime (found from each distribution's metadata and its
RECORD, not from a hand-kept list). ``check`` fails when the layer holds the tooling package or any
of the runtime-provided AWS SDK packages. Standard library only: it runs before any virtualenv.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import shutil
import sys
from pathlib import Path

RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})
TOOLING = "clio_xero_tools"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str | None:
    """The project name of a requirement line, or None for comments, blanks and options."""
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith("-"):
        return None
    return canonical(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0])


def site_dir(layer: Path) -> Path:
    """Where the packages are: ``python/`` for a Python layer build, else the layer itself."""
    return layer / "python" if (layer / "python").is_dir() else layer


def needed(distributions: dict[str, importlib.metadata.Distribution], roots: set[str]) -> set[str]:
    """Every distribution reachable from ``roots`` through non-extra requirements, never through
    (or into) the runtime-provided SDK packages."""
    seen: set[str] = set()
    todo = [r for r in roots if r not in RUNTIME_PROVIDED]
    while todo:
        name = todo.pop()
        if name in seen or name not in distributions:
            continue
        seen.add(name)
        for requirement in distributions[name].requires or []:
            if "extra ==" in requirement.replace('"', "").replace("'", ""):
                continue
            dependency = requirement_name(requirement)
            if dependency and dependency not in RUNTIME_PROVIDED:
                todo.append(dependency)
    return seen


def installed(site: Path) -> dict[str, importlib.metadata.Distribution]:
    return {canonical(d.metadata["Name"]): d for d in importlib.metadata.distributions(path=[str(site)])}


def top_folders(distribution: importlib.metadata.Distribution) -> set[str]:
    """The top-level folders a distribution's RECORD puts files in (its import packages)."""
    return {
        file.parts[0]
        for file in distribution.files or []
        if len(file.parts) > 1 and file.parts[0] not in ("..", "__pycache__")
    }


def remove(distribution: importlib.metadata.Distribution, site: Path, shared: set[str]) -> None:
    """Delete a distribution's files as its RECORD lists them, then its top-level folders (with
    byte code compiled after install, which RECORD does not list) unless a kept distribution
    also has files there (``shared``), then folders left empty."""
    root = site.resolve()
    files = list(distribution.files or [])
    tops = top_folders(distribution) - shared
    folders: set[Path] = set()
    for file in files:
        path = (site / file).resolve()
        if root not in path.parents:
            continue  # a RECORD entry outside the layer (scripts in ../bin): not ours to delete
        path.unlink(missing_ok=True)
        folders.update(p for p in path.parents if root in p.parents)
    for top in tops:
        if (site / top).is_dir():
            shutil.rmtree(site / top)
    for module in (f for f in files if len(f.parts) == 1 and f.suffix == ".py"):
        for compiled in (site / "__pycache__").glob(f"{module.stem}.*.pyc"):
            compiled.unlink()
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def prune(layer: Path, requirements: Path) -> list[str]:
    """Remove what the layer does not need; the names removed, sorted."""
    site = site_dir(layer)
    distributions = installed(site)
    roots = {n for n in map(requirement_name, requirements.read_text().splitlines()) if n}
    keep = needed(distributions, roots)
    removed = sorted(set(distributions) - keep)
    shared = {top for name in keep for top in top_folders(distributions[name])}
    for name in removed:
        remove(distributions[name], site, shared)
    return removed


def problems(layer: Path) -> list[str]:
    """What must not be in a built layer: the tooling package, or an AWS SDK the runtime provides."""
    site = site_dir(layer)
    found = [f"tooling package {p.relative_to(layer)}" for p in layer.rglob(TOOLING) if p.is_dir()]
    found += sorted(f"runtime-provided {n} {d.version}" for n, d in installed(site).items() if n in RUNTIME_PROVIDED)
    found += [
        f"runtime-provided package folder {(site / n).relative_to(layer)}"
        for n in sorted(RUNTIME_PROVIDED)
        if (site / n).exists()
    ]
    return found


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1_000_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("layer", type=Path, help="the built layer, e.g. .aws-sam/build/SharedLayer")
    parser.add_argument("--requirements", type=Path, default=Path("shared/requirements.txt"))
    parser.add_argument("--check-only", action="store_true", help="do not prune, only check")
    args = parser.parse_args(argv)
    if not args.layer.is_dir():
        print(f"no built layer at {args.layer}: run `sam build` first", file=sys.stderr)
        return 2
    if not args.check_only:
        before = size_mb(args.layer)
        removed = prune(args.layer, args.requirements)
        after = size_mb(args.layer)
        print(f"layer {args.layer}: {before:.1f} MB -> {after:.1f} MB; removed {', '.join(removed) or 'nothing'}")
    found = problems(args.layer)
    for problem in found:
        print(f"layer check failed: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
