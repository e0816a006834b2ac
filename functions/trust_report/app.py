"""Lambda (scheduled daily, and on demand): last month's trust reconciliation into the bucket.

See clio_xero.trust.monthly; event ``{"as_of": "YYYY-MM-DD", "force": true}`` runs a given date.
"""

from __future__ import annotations

import os
from datetime import date
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from clio_xero.intake.lambda_entry import PowertoolsCounter
from clio_xero.trust.monthly import MonthlyTrustReports, build_monthly

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@cache
def _reports() -> MonthlyTrustReports:
    return build_monthly(dict(os.environ), log=logger, count=PowertoolsCounter(metrics))


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    as_of = event.get("as_of") if isinstance(event, dict) else None
    run = _reports().run(date.fromisoformat(as_of) if as_of else None, force=bool(event.get("force")))
    return {
        "as_of": run.as_of.isoformat(),
        "reports": [o.__dict__ for o in run.outcomes],
    }
