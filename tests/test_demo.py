"""``core.tools.demo.generate``: reproducible sample data that passes ``check``, with a weekly rhythm and real names."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core import open_db
from core.base.errors import PermissionDenied, ValidationError
from core.base.permissions import SYSTEM, Actor
from core.db import Database
from core.domain.catalog import add_store
from core.domain.check import check
from core.domain.signin import actor_for
from core.domain.stock import record_sale
from core.domain.users import create_first_owner
from core.tools.cli import main
from core.tools.demo import MAX_PRODUCTS, MAX_STORES, generate

NOW = datetime(2025, 3, 14, 21, 30, tzinfo=UTC)  # a Friday evening: every day of the history is complete


def _counts(db: Database) -> tuple[int, ...]:
    with db.reader() as tx:
        row = tx.one(
            "SELECT (SELECT count(*) FROM stores), (SELECT count(*) FROM vendors), (SELECT count(*) FROM products),"
            " (SELECT count(*) FROM stock), (SELECT count(*) FROM movements), (SELECT count(*) FROM audit)"
        )
    assert row is not None
    return tuple(int(v) for v in row)


def _snapshot(db: Database) -> dict[str, list[tuple]]:
    with db.reader() as tx:
        return {
            "stores": tx.all("SELECT id, code, name FROM stores ORDER BY id"),
            "vendors": tx.all("SELECT id, name, contact FROM vendors ORDER BY id"),
            "products": tx.all(
                "SELECT id, sku, name, category, unit_price, reorder_level, vendor_id FROM products ORDER BY id"
            ),
            "stock": tx.all("SELECT store_id, product_id, quantity, version FROM stock ORDER BY 1, 2"),
            "movements": tx.all(
                "SELECT id, store_id, product_id, kind, delta, quantity_after, reason, vendor_id, actor, created_at"
                " FROM movements ORDER BY id"
            ),
        }


def test_generate__passes_check_with_the_sizes_asked_for(db: Database) -> None:
    summary = generate(db, stores=3, products=40, days=14, seed=7, now=NOW)

    assert check(db) == {"ok": True, "problems": []}
    stores, vendors, products, stock, movements, _audits = _counts(db)
    assert (stores, products, stock) == (3, 40, 120)
    assert 20 <= vendors <= 40
    assert summary["stores"] == 3 and summary["products"] == 40 and summary["stock_rows"] == 120
    assert summary["vendors"] == vendors and summary["movements"] == movements
    assert summary["days"] == 14 and summary["seed"] == 7
    assert movements > 120  # more than the opening stock-ins
    with db.reader() as tx:
        assert tx.scalar("SELECT count(DISTINCT CAST(created_at AT TIME ZONE 'UTC' AS DATE)) FROM movements") == 14
        assert tx.all("SELECT action, outcome, actor FROM audit") == [("system.demo", "ok", "cli")]


@pytest.mark.slow  # large data: a demo shop of weeks of history
def test_generate__same_seed_gives_identical_data_and_another_seed_differs(tmp_path: Path) -> None:
    snapshots = []
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        database = open_db(str(tmp_path / f"{name}.duckdb"))
        try:
            generate(database, stores=2, products=30, days=10, seed=seed, now=NOW)
            snapshots.append(_snapshot(database))
        finally:
            database.close()
    first, same, other = snapshots
    assert first == same
    assert first["products"] != other["products"]
    assert first["movements"] != other["movements"]


@pytest.mark.slow  # large data: a demo shop of weeks of history
def test_generate__ledger_is_ordered_in_time_with_sensible_kinds(db: Database) -> None:
    generate(db, stores=3, products=100, days=30, seed=3, now=NOW)

    with db.reader() as tx:
        assert (
            tx.scalar(
                "SELECT count(*) FROM (SELECT created_at < lag(created_at) OVER (ORDER BY id) AS back FROM movements) x"
                " WHERE back"
            )
            == 0
        )
        # the first movement of every pair is its opening stock-in, from the product's vendor
        firsts = tx.all(
            "SELECT DISTINCT m.kind, m.reason, m.vendor_id = p.vendor_id FROM movements m"
            " JOIN products p ON p.id = m.product_id"
            " WHERE m.id IN (SELECT min(id) FROM movements GROUP BY store_id, product_id)"
        )
        assert firsts == [("stock_in", "opening stock", True)]
        kinds = dict(tx.all("SELECT kind, count(*) FROM movements GROUP BY kind"))
        assert set(kinds) == {"stock_in", "sale", "removal"}
        assert kinds["stock_in"] > 300  # restocking deliveries besides the opening stock
        assert {r[0] for r in tx.all("SELECT DISTINCT reason FROM movements WHERE kind = 'removal'")} <= {
            "damaged",
            "expired",
            "lost",
        }
        assert tx.scalar("SELECT count(*) FROM movements WHERE kind = 'stock_in' AND vendor_id IS NULL") == 0
        hours = tx.one(
            "SELECT min(extract(hour FROM created_at AT TIME ZONE 'UTC')), max(extract(hour FROM created_at AT TIME ZONE 'UTC'))"
            " FROM movements WHERE kind = 'sale'"
        )
        assert hours == (8, 21)
        span = tx.one("SELECT min(created_at), max(created_at) FROM movements")
    assert span is not None
    assert span[0] >= datetime(2025, 2, 13, tzinfo=UTC) and span[1] <= NOW


@pytest.mark.slow  # large data: a demo shop of weeks of history
def test_generate__weekends_sell_more_than_weekdays(db: Database) -> None:
    generate(db, stores=3, products=100, days=56, seed=5, now=NOW)

    with db.reader() as tx:
        weekend, weekday = tx.one(
            "SELECT avg(units) FILTER (WHERE extract(isodow FROM day) >= 6), avg(units) FILTER (WHERE extract(isodow FROM day) < 6)"
            " FROM (SELECT CAST(created_at AT TIME ZONE 'UTC' AS DATE) AS day, -sum(delta) AS units"
            "       FROM movements WHERE kind = 'sale' GROUP BY 1) d"
        )
    assert float(weekend) > 1.2 * float(weekday)


@pytest.mark.slow  # large data: a demo shop of weeks of history
def test_generate__some_pairs_end_low_and_some_out_of_stock(db: Database) -> None:
    generate(db, stores=4, products=250, days=60, seed=9, now=NOW)

    with db.reader() as tx:
        out, low, healthy = tx.one(
            "SELECT count(*) FILTER (WHERE s.quantity = 0),"
            " count(*) FILTER (WHERE s.quantity > 0 AND s.quantity <= p.reorder_level),"
            " count(*) FILTER (WHERE s.quantity > p.reorder_level)"
            " FROM stock s JOIN products p ON p.id = s.product_id"
        )
    assert out > 0 and low > 0
    assert healthy > out + low


@pytest.mark.slow  # large data: a demo shop of weeks of history
def test_generate__names_prices_and_codes_are_realistic(db: Database) -> None:
    generate(db, stores=12, products=3300, days=1, seed=42, now=NOW)  # ids past 2**15

    with db.reader() as tx:
        products = tx.all("SELECT sku, name, category, unit_price, reorder_level FROM products")
        stores = tx.all("SELECT code, name FROM stores")
        vendors = [r[0] for r in tx.all("SELECT name FROM vendors")]
    names = [p[1] for p in products]
    assert len(set(names)) == len(names)
    size = re.compile(
        r" \d+(\.\d+)? (g|kg|ml|L|bags|pcs|pc|pads|sticks|boxes|refills?|rolls|servings)( \(Pack of \d+\))?$"
    )
    assert all(size.search(n) for n in names), [n for n in names if not size.search(n)][:5]
    assert not any(re.search(r"\b(product|item|sample|test)\b", n, re.I) for n in names)
    assert 12 <= len({p[2] for p in products}) <= 15
    assert all(0 < p[3] < 10_000 and 3 <= p[4] <= 100 for p in products)
    salt = [p for p in products if p[1].startswith("Tata Salt") and p[1].endswith(" 1 kg")]
    assert salt and all(15 <= p[3] <= 50 for p in salt)  # a price that fits the item
    assert all(re.fullmatch(r"[A-Z]{3}\d{3}", code) and ", " in name for code, name in stores)
    assert len(vendors) == len(set(vendors)) and not any(re.search(r"\d", v) for v in vendors)


def test_generate__progress_rises_to_one(db: Database) -> None:
    calls: list[tuple[float, str]] = []
    generate(db, stores=2, products=20, days=5, progress=lambda f, m: calls.append((f, m)), now=NOW)

    fractions = [f for f, _ in calls]
    assert len(calls) >= 5
    assert fractions == sorted(fractions) and len(set(fractions)) == len(fractions)
    assert fractions[0] >= 0.0 and fractions[-1] == 1.0
    assert all(isinstance(m, str) and m for _, m in calls)


def test_generate__ordinary_operations_work_afterwards(db: Database) -> None:
    generate(db, stores=2, products=20, days=5, now=NOW)
    with db.reader() as tx:
        code, sku, quantity = tx.one(
            "SELECT st.code, p.sku, s.quantity FROM stock s JOIN stores st ON st.id = s.store_id"
            " JOIN products p ON p.id = s.product_id WHERE s.quantity > 0 ORDER BY s.quantity DESC LIMIT 1"
        )
        last_id = tx.scalar("SELECT max(id) FROM movements")

    result = record_sale(db, SYSTEM, code, [(sku, 1)])
    add_store(db, SYSTEM, "NEW1", "Corner Shop")

    assert result["movements"][0]["quantity_after"] == quantity - 1
    assert result["movements"][0]["id"] > last_id
    assert check(db)["ok"]


def test_generate__first_run_owner_loads_and_is_the_actor(db: Database) -> None:
    create_first_owner(db, "owner@shop.test", "Olivia Owner", "correct horse 42")
    owner = actor_for(db, "owner@shop.test")

    generate(db, owner, stores=2, products=15, days=4, now=NOW)

    with db.reader() as tx:
        assert tx.all("SELECT DISTINCT actor FROM movements") == [("owner@shop.test",)]
        assert tx.scalar("SELECT count(*) FROM audit WHERE action = 'system.demo' AND actor = 'owner@shop.test'") == 1
    assert check(db)["ok"]


def test_generate__refuses_a_database_that_has_stores(db: Database) -> None:
    add_store(db, SYSTEM, "S1", "Main Street")
    before = _counts(db)

    with pytest.raises(ValidationError, match="empty database"):
        generate(db, stores=2, products=10, days=3)
    assert _counts(db) == before


def test_generate__refuses_a_database_that_has_products(shop: Database) -> None:
    before = _counts(shop)

    with pytest.raises(ValidationError, match="already has 2 stores and 3 products"):
        generate(shop, stores=2, products=10, days=3)
    assert _counts(shop) == before
    assert check(shop)["ok"]


def test_generate__staff_is_denied_and_the_attempt_audited(db: Database) -> None:
    staff = Actor(email="staff@shop.test", role="staff", store_ids=frozenset({1}))

    with pytest.raises(PermissionDenied):
        generate(db, staff, stores=2, products=10, days=3)

    stores, vendors, products, stock, movements, _audits = _counts(db)
    assert (stores, vendors, products, stock, movements) == (0, 0, 0, 0, 0)
    with db.reader() as tx:
        assert tx.all("SELECT actor, action, outcome FROM audit") == [("staff@shop.test", "system.manage", "denied")]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"stores": 0}, "stores"),
        ({"stores": MAX_STORES + 1}, "stores"),
        ({"products": -5}, "products"),
        ({"products": MAX_PRODUCTS + 1}, "products"),
        ({"days": 0}, "days"),
        ({"days": 10_000}, "days"),
        ({"stores": "3"}, "stores"),
        ({"days": 2.5}, "days"),
        ({"products": True}, "products"),
        ({"seed": -1}, "seed"),
        ({"stores": 1000, "products": 11_000}, "products"),
        ({"stores": 1000, "products": 10_000, "days": 200}, "days"),
    ],
)
def test_generate__bad_arguments_are_refused_and_nothing_written(db: Database, arguments: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        generate(db, **arguments)

    assert [e.field for e in caught.value.errors] == [field]
    assert field in str(caught.value) and str(caught.value).endswith(".")
    assert _counts(db) == (0, 0, 0, 0, 0, 0)


def test_generate__a_failure_midway_leaves_nothing(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    import core.tools.demo_plan

    def broken(self: object, tx: object, email: str) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(core.tools.demo_plan.Plan, "_movements", broken)
    with pytest.raises(RuntimeError):
        generate(db, stores=2, products=10, days=3)

    stores, vendors, products, stock, movements, _audits = _counts(db)
    assert (stores, vendors, products, stock, movements) == (0, 0, 0, 0, 0)


def test_cli_demo__loads_prints_counts_and_refuses_a_second_load(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    target = str(tmp_path / "cli.duckdb")

    code = main(["--db", target, "demo", "--stores", "2", "--products", "25", "--days", "7", "--seed", "3", "--json"])
    summary = json.loads(capsys.readouterr().out)
    again = main(["--db", target, "demo", "--stores", "2"])
    refusal = capsys.readouterr().err
    checked = main(["--db", target, "check", "--json"])
    report = json.loads(capsys.readouterr().out)

    assert code == 0
    assert summary["stores"] == 2 and summary["products"] == 25 and summary["stock_rows"] == 50
    assert summary["movements"] > 50 and summary["seed"] == 3
    assert again == 1 and "empty database" in refusal and "Traceback" not in refusal
    assert checked == 0 and report["ok"] is True


def test_cli_demo__too_many_stores_is_refused_with_a_sentence(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["--db", str(tmp_path / "x.duckdb"), "demo", "--stores", "5000"])

    assert code == 1
    assert "stores" in capsys.readouterr().err
