"""The Dashboard page (AppTest): tiles, charts and low-stock list per role; empty states draw without errors."""

# ruff: noqa: F401, F811  (pytest fixtures imported from tests/test_dashboard_data.py)

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.base.permissions import SYSTEM
from core.domain.catalog import add_store
from core.domain.stock import record_sale, stock_in
from core.domain.users import add_user
from tests.conftest import metrics, run_page
from tests.test_dashboard_data import SHOP_SEED, owner, staff  # the shop without accounts; plain actors

pytestmark = pytest.mark.slow  # AppTest runs of a page: about 1-3 s of CPU each

ROOT = Path(__file__).resolve().parent.parent

PAGE = "dashboard.py"


def open_page(actor, **state) -> AppTest:
    return run_page(PAGE, actor, **state)


def plotly_charts(at: AppTest) -> list:
    return at.get("plotly_chart")


@pytest.fixture
def sold(shop):
    stock_in(shop, SYSTEM, "S2", "MILK-1L", 40)
    record_sale(shop, SYSTEM, "S1", [("MILK-1L", 10), ("RICE-5KG", 2)])
    record_sale(shop, SYSTEM, "S2", [("MILK-1L", 5)])
    return shop


def test_dashboard_page__owner_sees_tiles_charts_and_low_stock(sold, owner, app_db):
    at = open_page(owner)
    assert not at.exception
    m = metrics(at)
    assert m["Units on hand"] == f"{138 + 40 - 17:,}"
    assert m["Units sold, last 30 days"] == "17"
    assert m["Revenue, last 30 days"] == f"{15 * 56 + 2 * 450:,.2f}"
    assert m["Low stock"] == "1"  # soap, 8 <= 10
    assert len(plotly_charts(at)) == 5  # value by category and store, daily sales, top sellers, slowest movers
    assert any("low and" in w.value for w in at.warning)
    assert at.dataframe[0].value["sku"].tolist() == ["SOAP-100"]


def test_dashboard_page__owner_filters_one_store(sold, owner, app_db):
    at = open_page(owner)
    at.selectbox(key="dash_store").set_value("S2").run()
    assert not at.exception
    m = metrics(at)
    assert m["Units on hand"] == "35" and m["Units sold, last 30 days"] == "5"
    assert m["Low stock"] == "0"
    assert any("Nothing is at or below" in s.value for s in at.success)


def test_dashboard_page__period_and_cover_change_the_figures(sold, owner, app_db):
    at = open_page(owner)
    at.selectbox(key="dash_days").set_value(7)
    at.number_input(key="dash_cover").set_value(60).run()
    assert not at.exception
    assert "Units sold, last 7 days" in metrics(at)
    # soap sold nothing: one above its reorder level of 10 -> 11 - 8
    assert at.dataframe[0].value["suggested_reorder"].tolist() == [3]


def test_dashboard_page__staff_sees_only_their_stores(sold, staff, app_db):
    at = open_page(staff)
    assert not at.exception
    assert at.selectbox(key="dash_store").options == ["All stores", "S1 - Main Street"]
    m = metrics(at)
    assert m["Units on hand"] == f"{138 - 12:,}" and m["Units sold, last 30 days"] == "12"


def test_dashboard_page__staff_crafted_store_falls_back_to_their_own(sold, staff, app_db):
    at = open_page(staff, dash_store="S2")  # not an option for this staff member
    assert not at.exception
    assert at.selectbox(key="dash_store").value == "All stores"
    assert metrics(at)["Units on hand"] == f"{138 - 12:,}"  # S1 only


def test_dashboard_page__stores_without_sales_draw_empty_states(db, app_db):
    add_store(db, SYSTEM, "S1", "Main Street")
    at = open_page(SYSTEM)
    assert not at.exception
    assert metrics(at)["Units sold, last 30 days"] == "0"
    assert metrics(at)["Stock value"] == "0.00"
    infos = " ".join(i.value for i in at.info)
    assert "No stock on hand yet" in infos and "No sales in the last 30 days" in infos
    assert not plotly_charts(at)


def test_dashboard_page__empty_database_asks_for_a_store(db, app_db):
    at = open_page(SYSTEM)
    assert not at.exception
    assert any("No store is available" in i.value for i in at.info)


def test_dashboard_page__signed_out_is_asked_to_sign_in(shop, app_db):
    at = open_page(None)
    assert not at.exception
    assert any("sign in" in w.value for w in at.warning)
    assert not at.metric


def test_dashboard_page__low_stock_button_opens_inventory_filtered(sold, owner, app_db):
    add_user(sold, SYSTEM, owner.email, "correct horse 42", "owner", name=owner.name)  # app.py checks the account
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = owner.email
    at.session_state["_signed_in_at"] = datetime.now(UTC)
    at.run()
    assert not at.exception
    at.selectbox(key="dash_store").set_value("S1").run()
    at.button(key="dash_open_low").click().run()
    assert not at.exception
    assert at.session_state["inventory_only"] == "low_or_out"
    assert at.session_state["inventory_store"] == "S1"
    assert not at.metric  # the dashboard is gone: the inventory page is drawn
