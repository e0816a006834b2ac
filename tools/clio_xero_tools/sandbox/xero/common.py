"""Request context and the response conventions every accounting resource shares.

* Envelope ``{"Id","Status":"OK","ProviderName","DateTimeUTC", "<Resource>": [...]}``.
* Batch writes (docs/facts-xero.md#batching): elements are processed in order and each valid one is committed;
  with ``summarizeErrors=false`` the answer is 200 with a status per element, otherwise any bad
  element turns the answer into a 400 ``ValidationException`` that lists only the failed elements
  while the good ones stay created (their IDs are not returned: the classic duplicate trap).
* GET lists: ``If-Modified-Since``, ``where``, ``order``, ``page``/``pageSize`` (≤ 1000) with a
  ``pagination`` object when paging was asked for.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from clio_xero_tools.sandbox.xero.formats import (
    ms_datetime,
    new_guid,
    parse_if_modified_since,
    parse_input_date,
    to_decimal,
)
from clio_xero_tools.sandbox.xero.where import WhereError, parse_where

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from clio_xero_tools.sandbox.xero.store import Org

__all__ = [
    "ApiError",
    "Ctx",
    "ElementError",
    "Reply",
    "batch_reply",
    "envelope",
    "list_reply",
    "not_found",
    "validation_exception",
]

T = TypeVar("T")
Json = dict[str, Any]
EventEmitter = Callable[[str, str, str, "Json | None"], None]  # (category, CREATE|UPDATE, id, data)

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


@dataclass
class Reply:
    """A response before it becomes a WSGI response (so idempotency can store it verbatim)."""

    status: int
    body: Any = None  # JSON-able, or str for text/plain, or None for no body
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return "text/plain; charset=utf-8" if isinstance(self.body, str) else "application/json; charset=utf-8"

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


class ApiError(Exception):
    """Raise anywhere in a handler to answer with ``reply``."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(f"{reply.status}")
        self.reply = reply


class ElementError(Exception):
    """One batch element is invalid; ``messages`` become its ``ValidationErrors``."""

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


@dataclass
class Ctx:
    """Everything a resource handler needs for one accounting request."""

    org: Org
    tenant_id: str
    request: Request
    now: datetime
    provider_name: str
    emit: EventEmitter
    base_url: str

    def arg(self, name: str) -> str | None:
        # Xero treats query parameter names case-insensitively (e.g. ``IDs`` / ``ids``).
        for key, value in self.request.args.items(multi=True):
            if key.lower() == name.lower():
                return str(value)
        return None

    def flag(self, name: str) -> bool | None:
        value = self.arg(name)
        return None if value is None else value.strip().lower() == "true"

    def json_body(self) -> Json:
        try:
            data = json.loads(self.request.get_data() or b"null")
        except ValueError:
            raise ApiError(post_data_invalid("The request body is not valid JSON")) from None
        if not isinstance(data, dict):
            raise ApiError(post_data_invalid("The request body must be a JSON object"))
        return data

    def elements(self, key: str) -> list[Json]:
        """The array under ``key`` (``{"Contacts":[...]}``); a bare single object is accepted too."""
        data = self.json_body()
        items = data.get(key)
        if items is None:
            if any(k[:1].isupper() and k != key for k in data) and key not in data:
                items = [data]  # Xero also accepts a single element without the wrapper
            else:
                raise ApiError(post_data_invalid(f"The request body must contain {key}"))
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ApiError(post_data_invalid(f"{key} must be an array of objects"))
        return items


def envelope(ctx: Ctx, key: str, items: list[Json], **extra: Any) -> Json:
    return {
        "Id": new_guid(),
        "Status": "OK",
        "ProviderName": ctx.provider_name,
        "DateTimeUTC": ms_datetime(ctx.now).replace("+0000", ""),
        **extra,
        key: items,
    }


