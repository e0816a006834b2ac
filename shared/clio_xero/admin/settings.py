"""``settings show|set`` and the console's Settings page: a connection's knobs (in sections, see
clio_xero.sync.settings), validated by :class:`ConnectionSettings` before storing. One path for
both: :func:`updated_settings`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from clio_xero.admin.stack import OpsStack
from clio_xero.errors import InvalidSettingsError
from clio_xero.store.settings import DynamoSettingsStore
from clio_xero.sync.section import is_optional
from clio_xero.sync.settings import ConnectionSettings, describe_keys, section_model, setting_keys

__all__ = [
    "InvalidSettingsError",
    "apply",
    "describe_fields",
    "parse_assignments",
    "show",
    "updated_settings",
]


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


def updated_settings(current: ConnectionSettings, updates: Mapping[str, Any], now: datetime) -> ConnectionSettings:
    """``current`` with ``updates`` applied and validated, all or nothing (pure).

    Keys are settings' names, bare or with their section (``contacts.contact_scope``); values are
    what a person typed (``"true"``, ``"all"``, ``"2026-01-01"``). Raises :class:`InvalidSettingsError`
    naming every bad key with what it accepts."""
    updates = {_bare(k): v for k, v in updates.items()}
    known = describe_fields()
    unknown = [k for k in updates if k not in known]
    if unknown:
        listed = ", ".join(f"{k} ({v})" for k, v in known.items())
        raise InvalidSettingsError(
            f"unknown setting(s) {', '.join(unknown)}; settings are: {listed}", dict.fromkeys(unknown, "not a setting")
        )
    merged: dict[str, Any] = current.model_dump()
    for name, value in updates.items():
        section = setting_keys()[name]
        annotation = section_model(section).model_fields[name].annotation
        merged[section][name] = None if (value == "" and is_optional(annotation)) else value
    merged["updated_at"] = now
    try:
        return ConnectionSettings.model_validate(merged)
    except ValidationError as exc:
        problems: dict[str, str] = {}
        lines = []
        for error in exc.errors():
            loc = [str(p) for p in error["loc"]]
            # A key's own error ends with its name; a rule across a section's keys ends with the section.
            name = loc[-1] if loc and loc[-1] in known else (loc[0] if loc else "")
            message = str(error["msg"]).removeprefix("Value error, ")
            accepts = known.get(name)
            problems[name] = f"{message} (accepts {accepts})" if accepts else message
            lines.append(f"{name}={updates.get(name, '')!r}: {problems[name]}" if name in known else message)
        raise InvalidSettingsError("; ".join(lines), problems) from None


def show(stack: OpsStack, connection_id: str) -> ConnectionSettings:
    return DynamoSettingsStore(stack.table_name, stack.dynamodb).get(connection_id)


def apply(stack: OpsStack, connection_id: str, pairs: Sequence[str]) -> ConnectionSettings:
    """Validate ``KEY=VALUE`` pairs over the current settings and store the result (all or nothing)."""
    store = DynamoSettingsStore(stack.table_name, stack.dynamodb)
    settings = updated_settings(store.get(connection_id), parse_assignments(pairs), stack.clock.now())
    store.put(connection_id, settings)
    return settings
