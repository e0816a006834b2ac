"""The console in a real headless browser, against `local up`'s runtime and both sandboxes.

Chromium (Debian's) is driven by Selenium through chromium-driver; it reaches the console over
loopback exactly as an administrator's browser reaches API Gateway. Every step a person takes is a
click or a keystroke; the effects are read back from the table and the sandboxes. Screenshots of
each page at laptop and phone widths land in .cache/artefacts/console/.
"""

from __future__ import annotations

import io
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from clio_xero.aws.objects import S3Objects
from clio_xero.store.connections import DynamoConnectionStore
from clio_xero.store.settings import DynamoSettingsStore
from clio_xero.sync.mapping import MappingStatus
from clio_xero.sync.settings import ConnectionSettings, ContactScope
from clio_xero.trust.render import to_csv, to_html
from clio_xero_tools.local.world import LocalWorld
from clio_xero_tools.trust_samples import sample_reports
from tests.integration.browser import chromium, require_browser, screenshot
from tests.integration.conftest import WorldPool
from tests.integration.test_connect_e2e import tamper
from tests.integration.test_ops_e2e import create_clio_contact

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
]
# Selenium's waits poll every 0.5 s by default: every page change cost up to half a second of
# sleeping. The conditions and the 60 s bound are unchanged; they are only looked at more often.
POLL_SECONDS = 0.05


@pytest.fixture
def world(shared_world: WorldPool) -> Iterator[LocalWorld]:
    """The shared world, reset before each test: every test here stands on its own."""
    require_browser()
    with shared_world(settings=ConnectionSettings(contact_scope=ContactScope.ALL), function_output=io.StringIO()) as w:
        yield w


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    require_browser()
    with chromium() as driver:
        assert isinstance(driver, WebDriver)
        yield driver


def sign_in_url(cli: Any, who: str = "Pat Admin") -> str:
    code, out = cli("console", "--as", who, "--json")
    assert code == 0, out
    return str(out["url"])


def sign_in(browser: WebDriver, url: str) -> None:
    browser.delete_all_cookies()
    browser.get(url)
    submit(browser, "/console/sign-in")


def click_and_load(browser: WebDriver, element: WebElement) -> None:
    """Click a button that submits a form and wait (bounded) until the next page has loaded."""
    page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 60, poll_frequency=POLL_SECONDS).until(lambda _: left_behind(page))
    WebDriverWait(browser, 60, poll_frequency=POLL_SECONDS).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def left_behind(page: WebElement) -> bool:
    """True once ``page`` belongs to a document the browser has navigated away from. Selenium's
    ``staleness_of`` knows only "stale element"; while the next document is being attached,
    Chromium may instead answer "Node with given id does not belong to the document", which means
    the same and must not fail the test."""
    try:
        page.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if "does not belong to the document" in (exc.msg or ""):
            return True
        raise
    return False


def submit(browser: WebDriver, form_action: str) -> None:
    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, f"form[action='{form_action}'] button[type=submit]"))


def heading(browser: WebDriver) -> str:
    return str(browser.find_element(By.TAG_NAME, "h1").text)


def settings_now(world: LocalWorld) -> ConnectionSettings:
    return DynamoSettingsStore(world.runtime.physical_id("Table"), world.runtime.client("dynamodb")).get(
        world.connection_id
    )


def go(browser: WebDriver, world: LocalWorld, path: str) -> None:
    browser.get(world.runtime.api_url + path)


# ---------------------------------------------------------------------------- sign-in


def test_sign_in_shows_every_page_and_records_who(world: LocalWorld, cli: Any, browser: WebDriver) -> None:
    url = sign_in_url(cli)
    browser.delete_all_cookies()
    browser.get(url)
    assert heading(browser) == "Sign in to the clio-xero console"
    screenshot(browser, "sign-in")
    submit(browser, "/console/sign-in")
    assert heading(browser) == "Status"
    assert "Signed in as Pat Admin" in browser.find_element(By.CLASS_NAME, "who").text
    cookie = browser.get_cookie("clio_xero_console")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    body = browser.find_element(By.TAG_NAME, "main").text
    assert "Connection\nactive" in body and "Clio webhooks" in body and "API budget left" in body
    screenshot(browser, "status")
    for path, title, name in (
        ("/console/settings", "Settings", "settings"),
        ("/console/errors", "Errors", "errors-empty"),
        ("/console/reports", "Reports", "reports"),
        ("/console/connection", "Connection", "connection"),
    ):
        go(browser, world, path)
        assert heading(browser) == title
        screenshot(browser, name)
    changes = browser.find_element(By.ID, "changes").find_element(By.XPATH, "following-sibling::div").text
    assert "Pat Admin signed in" in changes