def validation_exception(elements: list[Json], message: str = "A validation exception occurred") -> Reply:
    return Reply(
        400,
        {"ErrorNumber": 10, "Type": "ValidationException", "Message": message, "Elements": elements},
    )


def simple_validation_error(message: str) -> Reply:
    return validation_exception([{"ValidationErrors": [{"Message": message}]}])


def post_data_invalid(message: str) -> Reply:
    return Reply(400, {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": message})


def not_found() -> Reply:
    # Xero answers unknown resources with a plain-text 404 (docs/facts-xero.md#errors: check the status first).
    return Reply(404, "The resource you're looking for cannot be found")


ErrorFlag = Literal["HasValidationErrors", "HasErrors", None]


# Properties the Accounting spec types ``number`` on the schemas sent in batches (Invoice, CreditNote,
# LineItem, Payment, BankTransaction, Item, Allocation, BankTransfer, ...; read from the spec, none
# of them is a string elsewhere). ``SalesTaxCodeId`` is an ``integer``.
_NUMBER_FIELDS = frozenset(
    {
        "Amount", "AmountCredited", "AmountDue", "AmountPaid", "AppliedAmount", "BankAmount", "CISDeduction",
        "CISRate", "CurrencyRate", "Discount", "DiscountAmount", "DiscountRate", "LineAmount", "Quantity",
        "QuantityOnHand", "RemainingCredit", "SubTotal", "TaxAmount", "Total", "TotalCostPool", "TotalDiscount",
        "TotalTax", "UnitAmount", "UnitPrice",
    }
)  # fmt: skip
_INTEGER_FIELDS = frozenset({"SalesTaxCodeId"})


def echo_element(value: Any) -> Any:
    """A failed element as Xero echoes it: what its model parsed, so ``"UnitAmount": "100.00"`` comes
    back as the number 100.0 (Xero reads numeric strings). A value its model cannot hold (``"ten"``)
    is left out; the element's ValidationErrors say why."""
    if isinstance(value, list):
        return [echo_element(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: Json = {}
    for key, item in value.items():
        if key in _NUMBER_FIELDS | _INTEGER_FIELDS and item is not None and not isinstance(item, int | float):
            try:
                number = to_decimal(item)
            except ValueError:
                continue
            if key in _INTEGER_FIELDS:
                if number != number.to_integral_value():
                    continue
                out[key] = int(number)
            else:
                out[key] = float(number)
        else:
            out[key] = echo_element(item)
    return out


def batch_reply(
    ctx: Ctx,
    key: str,
    elements: Sequence[Json],
    process: Callable[[Json], Json],
    *,
    error_flag: ErrorFlag,
) -> Reply:
    """Run ``process`` per element (it commits and returns the serialised record, or raises
    :class:`ElementError`) and shape the answer the way Xero does."""
    summarize = ctx.flag("summarizeErrors") is not False
    results: list[Json] = []
    failed: list[Json] = []
    for element in elements:
        try:
            out = dict(process(element))
            out["StatusAttributeString"] = "OK"
            if error_flag:
                out[error_flag] = False
            results.append(out)
        except ElementError as exc:
            echo = echo_element(element)
            echo["StatusAttributeString"] = "ERROR"
            echo["ValidationErrors"] = [{"Message": m} for m in exc.messages]
            if error_flag:
                echo[error_flag] = True
            results.append(echo)
            failed.append(echo)
    if failed and summarize:
        return validation_exception(failed)
    return Reply(200, envelope(ctx, key, results))


# ---------------------------------------------------------------------------- GET lists


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (1, "")
    if isinstance(value, str) and value.startswith("/Date("):
        return (0, int(value[6:].split("+")[0].split(")")[0]))
    if isinstance(value, str):
        return (0, value.casefold())
    return (0, value)


def _row_key(fld: str) -> Callable[[Json], tuple[int, Any]]:
    return lambda row: _sort_key(row.get(fld))


def apply_order(rows: list[Json], order: str | None) -> list[Json]:
    if not order:
        return rows
    for clause in reversed([c.strip() for c in order.split(",") if c.strip()]):
        parts = clause.split()
        fld = parts[0]
        desc = len(parts) > 1 and parts[1].upper() == "DESC"
        rows = sorted(rows, key=_row_key(fld), reverse=desc)
    return rows


def page_args(ctx: Ctx) -> tuple[int | None, int]:
    page_text, size_text = ctx.arg("page"), ctx.arg("pageSize")
    try:
        page = int(page_text) if page_text is not None else None
        size = int(size_text) if size_text is not None else DEFAULT_PAGE_SIZE
    except ValueError:
        raise ApiError(simple_validation_error("page and pageSize must be integers")) from None
    # UNCONFIRMED: Xero's answer to pageSize > 1000. We reject rather than clamp so clients that
    # would silently lose rows against the real API fail loudly here.
    if size < 1 or size > MAX_PAGE_SIZE:
        raise ApiError(simple_validation_error(f"pageSize must be between 1 and {MAX_PAGE_SIZE}"))
    if page is not None and page < 1:
        page = 1
    return page, size


def modified_since(ctx: Ctx) -> datetime | None:
    header = ctx.request.headers.get("If-Modified-Since")
    if not header:
        return None
    try:
        return parse_if_modified_since(header)
    except ValueError:
        raise ApiError(simple_validation_error(f"Invalid If-Modified-Since header: {header}")) from None


def ids_arg(ctx: Ctx, name: str = "IDs") -> set[str] | None:
    raw = ctx.arg(name)
    if raw is None:
        return None
    return {p.strip().strip('"').lower() for p in raw.split(",") if p.strip()}


def list_reply(
    ctx: Ctx,
    key: str,
    records: Iterable[T],
    serialize: Callable[[T], Json],
    *,
    updated: Callable[[T], datetime] | None = None,
    pageable: bool = True,
    unpaged_limit: int | None = None,
    strip_unpaged: Sequence[str] = (),
    prefilter: Callable[[T], bool] | None = None,
) -> Reply:
    since = modified_since(ctx) if updated is not None else None
    picked = [
        r
        for r in records
        if (since is None or (updated is not None and updated(r) >= since)) and (prefilter is None or prefilter(r))
    ]
    rows = [serialize(r) for r in picked]
    where = ctx.arg("where")
    if where:
        try:
            pred = parse_where(where)
        except WhereError as exc:
            raise ApiError(simple_validation_error(str(exc))) from None
        rows = [r for r in rows if pred(r)]
    rows = apply_order(rows, ctx.arg("order"))
    extra: dict[str, Any] = {}
    page, size = page_args(ctx) if pageable else (None, DEFAULT_PAGE_SIZE)
    if page is not None:
        total = len(rows)
        extra["pagination"] = {
            "page": page,
            "pageSize": size,
            "pageCount": (total + size - 1) // size,
            "itemCount": total,
        }
        rows = rows[(page - 1) * size : page * size]
    elif unpaged_limit is not None:
        # Unpaged Invoices/CreditNotes list calls return the first 100 without line items (§5, §9.8).
        rows = [{k: v for k, v in r.items() if k not in strip_unpaged} for r in rows[:unpaged_limit]]
    return Reply(200, envelope(ctx, key, rows, **extra))


def obj(element: Json, key: str) -> Json:
    """``element[key]`` when it is an object, else ``{}`` (references such as ``{"InvoiceID": ...}``)."""
    value = element.get(key)
    return value if isinstance(value, dict) else {}


def optional_date(value: Any, name: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return parse_input_date(value)
    except ValueError:
        raise ElementError(f"{name} is not a valid date") from None


def text(value: Any, name: str, max_len: int | None = None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ElementError(f"{name} must be a string")
    if max_len is not None and len(value) > max_len:
        raise ElementError(f"{name} must not be more than {max_len} characters long")
    return value
