"""Property test: random sequences of operations by the owner and a staff member keep the ledger invariant.

A hypothesis state machine drives the real core operations against a Python model of the stock (and of orders
and product versions). After every step, the quantities equal the model's and ``check`` is clean; every refusal
the model predicts (insufficient stock, another store, a stale version, a finished order) is the one raised.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from core import open_db
from core.base.errors import ConflictError, InsufficientStock, InvalidTransition, PermissionDenied, ValidationError
from core.base.permissions import Actor
from core.domain.catalog import add_store, create_product, update_product
from core.domain.check import check
from core.domain.orders import cancel_order, create_order, ship_order
from core.domain.stock import record_removal, record_sale, set_count, stock_in, transfer

STORES = ("S1", "S2")
SKUS = ("P1", "P2", "P3")
OWNER = Actor(email="owner@x.test", role="owner", name="Owner")

who = st.sampled_from(["owner", "staff"])
stores = st.sampled_from(STORES)
skus = st.sampled_from(SKUS)
amounts = st.integers(min_value=1, max_value=15)
lines = st.lists(st.tuples(skus, amounts), min_size=1, max_size=3, unique_by=lambda line: line[0])


class LedgerMachine(RuleBasedStateMachine):
    @initialize()
    def open_shop(self):
        self.db = open_db(":memory:")
        ids = {code: add_store(self.db, OWNER, code, f"Store {code}")["id"] for code in STORES}
        self.staff = Actor(email="staff@x.test", role="staff", store_ids=frozenset({ids["S1"]}), name="Staff")
        for n, sku in enumerate(SKUS, start=1):
            create_product(self.db, OWNER, sku, f"Product {sku}", "Cat", f"{n}.50", 5)
        self.qty = {(s, p): 0 for s in STORES for p in SKUS}
        self.version = dict.fromkeys(SKUS, 1)
        self.reorder = dict.fromkeys(SKUS, 5)
        self.orders: dict[int, dict] = {}

    def teardown(self):
        if hasattr(self, "db"):
            self.db.close()

    # ---- helpers ----------------------------------------------------------------------------------------------

    def actor(self, name):
        return OWNER if name == "owner" else self.staff

    @staticmethod
    def allowed(name, *codes):
        return name == "owner" or all(code == "S1" for code in codes)

    # ---- rules --------------------------------------------------------------------------------------------------

    @rule(name=who, store=stores, sku=skus, n=amounts)
    def receive(self, name, store, sku, n):
        if not self.allowed(name, store):
            with pytest.raises(PermissionDenied):
                stock_in(self.db, self.actor(name), store, sku, n)
            return
        stock_in(self.db, self.actor(name), store, sku, n)
        self.qty[(store, sku)] += n

    @rule(name=who, store=stores, sale=lines)
    def sell(self, name, store, sale):
        if not self.allowed(name, store):
            with pytest.raises(PermissionDenied):
                record_sale(self.db, self.actor(name), store, sale)
        elif any(self.qty[(store, sku)] < n for sku, n in sale):
            with pytest.raises(InsufficientStock):
                record_sale(self.db, self.actor(name), store, sale)
        else:
            record_sale(self.db, self.actor(name), store, sale)
            for sku, n in sale:
                self.qty[(store, sku)] -= n

    @rule(name=who, store=stores, sku=skus, n=amounts, reason=st.sampled_from(["damaged", "expired", "lost"]))
    def remove(self, name, store, sku, n, reason):
        if not self.allowed(name, store):
            with pytest.raises(PermissionDenied):
                record_removal(self.db, self.actor(name), store, sku, n, reason)
        elif self.qty[(store, sku)] < n:
            with pytest.raises(InsufficientStock):
                record_removal(self.db, self.actor(name), store, sku, n, reason)
        else:
            record_removal(self.db, self.actor(name), store, sku, n, reason)
            self.qty[(store, sku)] -= n

    @rule(name=who, store=stores, sku=skus, n=st.integers(min_value=0, max_value=40))
    def count(self, name, store, sku, n):
        if not self.allowed(name, store):
            with pytest.raises(PermissionDenied):
                set_count(self.db, self.actor(name), store, sku, n)
            return
        set_count(self.db, self.actor(name), store, sku, n)
        self.qty[(store, sku)] = n

    @rule(name=who, source=stores, dest=stores, moved=lines)
    def move_between_stores(self, name, source, dest, moved):
        call = lambda: transfer(self.db, self.actor(name), source, dest, moved)  # noqa: E731
        if not self.allowed(name, source, dest):
            with pytest.raises(PermissionDenied):
                call()
        elif source == dest:
            with pytest.raises(ValidationError, match="two different stores"):
                call()
        elif any(self.qty[(source, sku)] < n for sku, n in moved):
            with pytest.raises(InsufficientStock):
                call()
        else:
            call()
            for sku, n in moved:
                self.qty[(source, sku)] -= n
                self.qty[(dest, sku)] += n

    @rule(name=who, store=stores, ordered=lines)
    def order(self, name, store, ordered):
        call = lambda: create_order(self.db, self.actor(name), store, ordered)  # noqa: E731
        if not self.allowed(name, store):
            with pytest.raises(PermissionDenied):
                call()
        elif any(self.qty[(store, sku)] < n for sku, n in ordered):
            with pytest.raises(InsufficientStock):
                call()
        else:
            order_id = call()["order_id"]
            self.orders[order_id] = {"store": store, "lines": ordered, "status": "pending"}
            for sku, n in ordered:
                self.qty[(store, sku)] -= n

    @precondition(lambda self: bool(self.orders))
    @rule(name=who, pick=st.integers(min_value=0), ship=st.booleans())
    def finish_order(self, name, pick, ship):
        order_id = sorted(self.orders)[pick % len(self.orders)]
        order = self.orders[order_id]
        call = lambda: (ship_order if ship else cancel_order)(self.db, self.actor(name), order_id)  # noqa: E731
        if not self.allowed(name, order["store"]):
            with pytest.raises(PermissionDenied):
                call()
        elif order["status"] != "pending":
            with pytest.raises(InvalidTransition):
                call()
        else:
            call()
            order["status"] = "shipped" if ship else "cancelled"
            if not ship:
                for sku, n in order["lines"]:
                    self.qty[(order["store"], sku)] += n

    @rule(name=who, sku=skus, stale=st.booleans(), level=st.integers(min_value=0, max_value=30))
    def edit_product(self, name, sku, stale, level):
        version = self.version[sku] - 1 if stale and self.version[sku] > 1 else self.version[sku]
        call = lambda: update_product(self.db, self.actor(name), sku, version, reorder_level=level)  # noqa: E731
        if name == "staff":
            with pytest.raises(PermissionDenied):
                call()
        elif version != self.version[sku]:
            with pytest.raises(ConflictError):
                call()
        else:
            row = call()
            if level != self.reorder[sku]:
                self.version[sku] += 1
                self.reorder[sku] = level
            assert row["version"] == self.version[sku]

    # ---- invariants ---------------------------------------------------------------------------------------------

    @invariant()
    def ledger_holds(self):
        if not hasattr(self, "db"):
            return
        with self.db.reader() as tx:
            stocked = tx.all(
                "SELECT st.code, p.sku, s.quantity FROM stock s JOIN stores st ON st.id = s.store_id"
                " JOIN products p ON p.id = s.product_id"
            )
            versions = dict(tx.all("SELECT sku, version FROM products"))
        assert {(store, sku): 0 for store in STORES for sku in SKUS} | {(c, p): q for c, p, q in stocked} == self.qty
        assert versions == self.version
        assert check(self.db) == {"ok": True, "problems": []}


LedgerMachine.TestCase.settings = settings(
    max_examples=15,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_ledger_state_machine = pytest.mark.slow(LedgerMachine.TestCase)  # 15 generated runs of 20 steps each
