"""Real-browser stock flow: a sale of several lines typed into the lines grid is recorded all at once."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from core import open_db
from tests.browser.conftest import PASSWORD, STAFF_EMAIL, AppServer, open_page, sign_in, wait_idle
from tests.browser.test_inventory_browser import edit_cell

pytestmark = pytest.mark.browser

ROW_MARKERS_PX = 50  # a dynamic editor has a row-marker column before the first cell


def quantities(server: AppServer) -> dict[str, int]:
    """After the server stopped: the S1 quantity of every product."""
    server.stop()
    db = open_db(str(server.db_path))
    try:
        with db.reader() as tx:
            rows = tx.all("SELECT p.sku, s.quantity FROM stock s JOIN products p ON p.id = s.product_id")
            sales = tx.scalar("SELECT count(*) FROM movements WHERE kind = 'sale'")
    finally:
        db.close()
    return {**dict(rows), "sales": sales}


def sale_grid(page: Any) -> Any:
    return page.locator('[data-testid="stForm"]').filter(has_text="Record sale").locator('[data-testid="stDataFrame"]')


def test_sale_of_several_lines(app_server: AppServer, page: Any) -> None:
    open_page(page, app_server)
    sign_in(page, STAFF_EMAIL, PASSWORD)
    open_page(page, app_server, "/stock")
    page.get_by_role("tab", name="Sale").click()
    grid = sale_grid(page)
    for row, (sku, quantity) in enumerate([("MILK-1L", 3), ("RICE-5KG", 2), ("SOAP-100", 1)]):
        edit_cell(page, grid, row, 0, sku, left_px=ROW_MARKERS_PX, row_markers=True)
        edit_cell(page, grid, row, 1, quantity, left_px=ROW_MARKERS_PX, row_markers=True)
    page.get_by_role("button", name="Record sale").click()
    page.get_by_text("Sale recorded: 3 line(s), 6 unit(s).").wait_for()
    wait_idle(page)
    movements = page.locator('[data-testid="stDataFrame"]').filter(has=page.locator("th", has_text="On hand after"))
    expect(movements.locator('td[aria-colindex="4"]').first).to_have_text("sale")

    # one line short of stock: nothing of the sale is applied
    page.get_by_role("tab", name="Sale").click()
    grid = sale_grid(page)
    edit_cell(page, grid, 0, 0, "MILK-1L", left_px=ROW_MARKERS_PX, row_markers=True)
    edit_cell(page, grid, 0, 1, 1, left_px=ROW_MARKERS_PX, row_markers=True)
    edit_cell(page, grid, 1, 0, "SOAP-100", left_px=ROW_MARKERS_PX, row_markers=True)
    edit_cell(page, grid, 1, 1, 50, left_px=ROW_MARKERS_PX, row_markers=True)
    page.get_by_role("button", name="Record sale").click()
    page.get_by_text("Not enough stock of SOAP-100 in store S1: 50 requested, 7 available.").wait_for()
    assert quantities(app_server) == {"MILK-1L": 97, "RICE-5KG": 28, "SOAP-100": 7, "sales": 3}
