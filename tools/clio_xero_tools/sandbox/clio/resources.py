"""What each Clio resource shows: fields (as named in the official spec), computed values, links,
list filters, and the renderer that turns a :class:`~.store.Record` into JSON for a selection.

Field names and enums follow ``specs/clio/openapi.json`` (``<Model>_base`` for plain values, the
``<Model>`` extension for links). Only the fields the sync needs are modelled; asking for any
other field answers 400 (see docs/sandbox-clio.md, "Deliberate deviations").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .api_errors import bad_request
from .fields import DEFAULT_NESTED, FieldsError, Selection, Shape, project, validate_selection
from .store import Record, Store

Computed = Callable[[Store, Record], dict[str, Any]]
Predicate = Callable[[Store, Record, str], bool]

_TS = ("id", "etag", "created_at", "updated_at")


def iso(ts: datetime) -> str:
    """Clio renders timestamps as ISO-8601 with an offset, to the second."""
    return ts.isoformat(timespec="seconds")


def money(value: float) -> float:
    return round(value + 0.0, 2)


@dataclass(frozen=True)
class ResourceDef:
    name: str
    scalars: tuple[str, ...]
    embedded: tuple[str, ...] = ()
    relations: dict[str, str] = field(default_factory=dict)
    many: frozenset[str] = frozenset()  # relations that are lists
    computed: Computed | None = None
    filters: dict[str, Predicate] = field(default_factory=dict)
    webhook_model: str | None = None
    # Derived collections (outstanding client balances) list what this builds instead of a table.
    source: Callable[[Store], list[Record]] | None = None

    @property
    def shape(self) -> Shape:
        return Shape(frozenset(self.scalars), frozenset(self.embedded), dict(self.relations))


# ----------------------------------------------------------------------------------------------
# computed values
# ----------------------------------------------------------------------------------------------
def _children(store: Store, rec: Record, rel: str, resource: str) -> list[Record]:
    out = [store.get(resource, i) for i in rec.link_ids(rel)]
    return [r for r in out if r is not None]


def _primary_first(rows: list[Record]) -> list[Record]:
    return sorted(rows, key=lambda r: (not r.attrs.get("primary"), r.id))


def _address_value(store: Store, rec: Record | None) -> dict[str, Any] | None:
    if rec is None:
        return None
    return {k: _value(store, REGISTRY["addresses"], rec, k, {}) for k in REGISTRY["addresses"].scalars}


def _group(resource: str, link: str) -> Callable[[Store], dict[int | None, list[Record]]]:
    def build(store: Store) -> dict[int | None, list[Record]]:
        out: dict[int | None, list[Record]] = {}
        for rec in store.all(resource):
            out.setdefault(rec.link_id(link), []).append(rec)
        return out

    return build


def by_link(store: Store, resource: str, link: str, target: int | None) -> list[Record]:
    """Records of ``resource`` whose ``link`` points at ``target`` (indexed per store write)."""
    groups: dict[int | None, list[Record]] = store.index(f"{resource}.{link}", _group(resource, link), table=resource)
    return groups.get(target, [])


def account_balances(
    store: Store, *, client_id: int | None = None, matter_id: int | None = None
) -> list[dict[str, Any]]:
    """Per-bank-account balances held for a client or matter (trust money, mostly)."""
    totals: dict[int, float] = {}
    if client_id is not None:
        txs = by_link(store, "bank_transactions", "client", client_id)
    else:
        txs = by_link(store, "bank_transactions", "matter", matter_id)
    for tx in txs:
        acct = tx.link_id("bank_account")
        if acct is not None:
            totals[acct] = totals.get(acct, 0.0) + float(tx.attrs.get("amount", 0.0))
    out = []
    for acct_id, total in sorted(totals.items()):
        account = store.get("bank_accounts", acct_id)
        if account is None:
            continue
        out.append(
            {
                "id": account.id,
                "balance": money(total),
                "type": account.attrs.get("type"),
                "name": account.attrs.get("name"),
                "currency_id": account.attrs.get("currency_id"),
            }
        )
    return out


def _contact_computed(store: Store, rec: Record) -> dict[str, Any]:
    emails = _primary_first(_children(store, rec, "email_addresses", "email_addresses"))
    phones = _primary_first(_children(store, rec, "phone_numbers", "phone_numbers"))
    addrs = _primary_first(_children(store, rec, "addresses", "addresses"))
    a = rec.attrs
    if a.get("type") == "Person":
        name = " ".join(p for p in (a.get("first_name"), a.get("middle_name"), a.get("last_name")) if p)
    else:
        name = a.get("name") or ""
    work = next((x for x in addrs if x.attrs.get("name") == "Work"), None)
    is_client = bool(by_link(store, "matters", "client", rec.id))
    return {
        "name": name,
        "primary_email_address": emails[0].attrs["address"] if emails else None,
        "secondary_email_address": emails[1].attrs["address"] if len(emails) > 1 else None,
        "primary_phone_number": phones[0].attrs["number"] if phones else None,
        "secondary_phone_number": phones[1].attrs["number"] if len(phones) > 1 else None,
        "primary_address": _address_value(store, addrs[0] if addrs else None),
        "secondary_address": _address_value(store, addrs[1] if len(addrs) > 1 else None),
        "primary_work_address": _address_value(store, work),
        "is_client": is_client or bool(a.get("is_client")),
        "account_balances": account_balances(store, client_id=rec.id),
    }


ON_BILL_STATES = {"draft", "awaiting_approval", "awaiting_payment", "paid"}
BILLED_STATES = {"awaiting_payment", "paid"}


def _activity_computed(store: Store, rec: Record) -> dict[str, Any]:
    a = rec.attrs
    qty = float(a.get("quantity", 0.0))
    bill = store.get("bills", rec.link_id("bill") or 0)
    state = bill.attrs.get("state") if bill else None
    out: dict[str, Any] = {"billed": state in BILLED_STATES, "on_bill": state in ON_BILL_STATES}
    if a.get("type") == "TimeEntry":
        # quantity is seconds since 4.0.4 (docs/facts-clio.md#activity-quantity); rounding to 6 minutes
        # mirrors Clio's default billing rounding (BillingSetting.rounding = 6).
        rounded = float(-(-int(qty) // 360) * 360)
        total = 0.0 if a.get("flat_rate") else rounded / 3600 * float(a.get("price", 0.0))
        out.update(
            quantity_in_hours=round(qty / 3600, 4),
            rounded_quantity=rounded,
            rounded_quantity_in_hours=round(rounded / 3600, 4),
        )
    else:
        total = qty * float(a.get("price", 0.0))
        out.update(quantity_in_hours=0.0, rounded_quantity=qty, rounded_quantity_in_hours=0.0)
    if a.get("non_billable"):
        out.update(total=0.0, non_billable_total=money(total))
    else:
        out.update(total=money(total), non_billable_total=0.0)
    return out


# What the web app offers next (the spec's enum for available_state_transitions has no "draft":
# a bill does not go back to draft). "paid" is reached by payments, not by a state change.
BILL_TRANSITIONS = {
    "draft": ["awaiting_approval", "awaiting_payment", "deleted"],
    "awaiting_approval": ["awaiting_payment", "deleted"],
    "awaiting_payment": ["void"],
    "paid": [],
    "void": [],
    "deleted": [],
}


CLOSED_BILL_STATES = {"void", "deleted"}


def discount_amount(discount: dict[str, Any] | None, base: float) -> float:
    """What a ``Discount`` takes off ``base``: ``rate`` percent, or ``rate`` money capped at base."""
    rate = float((discount or {}).get("rate") or 0.0)
    if rate <= 0 or base <= 0:
        return 0.0
    if (discount or {}).get("type") == "money":
        return money(min(rate, base))
    return money(base * rate / 100)


def _net(line: Record) -> float:
    """A line's sub-total after its own discount (the amount its taxes are computed on)."""
    return float(line.attrs.get("sub_total", 0.0)) - float(line.attrs.get("discount_amount", 0.0))


