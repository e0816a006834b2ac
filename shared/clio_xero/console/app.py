"""The console's pages: routing, sign-in, sessions, CSRF, the audit trail (pure over its ports).

Routes (``ConsoleFunction``)::

    GET  /console/sign-in?link=…     a page with one button: "Sign in as <operator>"
    POST /console/sign-in            uses the link (once), opens the session, → /console
    GET  /console                    Status          POST /console/sign-out
    GET  /console/settings           Settings        POST /console/settings
    GET  /console/errors             Errors          POST /console/errors/retry
    GET  /console/errors?bill=N      … with "why didn't bill N sync?" (a read: GET, no CSRF needed)
    GET  /console/reports            Reports
    GET  /console/reports/receivables[?format=csv|json]   the receivables report, read live
    GET  /console/connection         Connection      POST /console/connection/links, …/disconnect

Why sign-in is a button: a GET that used the single-use link would be spent by a mail scanner or
link preview before the person clicks; and the POST comes from our own page, so the
``SameSite=Strict`` cookie it sets is sent on the redirect that follows (a cross-site navigation
chain would not carry it).

Every POST but sign-in needs the session's CSRF token (a hidden field; compared in constant time)
and, when the browser sends one, an ``Origin`` equal to the page's own. A refused request changes
nothing. Every change is written to the audit trail with the operator's label and the time.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

import jinja2
from pydantic import BaseModel

from clio_xero.admin.settings import InvalidSettingsError, describe_fields
from clio_xero.clock import Clock
from clio_xero.connect.links import ConnectLink, LinkRefusal, LinkRefused, verify_link
from clio_xero.console.audit import AuditEntry, AuditLog
from clio_xero.console.backend import Chart, ConsoleBackend, Finding
from clio_xero.console.forms import build_sections, is_account_key, read_form
from clio_xero.console.reports import NoReports, ReportShelf, filename
from clio_xero.console.sessions import (
    COOKIE_NAME,
    DEFAULT_SESSION_TTL,
    ConsoleSession,
    SessionStore,
    cleared_cookie,
    new_session,
    session_cookie,
)
from clio_xero.errors import SyncError
from clio_xero.intake.http import HttpRequest, HttpResponse
from clio_xero.intake.observe import Log
from clio_xero.payments.receivables import ReportFormat, render, sort_rows

MAX_FORM_BYTES = 64 * 1024
MAX_BILL_NUMBER = 64  # longer is not a Clio bill number; refused before any Clio call

# No caching (pages hold a CSRF token), no referrer to other sites, no framing, no scripts at all.
# "same-origin", not "no-referrer": under no-referrer Chrome sends ``Origin: null`` with our own
# form posts, and the Origin check below needs the real one.
SECURITY_HEADERS = {
    "cache-control": "no-store",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
}

_REFUSALS = {
    LinkRefusal.MISSING: "This page needs a sign-in link. Run `clio-xero console` to get one.",
    LinkRefusal.MALFORMED: "This sign-in link is damaged (perhaps cut off when it was copied). Copy the whole link.",
    LinkRefusal.FORGED: "This sign-in link was not issued by this installation (its signature does not match).",
    LinkRefusal.WRONG_PROVIDER: "This is not a console sign-in link. Run `clio-xero console` for one.",
    LinkRefusal.EXPIRED: "This sign-in link has expired. Run `clio-xero console` for a new one.",
    LinkRefusal.USED: "This sign-in link has already been used. Run `clio-xero console` for a new one.",
}

NAV = (
    ("status", "/console", "Status"),
    ("settings", "/console/settings", "Settings"),
    ("errors", "/console/errors", "Errors"),
    ("reports", "/console/reports", "Reports"),
    ("connection", "/console/connection", "Connection"),
)


class UsedLinks(Protocol):
    """Single use of links (:class:`clio_xero.connect.store.DynamoConnectStore`)."""

    def use_link(self, link: ConnectLink, now: Any) -> bool: ...


def templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def cookie_value(request: HttpRequest, name: str) -> str | None:
    # API Gateway v2 joins the Cookie headers with "," or gives them as "; " pairs: accept both.
    raw = request.header("cookie") or ""
    for part in raw.replace(",", ";").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def parse_form(request: HttpRequest) -> dict[str, list[str]]:
    if len(request.body) > MAX_FORM_BYTES:
        return {}
    return urllib.parse.parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)


class Console:
    def __init__(
        self,
        *,
        backend: ConsoleBackend,
        sessions: SessionStore,
        audit: AuditLog,
        used_links: UsedLinks,
        link_key: Callable[[], bytes],
        clock: Clock,
        log: Log,
        session_ttl: timedelta = DEFAULT_SESSION_TTL,
        reports: ReportShelf | None = None,
    ) -> None:
        self._backend = backend
        self._sessions = sessions
        self._audit = audit
        self._used_links = used_links
        self._link_key = link_key
        self._clock = clock
        self._log = log
        self._session_ttl = session_ttl
        self._reports = reports or NoReports()
        self._env = templates()

    # ------------------------------------------------------------------ plumbing

    def _page(
        self, status: int, template: str, *, headers: Mapping[str, str] | None = None, **values: Any
    ) -> HttpResponse:
        values.setdefault("session", None)
        values.setdefault("connection", None)
        values.setdefault("active", "")
        values.setdefault("messages", [])
        body = self._env.get_template(template).render(nav=NAV, **values)
        return HttpResponse(
            status=status,
            body=body,
            headers={"content-type": "text/html; charset=utf-8", **SECURITY_HEADERS, **(headers or {})},
        )

    def _message(self, status: int, title: str, lines: list[str], **values: Any) -> HttpResponse:
        return self._page(status, "message.html", title=title, lines=lines, **values)

    def handle(self, request: HttpRequest, base_url: str) -> HttpResponse:
        path = request.path.rstrip("/") or "/"
        secure = base_url.startswith("https://")
        try:
            if path == "/console/sign-in":
                if request.method == "POST":
                    return self._sign_in(request, secure)
                return self._sign_in_page(request)
            session_id = cookie_value(request, COOKIE_NAME) or ""
            session = self._sessions.get(session_id, self._clock.now()) if session_id else None
            if session is None:
                return self._message(
                    401,
                    "Please sign in",
                    [
                        "Your session has ended or you have not signed in.",
                        "Run `clio-xero console` for a sign-in link.",
                    ],
                    headers={"set-cookie": cleared_cookie(secure=secure)} if session_id else None,
                )
            if request.method == "POST":
                refusal = self._refuse_post(request, session, base_url)
                if refusal is not None:
                    return refusal
                return self._post(request, path, session, session_id=session_id, base_url=base_url, secure=secure)
            if request.method in ("GET", "HEAD"):
                return self._get(request, path, session)
            return self._message(405, "Not allowed", ["This page only answers GET and POST."], session=session)
        except SyncError as exc:
            self._log.error("console request failed", extra={"reason": exc.message, "path": path})
            return self._message(502, "Something failed", [exc.message, "Nothing was changed. Try again."])

    def _refuse_post(self, request: HttpRequest, session: ConsoleSession, base_url: str) -> HttpResponse | None:
        origin = request.header("origin")
        form = parse_form(request)
        token = (form.get("csrf") or [""])[0]
        if (origin and origin.rstrip("/") != base_url.rstrip("/")) or not session.csrf_matches(token):
            self._log.warning("console request refused: bad CSRF token or origin", extra={"path": request.path})
            return self._message(
                403,
                "Request refused",
                [
                    "This form was not sent from this console page (its security token does not match).",
                    "Nothing was changed. Reload the page and try again.",
                ],
                session=session,
            )
        return None

    def _record(self, session: ConsoleSession, action: str, detail: str) -> None:
        self._audit.record(
            session.connection_id,
            AuditEntry(at=self._clock.now(), operator=session.operator, action=action, detail=detail),
        )

    # ------------------------------------------------------------------ sign-in

    def _verify(self, token: str | None) -> ConnectLink | HttpResponse:
        try:
            return verify_link(self._link_key(), token, provider="console", now=self._clock.now())
        except LinkRefused as refused:
            self._log.warning("console link refused", extra={"reason": refused.reason.value})
            return self._message(403, "Sign-in link refused", [_REFUSALS[refused.reason]])

    def _sign_in_page(self, request: HttpRequest) -> HttpResponse:
        link = self._verify(request.query.get("link"))
        if isinstance(link, HttpResponse):
            return link
        return self._page(200, "sign_in.html", link=request.query["link"], claims=link)

    def _sign_in(self, request: HttpRequest, secure: bool) -> HttpResponse:
        link = self._verify((parse_form(request).get("link") or [""])[0])
        if isinstance(link, HttpResponse):
            return link
        if self._backend.connection(link.connection_id) is None:
            return self._message(
                403, "Sign-in link refused", ["The connection this link was made for no longer exists."]
            )
        now = self._clock.now()
        if not self._used_links.use_link(link, now):
            return self._message(403, "Sign-in link refused", [_REFUSALS[LinkRefusal.USED]])
        session_id, session = new_session(link.connection_id, link.label or "operator", now, self._session_ttl)
        self._sessions.put(session_id, session)
        self._record(session, "signed in", f"session until {_when(session.expires)}")
        cookie = session_cookie(session_id, max_age=int(self._session_ttl.total_seconds()), secure=secure)
        return HttpResponse(status=303, headers={"location": "/console", "set-cookie": cookie, **SECURITY_HEADERS})

    # ------------------------------------------------------------------ pages

    def _common(self, session: ConsoleSession, active: str) -> dict[str, Any]:
        return {
            "session": session,
            "active": active,
            "connection": self._backend.connection(session.connection_id),
            "changes": self._audit.recent(session.connection_id, 10),
            "expires": _when(session.expires),
        }

    def _get(self, request: HttpRequest, path: str, session: ConsoleSession) -> HttpResponse:
        cid = session.connection_id
        if path == "/console":
            report = self._backend.status(cid)
            return self._page(
                200,
                "status.html",
                report=report.connections[0] if report.connections else None,
                stack=report,
                webhooks=self._backend.webhooks(cid),
                now=self._clock.now(),
                **self._common(session, "status"),
            )
        if path == "/console/settings":
            return self._settings_page(200, session)
        if path == "/console/errors":
            return self._errors_page(200, session, bill=request.query.get("bill"))
        if path == "/console/reports":
            return self._reports_page(request, session)
        if path == "/console/reports/receivables":
            return self._receivables(request, session)
        if path == "/console/connection":
            return self._page(200, "connection.html", links=None, outcome=None, **self._common(session, "connection"))
        return self._message(404, "Not found", ["There is nothing here."], session=session)

    def _settings_page(
        self,
        status: int,
        session: ConsoleSession,
        *,
        submitted: Mapping[str, Any] | None = None,
        problems: Mapping[str, str] | None = None,
        findings: list[Finding] | None = None,
        messages: list[str] | None = None,
    ) -> HttpResponse:
        cid = session.connection_id
        settings = self._backend.settings(cid)
        # The chart costs a Xero call: read it only when the settings name an account.
        needs_chart = any(is_account_key(f.name) for s in build_sections(settings) for f in s.fields)
        chart = self._backend.chart(cid) if needs_chart else Chart()
        sections = build_sections(
            settings,
            accounts=chart.accounts if needs_chart and chart.problem is None else None,
            accepts=describe_fields(),
            submitted=submitted,
            problems=problems,
        )
        return self._page(
            status,
            "settings.html",
            sections=sections,
            chart=chart,
            problems=problems or {},
            findings=findings,
            messages=messages or [],
            **self._common(session, "settings"),
        )

    def _errors_page(
        self, status: int, session: ConsoleSession, messages: list[str] | None = None, *, bill: str | None = None
    ) -> HttpResponse:
        number = (bill or "").strip()
        explained = None
        bill_problem = None
        if len(number) > MAX_BILL_NUMBER:
            bill_problem, status = f"A bill number is at most {MAX_BILL_NUMBER} characters.", 400
        elif number:
            try:
                explained = self._backend.explain_bill(session.connection_id, number)
            except SyncError as exc:  # said beside the form, with the rest of the page still there
                self._log.warning("bill explanation failed", extra={"reason": exc.message})
                bill_problem, status = (
                    f"Could not ask Clio and Xero about this bill: {exc.message}. Nothing was changed; "
                    "try again in a minute.",
                    502,
                )
        return self._page(
            status,
            "errors.html",
            errors=self._backend.errors(session.connection_id),
            messages=messages or [],
            bill=number,
            explained=explained,
            bill_problem=bill_problem,
            **self._common(session, "errors"),
        )

    def _receivables(self, request: HttpRequest, session: ConsoleSession) -> HttpResponse:
        """The receivables report read live (Clio and Xero calls, as `clio-xero report receivables`):
        a page, or the CSV / JSON the CLI writes with ``?format=``."""
        wanted = request.query.get("format") or "html"
        if wanted not in (ReportFormat.CSV.value, ReportFormat.JSON.value, ReportFormat.HTML.value):
            return self._message(400, "No such format", ["Choose csv, json or html."], session=session)
        found = self._backend.receivables(session.connection_id)
        if wanted == ReportFormat.HTML.value:
            return self._page(
                200,
                "receivables.html",
                rows=sort_rows(found.rows),
                differences=found.differences,
                read_at=self._clock.now().strftime("%Y-%m-%d %H:%M UTC"),
                **self._common(session, "reports"),
            )
        day = self._clock.now().date().isoformat()
        fmt = ReportFormat(wanted)
        content_type = "text/csv; charset=utf-8" if fmt is ReportFormat.CSV else "application/json"
        return HttpResponse(
            status=200,
            body=render(found.rows, fmt),
            headers={
                "content-type": content_type,
                **SECURITY_HEADERS,
                "content-disposition": f'attachment; filename="receivables-{day}.{wanted}"',
            },
        )

    def _reports_page(self, request: HttpRequest, session: ConsoleSession) -> HttpResponse:
        key = request.query.get("key")
        if key:
            found = self._reports.get(session.connection_id, key)
            if found is None:
                return self._message(404, "No such report", ["This report is not there (any more)."], session=session)
            content_type, data = found
            headers = {"content-type": content_type, **SECURITY_HEADERS}
            if request.query.get("download") or not content_type.startswith("text/html"):
                headers["content-disposition"] = f'attachment; filename="{filename(key)}"'
            return HttpResponse(status=200, body=data.decode("utf-8", "replace"), headers=headers)
        return self._page(
            200,
            "reports.html",
            reports=self._reports.list(session.connection_id),
            **self._common(session, "reports"),
        )

    # ------------------------------------------------------------------ changes

    def _post(
        self, request: HttpRequest, path: str, session: ConsoleSession, *, session_id: str, base_url: str, secure: bool
    ) -> HttpResponse:
        form = parse_form(request)
        cid = session.connection_id
        if path == "/console/sign-out":
            self._sessions.delete(session_id)
            self._record(session, "signed out", "")
            return self._message(
                200, "Signed out", ["You are signed out."], headers={"set-cookie": cleared_cookie(secure=secure)}
            )
        if path == "/console/settings":
            return self._save_settings(session, form)
        if path == "/console/errors/retry":
            record = (form.get("record") or [""])[0].strip() or None
            try:
                queued = self._backend.retry(cid, record)
            except ValueError as exc:
                return self._errors_page(400, session, [str(exc)])
            self._record(session, "retry", ", ".join(queued) or "nothing in error")
            lines = [f"Queued {len(queued)} record(s) for a fresh sync: {', '.join(queued)}."] if queued else []
            return self._errors_page(200, session, lines or ["No records in error."])
        if path == "/console/connection/links":
            links = self._backend.connect_links(cid, base_url, self._clock.now())
            self._record(session, "connect links issued", f"valid until {links.expires_at.isoformat()}")
            return self._page(200, "connection.html", links=links, outcome=None, **self._common(session, "connection"))
        if path == "/console/connection/disconnect":
            if (form.get("confirm") or [""])[0] != "yes":
                return self._page(
                    400,
                    "connection.html",
                    links=None,
                    outcome=None,
                    confirm_error="Tick the box to confirm: nothing was disconnected.",
                    **self._common(session, "connection"),
                )
            purge = (form.get("mappings") or ["keep"])[0] == "purge"
            outcome = self._backend.disconnect(cid, purge=purge)
            self._record(session, "disconnected", ("record links purged" if purge else "record links kept"))
            return self._page(
                200, "connection.html", links=None, outcome=outcome, **self._common(session, "connection")
            )
        return self._message(404, "Not found", ["There is nothing here."], session=session)

    def _save_settings(self, session: ConsoleSession, form: Mapping[str, list[str]]) -> HttpResponse:
        cid = session.connection_id
        before = self._backend.settings(cid)
        sections = build_sections(before)
        updates = read_form(sections, form)
        try:
            after = self._backend.save_settings(cid, updates, self._clock.now())
        except InvalidSettingsError as exc:
            return self._settings_page(400, session, submitted=updates, problems=exc.problems or {"": exc.message})
        changed = _changes(before, after)
        self._record(session, "settings changed", "; ".join(changed) or "saved unchanged")
        findings = self._backend.preflight(cid, after)
        return self._settings_page(
            200, session, findings=findings, messages=["Saved. " + ("; ".join(changed) or "Nothing changed.")]
        )


def _changes(before: BaseModel, after: BaseModel) -> list[str]:
    """``key: old → new`` for every setting that differs (sections walked, ``updated_at`` skipped)."""
    out: list[str] = []
    for name in type(after).model_fields:
        old, new = getattr(before, name), getattr(after, name)
        if isinstance(new, BaseModel) and isinstance(old, BaseModel):
            out.extend(_changes(old, new))
        elif name != "updated_at" and old != new:
            out.append(f"{name}: {_show(old)} → {_show(new)}")
    return out


def _show(value: Any) -> str:
    if value is None or value in ("", {}):
        return "(not set)"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def _when(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")
