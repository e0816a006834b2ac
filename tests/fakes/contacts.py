"""In-memory Clio and Xero contact stores behind the syncer's ports (unit tests only).

They keep the behaviours the syncer relies on: etags and timestamps that move on every write,
Xero's unique active Name and unique ContactNumber, nested Clio writes with ``_destroy``.
The real-path tests use the sandboxes instead.
"""

from __future__ import annotations

import copy
import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from clio_xero.errors import ValidationFailedError
from clio_xero.sync.contacts.engine import ClioContactsPort, XeroContactsPort

T0 = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass
class Result:
    ok: bool
    record: dict[str, Any] | None
    errors: list[str] = field(default_factory=list)


class FakeClio:
    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(1000)
        self.tick = itertools.count(1)
        self.writes = 0
        self.reads = 0
        self.bills: set[str] = set()

    def _stamp(self, record: dict[str, Any]) -> None:
        n = next(self.tick)
        record["etag"] = f'"e{n}"'
        record["updated_at"] = (T0 + timedelta(minutes=n)).isoformat()

    def add(self, **fields: Any) -> dict[str, Any]:
        """Act as a user in Clio (no sync write is counted)."""
        record: dict[str, Any] = {"id": next(self.ids), "type": "Person", "is_client": True, **fields}
        for nested in ("email_addresses", "phone_numbers", "addresses"):
            record[nested] = [{"id": next(self.ids), **item} for item in record.get(nested, [])]
        if record["type"] == "Person":
            record["name"] = f"{record.get('first_name', '')} {record.get('last_name', '')}".strip()
        self._stamp(record)
        self.records[str(record["id"])] = record
        return copy.deepcopy(record)

    def edit(self, clio_id: str, **fields: Any) -> None:
        record = self.records[str(clio_id)]
        record.update(fields)
        if record["type"] == "Person":
            record["name"] = f"{record.get('first_name', '')} {record.get('last_name', '')}".strip()
        self._stamp(record)

    def get_contact(self, contact_id: int | str) -> dict[str, Any] | None:
        self.reads += 1
        record = self.records.get(str(contact_id))
        return copy.deepcopy(record) if record else None

    def create_contact(self, data: dict[str, Any]) -> dict[str, Any]:
        self.writes += 1
        nested = {
            k: [i for i in data.get(k, []) if not i.get("_destroy")]
            for k in ("email_addresses", "phone_numbers", "addresses")
        }
        plain = {k: v for k, v in data.items() if k not in nested}
        return self.add(**plain, **nested)

    def update_contact(self, contact_id: int | str, data: dict[str, Any], *, etag: str | None) -> dict[str, Any]:
        record = self.records[str(contact_id)]
        if etag is not None and etag != record["etag"]:
            raise AssertionError("stale etag")
        self.writes += 1
        for key, value in data.items():
            if key in ("email_addresses", "phone_numbers", "addresses"):
                items = {i["id"]: i for i in record.get(key, [])}
                for change in value:
                    if change.get("_destroy"):
                        items.pop(change["id"], None)
                    elif "id" in change:
                        items[change["id"]].update(change)
                    else:
                        new_id = next(self.ids)
                        items[new_id] = {"id": new_id, **change}
                record[key] = list(items.values())
            else:
                record[key] = value
        if record["type"] == "Person":
            record["name"] = f"{record.get('first_name', '')} {record.get('last_name', '')}".strip()
        self._stamp(record)
        return copy.deepcopy(record)

    def delete(self, clio_id: str) -> None:
        del self.records[str(clio_id)]

    def has_bills(self, contact_id: int | str) -> bool:
        return str(contact_id) in self.bills


class FakeXero:
    def __init__(self) -> None:
        self.contacts: dict[str, dict[str, Any]] = {}
        self.tick = itertools.count(1)
        self.writes = 0
        self.reads = 0
        self.keys: dict[str, list[Result]] = {}
        self.reject_next: list[str] = []

    def _stamp(self, contact: dict[str, Any]) -> None:
        ms = int((T0 + timedelta(minutes=next(self.tick), seconds=30)).timestamp() * 1000)
        contact["UpdatedDateUTC"] = f"/Date({ms}+0000)/"

    def add(self, **fields: Any) -> dict[str, Any]:
        """Act as a user in Xero."""
        contact = {"ContactID": str(uuid.uuid4()), "ContactStatus": "ACTIVE", **fields}
        self._stamp(contact)
        self.contacts[contact["ContactID"]] = contact
        return copy.deepcopy(contact)

    def edit(self, xero_id: str, **fields: Any) -> None:
        self.contacts[xero_id].update(fields)
        self._stamp(self.contacts[xero_id])

    def get_contact(self, contact_id: str) -> dict[str, Any] | None:
        self.reads += 1
        contact = self.contacts.get(contact_id)
        return copy.deepcopy(contact) if contact else None

    def find_contact_by_number(self, number: str) -> dict[str, Any] | None:
        return next((copy.deepcopy(c) for c in self.contacts.values() if c.get("ContactNumber") == number), None)

    def find_active_by_name(self, name: str) -> list[dict[str, Any]]:
        return [
            copy.deepcopy(c) for c in self.contacts.values() if c["Name"] == name and c["ContactStatus"] == "ACTIVE"
        ]

    def _errors(self, element: dict[str, Any]) -> list[str]:
        if self.reject_next:
            errors, self.reject_next = self.reject_next, []
            return errors
        own = element.get("ContactID")
        for other in self.contacts.values():
            if other["ContactID"] == own:
                continue
            if other["ContactStatus"] == "ACTIVE" and other["Name"] == element.get("Name"):
                return [
                    f"The contact name {element['Name']} is already assigned to another contact. "
                    "The contact name must be unique across all active contacts."
                ]
            if element.get("ContactNumber") and other.get("ContactNumber") == element["ContactNumber"]:
                return [f"The contact number {element['ContactNumber']} is already assigned to another contact."]
        return []

    def save_contacts(self, contacts: Sequence[dict[str, Any]], *, idempotency_key: str, create: bool) -> list[Result]:
        if idempotency_key in self.keys:
            return self.keys[idempotency_key]
        results = []
        for element in contacts:
            errors = self._errors(element)
            if errors:
                results.append(Result(False, None, errors))
                continue
            self.writes += 1
            if create:
                contact = {"ContactID": str(uuid.uuid4()), "ContactStatus": "ACTIVE", **element}
            else:
                contact = self.contacts[element["ContactID"]]
                contact.update(element)
            self._stamp(contact)
            self.contacts[contact["ContactID"]] = contact
            results.append(Result(True, copy.deepcopy(contact)))
        self.keys[idempotency_key] = results
        return results

    def archive_contact(self, contact_id: str, *, idempotency_key: str) -> dict[str, Any]:
        contact = self.contacts[contact_id]
        if contact.get("HasOutstanding"):
            raise ValidationFailedError("refused", provider_messages=["Contact has outstanding invoices"])
        self.writes += 1
        contact["ContactStatus"] = "ARCHIVED"
        self._stamp(contact)
        return copy.deepcopy(contact)

    def merge(self, loser: str, survivor: str) -> None:
        self.contacts[loser].update(ContactStatus="ARCHIVED", MergedToContactID=survivor)
        self._stamp(self.contacts[loser])


_clio: ClioContactsPort = FakeClio()
_xero: XeroContactsPort = FakeXero()
