"""Lambda (scheduled): the sweep — queue hints for changes webhooks missed (clio_xero.sync.sweep)."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from clio_xero.intake.lambda_entry import PowertoolsCounter
from clio_xero.sync.wiring import WorkerSettings, build_sweep

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@cache
def _sweep() -> Any:
    return build_sweep(WorkerSettings.from_env(os.environ), log=logger, count=PowertoolsCounter(metrics))


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    report = _sweep().run()
    return {"connections": report.connections, "queued": report.queued, "failed": report.failed}
