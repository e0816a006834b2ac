"""Lambda: GET /health — liveness and version; touches no AWS service."""

from __future__ import annotations

from typing import Any

from clio_xero.health import health_response


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return health_response()
