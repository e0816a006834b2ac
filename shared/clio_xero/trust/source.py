"""Read what the trust report needs from Clio (and Xero), incrementally.

Clio: ``bank_accounts`` (type Trust), ``bank_transactions`` on the account and ``matters``, by
cursor pages of 200 (docs/trust-report.md, "What is read"). The first run reads everything; a
snapshot keeps the records, and later runs ask only for what changed since the last read
(``updated_since``, with an overlap for clock skew). Clio has no "deleted since" filter, so after
an incremental read the snapshot's transactions are summed and compared with Clio's own balance
of the account: when they disagree the account is read again in full once.

Xero (only when the firm keeps the trust account there): ``Accounts`` (type BANK) to find the
account and ``Reports/BankSummary`` for its closing balance on the as-of date.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from clio_xero.clients import RecordPage
from clio_xero.clock import Clock
from clio_xero.connect.providers import XERO_TRUST_REPORT_SCOPE
from clio_xero.errors import ConfigurationError, NeedsReconnectError, UpstreamUnavailableError
from clio_xero.sync.backfill import Patience, patient_pages
from clio_xero.trust.model import ClioMatter, ClioTrustTransaction, TrustAccount, XeroAccountView, money

BANK_ACCOUNT_FIELDS = "id,etag,name,type,currency,account_number,institution,holder,balance,updated_at"
TRANSACTION_FIELDS = (
    "id,etag,date,amount,confirmation,description,transaction_type,currency,updated_at,"
    "bank_account{id},client{id,name},matter{id,display_number},bill{id},allocation{id}"
)
MATTER_FIELDS = "id,etag,display_number,description,status,close_date,updated_at,client{id,name}"
#: Read again a little before the last read: records updated while it ran are not missed.
OVERLAP = timedelta(minutes=10)


class ClioReader(Protocol):
    """The generic Clio client method the report uses (``ClioClient.read_page``): pages are read
    one at a time so a throttle (50 calls a minute at peak) is waited out and the same page asked
    again, where ``iter_records`` would end on the exception."""

    def read_page(
        self,
        resource: str,
        *,
        fields: str,
        params: Mapping[str, Any] | None = None,
        updated_since: datetime | None = None,
        page_size: int = 200,
        next_url: str | None = None,
    ) -> RecordPage: ...


class XeroReader(Protocol):
    """The Xero client methods the report uses (``XeroClient`` has them)."""

    def iter_records(
        self,
        resource: str,
        key: str,
        *,
        params: Mapping[str, Any] | None = None,
        modified_since: datetime | None = None,
        page_size: int = 1000,
    ) -> Iterator[dict[str, Any]]: ...

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None) -> Any: ...


class SnapshotStore(Protocol):
    """Where the last read is kept between runs (a file for the CLI, an S3 object for the stack)."""

    def load(self) -> bytes | None: ...

    def save(self, data: bytes) -> None: ...


@dataclass
class Snapshot:
    read_at: datetime | None = None
    accounts: dict[int, dict[str, Any]] = field(default_factory=dict)
    transactions: dict[int, dict[str, Any]] = field(default_factory=dict)
    matters: dict[int, dict[str, Any]] = field(default_factory=dict)

    def dumps(self) -> bytes:
        return json.dumps(
            {
                "version": 1,
                "read_at": self.read_at.isoformat() if self.read_at else None,
                "accounts": list(self.accounts.values()),
                "transactions": list(self.transactions.values()),
                "matters": list(self.matters.values()),
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def loads(cls, data: bytes | None) -> Snapshot:
        if not data:
            return cls()
        raw = json.loads(data)
        if raw.get("version") != 1:
            return cls()  # an older layout: read everything again
        return cls(
            read_at=datetime.fromisoformat(raw["read_at"]) if raw.get("read_at") else None,
            accounts={r["id"]: r for r in raw["accounts"]},
            transactions={r["id"]: r for r in raw["transactions"]},
            matters={r["id"]: r for r in raw["matters"]},
        )


@dataclass(frozen=True)
class ClioTrustBook:
    accounts: list[TrustAccount]
    transactions: list[ClioTrustTransaction]
    matters: list[ClioMatter]
    full_read: bool


class ClioTrustSource:
    """Reads the trust book through :class:`ClioReader`, keeping a :class:`Snapshot` between runs."""

    def __init__(
        self, clio: ClioReader, snapshots: SnapshotStore | None, clock: Clock, patience: Patience | None = None
    ) -> None:
        self._clio = clio
        self._snapshots = snapshots
        self._clock = clock
        self._patience = patience or Patience()

    def _rows(
        self, resource: str, fields: str, params: Mapping[str, Any] | None = None, since: datetime | None = None
    ) -> Iterator[dict[str, Any]]:
        def read(cursor: str | None) -> RecordPage:
            return self._clio.read_page(resource, fields=fields, params=params, updated_since=since, next_url=cursor)

        return patient_pages(read, self._patience)

    def read(self) -> ClioTrustBook:
        snap = Snapshot.loads(self._snapshots.load() if self._snapshots else None)
        full = snap.read_at is None
        started = self._clock.now()
        since = snap.read_at - OVERLAP if snap.read_at is not None else None
        snap.accounts = {
            r["id"]: r
            for r in self._rows("bank_accounts", BANK_ACCOUNT_FIELDS, {"type": "TrustAccount"})
            if r.get("type") == "Trust"  # the filter is the spec's; the check keeps us right if it is ignored
        }
        for account_id in snap.accounts:
            self._pull_transactions(snap, account_id, since)
        for record in self._rows("matters", MATTER_FIELDS, since=since):
            snap.matters[record["id"]] = record
        if not full:
            for account_id in self._drifted(snap):
                # Something was deleted (no "deleted since" in Clio): read this account again whole.
                snap.transactions = {
                    k: v for k, v in snap.transactions.items() if (v.get("bank_account") or {}).get("id") != account_id
                }
                self._pull_transactions(snap, account_id, None)
        snap.read_at = started
        if self._snapshots is not None:
            self._snapshots.save(snap.dumps())
        return ClioTrustBook(
            accounts=[TrustAccount.model_validate(a) for a in snap.accounts.values()],
            transactions=[ClioTrustTransaction.model_validate(t) for t in snap.transactions.values()],
            matters=[ClioMatter.model_validate(m) for m in snap.matters.values()],
            full_read=full,
        )

    def _pull_transactions(self, snap: Snapshot, account_id: int, since: datetime | None) -> None:
        for record in self._rows("bank_transactions", TRANSACTION_FIELDS, {"bank_account_id": account_id}, since):
            if (record.get("bank_account") or {}).get("id") == account_id:
                snap.transactions[record["id"]] = record

    @staticmethod
    def _drifted(snap: Snapshot) -> list[int]:
        totals: dict[int, Decimal] = {}
        for t in snap.transactions.values():
            acct = int((t.get("bank_account") or {}).get("id") or 0)
            totals[acct] = totals.get(acct, Decimal(0)) + money(t["amount"])
        return [
            account_id
            for account_id, a in snap.accounts.items()
            if a.get("balance") is not None and money(a["balance"]) != totals.get(account_id, Decimal(0))
        ]


def pick_account(accounts: list[TrustAccount], name: str | None) -> TrustAccount:
    """The trust account named (case-insensitive), or the only one; otherwise a clear error."""
    if name is not None:
        found = [a for a in accounts if a.name.casefold() == name.casefold()]
        if not found:
            raise ConfigurationError(f"no Clio trust account named {name!r}; there are {[a.name for a in accounts]}")
        return found[0]
    if len(accounts) != 1:
        raise ConfigurationError(
            f"{len(accounts)} Clio trust accounts ({[a.name for a in accounts]}): name one with --account"
        )
    return accounts[0]


# ----------------------------------------------------------------------------- Xero
def read_xero_view(
    xero: XeroReader,
    account: TrustAccount,
    as_of: date,
    *,
    xero_account: str | None,
    patience: Patience | None = None,
) -> XeroAccountView:
    """Xero's closing balance on ``as_of`` for the bank account that mirrors the Clio trust account.

    The Xero account is the one named ``xero_account`` (name, code or AccountID) or else the BANK
    account whose bank account number is the Clio account's.
    """
    patience = patience or Patience()
    where = {"where": 'Type=="BANK"'}
    banks = patience.call(lambda: list(xero.iter_records("Accounts", "Accounts", params=where)))
    wanted = (xero_account or "").casefold()

    def fits(a: dict[str, Any]) -> bool:
        if wanted:
            return wanted in {str(a.get(k) or "").casefold() for k in ("Name", "Code", "AccountID")}
        from clio_xero.trust.reconcile import same_account

        number = str(a.get("BankAccountNumber") or "")
        return bool(number and account.account_number and same_account(number, account.account_number))

    found = [a for a in banks if fits(a)]
    if len(found) != 1:
        raise ConfigurationError(
            f"{len(found)} Xero bank accounts match {xero_account or account.account_number!r}; "
            "name the one that mirrors the trust account"
        )
    acct = found[0]
    day = as_of.isoformat()
    try:
        body = patience.call(
            lambda: xero.request("GET", "Reports/BankSummary", params={"fromDate": day, "toDate": day}).json()
        )
    except NeedsReconnectError:
        # The same token has just read Accounts, so a 401 here is the report scope, not a dead grant:
        # a connection made before the scope was asked for (docs/connect.md, "Scopes"). A setting to
        # fix, not dead tokens: the sync goes on, the CLI exits 3 and the monthly run writes this
        # where the report would be.
        raise ConfigurationError(
            f"Xero refused Reports/BankSummary: the connection was made without the scope "
            f"{XERO_TRUST_REPORT_SCOPE}; reconnect Xero (clio-xero connect --connection ID) to compare with Xero"
        ) from None
    balance = _bank_summary_closing(body, str(acct["AccountID"]), str(acct.get("Name") or ""))
    return XeroAccountView(
        account_id=str(acct["AccountID"]),
        name=str(acct.get("Name") or acct["AccountID"]),
        currency=acct.get("CurrencyCode"),
        closing_balance=balance,
    )


def _bank_summary_closing(body: Any, account_id: str, name: str) -> Decimal:
    """The "Closing Balance" cell of the account's row (rows carry the AccountID as a cell attribute)."""
    reports = body.get("Reports") if isinstance(body, dict) else None
    if not reports:
        raise UpstreamUnavailableError("Xero's BankSummary answer has no report")
    report = reports[0]
    header = next((r for r in report.get("Rows", []) if r.get("RowType") == "Header"), None)
    labels = [str(c.get("Value", "")).casefold() for c in (header or {}).get("Cells", [])]
    column = labels.index("closing balance") if "closing balance" in labels else 4
    for section in report.get("Rows", []):
        for row in section.get("Rows", []) or []:
            if row.get("RowType") != "Row":
                continue
            cells = row.get("Cells", [])
            ids = {a.get("Value") for c in cells[:1] for a in c.get("Attributes", []) or []}
            if account_id in ids or (not ids and cells and cells[0].get("Value") == name):
                return money(cells[column].get("Value") or "0")
    return Decimal("0.00")  # Xero leaves out accounts with no activity and no balance
