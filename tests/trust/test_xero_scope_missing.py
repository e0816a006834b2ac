"""A connection made before the report scope was asked for: Xero refuses ``Reports/BankSummary``
(401, then 401 again after a refresh: ``NeedsReconnectError`` from the client). The report says
which scope is missing, as a configuration error (docs/connect.md, "Scopes"); the monthly run
writes it where the report would be and goes on with the next account."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest

from clio_xero.clock import ManualClock
from clio_xero.connect.providers import XERO_TRUST_REPORT_SCOPE
from clio_xero.errors import ConfigurationError, NeedsReconnectError
from clio_xero.trust.monthly import MonthlyTrustReports
from clio_xero.trust.source import read_xero_view
from clio_xero_tools import trust_samples as ts

from .test_source import T0, FakeXero, firm


class XeroWithoutReportScope(FakeXero):
    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        raise NeedsReconnectError(
            "Xero connection needs reconnecting: the access token was rejected even after a refresh"
        )


class MemoryObjects:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def keys(self, prefix: str) -> list[str]:
        return [k for k in self.objects if k.startswith(prefix)]

    def get(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.objects[key] = data


def test_the_missing_scope_is_named_as_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=f"made without the scope {XERO_TRUST_REPORT_SCOPE}; reconnect"):
        read_xero_view(XeroWithoutReportScope("0.00"), ts.account(), date(2026, 1, 31), xero_account="091")


def test_the_monthly_run_writes_the_missing_scope_where_the_report_would_be() -> None:
    objects = MemoryObjects()
    counted: dict[str, int] = {}

    def count(name: str, value: int = 1) -> None:
        counted[name] = value

    monthly = MonthlyTrustReports(
        connection_ids=lambda: ["c1"],
        clients_for=lambda _c: (firm(), XeroWithoutReportScope("0.00")),
        objects=objects,  # type: ignore[arg-type]
        clock=ManualClock(T0),
        log=logging.getLogger("test"),
        count=count,
        xero_account="091",
    )
    run = monthly.run(date(2026, 1, 31), force=True)
    [outcome] = run.outcomes
    assert outcome.status == "failed" and outcome.key is not None
    assert XERO_TRUST_REPORT_SCOPE in (outcome.error or "")
    assert XERO_TRUST_REPORT_SCOPE in objects.objects[outcome.key].decode()
    assert counted["TrustReportFailures"] == 1
