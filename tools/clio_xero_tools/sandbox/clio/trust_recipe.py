"""The seeded trust recipe: a fixed trust history whose every figure is computed by hand.

Four clients, six matters and a year's trust activity (a trust request paid into trust, receipts,
payments of bills from trust, a transfer between two matters of one client, a disbursement, a
refund, a matter closed with money left on it, and exactly one overdrawn matter ledger hidden by
its client's positive total). Amounts and dates (days before the seed day) are constants here
and in docs/sandbox-clio.md ("Seeded trust recipe"); :class:`TrustRecipe` carries the expected
ledgers so tests compare the API with numbers nobody derived from the sandbox's own arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol

from . import domain
from .state import ClioFirm
from .store import Record


class Planner(Protocol):
    def at(self, when: datetime, action: Callable[[], object]) -> None: ...


CLIENTS = (  # key, contact data
    ("C1", {"type": "Person", "first_name": "Amelia", "last_name": "Hart"}),
    ("C2", {"type": "Company", "name": "Brightwater Holdings Ltd"}),
    ("C3", {"type": "Person", "first_name": "Wei", "last_name": "Chen"}),
    ("C4", {"type": "Company", "name": "Dunmore & Sons"}),
)
MATTERS = (  # key, client key, description
    ("M1", "C1", "Hart: property purchase"),
    ("M2", "C2", "Brightwater: lease dispute"),
    ("M3", "C2", "Brightwater: share sale"),
    ("M4", "C3", "Chen: estate administration"),
    ("M5", "C4", "Dunmore: debt recovery"),
    ("M6", "C4", "Dunmore: employment advice"),
)
# (days before the seed day, what, matter key, amount). Receipts/withdrawals are trust bank
# transactions; "bill" is a revenue bill of one untaxed line; "pay_from_trust" pays it.
EVENTS: tuple[tuple[int, str, str, str], ...] = (
    (160, "trust_request", "M1", "5000.00"),  # TR1, approved: a trust bill of 5,000.00
    (150, "pay_trust_request", "M1", "5000.00"),  # TR1 paid: +5,000.00 into trust on M1
    (140, "receipt", "M2", "2500.00"),
    (130, "receipt", "M4", "1200.00"),
    (120, "bill", "M1", "1000.00"),  # B1
    (110, "pay_from_trust", "M1", "1000.00"),  # B1 paid from trust: -1,000.00 M1, +1,000.00 operating
    (100, "transfer", "M2>M3", "1000.00"),  # -1,000.00 M2, +1,000.00 M3
    (100, "receipt", "M5", "1000.00"),
    (95, "receipt", "M6", "3000.00"),
    (90, "disbursement", "M1", "250.00"),
    (80, "bill", "M3", "800.00"),  # B2
    (70, "pay_from_trust", "M3", "800.00"),  # B2 paid from trust
    (65, "refund", "M4", "200.00"),
    (60, "close", "M4", "0"),  # closed with 1,000.00 left in trust
    (40, "disbursement", "M5", "1250.00"),  # M5 goes to -250.00: the one overdrawn ledger
    (20, "trust_request", "M2", "2000.00"),  # TR2, approved and unpaid: no trust money yet
)
# Hand-computed ledgers at the seed day (docs/sandbox-clio.md shows the sums).
EXPECTED_MATTERS = {
    "M1": Decimal("3750.00"),  # 5000 - 1000 - 250
    "M2": Decimal("1500.00"),  # 2500 - 1000
    "M3": Decimal("200.00"),  # 1000 - 800
    "M4": Decimal("1000.00"),  # 1200 - 200
    "M5": Decimal("-250.00"),  # 1000 - 1250
    "M6": Decimal("3000.00"),
}
EXPECTED_CLIENTS = {
    "C1": Decimal("3750.00"),
    "C2": Decimal("1700.00"),
    "C3": Decimal("1000.00"),
    "C4": Decimal("2750.00"),
}
EXPECTED_TRUST_TOTAL = Decimal("9200.00")  # 12,700 in - 3,500 out
EXPECTED_OPERATING_TOTAL = Decimal("1800.00")  # B1 + B2 paid from trust


@dataclass
class TrustRecipe:
    """Ids the recipe created (by key) and the figures it must produce."""

    clients: dict[str, int] = field(default_factory=dict)
    matters: dict[str, int] = field(default_factory=dict)
    bills: dict[str, int] = field(default_factory=dict)  # B1, B2, TR1, TR2 (trust bills)
    trust_requests: dict[str, int] = field(default_factory=dict)
    bank_transactions: list[int] = field(default_factory=list)
    seed_day: str = ""

    def expected_matter_ledgers(self) -> dict[int, Decimal]:
        return {self.matters[k]: v for k, v in EXPECTED_MATTERS.items()}

    def expected_client_ledgers(self) -> dict[int, Decimal]:
        return {self.clients[k]: v for k, v in EXPECTED_CLIENTS.items()}

    @property
    def overdrawn_matter(self) -> int:
        return self.matters["M5"]

    @property
    def closed_matter_with_money(self) -> int:
        return self.matters["M4"]

    def summary(self) -> dict[str, Any]:
        return {
            "seed_day": self.seed_day,
            "clients": self.clients,
            "matters": self.matters,
            "bills": self.bills,
            "trust_requests": self.trust_requests,
            "bank_transactions": self.bank_transactions,
            "expected": {
                "matter_ledgers": {k: str(v) for k, v in EXPECTED_MATTERS.items()},
                "client_ledgers": {k: str(v) for k, v in EXPECTED_CLIENTS.items()},
                "trust_total_from_recipe": str(EXPECTED_TRUST_TOTAL),
                "operating_total_from_recipe": str(EXPECTED_OPERATING_TOTAL),
                "overdrawn_matter": "M5",
                "closed_matter_with_money": "M4",
            },
        }


def plan_trust_recipe(sandbox: ClioFirm, plan: Planner, *, today: date, tz: Any) -> TrustRecipe:
    """Create the recipe's clients and matters now (a year back) and put its events on ``plan``."""
    store = sandbox.store
    recipe = TrustRecipe(seed_day=today.isoformat())
    start = datetime.combine(today - timedelta(days=200), time(10, 0), tzinfo=tz)
    with store.at(start):
        for key, data in CLIENTS:
            recipe.clients[key] = domain.create_contact(store, data).id
    for n, (key, client, description) in enumerate(MATTERS):
        opened = today - timedelta(days=190 - n)
        with store.at(datetime.combine(opened, time(11, 0), tzinfo=tz)):
            matter = domain.create_matter(
                store,
                {"client": {"id": recipe.clients[client]}, "description": description, "open_date": opened.isoformat()},
            )
        recipe.matters[key] = matter.id
    trust = next(a.id for a in store.all("bank_accounts") if a.attrs.get("type") == "Trust")
    for seq, (days, what, matter_key, amount) in enumerate(EVENTS):
        day = today - timedelta(days=days)
        when = datetime.combine(day, time(14, 0), tzinfo=tz) + timedelta(minutes=seq)
        plan.at(when, _event(sandbox, recipe, trust, day, what, matter_key, float(amount)))
    return recipe


