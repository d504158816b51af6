"""The Reports page (AppTest): filters, totals, chart, rows, export buttons; one product across stores; scoping."""

# ruff: noqa: F401, F811  (pytest fixtures imported from tests/test_dashboard_data.py)

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.base.permissions import SYSTEM
from core.domain.stock import record_removal, record_sale, stock_in
from tests.conftest import metrics, run_page
from tests.test_dashboard_data import SHOP_SEED, owner, staff  # the shop without accounts; plain actors

pytestmark = pytest.mark.slow  # AppTest runs of a page: about 1-3 s of CPU each

PAGE = "reports.py"


@pytest.fixture
def moved(shop):
    stock_in(shop, SYSTEM, "S2", "MILK-1L", 40)
    record_sale(shop, SYSTEM, "S1", [("MILK-1L", 10), ("RICE-5KG", 2)])
    record_sale(shop, SYSTEM, "S2", [("MILK-1L", 5)])
    record_removal(shop, SYSTEM, "S1", "SOAP-100", 1, "damaged")
    return shop  # 8 movements: 4 stock-in, 3 sale lines, 1 removal


def open_page(actor, **state) -> AppTest:
    return run_page(PAGE, actor, **state)


def table(at: AppTest, column: str):
    """The first dataframe that has ``column`` (AppTest does not expose dataframe keys)."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def test_reports_page__owner_sees_totals_chart_rows_and_exports(moved, owner, app_db):
    at = open_page(owner)
    assert not at.exception
    m = metrics(at)
    assert m["Movements"] == "8" and m["Units in"] == f"{30 + 100 + 8 + 40}" and m["Units out"] == "18"
    totals = table(at, "net")
    assert dict(zip(totals["kind"], totals["count"], strict=True)) == {"Stock in": 4, "Sale": 3, "Removal": 1}
    assert len(at.get("plotly_chart")) == 1
    assert len(table(at, "quantity_after")) == 8
    assert at.get("download_button") == []
    at.button(key="rep_prepare_csv").click().run()
    assert not at.exception
    (download,) = at.get("download_button")
    assert download.proto.label == "Download movements.csv"


def test_reports_page__a_refused_export_is_a_sentence(moved, owner, app_db, monkeypatch):
    from core.sheets import exporter

    monkeypatch.setattr(exporter, "EXPORT_MAX_ROWS", 3)
    at = open_page(owner)
    at.button(key="rep_prepare_xlsx").click().run()
    assert not at.exception
    assert at.get("download_button") == []
    assert any("More than 3 movements match" in e.value for e in at.error), [e.value for e in at.error]


def test_reports_page__filters_narrow_the_report(moved, owner, app_db):
    at = open_page(owner)
    at.multiselect(key="rep_stores").set_value(["S2"])
    at.multiselect(key="rep_kinds").set_value(["sale"]).run()
    assert not at.exception
    assert metrics(at)["Movements"] == "1" and metrics(at)["Units out"] == "5"
    at.multiselect(key="rep_stores").set_value([])
    at.text_input(key="rep_product").input("neem soap").run()
    assert metrics(at)["Movements"] == "0"
    assert any("No movements match" in i.value for i in at.info)


def test_reports_page__date_range_outside_the_data_is_empty(moved, owner, app_db):
    old = date.today() - timedelta(days=400)
    at = open_page(owner, rep_dates=(old, old + timedelta(days=5)))
    assert not at.exception
    assert metrics(at)["Movements"] == "0"


def test_reports_page__staff_sees_only_their_stores(moved, staff, app_db):
    at = open_page(staff)
    assert not at.exception
    assert at.multiselect(key="rep_stores").options == ["S1"]
    assert metrics(at)["Movements"] == "6"
    assert set(table(at, "quantity_after")["store"]) == {"S1"}


def test_reports_page__one_product_across_stores(moved, owner, app_db):
    at = open_page(owner)
    at.text_input(key="rep_sku").input("MILK-1L").run()
    assert not at.exception
    rows = table(at, "store_name")
    assert dict(zip(rows["store"], rows["quantity"], strict=True)) == {"S1": 90, "S2": 35}
    assert metrics(at)["Stores holding it"] == "2" and metrics(at)["Units on hand"] == "125"


def test_reports_page__unknown_sku_is_a_sentence(moved, owner, app_db):
    at = open_page(owner)
    at.text_input(key="rep_sku").input("NOPE").run()
    assert not at.exception
    assert any("no product with SKU" in e.value for e in at.error)


def test_reports_page__empty_database_draws(db, app_db):
    at = open_page(SYSTEM)
    assert not at.exception
    assert metrics(at)["Movements"] == "0"
    assert any("No movements match" in i.value for i in at.info)


def test_reports_page__signed_out_is_asked_to_sign_in(shop, app_db):
    at = open_page(None)
    assert not at.exception
    assert not at.metric and any("sign in" in w.value for w in at.warning)
