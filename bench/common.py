"""What every benchmark shares: the :class:`Section` it returns, run options and statistics."""

from __future__ import annotations

import math
import os
import statistics
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from clio_xero.clients.clio import ClioClient
from clio_xero.clients.endpoints import ClioEndpoints, XeroEndpoints
from clio_xero.clients.oauth import StaticTokenSource
from clio_xero.clients.ratelimit import InMemoryRateBudget
from clio_xero.clients.xero import XeroClient
from clio_xero.clock import ManualClock
from clio_xero_tools.sandbox._base import wsgi_transport
from clio_xero_tools.sandbox.clio import ClioSandbox
from clio_xero_tools.sandbox.xero import XeroSandbox

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


@dataclass(frozen=True)
class RunOptions:
    quick: bool = False  # smaller sustained-load runs (CI smoke); the committed doc uses the full run
    deliveries: int | None = None  # sustained-load size override (`make soak`)


@dataclass
class Section:
    """One benchmark's part of docs/benchmarks.md: markdown body and the targets it checked."""

    title: str
    body: str
    targets: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(ok for _, ok in self.targets)


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (``pct`` in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of an empty sample")
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def verdict(passed: bool) -> str:
    return "**PASS**" if passed else "**FAIL**"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


@contextmanager
def quiet_stdout() -> Iterator[None]:
    """Send file descriptor 1 to /dev/null (the functions' JSON logs and metrics); stderr is kept."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def in_process_clients(
    clio_sb: ClioSandbox, xero_sb: XeroSandbox, tenant_id: str, clock: ManualClock
) -> tuple[ClioClient, XeroClient]:
    """The real API clients over both in-process sandboxes (WSGI transport), each with its own
    rate budget on ``clock``: what the backfill benchmarks run against."""
    clio = ClioClient(
        endpoints=ClioEndpoints(base_url="http://clio.test"),
        tokens=StaticTokenSource(clio_sb.issue_token()["access_token"], "clio"),
        budget=InMemoryRateBudget(clock),
        budget_key="bench",
        transport=wsgi_transport(clio_sb.wsgi_app),
        clock=clock,
    )
    xero = XeroClient(
        endpoints=XeroEndpoints.sandbox("http://xero.test"),
        tenant_id=tenant_id,
        tokens=StaticTokenSource(xero_sb.issue_tokens([tenant_id])["access_token"]),
        budget=InMemoryRateBudget(clock),
        transport=wsgi_transport(xero_sb.wsgi_app),
        clock=clock,
    )
    return clio, xero
