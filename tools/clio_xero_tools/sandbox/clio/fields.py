"""The ``fields`` query parameter: parse, validate against a resource, project a record.

Pure functions, shared by the REST handlers and by webhook payloads (Clio uses the same syntax
for a webhook's ``fields``). Rules from docs/facts-clio.md#fields:

* no ``fields`` → ``id`` and ``etag`` only;
* ``a,b,rel{x,y}`` selects scalars and one nesting level;
* deeper nesting (``matter{client{id}}``) or an unknown name → 400.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_SELECTION: dict[str, tuple[str, ...] | None] = {"id": None, "etag": None}
# What a nested object shows when it is selected without braces (``fields=matter``).
# UNCONFIRMED: Clio's docs do not say; id + etag mirrors the top-level default.
DEFAULT_NESTED: tuple[str, ...] = ("id", "etag")
MAX_WEBHOOK_FIELDS_LENGTH = 1000


class FieldsError(ValueError):
    """The ``fields`` value is malformed or names something the resource does not have."""


Selection = dict[str, tuple[str, ...] | None]


def parse_fields(raw: str | None) -> Selection:
    """Parse ``"id,name,matter{id,display_number}"`` into ``{"id": None, ..., "matter": ("id", ...)}``.

    Order is preserved (clients sometimes rely on it when printing). Raises :class:`FieldsError`
    for unbalanced braces, empty names or nesting deeper than one level.
    """
    if raw is None or raw.strip() == "":
        return dict(DEFAULT_SELECTION)
    out: Selection = {}
    i, n = 0, len(raw)
    while i < n:
        j = i
        while j < n and raw[j] not in ",{}":
            j += 1
        name = raw[i:j].strip()
        if not name:
            raise FieldsError(f"empty field name at position {i} in {raw!r}")
        if j < n and raw[j] == "{":
            close = raw.find("}", j)
            if close == -1:
                raise FieldsError(f"unbalanced '{{' in fields {raw!r}")
            inner = raw[j + 1 : close]
            if "{" in inner:
                raise FieldsError(f"fields may only nest one level deep: {raw[i : close + 1]!r}")
            subs = tuple(s.strip() for s in inner.split(","))
            if any(not s for s in subs):
                raise FieldsError(f"empty nested field name in {raw!r}")
            out[name] = subs
            j = close + 1
        elif j < n and raw[j] == "}":
            raise FieldsError(f"unbalanced '}}' in fields {raw!r}")
        else:
            out[name] = None
        if j < n and raw[j] != ",":
            raise FieldsError(f"expected ',' at position {j} in fields {raw!r}")
        i = j + 1
        if j < n and i == n:
            raise FieldsError(f"trailing ',' in fields {raw!r}")
    return out


@dataclass(frozen=True)
class Shape:
    """What a resource can show: plain values, value objects and links to other records."""

    scalars: frozenset[str]
    embedded: frozenset[str]  # value objects (discount, interest, parent…): sub-selectable dicts
    relations: dict[str, str]  # name -> target resource name


def validate_selection(selection: Selection, shape: Shape, nested_shape: dict[str, Shape]) -> None:
    """Raise :class:`FieldsError` unless every selected name exists on ``shape``.

    ``nested_shape`` maps a relation name to its target's shape; a nested sub-field must be one
    of the target's scalars or value objects (the spec's ``*_base`` schemas have no links, which
    is exactly why only one level of nesting exists).
    """
    for name, subs in selection.items():
        if name in shape.scalars:
            if subs is not None:
                raise FieldsError(f"{name!r} is not a nested resource and takes no sub-fields")
            continue
        if name in shape.embedded:
            continue  # sub-keys of value objects are checked at projection (unknown keys → 400)
        if name in shape.relations:
            target = nested_shape[name]
            for sub in subs or ():
                if sub not in target.scalars and sub not in target.embedded:
                    raise FieldsError(f"invalid field {name}{{{sub}}}")
            continue
        raise FieldsError(f"invalid field {name!r}")


def project(values: dict[str, object], keys: tuple[str, ...]) -> dict[str, object]:
    """Pick ``keys`` from a value object, raising for a key it does not have."""
    out: dict[str, object] = {}
    for k in keys:
        if k not in values:
            raise FieldsError(f"invalid nested field {k!r}")
        out[k] = values[k]
    return out