def _event(
    sandbox: ClioFirm, recipe: TrustRecipe, trust: int, day: date, what: str, matter_key: str, amount: float
) -> Callable[[], None]:
    store = sandbox.store

    def matter(key: str) -> Record:
        return domain.require(store, "matters", recipe.matters[key])

    def tx(key: str, signed: float, kind: str, description: str) -> None:
        m = matter(key)
        rec = domain.create_bank_transaction(
            store,
            {
                "amount": signed,
                "bank_account": {"id": trust},
                "date": day.isoformat(),
                "client": {"id": m.link_id("client")},
                "matter": {"id": m.id},
                "transaction_type": kind,
                "description": description,
            },
        )
        recipe.bank_transactions.append(rec.id)

    def run() -> None:
        if what == "receipt":
            tx(matter_key, amount, "Deposit", "Receipt into trust")
        elif what in {"disbursement", "refund"}:
            tx(matter_key, -amount, "Withdrawal", "Refund to client" if what == "refund" else "Disbursement")
        elif what == "transfer":
            source, target = matter_key.split(">")
            tx(source, -amount, "Transfer", f"Transfer to {matter(target).attrs['display_number']}")
            tx(target, amount, "Transfer", f"Transfer from {matter(source).attrs['display_number']}")
        elif what == "close":
            domain.update_matter(store, matter(matter_key), {"status": "Closed"})
        elif what == "trust_request":
            m = matter(matter_key)
            request = domain.create_trust_request(
                store,
                {
                    "client_id": m.link_id("client"),
                    "trust_type": "matter",
                    "matter": [{"id": m.id, "trust_amount": amount, "note": "Funds for settlement"}],
                    "approved": True,
                    "issue_date": day.isoformat(),
                },
            )
            key = f"TR{len(recipe.trust_requests) + 1}"
            recipe.trust_requests[key] = request.id
            recipe.bills[key] = request.link_id("bill") or 0
        elif what == "pay_trust_request":
            bill = domain.require(store, "bills", recipe.bills["TR1"])
            alloc = domain.record_payment(store, bill, amount=amount, bank_account_id=trust, when=day.isoformat())
            recipe.bank_transactions.extend(t.id for t in _transactions_of(store, alloc))
        elif what == "bill":
            m = matter(matter_key)
            key = f"B{sum(k.startswith('B') for k in recipe.bills) + 1}"
            recipe.bills[key] = domain.create_bill(
                store,
                client_id=m.link_id("client") or 0,
                matter_ids=[m.id],
                line_items=[{"description": "Professional fees", "price": amount, "quantity": 1, "taxable": False}],
                issued_at=day.isoformat(),
                state="awaiting_payment",
            ).id
        elif what == "pay_from_trust":
            key = "B1" if matter_key == "M1" else "B2"
            bill = domain.require(store, "bills", recipe.bills[key])
            alloc = domain.record_payment(store, bill, amount=amount, bank_account_id=trust, when=day.isoformat())
            recipe.bank_transactions.extend(
                t.id for t in _transactions_of(store, alloc) if t.link_id("bank_account") == trust
            )

    return run


def _transactions_of(store: Any, alloc: Record) -> list[Record]:
    return [t for t in store.all("bank_transactions") if t.link_id("allocation") == alloc.id]