def _sum(rows: list[Record], value: Callable[[Record], float]) -> float:
    return sum(value(r) for r in rows)


def bill_totals(store: Store, rec: Record) -> dict[str, float]:
    """Money on a bill, derived from its lines, interest charges and allocations.

    The semantics and their sources are in docs/sandbox-clio.md ("Money on a bill"): ``total`` is
    lines (after line discounts) plus taxes plus interest; ``due`` is ``total`` less the bill's
    discount; ``balance`` is ``due`` less payments and credits (0 on a void or deleted bill);
    payments settle interest first.
    """
    lines = by_link(store, "line_items", "bill", rec.id)
    trust_lines = by_link(store, "trust_line_items", "bill", rec.id)
    services = [li for li in lines if li.attrs.get("kind") == "Service"]
    taxable = [li for li in lines if li.attrs.get("taxable")]
    secondary = [li for li in lines if li.attrs.get("secondary_taxable")]
    sub_total = _sum(lines, _net) + _sum(trust_lines, lambda t: float(t.attrs.get("total", 0.0)))
    tax = _sum(lines, lambda li: float(li.attrs.get("tax", 0.0)))
    tax2 = _sum(lines, lambda li: float(li.attrs.get("secondary_tax", 0.0)))
    interest = _sum(by_link(store, "interest_charges", "bill", rec.id), lambda c: float(c.attrs.get("total", 0.0)))
    allocs = [al for al in by_link(store, "allocations", "bill", rec.id) if not al.attrs.get("voided_at")]
    paid = sum(float(al.attrs["amount"]) for al in allocs if parent_type(al) == "Payment")
    credits = sum(float(al.attrs["amount"]) for al in allocs if parent_type(al) == "CreditMemo")
    total = money(sub_total + tax + tax2 + interest)
    services_net = _sum(services, _net)
    base = services_net if rec.attrs.get("discount_services_only") == "true" else sub_total
    discount = discount_amount(rec.attrs.get("discount"), money(base))
    due = money(total - discount)
    closed = rec.attrs.get("state") in CLOSED_BILL_STATES
    return {
        "sub_total": money(sub_total),
        "tax_sum": money(tax),
        "secondary_tax_sum": money(tax2),
        "total_tax": money(tax + tax2),
        "services_sub_total": money(services_net),
        "services_tax": money(_sum(services, lambda li: float(li.attrs.get("tax", 0.0)))),
        "services_secondary_tax": money(_sum(services, lambda li: float(li.attrs.get("secondary_tax", 0.0)))),
        "taxable_sub_total": money(_sum(taxable, _net)),
        "secondary_taxable_sub_total": money(_sum(secondary, _net)),
        "services_taxable_sub_total": money(_sum([li for li in services if li.attrs.get("taxable")], _net)),
        "services_secondary_taxable_sub_total": money(
            _sum([li for li in services if li.attrs.get("secondary_taxable")], _net)
        ),
        "interest": money(interest),
        "interest_balance": 0.0 if closed else money(max(0.0, interest - paid)),
        "discount": discount,
        "total": total,
        "due": due,
        "paid": money(paid),
        "credits_issued": money(credits),
        "balance": 0.0 if closed else money(due - paid - credits),
    }


