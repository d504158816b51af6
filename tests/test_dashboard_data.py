"""core.reads.dashboard: every figure checked against a plain-Python computation over a small hand-built history."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest

from core.base.errors import PermissionDenied, ValidationError
from core.base.permissions import SYSTEM, Actor
from core.db import Database
from core.domain.catalog import add_store, create_product, deactivate_product, list_stores, update_product
from core.domain.stock import record_sale, stock_in
from core.reads.dashboard import dashboard, period_bounds
from tests.conftest import seed_shop

TODAY = date.today()
PRICES = {
    "RICE-5KG": Decimal("450.00"),
    "MILK-1L": Decimal("56.00"),
    "SOAP-100": Decimal("35.50"),
    "DAL-1KG": Decimal("120.00"),
}
REORDER = {"RICE-5KG": 5, "MILK-1L": 20, "SOAP-100": 10, "DAL-1KG": 5}
CATEGORY = {"RICE-5KG": "Staples", "MILK-1L": "Dairy", "SOAP-100": "Personal care", "DAL-1KG": "Staples"}
# the shop fixture's stock-in (S1), plus ours
STOCK_IN = [("S1", "RICE-5KG", 30), ("S1", "MILK-1L", 100), ("S1", "SOAP-100", 8), ("S1", "DAL-1KG", 10),
            ("S2", "MILK-1L", 40), ("S2", "RICE-5KG", 3), ("S2", "SOAP-100", 2)]  # fmt: skip
# (store, sku, quantity, days ago)
SALES = [("S1", "RICE-5KG", 2, 1), ("S1", "RICE-5KG", 4, 5), ("S1", "MILK-1L", 10, 0), ("S1", "MILK-1L", 6, 3),
         ("S1", "SOAP-100", 1, 2), ("S2", "MILK-1L", 5, 6), ("S2", "MILK-1L", 10, 1), ("S2", "SOAP-100", 2, 1),
         ("S1", "RICE-5KG", 3, 9), ("S2", "MILK-1L", 7, 12), ("S1", "MILK-1L", 2, 20)]  # fmt: skip


# ---- a quick shop: conftest's ``shop`` without user accounts (bcrypt hashing dominated every setup) -------------
# The report functions read only the actor's role and stores, so the actors are built by hand. The page and
# report test files import these three fixtures. Tests that only read share one ``history`` per module and engine
# (conftest's ``shared_shop``); a test that writes builds its own with ``add_history(shop)``.


def seed_without_users(db: Database) -> None:
    """Stores S1 and S2, three products, stock in S1 (as conftest's ``shop``), and no user accounts."""
    seed_shop(db, users=False)


SHOP_SEED = seed_without_users


@pytest.fixture
def owner() -> Actor:
    return Actor(email="owner@shop.test", role="owner", name="Olivia Owner")


@pytest.fixture
def staff(request: pytest.FixtureRequest) -> Actor:
    """Staff of S1, looked up in the test's database: the shared shop when the test reads it, else ``shop``."""
    db = request.getfixturevalue("shared_shop" if "shared_shop" in request.fixturenames else "shop")
    s1 = next(s["id"] for s in list_stores(db) if s["code"] == "S1")
    return Actor(email="staff@shop.test", role="staff", store_ids=frozenset({s1}), name="Sam Staff")


def _backdate_last_movement(db: Database, days_ago: int) -> None:
    when = datetime.combine(TODAY - timedelta(days=days_ago), time(12))
    with db.transaction() as tx:
        tx.execute("UPDATE movements SET created_at = $1 WHERE id = (SELECT max(id) FROM movements)", [when])


def add_history(shop: Database) -> Database:
    """The shop plus DAL-1KG, more stock-in and the backdated ``SALES``."""
    create_product(shop, SYSTEM, "DAL-1KG", "Toor Dal 1 kg", "Staples", "120.00", 5)
    stock_in(shop, SYSTEM, "S1", "DAL-1KG", 10)
    for store, sku, qty in STOCK_IN[4:]:
        stock_in(shop, SYSTEM, store, sku, qty)
    for store, sku, qty, ago in SALES:
        record_sale(shop, SYSTEM, store, [(sku, qty)])
        _backdate_last_movement(shop, ago)
    return shop


def SHARED_SEED(db: Database) -> None:  # conftest's shared_db seeds this module's shared_shop with it
    add_history(seed_shop(db, users=False))


@pytest.fixture
def history(shared_shop: Database) -> Database:
    """The shop with its history, shared read-only by the module's tests."""
    return shared_shop


# ---- the independent computation ---------------------------------------------------------------------------------


def on_hand(stores: set[str]) -> dict[tuple[str, str], int]:
    qty: dict[tuple[str, str], int] = {}
    for store, sku, n in STOCK_IN:
        qty[(store, sku)] = qty.get((store, sku), 0) + n
    for store, sku, n, _ in SALES:
        qty[(store, sku)] -= n
    return {k: v for k, v in qty.items() if k[0] in stores}


def sold(stores: set[str], first_ago: int, last_ago: int) -> dict[tuple[str, str], int]:
    """Units sold per (store, sku) between ``first_ago`` and ``last_ago`` days ago, inclusive."""
    out: dict[tuple[str, str], int] = {}
    for store, sku, n, ago in SALES:
        if store in stores and last_ago <= ago <= first_ago:
            out[(store, sku)] = out.get((store, sku), 0) + n
    return out


def revenue(units: dict[tuple[str, str], int]) -> Decimal:
    return sum((PRICES[sku] * n for (_, sku), n in units.items()), Decimal("0.00"))


# ---- tests --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [7, 30])
def test_dashboard__sales_and_change_match_python(history, owner, days):
    data = dashboard(history, owner, days=days)
    current, previous = sold({"S1", "S2"}, days - 1, 0), sold({"S1", "S2"}, 2 * days - 1, days)
    sales = data["sales"]
    assert sales["units"] == sum(current.values())
    assert sales["revenue"] == revenue(current)
    assert sales["previous_units"] == sum(previous.values())
    assert sales["previous_revenue"] == revenue(previous)
    if previous:
        expected = (sum(current.values()) - sum(previous.values())) * 100 / sum(previous.values())
        assert sales["units_change_pct"] == pytest.approx(expected, abs=0.05)
    else:
        assert sales["units_change_pct"] is None


def test_dashboard__seven_day_figures_by_hand(history, owner):
    sales = dashboard(history, owner, days=7)["sales"]
    assert sales["units"] == 2 + 4 + 10 + 6 + 1 + 5 + 10 + 2  # 40 units in the last 7 days
    assert sales["previous_units"] == 3 + 7
    assert sales["units_change_pct"] == 300.0


def test_dashboard__daily_series_has_every_day_of_the_period(history, owner):
    daily = dashboard(history, owner, days=7)["daily"]
    assert [d["day"] for d in daily] == [TODAY - timedelta(days=n) for n in range(6, -1, -1)]
    for d in daily:
        ago = (TODAY - d["day"]).days
        units = sold({"S1", "S2"}, ago, ago)
        assert d["units"] == sum(units.values())
        assert d["revenue"] == revenue(units)


def test_dashboard__top_sellers_and_slowest_movers(history, owner):
    data = dashboard(history, owner, days=7)
    per_sku: dict[str, int] = {}
    for (_, sku), n in sold({"S1", "S2"}, 6, 0).items():
        per_sku[sku] = per_sku.get(sku, 0) + n
    expected_top = sorted(per_sku, key=lambda s: (-per_sku[s], s))
    assert [r["sku"] for r in data["top_sellers"]] == expected_top
    assert [r["units"] for r in data["top_sellers"]] == [per_sku[s] for s in expected_top]
    # every product on hand, least sold first: DAL never sold, then SOAP 3, RICE 6, MILK 31
    assert [(r["sku"], r["units"]) for r in data["slowest_movers"]] == [
        ("DAL-1KG", 0),
        ("SOAP-100", 3),
        ("RICE-5KG", 6),
        ("MILK-1L", 31),
    ]
    dal = data["slowest_movers"][0]
    assert dal["quantity"] == 10 and dal["stock_value"] == Decimal("1200.00")


def test_dashboard__stock_value_by_category_and_store_match_python(history, owner):
    data = dashboard(history, owner)
    qty = on_hand({"S1", "S2"})
    by_cat: dict[str, Decimal] = {}
    by_store: dict[str, Decimal] = {}
    for (store, sku), n in qty.items():
        by_cat[CATEGORY[sku]] = by_cat.get(CATEGORY[sku], Decimal(0)) + PRICES[sku] * n
        by_store[store] = by_store.get(store, Decimal(0)) + PRICES[sku] * n
    assert {r["category"]: r["stock_value"] for r in data["by_category"]} == by_cat
    assert {r["store"]: r["stock_value"] for r in data["by_store"]} == by_store
    values = [r["stock_value"] for r in data["by_category"]]
    assert values == sorted(values, reverse=True)
    assert data["kpis"]["stock_value"] == sum(by_store.values())
    assert data["kpis"]["total_units"] == sum(qty.values())


def test_dashboard__kpis_match_python(history, owner):
    kpis = dashboard(history, owner)["kpis"]
    qty = on_hand({"S1", "S2"})
    assert kpis["total_skus"] == len({sku for _, sku in qty})
    assert kpis["low_stock"] == sum(1 for (_, sku), n in qty.items() if 0 < n <= REORDER[sku])
    assert kpis["out_of_stock"] == sum(1 for n in qty.values() if n == 0)


def test_dashboard__low_stock_cover_and_reorder_match_python(history, owner):
    days, cover = 7, 14
    low = dashboard(history, owner, days=days, cover_days=cover)["low_stock"]
    qty, units = on_hand({"S1", "S2"}), sold({"S1", "S2"}, days - 1, 0)
    expected = {}
    for (store, sku), n in qty.items():
        if n <= REORDER[sku]:
            daily = units.get((store, sku), 0) / days
            expected[(store, sku)] = (
                n / daily if daily else None,
                max(-(-units.get((store, sku), 0) * cover // days), REORDER[sku] + 1) - n,
            )
    got = {(r["store"], r["sku"]): (r["days_of_cover"], r["suggested_reorder"]) for r in low["rows"]}
    assert got.keys() == expected.keys()
    assert low["total"] == len(expected)
    for key, (cover_days, reorder) in expected.items():
        assert got[key][1] == reorder
        assert got[key][0] == (None if cover_days is None else pytest.approx(cover_days, abs=0.05))
    # least cover first (out of stock = 0 days), no sales (unknown cover) last
    assert [(r["store"], r["sku"]) for r in low["rows"]] == [
        ("S2", "SOAP-100"),
        ("S2", "MILK-1L"),
        ("S1", "SOAP-100"),
        ("S2", "RICE-5KG"),
    ]
    milk = low["rows"][1]
    assert milk["quantity"] == 18 and milk["days_of_cover"] == 8.4 and milk["suggested_reorder"] == 12
    assert low["rows"][0]["status"] == "out" and milk["status"] == "low"


def test_dashboard__longer_cover_suggests_more(history, owner):
    rows = dashboard(history, owner, days=7, cover_days=30)["low_stock"]["rows"]
    milk = next(r for r in rows if (r["store"], r["sku"]) == ("S2", "MILK-1L"))
    assert milk["suggested_reorder"] == math.ceil(15 / 7 * 30) - 18


def test_dashboard__revenue_uses_current_catalog_price(shop, owner):
    history = add_history(shop)
    before = dashboard(history, owner, days=7)["sales"]["revenue"]
    update_product(history, SYSTEM, "MILK-1L", 1, unit_price="60.00")
    after = dashboard(history, owner, days=7)["sales"]["revenue"]
    assert after - before == 31 * Decimal("4.00")


def test_dashboard__owner_filters_one_store(history, owner):
    data = dashboard(history, owner, "S2", days=7)
    assert data["sales"]["units"] == sum(sold({"S2"}, 6, 0).values())
    assert [r["store"] for r in data["by_store"]] == ["S2"]
    assert {r["store"] for r in data["low_stock"]["rows"]} == {"S2"}
    assert data["kpis"]["total_units"] == sum(on_hand({"S2"}).values())


def test_dashboard__staff_sees_only_their_stores(history, staff):
    data = dashboard(history, staff, days=7)
    assert data["sales"]["units"] == sum(sold({"S1"}, 6, 0).values())
    assert [r["store"] for r in data["by_store"]] == ["S1"]
    assert {r["store"] for r in data["low_stock"]["rows"]} == {"S1"}
    assert sum(d["units"] for d in data["daily"]) == data["sales"]["units"]
    assert data["kpis"]["total_units"] == sum(on_hand({"S1"}).values())


def test_dashboard__staff_asking_for_another_store_is_refused_and_audited(shop, staff):
    history = add_history(shop)
    with pytest.raises(PermissionDenied, match="not assigned to store S2"):
        dashboard(history, staff, "S2")
    with history.reader() as tx:
        row = tx.one("SELECT actor, outcome FROM audit WHERE outcome = 'denied' ORDER BY id DESC LIMIT 1")
    assert row == (staff.email, "denied")


def test_dashboard__inactive_products_leave_stock_value_and_low_stock(shop, owner):
    history = add_history(shop)
    deactivate_product(history, SYSTEM, "SOAP-100")
    data = dashboard(history, owner, days=7)
    assert "Personal care" not in {r["category"] for r in data["by_category"]}
    assert "SOAP-100" not in {r["sku"] for r in data["low_stock"]["rows"]}
    assert "SOAP-100" not in {r["sku"] for r in data["slowest_movers"]}


def test_dashboard__empty_database_gives_zeros_and_empty_lists(db):
    data = dashboard(db, SYSTEM, days=30)
    assert data["sales"]["units"] == 0 and data["sales"]["revenue"] == Decimal("0.00")
    assert data["sales"]["units_change_pct"] is None
    assert len(data["daily"]) == 30 and all(d["units"] == 0 for d in data["daily"])
    assert data["top_sellers"] == [] and data["slowest_movers"] == []
    assert data["by_category"] == [] and data["by_store"] == []
    assert data["low_stock"] == {"rows": [], "total": 0}
    assert data["kpis"]["total_skus"] == 0


def test_dashboard__stock_without_sales_draws_zero_sales(db):
    add_store(db, SYSTEM, "S1", "Main")
    create_product(db, SYSTEM, "A", "Apple", "Fruit", "2.00", 5)
    stock_in(db, SYSTEM, "S1", "A", 3)
    data = dashboard(db, SYSTEM, days=7)
    assert data["sales"]["units"] == 0 and data["top_sellers"] == []
    assert data["low_stock"]["rows"][0]["days_of_cover"] is None
    assert data["low_stock"]["rows"][0]["suggested_reorder"] == 3  # up to one above the reorder level


def test_dashboard__out_of_stock_faster_seller_comes_first(db):
    add_store(db, SYSTEM, "S1", "Main")
    for sku, sold_units in (("A-SLOW", 3), ("B-FAST", 10)):
        create_product(db, SYSTEM, sku, sku.title(), "Fruit", "1.00", 5)
        stock_in(db, SYSTEM, "S1", sku, sold_units)
        record_sale(db, SYSTEM, "S1", [(sku, sold_units)])
    rows = dashboard(db, SYSTEM, days=7)["low_stock"]["rows"]
    assert [(r["sku"], r["days_of_cover"], r["units_sold"]) for r in rows] == [("B-FAST", 0.0, 10), ("A-SLOW", 0.0, 3)]


@pytest.mark.parametrize(("days", "cover"), [(0, 14), (30, 0), ("x", 14), (30, 1.5)])
def test_dashboard__bad_period_or_cover_is_refused(history, owner, days, cover):
    with pytest.raises(ValidationError):
        dashboard(history, owner, days=days, cover_days=cover)


def test_period_bounds__period_ends_tomorrow_and_previous_is_as_long():
    b = period_bounds(7, date(2024, 3, 10))
    assert b["end"] == datetime(2024, 3, 11)
    assert b["start"] == datetime(2024, 3, 4)
    assert b["previous_start"] == datetime(2024, 2, 26)