def test_a_reused_or_tampered_link_is_refused(world: LocalWorld, cli: Any, browser: WebDriver) -> None:
    url = sign_in_url(cli, "Sam")
    sign_in(browser, url)
    assert heading(browser) == "Status"

    browser.delete_all_cookies()
    browser.get(url)  # the page still opens (the link is valid) ...
    submit(browser, "/console/sign-in")
    assert heading(browser) == "Sign-in link refused"  # ... but it signs no one in twice
    assert "already been used" in browser.find_element(By.TAG_NAME, "main").text
    assert browser.get_cookie("clio_xero_console") is None

    browser.get(tamper(sign_in_url(cli, "Sam")))  # the claims changed, the signature kept
    assert heading(browser) == "Sign-in link refused"
    assert "not issued by this installation" in browser.find_element(By.TAG_NAME, "main").text
    screenshot(browser, "refused")

    code, connect = cli("connect", "--connection", world.connection_id, "--json")  # a connect link is no sign-in
    assert code == 0
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(connect["links"]["xero"]).query)["link"][0]
    browser.get(f"{world.runtime.api_url}/console/sign-in?link={urllib.parse.quote(token)}")
    assert "not a console sign-in link" in browser.find_element(By.TAG_NAME, "main").text


# ---------------------------------------------------------------------------- settings


def test_switches_changed_on_the_page_take_effect_on_the_next_record(
    world: LocalWorld, cli: Any, browser: WebDriver
) -> None:
    sign_in(browser, sign_in_url(cli))
    go(browser, world, "/console/settings")
    sync = browser.find_element(By.ID, "f-sync_contacts")
    assert sync.is_selected()
    sync.click()  # untick: contacts stop syncing
    submit(browser, "/console/settings")
    assert "sync_contacts: on → off" in browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    assert settings_now(world).sync_contacts is False

    paused = create_clio_contact(world, "Paused Pty Ltd", "accounts@paused.test")
    world.pump()
    assert world.mappings.get(world.connection_id, "contact", str(paused.id)) is None

    browser.find_element(By.ID, "f-sync_contacts").click()  # tick again, and narrow the scope
    Select(browser.find_element(By.ID, "f-contact_scope")).select_by_value("clients")
    submit(browser, "/console/settings")
    saved = browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    assert "sync_contacts: off → on" in saved and "contact_scope: all → clients" in saved
    stored = settings_now(world)
    assert (stored.sync_contacts, stored.contact_scope) == (True, ContactScope.CLIENTS)

    # The next record follows the new scope: a contact who is no client stays out of Xero.
    outsider = create_clio_contact(world, "Opposing Counsel LLP", "oc@counsel.test")
    world.pump()
    mapping = world.mappings.get(world.connection_id, "contact", str(outsider.id))
    assert mapping is None or mapping.xero_id is None
    changes = browser.find_element(By.ID, "changes").find_element(By.XPATH, "following-sibling::div").text
    assert "Pat Admin settings changed contact_scope: all → clients" in changes.replace("\n", " ")
    screenshot(browser, "settings-saved")

    # Put things back for the other tests, through the page.
    Select(browser.find_element(By.ID, "f-contact_scope")).select_by_value("all")
    submit(browser, "/console/settings")
    assert settings_now(world).contact_scope is ContactScope.ALL


def test_a_bad_value_is_explained_next_to_its_field_and_nothing_is_stored(
    world: LocalWorld, cli: Any, browser: WebDriver
) -> None:
    sign_in(browser, sign_in_url(cli))
    go(browser, world, "/console/settings")
    before = settings_now(world)
    # A value no option offers (a stale page, a hand-made request): the server's validation answers.
    browser.execute_script(
        "var o=document.querySelector('#f-contact_scope option[value=clients]'); o.value='everyone'; o.selected=true;"
    )
    browser.find_element(By.ID, "f-sync_contacts").click()
    submit(browser, "/console/settings")
    alert = browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert "Nothing was saved" in alert
    field = browser.find_element(By.ID, "f-contact_scope")
    assert field.get_attribute("aria-invalid") == "true"
    error = browser.find_element(By.ID, "f-contact_scope-error")
    assert "f-contact_scope-error" in (field.get_attribute("aria-describedby") or "").split()
    assert "all | clients | billed" in error.text
    assert not browser.find_element(By.ID, "f-sync_contacts").is_selected()  # what was typed is kept on screen
    assert settings_now(world) == before  # ... and nothing was stored
    screenshot(browser, "settings-bad-value")


