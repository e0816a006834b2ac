"""Run ``Schedule`` events at their rate; time comes from an injected clock, so tests move it."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from clio_xero.clock import Clock
from clio_xero_tools.local.functions import ACCOUNT, REGION, LocalFunction
from clio_xero_tools.local.template import ScheduleSource

log = logging.getLogger(__name__)


def scheduled_event(rule: str, when: datetime) -> dict[str, Any]:
    """The EventBridge "Scheduled Event" a rule sends."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"],
        "detail": {},
    }


@dataclass
class ScheduledJob:
    function: LocalFunction
    source: ScheduleSource
    next_run: datetime
    runs: int = 0


class Scheduler:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.jobs: list[ScheduledJob] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, function: LocalFunction, source: ScheduleSource) -> None:
        if source.enabled:
            first = self._clock.now() + timedelta(seconds=source.interval_seconds)
            self.jobs.append(ScheduledJob(function, source, first))

    def run_due(self) -> int:
        """Invoke every job whose time has come, once; missed runs are not replayed (EventBridge
        does not catch up either)."""
        now = self._clock.now()
        ran = 0
        for job in self.jobs:
            if job.next_run <= now:
                rule = f"{job.function.spec.logical_id}{job.source.name}"
                event: Any = scheduled_event(rule, job.next_run)
                if job.source.input is not None:
                    event = json.loads(job.source.input)
                try:
                    job.function.invoke(event)
                except Exception:
                    log.exception("scheduled %s failed", rule)
                job.runs += 1
                ran += 1
                interval = timedelta(seconds=job.source.interval_seconds)
                while job.next_run <= now:
                    job.next_run += interval
        return ran

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.run_due()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
