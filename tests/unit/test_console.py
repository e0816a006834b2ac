"""The console's logic over in-memory ports: forms generated from settings models, sign-in,
sessions, CSRF and origin checks, the audit trail. The browser tests take the real path."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from clio_xero.admin.status import StackReport
from clio_xero.billing.settings import BillingSettings
from clio_xero.billing.xero_models import OrgChart, XeroAccount
from clio_xero.clock import ManualClock
from clio_xero.connect.links import ConnectLink
from clio_xero.connect.operator import ConnectLinks, DisconnectReport
from clio_xero.console.app import Console
from clio_xero.console.audit import InMemoryAuditLog
from clio_xero.console.backend import Chart, Finding, billing_preflight
from clio_xero.console.forms import account_choices, build_sections, read_form
from clio_xero.console.sessions import COOKIE_NAME, InMemorySessionStore, sign_in_link
from clio_xero.errors import InvalidSettingsError, ThrottledError
from clio_xero.intake.http import HttpRequest, HttpResponse
from clio_xero.payments.receivables import ReceivableRow
from clio_xero.payments.report import Receivables
from clio_xero.store.connections import Connection, ConnectionStatus
from clio_xero.sync.bills.explain import BillExplanation
from clio_xero.sync.settings import ConnectionSettings, ContactScope

KEY = b"k" * 32
BASE = "https://console.example.test"
CID = "firm-1"


class Contacts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact_scope: ContactScope = ContactScope.CLIENTS
    sync_contacts: bool = True


class Sectioned(BaseModel):
    """The engine's shape: one model per section; billing is Billing's own model."""

    model_config = ConfigDict(extra="forbid")
    contacts: Contacts = Field(default_factory=Contacts)
    billing: BillingSettings = Field(default_factory=BillingSettings)
    updated_at: datetime | None = None


ACCOUNTS = [
    XeroAccount(Code="200", Name="Sales", Type="REVENUE", Status="ACTIVE", Class="REVENUE"),
    XeroAccount(Code="260", Name="Other Revenue", Type="OTHERINCOME", Status="ACTIVE", Class="REVENUE"),
    XeroAccount(Code="205", Name="Old Sales", Type="REVENUE", Status="ARCHIVED", Class="REVENUE"),
    XeroAccount(Code="090", Name="Business Bank", Type="BANK", Status="ACTIVE", Class="ASSET"),
    XeroAccount(Code="429", Name="General Expenses", Type="EXPENSE", Status="ACTIVE", Class="EXPENSE"),
]


# ---------------------------------------------------------------------------- forms


def test_a_sectioned_model_becomes_fieldsets_with_inputs_by_type_and_only_fitting_accounts() -> None:
    sections = build_sections(Sectioned(), accounts=ACCOUNTS)
    assert [s.name for s in sections] == ["contacts", "billing"]
    fields = {f.name: f for s in sections for f in s.fields}
    assert fields["sync_contacts"].kind == "checkbox" and fields["sync_contacts"].checked
    assert fields["contact_scope"].kind == "select" and fields["contact_scope"].value == "clients"
    assert fields["bills_issued_from"].kind == "date"
    time_code = fields["time_account_code"]
    assert time_code.kind == "select" and time_code.value == "200"
    assert [c for c, _ in time_code.choices] == ["200", "260"]  # not archived, not bank, not expense
    assert ("200", "200 — Sales") in time_code.choices
    assert [c for c, _ in fields["spend_money_bank_account_code"].choices] == ["", "090"]
    assert [c for c, _ in fields["spend_money_account_code"].choices] == ["", "429"]
    mapping = fields["activity_category_codes"]
    assert mapping.kind == "mapping" and [c for c, _ in mapping.choices] == ["200", "260"]
    assert "updated_at" not in fields


def test_a_code_that_no_longer_fits_stays_visible_and_marked() -> None:
    sections = build_sections(Sectioned(billing=BillingSettings(interest_account_code="205")), accounts=ACCOUNTS)
    field = next(f for s in sections for f in s.fields if f.name == "interest_account_code")
    assert field.choices[0] == ("205", "205 — not an active account of the right type")


def test_without_a_chart_account_codes_are_typed() -> None:
    sections = build_sections(Sectioned(), accounts=None)
    field = next(f for s in sections for f in s.fields if f.name == "time_account_code")
    assert field.kind == "text" and field.value == "200"


def test_read_form_turns_a_post_into_updates_the_model_accepts() -> None:
    sections = build_sections(Sectioned(), accounts=ACCOUNTS)
    form = {
        "checkboxes": ["sync_contacts", "sync_bills"],
        "contact_scope": ["all"],
        "sync_bills": ["true"],
        "time_account_code": ["260"],
        "bills_issued_from": ["2026-07-01"],
        "activity_category_codes.name": ["Research", "", ""],
        "activity_category_codes.value": ["260", "", ""],
    }
    updates = read_form(sections, form)
    assert updates["sync_contacts"] == "false"  # an unticked box is sent as nothing
    assert "sync_interest" not in updates  # a box the form did not show is left alone
    assert updates["sync_bills"] == "true" and updates["activity_category_codes"] == {"Research": "260"}
    billing = BillingSettings.model_validate({k: v for k, v in updates.items() if k in BillingSettings.model_fields})
    assert billing.time_account_code == "260" and str(billing.bills_issued_from) == "2026-07-01"


def test_account_choices_follow_the_preflight_rules() -> None:
    assert account_choices("discount_account_code", ACCOUNTS) == [
        ("200", "200 — Sales"),
        ("260", "260 — Other Revenue"),
    ]


def test_the_billing_preflight_runs_over_the_billing_section_only_when_there_is_one() -> None:
    org = OrgChart(accounts=ACCOUNTS)

    def no_call() -> Chart:
        raise AssertionError("no billing section: Xero is not asked")

    class ContactsOnly(BaseModel):
        contacts: Contacts = Field(default_factory=Contacts)

    assert billing_preflight(ContactsOnly(), no_call) == []
    findings = billing_preflight(
        Sectioned(billing=BillingSettings(interest_account_code="205")), lambda: Chart(org=org)
    )
    assert any(f.severity == "error" and "205" in f.message and "ARCHIVED" in f.message for f in findings)
    unread = billing_preflight(Sectioned(), lambda: Chart(problem="Xero is not connected"))
    assert [f.severity for f in unread] == ["notice"]


# ---------------------------------------------------------------------------- the app over fakes


class FakeBackend:
    def __init__(self) -> None:
        self.stored = ConnectionSettings(contact_scope=ContactScope.ALL)
        self.retried: list[str | None] = []
        self.explained: list[str] = []
        self.conn = Connection(
            connection_id=CID, name="Firm", status=ConnectionStatus.ACTIVE, created_at=datetime(2026, 1, 1)
        )

    def connection(self, connection_id: str) -> Connection | None:
        return self.conn if connection_id == CID else None

    def status(self, connection_id: str) -> StackReport:
        return StackReport(connections=[], queue={"visible": 0, "in_flight": 0}, dead_letter_queue={"visible": 0})

    def webhooks(self, connection_id: str) -> list[Any]:
        return []

    def errors(self, connection_id: str) -> list[Any]:
        return []

    def retry(self, connection_id: str, record: str | None) -> list[str]:
        self.retried.append(record)
        return [record] if record else []

    def settings(self, connection_id: str) -> ConnectionSettings:
        return self.stored

    def save_settings(self, connection_id: str, updates: Mapping[str, Any], now: datetime) -> ConnectionSettings:
        try:
            self.stored = ConnectionSettings.model_validate({**self.stored.model_dump(), **updates, "updated_at": now})
        except ValidationError as exc:
            raise InvalidSettingsError("bad", {str(e["loc"][-1]): e["msg"] for e in exc.errors()}) from None
        return self.stored

    def chart(self, connection_id: str, *, full: bool = False) -> Chart:
        return Chart(org=OrgChart(accounts=ACCOUNTS))

    def preflight(self, connection_id: str, settings: Any) -> list[Finding]:
        return [Finding("notice", "checked")]

    def connect_links(self, connection_id: str, api_url: str, now: datetime) -> ConnectLinks:
        return ConnectLinks(connection_id, {"clio": f"{api_url}/connect/clio?link=x"}, now)

    def disconnect(self, connection_id: str, *, purge: bool) -> DisconnectReport:
        return DisconnectReport(connection_id, done=["tokens deleted"])

    def explain_bill(self, connection_id: str, number: str) -> list[BillExplanation]:
        self.explained.append(number)
        if number == "SLOW":
            raise ThrottledError("clio rate limit reached", retry_after=30)
        if number != "INV-7":
            return []
        return [BillExplanation(bill="7", action="skip", explanation="Bill INV-7 (draft in Clio): <not yet>")]

    def receivables(self, connection_id: str) -> Receivables:
        return Receivables(
            [
                ReceivableRow(
                    "1", "B-1", "awaiting_payment", "INV-1", "AUTHORISED", Decimal("10.00"), Decimal("10.00")
                ),
                ReceivableRow(
                    "2", "B-2", "awaiting_payment", None, None, Decimal("5.00"), differences=["not in Xero: no code"]
                ),
            ]
        )


class UsedLinks:
    def __init__(self) -> None:
        self.nonces: set[str] = set()

    def use_link(self, link: ConnectLink, now: Any) -> bool:
        if link.nonce in self.nonces:
            return False
        self.nonces.add(link.nonce)
        return True


class Log:
    def info(self, msg: str, *args: Any, **kwargs: Any) -> None: ...
    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None: ...
    def error(self, msg: str, *args: Any, **kwargs: Any) -> None: ...
    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None: ...


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def audit() -> InMemoryAuditLog:
    return InMemoryAuditLog()


@pytest.fixture
def console(backend: FakeBackend, audit: InMemoryAuditLog, clock: ManualClock) -> Console:
    return Console(
        backend=backend,
        sessions=InMemorySessionStore(),
        audit=audit,
        used_links=UsedLinks(),
        link_key=lambda: KEY,
        clock=clock,
        log=Log(),
    )


def call(
    console: Console,
    method: str,
    path: str,
    *,
    cookie: str | None = None,
    form: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    origin: str | None = None,
) -> HttpResponse:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if cookie:
        headers["cookie"] = f"{COOKIE_NAME}={cookie}"
    if origin:
        headers["origin"] = origin
    body = urllib.parse.urlencode(form or {}).encode()
    return console.handle(HttpRequest(method=method, path=path, body=body, headers=headers, query=query or {}), BASE)


def signed_in(console: Console, clock: ManualClock, who: str = "Pat") -> tuple[str, str]:
    url, _ = sign_in_link(KEY, connection_id=CID, operator=who, api_url=BASE, now=clock.now())
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["link"][0]
    response = call(console, "POST", "/console/sign-in", form={"link": token})
    assert response.status == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie and "Path=/console" in cookie
    session = cookie.split(";")[0].split("=", 1)[1]
    page = call(console, "GET", "/console/settings", cookie=session)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.body)
    assert csrf is not None
    return session, csrf.group(1)


def test_sign_in_page_does_not_spend_the_link_and_the_post_spends_it_once(console: Console, clock: ManualClock) -> None:
    url, _ = sign_in_link(KEY, connection_id=CID, operator="Pat", api_url=BASE, now=clock.now())
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["link"][0]
    for _ in range(2):  # a mail scanner's GET and the person's GET
        page = call(console, "GET", "/console/sign-in", query={"link": token})
        assert page.status == 200 and "Sign in as Pat" in page.body
    assert call(console, "POST", "/console/sign-in", form={"link": token}).status == 303
    again = call(console, "POST", "/console/sign-in", form={"link": token})
    assert again.status == 403 and "already been used" in again.body


def test_an_expired_link_and_an_expired_session_are_refused(console: Console, clock: ManualClock) -> None:
    session, _ = signed_in(console, clock)
    url, _ = sign_in_link(KEY, connection_id=CID, operator="Pat", api_url=BASE, now=clock.now())
    clock.advance(2 * 3600 + 1)
    assert call(console, "GET", "/console", cookie=session).status == 401
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["link"][0]
    assert "expired" in call(console, "GET", "/console/sign-in", query={"link": token}).body


def test_settings_save_records_who_and_what_and_shows_findings(
    console: Console, clock: ManualClock, backend: FakeBackend, audit: InMemoryAuditLog
) -> None:
    session, csrf = signed_in(console, clock)
    saved = call(
        console,
        "POST",
        "/console/settings",
        cookie=session,
        origin=BASE,
        form={"csrf": csrf, "contact_scope": "billed", "sync_contacts": "true"},
    )
    assert saved.status == 200 and "contact_scope: all → billed" in saved.body and "checked" in saved.body
    assert backend.stored.contact_scope is ContactScope.BILLED
    entry = audit.recent(CID)[0]
    assert (entry.operator, entry.action, entry.detail) == ("Pat", "settings changed", "contact_scope: all → billed")
    assert entry.at == clock.now()


def test_a_bad_value_is_tied_to_its_field_and_nothing_changes(
    console: Console, clock: ManualClock, backend: FakeBackend
) -> None:
    session, csrf = signed_in(console, clock)
    before = backend.stored
    bad = call(console, "POST", "/console/settings", cookie=session, form={"csrf": csrf, "contact_scope": "everyone"})
    assert bad.status == 400 and backend.stored == before
    assert 'aria-describedby="f-contact_scope-hint f-contact_scope-error"' in bad.body
    assert 'id="f-contact_scope-error"' in bad.body and 'aria-invalid="true"' in bad.body


@pytest.mark.parametrize(
    ("csrf", "origin"), [("wrong", BASE), ("", None), ("RIGHT", "https://evil.example"), ("RIGHT", "null")]
)
def test_a_post_without_the_token_or_from_elsewhere_changes_nothing(
    console: Console, clock: ManualClock, backend: FakeBackend, csrf: str, origin: str | None
) -> None:
    session, token = signed_in(console, clock)
    sent = token if csrf == "RIGHT" else csrf
    for path in ("/console/settings", "/console/errors/retry", "/console/connection/disconnect"):
        refused = call(
            console,
            "POST",
            path,
            cookie=session,
            origin=origin,
            form={"csrf": sent, "contact_scope": "billed", "confirm": "yes"},
        )
        assert refused.status == 403, path
    assert backend.stored.contact_scope is ContactScope.ALL and backend.retried == []


def test_pages_escape_what_they_show(console: Console, clock: ManualClock) -> None:
    session, _ = signed_in(console, clock, who="<b>Eve</b>")
    page = call(console, "GET", "/console", cookie=session)
    assert "&lt;b&gt;Eve&lt;/b&gt;" in page.body and "<b>Eve</b>" not in page.body
    assert "script-src" not in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_retry_and_disconnect_are_recorded(
    console: Console, clock: ManualClock, backend: FakeBackend, audit: InMemoryAuditLog
) -> None:
    session, csrf = signed_in(console, clock)
    call(console, "POST", "/console/errors/retry", cookie=session, form={"csrf": csrf, "record": "clio:contact:7"})
    unconfirmed = call(console, "POST", "/console/connection/disconnect", cookie=session, form={"csrf": csrf})
    assert unconfirmed.status == 400 and "nothing was disconnected" in unconfirmed.body
    done = call(
        console,
        "POST",
        "/console/connection/disconnect",
        cookie=session,
        form={"csrf": csrf, "confirm": "yes", "mappings": "purge"},
    )
    assert done.status == 200 and "tokens deleted" in done.body
    assert backend.retried == ["clio:contact:7"]
    actions = [(e.action, e.detail) for e in audit.recent(CID)]
    assert ("disconnected", "record links purged") in actions and ("retry", "clio:contact:7") in actions


def test_the_errors_page_explains_a_bill_by_number_with_a_labelled_get_form(
    console: Console, clock: ManualClock, backend: FakeBackend
) -> None:
    session, _ = signed_in(console, clock)
    page = call(console, "GET", "/console/errors", cookie=session)
    assert '<label for="bill">' in page.body and 'method="get"' in page.body and backend.explained == []
    answer = call(console, "GET", "/console/errors", cookie=session, query={"bill": " INV-7 "})
    assert answer.status == 200 and backend.explained == ["INV-7"]
    assert "Bill INV-7 (draft in Clio): &lt;not yet&gt;" in answer.body and "<strong>skip</strong>" in answer.body
    assert 'value="INV-7"' in answer.body
    none = call(console, "GET", "/console/errors", cookie=session, query={"bill": "NOPE"})
    assert "Clio has no bill numbered NOPE." in none.body
    long = call(console, "GET", "/console/errors", cookie=session, query={"bill": "9" * 65})
    assert long.status == 400 and "at most 64 characters" in long.body and backend.explained == ["INV-7", "NOPE"]
    slow = call(console, "GET", "/console/errors", cookie=session, query={"bill": "SLOW"})
    assert slow.status == 502 and 'id="bill-problem"' in slow.body and "clio rate limit reached" in slow.body
    assert "try again in a minute" in slow.body and '<h2 id="h-explain">' in slow.body  # the page, not a bare error
    assert call(console, "GET", "/console/errors", query={"bill": "INV-7"}).status == 401


def test_the_receivables_report_is_viewed_and_downloaded_for_the_session_connection(
    console: Console, clock: ManualClock
) -> None:
    session, _ = signed_in(console, clock)
    shelf = call(console, "GET", "/console/reports", cookie=session)
    assert 'href="/console/reports/receivables?format=csv"' in shelf.body
    page = call(console, "GET", "/console/reports/receivables", cookie=session)
    assert page.status == 200 and "<strong>1</strong> with differences" in page.body
    assert page.body.index("B-2") < page.body.index("B-1")  # differences first
    assert "not in Xero: no code" in page.body
    csv = call(console, "GET", "/console/reports/receivables", cookie=session, query={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv") and "attachment" in csv.headers["content-disposition"]
    assert csv.body.splitlines()[0].startswith("bill_id,bill_number") and len(csv.body.splitlines()) == 3
    data = call(console, "GET", "/console/reports/receivables", cookie=session, query={"format": "json"})
    assert '"differences": 1' in data.body and data.headers["content-type"] == "application/json"
    assert call(console, "GET", "/console/reports/receivables", cookie=session, query={"format": "xml"}).status == 400
    assert call(console, "GET", "/console/reports/receivables", query={"format": "csv"}).status == 401


# ------------------------------------------------------------------------------ the report shelf
class FakeObjects:
    """The two calls the shelf makes of the bucket (clio_xero.aws.objects.S3Objects)."""

    def __init__(self, keys: list[str]) -> None:
        self.stored = {k: k.encode() for k in keys}

    def keys(self, prefix: str) -> list[str]:
        return [k for k in self.stored if k.startswith(prefix)]

    def get(self, key: str) -> bytes | None:
        return self.stored.get(key)


def test_the_shelf_lists_daily_receivables_copies_before_trust_reports_and_serves_only_its_own() -> None:
    from clio_xero.console.reports import RECEIVABLES_TITLE, TRUST_TITLE, StoredReportShelf, filename

    keys = [
        "receivables/reports/firm/2026-12-01.html",
        "receivables/reports/firm/2026-12-01.json",
        "receivables/reports/firm/2026-12-02.csv",
        "receivables/reports/other/2026-12-02.csv",
        "receivables/reports/firm/not-a-day.csv",
        "trust/reports/firm/2026-11-30/7.html",
    ]
    shelf = StoredReportShelf(FakeObjects(keys))  # type: ignore[arg-type]
    listed = shelf.list("firm")
    assert [(r.title, r.as_of, sorted(r.keys)) for r in listed] == [
        (RECEIVABLES_TITLE, "2026-12-02", ["csv"]),
        (RECEIVABLES_TITLE, "2026-12-01", ["html", "json"]),
        (TRUST_TITLE, "2026-11-30", ["html"]),
    ]
    assert shelf.get("firm", "receivables/reports/firm/2026-12-02.csv") == (
        "text/csv; charset=utf-8",
        b"receivables/reports/firm/2026-12-02.csv",
    )
    assert shelf.get("firm", "receivables/reports/other/2026-12-02.csv") is None  # another connection's
    assert shelf.get("firm", "receivables/reports/firm/not-a-day.csv") is None  # not a report's shape
    assert filename("receivables/reports/firm/2026-12-02.csv") == "receivables-firm-2026-12-02.csv"
