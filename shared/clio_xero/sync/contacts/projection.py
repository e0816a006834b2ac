"""The shared projection of a contact: the fields both Clio and Xero can hold, normalised.

Everything the contact sync compares, hashes and writes goes through :class:`SharedContact`.
Both directions are pure functions, and they round-trip::

    from_xero(to_xero_payload(p)) == p      from_clio(apply_to_clio(p, record)) == p

which is what makes echo suppression exact: our own write, read back from the other side,
projects to the same value, so it is recognised and not written again. Xero's field limits are
applied *inside* the projection (a 300-character Clio name projects to 255 characters on both
sides), so a value Xero must shorten does not look like a change forever after.
What each side holds that the other cannot is listed in docs/mapping-contacts.md.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

# Xero field limits (docs/facts-xero.md#contact).
NAME_MAX = 255
EMAIL_MAX = 255
PHONE_MAX = 50
TAX_MAX = 50
LINE_MAX = 500
CITY_MAX = 255
POSTAL_MAX = 50
COUNTRY_MAX = 50
CONTACT_NUMBER_PREFIX = "CLIO-"
# Appended to a Xero Name when another active Xero contact already has that name.
_DISAMBIGUATION = re.compile(r" \[C-(\d+)\]$")

# Clio phone names (spec enum Work|Personal|Other) <-> Xero phone types.
PHONE_TYPES = {"work": "DEFAULT", "personal": "MOBILE", "other": "DDI"}


def _text(value: object, limit: int) -> str:
    return " ".join(str(value or "").split())[:limit]


class Address(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    lines: tuple[str, ...] = ()
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""

    @classmethod
    def of(cls, lines: list[str], city: object, region: object, postal: object, country: object) -> Address | None:
        address = cls(
            lines=tuple(line for line in (_text(x, LINE_MAX) for x in lines) if line)[:4],
            city=_text(city, CITY_MAX),
            region=_text(region, CITY_MAX),
            postal_code=_text(postal, POSTAL_MAX),
            country=_text(country, COUNTRY_MAX),
        )
        return address if any(address.model_dump().values()) else None


class SharedContact(BaseModel):
    """What both systems agree on for one contact. Empty string = "not set"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["person", "company"]
    name: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone_work: str = ""
    phone_personal: str = ""
    phone_other: str = ""
    billing_address: Address | None = None
    work_address: Address | None = None
    tax_number: str = ""

    def digest(self) -> str:
        """Stable hash of the projection (what the mapping stores as "last synced")."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def changed_fields(self, other: SharedContact) -> set[str]:
        mine, theirs = self.model_dump(), other.model_dump()
        return {k for k in mine if mine[k] != theirs[k]}


def contact_number(clio_id: int | str) -> str:
    """Our stable key for a Clio contact, kept in Xero's ContactNumber (unique, even archived)."""
    return f"{CONTACT_NUMBER_PREFIX}{clio_id}"


def clio_id_from_contact_number(number: str | None) -> str | None:
    if number and number.startswith(CONTACT_NUMBER_PREFIX) and number[len(CONTACT_NUMBER_PREFIX) :].isdigit():
        return number[len(CONTACT_NUMBER_PREFIX) :]
    return None


def disambiguated_name(name: str, clio_id: int | str) -> str:
    """``"John Smith [C-42]"``: used when another active Xero contact already holds ``name``."""
    suffix = f" [C-{clio_id}]"
    return name[: NAME_MAX - len(suffix)] + suffix


def strip_disambiguation(name: str) -> str:
    return _DISAMBIGUATION.sub("", name)


# ----------------------------------------------------------------------------- Clio
def _clio_name(record: dict[str, Any]) -> tuple[Literal["person", "company"], str, str, str]:
    if record.get("type") == "Company":
        return "company", _text(record.get("name"), NAME_MAX), "", ""
    first, last = _text(record.get("first_name"), NAME_MAX), _text(record.get("last_name"), NAME_MAX)
    name = _text(record.get("name") or f"{first} {last}", NAME_MAX)
    return "person", name, first, last


