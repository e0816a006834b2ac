"""Lambda: GET /connect/{clio,xero}[/callback], /connect/xero/tenant — the signed-link OAuth connect flow."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths

from clio_xero.connect.flow import ConnectFlow
from clio_xero.connect.wiring import ConnectSettings, build_connect_flow, serve_connect
from clio_xero.intake.lambda_entry import PowertoolsCounter

logger = Logger()
metrics = Metrics()


@cache
def _flow() -> ConnectFlow:
    return build_connect_flow(ConnectSettings.from_env(os.environ), log=logger, count=PowertoolsCounter(metrics))


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return serve_connect(_flow(), event)
