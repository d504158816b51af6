"""Many threads, one Database, the same rows: versioned product edits never lose an update, sales never oversell,
stock never goes negative, and ``check`` stays clean.

``hammer`` is shared with the benchmark (``tests/perf/bench_core.py``), which prints its counts.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

import pytest

from core.base.errors import ConflictError, InsufficientStock
from core.base.permissions import SYSTEM, Actor
from core.db import Database
from core.domain.catalog import add_store, create_product, get_product, update_product
from core.domain.check import check
from core.domain.orders import cancel_order, create_order
from core.domain.stock import get_stock, record_sale, set_count, stock_in

pytestmark = pytest.mark.slow  # concurrency: threads racing on one database

SKU, STORE = "HOT-1", "S1"


@dataclass
class Tally:
    threads: int = 0
    edit_attempts: int = 0
    accepted: int = 0
    conflicts: int = 0
    sale_attempts: int = 0
    sales_ok: int = 0
    units_sold: int = 0
    sales_refused: int = 0
    errors: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **counts: int) -> None:
        with self.lock:
            for key, n in counts.items():
                setattr(self, key, getattr(self, key) + n)


def seed(db: Database, initial_stock: int) -> None:
    add_store(db, SYSTEM, STORE, "Busy Store")
    create_product(db, SYSTEM, SKU, "Hot item", "Popular", "10.00", 0)
    stock_in(db, SYSTEM, STORE, SKU, initial_stock)


def hammer(db: Database, *, threads: int = 8, edits: int = 100, sales: int = 40, seed_value: int = 7) -> Tally:
    """Each thread makes ``edits`` versioned edit attempts (read the version, write reorder_level + 1 with it; a
    conflict is counted and the next attempt reads again) interleaved with ``sales`` one-to-three-unit sales of
    the same stock row. Returns the tally of what was accepted and refused."""
    tally = Tally(threads=threads)
    clerk = Actor(email="clerk@x.test", role="staff", store_ids=frozenset({1}))
    start = threading.Barrier(threads)

    def worker(n: int) -> None:
        rng = random.Random(seed_value * 1000 + n)
        plan = ["edit"] * edits + ["sale"] * sales
        rng.shuffle(plan)
        start.wait()
        for step in plan:
            try:
                if step == "edit":
                    row = get_product(db, SKU)
                    try:
                        update_product(db, SYSTEM, SKU, row["version"], reorder_level=row["reorder_level"] + 1)
                        tally.add(edit_attempts=1, accepted=1)
                    except ConflictError:
                        tally.add(edit_attempts=1, conflicts=1)
                else:
                    qty = rng.randint(1, 3)
                    try:
                        record_sale(db, clerk if n % 2 else SYSTEM, STORE, [(SKU, qty)])
                        tally.add(sale_attempts=1, sales_ok=1, units_sold=qty)
                    except InsufficientStock:
                        tally.add(sale_attempts=1, sales_refused=1)
            except BaseException as exc:  # anything else is a failure the test reports
                with tally.lock:
                    tally.errors.append(exc)
                return

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return tally


def test_eight_threads__no_lost_update_no_negative_stock_no_oversell(db):
    initial = 400  # less than the ~640 units the threads try to sell: some sales must be refused
    seed(db, initial)
    started = time.perf_counter()
    tally = hammer(db, threads=8, edits=100, sales=40)
    elapsed = time.perf_counter() - started
    assert not tally.errors, tally.errors[:3]
    assert tally.edit_attempts == 8 * 100 and tally.sale_attempts == 8 * 40
    product = get_product(db, SKU)
    # zero lost updates: every accepted edit bumped the version once and its increment landed
    assert product["version"] == 1 + tally.accepted
    assert product["reorder_level"] == tally.accepted
    assert tally.accepted + tally.conflicts == tally.edit_attempts
    assert tally.accepted > 0 and tally.conflicts > 0  # the threads really did collide
    # sales never oversell, stock never negative
    final = get_stock(db, SYSTEM, STORE, SKU)["quantity"]
    assert final >= 0
    assert tally.units_sold == initial - final
    assert tally.sales_refused > 0
    with db.reader() as tx:
        assert tx.scalar("SELECT count(*) FROM movements WHERE kind = 'sale'") == tally.sales_ok
        assert tx.scalar("SELECT min(quantity_after) FROM movements") >= 0
        audited = tx.scalar("SELECT count(*) FROM audit WHERE action = 'product.update' AND outcome = 'ok'")
    assert audited == tally.accepted
    assert check(db) == {"ok": True, "problems": []}
    assert elapsed < 60, f"the concurrency run took {elapsed:.1f} s"


def test_two_threads__shipping_and_cancelling_one_order_apply_exactly_one(db):
    seed(db, 50)
    for _ in range(10):
        order_id = create_order(db, SYSTEM, STORE, [(SKU, 5)])["order_id"]
        barrier, outcomes = threading.Barrier(2), []

        def act(fn, order_id=order_id, barrier=barrier, outcomes=outcomes):
            barrier.wait()
            try:
                outcomes.append(fn(db, SYSTEM, order_id)["status"])
            except Exception as exc:  # the loser is refused; collected for the assertion
                outcomes.append(type(exc).__name__)

        from core.domain.orders import ship_order

        pool = [threading.Thread(target=act, args=(f,)) for f in (ship_order, cancel_order)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        assert sorted(outcomes) in (["InvalidTransition", "shipped"], ["InvalidTransition", "cancelled"])
    with db.reader() as tx:
        cancelled = tx.scalar("SELECT count(*) FROM orders WHERE status = 'cancelled'")
    assert get_stock(db, SYSTEM, STORE, SKU)["quantity"] == 50 - 5 * (10 - cancelled)
    assert check(db)["ok"]


def test_counts_and_sales_at_once__the_ledger_still_adds_up(db):
    seed(db, 100)
    errors: list[BaseException] = []

    def counter():
        for n in range(40):
            try:
                set_count(db, SYSTEM, STORE, SKU, 100 + n % 7)
            except ConflictError:
                pass
            except BaseException as exc:  # reported below
                errors.append(exc)

    def seller():
        for _ in range(40):
            try:
                record_sale(db, SYSTEM, STORE, [(SKU, 2)])
            except (InsufficientStock, ConflictError):
                pass
            except BaseException as exc:  # reported below
                errors.append(exc)

    pool = [threading.Thread(target=f) for f in (counter, seller, seller)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert not errors, errors[:3]
    assert check(db) == {"ok": True, "problems": []}


def test_a_duplicate_key_that_persists__is_retried_three_times_not_thirty(shop):
    """A unique index refusing a row is usually two people adding the same thing at once (the retry then sees it);
    one that survives fresh attempts is no race, so the runner gives up after three and says so."""
    from core.base.errors import DuplicateKey
    from core.domain.ops import DUPLICATE_ATTEMPTS, transact

    attempts = []

    def body(tx):
        attempts.append(1)
        tx.execute("INSERT INTO stores (code, name) VALUES ('S1', 'Again')")  # S1 exists: no check, on purpose

    with pytest.raises(DuplicateKey, match="already exists"):
        transact(shop, body)
    assert len(attempts) == DUPLICATE_ATTEMPTS == 3
