"""The Import / export page (AppTest): upload -> preview of every row's fate -> commit -> result; errors with a
downloadable report; the store choice for counts without a store column; staff scope; history; export buttons."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.base.permissions import SYSTEM, Actor
from core.db import Database
from core.domain.catalog import get_product
from core.domain.stock import get_stock
from tests.test_import_reading import seed

SHOP_SEED = seed

pytestmark = pytest.mark.slow  # AppTest runs of a page: about 1-3 s of CPU each

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "import_export.py")
OWNER = Actor(email="owner@shop.test", role="owner", name="Olivia Owner")


@pytest.fixture
def shop(shop: Database, db_target: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """The seeded shop (``SHOP_SEED``), which the page opens (env INVENTORY_DB); Streamlit's caches start and end
    empty."""
    db = shop
    monkeypatch.setenv("INVENTORY_DB", db_target)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield db
    st.cache_resource.clear()
    st.cache_data.clear()


def staff_of(db: Database, code: str) -> Actor:
    with db.reader() as tx:
        sid = tx.scalar("SELECT id FROM stores WHERE code = $1", [code])
    return Actor(email="staff@shop.test", role="staff", store_ids=frozenset({int(sid)}), name="Sam")


def open_page(actor: Actor) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = actor
    return at.run()


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader[0].set_value((name, data, "text/csv"))
    return at.run()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_upload_preview_commit(shop: Database) -> None:
    at = open_page(OWNER)
    assert not at.exception
    data = b"sku,name,category,unit_price,quantity\nMILK-1L,,,60,90\nJAM-1,Jam,Spreads,2.50,4\nSOAP-100,,,,8\n"
    at = upload(at, "counts.csv", data)
    assert not at.exception
    # several stores and no store column: the page asks which store the counts are for
    assert at.selectbox(key="import_store").options == ["S1 - Main Street", "S2 - Market Road"]
    assert metrics(at) == {"Rows": "3", "New": "1", "Updated": "1", "Unchanged": "1", "With errors": "0"}
    preview = at.dataframe[0].value
    assert preview["Fate"].tolist() == ["Update", "New", "Unchanged"]
    assert get_stock(shop, SYSTEM, "S1", "MILK-1L")["quantity"] == 100  # the preview wrote nothing
    at.button(key="import_commit").click()
    at = at.run()
    assert not at.exception
    assert "Imported counts.csv: 1 new, 1 updated, 1 unchanged." in at.success[0].value
    assert get_stock(shop, SYSTEM, "S1", "MILK-1L")["quantity"] == 90
    assert str(get_product(shop, "MILK-1L")["unit_price"]) == "60.00"
    assert get_stock(shop, SYSTEM, "S1", "JAM-1")["quantity"] == 4


def test_errors_block_the_commit_until_skipped_and_offer_a_report(shop: Database) -> None:
    at = upload(open_page(OWNER), "bad.csv", b"sku,unit_price\nMILK-1L,57\nRICE-5KG,cheap\n")
    assert not at.exception
    assert "1 rows have errors" in at.error[0].value
    assert at.dataframe[0].value.to_dict("records") == [
        {"line": 3, "column": "unit_price", "message": "Unit price must be a number (got 'cheap')."}
    ]
    assert at.get("download_button")[0].label == "Download the error report (CSV)"
    assert at.button(key="import_commit").disabled
    at.checkbox(key="import_skip").check()
    at = at.run()
    assert not at.button(key="import_commit").disabled
    at.button(key="import_commit").click()
    at = at.run()
    assert not at.exception
    assert "1 rows with errors were skipped" in at.success[0].value
    assert str(get_product(shop, "MILK-1L")["unit_price"]) == "57.00"


def test_file_level_problem_is_one_sentence(shop: Database) -> None:
    at = upload(open_page(OWNER), "empty.csv", b"")
    assert not at.exception
    assert at.error[0].value == "The file is empty."
    assert "import_commit" not in [b.key for b in at.button]


def test_staff_counts_own_store_and_catalog_changes_are_row_errors(shop: Database) -> None:
    staff = staff_of(shop, "S1")
    at = upload(open_page(staff), "count.csv", b"sku,unit_price,quantity\nMILK-1L,56.00,70\nRICE-5KG,1,20\n")
    assert not at.exception
    assert "import_store" not in [s.key for s in at.selectbox]  # the staff member's only store is used
    assert "Staff can import stock counts only" in at.dataframe[0].value["message"][0]
    at.checkbox(key="import_skip").check()
    at = at.run()
    at.button(key="import_commit").click()
    at = at.run()
    assert not at.exception
    assert get_stock(shop, SYSTEM, "S1", "MILK-1L")["quantity"] == 70
    assert str(get_product(shop, "RICE-5KG")["unit_price"]) == "450.00"
    radio = at.radio(key="export_what")
    assert radio.options == ["Stock"]  # staff export counts only
    assert at.selectbox(key="export_store").options == ["All stores", "S1 - Main Street"]


def test_history_and_export_buttons_for_the_owner(shop: Database) -> None:
    from core.sheets.importer import import_file

    import_file(shop, SYSTEM, b"sku,quantity\nMILK-1L,5\n", file_name="earlier.csv", store="S1")
    at = open_page(OWNER)
    assert not at.exception
    history = at.dataframe[0].value
    assert history["file_name"].tolist() == ["earlier.csv"]
    assert at.radio(key="export_what").options == ["Catalog (products)", "Stock", "Movements"]
    assert at.get("download_button")[0].label == "Download catalog (products) (CSV)"
    at.radio(key="export_what").set_value("Catalog (products)")
    at.radio(key="export_format").set_value("xlsx")
    at = at.run()
    assert not at.exception
    assert at.get("download_button")[0].label == "Download catalog (products) (XLSX)"


def test_many_duplicate_lines__a_capped_list_that_says_how_many_more(
    shop: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INVENTORY_IMPORT_MAX_REPORTED_PROBLEMS", "50")
    at = upload(open_page(OWNER), "dups.csv", b"sku,quantity\n" + b"DUP-1,1\n" * 5_000)
    assert not at.exception
    assert "5,000 rows have errors (5,000 problems)" in at.error[0].value
    errors = at.dataframe[0].value
    assert len(errors) == 50 and errors["message"].str.len().max() < 120
    assert any("4,950 more problems were not listed (only the first 50 are)" in c.value for c in at.caption)
    assert metrics(at)["With errors"] == "5,000"


def test_lookalike_skus__the_owner_confirms_with_a_checkbox(shop: Database) -> None:
    from core.domain.catalog import create_product

    create_product(shop, SYSTEM, "00123", "Padded", "Misc", "1.00", 5)
    data = b"sku,name,category,unit_price\n123,Other,Misc,2.00\n"
    at = upload(open_page(OWNER), "saved-by-calc.csv", data)
    assert not at.exception
    assert "1 row has a new SKU that differs from an existing SKU only by leading zeros" in at.warning[0].value
    assert "did a spreadsheet program drop its leading zeros?" in at.dataframe[0].value["message"][0]
    assert at.button(key="import_commit").disabled
    at.checkbox(key="import_lookalike").check()
    at = at.run()
    assert not at.exception and not at.error
    assert metrics(at)["New"] == "1" and not at.button(key="import_commit").disabled
    at.button(key="import_commit").click()
    at = at.run()
    assert not at.exception
    assert "Imported saved-by-calc.csv: 1 new" in at.success[0].value
    assert get_product(shop, "123")["name"] == "Other" and get_product(shop, "00123")["name"] == "Padded"


def test_lookalike_confirmation_is_not_offered_to_staff(shop: Database) -> None:
    from core.domain.catalog import create_product

    create_product(shop, SYSTEM, "00123", "Padded", "Misc", "1.00", 5)
    at = upload(open_page(staff_of(shop, "S1")), "count.csv", b"sku,quantity\n123,4\n")
    assert not at.exception
    assert "import_lookalike" not in [c.key for c in at.checkbox]
    assert "did a spreadsheet program drop its leading zeros?" in at.dataframe[0].value["message"][0]
