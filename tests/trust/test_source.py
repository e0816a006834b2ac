"""Reading the trust book: first read in full, later reads only what changed, deletions caught."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from clio_xero.clients import RecordPage
from clio_xero.clock import ManualClock
from clio_xero.errors import ConfigurationError
from clio_xero.trust.source import ClioTrustSource, Snapshot, pick_account, read_xero_view
from clio_xero_tools import trust_samples as ts

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


class FakeClio:
    """Records with ``updated_at``; honours ``updated_since`` and the filters the source sends."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[int, dict[str, Any]]] = {"bank_accounts": {}, "bank_transactions": {}, "matters": {}}
        self.calls: list[tuple[str, datetime | None]] = []  # one per read (its first page)
        self.page_size = 4  # small pages: the read follows the cursor
        self._query: tuple[str, Mapping[str, Any] | None, datetime | None] = ("", None, None)

    def put(self, resource: str, row: dict[str, Any], when: datetime) -> None:
        self.rows[resource][row["id"]] = {**row, "updated_at": when.isoformat()}

    def read_page(
        self,
        resource: str,
        *,
        fields: str,
        params: Mapping[str, Any] | None = None,
        updated_since: datetime | None = None,
        page_size: int = 200,
        next_url: str | None = None,
    ) -> RecordPage:
        """Pages of ``page_size``; the cursor is the offset (Clio's is a URL: opaque to the caller)."""
        if next_url is None:
            self.calls.append((resource, updated_since))
            self._query = (resource, params, updated_since)
        resource, params, updated_since = self._query
        rows = [
            row
            for row in sorted(self.rows[resource].values(), key=lambda r: r["id"])
            if not (updated_since and datetime.fromisoformat(row["updated_at"]) < updated_since)
            and not (params and "bank_account_id" in params and row["bank_account"]["id"] != params["bank_account_id"])
        ]
        start = int(next_url or 0)
        end = start + self.page_size
        return RecordPage(rows=rows[start:end], next=str(end) if end < len(rows) else None)


class MemorySnapshots:
    def __init__(self) -> None:
        self.data: bytes | None = None

    def load(self) -> bytes | None:
        return self.data

    def save(self, data: bytes) -> None:
        self.data = data


def firm() -> FakeClio:
    clio = FakeClio()
    clio.put("bank_accounts", ts.account(balance="7749.00").model_dump(mode="json"), T0 - timedelta(days=40))
    clio.put(
        "bank_accounts",
        {"id": 1, "name": "Operating", "type": "Operating", "currency": "USD", "balance": "1.00"},
        T0,
    )
    for txn in ts.BALANCED_TXNS:
        clio.put("bank_transactions", txn, T0 - timedelta(days=3))
    for m in ts.matters():
        clio.put("matters", m.model_dump(mode="json"), T0 - timedelta(days=30))
    return clio


def test_first_read_in_full_then_only_what_changed() -> None:
    clio, snaps, clock = firm(), MemorySnapshots(), ManualClock(T0)
    book = ClioTrustSource(clio, snaps, clock).read()
    assert book.full_read
    assert [a.name for a in book.accounts] == ["Client Trust Account"]  # Operating is not a trust account
    assert len(book.transactions) == 9
    assert all(since is None for _, since in clio.calls)

    clock.set(T0 + timedelta(days=1))
    clio.calls.clear()
    new = {**ts.BALANCED_TXNS[0], "id": 20, "amount": "10.00", "date": "2026-02-01"}
    clio.put("bank_transactions", new, T0 + timedelta(hours=2))
    clio.put("bank_accounts", ts.account(balance="7759.00").model_dump(mode="json"), T0 + timedelta(hours=2))
    book = ClioTrustSource(clio, snaps, clock).read()
    assert not book.full_read
    assert len(book.transactions) == 10
    # Bank accounts are read whole every time (one call: their balances are the deletion check).
    assert clio.calls == [
        ("bank_accounts", None),
        ("bank_transactions", T0 - timedelta(minutes=10)),
        ("matters", T0 - timedelta(minutes=10)),
    ]


