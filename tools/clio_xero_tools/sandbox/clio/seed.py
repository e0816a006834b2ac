"""A deterministic, realistic small firm: the data most sync tests and ``make demo`` start from.

Same ``seed`` → same data (ids included, in a fresh sandbox). Sizes are parameters so benchmarks
can ask for thousands. The contact list deliberately contains what breaks naive matching:
duplicate names, accents, non-Latin scripts, very long names, several emails/phones/addresses,
and contacts with none.

History is *replayed*, not back-dated: every write is planned with the moment it happened
(contacts, then matters, then time entries, bills, payments, credits, interest, trust money over
the past year) and the plan runs in time order with the store's clock pinned to each moment, so
``created_at``/``updated_at``, ids, business dates (``issued_at``, payment dates) and ``paid_at``
agree the way they do in a real firm. The fixed trust recipe (:mod:`.trust_recipe`) rides on the
same timeline; docs/sandbox-clio.md lists which of its items make which figure.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from . import domain
from .resources import bill_totals
from .state import ClioFirm
from .store import Record
from .trust_recipe import TrustRecipe, plan_trust_recipe

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
PRACTICE_AREAS = [
    ("Wills and Estates", "WE", "wills_and_estates"),
    ("Real Estate", "RE", "real_estate"),
    ("Commercial Litigation", "CL", "commercial_litigation"),
    ("Mergers and Acquisitions", "MA", "securities_and_mergers_and_acquisitions"),
    ("Employment", "EMP", "employment_and_labor"),
]  # fmt: skip  (one per MATTER_KINDS entry, same order)
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
    practice_areas: list[int] = field(default_factory=list)
    operating_account: int = 0
    trust_account: int = 0
    # The fixed trust scenario with its hand-computed figures (None when the firm has no billing).
    trust: TrustRecipe | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "counts": {k: len(v) for k, v in vars(self).items() if isinstance(v, list) and k != "contact_names"},
            "bills_by_state": {k: len(v) for k, v in self.bills_by_state.items()},
            "operating_account": self.operating_account,
            "trust_account": self.trust_account,
            "contact_names": [list(c) for c in self.contact_names],
            "trust_recipe": self.trust.summary() if self.trust else None,
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


class Timeline:
    """Writes planned at the moment they happened, run in time order with the store pinned there.
    An action may plan later ones (a bill, once it exists, plans its payments)."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, Callable[[], object]]] = []
        self._seq = 0

    def at(self, when: datetime, action: Callable[[], object]) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, action))

    def run(self, sandbox: ClioFirm) -> None:
        while self._heap:
            when, _, action = heapq.heappop(self._heap)
            with sandbox.store.at(when):
                action()


def _moment(day: date, rng: random.Random, *, tz: Any) -> datetime:
    """A business-hours moment on ``day`` (09:00-17:59)."""
    return datetime.combine(day, time(9, 0), tzinfo=tz) + timedelta(seconds=rng.randint(0, 9 * 3600 - 1))


