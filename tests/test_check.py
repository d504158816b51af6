"""The database's own verdicts on its data: ``check`` lists every broken invariant, and the KPIs agree with an
independent Python computation over small hand-built data."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.base.errors import NotFound, PermissionDenied
from core.base.permissions import SYSTEM, Actor
from core.domain.catalog import add_store, create_product, deactivate_product, update_store
from core.domain.check import MAX_LISTED, check
from core.domain.orders import create_order
from core.domain.stock import record_sale, set_count, stock_in, transfer
from core.reads.kpis import KPI_KEYS, compute_kpis

# ---- check ----------------------------------------------------------------------------------------------------


def test_check__empty_and_busy_databases_are_clean(db, shop):
    assert check(db) == {"ok": True, "problems": []}
    transfer(shop, SYSTEM, "S1", "S2", [("MILK-1L", 10)])
    create_order(shop, SYSTEM, "S2", [("MILK-1L", 2)])
    set_count(shop, SYSTEM, "S1", "RICE-5KG", 3)
    assert check(shop) == {"ok": True, "problems": []}


def _sql(db, *statements):
    with db.transaction() as tx:
        for sql in statements:
            tx.execute(sql)


def _without_constraints(db, table):
    """Recreate ``table`` as a plain copy (CREATE TABLE AS keeps no CHECK), to store what the schema forbids."""
    _sql(db, f"ALTER TABLE {table} RENAME TO {table}_old", f"CREATE TABLE {table} AS SELECT * FROM {table}_old")
    _sql(db, f"DROP TABLE {table}_old")


def _kinds(result):
    assert result["ok"] is False
    return {p.split(":", 1)[0] for p in result["problems"]}


CORRUPTIONS = {
    "stock differs from the ledger": [
        "UPDATE stock SET quantity = quantity + 5 WHERE product_id = (SELECT id FROM products WHERE sku = 'MILK-1L')"
    ],
    "movements without a stock row": [
        "DELETE FROM stock WHERE product_id = (SELECT id FROM products WHERE sku = 'SOAP-100')"
    ],
    "last movement disagrees with stock": [
        "UPDATE movements SET quantity_after = quantity_after + 1 WHERE id = (SELECT max(id) FROM movements)"
    ],
    "stock version is not 1 + its movements": ["UPDATE stock SET version = version + 1"],
    "reference to a missing row": ["DELETE FROM vendors WHERE name = 'Amul'"],
}


ALSO_REPORTED = {"stock differs from the ledger": {"last movement disagrees with stock"}}


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_check__lists_each_kind_of_problem(shop, kind):
    _sql(shop, *CORRUPTIONS[kind])
    assert _kinds(check(shop)) == {kind} | ALSO_REPORTED.get(kind, set())


def test_check__a_changed_quantity_names_store_product_and_both_figures(shop):
    _sql(shop, CORRUPTIONS["stock differs from the ledger"][0])
    assert "stock differs from the ledger: S1, MILK-1L, 105, 100" in check(shop)["problems"]


def test_check__a_deleted_product_is_a_missing_reference(shop):
    _sql(shop, "DELETE FROM products WHERE sku = 'RICE-5KG'")
    assert any(p.startswith("reference to a missing row: stock.product_id") for p in check(shop)["problems"])


def test_check__negative_quantities_are_listed(shop):
    _without_constraints(shop, "stock")
    _without_constraints(shop, "movements")
    _sql(
        shop,
        "UPDATE stock SET quantity = -3 WHERE product_id = (SELECT id FROM products WHERE sku = 'SOAP-100')",
        "UPDATE movements SET quantity_after = -3, delta = -3 WHERE product_id = (SELECT id FROM products WHERE sku = 'SOAP-100')",
    )
    problems = check(shop)["problems"]
    assert any(p.startswith("negative quantity: stock") for p in problems)
    assert any(p.startswith("negative quantity: movement") for p in problems)


def test_check__versions_below_one_are_listed(shop):
    _without_constraints(shop, "products")
    _sql(shop, "UPDATE products SET version = 0 WHERE sku = 'MILK-1L'")
    assert "version below 1: product, MILK-1L, 0, 0" in check(shop)["problems"]


def test_check__many_problems_of_one_kind_are_capped(db):
    add_store(db, SYSTEM, "S1", "One")
    for n in range(MAX_LISTED + 2):
        create_product(db, SYSTEM, f"P{n}", f"P{n}", "C", "1")
        stock_in(db, SYSTEM, "S1", f"P{n}", 1)
    _sql(db, "UPDATE stock SET version = version + 1")
    problems = [p for p in check(db)["problems"] if p.startswith("stock version")]
    assert len(problems) == MAX_LISTED + 1
    assert problems[-1].endswith("more rows not listed")


# ---- KPIs against an independent computation ------------------------------------------------------------------

PRODUCTS = {  # sku: (price, reorder level)
    "A": ("10.00", 5),
    "B": ("2.50", 10),
    "C": ("100.00", 0),
    "D": ("1.00", 3),
    "E": ("7.25", 1),
}


@pytest.fixture
def kpi_shop(db):
    """Hand-built stock; returns the Python model {(store, sku): quantity} plus what is inactive."""
    for code in ("S1", "S2", "S3"):
        add_store(db, SYSTEM, code, f"Store {code}")
    for sku, (price, reorder) in PRODUCTS.items():
        create_product(db, SYSTEM, sku, f"Product {sku}", "Cat", price, reorder)
    model: dict[tuple[str, str], int] = {}

    def put(store, sku, n):
        stock_in(db, SYSTEM, store, sku, n)
        model[(store, sku)] = model.get((store, sku), 0) + n

    put("S1", "A", 20)
    put("S1", "B", 10)  # at the reorder level: low
    put("S1", "C", 5)
    record_sale(db, SYSTEM, "S1", [("C", 5)])  # out of stock
    model[("S1", "C")] = 0
    put("S1", "D", 2)
    put("S2", "A", 3)  # low
    put("S2", "B", 4)
    set_count(db, SYSTEM, "S2", "B", 0)  # out of stock
    model[("S2", "B")] = 0
    put("S2", "C", 1)  # reorder level 0: not low
    put("S3", "A", 50)
    deactivate_product(db, SYSTEM, "D")
    update_store(db, SYSTEM, "S3", active=False)
    return db, model, {"D"}, {"S3"}


def expected_kpis(model, inactive_products, inactive_stores, stores):
    rows = [
        (store, sku, q)
        for (store, sku), q in model.items()
        if store in stores and store not in inactive_stores and sku not in inactive_products
    ]
    return {
        "total_skus": len({sku for _, sku, _ in rows}),
        "total_units": sum(q for _, _, q in rows),
        "stock_value": sum((Decimal(PRODUCTS[sku][0]) * q for _, sku, q in rows), Decimal("0.00")),
        "low_stock": sum(1 for _, sku, q in rows if 0 < q <= PRODUCTS[sku][1]),
        "out_of_stock": sum(1 for _, _, q in rows if q == 0),
        "stores": len({store for store, _, _ in rows}),
    }


def test_kpis__all_stores_match_an_independent_computation(kpi_shop):
    db, model, bad_products, bad_stores = kpi_shop
    got = compute_kpis(db, SYSTEM)
    assert set(got) == set(KPI_KEYS)
    assert got == expected_kpis(model, bad_products, bad_stores, {"S1", "S2", "S3"})
    assert got == {
        "total_skus": 3,
        "total_units": 34,
        "stock_value": Decimal("355.00"),
        "low_stock": 2,
        "out_of_stock": 2,
        "stores": 2,
    }


@pytest.mark.parametrize("store", ["S1", "S2", "s2"])
def test_kpis__one_store_matches_an_independent_computation(kpi_shop, store):
    db, model, bad_products, bad_stores = kpi_shop
    assert compute_kpis(db, SYSTEM, store) == expected_kpis(model, bad_products, bad_stores, {store.upper()})


def test_kpis__staff_see_their_stores_only(kpi_shop):
    db, model, bad_products, bad_stores = kpi_shop
    staff = Actor(email="s@x.test", role="staff", store_ids=frozenset({2}))
    assert compute_kpis(db, staff) == expected_kpis(model, bad_products, bad_stores, {"S2"})
    assert compute_kpis(db, staff, "S2") == compute_kpis(db, staff)
    with pytest.raises(PermissionDenied, match="not assigned to store S1"):
        compute_kpis(db, staff, "S1")
    assert compute_kpis(db, Actor(email="n@x.test", role="staff"))["total_skus"] == 0


def test_kpis__empty_database_and_unknown_store(db):
    assert compute_kpis(db, SYSTEM) == {
        "total_skus": 0,
        "total_units": 0,
        "stock_value": Decimal("0.00"),
        "low_stock": 0,
        "out_of_stock": 0,
        "stores": 0,
    }
    with pytest.raises(NotFound):
        compute_kpis(db, SYSTEM, "S9")


def test_kpis__extreme_but_valid_values_do_not_overflow(db):
    add_store(db, SYSTEM, "S1", "One")
    create_product(db, SYSTEM, "GOLD", "Gold bar", "Vault", "9999999999.99")
    stock_in(db, SYSTEM, "S1", "GOLD", 1_000_000_000)
    stock_in(db, SYSTEM, "S1", "GOLD", 1_000_000_000)
    assert compute_kpis(db, SYSTEM)["stock_value"] == Decimal("9999999999.99") * 2_000_000_000
