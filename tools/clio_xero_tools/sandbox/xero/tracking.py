"""``/TrackingCategories`` and their ``/Options``, and the tracking carried on document lines.

What Xero enforces and the sandbox reproduces (docs/sandbox-xero.md, "Tracking categories"):

* at most **2 ACTIVE categories** per organisation and at most **100 ACTIVE options** per
  category; archived ones do not count, re-activating one that would pass the limit is refused;
* category names unique among the organisation's categories and option names unique within their
  category (case-insensitive), names 1..100 characters;
* a category or option used on any invoice, credit note or bank transaction line cannot be
  deleted, only archived; a rename shows on every line that carries it;
* a line names its tracking as ``{Name, Option}`` or ``{TrackingCategoryID, TrackingOptionID}``,
  at most 2 categories and each at most once; both must exist and be ACTIVE. The line then stores
  (and answers with) all four fields.

The limits are Xero's published ones; the error texts are UNCONFIRMED (plausible wording, listed
in the docs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clio_xero_tools.sandbox.xero.common import (
    ApiError,
    Ctx,
    ElementError,
    Reply,
    batch_reply,
    envelope,
    list_reply,
    not_found,
    post_data_invalid,
    validation_exception,
)
from clio_xero_tools.sandbox.xero.formats import new_guid
from clio_xero_tools.sandbox.xero.store import TrackingCategory, TrackingOption

if TYPE_CHECKING:
    from clio_xero_tools.sandbox.xero.store import LineItem, Org

__all__ = [
    "MAX_ACTIVE_CATEGORIES",
    "MAX_ACTIVE_OPTIONS",
    "create_tracking_categories",
    "create_tracking_options",
    "delete_tracking_category",
    "delete_tracking_option",
    "get_tracking_category",
    "list_tracking_categories",
    "resolve_line_tracking",
    "update_tracking_category",
    "update_tracking_option",
]

Json = dict[str, Any]
MAX_ACTIVE_CATEGORIES = 2
MAX_ACTIVE_OPTIONS = 100
MAX_NAME = 100
_STATUSES = ("ACTIVE", "ARCHIVED")


# ---------------------------------------------------------------------------- serialisation


def option_json(o: TrackingOption) -> Json:
    return {
        "TrackingOptionID": o.option_id,
        "Name": o.name,
        "Status": o.status,
        "HasValidationErrors": False,
        "IsDeleted": o.status == "DELETED",
        "IsArchived": o.status == "ARCHIVED",
        "IsActive": o.status == "ACTIVE",
    }


def category_json(c: TrackingCategory, *, include_archived: bool = True) -> Json:
    shown = ("ACTIVE", "ARCHIVED") if include_archived else ("ACTIVE",)
    return {
        "TrackingCategoryID": c.category_id,
        "Name": c.name,
        "Status": c.status,
        "Options": [option_json(o) for o in c.options.values() if o.status in shown],
    }


# ---------------------------------------------------------------------------- helpers


def _elements(ctx: Ctx, key: str) -> list[Json]:
    """The body as a list of elements: ``{key: [...]}`` or one bare object. Member names are
    matched case-insensitively (the spec's own examples send ``name``)."""
    data = ctx.json_body()
    items = next((v for k, v in data.items() if k.lower() == key.lower()), None)
    if items is None:
        items = [data]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ApiError(post_data_invalid(f"{key} must be an array of objects"))
    return [{k[:1].upper() + k[1:]: v for k, v in item.items()} for item in items]


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ElementError(f"{what} name must be specified")  # UNCONFIRMED text
    name = value.strip()
    if len(name) > MAX_NAME:
        raise ElementError(f"{what} name must not be more than {MAX_NAME} characters long")
    return name


def _status(value: Any) -> str | None:
    if value is None:
        return None
    if value not in _STATUSES:
        raise ElementError("Status must be ACTIVE or ARCHIVED")
    return str(value)


def _category(org: Org, ref: str) -> TrackingCategory:
    c = org.tracking_categories.get(ref.lower())
    if c is None:
        raise ApiError(not_found())
    return c


def _active_categories(org: Org) -> int:
    return sum(1 for c in org.tracking_categories.values() if c.status == "ACTIVE")


def _category_limit_error() -> str:
    # UNCONFIRMED text; the limit itself is Xero's (docs/sandbox-xero.md).
    return (
        f"You have reached the maximum of {MAX_ACTIVE_CATEGORIES} active tracking categories. "
        "Archive a tracking category before adding or restoring another."
    )


def _option_limit_error(c: TrackingCategory) -> str:
    return (  # UNCONFIRMED text
        f"The tracking category {c.name} has reached the maximum of {MAX_ACTIVE_OPTIONS} active options. "
        "Archive an option before adding or restoring another."
    )


def _lines(org: Org) -> list[LineItem]:
    docs = [*org.invoices.values(), *org.credit_notes.values()]
    return [li for d in docs for li in d.lines] + [li for bt in org.bank_transactions.values() for li in bt.lines]


def _in_use(org: Org, category_id: str, option_id: str | None = None) -> bool:
    return any(
        t.get("TrackingCategoryID") == category_id and option_id in (None, t.get("TrackingOptionID"))
        for li in _lines(org)
        for t in li.tracking
    )


def _relabel(org: Org, c: TrackingCategory) -> None:
    """A renamed category or option shows its new name on every line that carries it."""
    for li in _lines(org):
        for t in li.tracking:
            if t.get("TrackingCategoryID") == c.category_id:
                t["Name"] = c.name
                option = c.options.get(str(t.get("TrackingOptionID")))
                if option is not None:
                    t["Option"] = option.name


def _one_element_reply(ctx: Ctx, key: str, el: Json, process: Any) -> Reply:
    try:
        return Reply(200, envelope(ctx, key, [process(el)]))
    except ElementError as exc:
        return validation_exception([{**el, "ValidationErrors": [{"Message": m} for m in exc.messages]}])


# ---------------------------------------------------------------------------- categories


def list_tracking_categories(ctx: Ctx) -> Reply:
    include = bool(ctx.flag("includeArchived"))
    shown = ("ACTIVE", "ARCHIVED") if include else ("ACTIVE",)
    return list_reply(
        ctx,
        "TrackingCategories",
        [c for c in ctx.org.tracking_categories.values() if c.status in shown],
        lambda c: category_json(c, include_archived=include),
        pageable=False,
    )


def get_tracking_category(ctx: Ctx, ref: str) -> Reply:
    return Reply(200, envelope(ctx, "TrackingCategories", [category_json(_category(ctx.org, ref))]))


def create_tracking_categories(ctx: Ctx) -> Reply:
    org = ctx.org

    def process(el: Json) -> Json:
        name = _name(el.get("Name"), "Tracking category")
        status = _status(el.get("Status")) or "ACTIVE"
        errors = []
        if org.tracking_category_named(name) is not None:
            errors.append(f"A tracking category with the name {name} already exists.")  # UNCONFIRMED text
        if status == "ACTIVE" and _active_categories(org) >= MAX_ACTIVE_CATEGORIES:
            errors.append(_category_limit_error())
        if errors:
            raise ElementError(*errors)
        c = TrackingCategory(new_guid(), name, status)
        org.tracking_categories[c.category_id] = c
        return category_json(c)

    return batch_reply(ctx, "TrackingCategories", _elements(ctx, "TrackingCategories"), process, error_flag=None)


def update_tracking_category(ctx: Ctx, ref: str) -> Reply:
    org = ctx.org
    c = _category(org, ref)
    el = _elements(ctx, "TrackingCategories")[0]

    def process(el: Json) -> Json:
        if c.status == "DELETED":
            raise ElementError("A deleted tracking category cannot be updated")  # UNCONFIRMED text
        name = _name(el["Name"], "Tracking category") if "Name" in el else c.name
        status = _status(el.get("Status")) or c.status
        other = org.tracking_category_named(name)
        if other is not None and other is not c:
            raise ElementError(f"A tracking category with the name {name} already exists.")
        if status == "ACTIVE" and c.status != "ACTIVE" and _active_categories(org) >= MAX_ACTIVE_CATEGORIES:
            raise ElementError(_category_limit_error())
        c.name, c.status = name, status
        _relabel(org, c)
        return category_json(c)

    return _one_element_reply(ctx, "TrackingCategories", el, process)


def delete_tracking_category(ctx: Ctx, ref: str) -> Reply:
    org = ctx.org
    c = _category(org, ref)

    def process(_el: Json) -> Json:
        if _in_use(org, c.category_id):
            raise ElementError(  # UNCONFIRMED text
                f"The tracking category {c.name} has been used on transactions and cannot be deleted. "
                "Archive it instead."
            )
        c.status = "DELETED"
        return category_json(c)

    return _one_element_reply(ctx, "TrackingCategories", category_json(c), process)


# ---------------------------------------------------------------------------- options


def _active_options(c: TrackingCategory) -> int:
    return sum(1 for o in c.options.values() if o.status == "ACTIVE")


def _check_option_name(c: TrackingCategory, name: str, own: TrackingOption | None) -> None:
    other = c.option_named(name)
    if other is not None and other is not own:
        raise ElementError(f"A tracking option with the name {name} already exists in {c.name}.")  # UNCONFIRMED


def create_tracking_options(ctx: Ctx, ref: str) -> Reply:
    c = _category(ctx.org, ref)

    def process(el: Json) -> Json:
        if c.status == "DELETED":
            raise ElementError("Options cannot be added to a deleted tracking category")  # UNCONFIRMED text
        name = _name(el.get("Name"), "Tracking option")
        status = _status(el.get("Status")) or "ACTIVE"
        _check_option_name(c, name, None)
        if status == "ACTIVE" and _active_options(c) >= MAX_ACTIVE_OPTIONS:
            raise ElementError(_option_limit_error(c))
        o = TrackingOption(new_guid(), name, status)
        c.options[o.option_id] = o
        return option_json(o)

    return batch_reply(ctx, "Options", _elements(ctx, "Options"), process, error_flag=None)


def _option(c: TrackingCategory, option_ref: str) -> TrackingOption:
    o = c.options.get(option_ref.lower())
    if o is None:
        raise ApiError(not_found())
    return o


def update_tracking_option(ctx: Ctx, ref: str, option_ref: str) -> Reply:
    c = _category(ctx.org, ref)
    o = _option(c, option_ref)
    el = _elements(ctx, "Options")[0]

    def process(el: Json) -> Json:
        if o.status == "DELETED":
            raise ElementError("A deleted tracking option cannot be updated")  # UNCONFIRMED text
        name = _name(el["Name"], "Tracking option") if "Name" in el else o.name
        status = _status(el.get("Status")) or o.status
        _check_option_name(c, name, o)
        if status == "ACTIVE" and o.status != "ACTIVE" and _active_options(c) >= MAX_ACTIVE_OPTIONS:
            raise ElementError(_option_limit_error(c))
        o.name, o.status = name, status
        _relabel(ctx.org, c)
        return option_json(o)

    return _one_element_reply(ctx, "Options", el, process)


def delete_tracking_option(ctx: Ctx, ref: str, option_ref: str) -> Reply:
    c = _category(ctx.org, ref)
    o = _option(c, option_ref)

    def process(_el: Json) -> Json:
        if _in_use(ctx.org, c.category_id, o.option_id):
            raise ElementError(  # UNCONFIRMED text
                f"The tracking option {o.name} has been used on transactions and cannot be deleted. Archive it instead."
            )
        o.status = "DELETED"
        return option_json(o)

    return _one_element_reply(ctx, "Options", option_json(o), process)


# ---------------------------------------------------------------------------- lines


def _line_tracking_one(org: Org, raw: Json) -> Json:
    cat_ref, opt_ref = raw.get("TrackingCategoryID"), raw.get("TrackingOptionID")
    c = org.tracking_categories.get(str(cat_ref).lower()) if cat_ref else None
    if c is None and not cat_ref and isinstance(raw.get("Name"), str):
        c = org.tracking_category_named(str(raw["Name"]))
    label = str(raw.get("Name") or cat_ref or "")
    if c is None or c.status != "ACTIVE":
        raise ElementError(f"The tracking category {label} does not exist or is not active.")  # UNCONFIRMED
    o = c.options.get(str(opt_ref).lower()) if opt_ref else None
    if o is None and not opt_ref and isinstance(raw.get("Option"), str):
        o = c.option_named(str(raw["Option"]))
    if o is None or o.status != "ACTIVE":
        option = raw.get("Option") or opt_ref or ""
        raise ElementError(  # UNCONFIRMED text
            f"The tracking option {option} does not exist in the tracking category {c.name} or is not active."
        )
    return {"TrackingCategoryID": c.category_id, "TrackingOptionID": o.option_id, "Name": c.name, "Option": o.name}


def resolve_line_tracking(org: Org, raw: Any) -> list[Json]:
    """A line's ``Tracking`` checked against the organisation's categories; raise ElementError."""
    if raw in (None, []):
        return []
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise ElementError("Tracking must be an array of objects")
    if len(raw) > MAX_ACTIVE_CATEGORIES:
        raise ElementError("A line item can have at most 2 tracking categories")
    errors: list[str] = []
    resolved: list[Json] = []
    for t in raw:
        try:
            resolved.append(_line_tracking_one(org, t))
        except ElementError as exc:
            errors.extend(exc.messages)
    if len({t["TrackingCategoryID"] for t in resolved}) < len(resolved):
        errors.append("A line item can use each tracking category only once")  # UNCONFIRMED text
    if errors:
        raise ElementError(*errors)
    return resolved
