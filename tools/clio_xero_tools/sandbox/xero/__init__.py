"""Xero sandbox: identity (OAuth, ``/connections``), accounting (``/api.xro/2.0``), webhooks and the
``/_sandbox`` admin surface in one WSGI app. See ``docs/sandbox-xero.md``."""

from clio_xero_tools.sandbox.xero.admin import Admin, AdminError
from clio_xero_tools.sandbox.xero.app import SchemaViolationError, XeroSandbox
from clio_xero_tools.sandbox.xero.ratelimit import XeroLimits
from clio_xero_tools.sandbox.xero.seed import OrgSeed, seed_org
from clio_xero_tools.sandbox.xero.webhooks import DeliveryRecord, WebhookEvent

__all__ = [
    "Admin",
    "AdminError",
    "DeliveryRecord",
    "OrgSeed",
    "SchemaViolationError",
    "WebhookEvent",
    "XeroLimits",
    "XeroSandbox",
    "seed_org",
]
