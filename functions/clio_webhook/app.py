"""Lambda: POST /webhooks/clio/{connection_id} — handshake or verify, archive, enqueue."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths

from clio_xero.config import ReceiverSettings
from clio_xero.intake.clio import ClioIntake
from clio_xero.intake.lambda_entry import PowertoolsCounter, serve
from clio_xero.intake.wiring import build_clio_intake

logger = Logger()
metrics = Metrics()


@cache
def _intake() -> ClioIntake:
    settings = ReceiverSettings.from_env(os.environ)
    return build_clio_intake(settings, log=logger, count=PowertoolsCounter(metrics))


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return serve(_intake(), event)