def test_a_deletion_is_caught_by_the_balance_and_the_account_read_again() -> None:
    clio, snaps, clock = firm(), MemorySnapshots(), ManualClock(T0)
    ClioTrustSource(clio, snaps, clock).read()
    clock.set(T0 + timedelta(days=1))
    del clio.rows["bank_transactions"][9]
    clio.put("bank_accounts", ts.account(balance="6750.00").model_dump(mode="json"), T0 + timedelta(hours=1))
    clio.calls.clear()
    book = ClioTrustSource(clio, snaps, clock).read()
    assert sorted(t.id for t in book.transactions) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert ("bank_transactions", None) in clio.calls  # the full re-read
    assert Snapshot.loads(snaps.data).read_at == T0 + timedelta(days=1)


def test_pick_account() -> None:
    accounts = [ts.account(), ts.account().model_copy(update={"id": 2, "name": "Second Trust"})]
    assert pick_account(accounts, "second trust").id == 2
    with pytest.raises(ConfigurationError, match="name one with --account"):
        pick_account(accounts, None)
    with pytest.raises(ConfigurationError, match="no Clio trust account named 'x'"):
        pick_account(accounts, "x")


class FakeResponse:
    def __init__(self, body: Any) -> None:
        self.body = body

    def json(self) -> Any:
        return self.body


class FakeXero:
    def __init__(self, closing: str) -> None:
        self.closing = closing
        self.requests: list[tuple[str, Mapping[str, Any] | None]] = []

    def iter_records(
        self,
        resource: str,
        key: str,
        *,
        params: Mapping[str, Any] | None = None,
        modified_since: datetime | None = None,
        page_size: int = 1000,
    ) -> Iterator[dict[str, Any]]:
        self.requests.append((resource, params))
        yield {
            "AccountID": "a-op",
            "Name": "Business Bank",
            "Type": "BANK",
            "BankAccountNumber": "11-22",
            "CurrencyCode": "USD",
        }
        yield {
            "AccountID": "a-trust",
            "Name": "Trust Account",
            "Code": "091",
            "Type": "BANK",
            "BankAccountNumber": "0001 2345 6789",
            "CurrencyCode": "USD",
        }

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        self.requests.append((path, params))

        def row(aid: str, name: str, close: str) -> dict[str, Any]:
            return {
                "RowType": "Row",
                "Cells": [
                    {"Value": name, "Attributes": [{"Id": "accountID", "Value": aid}]},
                    {"Value": "0.00"},
                    {"Value": "0.00"},
                    {"Value": "0.00"},
                    {"Value": close},
                ],
            }

        return FakeResponse(
            {
                "Reports": [
                    {
                        "ReportType": "BankSummary",
                        "Rows": [
                            {
                                "RowType": "Header",
                                "Cells": [
                                    {"Value": "Bank Accounts"},
                                    {"Value": "Opening Balance"},
                                    {"Value": "Cash Received"},
                                    {"Value": "Cash Spent"},
                                    {"Value": "Closing Balance"},
                                ],
                            },
                            {
                                "RowType": "Section",
                                "Rows": [
                                    row("a-op", "Business Bank", "5.00"),
                                    row("a-trust", "Trust Account", self.closing),
                                ],
                            },
                        ],
                    }
                ]
            }
        )


def test_xero_view_finds_the_account_by_number_and_reads_the_bank_summary() -> None:
    xero = FakeXero("6,740.00")
    view = read_xero_view(xero, ts.account(), date(2026, 1, 31), xero_account=None)
    assert (view.account_id, view.name, view.closing_balance) == ("a-trust", "Trust Account", Decimal("6740.00"))
    assert xero.requests == [
        ("Accounts", {"where": 'Type=="BANK"'}),
        ("Reports/BankSummary", {"fromDate": "2026-01-31", "toDate": "2026-01-31"}),
    ]
    assert read_xero_view(xero, ts.account(), date(2026, 1, 31), xero_account="091").account_id == "a-trust"
    with pytest.raises(ConfigurationError, match="0 Xero bank accounts match 'nope'"):
        read_xero_view(xero, ts.account(), date(2026, 1, 31), xero_account="nope")
