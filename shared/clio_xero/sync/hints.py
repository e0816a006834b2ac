"""Hints a person can act on, for the failures we can recognise (shown by `clio-xero errors`)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from clio_xero.errors import NeedsReconnectError, SyncError

_HINTS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"(payments or credit notes applied|cannot be voided as it has a payment)", re.I),
        "remove the payments/allocations from the invoice in Xero (or undo the void in Clio), then `clio-xero retry`",
    ),
    (
        re.compile(r"not subscribed to (\w+)", re.I),
        "add {0} in Xero (Settings > Currencies), then `clio-xero retry`",
    ),
    (
        re.compile(r"was not sent to Xero: Xero would total", re.I),
        "compare the bill in Clio with the tax_type_* and line_amount_types settings (docs/billing.md), then retry",
    ),
    (
        re.compile(r"account code '?(\w+)'? .*(archived|not active)", re.I),
        "account {0} is archived in Xero: choose another code with `clio-xero settings set`",
    ),
    (
        re.compile(r"account code '?(\w+)'? .*(not valid|does not exist)", re.I),
        "account {0} does not exist in Xero: check the account codes in `clio-xero settings show`",
    ),
    (
        re.compile(r"email address must be valid", re.I),
        "fix the contact's email address in Clio; it syncs again on save",
    ),
    (
        re.compile(r"contact name .* already assigned", re.I),
        "another Xero contact has this name: `clio-xero contacts review`",
    ),
    (
        re.compile(r"contact number .* already assigned", re.I),
        "another Xero contact carries this Contact Code: clear it in Xero or `clio-xero contacts link`",
    ),
    (
        re.compile(r"archived", re.I),
        "the Xero contact is archived: restore it in Xero, or unlink it with `clio-xero contacts unlink`",
    ),
]


def hint_for(exc: SyncError, messages: Sequence[str]) -> str | None:
    if isinstance(exc, NeedsReconnectError):
        return "reconnect the account: `clio-xero connect` (then `clio-xero dlq redrive --all`)"
    for text in [*messages, exc.message]:
        for pattern, template in _HINTS:
            match = pattern.search(text)
            if match:
                return template.format(*match.groups())
    return None
