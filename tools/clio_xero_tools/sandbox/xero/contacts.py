"""``/Contacts``: the uniqueness rules that bite (docs/facts-xero.md#contact).

* ``Name`` is unique among ACTIVE contacts; an archived contact's name can be reused.
* ``ContactNumber`` is unique across all contacts, archived ones included.
* ``IsCustomer``/``IsSupplier`` are read-only (set by invoices); ``MergedToContactID`` is set only by
  a merge in the web app (admin surface).

UNCONFIRMED: both uniqueness checks compare case-insensitively after trimming and collapsing
spaces (Xero's error texts do not say; its store collates case-insensitively).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clio_xero_tools.sandbox.xero.common import (
    ApiError,
    Ctx,
    ElementError,
    Reply,
    batch_reply,
    envelope,
    ids_arg,
    list_reply,
    not_found,
    text,
)
from clio_xero_tools.sandbox.xero.formats import is_guid, ms_datetime, new_guid
from clio_xero_tools.sandbox.xero.store import Contact

if TYPE_CHECKING:
    from datetime import datetime

    from clio_xero_tools.sandbox.xero.store import Org

__all__ = ["contact_json", "get_contact", "list_contacts", "name_key", "resolve_contact_ref", "write_contacts"]

Json = dict[str, Any]
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_SIMPLE_FIELDS = {
    # JSON name: (attribute, max length)
    "ContactNumber": ("contact_number", 50),
    "AccountNumber": ("account_number", 50),
    "FirstName": ("first_name", 255),
    "LastName": ("last_name", 255),
    "CompanyNumber": ("company_number", 50),
    "TaxNumber": ("tax_number", 50),
    "DefaultCurrency": ("default_currency", 3),
    "AccountsReceivableTaxType": ("ar_tax_type", None),
    "AccountsPayableTaxType": ("ap_tax_type", None),
    "BankAccountDetails": ("bank_account_details", None),
}
_ADDRESS_TYPES = {"POBOX", "STREET"}
_PHONE_TYPES = {"DEFAULT", "DDI", "MOBILE", "FAX", "OFFICE"}


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def contact_json(c: Contact, *, full: bool = True) -> Json:
    out: Json = {"ContactID": c.contact_id}
    if c.merged_to and full:
        # Spec: "Only returned when using paging or when fetching a contact by ContactId or ContactNumber".
        out["MergedToContactID"] = c.merged_to
    if c.contact_number is not None:
        out["ContactNumber"] = c.contact_number
    if c.account_number is not None:
        out["AccountNumber"] = c.account_number
    out["ContactStatus"] = c.status
    out["Name"] = c.name
    for key, attr in (
        ("FirstName", c.first_name),
        ("LastName", c.last_name),
        ("CompanyNumber", c.company_number),
        ("EmailAddress", c.email),
        ("BankAccountDetails", c.bank_account_details),
        ("TaxNumber", c.tax_number),
        ("AccountsReceivableTaxType", c.ar_tax_type),
        ("AccountsPayableTaxType", c.ap_tax_type),
        ("DefaultCurrency", c.default_currency),
    ):
        if attr is not None:
            out[key] = attr
    out["Addresses"] = [dict(a) for a in c.addresses]
    out["Phones"] = [dict(p) for p in c.phones]
    out["UpdatedDateUTC"] = ms_datetime(c.updated)
    out["ContactGroups"] = []
    out["IsSupplier"] = c.is_supplier
    out["IsCustomer"] = c.is_customer
    if full:
        out["SalesDefaultLineAmountType"] = "EXCLUSIVE"
        out["PurchasesDefaultLineAmountType"] = "EXCLUSIVE"
    out["ContactPersons"] = [dict(p) for p in c.persons]
    out["HasAttachments"] = False
    out["HasValidationErrors"] = False
    return out


def _check_email(value: Any, name: str) -> str | None:
    email = text(value, name, 255)
    if email and (not email.isascii() or not _EMAIL.match(email)):
        raise ElementError("Email address must be valid.")
    return email


def _sub_objects(value: Any, name: str, kind_key: str, kinds: set[str]) -> list[Json]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ElementError(f"{name} must be an array")
    out = []
    for v in value:
        kind = v.get(kind_key)
        if kind is not None and kind not in kinds:
            raise ElementError(f"{kind_key} '{kind}' is not valid")
        out.append({k: x for k, x in v.items() if k != "ValidationErrors"})
    return out


def _persons(value: Any) -> list[Json]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ElementError("ContactPersons must be an array")
    if len(value) > 5:
        raise ElementError("A contact can have a maximum of 5 contact persons")  # docs/facts-xero.md#contact
    for p in value:
        _check_email(p.get("EmailAddress"), "ContactPersons.EmailAddress")
    return [dict(p) for p in value]


@dataclass
class _Conflict:
    org: Org

    def name_taken(self, name: str, except_id: str | None) -> bool:
        key = name_key(name)
        return any(
            c.status == "ACTIVE" and c.contact_id != except_id and name_key(c.name) == key
            for c in self.org.contacts.values()
        )

    def number_taken(self, number: str, except_id: str | None) -> bool:
        key = number.strip().casefold()
        return any(
            c.contact_number is not None and c.contact_id != except_id and c.contact_number.strip().casefold() == key
            for c in self.org.contacts.values()
        )


def _parse_fields(element: Json) -> dict[str, Any]:
    """The writable fields present in ``element`` as attribute values; raise on the first bad one."""
    fields: dict[str, Any] = {}
    for key, (attr, max_len) in _SIMPLE_FIELDS.items():
        if key in element:
            fields[attr] = text(element[key], key, max_len)
    if "EmailAddress" in element:
        fields["email"] = _check_email(element["EmailAddress"], "EmailAddress")
    if "Addresses" in element:
        fields["addresses"] = _sub_objects(element["Addresses"], "Addresses", "AddressType", _ADDRESS_TYPES)
    if "Phones" in element:
        fields["phones"] = _sub_objects(element["Phones"], "Phones", "PhoneType", _PHONE_TYPES)
    if "ContactPersons" in element:
        fields["persons"] = _persons(element["ContactPersons"])
    status = element.get("ContactStatus")
    if status is not None:
        if status not in ("ACTIVE", "ARCHIVED"):
            raise ElementError(f"ContactStatus '{status}' cannot be set through the API")
        fields["status"] = status
    return fields


def _parse_name(element: Json, existing: Contact | None) -> str:
    name = text(element.get("Name"), "Name", 255)
    if name is None and existing is not None:
        return existing.name
    if not name or not name.strip():
        raise ElementError("The contact name must be specified.")  # UNCONFIRMED exact text
    return name.strip()


def _rule_errors(org: Org, existing: Contact | None, name: str, fields: dict[str, Any]) -> list[str]:
    """The organisation-level rules: uniqueness, subscribed currency, known tax types."""
    errors = []
    except_id = existing.contact_id if existing else None
    status = fields.get("status", existing.status if existing else "ACTIVE")
    conflict = _Conflict(org)
    if name and status == "ACTIVE" and conflict.name_taken(name, except_id):
        errors.append(
            f"The contact name {name} is already assigned to another contact. "
            "The contact name must be unique across all active contacts."
        )
    number = fields.get("contact_number")
    if number and conflict.number_taken(number, except_id):
        errors.append(
            f"The contact number {number} is already assigned to another contact. "
            "The contact number must be unique across all contacts."
        )
    currency = fields.get("default_currency")
    if currency and currency not in org.currencies:
        errors.append(f"Organisation is not subscribed to currency {currency}")
    for tax in (fields.get("ar_tax_type"), fields.get("ap_tax_type")):
        if tax and tax not in org.tax_rates:
            errors.append(f"The TaxType code {tax} does not exist or cannot be used for this type of transaction.")
    return errors


def apply_contact(org: Org, existing: Contact | None, element: Json, now: datetime) -> Contact:
    """Validate ``element`` against ``existing`` (``None`` = create) and commit it; return the contact.

    All problems of the element are reported together, as Xero does."""
    errors: list[str] = []
    name = existing.name if existing else ""
    fields: dict[str, Any] = {}
    for step in ("name", "fields"):
        try:
            if step == "name":
                name = _parse_name(element, existing)
            else:
                fields = _parse_fields(element)
        except ElementError as exc:
            errors.extend(exc.messages)
    errors.extend(_rule_errors(org, existing, name, fields))
    if errors:
        raise ElementError(*errors)
    if existing is None:
        contact = Contact(contact_id=new_guid(), name=name, created=now, updated=now)
        org.contacts[contact.contact_id] = contact
    else:
        contact = existing
        contact.name = name
        contact.updated = now
    for attr, value in fields.items():
        setattr(contact, attr, value)
    return contact


def _find(org: Org, ref: str) -> Contact | None:
    if is_guid(ref):
        return org.contacts.get(ref.lower())
    key = ref.strip().casefold()
    for c in org.contacts.values():
        if c.contact_number is not None and c.contact_number.strip().casefold() == key:
            return c
    return None


def write_contacts(ctx: Ctx, contact_ref: str | None = None) -> Reply:
    """PUT/POST ``/Contacts`` and POST ``/Contacts/{ContactID}``."""
    elements = ctx.elements("Contacts")
    org = ctx.org
    target = None
    if contact_ref is not None:
        target = _find(org, contact_ref)
        if target is None:
            raise ApiError(not_found())

    def process(element: Json) -> Json:
        existing = target
        if existing is None and element.get("ContactID"):
            existing = org.contacts.get(str(element["ContactID"]).lower())
            if existing is None:
                raise ElementError(f"The contact with ContactID {element['ContactID']} could not be found.")
        contact = apply_contact(org, existing, element, ctx.now)
        ctx.emit("CONTACT", "CREATE" if existing is None else "UPDATE", contact.contact_id, None)
        return contact_json(contact)

    return batch_reply(ctx, "Contacts", elements, process, error_flag="HasValidationErrors")


def list_contacts(ctx: Ctx) -> Reply:
    org = ctx.org
    ids = ids_arg(ctx)
    include_archived = bool(ctx.flag("includeArchived"))
    search = (ctx.arg("searchTerm") or "").casefold()
    paged = ctx.arg("page") is not None
    summary = bool(ctx.flag("summaryOnly"))

    def keep(c: Contact) -> bool:
        if ids is not None:
            return c.contact_id in ids
        if c.status == "ARCHIVED" and not include_archived:
            return False
        if search:
            fields = (c.name, c.first_name, c.last_name, c.contact_number, c.email)
            return any(f and search in f.casefold() for f in fields)
        return True

    def serialize(c: Contact) -> Json:
        out = contact_json(c, full=paged or summary)
        if summary:
            for k in ("Addresses", "Phones", "ContactPersons", "ContactGroups"):
                out.pop(k, None)
        return out

    return list_reply(
        ctx, "Contacts", list(org.contacts.values()), serialize, updated=lambda c: c.updated, prefilter=keep
    )


def get_contact(ctx: Ctx, contact_ref: str) -> Reply:
    contact = _find(ctx.org, contact_ref)
    if contact is None:
        raise ApiError(not_found())
    return Reply(200, envelope(ctx, "Contacts", [contact_json(contact)]))


def resolve_contact_ref(ctx: Ctx, ref: Any) -> Contact:
    """An invoice's ``Contact``: by ContactID, else ContactNumber, else Name (creating a new contact
    when no active one has that name, as Xero does). Extra fields update the contact (§6.3)."""
    if not isinstance(ref, dict):
        raise ElementError("A Contact must be specified.")
    org = ctx.org
    contact: Contact | None = None
    if ref.get("ContactID"):
        contact = org.contacts.get(str(ref["ContactID"]).lower())
        if contact is None:
            raise ElementError("The contact could not be found.")  # UNCONFIRMED exact text
    elif ref.get("ContactNumber"):
        contact = _find(org, str(ref["ContactNumber"]))
    if contact is None and ref.get("Name"):
        key = name_key(str(ref["Name"]))
        contact = next((c for c in org.contacts.values() if c.status == "ACTIVE" and name_key(c.name) == key), None)
        if contact is None:
            contact = apply_contact(org, None, ref, ctx.now)
            ctx.emit("CONTACT", "CREATE", contact.contact_id, None)
            return contact
    if contact is None:
        raise ElementError("A Contact must have at least one of ContactID, ContactNumber or Name.")
    extra = {k: v for k, v in ref.items() if k not in ("ContactID", "ContactNumber", "Name")}
    if extra:
        apply_contact(org, contact, extra, ctx.now)
        ctx.emit("CONTACT", "UPDATE", contact.contact_id, None)
    return contact