def parent_type(alloc: Record) -> str | None:
    parent = alloc.attrs.get("parent")
    return parent.get("type") if isinstance(parent, dict) else None


def _matter_shares(store: Store, rec: Record) -> list[tuple[int, float]]:
    """Each matter's share of a matter bill (by its lines' totals; a bill's interest and any
    rounding remainder go to the first matter)."""
    matters = rec.link_ids("matters")
    if not matters:
        return []
    lines = [*by_link(store, "line_items", "bill", rec.id), *by_link(store, "trust_line_items", "bill", rec.id)]
    per = dict.fromkeys(matters, 0.0)
    for li in lines:
        matter = li.link_id("matter")
        per[matter if matter in per else matters[0]] += float(li.attrs.get("total", 0.0))
    whole = sum(per.values())
    return [(m, per.get(m, 0.0) / whole if whole else (1.0 if m == matters[0] else 0.0)) for m in matters]


def bill_balances(store: Store, rec: Record, t: dict[str, float]) -> list[dict[str, Any]]:
    """``balances[]``: one per matter of a MatterBill (``id`` = matter id), else one for the client
    (``id`` = client id); amounts split by the matters' shares, remainders on the first."""
    if rec.attrs.get("type") != "MatterBill" or not rec.link_ids("matters"):
        return [_balance(rec.link_id("client") or 0, "Client", t["balance"], t["interest_balance"])]
    shares = _matter_shares(store, rec)
    out: list[dict[str, Any]] = []
    for matter_id, share in shares[1:]:
        out.append(_balance(matter_id, "Matter", money(t["balance"] * share), 0.0))
    rest = money(t["balance"] - sum(b["amount"] for b in out))
    return [_balance(shares[0][0], "Matter", rest, t["interest_balance"]), *out]


def _balance(ident: int, kind: str, amount: float, interest: float) -> dict[str, Any]:
    return {"id": ident, "amount": amount, "type": kind, "interest_amount": interest, "due": amount}


def _last_payment_time(payments: list[Record]) -> str | None:
    """``paid_at``, "the date of the last payment": the latest payment by its date; the time it
    was recorded when that was on the same day, else the start of that day (UTC)."""
    if not payments:
        return None
    last = max(payments, key=lambda al: (str(al.attrs.get("date")), al.id))
    day = str(last.attrs.get("date"))
    return iso(last.created_at) if last.created_at.date().isoformat() == day else f"{day}T00:00:00+00:00"


def _bill_computed(store: Store, rec: Record) -> dict[str, Any]:
    t = bill_totals(store, rec)
    state = rec.attrs.get("state", "draft")
    interest = dict(rec.attrs.get("interest") or {"rate": 0.0, "type": "simple", "period": 30})
    interest.update(total=t["interest"], balance=t["interest_balance"])
    payments = [
        al
        for al in by_link(store, "allocations", "bill", rec.id)
        if parent_type(al) == "Payment" and not al.attrs.get("voided_at")
    ]
    shares = _matter_shares(store, rec)
    totals = [{"id": m, "amount": money((t["due"]) * share)} for m, share in shares[1:]]
    if shares:
        totals.insert(0, {"id": shares[0][0], "amount": money(t["due"] - sum(x["amount"] for x in totals))})
    hidden = {"interest", "interest_balance", "discount"}
    return {
        **{k: v for k, v in t.items() if k not in hidden},
        "pending": 0.0,
        "paid_at": _last_payment_time(payments),
        "interest": interest,
        "available_state_transitions": BILL_TRANSITIONS.get(state, []),
        "can_update": state in {"draft", "awaiting_approval", "awaiting_payment"},
        "balances": bill_balances(store, rec, t),
        "matter_totals": totals,
        "split_invoice": None,
        "client_addresses": _client_addresses(store, rec.link_id("client")),
    }


def _client_addresses(store: Store, client_id: int | None) -> list[dict[str, Any]]:
    client = store.get("contacts", client_id or 0)
    if client is None:
        return []
    return [v for v in (_address_value(store, a) for a in _children(store, client, "addresses", "addresses")) if v]


def _bank_account_computed(store: Store, rec: Record) -> dict[str, Any]:
    txs = by_link(store, "bank_transactions", "bank_account", rec.id)
    return {
        "balance": money(sum(float(t.attrs.get("amount", 0.0)) for t in txs)),
        "bank_transactions_count": len(txs),
    }


def transaction_type(store: Store, rec: Record) -> str:
    """``BankTransaction.type``: ``asset`` in an operating account, ``liability`` in a trust
    account (money held for clients). Decision and sources: docs/sandbox-clio.md."""
    account = store.get("bank_accounts", rec.link_id("bank_account") or 0)
    return "liability" if account is not None and account.attrs.get("type") == "Trust" else "asset"


def _cents(rec: Record) -> int:
    return round(float(rec.attrs.get("amount", 0.0)) * 100)


def _running_balances(store: Store) -> dict[int, int]:
    """Each bank transaction's account balance after it, in cents: the account's transactions in
    (date, id) order, summed once. One pass per write to the table (O(n log n)) instead of a scan
    of the account per transaction served (quadratic at 50,000 records); cents keep the sum exact."""
    out: dict[int, int] = {}
    for txs in _group("bank_transactions", "bank_account")(store).values():
        running = 0
        for t in sorted(txs, key=lambda t: (t.attrs.get("date") or "", t.id)):
            running += _cents(t)
            out[t.id] = running
    return out


