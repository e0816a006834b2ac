"""Console sign-in and sessions.

* **Sign-in links** are connect links (:mod:`clio_xero.connect.links`) with ``provider="console"``
  and the operator's label: signed with the same SSM key, short-lived, single use through the same
  conditional write (:meth:`~clio_xero.connect.store.DynamoConnectStore.use_link`). A console link
  is refused by the connect routes (wrong provider) and a connect link by the console.
* **Sessions**: a random 256-bit id in a cookie; the table holds only its SHA-256
  (``pk=CONSOLE#<hash>``, ``sk=#SESSION``), with the connection it grants, the operator, the CSRF
  token and the expiry (also the TTL attribute; checked on read too, as DynamoDB deletes late).
  A leaked table item therefore cannot be replayed as a cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import urllib.parse
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from clio_xero.connect.links import ConnectLink, mint_link

SESSION_SK = "#SESSION"
DEFAULT_SESSION_TTL = timedelta(hours=2)
DEFAULT_SIGN_IN_TTL = timedelta(minutes=15)
COOKIE_NAME = "clio_xero_console"
COOKIE_PATH = "/console"


MAX_SIGN_IN_TTL = timedelta(hours=24)


def sign_in_link(
    key: bytes, *, connection_id: str, operator: str, api_url: str, now: datetime, ttl: timedelta = DEFAULT_SIGN_IN_TTL
) -> tuple[str, ConnectLink]:
    """``<api>/console/sign-in?link=…`` for ``operator`` (recorded with every change they make)."""
    if not timedelta(0) < ttl <= MAX_SIGN_IN_TTL:
        raise ValueError(f"a sign-in link lives between a minute and {MAX_SIGN_IN_TTL}")
    token, link = mint_link(
        key, connection_id=connection_id, provider="console", now=now, ttl=ttl, label=operator.strip() or None
    )
    return f"{api_url.rstrip('/')}/console/sign-in?{urllib.parse.urlencode({'link': token})}", link


class ConsoleSession(BaseModel):
    model_config = ConfigDict(frozen=True)

    connection_id: str
    operator: str
    csrf_token: str
    created_at: datetime
    expires: int  # epoch seconds

    def live(self, now: datetime) -> bool:
        return now.timestamp() < self.expires

    def csrf_matches(self, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(self.csrf_token, submitted or "")


def session_pk(session_id: str) -> str:
    return "CONSOLE#" + hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def new_session(connection_id: str, operator: str, now: datetime, ttl: timedelta) -> tuple[str, ConsoleSession]:
    """A fresh session id (for the cookie only) and what the table keeps about it."""
    session = ConsoleSession(
        connection_id=connection_id,
        operator=operator,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires=int((now + ttl).timestamp()),
    )
    return secrets.token_urlsafe(32), session


class SessionStore(Protocol):
    def put(self, session_id: str, session: ConsoleSession) -> None: ...

    def get(self, session_id: str, now: datetime) -> ConsoleSession | None: ...

    def delete(self, session_id: str) -> None: ...


class InMemorySessionStore:
    def __init__(self) -> None:
        self.items: dict[str, ConsoleSession] = {}

    def put(self, session_id: str, session: ConsoleSession) -> None:
        self.items[session_pk(session_id)] = session

    def get(self, session_id: str, now: datetime) -> ConsoleSession | None:
        session = self.items.get(session_pk(session_id))
        return session if session and session.live(now) else None

    def delete(self, session_id: str) -> None:
        self.items.pop(session_pk(session_id), None)


def session_cookie(session_id: str, *, max_age: int, secure: bool) -> str:
    """The session cookie.

    ``SameSite=Strict``: no request started by another site carries it, so a forged cross-site
    form or link arrives signed out (CSRF tokens are the second lock). Strict is workable because
    sign-in is a POST from our own page (see :mod:`clio_xero.console.app`), never a cross-site
    redirect. ``Secure`` is left off only when the page is served over plain http on loopback (the
    local runtime); API Gateway serves https only."""
    flags = f"Path={COOKIE_PATH}; Max-Age={max_age}; HttpOnly; SameSite=Strict"
    return f"{COOKIE_NAME}={session_id}; {flags}{'; Secure' if secure else ''}"


def cleared_cookie(*, secure: bool) -> str:
    return f"{COOKIE_NAME}=; Path={COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Strict{'; Secure' if secure else ''}"
