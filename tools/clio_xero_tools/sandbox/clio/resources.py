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
    groups: dict[int | None, list[Record]] = store.index(f"{resource}.{link}", _group(resource, link))
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


def bill_totals(store: Store, rec: Record) -> dict[str, float]:
    """Money on a bill, derived from its line items, interest charges and allocations."""
    lines = by_link(store, "line_items", "bill", rec.id)
    sub_total = sum(float(li.attrs.get("sub_total", 0.0)) for li in lines)
    tax = sum(float(li.attrs.get("tax", 0.0)) for li in lines)
    tax2 = sum(float(li.attrs.get("secondary_tax", 0.0)) for li in lines)
    services = [li for li in lines if li.attrs.get("kind") == "Service"]
    interest = sum(
        float(ic.attrs.get("total", 0.0)) for ic in store.all("interest_charges") if ic.link_id("bill") == rec.id
    )
    allocs = [al for al in store.all("allocations") if al.link_id("bill") == rec.id and not al.attrs.get("voided_at")]
    paid = sum(float(al.attrs["amount"]) for al in allocs if _parent_type(al) == "Payment")
    credits = sum(float(al.attrs["amount"]) for al in allocs if _parent_type(al) == "CreditMemo")
    total = sub_total + tax + tax2 + interest
    return {
        "sub_total": money(sub_total),
        "tax_sum": money(tax),
        "secondary_tax_sum": money(tax2),
        "total_tax": money(tax + tax2),
        "services_sub_total": money(sum(float(li.attrs.get("sub_total", 0.0)) for li in services)),
        "services_tax": money(sum(float(li.attrs.get("tax", 0.0)) for li in services)),
        "services_secondary_tax": money(sum(float(li.attrs.get("secondary_tax", 0.0)) for li in services)),
        "interest": money(interest),
        "total": money(total),
        "paid": money(paid),
        "credits_issued": money(credits),
        "balance": money(total - paid - credits),
    }


def _parent_type(alloc: Record) -> str | None:
    parent = alloc.attrs.get("parent")
    return parent.get("type") if isinstance(parent, dict) else None


def _bill_computed(store: Store, rec: Record) -> dict[str, Any]:
    t = bill_totals(store, rec)
    state = rec.attrs.get("state", "draft")
    kind = "Matter" if rec.attrs.get("type") == "MatterBill" else "Client"
    interest = dict(rec.attrs.get("interest") or {"rate": 0.0, "type": "simple", "period": 30})
    interest.update(total=t["interest"], balance=t["interest"])
    return {
        **{k: v for k, v in t.items() if k != "interest"},
        "due": t["balance"],
        "pending": 0.0,
        "interest": interest,
        "available_state_transitions": BILL_TRANSITIONS.get(state, []),
        "can_update": state in {"draft", "awaiting_approval", "awaiting_payment"},
        "balances": [
            {
                "id": rec.id,
                "amount": t["balance"],
                "type": kind,
                "interest_amount": t["interest"],
                "due": t["balance"],
            }
        ],
    }


def _bank_account_computed(store: Store, rec: Record) -> dict[str, Any]:
    txs = [t for t in store.all("bank_transactions") if t.link_id("bank_account") == rec.id]
    return {"balance": money(sum(float(t.attrs.get("amount", 0.0)) for t in txs))}


def _bank_transaction_computed(store: Store, rec: Record) -> dict[str, Any]:
    acct = rec.link_id("bank_account")
    running = sum(
        float(t.attrs.get("amount", 0.0))
        for t in store.all("bank_transactions")
        if t.link_id("bank_account") == acct and (t.attrs.get("date"), t.id) <= (rec.attrs.get("date"), rec.id)
    )
    amount = float(rec.attrs.get("amount", 0.0))
    return {
        "bank_account_id": acct,
        "funds_in": money(max(amount, 0.0)),
        "funds_out": money(max(-amount, 0.0)),
        "current_account_balance": money(running),
    }


# ----------------------------------------------------------------------------------------------
# list filters
# ----------------------------------------------------------------------------------------------
def _link_eq(rel: str) -> Predicate:
    def pred(_s: Store, r: Record, v: str) -> bool:
        return str(r.link_id(rel)) == v or v in {str(i) for i in r.link_ids(rel)}

    return pred


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
        d = r.attrs.get(name)
        if d is None:
            return False
        return bool(d >= v) if after else bool(d <= v)

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
                "type": _attr_eq("type"),
                "query": _contact_query,
                "client_only": lambda s, r, v: not _truthy(v) or bool(_contact_computed(s, r)["is_client"]),
                "email_only": lambda s, r, v: not _truthy(v) or bool(r.link_ids("email_addresses")),
            },
            webhook_model="contact",
        ),
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
            },
            computed=lambda s, r: {
                "client_id": r.link_id("client"),
                "account_balances": account_balances(s, matter_id=r.id),
            },
            filters={
                "client_id": _link_eq("client"),
                "status": lambda _s, r, v: str(r.attrs.get("status", "")).lower() == v.lower(),
            },
            webhook_model="matter",
        ),
        ResourceDef(
            "activity_descriptions",
            (*_TS, "name", "default", "type", "xero_service_code", "accessible_to_user", "category_type"),
        ),
        ResourceDef(
            "expense_categories",
            (*_TS, "name", "rate", "entry_type", "xero_expense_code", "accessible_to_user", "tax_setting"),
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
                "type": _attr_eq("type"),
                "matter_id": _link_eq("matter"),
                "user_id": _link_eq("user"),
                "status": _activity_status,
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
            ),
            embedded=("discount", "interest", "balances"),
            relations={
                "client": "contacts",
                "matters": "matters",
                "user": "users",
                "currency": "currencies",
                "destination_account": "bank_accounts",
            },
            many=frozenset({"matters"}),
            computed=_bill_computed,
            filters={
                "state": _attr_eq("state"),
                "client_id": _link_eq("client"),
                "matter_id": _link_eq("matters"),
                "currency_id": _link_eq("currency"),
                "type": lambda _s, r, v: (v == "trust") == (r.attrs.get("kind") == "trust_kind"),
                "issued_after": _date_cmp("issued_at", after=True),
                "issued_before": _date_cmp("issued_at", after=False),
                "due_after": _date_cmp("due_at", after=True),
                "due_before": _date_cmp("due_at", after=False),
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
            relations={"bill": "bills", "activity": "activities", "matter": "matters", "user": "users"},
            filters={
                "bill_id": _link_eq("bill"),
                "matter_id": _link_eq("matter"),
                "activity_id": _link_eq("activity"),
                "kind": _attr_eq("kind"),
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
                "parent_type": lambda _s, r, v: _parent_type(r) == v,
                "status": _allocation_status,
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
            ),
            relations={"user": "users"},
            computed=_bank_account_computed,
            filters={"type": _bank_account_type},
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