def running_balance(store: Store, rec: Record) -> float:
    """``current_account_balance``: the account's balance after ``rec`` (cached until the next write)."""
    balances: dict[int, int] = store.index("bank_transactions.running", _running_balances, table="bank_transactions")
    return money(balances.get(rec.id, 0) / 100)


def _bank_transaction_computed(store: Store, rec: Record) -> dict[str, Any]:
    acct = rec.link_id("bank_account")
    running = running_balance(store, rec)
    amount = float(rec.attrs.get("amount", 0.0))
    return {
        "type": transaction_type(store, rec),
        "bank_account_id": acct,
        "funds_in": money(max(amount, 0.0)),
        "funds_out": money(max(-amount, 0.0)),
        "current_account_balance": money(running),
    }


# ----------------------------------------------------------------------------------------------
# list filters
# ----------------------------------------------------------------------------------------------
def _link_eq(rel: str) -> Predicate:
    """``<rel>_id=N``; the keyword ``null`` matches records without the link (as the spec says)."""

    def pred(_s: Store, r: Record, v: str) -> bool:
        if v == "null":
            return r.links.get(rel) in (None, [])
        _integer(rel, v)
        return str(r.link_id(rel)) == v or v in {str(i) for i in r.link_ids(rel)}

    return pred


def _integer(name: str, v: str) -> int:
    try:
        return int(v)
    except ValueError:
        raise bad_request(f"{name} must be an integer, got {v!r}") from None


def _one_of(name: str, allowed: set[str], pred: Predicate) -> Predicate:
    """Refuse a value outside the spec's enum (400 naming the filter) instead of matching nothing."""

    def checked(s: Store, r: Record, v: str) -> bool:
        if v not in allowed:
            raise bad_request(f"{name} must be one of {sorted(allowed)}, got {v!r}")
        return pred(s, r, v)

    return checked


def _flag(name: str, pred: Callable[[Store, Record], bool]) -> Predicate:
    """A boolean filter: ``true`` keeps the records ``pred`` accepts, ``false`` filters nothing."""

    def checked(s: Store, r: Record, v: str) -> bool:
        if v.lower() not in {"true", "false"}:
            raise bad_request(f"{name} must be true or false, got {v!r}")
        return v.lower() == "false" or pred(s, r)

    return checked


def _bool_eq(name: str) -> Predicate:
    def checked(_s: Store, r: Record, v: str) -> bool:
        if v.lower() not in {"true", "false"}:
            raise bad_request(f"{name} must be true or false, got {v!r}")
        return bool(r.attrs.get(name)) == (v.lower() == "true")

    return checked


def _via_matters(rel: str) -> Predicate:
    """A bill's ``responsible_attorney_id``/``originating_attorney_id``: through its matters."""

    def pred(s: Store, r: Record, v: str) -> bool:
        matters = [m for m in (s.get("matters", i) for i in r.link_ids("matters")) if m is not None]
        if v == "null":
            return all(m.link_id(rel) is None for m in matters)
        _integer(rel, v)
        return any(str(m.link_id(rel)) == v for m in matters)

    return pred


def bill_overdue(s: Store, r: Record) -> bool:
    """Overdue: approved, not settled, and past its due date by the sandbox clock."""
    due_at = r.attrs.get("due_at")
    return (
        r.attrs.get("state") == "awaiting_payment"
        and due_at is not None
        and str(due_at) < s.now().date().isoformat()
        and bill_totals(s, r)["balance"] > 0
    )


def _text_search(*names: str) -> Predicate:
    def pred(_s: Store, r: Record, v: str) -> bool:
        return any(v.lower() in str(r.attrs.get(n) or "").lower() for n in names)

    return pred


def _date_ops(name: str) -> Predicate:
    """``close_date[]=>=2020-01-01``: one comparison per value (several values narrow together)."""
    ops: dict[str, Callable[[str, str], bool]] = {
        ">=": lambda a, b: a >= b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        "<": lambda a, b: a < b,
        "=": lambda a, b: a == b,
    }

    def pred(_s: Store, r: Record, v: str) -> bool:
        op = next((o for o in ops if v.startswith(o)), None)
        day = v[len(op) :] if op else ""
        try:
            date.fromisoformat(day)
        except ValueError:
            raise bad_request(f"{name}[] must be an operator (>, >=, =, <=, <) and a date, got {v!r}") from None
        value = r.attrs.get(name)
        return value is not None and op is not None and ops[op](str(value), day)

    return pred


def _matter_status(_s: Store, r: Record, v: str) -> bool:
    """``status=open,pending``: comma-separated, lower case (the spec's enum)."""
    wanted = {x.strip() for x in v.split(",")}
    if not wanted <= {"open", "closed", "pending"}:
        raise bad_request(f"status must be open, closed or pending (comma-separated), got {v!r}")
    return str(r.attrs.get("status", "")).lower() in wanted


def _matter_query(s: Store, r: Record, v: str) -> bool:
    client = s.get("contacts", r.link_id("client") or 0)
    names = [str(r.attrs.get(k) or "") for k in ("display_number", "number", "description")]
    if client is not None:
        names.append(_contact_computed(s, client)["name"])
    return any(v.lower() in n.lower() for n in names)


def _attr_eq(name: str) -> Predicate:
    return lambda _s, r, v: str(r.attrs.get(name)) == v


