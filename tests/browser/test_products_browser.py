"""Real-browser Products page: the owner adds a product with a double click (added once, one notice, no error),
the notice does not come back on a reload, and the product shows in the Inventory grid; staff opening the
page's address get a refusal and nothing of the page, on a phone-sized screen too."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from core import open_db
from tests.browser.conftest import OWNER_EMAIL, PASSWORD, STAFF_EMAIL, AppServer, open_page, sign_in, wait_idle
from tests.browser.test_inventory_browser import wait_skus

pytestmark = pytest.mark.browser


def products_named(target: str, sku: str) -> int:
    db = open_db(target)
    try:
        with db.reader() as tx:
            return int(tx.scalar("SELECT count(*) FROM products WHERE sku = $1", [sku]))
    finally:
        db.close()


def test_owner_adds_a_product_with_a_double_click_once(app_server: AppServer, page: Any) -> None:
    open_page(page, app_server)
    sign_in(page, OWNER_EMAIL, PASSWORD)
    open_page(page, app_server, "/products")
    form = page.locator('[data-testid="stForm"]').filter(has=page.get_by_role("button", name="Add product"))
    form.get_by_role("textbox", name="SKU", exact=True).fill("TEA-250")
    form.get_by_role("textbox", name="Name", exact=True).fill("Tea 250 g")
    form.get_by_role("textbox", name="Category").fill("Staples")
    form.get_by_role("textbox", name="Unit price").fill("120.50")
    form.get_by_role("button", name="Add product").dblclick()
    notice = page.get_by_text("Product TEA-250 added.")
    notice.wait_for()
    wait_idle(page)
    page.wait_for_timeout(1000)  # a second submit, if any, has run by now
    wait_idle(page)
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    page.reload()
    wait_idle(page)
    page.get_by_role("heading", name="Products").wait_for()
    expect(notice).to_have_count(0)
    open_page(page, app_server, "/inventory")
    page.get_by_role("textbox", name="Search by name or SKU").fill("tea")
    page.get_by_role("textbox", name="Search by name or SKU").press("Enter")
    wait_skus(page, ["TEA-250"])
    app_server.stop()  # it holds the DuckDB file
    assert products_named(app_server.target, "TEA-250") == 1


def test_staff_get_nothing_of_the_products_page_on_a_phone(app_server: AppServer, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        open_page(page, app_server)
        sign_in(page, STAFF_EMAIL, PASSWORD)
        open_page(page, app_server, "/products")
        page.get_by_text("This page is for the owner only.").wait_for()
        body = page.locator('[data-testid="stMain"]').inner_text()
        assert "Add a product" not in body and "Products" not in body
    finally:
        context.close()