def _pick(items: list[dict[str, Any]], name: str | None) -> dict[str, Any] | None:
    """The primary item with ``name`` (or any name when None), else the first one."""
    matching = [i for i in items if name is None or str(i.get("name", "")).lower() == name]
    return next((i for i in matching if i.get("primary")), matching[0] if matching else None)


def _clio_address(item: dict[str, Any] | None) -> Address | None:
    if not item:
        return None
    lines = str(item.get("street") or "").splitlines()
    return Address.of(lines, item.get("city"), item.get("province"), item.get("postal_code"), item.get("country"))


def billing_address_item(record: dict[str, Any]) -> dict[str, Any] | None:
    """The Clio address that plays Xero's POBOX (postal/billing): Billing, else the primary one."""
    addresses = record.get("addresses") or []
    return _pick(addresses, "billing") or next((a for a in addresses if a.get("primary")), None)


def work_address_item(record: dict[str, Any]) -> dict[str, Any] | None:
    """The Clio address that plays Xero's STREET: the Work address, unless it is the billing one."""
    work = _pick(record.get("addresses") or [], "work")
    billing = billing_address_item(record)
    return None if work is None or (billing is not None and work.get("id") == billing.get("id")) else work


def from_clio(record: dict[str, Any]) -> SharedContact:
    kind, name, first, last = _clio_name(record)
    emails = record.get("email_addresses") or []
    email = _pick(emails, None)
    phones = record.get("phone_numbers") or []
    phone = {key: _pick(phones, key) for key in PHONE_TYPES}
    return SharedContact(
        kind=kind,
        name=name,
        first_name=first,
        last_name=last,
        email=_text(email.get("address") if email else "", EMAIL_MAX),
        phone_work=_text(phone["work"].get("number") if phone["work"] else "", PHONE_MAX),
        phone_personal=_text(phone["personal"].get("number") if phone["personal"] else "", PHONE_MAX),
        phone_other=_text(phone["other"].get("number") if phone["other"] else "", PHONE_MAX),
        billing_address=_clio_address(billing_address_item(record)),
        work_address=_clio_address(work_address_item(record)),
        tax_number=_text(record.get("sales_tax_number"), TAX_MAX),
    )


def _street(address: Address) -> str:
    return "\n".join(address.lines)


def _address_fields(address: Address) -> dict[str, Any]:
    return {
        "street": _street(address),
        "city": address.city,
        "province": address.region,
        "postal_code": address.postal_code,
        "country": address.country,
    }


def _nested_change(
    current: dict[str, Any] | None, wanted: dict[str, Any] | None, new_item: dict[str, Any]
) -> dict[str, Any] | None:
    """One nested write: update ``current`` to ``wanted``, create, or destroy (Clio ``_destroy``)."""
    if wanted is None:
        return {"id": current["id"], "_destroy": True} if current else None
    if current is None:
        return {**new_item, **wanted}
    if all(str(current.get(k) or "") == str(v or "") for k, v in wanted.items()):
        return None
    return {"id": current["id"], **wanted}


def to_clio_patch(target: SharedContact, record: dict[str, Any] | None) -> dict[str, Any]:
    """The Clio create/PATCH body that makes ``record`` project to ``target``.

    Only shared fields are touched: Clio-only data (secondary emails, other addresses, custom
    fields) is left as it is. Nested items are updated in place by id where one exists.
    """
    record = record or {}
    body: dict[str, Any] = {}
    if target.kind == "company":
        body.update(type="Company", name=target.name)
    else:
        first, last = target.first_name, target.last_name
        if not (first or last):  # a Person needs first or last name: split the display name
            first, _, last = target.name.rpartition(" ")
            first, last = (first, last) if first else ("", last)
        body.update(type="Person", first_name=first, last_name=last)
    body["sales_tax_number"] = target.tax_number
    emails = record.get("email_addresses") or []
    change = _nested_change(
        _pick(emails, None),
        {"address": target.email} if target.email else None,
        {"name": "Work", "primary": True},
    )
    if change:
        body["email_addresses"] = [change]
    phones = record.get("phone_numbers") or []
    phone_changes = []
    for key in PHONE_TYPES:
        number = getattr(target, f"phone_{key}")
        change = _nested_change(
            _pick(phones, key),
            {"number": number} if number else None,
            {"name": key.capitalize(), "primary": key == "work"},
        )
        if change:
            phone_changes.append(change)
    if phone_changes:
        body["phone_numbers"] = phone_changes
    address_changes = []
    for current, wanted, name in (
        (billing_address_item(record), target.billing_address, "Billing"),
        (work_address_item(record), target.work_address, "Work"),
    ):
        change = _nested_change(current, _address_fields(wanted) if wanted else None, {"name": name, "primary": False})
        if change:
            address_changes.append(change)
    if address_changes:
        body["addresses"] = address_changes
    return body


