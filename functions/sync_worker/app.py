"""Lambda: the sync worker — SQS FIFO batch of SyncEvents → upserts on the other side."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from clio_xero.intake.lambda_entry import PowertoolsCounter
from clio_xero.sync.lambda_entry import process_sqs_batch
from clio_xero.sync.wiring import WorkerSettings, build_worker

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@cache
def _worker() -> tuple[Any, Any, str]:
    settings = WorkerSettings.from_env(os.environ)
    worker, sqs = build_worker(settings, log=logger, count=PowertoolsCounter(metrics))
    return worker, sqs, settings.queue_url


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> Any:
    worker, sqs, queue_url = _worker()
    return process_sqs_batch(event, context, worker=worker, sqs=sqs, queue_url=queue_url, logger=logger)
