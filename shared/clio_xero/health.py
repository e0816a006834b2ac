"""The /health answer."""

from __future__ import annotations

import json
from typing import Any

from clio_xero import __version__


def health_response() -> dict[str, Any]:
    body = json.dumps({"status": "ok", "service": "clio-xero", "version": __version__})
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": body}
