"""The shared world's reset (tests/integration/conftest.py): a test starts where a new container would."""

from __future__ import annotations

import io

from clio_xero.clock import ManualClock
from clio_xero.events import RecordType
from clio_xero.sync.bills.plugin import BillPlugin
from clio_xero.sync.record_types import default_registry
from tests.integration.conftest import WorldPool

RECEIVER = "ClioWebhookFunction"  # answers the webhook handshakes of every world's set-up


def test_a_test_gets_new_plug_ins_and_cold_functions(shared_world: WorldPool) -> None:
    with shared_world(clock=ManualClock(), function_output=io.StringIO()) as first:
        bills = default_registry().get(RecordType.BILL)
        assert isinstance(bills, BillPlugin)
        # What a container remembers per connection; the next test reuses the connection id.
        bills._activities[first.connection_id] = {"7": "etag-of-an-earlier-test"}
        first_handler = first.runtime.functions[RECEIVER]._handler
        assert first_handler is not None
    with shared_world(clock=ManualClock(), function_output=io.StringIO()) as second:
        fresh = default_registry().get(RecordType.BILL)
        assert isinstance(fresh, BillPlugin)
        assert fresh is not bills and second.connection_id not in fresh._activities
        receiver = second.runtime.functions[RECEIVER]
        assert receiver._handler is not None and receiver._handler is not first_handler  # built anew
