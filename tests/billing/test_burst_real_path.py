"""A month-end burst through the real path (issue 11: "Month-end bill run"), small: 40 bills
approved at the month-end rate (five a second, as 300 in a minute) for 8 clients not yet in Xero
→ the Clio sandbox's webhooks
→ the API receiver on the local runtime → SQS FIFO (moto over 127.0.0.1) → the real worker Lambda
→ both sandboxes over loopback, with their real rate limits on one ManualClock. The same driver as
`make bench`'s 300-bill run (bench/bills.py); the time to the last invoice is measured there, not
asserted here.
"""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime

import pytest

from bench.bills import month_end_burst
from clio_xero.clock import ManualClock
from clio_xero.sync.mapping import MappingStatus
from clio_xero.sync.settings import ConnectionSettings
from clio_xero_tools.local.world import local_world

pytestmark = pytest.mark.integration

BILLS, CLIENTS, SECONDS = 40, 8, 8


@pytest.mark.timeout(600)  # 40 bills and a simulated minute or two of polling through moto
def test_a_month_end_burst_is_coalesced_and_every_bill_is_invoiced_once() -> None:
    clock = ManualClock(datetime(2026, 11, 30, 17, 0, tzinfo=UTC))
    settings = ConnectionSettings(sync_bills=True, tax_type_primary="OUTPUT", use_clio_category_codes=False)
    with local_world(settings=settings, function_output=io.StringIO(), clock=clock) as world:
        world.xero_user_call("PUT", "/Currencies", {"Code": "USD"})  # the Clio sandbox bills in USD

        run = month_end_burst(world, clock, bills=BILLS, clients=CLIENTS, seconds=SECONDS, limit_seconds=300)

        bills = world.mappings.list(world.connection_id, "bill")
        contacts = world.mappings.list(world.connection_id, "contact")
    assert sorted(run.invoiced) == sorted(run.numbers)  # every bill invoiced, exactly once
    assert len(run.numbers) == BILLS
    assert run.invoice_writes <= math.ceil(BILLS / 10), run
    assert run.clio_calls <= BILLS / 4, run  # one by one: three or more a bill
    assert len([m for m in bills if m.status is MappingStatus.OK and m.xero_id]) == BILLS
    assert len([m for m in contacts if m.xero_id]) == CLIENTS
