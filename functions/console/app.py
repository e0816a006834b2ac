"""Lambda: GET/POST /console... — the administrator's settings and status page (clio_xero.console)."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from clio_xero.console.app import Console
from clio_xero.console.wiring import ConsoleSettings, build_console, serve_console

logger = Logger()


@cache
def _console() -> Console:
    return build_console(ConsoleSettings.from_env(os.environ), log=logger)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return serve_console(_console(), event)
