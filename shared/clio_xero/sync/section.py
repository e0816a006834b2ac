"""What every settings section is (:class:`SettingsSection`) and how a key says what it accepts
(:func:`accepts`). Its own module so that a section defined next to the code that reads it
(``clio_xero.billing.settings.BillingSettings``) and the section list (``clio_xero.sync.settings``)
import it without importing each other."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, StringConstraints

__all__ = ["SettingsSection", "accepts", "is_optional"]


class SettingsSection(BaseModel):
    """One section of a connection's settings; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def is_optional(annotation: Any) -> bool:
    """May the key be unset (an empty value on the command line)?"""
    return type(None) in get_args(annotation)


def accepts(annotation: Any) -> str:
    """What a key of this type accepts, as the CLI shows it (``true | false``, ``a date YYYY-MM-DD``...)."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if is_optional(annotation) and len(args) == 1:
        return f"{accepts(args[0])} | (empty: unset)"
    if get_origin(annotation) is dict:
        return "NAME:VALUE,NAME:VALUE (or a JSON object; empty clears)"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " | ".join(str(m.value) for m in annotation)
    if annotation is bool:
        return "true | false"
    if annotation is date:
        return "a date YYYY-MM-DD"
    if get_origin(annotation) is Annotated:
        base, *meta = get_args(annotation)
        limits = [m for m in meta if isinstance(m, StringConstraints)]
        if base is str and limits:
            c = limits[0]
            if c.pattern:
                return "an upper-case Xero tax type, e.g. OUTPUT2"
            return f"text of {c.min_length or 0}..{c.max_length} characters"
    return getattr(annotation, "__name__", str(annotation))
