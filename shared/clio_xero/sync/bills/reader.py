"""What the bill plug-in reads, in as few calls as the APIs allow (docs/billing.md "The bill plug-in").

Clio: bills by ``ids[]`` (one call for up to 200), with their matters' number and description;
their line items either one call per bill (``bill_id`` takes one id) or, for three bills or more
created recently, one ``created_since`` scan of the line items (a line is never older than its
bill), filtered to the bills asked for; activities by ``ids[]`` (matters too, only for the
practice area or a line's other matter); interest charges only for bills that carry interest.

Xero: the organisation's chart (accounts, tax rates, currencies, tracking categories) is cached
per connection for :data:`CHART_TTL_SECONDS`; a bill the cached chart refuses is checked again
against a fresh read before it is parked, so a fix made in Xero is seen at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from clio_xero.billing.clio_models import BillBundle
from clio_xero.billing.xero_models import OrgChart
from clio_xero.clock import Clock

if TYPE_CHECKING:
    from clio_xero.clients.clio import ClioClient
    from clio_xero.clients.xero import XeroClient

__all__ = [
    "ACTIVITY_FIELDS",
    "BILL_FIELDS",
    "LINE_FIELDS",
    "ChartCache",
    "Fetch",
    "direct",
    "read_bills",
    "read_bundles",
    "read_chart",
]

BILL_FIELDS = (
    "id,etag,number,state,type,kind,issued_at,due_at,created_at,updated_at,subject,purchase_order,"
    "currency{id,code},client{id,name},matters{id,display_number,description},discount,interest,tax_rate,secondary_tax_rate,"
    "sub_total,tax_sum,secondary_tax_sum,total_tax,total,due,balance,paid,credits_issued"
)
LINE_FIELDS = (
    "id,type,kind,description,note,date,price,quantity,sub_total,discount,tax,secondary_tax,total,taxable,"
    "secondary_taxable,group_ordering,created_at,bill{id},activity{id},matter{id}"
)
ACTIVITY_FIELDS = (
    "id,etag,type,date,flat_rate,price,quantity,total,note,reference,vendor{id},matter{id},"
    "activity_description{id,name,xero_service_code},expense_category{id,name,entry_type,xero_expense_code}"
)
MATTER_FIELDS = "id,display_number,description"
#: Read only when tracking is by practice area (the matter's category in Clio).
PRACTICE_AREA_FIELD = ",practice_area{id,name,code}"
INTEREST_FIELDS = "id,date,description,total,bill{id}"
#: Clio's page size and the most ids one ``ids[]`` call asks for.
PAGE = 200
#: Below this many bills, one line-item read per bill is cheaper than a scan.
SCAN_FROM = 3
#: A scan reads every line created since the oldest bill: only when that is recent.
SCAN_WINDOW = timedelta(days=45)
CHART_TTL_SECONDS = 900.0


def _chunks(ids: Sequence[Any], size: int = PAGE) -> Iterable[list[Any]]:
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


#: Every record of a Clio list read (resource, fields, filters). The worker reads straight through
#: the client; the backfill passes one that waits out throttles page by page.
Fetch = Callable[[str, str, Mapping[str, Any]], list[dict[str, Any]]]


def direct(clio: ClioClient) -> Fetch:
    def fetch(resource: str, fields: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return list(clio.iter_records(resource, fields=fields, params=params))

    return fetch


def _by_ids(fetch: Fetch, resource: str, fields: str, ids: Sequence[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for chunk in _chunks(ids):
        out.extend(fetch(resource, fields, {"ids[]": chunk}))
    return out


def read_bills(clio: ClioClient | Fetch, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The bills Clio still has, by id (a deleted bill is simply absent)."""
    fetch = clio if callable(clio) else direct(clio)
    return {str(b["id"]): b for b in _by_ids(fetch, "bills", BILL_FIELDS, list(ids))}


def _created(record: dict[str, Any]) -> datetime | None:
    raw = record.get("created_at")
    if not isinstance(raw, str):
        return None
    return datetime.fromisoformat(raw.replace("Z", "+00:00"))


def _line_items(
    fetch: Fetch, bills: Sequence[dict[str, Any]], now: datetime, *, scan: bool | None
) -> dict[str, list[dict[str, Any]]]:
    wanted = {str(b["id"]) for b in bills}
    out: dict[str, list[dict[str, Any]]] = {bill_id: [] for bill_id in wanted}
    created = [c for c in (_created(b) for b in bills) if c is not None]
    if scan is None:
        scan = len(bills) >= SCAN_FROM and len(created) == len(bills) and now - min(created) <= SCAN_WINDOW
    if scan and len(created) == len(bills):
        since = min(created) - timedelta(seconds=1)
        for line in fetch("line_items", LINE_FIELDS, {"created_since": _iso(since)}):
            bill_id = str((line.get("bill") or {}).get("id"))
            if bill_id in wanted:
                out[bill_id].append(line)
        return out
    for bill_id in sorted(wanted):
        out[bill_id] = fetch("line_items", LINE_FIELDS, {"bill_id": bill_id})
    return out


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _has_interest(bill: dict[str, Any]) -> bool:
    """Read the interest charges only for a bill that may carry interest: a non-zero total, or no
    total and a rate that is not zero (no information at all: read them)."""
    interest = bill.get("interest") or {}
    total, rate = interest.get("total"), interest.get("rate")
    if total is not None:
        return str(total) not in ("0", "0.0", "0.00")
    return rate is None or str(rate) not in ("0", "0.0", "0.00")


