"""The Audit log page (AppTest): filters, denied tripwires counted and highlighted, readable diffs; owner only."""

# ruff: noqa: F401, F811  (pytest fixtures imported from tests/test_dashboard_data.py)

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.base.errors import PermissionDenied
from core.domain.catalog import update_product
from tests.conftest import metrics, run_page
from tests.test_dashboard_data import SHOP_SEED, owner, staff  # the shop without accounts; plain actors

pytestmark = pytest.mark.slow  # AppTest runs of a page: about 1-3 s of CPU each

PAGE = "audit.py"


@pytest.fixture
def tripped(shop, owner, staff):
    update_product(shop, owner, "RICE-5KG", 1, unit_price="470.00")
    for price in ("1.00", "2.00"):
        with pytest.raises(PermissionDenied):
            update_product(shop, staff, "MILK-1L", 1, unit_price=price)
    return shop


def open_page(actor, **state) -> AppTest:
    return run_page(PAGE, actor, **state)


def test_audit_page__counts_and_highlights_denied_tripwires(tripped, owner, app_db):
    at = open_page(owner)
    assert not at.exception
    assert metrics(at)["Denied (tripwires)"] == "2"
    assert any("2 refused attempt(s)" in e.value for e in at.error)
    log = at.dataframe[0].value
    assert list(log["outcome"]).count("denied") == 2
    assert log["id"].is_monotonic_decreasing


def test_audit_page__show_only_denied_filters_to_tripwires(tripped, owner, staff, app_db):
    at = open_page(owner)
    at.button(key="aud_only_denied").click().run()
    assert not at.exception
    assert at.selectbox(key="aud_outcome").value == "denied"
    log = at.dataframe[0].value
    assert set(log["outcome"]) == {"denied"} and set(log["actor"]) == {staff.email}
    assert metrics(at)["Entries"] == "2"


def test_audit_page__entry_shows_a_per_field_diff(tripped, owner, app_db):
    at = open_page(owner, aud_action="product.update", aud_outcome="ok")
    assert not at.exception
    assert metrics(at)["Entries"] == "1"
    assert "unit_price: 450.00 → 470.00" in at.dataframe[0].value["changes"][0]
    diff = at.dataframe[1].value
    assert dict(zip(diff["field"], zip(diff["before"], diff["after"], strict=True), strict=True))["unit_price"] == (
        "450.00",
        "470.00",
    )
    assert len(at.json) == 2


def test_audit_page__filter_by_actor(tripped, owner, staff, app_db):
    at = open_page(owner)
    at.selectbox(key="aud_actor").set_value(staff.email).run()
    assert not at.exception
    assert set(at.dataframe[0].value["actor"]) == {staff.email}


def test_audit_page__denied_entry_shows_the_refusal(tripped, owner, app_db):
    at = open_page(owner, aud_outcome="denied")
    assert not at.exception
    assert any("Refused: Staff cannot change prices" in e.value for e in at.error)


def test_audit_page__no_match_is_a_friendly_note(db, app_db):
    from core.base.permissions import SYSTEM

    at = open_page(SYSTEM)
    assert not at.exception
    assert any("No audit entries" in i.value for i in at.info)


def test_audit_page__staff_is_refused_by_the_page(tripped, staff, app_db):
    at = open_page(staff)
    assert not at.exception
    assert any("Only the owner can read the audit log" in e.value for e in at.error)
    assert not at.dataframe and not at.metric
