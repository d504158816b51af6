"""core.domain.status: low and out of stock mean the same in the KPIs, the dashboard, the grid and the product
report, because they all take their SQL from one module; pages show its words."""

from __future__ import annotations

from core.domain import status
from core.domain.grid import inventory_page
from core.domain.stock import record_sale, stock_in
from core.reads.dashboard import dashboard
from core.reads.kpis import compute_kpis
from core.reads.reports import product_across_stores
from tests.test_dashboard_data import SHOP_SEED, owner, staff  # noqa: F401  the shop without accounts; plain actors


def test_status__every_read_agrees_on_low_and_out(shop, owner):  # noqa: F811
    # S1 holds RICE-5KG 30 (reorder 5), MILK-1L 100 (20), SOAP-100 8 (10): sell all rice, keep milk, soap is low
    record_sale(shop, owner, "S1", [("RICE-5KG", 30)])
    stock_in(shop, owner, "S2", "MILK-1L", 20)  # exactly at its reorder level: low
    kpis = compute_kpis(shop, owner)
    grid = {code: inventory_page(shop, owner, code) for code in ("S1", "S2")}
    rows = {code: {r["sku"]: r["status"] for r in page["rows"]} for code, page in grid.items()}
    assert rows["S1"] == {"RICE-5KG": status.OUT, "MILK-1L": status.OK, "SOAP-100": status.LOW}
    assert rows["S2"] == {"RICE-5KG": status.NONE, "MILK-1L": status.LOW, "SOAP-100": status.NONE}
    assert (kpis["low_stock"], kpis["out_of_stock"]) == (2, 1)
    assert sum(p["low"] for p in grid.values()) == 2 and sum(p["out"] for p in grid.values()) == 1
    listed = {(r["store"], r["sku"]): r["status"] for r in dashboard(shop, owner)["low_stock"]["rows"]}
    assert listed == {("S1", "RICE-5KG"): "out", ("S1", "SOAP-100"): "low", ("S2", "MILK-1L"): "low"}
    across = {r["store"]: r["status"] for r in product_across_stores(shop, owner, "MILK-1L")["stores"]}
    assert across == {"S1": status.OK, "S2": status.LOW}
    assert {r["status"] for r in product_across_stores(shop, owner, "RICE-5KG")["stores"]} == {status.OUT}


def test_status__one_vocabulary_with_a_label_for_every_word():
    assert set(status.LABELS) == {status.OUT, status.LOW, status.OK, status.NONE}
    assert status.LABELS[status.OUT] == "Out of stock"
    for word in status.LABELS:
        assert f"'{word}'" in status.status_sql()
