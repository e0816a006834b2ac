"""Deterministic seed data: a realistic small law firm's Xero organisation.

``seed_org`` adds to a new (or given) org: law-firm accounts on top of the regional default chart
(090/091 bank accounts, a 092 trust account, 200 Sales, 210 Professional Fees, an archived 205, an
855 clearing account with payments enabled), foreign currencies, billable items, contacts that
exactly match given (name, email) pairs from the Clio seed, near matches of them, Xero-only
contacts (people and companies, accents, non-Latin scripts, very long names, archived ones) and
some invoices with payments. Same arguments → same data (names, emails, amounts; GUIDs differ).
Sizes are parameters; contacts are inserted directly (not through the per-request uniqueness
scan), so thousands take well under a second.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from clio_xero_tools.sandbox.xero.chart import CURRENCY_NAMES
from clio_xero_tools.sandbox.xero.contacts import name_key
from clio_xero_tools.sandbox.xero.documents import apply_document
from clio_xero_tools.sandbox.xero.formats import new_guid
from clio_xero_tools.sandbox.xero.payments import create_payment
from clio_xero_tools.sandbox.xero.store import Account, Contact, Currency, Item

if TYPE_CHECKING:
    from clio_xero_tools.sandbox.xero.app import XeroSandbox
    from clio_xero_tools.sandbox.xero.store import Org

__all__ = ["OrgSeed", "seed_org"]

FIRST = ["Olivia", "Liam", "José", "Zoë", "Łukasz", "Søren", "François", "Siobhán", "Mei", "Aroha", "Priya",
         "Noah", "Charlotte", "Mateo", "Amélie", "Oscar", "Isla", "Hemi", "Ngaio", "Björn"]  # fmt: skip
LAST = ["Smith", "Nguyen", "O'Brien", "Müller", "García", "Kowalski", "Williams", "Patel", "Tāmaki", "Brown",
        "Wilson", "Taylor", "Dubois", "Johansson", "Chen", "Ng", "MacDonald", "Rossi", "Novák", "Fraser"]  # fmt: skip
NON_LATIN = [
    "王伟",
    "李娜",
    "Анна Иванова",
    "Дмитрий Смирнов",
    "محمد العلي",
    "田中 太郎",
    "김민준",
    "Γιώργος Παπαδόπουλος",
]
COMPANY_WORDS = ["Harbour", "Summit", "Kauri", "Southern Cross", "Bluegum", "Meridian", "Totara", "Wattle",
                 "Ironbark", "Coastal", "Pinnacle", "Riverside"]  # fmt: skip
COMPANY_KINDS = ["Holdings", "Developments", "Logistics", "Imports", "Consulting", "Properties", "Trading", "Dental"]
COMPANY_SUFFIX = ["Pty Ltd", "Limited", "Ltd", "Trust", "& Co", "Group"]
STREETS = ["Queen Street", "George Street", "Lambton Quay", "Collins Street", "High Street", "Victoria Road"]
CITIES = [("Sydney", "NSW", "2000"), ("Melbourne", "VIC", "3000"), ("Brisbane", "QLD", "4000"),
          ("Auckland", "", "1010"), ("Wellington", "", "6011"), ("Perth", "WA", "6000")]  # fmt: skip

EXTRA_ACCOUNTS = [
    # code, name, type, status, enable payments, bank account number
    ("092", "Trust Account", "BANK", "ACTIVE", False, "062-000 5555 0001"),
    ("205", "Legal Fees (old)", "REVENUE", "ARCHIVED", False, None),
    ("210", "Professional Fees", "REVENUE", "ACTIVE", False, None),
    ("215", "Disbursements Recovered", "REVENUE", "ACTIVE", False, None),
    ("220", "Interest Charged to Clients", "REVENUE", "ACTIVE", False, None),
    ("855", "Payments Clearing", "CURRLIAB", "ACTIVE", True, None),
]
ITEMS = [
    # code, name, unit price, account
    ("PROF", "Professional fees", "350.00", "210"),
    ("PARA", "Paralegal time", "180.00", "210"),
    ("DISB", "Disbursements", "0.00", "215"),
    ("FILING", "Court filing fee", "120.50", "215"),
    ("SEARCH", "Title search", "42.35", "215"),
    ("INTEREST", "Interest on overdue account", "0.00", "220"),
]


@dataclass
class OrgSeed:
    """What the seed created; ids are the Xero GUIDs."""

    tenant_id: str
    name: str
    matching_contact_ids: list[str] = field(default_factory=list)
    near_match_contact_ids: list[str] = field(default_factory=list)
    xero_only_contact_ids: list[str] = field(default_factory=list)
    invoice_ids: list[str] = field(default_factory=list)
    item_codes: list[str] = field(default_factory=list)
    bank_account_codes: list[str] = field(default_factory=list)
    archived_account_codes: list[str] = field(default_factory=list)
    payment_account_codes: list[str] = field(default_factory=list)


def _strip_accents(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def _ascii_email(text: str) -> str:
    cleaned = "".join(ch for ch in _strip_accents(text).lower() if ch.isascii() and (ch.isalnum() or ch in " .-"))
    return ".".join(cleaned.split()) or "contact"


class _Builder:
    def __init__(self, sb: XeroSandbox, org: Org, rng: random.Random) -> None:
        self.sb, self.org, self.rng = sb, org, rng
        self.now = sb.clock.now()
        self.active_names = {name_key(c.name) for c in org.contacts.values() if c.status == "ACTIVE"}
        self.numbers = {c.contact_number.casefold() for c in org.contacts.values() if c.contact_number}

    def add(self, name: str, email: str | None, *, status: str = "ACTIVE", person: bool = True) -> Contact | None:
        name = name.strip()[:255]
        key = name_key(name)
        if status == "ACTIVE" and key in self.active_names:
            return None  # would break the uniqueness rule the real Xero enforces
        c = Contact(contact_id=new_guid(), name=name, created=self.now, updated=self.now, status=status, email=email)
        if person and " " in name:
            c.first_name, c.last_name = name.split(" ", 1)
        city, region, postcode = self.rng.choice(CITIES)
        c.addresses = [
            {"AddressType": "STREET", "AddressLine1": f"{self.rng.randint(1, 400)} {self.rng.choice(STREETS)}",
             "City": city, "Region": region, "PostalCode": postcode, "Country": "Australia"},
            {"AddressType": "POBOX"},
        ]  # fmt: skip
        c.phones = [
            {"PhoneType": "DEFAULT", "PhoneNumber": f"{self.rng.randint(8000, 9999)} {self.rng.randint(1000, 9999)}",
             "PhoneAreaCode": "02", "PhoneCountryCode": "61"},
            {"PhoneType": "MOBILE", "PhoneNumber": f"04{self.rng.randint(10, 99)} {self.rng.randint(100, 999)} "
             f"{self.rng.randint(100, 999)}"},
        ]  # fmt: skip
        if status == "ACTIVE":
            self.active_names.add(key)
        self.org.contacts[c.contact_id] = c
        return c

    def number(self, c: Contact, value: str) -> None:
        if value.casefold() not in self.numbers:
            self.numbers.add(value.casefold())
            c.contact_number = value

    def random_person(self) -> str:
        return f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"

    def random_company(self) -> str:
        r = self.rng
        return f"{r.choice(COMPANY_WORDS)} {r.choice(COMPANY_KINDS)} {r.choice(COMPANY_SUFFIX)}"


def _near_variants(name: str, email: str | None) -> list[tuple[str, str | None, str]]:
    """Ways a Xero contact nearly matches a Clio one: (name, email, status)."""
    user, _, domain = (email or "someone@example.com").partition("@")
    plain = _strip_accents(name)
    accented = name.replace("e", "é", 1) if plain == name else plain
    parts = name.split()
    return [
        (accented, email, "ACTIVE"),  # accents differ
        (f"{name} Pty Ltd" if len(parts) > 2 else f"{parts[-1]}, {' '.join(parts[:-1])}", email, "ACTIVE"),
        (name.upper(), f"{user}@{domain}".upper(), "ARCHIVED"),  # case differs (an archived duplicate)
        (name.replace(" ", "  ", 1), f"{user}.old@{domain}", "ARCHIVED"),  # spacing differs
        (f"{parts[0][:1]}. {' '.join(parts[1:])}" if len(parts) > 1 else f"{name}.", email, "ACTIVE"),  # initial
        (f"{name} (old)", f"{user}@{domain.split('.')[0]}-mail.com", "ACTIVE"),  # email differs
    ]


def _seed_reference_data(org: Org, now: datetime, out: OrgSeed) -> None:
    """Law-firm accounts on top of the regional chart, two extra currencies, billable items."""
    no_tax = "NONE" if "NONE" in org.tax_rates else None
    for code, acct_name, acct_type, status, payments, bank_no in EXTRA_ACCOUNTS:
        if org.account_by_code(code) is not None:
            continue
        bank = acct_type == "BANK"
        account = Account(
            account_id=new_guid(),
            code=code,
            name=acct_name,
            type=acct_type,
            updated=now,
            status=status,
            enable_payments=payments,
            bank_account_number=bank_no,
            bank_account_type="BANK" if bank else None,
            currency_code=org.base_currency if bank else None,
            tax_type=org.sales_tax_default if acct_type == "REVENUE" else no_tax,
        )
        org.accounts[account.account_id] = account
    accounts = [a for a in org.accounts.values() if a.code]
    out.bank_account_codes = sorted(str(a.code) for a in accounts if a.type == "BANK")
    out.archived_account_codes = sorted(str(a.code) for a in accounts if a.status == "ARCHIVED")
    out.payment_account_codes = sorted(
        str(a.code) for a in accounts if a.status == "ACTIVE" and (a.type == "BANK" or a.enable_payments)
    )
    for code in ("USD", "EUR", "GBP", "NZD"):
        if code != org.base_currency and len(org.currencies) < 3:
            org.currencies[code] = Currency(code, CURRENCY_NAMES[code])
    for code, item_name, price, item_account in ITEMS:
        if org.item_by_code(code) is None:
            item = Item(
                item_id=new_guid(),
                code=code,
                updated=now,
                name=item_name,
                description=item_name,
                sales_unit_price=Decimal(price),
                sales_account_code=item_account,
                sales_tax_type=org.sales_tax_default,
                is_purchased=False,
            )
            org.items[item.item_id] = item
        out.item_codes.append(code)


def _seed_matching(b: _Builder, out: OrgSeed, pairs: Sequence[tuple[str, str]], near_matches: int) -> None:
    for i, (contact_name, email) in enumerate(pairs):
        c = b.add(contact_name, email)
        if c is not None:
            if i % 3 == 0:
                b.number(c, f"XERO-{i:05d}")
            out.matching_contact_ids.append(c.contact_id)
    sources: list[tuple[str, str | None]] = list(pairs) or [(b.random_person(), None) for _ in range(near_matches)]
    attempts = 0
    while sources and len(out.near_match_contact_ids) < near_matches and attempts < near_matches * 10:
        src_name, src_email = sources[attempts % len(sources)]
        variants = _near_variants(src_name, src_email or f"{_ascii_email(src_name)}@example.com")
        v_name, v_email, v_status = variants[(attempts // len(sources)) % len(variants)]
        attempts += 1
        c = b.add(v_name, v_email, status=v_status)
        if c is not None:
            out.near_match_contact_ids.append(c.contact_id)


def _random_name(b: _Builder, made: int) -> tuple[str, bool]:
    rng = b.rng
    roll = rng.random()
    if roll < 0.45:
        name, person = b.random_person(), True
    elif roll < 0.85:
        name, person = b.random_company(), False
    elif roll < 0.95:
        name, person = rng.choice(NON_LATIN), True
    else:
        name, person = (b.random_company() + " ") * 12, False  # very long names
    if made >= 2 and rng.random() < 0.5:
        name = f"{name} {made}"
    return name, person


def _seed_xero_only(b: _Builder, out: OrgSeed, extra_contacts: int) -> None:
    rng = b.rng
    made = 0
    while made < extra_contacts:
        name, person = _random_name(b, made)
        email = f"{_ascii_email(name)[:40]}{made}@{rng.choice(['example.com', 'mail.test', 'firm.example'])}"
        c = b.add(name, email, status="ARCHIVED" if rng.random() < 0.08 else "ACTIVE", person=person)
        if c is None:
            continue
        made += 1
        if rng.random() < 0.3:
            b.number(c, f"XO-{made:05d}")
        out.xero_only_contact_ids.append(c.contact_id)


def _seed_invoices(sb: XeroSandbox, org: Org, out: OrgSeed, wanted: int, rng: random.Random) -> None:
    """ACCREC invoices for Xero-only contacts (draft and authorised); every third approved one paid."""
    ctx = sb.user_ctx(org.organisation_id)
    active = [cid for cid in out.xero_only_contact_ids if org.contacts[cid].status == "ACTIVE"]
    for n in range(min(wanted, len(active) * 3)):
        issued = (ctx.now - timedelta(days=rng.randint(5, 200))).date()
        doc = apply_document(
            ctx,
            "invoice",
            None,
            {
                "Type": "ACCREC",
                "Contact": {"ContactID": active[n % len(active)]},
                "Date": issued.isoformat(),
                "DueDate": (issued + timedelta(days=30)).isoformat(),
                "Status": rng.choice(["DRAFT", "AUTHORISED", "AUTHORISED", "AUTHORISED"]),
                "Reference": f"Matter {rng.randint(1000, 9999)}",
                "LineItems": [
                    {"ItemCode": "PROF", "Quantity": float(Decimal(rng.randint(1, 40)) / 4)},
                    {"ItemCode": "SEARCH", "Quantity": 1},
                ],
            },
        )
        out.invoice_ids.append(doc.doc_id)
        if doc.status == "AUTHORISED" and n % 3 == 0:
            paid_on = (issued + timedelta(days=14)).isoformat()
            create_payment(
                ctx,
                {"Invoice": {"InvoiceID": doc.doc_id}, "Account": {"Code": "090"}, "Amount": float(doc.amount_due),
                 "Date": paid_on},
            )  # fmt: skip


def seed_org(
    sandbox: XeroSandbox,
    *,
    tenant_id: str | None = None,
    name: str = "Sandbox Legal Pty Ltd",
    country: str = "AU",
    matching_contacts: Sequence[tuple[str, str]] = (),
    near_matches: int = 10,
    extra_contacts: int = 20,
    invoices: int | None = None,
    seed: int = 0,
) -> OrgSeed:
    """Fill an organisation (created unless ``tenant_id`` names one) with realistic firm data.

    ``matching_contacts`` are (name, email) pairs from the Clio seed, created exactly;
    ``near_matches`` contacts differ from them by accents, case, spacing, initials, suffixes or
    email (case/spacing twins are ARCHIVED, since the active-name rule forbids them otherwise);
    ``extra_contacts`` are Xero-only. ``invoices`` defaults to a quarter of ``extra_contacts``.
    """
    rng = random.Random(seed)
    org = sandbox.store.orgs[tenant_id] if tenant_id else sandbox.create_organisation(name, country=country)
    out = OrgSeed(org.organisation_id, org.name)
    with sandbox.store.lock:
        _seed_reference_data(org, sandbox.clock.now(), out)
        builder = _Builder(sandbox, org, rng)
        _seed_matching(builder, out, matching_contacts, near_matches)
        _seed_xero_only(builder, out, extra_contacts)
        _seed_invoices(sandbox, org, out, extra_contacts // 4 if invoices is None else invoices, rng)
    return out
