"""``settings show|set`` and the console's Settings page: a connection's knobs, validated by
:class:`ConnectionSettings` before storing. One path for both: :func:`updated_settings`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import ValidationError

from clio_xero.admin.stack import OpsStack
from clio_xero.sync.settings import ConnectionSettings, DynamoSettingsStore

READ_ONLY = frozenset({"updated_at"})


class InvalidSettingsError(ValueError):
    """What was wrong, one line per problem, in words a person can act on; ``problems`` keys them
    by setting name ("" for a rule across several keys), for a form to show next to each field."""

    def __init__(self, message: str, problems: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.problems = dict(problems or {})


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
    out: dict[str, str] = {}
    for name, info in ConnectionSettings.model_fields.items():
        if name in READ_ONLY:
            continue
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            out[name] = " | ".join(str(m.value) for m in annotation)
        elif annotation is bool:
            out[name] = "true | false"
        else:
            out[name] = getattr(annotation, "__name__", str(annotation))
    return out


def updated_settings(current: ConnectionSettings, updates: Mapping[str, Any], now: datetime) -> ConnectionSettings:
    """``current`` with ``updates`` applied and validated, all or nothing (pure).

    Values are what a person typed (``"true"``, ``"all"``, ``"2026-01-01"``); raises
    :class:`InvalidSettingsError` naming every bad key with what it accepts."""
    known = describe_fields()
    unknown = [k for k in updates if k not in known]
    if unknown:
        listed = ", ".join(f"{k} ({v})" for k, v in known.items())
        raise InvalidSettingsError(
            f"unknown setting(s) {', '.join(unknown)}; settings are: {listed}",
            dict.fromkeys(unknown, "not a setting"),
        )
    merged: dict[str, Any] = {**current.model_dump(), **updates, "updated_at": now}
    try:
        return ConnectionSettings.model_validate(merged)
    except ValidationError as exc:
        problems: dict[str, str] = {}
        lines = []
        for error in exc.errors():
            name = str(error["loc"][-1]) if error["loc"] else ""
            message = str(error["msg"]).removeprefix("Value error, ")
            accepts = known.get(name)
            problems[name] = f"{message} (accepts {accepts})" if accepts else message
            lines.append(f"{name}={updates.get(name, '')!r}: {problems[name]}" if name else message)
        raise InvalidSettingsError("; ".join(lines), problems) from None


def show(stack: OpsStack, connection_id: str) -> ConnectionSettings:
    return DynamoSettingsStore(stack.table_name, stack.dynamodb).get(connection_id)


def apply(stack: OpsStack, connection_id: str, pairs: Sequence[str]) -> ConnectionSettings:
    """Validate ``KEY=VALUE`` pairs over the current settings and store the result (all or nothing)."""
    store = DynamoSettingsStore(stack.table_name, stack.dynamodb)
    settings = updated_settings(store.get(connection_id), parse_assignments(pairs), stack.clock.now())
    store.put(connection_id, settings)
    return settings
