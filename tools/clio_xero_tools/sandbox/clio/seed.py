"""A deterministic, realistic small firm: the data most sync tests and ``make demo`` start from.

Same ``seed`` → same data (ids included, in a fresh sandbox). Sizes are parameters so benchmarks
can ask for thousands. The contact list deliberately contains what breaks naive matching:
duplicate names, accents, non-Latin scripts, very long names, several emails/phones/addresses,
and contacts with none.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from . import domain
from .resources import bill_totals
from .state import ClioFirm
from .store import Record

FIRST = [
    "John", "Mary", "José", "Zoë", "François", "Björn", "Łukasz", "Siobhán", "Nguyễn", "Aroha",
    "Priya", "Mohammed", "Chloé", "Søren", "Ana", "Li", "Olga", "Kwame", "Mei", "Renée",
]  # fmt: skip
LAST = [
    "Smith", "Nguyen", "García", "O'Brien", "Müller", "Kowalski", "Ngata", "Patel", "Dubois",
    "Ødegaard", "Tanaka", "van der Berg", "Smith-Jones", "Brown", "Wilson", "Taylor", "Lee",
]  # fmt: skip
NON_LATIN = [
    ("伟", "王"), ("娜", "李"), ("Дмитрий", "Иванов"), ("Σωκράτης", "Παπαδόπουλος"),
    ("太郎", "山田"), ("محمد", "علي"), ("יעל", "כהן"), ("민준", "김"),
]  # fmt: skip
COMPANY_WORDS = ["Harbour", "Kauri", "Summit", "Pacific", "Northern", "Greenfield", "Atlas", "Riverside"]
COMPANY_KINDS = ["Holdings Ltd", "Trust", "& Sons", "Pty Ltd", "LLC", "Partners", "Co-operative", "Ltd"]
DUPLICATES = [("John", "Smith"), ("Mary", "Brown"), ("Li", "Wei")]
CITIES = [
    ("Auckland", "AKL", "1010", "New Zealand"), ("Toronto", "ON", "M5H 2N2", "Canada"),
    ("Sydney", "NSW", "2000", "Australia"), ("London", "", "EC1A 1BB", "United Kingdom"),
    ("Chicago", "IL", "60601", "United States"),
]  # fmt: skip
ACTIVITY_DESCRIPTIONS = [
    ("Court appearance", "200"), ("Drafting", "200"), ("Research", "210"), ("Client meeting", "200"),
    ("Phone call", None),
]  # fmt: skip
EXPENSE_CATEGORIES = [
    ("Filing fees", 85, "420"),
    ("Courier", 25, "425"),
    ("Photocopying", 1, None),
    ("Travel", 120, "493"),
]
MATTER_KINDS = ["Estate", "Lease", "Dispute", "Acquisition", "Employment"]
BILL_STATES = ["draft", "awaiting_approval", "awaiting_payment", "paid", "void", "deleted"]


@dataclass
class FirmSeed:
    """What :func:`seed_firm` created (ids), for tests and for seeding a matching Xero org."""

    contacts: list[int] = field(default_factory=list)
    # (display name, primary email or None), in creation order: the Xero seed uses these to
    # create matching and near-matching contacts.
    contact_names: list[tuple[str, str | None]] = field(default_factory=list)
    matters: list[int] = field(default_factory=list)
    activities: list[int] = field(default_factory=list)
    activity_descriptions: list[int] = field(default_factory=list)
    expense_categories: list[int] = field(default_factory=list)
    bills: list[int] = field(default_factory=list)
    bills_by_state: dict[str, list[int]] = field(default_factory=dict)
    credit_memos: list[int] = field(default_factory=list)
    allocations: list[int] = field(default_factory=list)
    interest_charges: list[int] = field(default_factory=list)
    bank_transactions: list[int] = field(default_factory=list)
    operating_account: int = 0
    trust_account: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "counts": {k: len(v) for k, v in vars(self).items() if isinstance(v, list) and k != "contact_names"},
            "bills_by_state": {k: len(v) for k, v in self.bills_by_state.items()},
            "operating_account": self.operating_account,
            "trust_account": self.trust_account,
            "contact_names": [list(c) for c in self.contact_names],
        }


def _person(rng: random.Random, i: int) -> tuple[str, str, dict[str, Any]]:
    if i % 17 == 3:
        first, last = DUPLICATES[(i // 17) % len(DUPLICATES)]
    elif i % 11 == 5:
        first, last = NON_LATIN[(i // 11) % len(NON_LATIN)]
    else:
        first, last = rng.choice(FIRST), rng.choice(LAST)
    data: dict[str, Any] = {"type": "Person", "first_name": first, "last_name": last}
    if i % 29 == 7:
        data["middle_name"] = "Alexandra-Konstantina Maximiliane"  # long enough to hit length limits
    if rng.random() < 0.2:
        data["prefix"] = rng.choice(["Dr", "Ms", "Mr", "Prof"])
    return first, last, data


def _company(rng: random.Random, i: int) -> dict[str, Any]:
    if i % 23 == 4:
        name = (
            "The "
            + " ".join(rng.sample(COMPANY_WORDS, 6))
            + " International Property Development and Investment Holdings Group Limited (in liquidation)"
        )
    elif i % 13 == 2:
        name = "株式会社" + rng.choice(["山田商事", "東京リーガル", "未来建設"])
    else:
        name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}"
    return {"type": "Company", "name": name}


def _ascii_slug(text: str, fallback: str) -> str:
    slug = "".join(c for c in text.lower() if c.isascii() and (c.isalnum() or c == "."))
    return slug or fallback


def _contact_data(rng: random.Random, i: int) -> dict[str, Any]:
    if rng.random() < 0.7:
        first, last, data = _person(rng, i)
        local = _ascii_slug(f"{first}.{last}", f"client{i}")
    else:
        data = _company(rng, i)
        local = _ascii_slug(data["name"].split()[0], f"accounts{i}")
    n_emails = rng.choice([0, 1, 1, 1, 2, 3]) if i % 9 else 0
    data["email_addresses"] = [
        {
            "address": f"{local}{'' if k == 0 else k}@{rng.choice(['example.com', 'mail.test', 'firm.example'])}",
            "name": ["Work", "Home", "Other"][k % 3],
            "primary": k == 0,
        }
        for k in range(n_emails)
    ]
    data["phone_numbers"] = [
        {
            "number": f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
            "name": ["Work", "Personal", "Other"][k % 3],
            "primary": k == 0,
        }
        for k in range(rng.choice([0, 1, 1, 2]))
    ]
    addresses = []
    for k in range(rng.choice([0, 1, 1, 2, 3])):
        city, prov, post, country = rng.choice(CITIES)
        addresses.append(
            {
                "name": ["Billing", "Work", "Home"][k % 3],
                "street": f"{rng.randint(1, 400)} {rng.choice(LAST)} Street",
                "city": city,
                "province": prov,
                "postal_code": post,
                "country": country,
            }
        )
    data["addresses"] = addresses
    return data


def seed_firm(
    sandbox: ClioFirm, *, contacts: int = 200, activities: int = 500, bills: int = 60, seed: int = 0
) -> FirmSeed:
    """Create a realistic firm in ``sandbox``. Webhooks do not fire for seeded data (it "already
    existed"); records are back-dated over the last ~120 days so ``updated_since`` has depth."""
    rng = random.Random(seed)
    store = sandbox.store
    out = FirmSeed()
    today = store.clock.now().date()
    with store.lock, store.muted():
        accounts = store.all("bank_accounts")
        out.operating_account = next(a.id for a in accounts if a.attrs["type"] == "Operating")
        out.trust_account = next(a.id for a in accounts if a.attrs["type"] == "Trust")
        lawyers = [sandbox.default_user_id] + [
            sandbox.add_user(first, last).id for first, last in (("Jordan", "Associate"), ("Casey", "Paralegal"))
        ]
        for name, code in ACTIVITY_DESCRIPTIONS:
            rec = store.insert(
                "activity_descriptions",
                {
                    "name": name,
                    "xero_service_code": code,
                    "default": False,
                    "type": "User",
                    "accessible_to_user": True,
                    "category_type": "ActivityDescription",
                },
            )
            out.activity_descriptions.append(rec.id)
        for name, rate, code in EXPENSE_CATEGORIES:
            rec = store.insert(
                "expense_categories",
                {
                    "name": name,
                    "rate": rate,
                    "entry_type": "hard_cost",
                    "xero_expense_code": code,
                    "accessible_to_user": True,
                    "tax_setting": "tax_1_only",
                },
            )
            out.expense_categories.append(rec.id)
        for i in range(contacts):
            rec = domain.create_contact(store, _contact_data(rng, i))
            out.contacts.append(rec.id)
            emails = [store.get("email_addresses", e) for e in rec.link_ids("email_addresses")]
            primary = next((e.attrs["address"] for e in emails if e is not None and e.attrs.get("primary")), None)
            out.contact_names.append((_display_name(rec), primary))
        clients = out.contacts[: max(1, (contacts * 3) // 5)]
        for i, client in enumerate(clients[: max(1, contacts // 2)]):
            status = "Closed" if i % 10 == 9 else ("Pending" if i % 10 == 8 else "Open")
            rec = domain.create_matter(
                store,
                {
                    "client": {"id": client},
                    "description": f"Matter {i + 1}: {rng.choice(MATTER_KINDS)}",
                    "status": status,
                    "responsible_attorney": {"id": rng.choice(lawyers)},
                },
            )
            out.matters.append(rec.id)
        for i in range(activities if out.matters else 0):
            matter = rng.choice(out.matters)
            day = (today - timedelta(days=rng.randint(1, 120))).isoformat()
            if rng.random() < 0.8:
                data: dict[str, Any] = {
                    "type": "TimeEntry",
                    "quantity": rng.choice([360, 720, 1800, 3600, 5400, 7200, 12600]),
                    "price": rng.choice([250.0, 300.0, 450.0]),
                    "activity_description": {"id": rng.choice(out.activity_descriptions)},
                }
            else:
                cat = rng.choice(out.expense_categories)
                data = {
                    "type": "ExpenseEntry",
                    "quantity": float(rng.randint(1, 3)),
                    "price": float(rng.choice([12.5, 25.0, 85.0, 120.0])),
                    "expense_category": {"id": cat},
                    "tax_setting": "tax_1_only",
                }
            data.update(matter={"id": matter}, date=day, note=f"Work item {i + 1}", non_billable=rng.random() < 0.05)
            out.activities.append(domain.create_activity(store, data, user_id=rng.choice(lawyers)).id)
        _seed_bills(sandbox, rng, out, bills)
        _seed_trust(sandbox, rng, out)
        _backdate(sandbox, rng)
    return out


def _display_name(rec: Record) -> str:
    a = rec.attrs
    if a.get("type") == "Person":
        return " ".join(p for p in (a.get("first_name"), a.get("middle_name"), a.get("last_name")) if p)
    return str(a.get("name"))


def _seed_bills(sandbox: ClioFirm, rng: random.Random, out: FirmSeed, count: int) -> None:
    store = sandbox.store
    unbilled: dict[int, list[int]] = {}
    for aid in out.activities:
        act = store.get("activities", aid)
        if act is not None and not act.attrs.get("non_billable"):
            unbilled.setdefault(act.link_id("matter") or 0, []).append(aid)
    matters = [m for m in out.matters if unbilled.get(m)]
    today = store.clock.now().date()
    for i in range(count):
        if not matters:
            break
        matter_id = matters[i % len(matters)]
        matter = store.get("matters", matter_id)
        assert matter is not None
        pool = unbilled[matter_id]
        take, unbilled[matter_id] = pool[:4], pool[4:]
        if not unbilled[matter_id]:
            matters.remove(matter_id)
        state = BILL_STATES[i % len(BILL_STATES)]
        issued = today - timedelta(days=rng.randint(5, 90))
        bill = domain.create_bill(
            store,
            client_id=matter.link_id("client") or 0,
            matter_ids=[matter_id],
            activity_ids=take,
            issued_at=issued.isoformat(),
            due_at=(issued + timedelta(days=30)).isoformat(),
            interest={"rate": 1.5, "type": "simple", "period": 30} if i % 7 == 2 else None,
        )
        final = _bill_to_state(sandbox, rng, out, bill, state=state, i=i)
        out.bills.append(bill.id)
        out.bills_by_state.setdefault(final, []).append(bill.id)


def _bill_to_state(sandbox: ClioFirm, rng: random.Random, out: FirmSeed, bill: Record, *, state: str, i: int) -> str:
    store = sandbox.store
    if state in {"draft", "awaiting_approval"}:
        if state != "draft":
            domain.set_bill_state(store, bill, state)
        return state
    if state == "deleted":
        domain.delete_bill(store, bill)
        return "deleted"
    domain.set_bill_state(store, bill, "awaiting_payment")
    if state == "void":
        domain.delete_bill(store, bill)
        return "void"
    if i % 7 == 2:
        out.interest_charges.append(domain.add_interest(store, bill, amount=round(rng.uniform(5, 40), 2)).id)
    balance = bill_totals(store, bill)["balance"]
    if state == "paid" and balance > 0:
        from_trust = i % 4 == 3
        if from_trust:
            # Fund the client's trust ledger first so the trust payment is backed by a deposit.
            tx = domain.create_bank_transaction(
                store,
                {
                    "amount": balance,
                    "bank_account": {"id": out.trust_account},
                    "date": bill.attrs["issued_at"],
                    "client": {"id": bill.link_id("client")},
                    "description": "Retainer deposit",
                },
            )
            out.bank_transactions.append(tx.id)
        alloc = domain.record_payment(
            store, bill, amount=balance, bank_account_id=out.trust_account if from_trust else out.operating_account
        )
        out.allocations.append(alloc.id)
        return str(bill.attrs["state"])
    # awaiting_payment: some untouched, some part-paid, some with a credit note
    if (i // 6) % 3 == 0 and balance > 10:
        out.allocations.append(domain.record_payment(store, bill, amount=round(balance / 3, 2)).id)
    elif (i // 6) % 3 == 1 and balance > 10:
        memo = domain.issue_credit_memo(store, bill, amount=round(balance / 5, 2), description="Courtesy discount")
        out.credit_memos.append(memo.id)
        out.allocations.extend(memo.link_ids("allocations"))
    return str(bill.attrs["state"])


def _seed_trust(sandbox: ClioFirm, rng: random.Random, out: FirmSeed) -> None:
    store = sandbox.store
    today = store.clock.now().date()
    for k, client in enumerate(out.contacts[: min(25, len(out.contacts))]):
        if k % 2:
            continue
        day = (today - timedelta(days=rng.randint(10, 100))).isoformat()
        amount = float(rng.choice([500, 1000, 2500, 5000]))
        tx = domain.create_bank_transaction(
            store,
            {
                "amount": amount,
                "bank_account": {"id": out.trust_account},
                "date": day,
                "client": {"id": client},
                "description": "Retainer deposit",
                "transaction_type": "Deposit",
            },
        )
        out.bank_transactions.append(tx.id)
        if k % 4 == 0:
            tx = domain.create_bank_transaction(
                store,
                {
                    "amount": -amount / 5,
                    "bank_account": {"id": out.trust_account},
                    "date": date.fromisoformat(day).isoformat(),
                    "client": {"id": client},
                    "description": "Disbursement",
                    "transaction_type": "Withdrawal",
                },
            )
            out.bank_transactions.append(tx.id)


def _backdate(sandbox: ClioFirm, rng: random.Random) -> None:
    """Spread created/updated times over the past months (no events: the data "already existed")."""
    store = sandbox.store
    now = store.clock.now()
    for resource in (
        "contacts",
        "matters",
        "activities",
        "bills",
        "line_items",
        "allocations",
        "credit_memos",
        "interest_charges",
        "bank_transactions",
    ):
        for rec in store.all(resource):
            created = now - timedelta(days=rng.randint(30, 120), seconds=rng.randint(0, 86_399))
            rec.created_at = created
            rec.updated_at = min(now - timedelta(seconds=1), created + timedelta(days=rng.randint(0, 29)))
