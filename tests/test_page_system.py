"""The System page (AppTest): health, size, row counts, latency, full check and backup on demand; owner only."""

# ruff: noqa: F401, F811  (pytest fixtures imported from tests/test_dashboard_data.py)

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.base.permissions import SYSTEM
from core.domain.stock import record_sale
from tests.conftest import metrics, run_page
from tests.test_dashboard_data import SHOP_SEED, owner, staff  # the shop without accounts; plain actors

pytestmark = pytest.mark.slow  # AppTest runs of a page: about 1-3 s of CPU each

PAGE = "system.py"


def open_page(actor) -> AppTest:
    return run_page(PAGE, actor)


def test_system_page__health_counts_and_latency(shop, owner, app_db):
    record_sale(shop, SYSTEM, "S1", [("MILK-1L", 1)])
    at = open_page(owner)
    assert not at.exception
    assert metrics(at)["Database"] == "Healthy"
    tables = at.dataframe[0].value
    counts = dict(zip(tables["table"], tables["rows"], strict=True))
    assert counts["movements"] == 4 and counts["products"] == 3
    latency = at.dataframe[1].value
    assert "stock.sale" in set(latency["action"])


def test_system_page__full_check_runs_on_demand(shop, owner, app_db):
    at = open_page(owner)
    assert not at.success
    at.button(key="sys_check").click().run()
    assert not at.exception
    assert any("Every invariant holds" in s.value for s in at.success)


def test_system_page__backup_now_writes_a_file(shop, owner, app_db, tmp_path, monkeypatch):
    monkeypatch.setenv("INVENTORY_BACKUP_DIR", str(tmp_path / "backups"))
    at = open_page(owner)
    at.button(key="sys_backup").click().run()
    assert not at.exception
    message = next(s.value for s in at.success if "Backup written" in s.value)
    backups = list((tmp_path / "backups").glob("inventory-*.duckdb"))
    assert len(backups) == 1 and str(backups[0]) in message


def test_system_page__staff_is_refused_by_the_page(shop, staff, app_db):
    at = open_page(staff)
    assert not at.exception
    assert any("Only the owner can use the system tools" in e.value for e in at.error)
    assert not at.metric and not at.button


def test_system_page__signed_out_is_asked_to_sign_in(shop, app_db):
    at = open_page(None)
    assert not at.exception
    assert not at.metric
