"""The console's bill pages in a real headless browser, against `local up`'s runtime and both sandboxes
(the bill variant of tests/integration/test_console_browser.py, on the same fixtures).

An account code and a billing switch changed on the Settings page take effect on the next bill
approved in the Clio sandbox (read back from the Xero sandbox's invoice); "why didn't this bill
sync?" answers on the Errors page; the receivables report is viewed and downloaded from Reports.
Screenshots land in .cache/artefacts/console/.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from clio_xero.clock import SystemClock
from clio_xero_tools.local.world import LocalWorld, register_clio_webhooks
from clio_xero_tools.sandbox.clio.store import Record
from clio_xero_tools.sandbox.xero.store import Document
from tests.billing.test_real_path import SETTINGS, TRACKING, xero_admin
from tests.integration.browser import require_browser, screenshot
from tests.integration.conftest import WorldPool
from tests.integration.test_console_browser import (
    POLL_SECONDS,
    browser,
    click_and_load,
    go,
    heading,
    pytestmark,
    settings_now,
    sign_in,
    sign_in_url,
    submit,
)

# The console browser tests' Chromium (module-scoped) and marks (the same reasons hold here).
__all__ = ["browser", "pytestmark"]


@pytest.fixture
def world(shared_world: WorldPool) -> Iterator[LocalWorld]:
    require_browser()
    with shared_world(settings=SETTINGS, function_output=io.StringIO()) as w:
        register_clio_webhooks(w, SystemClock())  # `webhooks register`, now that sync_bills is on
        w.pump()
        w.xero_user_call("PUT", "/TrackingCategories", {"Name": TRACKING})  # bills' settings as in test_real_path
        w.xero_user_call("PUT", "/Currencies", {"Code": "USD"})  # the Clio sandbox bills in USD
        yield w


def time_bill(world: LocalWorld, client_name: str) -> Record:
    """A draft bill: one time entry (1.5 h at 300, GST) for a new client and matter."""
    clio = world.sandboxes.clio
    client = clio.act_create("contacts", {"type": "Company", "name": client_name})
    matter = clio.act_create("matters", {"client": {"id": client.id}, "description": "Lease dispute"})
    entry = clio.act_create(
        "activities",
        {"matter": {"id": matter.id}, "type": "TimeEntry", "quantity": 5400, "price": 300, "tax_setting": "tax_1_only"},
    )
    return clio.create_bill(client_id=client.id, matter_ids=[matter.id], activity_ids=[entry.id], state="draft")


def approve_with_two_interest_charges(world: LocalWorld, bill: Record) -> None:
    world.sandboxes.clio.act_update("bills", bill, {"state": "awaiting_payment"})
    world.sandboxes.clio.add_interest(bill.id, 12.34, "Interest, October")
    world.sandboxes.clio.add_interest(bill.id, 5.00, "Interest, November")
    world.pump()


def invoice_for(world: LocalWorld, bill: Record) -> Document:
    store = world.sandboxes.xero.store
    with store.lock:
        found = [d for d in store.orgs[world.tenant_id].invoices.values() if d.number == str(bill.attrs["number"])]
    parked = [(m.clio_id, m.last_error) for m in world.mappings.list(world.connection_id, "bill") if m.last_error]
    assert len(found) == 1, f"{len(found)} invoices for bill {bill.attrs['number']}; parked: {parked}"
    return found[0]


def codes(invoice: Document) -> list[tuple[str, Decimal]]:
    return sorted((str(line.account_code), Decimal(str(line.line_amount))) for line in invoice.lines)


def test_an_account_code_and_a_billing_switch_changed_on_the_page_shape_the_next_synced_bill(
    world: LocalWorld, cli: Any, browser: WebDriver
) -> None:
    before = time_bill(world, "Harbour Freight Ltd")
    approve_with_two_interest_charges(world, before)
    # Today's settings: the time entry on 200, each interest charge its own line on 270.
    assert codes(invoice_for(world, before)) == [
        ("200", Decimal("450.00")),
        ("270", Decimal("5.00")),
        ("270", Decimal("12.34")),
    ]

    sign_in(browser, sign_in_url(cli))
    go(browser, world, "/console/settings")
    Select(browser.find_element(By.ID, "f-time_account_code")).select_by_value("260")
    interest = browser.find_element(By.ID, "f-sync_interest")
    assert interest.is_selected()
    interest.click()
    submit(browser, "/console/settings")
    saved = settings_now(world).billing
    assert saved.time_account_code == "260" and saved.sync_interest is False
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "time_account_code: 200 → 260" in main and "sync_interest: on → off" in main
    screenshot(browser, "settings-billing-saved")

    after = time_bill(world, "Quayside Storage Pty")
    approve_with_two_interest_charges(world, after)
    # The next bill: the time entry on the new code, the interest collapsed into one line.
    assert codes(invoice_for(world, after)) == [("260", Decimal("450.00")), ("270", Decimal("17.34"))]
    assert codes(invoice_for(world, before))[0] == ("200", Decimal("450.00"))  # the synced one is left as it was


def test_why_didnt_this_bill_sync_answers_on_the_errors_page(world: LocalWorld, cli: Any, browser: WebDriver) -> None:
    draft = time_bill(world, "Harbour Freight Ltd")
    world.pump()
    sign_in(browser, sign_in_url(cli))
    go(browser, world, "/console/errors")
    field = browser.find_element(By.ID, "bill")
    assert browser.find_element(By.CSS_SELECTOR, "label[for=bill]").text == "Clio bill number"
    field.send_keys(str(draft.attrs["number"]))
    submit(browser, "/console/errors#h-explain")
    answer = browser.find_element(By.ID, "explained").text
    code, cli_answer = cli("billing", "explain", str(draft.id), "--json")
    assert code == 0
    assert cli_answer["explanation"] in answer and "draft" in answer and "skip" in answer  # the CLI's words
    screenshot(browser, "errors-explain-bill")

    field = browser.find_element(By.ID, "bill")
    field.clear()
    field.send_keys("NO-SUCH-BILL")
    submit(browser, "/console/errors#h-explain")
    assert "Clio has no bill numbered NO-SUCH-BILL." in browser.find_element(By.ID, "explained").text


def test_the_receivables_report_is_viewed_and_downloaded(world: LocalWorld, cli: Any, browser: WebDriver) -> None:
    synced = time_bill(world, "Harbour Freight Ltd")
    approve_with_two_interest_charges(world, synced)
    invoice = invoice_for(world, synced)
    xero_admin(world, "/accounts/200", {"Status": "ARCHIVED"})  # the time code archived in Xero ...
    parked = time_bill(world, "Quayside Storage Pty")
    approve_with_two_interest_charges(world, parked)  # ... so the next bill waits in the error list

    sign_in(browser, sign_in_url(cli))
    go(browser, world, "/console/reports")
    click_and_load(browser, browser.find_element(By.LINK_TEXT, "View the receivables report"))
    assert heading(browser) == "Receivables: Clio beside Xero"
    rows = [
        row.text
        for row in browser.find_elements(By.CSS_SELECTOR, "main table.stack")[0].find_elements(
            By.CSS_SELECTOR, "tbody tr"
        )
    ]
    assert len(rows) == 2 and "not in Xero" in rows[0] and "200" in rows[0]  # the difference first
    assert str(synced.attrs["number"]) in rows[1] and "AUTHORISED" in rows[1] and "agrees" in rows[1]
    assert "1 with differences" in browser.find_element(By.TAG_NAME, "main").text
    screenshot(browser, "reports-receivables")

    cookie = browser.get_cookie("clio_xero_console")
    assert cookie is not None
    api = world.runtime.api_url
    with httpx.Client(cookies={"clio_xero_console": cookie["value"]}, timeout=60) as session:
        download = session.get(f"{api}/console/reports/receivables", params={"format": "csv"})
        as_json = session.get(f"{api}/console/reports/receivables", params={"format": "json"}).json()
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(download.text)))
    assert [(r["bill_id"], r["xero_total"]) for r in table] == [
        (str(parked.id), ""),
        (str(synced.id), str(invoice.total)),
    ]
    assert as_json["bills"] == 2 and as_json["differences"] == 1
    code, cli_csv = cli("report", "receivables", "--format", "csv")
    assert code == 1 and cli_csv == download.text  # the CLI's report, byte for byte (exit 1: a difference)

    # The daily check keeps a copy, listed on Reports and opened without reading Clio or Xero again.
    daily = world.runtime.functions["ReceivablesReportFunction"].invoke({})
    assert daily["differences"] == 1
    go(browser, world, "/console/reports")
    kept = browser.find_element(By.XPATH, "//tr[td[contains(., 'Receivables: Clio beside Xero (daily copy)')]]")
    reads_before = len(world.sandboxes.clio.request_log.entries())
    kept.find_element(By.LINK_TEXT, "View").click()
    WebDriverWait(browser, 60, poll_frequency=POLL_SECONDS).until(
        lambda d: "1 with differences" in d.find_element(By.TAG_NAME, "body").text
    )
    assert str(parked.id) in browser.find_element(By.TAG_NAME, "body").text
    assert len(world.sandboxes.clio.request_log.entries()) == reads_before  # the stored copy: no Clio call
    screenshot(browser, "reports-receivables-daily-copy")

    # The parked bill explained on the Errors page: the error and its fix, as the CLI says it.
    go(browser, world, "/console/errors")
    browser.find_element(By.ID, "bill").send_keys(str(parked.attrs["number"]))
    submit(browser, "/console/errors#h-explain")
    answer = browser.find_element(By.ID, "explained").text
    code, cli_answer = cli("billing", "explain", str(parked.id), "--json")
    assert code == 0 and cli_answer["status"] == "error"
    assert cli_answer["explanation"] in answer and "200" in answer
    screenshot(browser, "errors-explain-parked-bill")