# ---------------------------------------------------------------------------- errors and retry


def test_a_failing_record_is_retried_from_the_page_and_syncs(world: LocalWorld, cli: Any, browser: WebDriver) -> None:
    record = create_clio_contact(world, "Acme Pty Ltd", email="billing@acme")  # Xero refuses the address
    world.pump()
    mapping = world.mappings.get(world.connection_id, "contact", str(record.id))
    assert mapping is not None and mapping.status is MappingStatus.ERROR

    sign_in(browser, sign_in_url(cli))
    go(browser, world, "/console/errors")
    row = browser.find_element(By.XPATH, f"//tr[td[contains(., 'clio:contact:{record.id}')]]")
    assert "Email address must be valid" in row.text  # Xero's own words
    assert "fix the contact's email address in Clio" in row.text  # the hint
    screenshot(browser, "errors")

    with world.sandboxes.clio.store.muted():  # fixed in Clio; its webhook never arrives
        email_id = record.link_ids("email_addresses")[0]
        world.sandboxes.clio.act_update(
            "contacts", record, {"email_addresses": [{"id": email_id, "address": "billing@acme.test"}]}
        )
    click_and_load(browser, row.find_element(By.CSS_SELECTOR, "button"))
    assert (
        f"Queued 1 record(s) for a fresh sync: clio:contact:{record.id}"
        in browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    )
    world.pump()
    mapping = world.mappings.get(world.connection_id, "contact", str(record.id))
    assert mapping is not None and mapping.status is MappingStatus.OK and mapping.xero_id
    go(browser, world, "/console/errors")
    assert "No errors" in browser.find_element(By.TAG_NAME, "main").text


# ---------------------------------------------------------------------------- refusals


def test_requests_without_a_session_or_with_a_bad_csrf_token_change_nothing(
    world: LocalWorld, cli: Any, browser: WebDriver
) -> None:
    sign_in(browser, sign_in_url(cli))
    go(browser, world, "/console/settings")
    token = browser.find_element(By.CSS_SELECTOR, "input[name=csrf]").get_attribute("value")
    cookie = browser.get_cookie("clio_xero_console")
    assert token and cookie
    before = settings_now(world)
    api = world.runtime.api_url
    change = {"contact_scope": "billed", "sync_contacts": "true"}
    with httpx.Client(timeout=10) as stranger:
        refused = stranger.post(f"{api}/console/settings", data={**change, "csrf": token})
        assert refused.status_code == 401 and "Please sign in" in refused.text
        assert stranger.get(f"{api}/console").status_code == 401
        stranger.cookies.set("clio_xero_console", "made-up", path="/console")
        assert stranger.post(f"{api}/console/settings", data={**change, "csrf": token}).status_code == 401
    with httpx.Client(timeout=10, cookies={"clio_xero_console": cookie["value"]}) as forger:
        bad = forger.post(f"{api}/console/settings", data={**change, "csrf": "not-the-token"})
        assert bad.status_code == 403 and "Nothing was changed" in bad.text
        missing = forger.post(f"{api}/console/errors/retry", data={})
        assert missing.status_code == 403
        cross_site = forger.post(
            f"{api}/console/settings", data={**change, "csrf": token}, headers={"origin": "https://evil.example"}
        )
        assert cross_site.status_code == 403
    assert settings_now(world) == before

    # Signing out ends the session on the server: the old cookie opens nothing any more.
    go(browser, world, "/console")
    submit(browser, "/console/sign-out")
    assert heading(browser) == "Signed out"
    with httpx.Client(timeout=10, cookies={"clio_xero_console": cookie["value"]}) as after:
        assert after.get(f"{api}/console").status_code == 401


# ---------------------------------------------------------------------------- reports


