"""Money figures at the largest legal values: the highest price x the highest count in several stores.

DuckDB types INTEGER x DECIMAL(12, 2) as DECIMAL(18, 2), which overflowed from about 10**16: the dashboard and
the one-product report refused with "too large to store; nothing was saved". Every amount is now computed as
DECIMAL(38, 2) (``core.db.sql.amount_sql``), exactly, on both engines; and a numeric overflow met while reading says
so as a read (``core.base.errors.reading``), never "nothing was saved".
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from core import open_db
from core.base.errors import TooLarge, reading
from core.base.permissions import SYSTEM
from core.base.validate import PRICE_MAX, QTY_MAX
from core.db import Database
from core.domain.catalog import add_store, create_product
from core.domain.orders import list_orders, order_lines
from core.domain.stock import record_sale, stock_in
from core.reads.dashboard import dashboard
from core.reads.kpis import compute_kpis
from core.reads.reports import movement_report, product_across_stores
from core.sheets.exporter import export_bytes, export_movements
from core.sheets.importer import import_file
from core.tools.cli import main
from pages.ui import compact
from tests.conftest import run_page, table_rows

STORES = ("B1", "B2", "B3")
SOLD = QTY_MAX  # one sale of the largest legal quantity in each store


@pytest.fixture
def big(db: Database) -> Database:
    """The top price, the top count in each of three stores, and one sale of the top quantity in each."""
    for code in STORES:
        add_store(db, SYSTEM, code, f"Store {code}")
    create_product(db, SYSTEM, "GOLD", "Gold bar", "Metals", str(PRICE_MAX), 0)
    create_product(db, SYSTEM, "00123", "Padded", "Metals", "4700000.00", 0)
    for code in STORES:
        stock_in(db, SYSTEM, code, "GOLD", QTY_MAX)
        record_sale(db, SYSTEM, code, [{"sku": "GOLD", "quantity": SOLD}])
        stock_in(db, SYSTEM, code, "GOLD", QTY_MAX)
        stock_in(db, SYSTEM, code, "00123", QTY_MAX)
    return db


STOCK_VALUE = (PRICE_MAX + Decimal("4700000.00")) * QTY_MAX * len(STORES)
REVENUE = PRICE_MAX * SOLD * len(STORES)


def test_kpis__exact_at_the_largest_legal_values(big: Database) -> None:
    kpis = compute_kpis(big, SYSTEM)
    assert kpis["stock_value"] == STOCK_VALUE
    assert kpis["total_units"] == 2 * QTY_MAX * len(STORES)


def test_dashboard__exact_at_the_largest_legal_values(big: Database) -> None:
    data = dashboard(big, SYSTEM)
    assert data["kpis"]["stock_value"] == STOCK_VALUE
    assert data["sales"]["revenue"] == REVENUE and data["sales"]["units"] == SOLD * len(STORES)
    assert sum(d["revenue"] for d in data["daily"]) == REVENUE
    assert data["top_sellers"][0]["revenue"] == REVENUE
    assert sum(r["stock_value"] for r in data["by_store"]) == STOCK_VALUE
    assert sum(r["stock_value"] for r in data["by_category"]) == STOCK_VALUE
    one = dashboard(big, SYSTEM, "B2")
    assert one["kpis"]["stock_value"] == STOCK_VALUE / len(STORES)


def test_one_product_report__exact_at_the_largest_legal_values(big: Database) -> None:
    result = product_across_stores(big, SYSTEM, "GOLD")
    assert result["totals"]["stock_value"] == PRICE_MAX * QTY_MAX * len(STORES)
    assert [r["stock_value"] for r in result["stores"]] == [PRICE_MAX * QTY_MAX] * len(STORES)
    assert movement_report(big, SYSTEM)["overall"]["units_out"] == SOLD * len(STORES)


def test_orders__totals_exact_at_the_largest_legal_values(big: Database) -> None:
    from core.domain.orders import create_order

    create_order(big, SYSTEM, "B1", [{"sku": "GOLD", "quantity": QTY_MAX}])
    (order,) = list_orders(big, SYSTEM)
    assert Decimal(order["total"]) == PRICE_MAX * QTY_MAX
    assert Decimal(order_lines(big, SYSTEM, order["id"])[0]["amount"]) == PRICE_MAX * QTY_MAX


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports__largest_legal_values_round_trip(big: Database, fmt: str) -> None:
    with big.reader() as tx:
        before = {t: table_rows(tx, t) for t in ("products", "stock", "movements")}
    for what in ("products", "stock"):
        data = export_bytes(big, SYSTEM, what, fmt=fmt)[0]
        report = import_file(big, SYSTEM, data, file_name=f"{what}.{fmt}")
        assert report.applied and not report.errors, report.errors
        assert report.created == report.updated == 0
    assert export_movements(big, SYSTEM, fmt)
    with big.reader() as tx:
        assert {t: table_rows(tx, t) for t in ("products", "stock", "movements")} == before


def test_kpis_cli_json__largest_legal_values(big: Database, capsys: pytest.CaptureFixture[str]) -> None:
    target = big.target
    if big.kind == "duckdb":
        big.close()  # the command line opens the file itself
    capsys.readouterr()
    assert main(["--db", target, "kpis", "--json"]) == 0
    kpis = json.loads(capsys.readouterr().out)
    assert Decimal(str(kpis["stock_value"])) == STOCK_VALUE


def test_a_numeric_overflow_while_reading_is_not_said_as_a_failed_save(db: Database) -> None:
    overflow = "SELECT n + 1 FROM (SELECT CAST($1 AS INTEGER) AS n) t"
    with pytest.raises(TooLarge) as write, db.transaction() as tx:
        tx.all(overflow, [2**31 - 1])
    assert "nothing was saved" in str(write.value)
    with pytest.raises(TooLarge) as read, reading(), db.reader() as tx:
        tx.all(overflow, [2**31 - 1])
    assert "nothing was saved" not in str(read.value) and "too large" in str(read.value)


def test_dashboard_and_report_pages__largest_legal_values(big: Database, app_db: str) -> None:
    from core.domain.signin import actor_for
    from core.domain.users import add_user

    add_user(big, SYSTEM, "boss@shop.test", "correct horse 42", "owner")
    owner = actor_for(big, "boss@shop.test")
    if big.kind == "duckdb":
        big.close()
    at = run_page("dashboard.py", owner)
    assert not at.exception and not at.error
    tiles = {m.label: m for m in at.metric}
    assert tiles["Stock value"].value == compact(STOCK_VALUE) and tiles["Stock value"].help == f"{STOCK_VALUE:,.2f}"
    assert tiles["Revenue, last 30 days"].help == f"{REVENUE:,.2f}"  # to the cent
    at = run_page("reports.py", owner, rep_sku="GOLD")
    assert not at.exception and not at.error
    tile = next(m for m in at.metric if m.label == "Stock value")
    assert (tile.value, tile.help) == (compact(PRICE_MAX * QTY_MAX * 3), f"{PRICE_MAX * QTY_MAX * 3:,.2f}")
    db = open_db(app_db)
    db.close()
