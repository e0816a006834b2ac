"""``settings show|set``: a connection's knobs (in sections, see clio_xero.sync.settings), validated by
:class:`ConnectionSettings` before storing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from clio_xero.errors import InvalidSettingsError
from clio_xero.store.settings import DynamoSettingsStore
from clio_xero.sync.section import is_optional
from clio_xero.sync.settings import ConnectionSettings, describe_keys, section_model, setting_keys
from clio_xero_tools.ops.stack import OpsStack

__all__ = ["InvalidSettingsError", "apply", "describe_fields", "parse_assignments", "show"]


def parse_assignments(pairs: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidSettingsError(f"{pair!r}: write KEY=VALUE, e.g. contact_scope=all")
        values[name.strip()] = value.strip()
    return values


def describe_fields() -> dict[str, str]:
    """Each settable key and what it accepts (for error messages and `settings show`)."""
    return describe_keys()


def _bare(name: str) -> str:
    """``contacts.contact_scope`` → ``contact_scope`` when the section is the key's own."""
    section, dot, rest = name.partition(".")
    return rest if dot and setting_keys().get(rest) == section else name


def show(stack: OpsStack, connection_id: str) -> ConnectionSettings:
    return DynamoSettingsStore(stack.table_name, stack.dynamodb).get(connection_id)


def apply(stack: OpsStack, connection_id: str, pairs: Sequence[str]) -> ConnectionSettings:
    """Validate ``KEY=VALUE`` pairs over the current settings and store the result (all or nothing).

    ``KEY`` is a setting's name, bare or with its section (``contacts.contact_scope``)."""
    updates = {_bare(k): v for k, v in parse_assignments(pairs).items()}
    known = describe_fields()
    unknown = [k for k in updates if k not in known]
    if unknown:
        listed = ", ".join(f"{k} ({v})" for k, v in known.items())
        raise InvalidSettingsError(f"unknown setting(s) {', '.join(unknown)}; settings are: {listed}")
    store = DynamoSettingsStore(stack.table_name, stack.dynamodb)
    merged: dict[str, Any] = store.get(connection_id).model_dump()
    for name, value in updates.items():
        section = setting_keys()[name]
        annotation = section_model(section).model_fields[name].annotation
        merged[section][name] = None if (value == "" and is_optional(annotation)) else value
    merged["updated_at"] = stack.clock.now()
    try:
        settings = ConnectionSettings.model_validate(merged)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][-1]) if error["loc"] else "?"
            message = str(error["msg"]).removeprefix("Value error, ")
            if name in known:
                problems.append(f"{name}={updates.get(name, '')!r}: {message} (accepts {known[name]})")
            else:  # a rule across keys (e.g. tracking_source needs tracking_category)
                problems.append(message)
        raise InvalidSettingsError("; ".join(problems)) from None
    store.put(connection_id, settings)
    return settings
