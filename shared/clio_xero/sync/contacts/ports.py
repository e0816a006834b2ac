"""Adapters that give the API clients the exact shape the contact syncer's ports ask for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clio_xero.clients.clio import CONTACT_FIELDS, MAX_PAGE_SIZE, ClioClient
from clio_xero.clients.xero import ElementResult, XeroClient


class ClioContacts:
    """:class:`~clio_xero.sync.contacts.engine.ClioContactsPort` over :class:`ClioClient`."""

    def __init__(self, client: ClioClient) -> None:
        self.client = client

    def get_contact(self, contact_id: int | str) -> dict[str, Any] | None:
        return self.client.get_contact(contact_id, CONTACT_FIELDS)

    def create_contact(self, data: dict[str, Any]) -> dict[str, Any]:
        return self.client.create_contact(data, CONTACT_FIELDS)

    def update_contact(self, contact_id: int | str, data: dict[str, Any], *, etag: str | None) -> dict[str, Any]:
        return self.client.update_contact(contact_id, data, etag=etag, fields=CONTACT_FIELDS)

    def get_contacts(self, contact_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Many contacts in one read by ``ids[]`` (up to 200 a call); deleted ones are absent."""
        out: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(contact_ids))
        for start in range(0, len(unique), MAX_PAGE_SIZE):
            ids = unique[start : start + MAX_PAGE_SIZE]
            out.extend(self.client.iter_records("contacts", fields=CONTACT_FIELDS, params={"ids[]": ids}))
        return out

    def has_bills(self, contact_id: int | str) -> bool:
        """One call: does any bill name this contact as its client?"""
        page = self.client.read_page("bills", fields="id", params={"client_id": str(contact_id)}, page_size=1)
        return bool(page.rows)


#: ContactNumbers asked about in one ``where`` (an answer fits Xero's first page of 100).
NUMBERS_PER_READ = 50


def _quoted(value: str) -> str:
    # Xero's `where` is a C#-like expression: escape backslashes and double quotes.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class XeroContacts:
    """:class:`~clio_xero.sync.contacts.engine.XeroContactsPort` over :class:`XeroClient`."""

    def __init__(self, client: XeroClient) -> None:
        self.client = client

    def get_contact(self, contact_id: str) -> dict[str, Any] | None:
        return self.client.get_contact(contact_id)

    def find_contact_by_number(self, number: str) -> dict[str, Any] | None:
        return self.client.find_contact_by_number(number)

    def find_active_by_name(self, name: str) -> list[dict[str, Any]]:
        response = self.client.request("GET", "/Contacts", params={"where": f"Name=={_quoted(name)}"})
        contacts: list[dict[str, Any]] = response.json().get("Contacts") or []
        return [c for c in contacts if c.get("ContactStatus", "ACTIVE") == "ACTIVE"]

    def numbers_taken(self, numbers: Sequence[str]) -> set[str]:
        """Which of these ContactNumbers Xero already holds (archived contacts too), 50 to a read."""
        taken: set[str] = set()
        unique = list(dict.fromkeys(numbers))
        for start in range(0, len(unique), NUMBERS_PER_READ):
            where = " OR ".join(f"ContactNumber=={_quoted(n)}" for n in unique[start : start + NUMBERS_PER_READ])
            response = self.client.request("GET", "/Contacts", params={"where": where, "includeArchived": "true"})
            taken.update(str(c.get("ContactNumber")) for c in response.json().get("Contacts") or [])
        return taken

    def save_contacts(
        self, contacts: Sequence[dict[str, Any]], *, idempotency_key: str, create: bool
    ) -> list[ElementResult]:
        return self.client.save_contacts(contacts, idempotency_key=idempotency_key, create=create)

    def archive_contact(self, contact_id: str, *, idempotency_key: str) -> dict[str, Any]:
        return self.client.archive_contact(contact_id, idempotency_key=idempotency_key)
