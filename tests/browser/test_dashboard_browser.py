"""Real browser: the dashboard draws its KPI tiles and plotly charts for the owner, and staff see their store."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from core.base.permissions import SYSTEM
from core.db import Database
from tests.browser.conftest import OWNER_EMAIL, PASSWORD, STAFF_EMAIL, AppServer, seed_shop, sign_in, wait_idle

pytestmark = pytest.mark.browser

CHART = '[data-testid="stPlotlyChart"]'


def seed_with_sales(db: Database) -> None:
    from core.domain.stock import record_sale, stock_in

    seed_shop(db)
    stock_in(db, SYSTEM, "S2", "MILK-1L", 40)
    record_sale(db, SYSTEM, "S1", [("MILK-1L", 10), ("RICE-5KG", 2)])
    record_sale(db, SYSTEM, "S2", [("MILK-1L", 5)])


def tile(page: Any, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_dashboard_draws_tiles_and_charts(app_server_factory: Any, page: Any, browser: Any) -> None:
    server: AppServer = app_server_factory(seed=seed_with_sales)
    page.goto(server.url)
    wait_idle(page)
    sign_in(page, OWNER_EMAIL, PASSWORD)
    page.get_by_role("heading", name="Dashboard").wait_for()
    wait_idle(page)

    page.locator(f"{CHART} .js-plotly-plot").first.wait_for()
    expect(page.locator(CHART)).to_have_count(5)  # value by category and by store, daily sales, top, slowest
    expect(page.locator(".js-plotly-plot")).to_have_count(5)
    expect(page.locator(f"{CHART} .main-svg").first).to_be_visible()
    assert tile(page, "Units sold, last 30 days") == "17"
    assert tile(page, "Units on hand") == f"{138 + 40 - 17:,}"
    expect(page.get_by_text("Stock value by category").first).to_be_visible()
    expect(page.get_by_text("1 low and 0 out of stock")).to_be_visible()

    # staff, in a second browser context at the same time: their store only
    staff_page = browser.new_context().new_page()
    staff_page.set_default_timeout(60_000)
    try:
        staff_page.goto(server.url)
        wait_idle(staff_page)
        sign_in(staff_page, STAFF_EMAIL, PASSWORD)
        staff_page.get_by_role("heading", name="Dashboard").wait_for()
        wait_idle(staff_page)
        staff_page.locator(f"{CHART} .js-plotly-plot").first.wait_for()
        assert tile(staff_page, "Units sold, last 30 days") == "12"
        assert tile(staff_page, "Units on hand") == f"{138 - 12:,}"
    finally:
        staff_page.context.close()