def read_bundles(
    clio: ClioClient | Fetch,
    bills: Sequence[dict[str, Any]],
    clock: Clock,
    *,
    practice_areas: bool = False,
    scan: bool | None = None,
) -> dict[str, BillBundle]:
    """Everything each bill's invoice is made of, read in bulk for the whole set. ``scan`` forces
    (or forbids) one ``created_since`` read of the line items instead of one read per bill."""
    if not bills:
        return {}
    fetch = clio if callable(clio) else direct(clio)
    lines = _line_items(fetch, bills, clock.now(), scan=scan)
    activity_ids = sorted({li["activity"]["id"] for ls in lines.values() for li in ls if li.get("activity")})
    activities = {a["id"]: a for a in _by_ids(fetch, "activities", ACTIVITY_FIELDS, activity_ids)}
    matter_ids = sorted(
        {m["id"] for b in bills for m in b.get("matters") or []}
        | {li["matter"]["id"] for ls in lines.values() for li in ls if li.get("matter")}
    )
    # The bills carry their matters' number and description (BILL_FIELDS): only the practice
    # area, or a line's matter that is not one of its bill's, needs a read of its own.
    carried = (
        {} if practice_areas else {m["id"]: m for b in bills for m in b.get("matters") or [] if "display_number" in m}
    )
    matter_fields = MATTER_FIELDS + (PRACTICE_AREA_FIELD if practice_areas else "")
    matters = carried | {
        m["id"]: m for m in _by_ids(fetch, "matters", matter_fields, [i for i in matter_ids if i not in carried])
    }
    charges: dict[str, list[dict[str, Any]]] = {}
    for bill in bills:
        if _has_interest(bill):
            charges[str(bill["id"])] = fetch("interest_charges", INTEREST_FIELDS, {"bill_id": bill["id"]})
    out: dict[str, BillBundle] = {}
    for bill in bills:
        bill_id = str(bill["id"])
        own = lines.get(bill_id, [])
        out[bill_id] = BillBundle.model_validate(
            {
                "bill": bill,
                "line_items": own,
                "activities": {
                    li["activity"]["id"]: activities[li["activity"]["id"]]
                    for li in own
                    if li.get("activity") and li["activity"]["id"] in activities
                },
                "interest_charges": charges.get(bill_id, []),
                "matters": matters,
            }
        )
    return out


def read_chart(xero: XeroClient, *, tracking: bool) -> OrgChart:
    """The organisation as the preflight needs it (4 calls; 5 with tracking categories)."""
    org = xero.request("GET", "/Organisation").json()["Organisations"][0]
    categories: list[dict[str, Any]] = []
    if tracking:
        body = xero.request("GET", "/TrackingCategories", params={"includeArchived": "true"}).json()
        categories = body["TrackingCategories"]
    return OrgChart.from_xero(
        accounts=xero.request("GET", "/Accounts").json()["Accounts"],  # Xero does not page accounts
        tax_rates=xero.request("GET", "/TaxRates").json()["TaxRates"],
        currencies=xero.request("GET", "/Currencies").json()["Currencies"],
        tracking_categories=categories,
        base_currency=org.get("BaseCurrency"),
    )


class ChartCache:
    """Charts by connection and organisation for a while (a Lambda container keeps it between
    invocations). A write Xero refuses forgets the connection's chart, so a change made in Xero
    since (an archived account, a removed option) is seen by the next attempt."""

    def __init__(self, ttl_seconds: float = CHART_TTL_SECONDS) -> None:
        self.ttl = ttl_seconds
        self._charts: dict[tuple[str, str, bool], tuple[datetime, OrgChart]] = {}
        self._lock = threading.Lock()

    def get(
        self, connection_id: str, xero: XeroClient, clock: Clock, *, tracking: bool, fresh: bool = False
    ) -> OrgChart:
        key = (connection_id, xero.tenant_id, tracking)
        now = clock.now()
        with self._lock:
            held = self._charts.get(key)
        if held is not None and not fresh and (now - held[0]).total_seconds() < self.ttl:
            return held[1]
        chart = read_chart(xero, tracking=tracking)
        with self._lock:
            self._charts[key] = (now, chart)
        return chart

    def forget(self, connection_id: str) -> None:
        with self._lock:
            for key in [k for k in self._charts if k[0] == connection_id]:
                del self._charts[key]
