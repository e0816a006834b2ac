"""Lambda: POST /webhooks/xero — verify, normalise, archive, enqueue (clio_xero.intake.xero)."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths

from clio_xero.config import XeroReceiverSettings
from clio_xero.intake.lambda_entry import PowertoolsCounter, serve
from clio_xero.intake.wiring import build_xero_intake
from clio_xero.intake.xero import XeroIntake

logger = Logger()
metrics = Metrics()


@cache
def _intake() -> XeroIntake:
    settings = XeroReceiverSettings.from_env(os.environ)
    return build_xero_intake(settings, log=logger, count=PowertoolsCounter(metrics))


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return serve(_intake(), event)