def seed_firm(
    sandbox: ClioFirm,
    *,
    contacts: int = 200,
    activities: int = 500,
    bills: int = 60,
    seed: int = 0,
    trust_recipe: bool | None = None,
) -> FirmSeed:
    """Create a realistic firm in ``sandbox`` whose history spans the past year. Webhooks do not
    fire for seeded data (it "already existed"). ``trust_recipe`` (default: when ``bills`` > 0)
    adds the fixed trust scenario of docs/sandbox-clio.md ("Seeded trust recipe")."""
    rng = random.Random(seed)
    store = sandbox.store
    out = FirmSeed()
    now = store.now()
    tz = now.tzinfo
    today = now.date()
    plan = Timeline()
    with store.lock, store.muted():
        accounts = store.all("bank_accounts")
        out.operating_account = next(a.id for a in accounts if a.attrs["type"] == "Operating")
        out.trust_account = next(a.id for a in accounts if a.attrs["type"] == "Trust")
        with store.at(now - timedelta(days=400)):
            _seed_firm_settings(sandbox, out)
        lawyers = [sandbox.default_user_id, *_add_lawyers(sandbox, now)]
        # Contacts arrive over months 13..7 ago, matters over months 6..3 ago, in order.
        for i in range(contacts):
            when = now - timedelta(days=380) + timedelta(seconds=int(i * 200 * 86_400 / max(contacts, 1)))
            with store.at(when):
                rec = domain.create_contact(store, _contact_data(rng, i))
            out.contacts.append(rec.id)
            emails = [store.get("email_addresses", e) for e in rec.link_ids("email_addresses")]
            primary = next((e.attrs["address"] for e in emails if e is not None and e.attrs.get("primary")), None)
            out.contact_names.append((_display_name(rec), primary))
        clients = out.contacts[: max(1, (contacts * 3) // 5)]
        matter_open: dict[int, date] = {}
        matter_close: dict[int, date] = {}
        n_matters = min(len(clients), max(1, contacts // 2)) if contacts else 0
        for i, client in enumerate(clients[:n_matters]):
            opened = today - timedelta(days=175) + timedelta(days=int(i * 100 / max(n_matters, 1)))
            kind = rng.randrange(len(MATTER_KINDS))
            with store.at(_moment(opened, rng, tz=tz)):
                rec = domain.create_matter(
                    store,
                    {
                        "client": {"id": client},
                        "description": f"Matter {i + 1}: {MATTER_KINDS[kind]}",
                        "status": "Pending" if i % 10 == 8 else "Open",
                        "responsible_attorney": {"id": rng.choice(lawyers)},
                        "originating_attorney": {"id": lawyers[0]},
                        "practice_area": {"id": out.practice_areas[kind]},
                        "open_date": opened.isoformat(),
                    },
                )
            out.matters.append(rec.id)
            matter_open[rec.id] = opened
            if i % 10 == 9:  # closed a few weeks ago; its work all happened before
                closed = today - timedelta(days=rng.randint(8, 30))
                matter_close[rec.id] = closed
                plan.at(_moment(closed, rng, tz=tz), _close(store, rec))
        act_dates = _seed_activities(sandbox, rng, out, activities, lawyers, matter_open, matter_close)
        _plan_bills(sandbox, rng, out, bills, act_dates, plan)
        _plan_trust(sandbox, rng, out, matter_open, plan)
        if (bills > 0) if trust_recipe is None else trust_recipe:
            out.trust = plan_trust_recipe(sandbox, plan, today=today, tz=tz)
        plan.run(sandbox)
    return out


def _close(store: Any, matter: Record) -> Callable[[], object]:
    return lambda: domain.update_matter(store, matter, {"status": "Closed"})


def _add_lawyers(sandbox: ClioFirm, now: datetime) -> list[int]:
    with sandbox.store.at(now - timedelta(days=400)):
        return [sandbox.add_user(first, last).id for first, last in (("Jordan", "Associate"), ("Casey", "Paralegal"))]


def _seed_firm_settings(sandbox: ClioFirm, out: FirmSeed) -> None:
    store = sandbox.store
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
                "visible_to_co_counsel": False,
                "currency": {"id": 101, "code": "USD", "sign": "$"},
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
                "currency": {"id": 101, "code": "USD", "sign": "$"},
            },
        )
        out.expense_categories.append(rec.id)
    for name, code, category in PRACTICE_AREAS:
        out.practice_areas.append(
            domain.create_practice_area(store, {"name": name, "code": code, "category": category}).id
        )


def _seed_activities(
    sandbox: ClioFirm,
    rng: random.Random,
    out: FirmSeed,
    count: int,
    lawyers: list[int],
    matter_open: dict[int, date],
    matter_close: dict[int, date],
) -> dict[int, date]:
    """Time entries and expenses, each created on its own date (oldest first)."""
    store = sandbox.store
    today = store.now().date()
    tz = store.now().tzinfo
    planned: list[tuple[datetime, int, dict[str, Any], int]] = []
    for i in range(count if out.matters else 0):
        matter = rng.choice(out.matters)
        first = matter_open[matter] + timedelta(days=1)
        last = min(today - timedelta(days=3), matter_close.get(matter, today) - timedelta(days=1))
        day = first + timedelta(days=rng.randint(0, max(0, (last - first).days)))
        if rng.random() < 0.8:
            data: dict[str, Any] = {
                "type": "TimeEntry",
                "quantity": rng.choice([360, 720, 1800, 3600, 5400, 7200, 12600]),
                "price": rng.choice([250.0, 300.0, 450.0]),
                "activity_description": {"id": rng.choice(out.activity_descriptions)},
            }
        else:
            data = {
                "type": "ExpenseEntry",
                "quantity": float(rng.randint(1, 3)),
                "price": float(rng.choice([12.5, 25.0, 85.0, 120.0])),
                "expense_category": {"id": rng.choice(out.expense_categories)},
                "tax_setting": "tax_1_only",
            }
        data.update(matter={"id": matter}, date=day.isoformat(), note=f"Work item {i + 1}")
        data["non_billable"] = rng.random() < 0.05
        planned.append((_moment(day, rng, tz=tz), i, data, rng.choice(lawyers)))
    dates: dict[int, date] = {}
    for when, _, data, user in sorted(planned, key=lambda p: (p[0], p[1])):
        with store.at(when):
            rec = domain.create_activity(store, data, user_id=user)
        out.activities.append(rec.id)
        dates[rec.id] = when.date()
    return dates


def _display_name(rec: Record) -> str:
    a = rec.attrs
    if a.get("type") == "Person":
        return " ".join(p for p in (a.get("first_name"), a.get("middle_name"), a.get("last_name")) if p)
    return str(a.get("name"))


def _plan_bills(
    sandbox: ClioFirm,
    rng: random.Random,
    out: FirmSeed,
    count: int,
    act_dates: dict[int, date],
    plan: Timeline,
) -> None:
    """Bills on the timeline: each issued a few days after the newest activity it bills, then
    approved, paid (in part, in full, from trust), credited, charged interest, voided or deleted
    on later dates, never later than yesterday."""
    store = sandbox.store
    today = store.now().date()
    tz = store.now().tzinfo
    unbilled: dict[int, list[int]] = {}
    for aid in out.activities:
        act = store.get("activities", aid)
        if act is not None and not act.attrs.get("non_billable"):
            unbilled.setdefault(act.link_id("matter") or 0, []).append(aid)
    matters = [m for m in out.matters if unbilled.get(m)]
    planned: list[tuple[date, int, int, list[int]]] = []
    for i in range(count):
        if not matters:
            break
        matter_id = matters[i % len(matters)]
        pool = unbilled[matter_id]
        take, unbilled[matter_id] = pool[:4], pool[4:]
        if not unbilled[matter_id]:
            matters.remove(matter_id)
        newest = max(act_dates[a] for a in take)
        issued = min(today - timedelta(days=2), newest + timedelta(days=rng.randint(1, 12)))
        planned.append((issued, i, matter_id, take))
    # Bill numbers and ids follow issue order, as they do in a firm.
    for n, (issued, i, matter_id, take) in enumerate(sorted(planned)):
        state = BILL_STATES[i % len(BILL_STATES)]
        plan.at(
            _moment(issued, rng, tz=tz),
            _bill_story(sandbox, rng, out, plan, issued=issued, i=i, n=n, state=state, matter_id=matter_id, take=take),
        )


def _bill_story(
    sandbox: ClioFirm,
    rng: random.Random,
    out: FirmSeed,
    plan: Timeline,
    *,
    issued: date,
    i: int,
    n: int,
    state: str,
    matter_id: int,
    take: list[int],
) -> Callable[[], None]:
    """The bill's creation, and (planned from there) what happens to it afterwards."""
    store = sandbox.store
    today = store.now().date()
    tz = store.now().tzinfo
    cap = today - timedelta(days=1)
    # Decide every later date now, so the random stream does not depend on execution order.
    steps = sorted(rng.randint(3, 25) for _ in range(3))
    days = [min(cap, issued + timedelta(days=d)) for d in steps]
    interest_day = issued + timedelta(days=31)  # the day after the bill fell due
    interest_amount = round(rng.uniform(5, 40), 2)
    moments = [_moment(d, rng, tz=tz) for d in (*days, interest_day)]
    story = _MoneyStory(
        state=state,
        i=i,
        moments=moments,
        from_trust=i % 4 == 3,
        interest=interest_amount if i % 7 == 2 and interest_day <= cap else None,
    )

    def create() -> None:
        matter = domain.require(store, "matters", matter_id)
        bill = domain.create_bill(
            store,
            client_id=matter.link_id("client") or 0,
            matter_ids=[matter_id],
            activity_ids=take,
            issued_at=issued.isoformat(),
            due_at=(issued + timedelta(days=30)).isoformat(),
            number=f"{1001 + n}",
            interest={"rate": 1.5, "type": "simple", "period": 30} if i % 7 == 2 else None,
            state="draft"
            if state in {"draft", "deleted"}
            else state
            if state == "awaiting_approval"
            else "awaiting_payment",
        )
        out.bills.append(bill.id)
        out.bills_by_state.setdefault(state, []).append(bill.id)
        if state in {"deleted", "void"}:
            plan.at(moments[0], lambda: domain.delete_bill(store, bill))
        elif state in {"awaiting_payment", "paid"}:
            _plan_money(store, out, bill, story, plan)

    return create


@dataclass(frozen=True)
class _MoneyStory:
    """What happens to an approved bill after it is issued, decided when it is planned."""

    state: str
    i: int
    moments: list[datetime]  # three business moments after issue, then the day after it fell due
    from_trust: bool
    interest: float | None  # an interest charge the day after it fell due, when that is in the past


def _plan_money(store: Any, out: FirmSeed, bill: Record, story: _MoneyStory, plan: Timeline) -> None:
    """Money on an approved bill, each write at its own later moment: interest (if any) before
    the payment that settles it; a retainer into trust before a payment from trust."""
    _first, second, third, after_due = story.moments
    amount = story.interest
    if amount is not None:
        plan.at(after_due, lambda: out.interest_charges.append(domain.add_interest(store, bill, amount=amount).id))
    if story.state == "paid":
        # Before today: the moments are capped at yesterday, and interest is only charged when
        # the day after due is in the past. A payment from trust is funded two hours before, once
        # any interest is on the bill, so the client's trust ledger never dips below zero.
        pay_at = max(third, after_due + timedelta(hours=3)) if amount is not None else third
        if story.from_trust:
            plan.at(pay_at - timedelta(hours=2), lambda: _retainer(store, out, bill))
        plan.at(pay_at, lambda: _pay_in_full(store, out, bill, from_trust=story.from_trust))
    elif (story.i // 6) % 3 == 0:
        plan.at(second, lambda: _pay_part(store, out, bill))
    elif (story.i // 6) % 3 == 1:
        plan.at(second, lambda: _credit(store, out, bill))


def _retainer(store: Any, out: FirmSeed, bill: Record) -> None:
    """Fund the client's trust ledger (on the bill's matter) before the bill is paid from it."""
    balance = bill_totals(store, bill)["balance"]
    tx = domain.create_bank_transaction(
        store,
        {
            "amount": balance,
            "bank_account": {"id": out.trust_account},
            "date": store.now().date().isoformat(),
            "client": {"id": bill.link_id("client")},
            "matter": {"id": bill.link_ids("matters")[0]},
            "description": "Retainer deposit",
            "transaction_type": "Deposit",
        },
    )
    out.bank_transactions.append(tx.id)


def _pay_in_full(store: Any, out: FirmSeed, bill: Record, *, from_trust: bool) -> None:
    balance = bill_totals(store, bill)["balance"]
    if balance <= 0:
        return
    account = out.trust_account if from_trust else out.operating_account
    out.allocations.append(domain.record_payment(store, bill, amount=balance, bank_account_id=account).id)


def _pay_part(store: Any, out: FirmSeed, bill: Record) -> None:
    balance = bill_totals(store, bill)["balance"]
    if balance > 10:
        out.allocations.append(domain.record_payment(store, bill, amount=round(balance / 3, 2)).id)


def _credit(store: Any, out: FirmSeed, bill: Record) -> None:
    balance = bill_totals(store, bill)["balance"]
    if balance > 10:
        memo = domain.issue_credit_memo(store, bill, amount=round(balance / 5, 2), description="Courtesy discount")
        out.credit_memos.append(memo.id)
        out.allocations.extend(memo.link_ids("allocations"))


def _plan_trust(
    sandbox: ClioFirm, rng: random.Random, out: FirmSeed, matter_open: dict[int, date], plan: Timeline
) -> None:
    """Retainers into trust for some clients, part of each later disbursed: no ledger goes negative."""
    store = sandbox.store
    today = store.now().date()
    tz = store.now().tzinfo
    first_matter: dict[int, int] = {}
    for m in out.matters:
        rec = store.get("matters", m)
        if rec is not None:
            first_matter.setdefault(rec.link_id("client") or 0, m)
    for k, client in enumerate(out.contacts[: min(25, len(out.contacts))]):
        matter = first_matter.get(client)
        if k % 2 or matter is None:
            continue
        start = matter_open[matter] + timedelta(days=1)
        deposit_day = start + timedelta(days=rng.randint(0, max(0, (today - start).days - 10)))
        amount = float(rng.choice([500, 1000, 2500, 5000]))
        party = {"client": {"id": client}, "matter": {"id": matter}, "bank_account": {"id": out.trust_account}}
        plan.at(
            _moment(deposit_day, rng, tz=tz),
            _tx(store, out, {**party, "amount": amount, "date": deposit_day.isoformat(),
                             "description": "Retainer deposit", "transaction_type": "Deposit"}),
        )  # fmt: skip
        if k % 4 == 0:
            out_day = min(today - timedelta(days=1), deposit_day + timedelta(days=rng.randint(3, 20)))
            plan.at(
                _moment(out_day, rng, tz=tz) + timedelta(hours=1),
                _tx(store, out, {**party, "amount": -amount / 5, "date": out_day.isoformat(),
                                 "description": "Disbursement", "transaction_type": "Withdrawal"}),
            )  # fmt: skip


def _tx(store: Any, out: FirmSeed, data: dict[str, Any]) -> Callable[[], None]:
    def write() -> None:
        out.bank_transactions.append(domain.create_bank_transaction(store, data).id)

    return write