def _truthy(v: str) -> bool:
    return v.lower() in {"true", "1", "yes"}


def _contact_query(s: Store, r: Record, v: str) -> bool:
    c = _contact_computed(s, r)
    hay = " ".join(str(x) for x in (c["name"], c["primary_email_address"], c["primary_phone_number"]) if x)
    return v.lower() in hay.lower()


def _activity_status(s: Store, r: Record, v: str) -> bool:
    c = _activity_computed(s, r)
    return bool(
        {
            "billed": c["billed"],
            "draft": c["on_bill"] and not c["billed"],
            "unbilled": not c["on_bill"] and not r.attrs.get("non_billable"),
            "billable": not r.attrs.get("non_billable"),
            "non_billable": bool(r.attrs.get("non_billable")),
            "written_off": False,
        }.get(v, False)
    )


def _allocation_status(_s: Store, r: Record, v: str) -> bool:
    return (v == "invalid") == bool(r.attrs.get("voided_at"))


def _bank_account_type(_s: Store, r: Record, v: str) -> bool:
    # The list filter spells it OperatingAccount/TrustAccount while records say Operating/Trust.
    return {"OperatingAccount": "Operating", "TrustAccount": "Trust"}.get(v) == r.attrs.get("type")


def _date_cmp(name: str, after: bool) -> Predicate:
    def pred(_s: Store, r: Record, v: str) -> bool:
        try:
            date.fromisoformat(v[:10])
        except ValueError:
            raise bad_request(f"expected an ISO-8601 date, got {v!r}") from None
        d = r.attrs.get(name)
        if isinstance(d, datetime):
            d = d.date().isoformat()
        if d is None:
            return False
        return bool(d >= v) if after else bool(d <= v)

    return pred


# ----------------------------------------------------------------------------------------------
# derived collections
# ----------------------------------------------------------------------------------------------
OUTSTANDING_ID_BASE = 8_800_000


def outstanding_client_balances(store: Store) -> list[Record]:
    """One record per client with approved bills still owing (``awaiting_payment``, balance > 0),
    rebuilt after every write. Field meanings: docs/sandbox-clio.md ("Outstanding client balances")."""
    return list(store.index("outstanding_client_balances", _build_outstanding))


def _build_outstanding(store: Store) -> list[Record]:
    owing: dict[int, list[tuple[Record, float]]] = {}
    for bill in store.all("bills"):
        if bill.attrs.get("state") != "awaiting_payment":
            continue
        balance = bill_totals(store, bill)["balance"]
        if balance > 0:
            owing.setdefault(bill.link_id("client") or 0, []).append((bill, balance))
    out: list[Record] = []
    for client_id, rows in sorted(owing.items()):
        client = store.get("contacts", client_id)
        if client is None:
            continue
        bills = [b for b, _ in rows]
        payments = [
            al
            for al in by_link(store, "allocations", "contact", client_id)
            if parent_type(al) == "Payment" and not al.attrs.get("voided_at")
        ]
        sent = [b.attrs["last_sent_at"] for b in bills if isinstance(b.attrs.get("last_sent_at"), datetime)]
        newest = max(bills, key=lambda b: (str(b.attrs.get("issued_at")), b.id))
        changed = max([b.updated_at for b in bills] + [al.updated_at for al in payments])
        out.append(
            Record(
                "outstanding_client_balances",
                OUTSTANDING_ID_BASE + client_id - 1_100_000,
                client.created_at,
                changed,
                version=sum(b.version for b in bills) + len(payments),
                attrs={
                    "associated_matter_ids": sorted({m for b in bills for m in b.link_ids("matters")}),
                    "last_payment_date": max((str(al.attrs.get("date")) for al in payments), default=None),
                    "last_shared_date": max(sent).date().isoformat() if sent else None,
                    "newest_issued_bill_due_date": newest.attrs.get("due_at"),
                    "pending_payments_total": 0.0,
                    "reminders_enabled": False,
                    "total_outstanding_balance": money(sum(balance for _, balance in rows)),
                },
                links={
                    "contact": client_id,
                    "currency": newest.link_id("currency"),
                    "outstanding_bills": [b.id for b in bills],
                },
            )
        )
    return out


def _client_matters(rel: str) -> Predicate:
    def pred(s: Store, r: Record, v: str) -> bool:
        _integer(rel, v)
        matters = (s.get("matters", m) for m in r.attrs.get("associated_matter_ids", []))
        return any(m is not None and str(m.link_id(rel)) == v for m in matters)

    return pred


# ----------------------------------------------------------------------------------------------
# the registry
# ----------------------------------------------------------------------------------------------
_ADDRESS = ("street", "city", "province", "postal_code", "country", "name", "primary")

