"""Settings forms generated from the settings' pydantic models, read back into the same validation.

Nothing here knows a particular setting: a section (a field whose type is a pydantic model)
becomes a ``<fieldset>``, and each key becomes an input by its type: ``bool`` a checkbox, an
``Enum`` a select, a ``date`` a date input, a ``dict`` a table of name → value rows, anything else
a text input. A key whose name ends in ``account_code`` or ``category_codes`` is an account
code: it becomes a select of the organisation's accounts that fit (read live from Xero) when the
chart could be read, a text input otherwise. So a section added to the settings appears on the
page without page code changes.

:func:`read_form` turns a submitted form into ``{key: value}`` updates (strings, as ``clio-xero
settings set`` receives them; dicts for the name → value tables), which go through the same
:func:`clio_xero.admin.settings.updated_settings` as the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

from clio_xero.billing.xero_models import REVENUE_TYPES, XeroAccount

READ_ONLY = frozenset({"updated_at"})
EMPTY_ROWS = 2  # blank name → value rows offered for new entries in a mapping table
MAX_ROWS = 200  # a mapping table never grows past this from one form post

SHOWN_CHECKBOXES = "checkboxes"  # hidden fields naming each checkbox the form showed

Kind = Literal["checkbox", "select", "date", "text", "mapping"]


def is_account_key(name: str) -> bool:
    return name.endswith(("account_code", "category_codes"))


def fits(name: str, account: XeroAccount) -> bool:
    """Whether ``account`` may be offered for setting ``name``: active, and of the kind the billing
    preflight accepts there (docs/billing.md "Preflight"): the firm's bank for the spend-money bank
    account, an expense for the cost it books, a revenue account for every invoice line."""
    if not account.Code or (account.Status or "ACTIVE") != "ACTIVE":
        return False
    if "bank_account" in name or "payment_account" in name:  # money arrives in (or leaves) a bank account
        return account.Type == "BANK"
    if name.startswith("spend_money"):
        return account.Class == "EXPENSE"
    return (account.Type or "") in REVENUE_TYPES or account.Class == "REVENUE"


def account_choices(name: str, accounts: Sequence[XeroAccount]) -> list[tuple[str, str]]:
    """(code, "code — name") of the accounts that fit ``name``, by code."""
    fitting = sorted((a for a in accounts if fits(name, a)), key=lambda a: a.Code or "")
    return [(a.Code or "", f"{a.Code} — {a.Name or ''}") for a in fitting]


@dataclass
class FormField:
    name: str  # the settings key (unique across sections), also the input's name
    label: str
    kind: Kind
    value: str = ""
    checked: bool = False
    choices: list[tuple[str, str]] = field(default_factory=list)  # (value, label)
    rows: list[tuple[str, str]] = field(default_factory=list)  # mapping rows (name, value)
    accepts: str = ""
    error: str | None = None
    optional: bool = False


@dataclass
class FormSection:
    name: str
    title: str
    fields: list[FormField]
    error: str | None = None  # a rule across keys of the section (e.g. "x=true needs y")


_PROPER = {"xero": "Xero", "clio": "Clio"}


def humanise(name: str) -> str:
    words = [_PROPER.get(w, w) for w in name.replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    args = get_args(annotation)
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0], True
    return annotation, False


def _base(annotation: Any) -> Any:
    """``Annotated[str, ...]`` → ``str``."""
    args = get_args(annotation)
    if args and getattr(annotation, "__metadata__", None) is not None:
        return args[0]
    return annotation


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _field(
    name: str,
    annotation: Any,
    value: Any,
    *,
    accounts: Sequence[XeroAccount] | None,
    accepts: Mapping[str, str],
    submitted: Mapping[str, Any] | None,
) -> FormField:
    inner, optional = _unwrap(annotation)
    inner = _base(inner)
    shown = submitted[name] if submitted is not None and name in submitted else value
    out = FormField(name=name, label=humanise(name), kind="text", accepts=accepts.get(name, ""), optional=optional)
    if inner is bool:
        out.kind = "checkbox"
        out.checked = shown in (True, "true")
        return out
    if get_origin(inner) is dict:
        out.kind = "mapping"
        rows = dict(shown or {}) if isinstance(shown, Mapping) else {}
        out.rows = [(str(k), _text(v)) for k, v in rows.items()] + [("", "")] * EMPTY_ROWS
        if accounts is not None and is_account_key(name):
            out.choices = account_choices(name, accounts)
        return out
    out.value = _text(shown)
    if isinstance(inner, type) and issubclass(inner, Enum):
        out.kind = "select"
        out.choices = [(str(m.value), humanise(str(m.value))) for m in inner]
    elif inner is date:
        out.kind = "date"
    elif accounts is not None and is_account_key(name):
        out.kind = "select"
        out.choices = account_choices(name, accounts)
        if out.value and out.value not in {c for c, _ in out.choices}:
            # A code that does not fit (archived, wrong type, gone) stays visible, marked, so that
            # saving the page unchanged never rewrites it silently.
            out.choices.insert(0, (out.value, f"{out.value} — not an active account of the right type"))
    if optional and out.kind == "select":
        out.choices.insert(0, ("", "(not set)"))
    return out


def build_sections(
    settings: BaseModel,
    *,
    accounts: Sequence[XeroAccount] | None = None,
    accepts: Mapping[str, str] | None = None,
    submitted: Mapping[str, Any] | None = None,
    problems: Mapping[str, str] | None = None,
) -> list[FormSection]:
    """The form for ``settings``: one section per nested model (or one for a flat model).

    ``submitted`` (what was posted) is shown instead of the stored value after a refused save,
    with ``problems`` (key → sentence) next to each field."""
    accepts = accepts or {}
    problems = problems or {}
    sections: list[FormSection] = []
    loose: list[FormField] = []
    for name, info in type(settings).model_fields.items():
        if name in READ_ONLY:
            continue
        value = getattr(settings, name)
        if isinstance(value, BaseModel):
            fields = [
                _field(
                    key, sub.annotation, getattr(value, key), accounts=accounts, accepts=accepts, submitted=submitted
                )
                for key, sub in type(value).model_fields.items()
                if key not in READ_ONLY
            ]
            if fields:
                sections.append(FormSection(name=name, title=humanise(name), fields=fields, error=problems.get(name)))
        else:
            loose.append(_field(name, info.annotation, value, accounts=accounts, accepts=accepts, submitted=submitted))
    if loose:
        sections.insert(0, FormSection(name="settings", title="Settings", fields=loose, error=problems.get("")))
    for section in sections:
        for f in section.fields:
            f.error = problems.get(f.name)
    return sections


def read_form(sections: Sequence[FormSection], form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The updates a submitted form asks for, keyed by setting name.

    A checkbox that is absent was unticked ("false") when the form listed it as shown; a mapping
    table becomes a dict of its non-empty rows (a row with a name and no value is kept, so
    validation can say what is missing)."""
    updates: dict[str, Any] = {}
    shown = set(form.get(SHOWN_CHECKBOXES, []))
    for section in sections:
        for f in section.fields:
            if f.kind == "checkbox":
                # An unticked box sends nothing: it counts as "false" only if the form showed it.
                if form.get(f.name):
                    updates[f.name] = "true"
                elif f.name in shown:
                    updates[f.name] = "false"
            elif f.kind == "mapping":
                names = list(form.get(f"{f.name}.name", []))[:MAX_ROWS]
                values = list(form.get(f"{f.name}.value", []))[:MAX_ROWS]
                rows: dict[str, str] = {}
                for row_name, row_value in zip(names, values, strict=False):
                    if row_name.strip() or row_value.strip():
                        rows[row_name.strip()] = row_value.strip()
                updates[f.name] = rows
            elif f.name in form:
                updates[f.name] = (list(form[f.name]) or [""])[0].strip()
    return updates
