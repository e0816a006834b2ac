"""Contacts, both ways: Clio Person/Company <-> Xero Contact (see docs/mapping-contacts.md)."""
