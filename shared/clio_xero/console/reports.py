"""The Reports page's shelf: the reports the stack's scheduled runs wrote to the bucket.

Two kinds: the monthly trust reconciliation (:mod:`clio_xero.trust.monthly`), written as
``trust/reports/<connection>/<as-of date>/<account id>.{html,csv,json}`` (or ``.error.txt`` when a
statement could not be read), and the daily receivables copy (:mod:`clio_xero.payments.daily`),
``receivables/reports/<connection>/<day>.{html,csv,json}``. The console lists a connection's own
and serves them to view or download; a key is only ever served if it names the session's
connection under one of these two shapes, so no request can reach another connection's report or
any other object.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from clio_xero.aws.objects import S3Objects
from clio_xero.payments.daily import PREFIX as RECEIVABLES_PREFIX
from clio_xero.trust.monthly import PREFIX

REPORT_KEY = re.compile(
    r"^trust/reports/(?P<cid>[^/]+)/(?P<day>\d{4}-\d{2}-\d{2})/(?P<account>\d+)\.(?P<fmt>html|csv|json|error\.txt)$"
)
RECEIVABLES_KEY = re.compile(r"^receivables/reports/(?P<cid>[^/]+)/(?P<day>\d{4}-\d{2}-\d{2})\.(?P<fmt>html|csv|json)$")
TRUST_TITLE = "Trust three-way reconciliation"
RECEIVABLES_TITLE = "Receivables: Clio beside Xero (daily copy)"
MAX_RECEIVABLES_LISTED = 31  # the last month of daily copies
CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "error.txt": "text/plain; charset=utf-8",
}
MAX_LISTED = 120  # about ten years of monthly reports for a few accounts


@dataclass
class StoredReport:
    title: str
    as_of: str
    account: str
    keys: dict[str, str] = field(default_factory=dict)  # format -> key


class ReportShelf(Protocol):
    def list(self, connection_id: str) -> list[StoredReport]: ...

    def get(self, connection_id: str, key: str) -> tuple[str, bytes] | None: ...


class StoredReportShelf:
    def __init__(self, objects: S3Objects) -> None:
        self._objects = objects

    def list(self, connection_id: str) -> list[StoredReport]:
        """The daily receivables copies (newest month) first, then the trust reports, newest first."""
        return self._receivables(connection_id) + self._trust(connection_id)

    def _trust(self, connection_id: str) -> builtins.list[StoredReport]:
        found: dict[tuple[str, str], StoredReport] = {}
        for key in self._objects.keys(f"{PREFIX}/reports/{connection_id}/"):
            match = REPORT_KEY.match(key)
            if match is None or match["cid"] != connection_id:
                continue
            report = found.setdefault(
                (match["day"], match["account"]), StoredReport(TRUST_TITLE, match["day"], match["account"])
            )
            report.keys[match["fmt"]] = key
        newest = sorted(found.values(), key=lambda r: (r.as_of, r.account), reverse=True)
        return newest[:MAX_LISTED]

    def _receivables(self, connection_id: str) -> builtins.list[StoredReport]:
        found: dict[str, StoredReport] = {}
        for key in self._objects.keys(f"{RECEIVABLES_PREFIX}/{connection_id}/"):
            match = RECEIVABLES_KEY.match(key)
            if match is None or match["cid"] != connection_id:
                continue
            report = found.setdefault(match["day"], StoredReport(RECEIVABLES_TITLE, match["day"], ""))
            report.keys[match["fmt"]] = key
        newest = sorted(found.values(), key=lambda r: r.as_of, reverse=True)
        return newest[:MAX_RECEIVABLES_LISTED]

    def get(self, connection_id: str, key: str) -> tuple[str, bytes] | None:
        match = REPORT_KEY.match(key) or RECEIVABLES_KEY.match(key)
        if match is None or match["cid"] != connection_id:
            return None
        data = self._objects.get(key)
        return None if data is None else (CONTENT_TYPES[match["fmt"]], data)


class NoReports:
    """A stack without a report bucket configured."""

    def list(self, connection_id: str) -> list[StoredReport]:
        return []

    def get(self, connection_id: str, key: str) -> tuple[str, bytes] | None:
        return None


def filename(key: str) -> str:
    parts: Sequence[str] = key.split("/")
    if key.startswith(f"{RECEIVABLES_PREFIX}/"):
        return "-".join(["receivables", *parts[-2:]])
    return "-".join(parts[-3:]) if len(parts) >= 3 else key
