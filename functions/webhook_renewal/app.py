"""Lambda (daily schedule): renew, recreate and record Clio webhooks; mark dead Xero links."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics

from clio_xero.clock import default_clock
from clio_xero.intake.lambda_entry import PowertoolsCounter
from clio_xero.webhooks.renewal import RenewalSettings, Services, build_renewal, renew_all, summary

logger = Logger()
metrics = Metrics()


@cache
def _services() -> Services:
    return build_renewal(RenewalSettings.from_env(os.environ), log=logger)


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    checks = renew_all(_services(), default_clock().now(), log=logger, count=PowertoolsCounter(metrics))
    result = summary(checks)
    logger.info("webhook renewal done", extra=result)
    return result