def test_stored_trust_reports_are_listed_viewed_and_downloaded(world: LocalWorld, cli: Any, browser: WebDriver) -> None:
    _, unbalanced = sample_reports()  # what the monthly run writes, for this connection and another
    bucket = S3Objects(world.runtime.physical_id("DeliveryBucket"), world.runtime.client("s3"))
    for cid in (world.connection_id, "another-firm"):
        base = f"trust/reports/{cid}/2026-01-31/7"
        bucket.put(f"{base}.html", to_html(unbalanced).encode(), "text/html; charset=utf-8")
        bucket.put(f"{base}.csv", to_csv(unbalanced).encode(), "text/csv; charset=utf-8")

    sign_in(browser, sign_in_url(cli))
    go(browser, world, "/console/reports")
    row = browser.find_element(By.XPATH, "//tr[td[contains(., '2026-01-31')]]")
    assert "Trust three-way reconciliation" in row.text
    listed = browser.find_elements(By.XPATH, "//table[@aria-labelledby='h-reports']/tbody/tr")
    assert len(listed) == 1  # only this connection's
    screenshot(browser, "reports")
    row.find_element(By.LINK_TEXT, "View").click()
    WebDriverWait(browser, 60, poll_frequency=POLL_SECONDS).until(
        lambda d: "Archer & Co (sample)" in d.find_element(By.TAG_NAME, "body").text
    )
    screenshot(browser, "report-trust")

    cookie = browser.get_cookie("clio_xero_console")
    assert cookie is not None
    api = world.runtime.api_url
    with httpx.Client(timeout=10, cookies={"clio_xero_console": cookie["value"]}) as session:
        csv = session.get(
            f"{api}/console/reports", params={"key": f"trust/reports/{world.connection_id}/2026-01-31/7.csv"}
        )
        assert csv.status_code == 200 and csv.text == to_csv(unbalanced)
        assert csv.headers["content-disposition"] == 'attachment; filename="local-firm-2026-01-31-7.csv"'
        other = session.get(f"{api}/console/reports", params={"key": "trust/reports/another-firm/2026-01-31/7.csv"})
        assert other.status_code == 404  # another connection's report is not reachable
        sneaky = session.get(f"{api}/console/reports", params={"key": "deliveries/clio/x.json"})
        assert sneaky.status_code == 404


# ------------------------------------------------- connect and disconnect (last: it ends the connection)


def test_reconnect_links_work_and_disconnect_keeps_the_record_links(
    world: LocalWorld, cli: Any, browser: WebDriver
) -> None:
    create_clio_contact(world, "Linked Pty Ltd", email="accounts@linked.test")
    world.pump()
    sign_in(browser, sign_in_url(cli))
    go(browser, world, "/console/connection")
    submit(browser, "/console/connection/links")
    clio_link = browser.find_element(By.LINK_TEXT, "Connect Clio")
    assert "/connect/clio?link=v1." in (clio_link.get_attribute("href") or "")
    screenshot(browser, "connection-links")
    clio_link.click()  # the sandbox's consent screen approves at once and calls back
    WebDriverWait(browser, 60, poll_frequency=POLL_SECONDS).until(
        lambda d: "Clio connected" in d.find_element(By.TAG_NAME, "h1").text
    )
    assert "Clio is connected as" in browser.find_element(By.TAG_NAME, "body").text

    linked = [m for m in world.mappings.list(world.connection_id, "contact") if m.xero_id]
    assert linked
    go(browser, world, "/console/connection")
    browser.find_element(By.ID, "m-keep").click()
    submit(browser, "/console/connection/disconnect")  # not confirmed: refused, nothing done
    assert "nothing was disconnected" in browser.find_element(By.ID, "disconnect-error").text
    assert connection_status(world) == "active"
    browser.find_element(By.ID, "confirm").click()
    submit(browser, "/console/connection/disconnect")
    outcome = browser.find_element(By.CSS_SELECTOR, "[aria-labelledby=h-outcome]").text
    assert "tokens deleted" in outcome and "mappings kept for a later reconnect" in outcome
    assert connection_status(world) == "disconnected"
    assert [m.clio_id for m in world.mappings.list(world.connection_id, "contact") if m.xero_id] == [
        m.clio_id for m in linked
    ]
    changes = browser.find_element(By.ID, "changes").find_element(By.XPATH, "following-sibling::div").text
    assert "disconnected record links kept" in changes.replace("\n", " ")
    screenshot(browser, "disconnected")


def connection_status(world: LocalWorld) -> str:
    found = DynamoConnectionStore(world.runtime.physical_id("Table"), world.runtime.client("dynamodb")).get(
        world.connection_id
    )
    assert found is not None
    return found.status.value
