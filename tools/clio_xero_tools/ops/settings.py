"""``settings show|set``: a connection's knobs, validated by :class:`ConnectionSettings` before storing."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

from pydantic import ValidationError

from clio_xero.sync.settings import ConnectionSettings, DynamoSettingsStore
from clio_xero_tools.ops.stack import OpsStack

READ_ONLY = frozenset({"updated_at"})


class InvalidSettingsError(ValueError):
    """What was wrong, one line per problem, in words a person can act on."""


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


def show(stack: OpsStack, connection_id: str) -> ConnectionSettings:
    return DynamoSettingsStore(stack.table_name, stack.dynamodb).get(connection_id)


def apply(stack: OpsStack, connection_id: str, pairs: Sequence[str]) -> ConnectionSettings:
    """Validate ``KEY=VALUE`` pairs over the current settings and store the result (all or nothing)."""
    updates = parse_assignments(pairs)
    known = describe_fields()
    unknown = [k for k in updates if k not in known]
    if unknown:
        listed = ", ".join(f"{k} ({v})" for k, v in known.items())
        raise InvalidSettingsError(f"unknown setting(s) {', '.join(unknown)}; settings are: {listed}")
    store = DynamoSettingsStore(stack.table_name, stack.dynamodb)
    current = store.get(connection_id).model_dump()
    merged: dict[str, Any] = {**current, **updates, "updated_at": stack.clock.now()}
    try:
        settings = ConnectionSettings.model_validate(merged)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(p) for p in error["loc"])
            problems.append(f"{name}={updates.get(name, '')!r}: {error['msg']} (accepts {known.get(name, '?')})")
        raise InvalidSettingsError("; ".join(problems)) from None
    store.put(connection_id, settings)
    return settings
