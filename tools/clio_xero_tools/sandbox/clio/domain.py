"""Writes: the rules Clio applies when a record is created, changed or removed.

The REST handlers and the admin surface ("a user in the web app") both call these, so webhooks
and etags behave the same whichever side made the change. Every function expects the caller to
hold ``store.lock``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from .api_errors import ApiError, not_found, unprocessable
from .resources import BILL_TRANSITIONS, bill_totals, by_link, discount_amount, money
from .store import EventName, Link, Record, Store

MAX_ASSOCIATIONS = 200  # 4.0.11/4.0.13: emails and phones per contact are capped, 422 beyond
PHONE_NAMES = {"Work", "Personal", "Other"}
# The spec's request enum for a phone's name (Work, Home, Mobile, Fax, Pager, Skype, Other) is
# wider than its response enum (Work, Personal, Other). Input follows the request enum and is
# stored as the response name it is shown with (docs/sandbox-clio.md, "Contacts"; UNCONFIRMED).
PHONE_NAME_INPUT = {
    "Work": "Work", "Home": "Personal", "Mobile": "Personal", "Personal": "Personal",
    "Fax": "Other", "Pager": "Other", "Skype": "Other", "Other": "Other",
}  # fmt: skip
ADDRESS_NAMES = {"Work", "Home", "Billing", "Other"}
ACTIVITY_TYPES = {"TimeEntry", "ExpenseEntry", "HardCostEntry", "SoftCostEntry"}
TAX_SETTINGS = {"no_tax", "tax_1_only", "tax_2_only", "tax_1_and_tax_2"}
# PracticeArea.category: the spec's enum.
PRACTICE_AREA_CATEGORIES = {
    "administrative", "admiralty_and_maritime", "anti_trust_and_competition", "appellate", "banking_and_finance",
    "bankruptcy", "business_formation_and_compliance", "civil_litigation", "civil_rights_and_constitutional",
    "collections_and_debt", "commercial_and_sale_of_goods", "commercial_litigation", "construction",
    "consumer_protection", "contracts", "corporate_litigation", "criminal", "disability_and_social_security",
    "education", "elder", "employment_and_labor", "energy_and_environmental", "ethics", "family", "food_and_drug",
    "general_practice", "government", "healthcare", "immigration", "in_house_counsel", "insurance",
    "intellectual_property", "international", "juvenile", "legal_aid", "mediation_and_arbitration",
    "medical_malpractice", "military", "multi_practice", "non_profit_and_pro_bono", "other", "personal_injury",
    "privacy_and_information_security", "private_client", "product_liability", "real_estate",
    "science_and_technology", "securities_and_mergers_and_acquisitions", "small_claims",
    "sports_and_entertainment_and_gaming", "tax", "telecommunications", "traffic_offenses", "transportation",
    "tribal", "trusts", "wills_and_estates", "workers_compensation",
}  # fmt: skip
MATTER_STATUS_EVENTS: dict[str, EventName] = {
    "Open": "matter_opened",
    "Pending": "matter_pended",
    "Closed": "matter_closed",
}


# ----------------------------------------------------------------------------------------------
# small validators (422 with a message naming the field, as Clio's RecordInvalid does)
# ----------------------------------------------------------------------------------------------
def _obj(data: Any, what: str = "data") -> dict[str, Any]:
    if not isinstance(data, dict):
        raise unprocessable(f"{what} must be an object")
    return data


def _opt_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise unprocessable(f"{key} must be a string")
    return value


def _opt_num(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise unprocessable(f"{key} must be a number")
    try:
        return float(value)
    except ValueError:
        raise unprocessable(f"{key} must be a number") from None


def _opt_bool(data: dict[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise unprocessable(f"{key} must be a boolean")


def _opt_date(data: dict[str, Any], key: str) -> str | None:
    value = _opt_str(data, key)
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        raise unprocessable(f"{key} must be an ISO-8601 date") from None


def _ref(store: Store, data: dict[str, Any], key: str, resource: str) -> int | None:
    """``{"matter": {"id": 1}}`` → 1, checking the record exists."""
    value = data.get(key)
    if value is None:
        return None
    ident = value.get("id") if isinstance(value, dict) else value
    if not isinstance(ident, int) or isinstance(ident, bool):
        raise unprocessable(f"{key}.id must be an integer")
    if store.get(resource, ident) is None:
        raise unprocessable(f"{key} with id {ident} does not exist")
    return ident


def _copy_strs(src: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: _opt_str(src, k) for k in keys if k in src}


def require(store: Store, resource: str, record_id: int) -> Record:
    rec = store.get(resource, record_id)
    if rec is None:
        raise not_found(resource, record_id)
    return rec


# ----------------------------------------------------------------------------------------------
# contacts
# ----------------------------------------------------------------------------------------------
_CONTACT_STRS = ("first_name", "middle_name", "last_name", "prefix", "title", "sales_tax_number")
_CONTACT_STRS2 = ("ledes_client_id", "name")


def _contact_attrs(
    store: Store, data: dict[str, Any], current: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Link]]:
    attrs = _copy_strs(data, _CONTACT_STRS + _CONTACT_STRS2)
    if "date_of_birth" in data:
        attrs["date_of_birth"] = _opt_date(data, "date_of_birth")
    if "type" in data:
        attrs["type"] = _enum(data, "type", {"Person", "Company"})
    if "is_client" in data:
        attrs["is_client"] = _opt_bool(data, "is_client")
    merged = {**current, **attrs}
    ctype = merged.get("type")
    if ctype is None:
        raise unprocessable("type can't be blank")
    if ctype == "Person":
        _person_names(merged, attrs)
    elif not merged.get("name"):
        raise unprocessable("A Company needs a name")
    links: dict[str, Link] = {}
    if "company" in data:
        links["company"] = _ref(store, data, "company", "contacts")
    if "currency" in data:
        links["currency"] = _ref(store, data, "currency", "currencies")
    return attrs, links


def _person_names(merged: dict[str, Any], attrs: dict[str, Any]) -> None:
    """A Person needs first_name or last_name; its ``name`` is derived from the parts."""
    if not merged.get("first_name") and not merged.get("last_name"):
        # Clio infers the parts from ``name`` when only a name is sent (discouraged), and
        # answers 422 when it cannot [SPEC Contacts tag].
        parts = (merged.get("name") or "").split()
        if not parts:
            raise unprocessable("A Person needs a first_name or last_name")
        attrs["first_name"] = merged["first_name"] = parts[0] if len(parts) > 1 else None
        attrs["last_name"] = merged["last_name"] = parts[-1]
        if len(parts) > 2:
            attrs["middle_name"] = " ".join(parts[1:-1])
    attrs.pop("name", None)
    initials = "".join(p[0] for p in (merged.get("first_name"), merged.get("last_name")) if p)
    attrs["initials"] = initials.upper() or None


def _enum(data: dict[str, Any], key: str, allowed: set[str]) -> str:
    value = data.get(key)
    if value not in allowed:
        raise unprocessable(f"{key} must be one of {sorted(allowed)}")
    return str(value)


def _child_attrs(kind: str, item: dict[str, Any]) -> dict[str, Any]:
    if kind == "email_addresses":
        attrs = _copy_strs(item, ("address", "name"))
        if "address" in attrs and (not attrs["address"] or "@" not in attrs["address"]):
            raise unprocessable(f"email address {attrs['address']!r} is invalid")
    elif kind == "phone_numbers":
        attrs = _copy_strs(item, ("number", "name"))
        if attrs.get("name") is not None:
            if attrs["name"] not in PHONE_NAME_INPUT:
                raise unprocessable(f"phone number name must be one of {sorted(PHONE_NAME_INPUT)}")
            attrs["name"] = PHONE_NAME_INPUT[attrs["name"]]
    else:
        attrs = _copy_strs(item, ("street", "city", "province", "postal_code", "country", "name"))
        if attrs.get("name") is not None and attrs["name"] not in ADDRESS_NAMES:
            raise unprocessable(f"address name must be one of {sorted(ADDRESS_NAMES)}")
    # The spec's request names the flag default_email / default_number; responses call it primary.
    for flag in ("primary", "default_email" if kind == "email_addresses" else "default_number"):
        if flag in item:
            attrs["primary"] = _opt_bool(item, flag)
    return attrs


_NESTED = ("email_addresses", "phone_numbers", "addresses")
_CHILD_DEFAULTS = {  # the spec's request default for both names is "Other"
    "email_addresses": {"name": "Other", "primary": False},
    "phone_numbers": {"name": "Other", "primary": False},
    "addresses": {"name": "Other", "primary": False},
}


def _nested_plan(store: Store, contact: Record, kind: str, items: Any) -> list[tuple[str, int | None, dict[str, Any]]]:
    """Validate every nested item before anything is written, so a 422 leaves the contact as it
    was (Clio applies a PATCH in one transaction)."""
    if not isinstance(items, list):
        raise unprocessable(f"{kind} must be an array")
    ids = contact.link_ids(kind)
    plan: list[tuple[str, int | None, dict[str, Any]]] = []
    size = len(ids)
    for raw in items:
        item = _obj(raw, kind)
        child_id = item.get("id")
        if child_id is None:
            if item.get("_destroy"):
                continue
            attrs = {**_CHILD_DEFAULTS[kind], **_child_attrs(kind, item)}
            if kind == "email_addresses" and not attrs.get("address"):
                raise unprocessable("email address can't be blank")
            if kind == "phone_numbers" and not attrs.get("number"):
                raise unprocessable("phone number can't be blank")
            plan.append(("create", None, attrs))
            size += 1
        elif child_id not in ids or store.get(kind, child_id) is None:
            raise not_found(kind, child_id)
        elif item.get("_destroy") in (True, "true", 1, "1"):
            plan.append(("destroy", child_id, {}))
            size -= 1
        else:
            plan.append(("update", child_id, _child_attrs(kind, item)))
    if size > MAX_ASSOCIATIONS and kind != "addresses":
        raise unprocessable(f"a contact can have at most {MAX_ASSOCIATIONS} {kind}")
    return plan


def _nested_apply(store: Store, contact: Record, kind: str, plan: list[tuple[str, int | None, dict[str, Any]]]) -> None:
    """Apply nested writes: with ``id`` → update, without → create, ``_destroy`` → delete."""
    ids = contact.link_ids(kind)
    for action, child_id, attrs in plan:
        if action == "create":
            ids.append(store.insert(kind, attrs).id)
            continue
        child = require(store, kind, child_id or 0)
        if action == "destroy":
            store.delete(child)
            ids.remove(child.id)
        else:
            store.update(child, attrs)
    _one_primary(store, ids, kind)
    contact.links[kind] = ids


def _one_primary(store: Store, ids: list[int], kind: str) -> None:
    rows = [r for r in (store.get(kind, i) for i in ids) if r is not None]
    if not rows:
        return
    wanted = [r for r in rows if r.attrs.get("primary")]
    keep = wanted[-1] if wanted else rows[0]
    for r in rows:
        flag = r is keep
        if bool(r.attrs.get("primary")) != flag:
            r.attrs["primary"] = flag


def create_contact(store: Store, data: Any) -> Record:
    data = _obj(data)
    attrs, links = _contact_attrs(store, data, {})
    attrs.setdefault("is_bill_recipient", False)
    with store.muted():  # the contact's own "created" is the one event that matters
        contact = Record("contacts", 0, store.now(), store.now(), attrs={**attrs}, links={**links})
        plans = {k: _nested_plan(store, contact, k, data[k]) for k in _NESTED if k in data}
        for kind in _NESTED:
            contact.links.setdefault(kind, [])
            if kind in plans:
                _nested_apply(store, contact, kind, plans[kind])
    return store.insert("contacts", contact.attrs, contact.links)


def update_contact(store: Store, contact: Record, data: Any) -> Record:
    data = _obj(data)
    attrs, links = _contact_attrs(store, data, contact.attrs)
    plans = {k: _nested_plan(store, contact, k, data[k]) for k in _NESTED if k in data}
    with store.muted():
        for kind, plan in plans.items():
            _nested_apply(store, contact, kind, plan)
    return store.update(contact, attrs, links)


def delete_contact(store: Store, contact: Record) -> None:
    if any(m.link_id("client") == contact.id for m in store.all("matters")):
        raise unprocessable("a contact that is the client of a matter cannot be deleted")
    with store.muted():
        for kind in ("email_addresses", "phone_numbers", "addresses"):
            for child_id in contact.link_ids(kind):
                child = store.get(kind, child_id)
                if child is not None:
                    store.delete(child)
    store.delete(contact)


# ----------------------------------------------------------------------------------------------
# matters
# ----------------------------------------------------------------------------------------------
def create_matter(store: Store, data: Any) -> Record:
    data = _obj(data)
    client_id = _ref(store, data, "client", "contacts")
    if client_id is None:
        raise unprocessable("client can't be blank")
    attrs = _matter_attrs(data)
    attrs.setdefault("status", "Open")
    attrs.setdefault("billable", True)
    attrs.setdefault("billing_method", "hourly")
    number = store.count("matters") + 1
    client = require(store, "contacts", client_id)
    surname = client.attrs.get("last_name") or client.attrs.get("name") or "Client"
    attrs.update(number=number, display_number=f"{number:05d}-{str(surname)[:20]}")
    attrs.setdefault("open_date", store.now().date().isoformat())
    attrs.setdefault("currency", {"id": 101, "code": "USD", "sign": "$"})
    links: dict[str, Link] = {"client": client_id}
    for rel in ("responsible_attorney", "originating_attorney"):
        if rel in data:
            links[rel] = _ref(store, data, rel, "users")
    if "practice_area" in data:
        links["practice_area"] = _ref(store, data, "practice_area", "practice_areas")
    return store.insert("matters", attrs, links)


def _matter_attrs(data: dict[str, Any]) -> dict[str, Any]:
    attrs = _copy_strs(data, ("description", "client_reference", "location"))
    if "status" in data:
        if data["status"] not in MATTER_STATUS_EVENTS:
            raise unprocessable("status must be one of Open, Pending, Closed")
        attrs["status"] = data["status"]
    if "billable" in data:
        attrs["billable"] = _opt_bool(data, "billable")
    if "billing_method" in data:
        if data["billing_method"] not in {"flat", "contingency", "hourly"}:
            raise unprocessable("billing_method must be flat, contingency or hourly")
        attrs["billing_method"] = data["billing_method"]
    for key in ("open_date", "close_date", "pending_date"):
        if key in data:
            attrs[key] = _opt_date(data, key)
    return attrs


def update_matter(store: Store, matter: Record, data: Any) -> Record:
    data = _obj(data)
    attrs = _matter_attrs(data)
    links: dict[str, Link] = {}
    if "client" in data:
        links["client"] = _ref(store, data, "client", "contacts")
    if "practice_area" in data:
        links["practice_area"] = _ref(store, data, "practice_area", "practice_areas")
    extra: tuple[EventName, ...] = ()
    new_status = attrs.get("status")
    if new_status and new_status != matter.attrs.get("status"):
        extra = (MATTER_STATUS_EVENTS[new_status],)
        if new_status == "Closed":
            attrs.setdefault("close_date", store.now().date().isoformat())
    return store.update(matter, attrs, links, extra_events=extra)


# ----------------------------------------------------------------------------------------------
# activities
# ----------------------------------------------------------------------------------------------
def _activity_attrs(store: Store, data: dict[str, Any], *, hours_input: bool) -> tuple[dict[str, Any], dict[str, Link]]:
    attrs: dict[str, Any] = _copy_strs(data, ("note", "reference"))
    if "type" in data:
        attrs["type"] = _enum(data, "type", ACTIVITY_TYPES)
    if "date" in data:
        attrs["date"] = _opt_date(data, "date")
    for key in ("quantity", "price"):
        if key in data:
            value = _opt_num(data, key)
            if value is not None and value < 0:
                raise unprocessable(f"{key} must not be negative")
            attrs[key] = value
    if hours_input and attrs.get("quantity") is not None and data.get("type", "TimeEntry") == "TimeEntry":
        attrs["quantity"] = float(attrs["quantity"]) * 3600  # pre-4.0.4 clients send hours
    for flag in ("non_billable", "no_charge", "flat_rate", "contingency_fee"):
        if flag in data:
            attrs[flag] = _opt_bool(data, flag)
    if "tax_setting" in data:
        attrs["tax_setting"] = _enum(data, "tax_setting", TAX_SETTINGS)
    links: dict[str, Link] = {rel: _ref(store, data, rel, resource) for rel, resource in _ACTIVITY_LINKS if rel in data}
    return attrs, links


_ACTIVITY_LINKS = (
    ("matter", "matters"),
    ("activity_description", "activity_descriptions"),
    ("expense_category", "expense_categories"),
    ("user", "users"),
    ("vendor", "contacts"),
)


def create_activity(store: Store, data: Any, *, user_id: int, hours_input: bool = False) -> Record:
    data = _obj(data)
    attrs, links = _activity_attrs(store, data, hours_input=hours_input)
    attrs.setdefault("type", "TimeEntry")
    attrs.setdefault("date", store.now().date().isoformat())
    attrs.setdefault("quantity_redacted", False)
    attrs.setdefault("currency", {"id": 101, "code": "USD", "sign": "$"})
    for flag in ("non_billable", "no_charge", "flat_rate", "contingency_fee"):
        attrs.setdefault(flag, False)
    if attrs["type"] == "TimeEntry":
        if attrs.get("quantity") is None:
            raise unprocessable("quantity can't be blank for a TimeEntry")
        attrs.setdefault("price", 0.0)
        attrs.setdefault("tax_setting", "no_tax")
    else:
        if attrs.get("price") is None:
            raise unprocessable("price can't be blank for an expense")
        attrs.setdefault("quantity", 1.0)
        attrs.setdefault("tax_setting", "no_tax")
        if links.get("expense_category") is None and "expense_category" not in links:
            links["expense_category"] = None
    links.setdefault("user", user_id)
    return store.insert("activities", attrs, links)


def _activity_locked(store: Store, activity: Record) -> bool:
    bill = store.get("bills", activity.link_id("bill") or 0)
    return bill is not None and bill.attrs.get("state") in {"awaiting_payment", "paid"}


def update_activity(store: Store, activity: Record, data: Any, *, hours_input: bool = False) -> Record:
    data = _obj(data)
    if _activity_locked(store, activity):
        raise unprocessable("An activity on an approved bill cannot be modified")
    attrs, links = _activity_attrs(store, data, hours_input=hours_input)
    return store.update(activity, attrs, links)


def delete_activity(store: Store, activity: Record) -> None:
    if _activity_locked(store, activity):
        raise unprocessable("An activity on an approved bill cannot be deleted")
    store.delete(activity)


# ----------------------------------------------------------------------------------------------
# bank accounts and transactions
# ----------------------------------------------------------------------------------------------
def create_bank_account(store: Store, data: Any, *, user_id: int) -> Record:
    data = _obj(data)
    attrs = _copy_strs(data, ("name", "account_number", "institution", "transit_number", "swift", "holder"))
    attrs.update(_copy_strs(data, ("general_ledger_number", "domicile_branch")))
    if not attrs.get("name"):
        raise unprocessable("name can't be blank")
    acct_type = data.get("type", "Operating")
    if acct_type not in {"Operating", "Trust"}:
        raise unprocessable("type must be Operating or Trust")
    currency = _currency(store, data.get("currency_id"))
    attrs.update(
        type=acct_type,
        currency=currency.attrs["code"],
        currency_symbol=currency.attrs["sign"],
        currency_id=currency.id,
        default_account=bool(_opt_bool(data, "default_account")),
        controlled_account=acct_type == "Trust",
        clio_payments_enabled=False,
    )
    return store.insert("bank_accounts", attrs, {"user": user_id})


def _currency(store: Store, currency_id: Any) -> Record:
    if currency_id is None:
        rows = store.all("currencies")
        if not rows:
            raise unprocessable("no currencies configured")
        return rows[0]
    if not isinstance(currency_id, int):
        raise unprocessable("currency_id must be an integer")
    rec = store.get("currencies", currency_id)
    if rec is None:
        raise unprocessable(f"currency {currency_id} does not exist")
    return rec


_BANK_PATCHABLE = {
    "bank_accounts": ("name", "institution", "account_number", "holder", "general_ledger_number"),
    "bank_transactions": ("description", "transaction_type", "confirmation"),
}


def patch_bank_record(store: Store, rec: Record, data: Any) -> Record:
    """PATCH of a bank account or transaction: descriptive fields only (amounts are history)."""
    return store.update(rec, _copy_strs(_obj(data), _BANK_PATCHABLE[rec.resource]))


def create_bank_transaction(store: Store, data: Any, *, extra_links: dict[str, Link] | None = None) -> Record:
    data = _obj(data)
    amount = _opt_num(data, "amount")
    account_id = _ref(store, data, "bank_account", "bank_accounts")
    when = _opt_date(data, "date")
    if amount is None or account_id is None or when is None:
        raise unprocessable("amount, bank_account and date are required")
    account = require(store, "bank_accounts", account_id)
    attrs = _copy_strs(data, ("description", "transaction_type", "source", "confirmation"))
    attrs.update(
        amount=money(amount),
        date=when,
        currency=account.attrs.get("currency"),
        currency_id=account.attrs.get("currency_id"),
        exchange_rate=_opt_num(data, "exchange_rate") or 1.0,
        clio_payments_transaction=False,
        read_only_confirmation=False,
    )
    attrs.setdefault("transaction_type", "Other")
    attrs.setdefault("source", "manual")
    links: dict[str, Link] = {
        "bank_account": account_id,
        "client": _ref(store, data, "client", "contacts"),
        "matter": _ref(store, data, "matter", "matters"),
        **(extra_links or {}),
    }
    if account.attrs.get("type") == "Trust" and links["client"] is None:
        raise unprocessable("a trust transaction needs a client")
    return store.insert("bank_transactions", attrs, links)


# ----------------------------------------------------------------------------------------------
# bills (no POST in the real API; created by the admin surface)
# ----------------------------------------------------------------------------------------------
def _settings(store: Store) -> Record:
    rows = store.all("billing_settings")
    if not rows:
        raise ApiError(500, "InternalError", "billing settings missing")
    return rows[0]


NO_DISCOUNT: dict[str, Any] = {
    "rate": 0.0,
    "type": "percentage",
    "note": None,
    "early_payment_rate": 0,
    "early_payment_period": 0,
}


def _discount(data: Any, what: str) -> dict[str, Any]:
    """A ``Discount`` value (bill or line): ``rate`` ≥ 0, ``type`` percentage (≤ 100) or money."""
    merged = {**NO_DISCOUNT, **_obj(data, what)}
    rate = _opt_num(merged, "rate") or 0.0
    if merged["type"] not in {"percentage", "money"}:
        raise unprocessable(f"{what}.type must be percentage or money")
    if rate < 0 or (merged["type"] == "percentage" and rate > 100):
        raise unprocessable(f"{what}.rate must be between 0 and 100 for a percentage, or not negative")
    return {**merged, "rate": rate}


def line_amounts(
    price: float,
    quantity: float,
    taxable: bool,
    secondary: bool,
    settings: Record,
    discount: dict[str, Any] | None = None,
) -> dict[str, float]:
    """A line's money: ``sub_total`` before its discount and tax (as ``LineItemTotals`` describes
    it), taxes on the discounted amount, ``total`` after discount and taxes."""
    sub = money(price * quantity)
    off = discount_amount(discount, sub)
    net = sub - off
    rate1 = float(settings.attrs.get("tax_rate") or 0.0)
    rate2 = float(settings.attrs.get("secondary_tax_rate") or 0.0) if settings.attrs.get("use_secondary_tax") else 0.0
    tax = money(net * rate1 / 100) if taxable else 0.0
    base2 = net + tax if settings.attrs.get("secondary_tax_rule") == "Post" else net
    tax2 = money(base2 * rate2 / 100) if secondary and rate2 else 0.0
    return {
        "sub_total": sub,
        "discount_amount": off,
        "tax": tax,
        "secondary_tax": tax2,
        "total": money(net + tax + tax2),
    }


def create_bill(
    store: Store,
    *,
    client_id: int,
    matter_ids: list[int],
    state: str = "draft",
    activity_ids: list[int] | None = None,
    line_items: list[dict[str, Any]] | None = None,
    issued_at: str | None = None,
    due_at: str | None = None,
    currency_id: int | None = None,
    kind: str = "revenue_kind",
    user_id: int | None = None,
    subject: str | None = None,
    number: str | None = None,
    interest: dict[str, Any] | None = None,
    discount: dict[str, Any] | None = None,
    discount_services_only: bool = False,
    trust_lines: list[dict[str, Any]] | None = None,
) -> Record:
    """Create a bill the way the web app does: from unbilled activities and/or free lines."""
    if state not in BILL_TRANSITIONS:  # every state exists as a key
        raise unprocessable(f"state must be one of {sorted(BILL_TRANSITIONS)}")
    require(store, "contacts", client_id)
    for mid in matter_ids:
        require(store, "matters", mid)
    settings = _settings(store)
    currency = _currency(store, currency_id)
    for aid in activity_ids or []:  # validate before writing: a 422 must create nothing
        if require(store, "activities", aid).link_id("bill") is not None:
            raise unprocessable(f"activity {aid} is already on a bill")
    for raw in line_items or []:
        if _obj(raw, "line_items").get("kind", "Service") not in {"Service", "Expense"}:
            raise unprocessable("line item kind must be Service or Expense")
    today = store.now().date()
    issued = issued_at or today.isoformat()
    attrs: dict[str, Any] = {
        "number": number or str(store.count("bills") + 1),
        "issued_at": issued,
        "due_at": due_at or date.fromordinal(date.fromisoformat(issued).toordinal() + 30).isoformat(),
        "tax_rate": float(settings.attrs.get("tax_rate") or 0.0),
        "secondary_tax_rate": float(settings.attrs.get("secondary_tax_rate") or 0.0),
        "subject": subject,
        "type": "MatterBill" if matter_ids else "ClientBill",
        "kind": kind,
        "state": "draft",
        "shared": False,
        "memo": None,
        "purchase_order": None,
        "discount": _discount(discount or {}, "discount"),
        "discount_services_only": "true" if discount_services_only else "false",
        "interest": interest or {"rate": 0.0, "type": "simple", "period": 30},
    }
    links: dict[str, Link] = {
        "client": client_id,
        "matters": list(matter_ids),
        "currency": currency.id,
        "billing_setting": settings.id,
        "bill_theme": _first_id(store, "bill_themes"),
        "group": _first_id(store, "groups"),
        "original_bill": None,
    }
    if user_id is not None:
        links["user"] = user_id
    with store.muted():
        bill = store.insert("bills", attrs, links)
        _bill_lines(store, bill, settings, activity_ids or [], line_items or [])
        for line in trust_lines or []:
            store.insert(
                "trust_line_items",
                {"date": issued, "total": money(float(line["total"])), "note": line.get("note")},
                {"bill": bill.id, "matter": line.get("matter"), "client": client_id},
            )
        if state != "draft":
            set_bill_state(store, bill, state)
            bill.version = 1  # one "created" record, not a draft that was then changed
    store.announce(bill)
    return bill


def _first_id(store: Store, resource: str) -> int | None:
    rows = store.all(resource)
    return rows[0].id if rows else None


def _bill_lines(
    store: Store, bill: Record, settings: Record, activity_ids: list[int], lines: list[dict[str, Any]]
) -> None:
    order = 0
    for aid in activity_ids:
        act = require(store, "activities", aid)
        if act.link_id("bill") is not None:
            raise unprocessable(f"activity {aid} is already on a bill")
        is_time = act.attrs.get("type") == "TimeEntry"
        qty = float(act.attrs.get("quantity", 0.0))
        # Line item quantity: hours for time ("amount of hours" in the spec; UNCONFIRMED
        # post-4.0.4), count for expenses.
        rounded_hours = -(-int(qty) // 360) * 360 / 3600 if is_time else qty
        price = float(act.attrs.get("price", 0.0))
        taxable = (
            bool(settings.attrs.get("apply_tax_by_default"))
            if is_time
            else act.attrs.get("tax_setting") in {"tax_1_only", "tax_1_and_tax_2"}
        )
        secondary = (
            bool(settings.attrs.get("apply_secondary_tax_by_default"))
            if is_time
            else act.attrs.get("tax_setting") in {"tax_2_only", "tax_1_and_tax_2"}
        )
        amounts = line_amounts(price, rounded_hours, taxable, secondary, settings)
        order += 1
        store.insert(
            "line_items",
            {
                "type": "NoChargeLineItem" if act.attrs.get("no_charge") else "ActivityLineItem",
                "kind": "Service" if is_time else "Expense",
                "description": act.attrs.get("note") or ("Time" if is_time else "Expense"),
                "date": act.attrs.get("date"),
                "price": price,
                "quantity": rounded_hours,
                "taxable": taxable,
                "secondary_taxable": secondary,
                "note": act.attrs.get("note"),
                "group_ordering": order,
                "discount": dict(NO_DISCOUNT),
                **amounts,
            },
            {"bill": bill.id, "activity": aid, "matter": act.link_id("matter"), "user": act.link_id("user")},
        )
        act.links["bill"] = bill.id
        act.version += 1
        act.updated_at = store.now()
        store.touch(act)
    for raw in lines:
        item = _obj(raw, "line_items")
        price = _opt_num(item, "price") or 0.0
        qty = _opt_num(item, "quantity") or 1.0
        item_kind = item.get("kind", "Service")
        if item_kind not in {"Service", "Expense"}:
            raise unprocessable("line item kind must be Service or Expense")
        taxable = bool(item.get("taxable", settings.attrs.get("apply_tax_by_default")))
        secondary = bool(item.get("secondary_taxable", False))
        line_discount = _discount(item.get("discount") or {}, "line_items.discount")
        order += 1
        store.insert(
            "line_items",
            {
                "type": "LineItem",
                "kind": item_kind,
                "description": item.get("description") or "Line item",
                "date": item.get("date") or bill.attrs["issued_at"],
                "price": price,
                "quantity": qty,
                "taxable": taxable,
                "secondary_taxable": secondary,
                "note": item.get("note"),
                "group_ordering": order,
                "discount": line_discount,
                **line_amounts(price, qty, taxable, secondary, settings, line_discount),
            },
            {"bill": bill.id, "matter": _first_matter(bill)},
        )


def _first_matter(bill: Record) -> int | None:
    matters = bill.link_ids("matters")
    return matters[0] if matters else None


def set_bill_state(store: Store, bill: Record, state: str) -> Record:
    """Move a bill to ``state`` as the web app would (admin side: any state is reachable)."""
    attrs: dict[str, Any] = {"state": state}
    if state in {"awaiting_payment", "paid"} and bill.attrs.get("last_sent_at") is None:
        attrs["last_sent_at"] = store.now()
    return store.update(bill, attrs)


def patch_bill(store: Store, bill: Record, data: Any) -> Record:
    data = _obj(data)
    current = bill.attrs.get("state", "draft")
    attrs: dict[str, Any] = _copy_strs(data, ("memo", "subject", "purchase_order", "number"))
    if attrs and current not in {"draft", "awaiting_approval", "awaiting_payment"}:
        raise unprocessable(f"a {current} bill cannot be updated")
    for key in ("issued_at", "due_at"):
        if key in data:
            attrs[key] = _opt_date(data, key)
    for key in ("tax_rate", "secondary_tax_rate"):
        if key in data:
            attrs[key] = _opt_num(data, key)
    if "discount" in data:
        attrs["discount"] = _discount({**(bill.attrs.get("discount") or {}), **_obj(data["discount"])}, "discount")
    if "interest" in data:
        attrs["interest"] = {**(bill.attrs.get("interest") or {}), **_obj(data["interest"], "interest")}
    if "state" in data and data["state"] != current:
        target = data["state"]
        if target not in BILL_TRANSITIONS.get(current, []):
            raise unprocessable(f"cannot change a bill from {current} to {target}")
        if target in {"void", "deleted"}:
            if attrs:
                store.update(bill, attrs)
            return delete_bill(store, bill)
        attrs["state"] = target
    return store.update(bill, attrs)


def delete_bill(store: Store, bill: Record) -> Record:
    """DELETE: only without payments; draft/awaiting_approval → deleted, awaiting_payment → void."""
    t = bill_totals(store, bill)
    if t["paid"] > 0 or t["credits_issued"] > 0:
        raise unprocessable("a bill with payments or credits cannot be deleted")
    state = bill.attrs.get("state")
    if state in {"draft", "awaiting_approval"}:
        target = "deleted"
    elif state == "awaiting_payment":
        target = "void"
    else:
        raise unprocessable(f"a {state} bill cannot be deleted")
    with store.muted():
        for act in by_link(store, "activities", "bill", bill.id):
            act.links["bill"] = None
            store.touch(act)
    # UNCONFIRMED whether Clio fires "deleted" or "updated" here (docs/facts-clio.md#webhooks). The bill stays
    # listable with state deleted/void, so it is a change of state: "updated".
    return store.update(bill, {"state": target})


def patch_line_item(store: Store, line: Record, data: Any) -> Record:
    data = _obj(data)
    bill = require(store, "bills", line.link_id("bill") or 0)
    if bill.attrs.get("state") not in {"draft", "awaiting_approval"}:
        raise unprocessable("line items can only change on draft or pending-approval bills")
    attrs: dict[str, Any] = _copy_strs(data, ("description", "note"))
    for key in ("price", "quantity"):
        if key in data:
            attrs[key] = _opt_num(data, key)
    for key in ("taxable", "secondary_taxable"):
        if key in data:
            attrs[key] = _opt_bool(data, key)
    if "discount" in data:
        attrs["discount"] = _discount({**line.attrs.get("discount", NO_DISCOUNT), **_obj(data["discount"])}, "discount")
    merged = {**line.attrs, **attrs}
    attrs.update(
        line_amounts(
            float(merged["price"]),
            float(merged["quantity"]),
            bool(merged.get("taxable")),
            bool(merged.get("secondary_taxable")),
            _settings(store),
            merged.get("discount"),
        )
    )
    store.update(line, attrs)
    store.update(bill)  # the bill's totals (and so its etag) changed
    return line


def delete_line_item(store: Store, line: Record) -> None:
    bill = require(store, "bills", line.link_id("bill") or 0)
    if bill.attrs.get("state") not in {"draft", "awaiting_approval"}:
        raise unprocessable("line items can only be removed from draft or pending-approval bills")
    store.delete(line)
    store.update(bill)


# ----------------------------------------------------------------------------------------------
# money received against bills (admin: "record a payment", "issue a credit note", "interest")
# ----------------------------------------------------------------------------------------------
def record_payment(
    store: Store,
    bill: Record,
    *,
    amount: float,
    when: str | None = None,
    bank_account_id: int | None = None,
    description: str | None = None,
) -> Record:
    """A payment allocated to ``bill``: an Allocation (parent Payment) plus bank transactions.

    A revenue bill paid from Operating is one deposit; paid from Trust it is a withdrawal from the
    client's (matter's) trust ledger and a deposit into Operating. A trust bill (a trust request)
    is paid *into* Trust: one deposit on the client's (matter's) trust ledger. A bill whose
    balance reaches zero becomes ``paid``.
    """
    if bill.attrs.get("state") not in {"awaiting_payment"}:
        raise unprocessable("payments can only be recorded against bills awaiting payment")
    balance = bill_totals(store, bill)["balance"]
    if amount <= 0 or amount - balance > 0.005:
        raise unprocessable(f"amount must be between 0 and the balance {balance}")
    accounts = store.all("bank_accounts")
    operating = next((a for a in accounts if a.attrs.get("type") == "Operating"), None)
    trust = next((a for a in accounts if a.attrs.get("type") == "Trust"), None)
    trust_bill = bill.attrs.get("kind") == "trust_kind"
    if bank_account_id is not None:
        account = store.get("bank_accounts", bank_account_id)
    else:
        account = trust if trust_bill else operating
    if account is None or operating is None:
        raise unprocessable("no bank account to pay into")
    if trust_bill and account.attrs.get("type") != "Trust":
        raise unprocessable("a trust request is paid into a trust account")
    from_trust = not trust_bill and account.attrs.get("type") == "Trust"
    day = when or store.now().date().isoformat()
    client_id = bill.link_id("client")
    matter_id = _first_matter(bill)
    payment_id = 9_100_000 + store.count("allocations") + 1
    alloc = store.insert(
        "allocations",
        {
            "date": day,
            "amount": money(amount),
            "interest": False,
            "voided_at": None,
            "description": description or "Payment",
            "has_online_payment": False,
            "destroyable": True,
            "payment_type": None,
            "parent": {"id": payment_id, "type": "Payment"},
        },
        {
            "bill": bill.id,
            "matter": matter_id,
            "contact": client_id,
            "source_bank_account": account.id if from_trust else None,
            "destination_bank_account": account.id if trust_bill else operating.id,
        },
    )
    links: dict[str, Link] = {"bill": bill.id, "allocation": alloc.id, "matter": matter_id}
    party = {"client": {"id": client_id}, "date": day}
    with store.muted():
        if from_trust:
            create_bank_transaction(
                store,
                {**party, "amount": -amount, "bank_account": {"id": account.id}, "transaction_type": "Withdrawal",
                 "description": description or f"Payment of bill {bill.attrs.get('number')} from trust"},
                extra_links=links,
            )  # fmt: skip
        into = account.id if trust_bill else operating.id
        create_bank_transaction(
            store,
            {**party, "amount": amount, "bank_account": {"id": into}, "transaction_type": "Deposit",
             "description": description or f"Payment of bill {bill.attrs.get('number')}"},
            extra_links=links,
        )  # fmt: skip
    _settle(store, bill)
    return alloc


def issue_credit_memo(
    store: Store, bill: Record, *, amount: float, description: str | None = None, user_id: int | None = None
) -> Record:
    if bill.attrs.get("state") not in {"awaiting_payment"}:
        raise unprocessable("credit notes apply to bills awaiting payment")
    balance = bill_totals(store, bill)["balance"]
    if amount <= 0 or amount - balance > 0.005:
        raise unprocessable(f"amount must be between 0 and the balance {balance}")
    day = store.now().date().isoformat()
    memo = store.insert(
        "credit_memos",
        {
            "date": day,
            "amount": money(amount),
            "description": description or "Credit",
            "discount": False,
            "voided_at": None,
        },
        {"contact": bill.link_id("client"), "user": user_id, "allocations": []},
    )
    alloc = store.insert(
        "allocations",
        {
            "date": day,
            "amount": money(amount),
            "interest": False,
            "voided_at": None,
            "description": description or "Credit",
            "has_online_payment": False,
            "destroyable": True,
            "payment_type": None,
            "parent": {"id": memo.id, "type": "CreditMemo"},
        },
        {"bill": bill.id, "matter": _first_matter(bill), "contact": bill.link_id("client")},
    )
    memo.links["allocations"] = [alloc.id]
    _settle(store, bill)
    return memo


def add_interest(store: Store, bill: Record, *, amount: float, description: str | None = None) -> Record:
    if bill.attrs.get("state") not in {"awaiting_payment"}:
        raise unprocessable("interest applies to bills awaiting payment")
    charge = store.insert(
        "interest_charges",
        {
            "date": store.now().date().isoformat(),
            "description": description or "Interest",
            "total": money(amount),
            # The charge's balance names what the bill's own balances[] name: the first matter of
            # a matter bill, else the client (docs/sandbox-clio.md, "Money on a bill").
            "balances": [
                {
                    "id": _first_matter(bill) if bill.attrs.get("type") == "MatterBill" else bill.link_id("client"),
                    "amount": money(amount),
                    "type": "Matter" if bill.attrs.get("type") == "MatterBill" else "Client",
                    "interest_amount": money(amount),
                    "due": money(amount),
                }
            ],
        },
        {"bill": bill.id, "matters": bill.link_ids("matters")},
    )
    store.update(bill)
    return charge


def void_allocation(store: Store, alloc: Record) -> Record:
    store.update(alloc, {"voided_at": store.now(), "destroyable": False})
    bill = store.get("bills", alloc.link_id("bill") or 0)
    if bill is not None:
        if bill.attrs.get("state") == "paid":
            store.update(bill, {"state": "awaiting_payment"})
        else:
            store.update(bill)
    return alloc


def _settle(store: Store, bill: Record) -> None:
    if bill_totals(store, bill)["balance"] <= 0.005:
        set_bill_state(store, bill, "paid")
    else:
        store.update(bill)


# ----------------------------------------------------------------------------------------------
# trust requests (POST only) and their trust line items
# ----------------------------------------------------------------------------------------------
def create_trust_request(store: Store, data: Any, *, user_id: int | None = None) -> Record:
    """``POST /trust_requests``: a trust bill (``kind: trust_kind``) asking the client to fund
    trust, one ``TrustLineItem`` per matter (``trust_type: matter``) or one for the client.
    ``approved`` makes it ``awaiting_payment``, else it is a draft. Paying it deposits into Trust."""
    data = _obj(data)
    client_id = data.get("client_id")
    if not isinstance(client_id, int) or store.get("contacts", client_id) is None:
        raise unprocessable("client_id must be the id of an existing contact")
    trust_type = data.get("trust_type", "client")
    if trust_type not in {"client", "matter"}:
        raise unprocessable("trust_type must be client or matter")
    lines: list[dict[str, Any]] = []
    if trust_type == "matter":
        entries = data.get("matter")
        if not isinstance(entries, list) or not entries:
            raise unprocessable("a matter trust request needs matter: [{id, trust_amount}]")
        for raw in entries:
            entry = _obj(raw, "matter")
            matter_id = entry.get("id")
            if not isinstance(matter_id, int) or store.get("matters", matter_id) is None:
                raise unprocessable(f"matter {matter_id!r} does not exist")
            lines.append(
                {"matter": matter_id, "total": _positive(entry, "trust_amount"), "note": _opt_str(entry, "note")}
            )
    else:
        lines.append({"matter": None, "total": _positive(data, "trust_amount"), "note": _opt_str(data, "note")})
    issued = _opt_date(data, "issue_date")
    bill = create_bill(
        store,
        client_id=client_id,
        matter_ids=[ln["matter"] for ln in lines if ln["matter"] is not None],
        state="awaiting_payment" if _opt_bool(data, "approved") else "draft",
        issued_at=issued,
        due_at=_opt_date(data, "due_date"),
        currency_id=data.get("currency_id"),
        kind="trust_kind",
        user_id=user_id,
        subject=_opt_str(data, "note"),
        trust_lines=lines,
    )
    return store.insert("trust_requests", {}, {"bill": bill.id})


def _positive(data: dict[str, Any], key: str) -> float:
    value = _opt_num(data, key)
    if value is None or value <= 0:
        raise unprocessable(f"{key} must be a positive amount")
    return value


def patch_trust_line_item(store: Store, line: Record, data: Any) -> Record:
    data = _obj(data)
    bill = require(store, "bills", line.link_id("bill") or 0)
    if bill.attrs.get("state") not in {"draft", "awaiting_approval"}:
        raise unprocessable("trust line items can only change on draft or pending-approval bills")
    attrs: dict[str, Any] = _copy_strs(data, ("note",))
    if "date" in data:
        attrs["date"] = _opt_date(data, "date")
    if "total" in data:
        attrs["total"] = money(_positive(data, "total"))
    store.update(line, attrs)
    store.update(bill)
    return line


# ----------------------------------------------------------------------------------------------
# practice areas
# ----------------------------------------------------------------------------------------------
def _practice_area_attrs(data: dict[str, Any]) -> dict[str, Any]:
    attrs = _copy_strs(data, ("name", "code", "category"))
    if attrs.get("category") is not None and attrs["category"] not in PRACTICE_AREA_CATEGORIES:
        raise unprocessable("category must be one of the spec's PracticeArea categories")
    return attrs


def create_practice_area(store: Store, data: Any) -> Record:
    attrs = _practice_area_attrs(_obj(data))
    if not attrs.get("name"):
        raise unprocessable("name can't be blank")
    if any(p.attrs.get("name") == attrs["name"] for p in store.all("practice_areas")):
        raise unprocessable(f"a practice area named {attrs['name']!r} already exists")
    attrs.setdefault("code", None)
    attrs.setdefault("category", "other")
    return store.insert("practice_areas", attrs)


def update_practice_area(store: Store, area: Record, data: Any) -> Record:
    return store.update(area, _practice_area_attrs(_obj(data)))


def delete_record(store: Store, rec: Record) -> None:
    """DELETE as Clio applies it: the resource's own rules where it has them, else removal."""
    rules = {
        "contacts": delete_contact,
        "activities": delete_activity,
        "bills": delete_bill,
        "line_items": delete_line_item,
    }
    rule = rules.get(rec.resource)
    if rule is None:
        store.delete(rec)
    else:
        rule(store, rec)