REGISTRY: dict[str, ResourceDef] = {
    d.name: d
    for d in [
        ResourceDef(
            "users",
            (
                *_TS,
                "name",
                "first_name",
                "last_name",
                "email",
                "enabled",
                "initials",
                "account_owner",
                "subscription_type",
                "time_zone",
                "rate",
                "clio_connect",
            ),
        ),
        ResourceDef("currencies", (*_TS, "code", "sign")),
        ResourceDef("email_addresses", (*_TS, "address", "name", "primary")),
        ResourceDef("phone_numbers", (*_TS, "number", "name", "primary")),
        ResourceDef("addresses", (*_TS, *_ADDRESS)),
        ResourceDef(
            "contacts",
            (
                *_TS,
                "name",
                "first_name",
                "middle_name",
                "last_name",
                "prefix",
                "title",
                "initials",
                "type",
                "primary_email_address",
                "secondary_email_address",
                "primary_phone_number",
                "secondary_phone_number",
                "is_client",
                "is_bill_recipient",
                "sales_tax_number",
                "ledes_client_id",
                "date_of_birth",
            ),
            embedded=("primary_address", "secondary_address", "primary_work_address", "account_balances"),
            relations={
                "email_addresses": "email_addresses",
                "phone_numbers": "phone_numbers",
                "addresses": "addresses",
                "company": "contacts",
                "currency": "currencies",
            },
            many=frozenset({"email_addresses", "phone_numbers", "addresses"}),
            computed=_contact_computed,
            filters={
                "type": _one_of("type", {"Person", "Company"}, _attr_eq("type")),
                "query": _contact_query,
                "client_only": lambda s, r, v: not _truthy(v) or bool(_contact_computed(s, r)["is_client"]),
                "email_only": lambda s, r, v: not _truthy(v) or bool(r.link_ids("email_addresses")),
            },
            webhook_model="contact",
        ),
        ResourceDef(
            "practice_areas",
            (*_TS, "name", "category", "code"),
            filters={"code": _attr_eq("code"), "name": _attr_eq("name")},
        ),
        ResourceDef("groups", ("id", "etag", "updated_at", "name", "type", "client_connect_user")),
        ResourceDef("bill_themes", (*_TS, "account_id", "default", "name", "config")),
        ResourceDef(
            "matters",
            (
                *_TS,
                "number",
                "display_number",
                "description",
                "status",
                "billable",
                "billing_method",
                "open_date",
                "close_date",
                "pending_date",
                "client_reference",
                "client_id",
                "location",
            ),
            embedded=("account_balances", "currency"),
            relations={
                "client": "contacts",
                "responsible_attorney": "users",
                "originating_attorney": "users",
                "practice_area": "practice_areas",
            },
            computed=lambda s, r: {
                "client_id": r.link_id("client"),
                "account_balances": account_balances(s, matter_id=r.id),
            },
            filters={
                "client_id": _link_eq("client"),
                "status": _matter_status,
                "practice_area_id": _link_eq("practice_area"),
                "responsible_attorney_id": _link_eq("responsible_attorney"),
                "originating_attorney_id": _link_eq("originating_attorney"),
                "billable": _bool_eq("billable"),
                "query": _matter_query,
                "open_date[]": _date_ops("open_date"),
                "close_date[]": _date_ops("close_date"),
                "pending_date[]": _date_ops("pending_date"),
            },
            webhook_model="matter",
        ),
        ResourceDef(
            "activity_descriptions",
            (
                *_TS,
                "name",
                "default",
                "type",
                "xero_service_code",
                "accessible_to_user",
                "category_type",
                "visible_to_co_counsel",
                "currency",
                # UTBMS codes are off in the firm's billing settings (use_utbms_codes: false).
                "utbms_activity_id",
                "utbms_task_name",
                "utbms_task_id",
            ),
        ),
        ResourceDef(
            "expense_categories",
            (*_TS, "name", "rate", "entry_type", "xero_expense_code", "accessible_to_user", "tax_setting", "currency"),
            filters={
                "entry_type": _one_of("entry_type", {"hard_cost", "soft_cost", "unassociated"}, _attr_eq("entry_type"))
            },
        ),
        ResourceDef(
            "activities",
            (
                *_TS,
                "type",
                "date",
                "quantity_in_hours",
                "rounded_quantity_in_hours",
                "quantity",
                "rounded_quantity",
                "quantity_redacted",
                "price",
                "note",
                "flat_rate",
                "billed",
                "on_bill",
                "total",
                "contingency_fee",
                "reference",
                "non_billable",
                "non_billable_total",
                "no_charge",
                "tax_setting",
            ),
            embedded=("currency",),
            relations={
                "activity_description": "activity_descriptions",
                "expense_category": "expense_categories",
                "bill": "bills",
                "matter": "matters",
                "user": "users",
                "vendor": "contacts",
            },
            computed=_activity_computed,
            filters={
                "type": _one_of(
                    "type", {"TimeEntry", "ExpenseEntry", "HardCostEntry", "SoftCostEntry"}, _attr_eq("type")
                ),
                "matter_id": _link_eq("matter"),
                "user_id": _link_eq("user"),
                "status": _one_of(
                    "status",
                    {"billed", "draft", "unbilled", "non_billable", "billable", "written_off"},
                    _activity_status,
                ),
                "flat_rate": _bool_eq("flat_rate"),
                "activity_description_id": _link_eq("activity_description"),
                "expense_category_id": _link_eq("expense_category"),
                "start_date": _date_cmp("date", after=True),
                "end_date": _date_cmp("date", after=False),
            },
            webhook_model="activity",
        ),
        ResourceDef(
            "bills",
            (
                *_TS,
                "number",
                "issued_at",
                "due_at",
                "tax_rate",
                "secondary_tax_rate",
                "subject",
                "purchase_order",
                "type",
                "memo",
                "start_at",
                "end_at",
                "balance",
                "state",
                "kind",
                "total",
                "paid",
                "paid_at",
                "pending",
                "due",
                "can_update",
                "credits_issued",
                "shared",
                "last_sent_at",
                "services_secondary_tax",
                "services_sub_total",
                "services_tax",
                "sub_total",
                "tax_sum",
                "secondary_tax_sum",
                "total_tax",
                "available_state_transitions",
                "discount_services_only",
                "taxable_sub_total",
                "secondary_taxable_sub_total",
                "services_taxable_sub_total",
                "services_secondary_taxable_sub_total",
            ),
            embedded=("discount", "interest", "balances", "matter_totals", "split_invoice", "client_addresses"),
            relations={
                "client": "contacts",
                "matters": "matters",
                "user": "users",
                "currency": "currencies",
                "destination_account": "bank_accounts",
                "group": "groups",
                "bill_theme": "bill_themes",
                "original_bill": "bills",
                "billing_setting": "billing_settings",
            },
            many=frozenset({"matters"}),
            computed=_bill_computed,
            filters={
                "state": _one_of("state", set(BILL_TRANSITIONS), _attr_eq("state")),
                "status": _one_of("status", {"all", "overdue"}, lambda s, r, v: v == "all" or bill_overdue(s, r)),
                "overdue_only": _flag("overdue_only", bill_overdue),
                "query": lambda _s, r, v: _integer("query", v) >= 0 and v in str(r.attrs.get("number")),
                "bill_number": _attr_eq("number"),
                "client_id": _link_eq("client"),
                "matter_id": _link_eq("matters"),
                "currency_id": _link_eq("currency"),
                "responsible_attorney_id": _via_matters("responsible_attorney"),
                "originating_attorney_id": _via_matters("originating_attorney"),
                "type": _one_of(
                    "type",
                    {"revenue", "trust"},
                    lambda _s, r, v: (v == "trust") == (r.attrs.get("kind") == "trust_kind"),
                ),
                "issued_after": _date_cmp("issued_at", after=True),
                "issued_before": _date_cmp("issued_at", after=False),
                "due_at": _attr_eq("due_at"),
                "due_after": _date_cmp("due_at", after=True),
                "due_before": _date_cmp("due_at", after=False),
                "last_sent_start_date": _date_cmp("last_sent_at", after=True),
                "last_sent_end_date": _date_cmp("last_sent_at", after=False),
            },
            webhook_model="bill",
        ),
        ResourceDef(
            "line_items",
            (
                *_TS,
                "type",
                "description",
                "date",
                "price",
                "taxable",
                "kind",
                "note",
                "secondary_taxable",
                "total",
                "tax",
                "secondary_tax",
                "sub_total",
                "quantity",
                "group_ordering",
            ),
            embedded=("discount", "included_line_item_totals"),
            relations={"bill": "bills", "activity": "activities", "matter": "matters", "user": "users"},
            # Totals of included lines exist on summary lines only; the sandbox has none.
            computed=lambda _s, _r: {"included_line_item_totals": None},
            filters={
                "bill_id": _link_eq("bill"),
                "matter_id": _link_eq("matter"),
                "activity_id": _link_eq("activity"),
                "kind": _one_of("kind", {"Service", "Expense"}, _attr_eq("kind")),
                "group_ordering": _attr_eq("group_ordering"),
                "query": _text_search("description", "note"),
            },
        ),
        ResourceDef(
            "trust_line_items",
            (*_TS, "date", "total", "note"),
            relations={"bill": "bills", "matter": "matters", "client": "contacts"},
            filters={"bill_id": _link_eq("bill"), "matter_id": _link_eq("matter")},
        ),
        # The spec's TrustRequest shows only id, etag and timestamps; its bill is kept as a link.
        ResourceDef("trust_requests", _TS),
        ResourceDef(
            "outstanding_client_balances",
            (
                *_TS,
                "associated_matter_ids",
                "last_payment_date",
                "last_shared_date",
                "newest_issued_bill_due_date",
                "pending_payments_total",
                "reminders_enabled",
                "total_outstanding_balance",
            ),
            relations={"outstanding_bills": "bills", "contact": "contacts", "currency": "currencies"},
            many=frozenset({"outstanding_bills"}),
            source=outstanding_client_balances,
            filters={
                "contact_id": _link_eq("contact"),
                "last_paid_start_date": _date_cmp("last_payment_date", after=True),
                "last_paid_end_date": _date_cmp("last_payment_date", after=False),
                "newest_bill_due_start_date": _date_cmp("newest_issued_bill_due_date", after=True),
                "newest_bill_due_end_date": _date_cmp("newest_issued_bill_due_date", after=False),
                "responsible_attorney_id": _client_matters("responsible_attorney"),
                "originating_attorney_id": _client_matters("originating_attorney"),
            },
        ),
        ResourceDef(
            "credit_memos",
            (*_TS, "date", "amount", "description", "discount", "voided_at"),
            relations={"user": "users", "contact": "contacts", "allocations": "allocations"},
            many=frozenset({"allocations"}),
            filters={"contact_id": _link_eq("contact")},
        ),
        ResourceDef(
            "allocations",
            (
                *_TS,
                "date",
                "amount",
                "interest",
                "voided_at",
                "description",
                "has_online_payment",
                "destroyable",
                "payment_type",
            ),
            embedded=("parent",),
            relations={
                "bill": "bills",
                "matter": "matters",
                "contact": "contacts",
                "source_bank_account": "bank_accounts",
                "destination_bank_account": "bank_accounts",
            },
            filters={
                "bill_id": _link_eq("bill"),
                "contact_id": _link_eq("contact"),
                "matter_id": _link_eq("matter"),
                "parent_id": lambda _s, r, v: str((r.attrs.get("parent") or {}).get("id")) == v,
                "parent_type": lambda _s, r, v: parent_type(r) == v,
                "status": _one_of("status", {"valid", "invalid"}, _allocation_status),
            },
        ),
        ResourceDef(
            "interest_charges",
            (*_TS, "date", "description", "total"),
            embedded=("balances",),
            relations={"bill": "bills", "matters": "matters"},
            many=frozenset({"matters"}),
            filters={"bill_id": _link_eq("bill")},
        ),
        ResourceDef(
            "billing_settings",
            (
                *_TS,
                "rounded_duration",
                "rounding",
                "use_decimal_rounding",
                "currency",
                "currency_sign",
                "tax_rate",
                "tax_name",
                "apply_tax_by_default",
                "apply_secondary_tax_by_default",
                "use_secondary_tax",
                "secondary_tax_rate",
                "secondary_tax_rule",
                "secondary_tax_name",
                "multi_currency_billing",
                "use_utbms_codes",
            ),
        ),
        ResourceDef(
            "bank_accounts",
            (
                *_TS,
                "account_number",
                "balance",
                "clio_payments_enabled",
                "controlled_account",
                "currency",
                "currency_symbol",
                "currency_id",
                "default_account",
                "general_ledger_number",
                "holder",
                "institution",
                "name",
                "swift",
                "transit_number",
                "type",
                "bank_transactions_count",
                "domicile_branch",
            ),
            relations={"user": "users"},
            computed=_bank_account_computed,
            filters={
                "type": _one_of("type", {"OperatingAccount", "TrustAccount"}, _bank_account_type),
                "user_id": _link_eq("user"),
                # The sandbox models no closing of accounts: every account is open.
                "status": _one_of("status", {"opened", "closed"}, lambda _s, _r, v: v == "opened"),
            },
        ),
        ResourceDef(
            "bank_transactions",
            (
                *_TS,
                "type",
                "bank_account_id",
                "source",
                "confirmation",
                "date",
                "amount",
                "currency",
                "currency_id",
                "description",
                "exchange_rate",
                "transaction_type",
                "funds_in",
                "funds_out",
                "clio_payments_transaction",
                "current_account_balance",
                "read_only_confirmation",
            ),
            relations={
                "client": "contacts",
                "matter": "matters",
                "bank_account": "bank_accounts",
                "bill": "bills",
                "allocation": "allocations",
            },
            computed=_bank_transaction_computed,
            filters={
                "bank_account_id": _link_eq("bank_account"),
                "client_id": _link_eq("client"),
                "matter_id": _link_eq("matter"),
                "type": _one_of("type", {"asset", "liability"}, lambda s, r, v: transaction_type(s, r) == v),
            },
        ),
        ResourceDef(
            "webhooks",
            (*_TS, "url", "fields", "shared_secret", "model", "status", "events", "expires_at"),
            relations={"user": "users"},
        ),
    ]
}


