"""Per-connection settings, in sections: the knobs a firm turns (validated; defaults in README).

:class:`ConnectionSettings` holds one model per section (``contacts``, ``billing``, ``trust``).
Adding a section is one line: a field on :class:`ConnectionSettings` whose type is a
:class:`SettingsSection` model. Every key is named once across all sections, so an operator may
write it bare (``contact_scope=all``, as always) or with its section (``contacts.contact_scope=all``);
:func:`setting_keys` says where each lives and :func:`describe_keys` what it accepts.

Stored by :class:`clio_xero.store.settings.DynamoSettingsStore`: one item, ``pk=CONN#<id>``,
``sk=#SETTINGS``, one map attribute per section plus
``updated_at``. Items written before sections existed hold the keys flat (``contact_scope``,
``sync_contacts``, ...); :meth:`ConnectionSettings.model_validate` reads both shapes, so nothing
needs migrating, and the next ``settings set`` writes the sectioned shape.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from clio_xero.billing.settings import BillingSettings
from clio_xero.payments.settings import PaymentSettings
from clio_xero.sync.section import SettingsSection, accepts


class ContactScope(StrEnum):
    """Which Clio contacts are sent to Xero."""

    ALL = "all"
    CLIENTS = "clients"  # Clio's "is_client": contacts that are a client on a matter
    BILLED = "billed"  # only contacts that have at least one bill


class ContactSettings(SettingsSection):
    # Law firms keep courts, opposing counsel and experts in Clio; they do not belong in the
    # books. Clients do. (Clio's own integration also sends clients only.)
    contact_scope: ContactScope = ContactScope.CLIENTS
    # Contacts created in Xero (suppliers, say) stay out of Clio unless the firm asks.
    import_xero_only_contacts: bool = False
    sync_contacts: bool = True


#: The billing section is :class:`clio_xero.billing.settings.BillingSettings` (every key in
#: docs/billing.md "Settings"); ``BillingSwitches`` is its name from before the bill plug-in.
BillingSwitches = BillingSettings


class TrustSettings(SettingsSection):
    """Reserved for the trust report's knobs. Empty on purpose: nothing trust-related is built in
    the engine, and a placeholder switch nobody reads would be a setting that does nothing. The
    section exists so stored settings and the CLI already have its place."""


class ConnectionSettings(BaseModel):
    """Defaults are what a firm gets without touching anything."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    contacts: ContactSettings = Field(default_factory=ContactSettings)
    billing: BillingSettings = Field(default_factory=BillingSettings)
    payments: PaymentSettings = Field(default_factory=PaymentSettings)
    trust: TrustSettings = Field(default_factory=TrustSettings)
    updated_at: datetime | None = None

    def __init__(self, **values: Any) -> None:
        # Declared so that type checkers accept a key outside its section, as the validator does.
        super().__init__(**values)

    @model_validator(mode="before")
    @classmethod
    def _route_flat_keys(cls, data: Any) -> Any:
        """Accept keys outside their section (stored items from before sections, ``contact_scope=``
        in code and tests) by moving each into the section that declares it."""
        if not isinstance(data, dict):
            return data
        where = setting_keys()
        out: dict[str, Any] = {}
        loose: dict[str, dict[str, Any]] = {}
        for name, value in data.items():
            if name in where:
                loose.setdefault(where[name], {})[name] = value
            else:
                out[name] = value
        for section, values in loose.items():
            given = out.get(section)
            base = given.model_dump() if isinstance(given, BaseModel) else dict(given or {})
            out[section] = {**base, **values}
        return out

    def __getattr__(self, name: str) -> Any:
        # Read a key without naming its section (``settings.contact_scope``), as before sections.
        section = setting_keys().get(name)
        if section is not None:
            return getattr(getattr(self, section), name)
        return super().__getattr__(name)  # type: ignore[misc]

    def changed(self, **values: Any) -> ConnectionSettings:
        """A validated copy with some keys changed (bare or as sections), e.g. ``changed(sync_bills=True)``."""
        current = self.model_dump()
        for name, value in values.items():
            section = setting_keys().get(name)
            if section is None:
                current[name] = value
            else:
                current[section][name] = value
        return ConnectionSettings.model_validate(current)

    def flat(self) -> dict[str, Any]:
        """Every key with its value (JSON-ready), sections flattened: what `settings show` prints."""
        out: dict[str, Any] = {}
        for section in section_names():
            out.update(getattr(self, section).model_dump(mode="json"))
        out["updated_at"] = self.updated_at.isoformat() if self.updated_at else None
        return out


def section_names() -> list[str]:
    """The sections, in declaration order."""
    return [
        name
        for name, info in ConnectionSettings.model_fields.items()
        if isinstance(info.annotation, type) and issubclass(info.annotation, SettingsSection)
    ]


def section_model(section: str) -> type[SettingsSection]:
    annotation = ConnectionSettings.model_fields[section].annotation
    if not (isinstance(annotation, type) and issubclass(annotation, SettingsSection)):
        raise KeyError(f"{section!r} is not a settings section")
    return annotation


@cache
def setting_keys() -> dict[str, str]:
    """Every settable key → its section. Keys are unique across sections (a test holds it so)."""
    return {name: section for section in section_names() for name in section_model(section).model_fields}


def describe_keys() -> dict[str, str]:
    """Each settable key and what it accepts, e.g. ``{"contact_scope": "all | clients | billed"}``."""
    return {
        name: accepts(section_model(section).model_fields[name].rebuild_annotation())
        for name, section in setting_keys().items()
    }


class SettingsStore(Protocol):
    def get(self, connection_id: str) -> ConnectionSettings: ...

    def put(self, connection_id: str, settings: ConnectionSettings) -> None: ...


class InMemorySettingsStore:
    def __init__(self) -> None:
        self.items: dict[str, ConnectionSettings] = {}

    def get(self, connection_id: str) -> ConnectionSettings:
        return self.items.get(connection_id, ConnectionSettings())

    def put(self, connection_id: str, settings: ConnectionSettings) -> None:
        self.items[connection_id] = settings
