"""Lambda (scheduled daily): every connection's receivables compared; the number of differences
as the metric ReceivablesDifferences (alarm on non-zero). See clio_xero.payments.daily."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from clio_xero.intake.lambda_entry import PowertoolsCounter
from clio_xero.payments.daily import DailyReceivables, build_daily

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@cache
def _daily() -> DailyReceivables:
    return build_daily(dict(os.environ), log=logger, count=PowertoolsCounter(metrics))


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _daily().run()