# ----------------------------------------------------------------------------- Xero
def _xero_phone(phones: list[dict[str, Any]], phone_type: str) -> str:
    for phone in phones:
        if phone.get("PhoneType") == phone_type:
            parts = (phone.get("PhoneCountryCode"), phone.get("PhoneAreaCode"), phone.get("PhoneNumber"))
            return _text(" ".join(str(p) for p in parts if p), PHONE_MAX)
    return ""


def _xero_address(addresses: list[dict[str, Any]], address_type: str) -> Address | None:
    for a in addresses:
        if a.get("AddressType") == address_type:
            lines = [a.get(f"AddressLine{i}") or "" for i in range(1, 5)]
            return Address.of(lines, a.get("City"), a.get("Region"), a.get("PostalCode"), a.get("Country"))
    return None


def from_xero(contact: dict[str, Any]) -> SharedContact:
    first, last = _text(contact.get("FirstName"), NAME_MAX), _text(contact.get("LastName"), NAME_MAX)
    name = _text(strip_disambiguation(str(contact.get("Name") or "")), NAME_MAX)
    phones = contact.get("Phones") or []
    addresses = contact.get("Addresses") or []
    return SharedContact(
        # Xero has no person/company flag: a contact with a first or last name is a person.
        kind="person" if first or last else "company",
        name=name,
        first_name=first,
        last_name=last,
        email=_text(contact.get("EmailAddress"), EMAIL_MAX),
        phone_work=_xero_phone(phones, "DEFAULT"),
        phone_personal=_xero_phone(phones, "MOBILE"),
        phone_other=_xero_phone(phones, "DDI"),
        billing_address=_xero_address(addresses, "POBOX"),
        work_address=_xero_address(addresses, "STREET"),
        tax_number=_text(contact.get("TaxNumber"), TAX_MAX),
    )


def _xero_address_payload(address_type: str, address: Address | None) -> dict[str, Any]:
    # Sending every field (blank when unset) clears what we no longer hold.
    lines = list(address.lines) if address else []
    payload: dict[str, Any] = {"AddressType": address_type}
    for i in range(4):
        payload[f"AddressLine{i + 1}"] = lines[i] if i < len(lines) else ""
    payload.update(
        City=address.city if address else "",
        Region=address.region if address else "",
        PostalCode=address.postal_code if address else "",
        Country=address.country if address else "",
    )
    return payload


def to_xero_payload(
    contact: SharedContact, *, clio_id: int | str, xero_id: str | None = None, name: str | None = None
) -> dict[str, Any]:
    """The Xero Contact element for ``contact``. ``name`` overrides the Name (disambiguation)."""
    payload: dict[str, Any] = {
        "ContactNumber": contact_number(clio_id),
        "Name": name or contact.name,
        "FirstName": contact.first_name,
        "LastName": contact.last_name,
        "EmailAddress": contact.email,
        "TaxNumber": contact.tax_number,
        "Phones": [
            {"PhoneType": xero_type, "PhoneNumber": getattr(contact, f"phone_{key}")}
            for key, xero_type in PHONE_TYPES.items()
        ],
        "Addresses": [
            _xero_address_payload("POBOX", contact.billing_address),
            _xero_address_payload("STREET", contact.work_address),
        ],
    }
    if xero_id:
        payload["ContactID"] = xero_id
    return payload
