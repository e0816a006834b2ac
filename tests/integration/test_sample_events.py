"""events/*.json: current with the generator, and each gets the documented answer from its handler."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from clio_xero.store.connections import Connection, DynamoConnectionStore
from clio_xero_tools.local.runtime import LocalRuntime, RuntimeOptions
from clio_xero_tools.sample_events import SAMPLE_CONNECTION, SAMPLE_TENANT, SAMPLE_XERO_KEY, Case, cases, render
from tests.conftest import ROOT, TEMPLATE

pytestmark = pytest.mark.integration
CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.file)
def test_event_file_is_current(case: Case) -> None:
    path = ROOT / "events" / case.file
    assert path.read_text(encoding="utf-8") == render(case), "run `make events`"


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    options = RuntimeOptions(
        template=TEMPLATE, poll=False, schedule=False, xero_webhook_key=SAMPLE_XERO_KEY, function_output=io.StringIO()
    )
    with LocalRuntime(options) as rt:
        DynamoConnectionStore(rt.physical_id("Table"), rt.client("dynamodb")).put_new(
            Connection(connection_id=SAMPLE_CONNECTION, xero_tenant_id=SAMPLE_TENANT, created_at=datetime.now(UTC))
        )
        rt.expect_clio_activation(SAMPLE_CONNECTION, "contact")  # what registration records
        yield rt


def test_every_case_gets_its_documented_status(runtime: LocalRuntime) -> None:
    # In file order: the handshake comes before the deliveries it enables.
    got = {}
    for case in CASES:
        event = json.loads((ROOT / "events" / case.file).read_text(encoding="utf-8"))
        got[case.file] = runtime.functions[case.function].invoke(event)["statusCode"]
    assert got == {case.file: case.status for case in CASES}


def test_every_receiver_answer_is_covered() -> None:
    statuses = {(c.function, c.status) for c in CASES}
    assert {("XeroWebhookFunction", s) for s in (200, 401)} <= statuses
    assert {("ClioWebhookFunction", s) for s in (200, 400, 401, 404, 413)} <= statuses
