"""The record types this release syncs: the one place a new record type is registered.

Everything that needs the list reads :func:`default_registry` (the worker, the sweep, webhook
registration and renewal, the CLI's ``errors``, ``status`` and ``retry``). Parents come before
the types that depend on or belong to them.
"""

from __future__ import annotations

from functools import cache

from clio_xero.payments.plugins import payment_plugins
from clio_xero.sync.bills.plugin import ActivityPlugin, BillPlugin
from clio_xero.sync.contacts.plugin import ContactPlugin
from clio_xero.sync.core.registry import Registry

__all__ = ["default_registry"]


@cache
def default_registry() -> Registry:
    """Built once per process (tests may register a toy on it and unregister it after)."""
    bills = BillPlugin()
    return Registry([ContactPlugin(), bills, ActivityPlugin(bills), *payment_plugins()])