# ----------------------------------------------------------------------------------------------
# rendering
# ----------------------------------------------------------------------------------------------
def _value(store: Store, rdef: ResourceDef, rec: Record, name: str, computed: dict[str, Any]) -> Any:
    if name == "id":
        return rec.id
    if name == "etag":
        return rec.etag
    if name == "created_at":
        return iso(rec.created_at)
    if name == "updated_at":
        return iso(rec.updated_at)
    if name in computed:
        return computed[name]
    value = rec.attrs.get(name)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def validate(rdef: ResourceDef, selection: Selection) -> None:
    """Raise :class:`FieldsError` unless ``selection`` is valid for ``rdef``."""
    nested = {rel: REGISTRY[target].shape for rel, target in rdef.relations.items()}
    validate_selection(selection, rdef.shape, nested)


def render(
    store: Store,
    rdef: ResourceDef,
    rec: Record,
    selection: Selection,
    *,
    api_version: tuple[int, ...] = (4, 0, 13),
) -> dict[str, Any]:
    """The JSON object for ``rec`` showing exactly ``selection`` (already validated)."""
    computed = rdef.computed(store, rec) if rdef.computed else {}
    if rdef.name == "activities" and api_version < (4, 0, 4) and rec.attrs.get("type") == "TimeEntry":
        # Before 4.0.4 Activity.quantity was in hours (docs/facts-clio.md#versions).
        computed = {**computed, "quantity": computed.get("quantity_in_hours")}
    out: dict[str, Any] = {}
    for name, subs in selection.items():
        if name in rdef.relations:
            out[name] = _render_relation(store, rdef, rec, name, subs)
        elif name in rdef.embedded:
            value = _value(store, rdef, rec, name, computed)
            out[name] = _project_embedded(value, subs)
        else:
            out[name] = _value(store, rdef, rec, name, computed)
    return out


def _project_embedded(value: Any, subs: tuple[str, ...] | None) -> Any:
    if subs is None or value is None:
        return value
    if isinstance(value, list):
        return [project(v, subs) for v in value]
    if isinstance(value, dict):
        return project(value, subs)
    raise FieldsError("value has no nested fields")


def _render_relation(store: Store, rdef: ResourceDef, rec: Record, name: str, subs: tuple[str, ...] | None) -> Any:
    target = REGISTRY[rdef.relations[name]]
    keys = subs or DEFAULT_NESTED
    nested_sel: Selection = dict.fromkeys(keys)
    if name in rdef.many:
        rows = [store.get(target.name, i) for i in rec.link_ids(name)]
        return [render(store, target, r, nested_sel) for r in rows if r is not None]
    target_id = rec.link_id(name)
    target_rec = store.get(target.name, target_id) if target_id is not None else None
    return render(store, target, target_rec, nested_sel) if target_rec else None
