"""Export -> import round trips: whatever the texts are, an exported file imports as ``unchanged`` and the
database stays exactly as it was.

Names once lost their leading apostrophe (``'=x`` came back as ``=x``: the exporter guards formulas with one
``'`` and the importer removed one whether or not the exporter had added it), and a CSV opened and saved by a
spreadsheet program turned SKUs ``00123`` into ``123``. A property test over product names, categories, vendors
and SKUs checks CSV and XLSX directly; ``test_libreoffice_roundtrip`` checks the same through LibreOffice Calc.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core.base.errors import ValidationError
from core.base.permissions import SYSTEM
from core.db import Database
from core.domain.catalog import add_store, create_product
from core.domain.stock import stock_in
from core.sheets.exporter import csv_cell, export_bytes
from core.sheets.importer import import_file
from tests.conftest import table_rows

TABLES = ("products", "vendors", "stock", "movements", "stores")
FORMULA_LIKE = ["'", "=", "+", "-", "@", "\t", "\r", '="', "''", "'=", "'-", "'@", "'+"]
# Text as people and spreadsheets write it: letters, digits, punctuation, spaces, controls, any script.
_chars = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
texts = st.one_of(
    st.text(_chars, min_size=1, max_size=30),
    st.tuples(st.sampled_from(FORMULA_LIKE), st.text(_chars, max_size=12)).map("".join),
    st.from_regex(r"[0-9]{1,8}|0[0-9]{0,6}|[+\-]?[0-9]+([.,][0-9]+)?(e[0-9])?%?|[0-9]{1,2}/[0-9]{1,2}", fullmatch=True),
)
_serial = itertools.count()


def snapshot(db: Database) -> dict[str, list[tuple]]:
    with db.reader() as tx:
        return {t: table_rows(tx, t) for t in TABLES}


def assert_reimports_unchanged(db: Database, what: str = "products", store: str | None = None) -> None:
    before = snapshot(db)
    for fmt in ("csv", "xlsx"):
        data, name, _, rows = export_bytes(db, SYSTEM, what, store=store, fmt=fmt)
        report = import_file(db, SYSTEM, data, file_name=name)
        assert report.errors == [], (fmt, report.errors)
        assert (report.rows, report.unchanged, report.created, report.updated) == (rows, rows, 0, 0), fmt
        assert snapshot(db) == before, fmt


@pytest.fixture
def one_store(db: Database) -> Database:
    add_store(db, SYSTEM, "S1", "Main Street")
    return db


@pytest.mark.slow  # a property test: 25 generated catalogs through a whole export and import each
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=texts, category=texts, vendor=texts, sku=texts)
def test_any_texts_export_and_reimport_unchanged(one_store: Database, name: str, category: str, vendor: str, sku: str):
    db = one_store
    sku = f"{sku.strip()[:40]}{next(_serial)}" if not sku.strip().isdigit() else f"{sku.strip()[:40]}0{next(_serial)}"
    try:
        create_product(db, SYSTEM, sku, name, category, "1.00", 1, vendor=vendor)
    except ValidationError:
        assume(False)  # not a legal product: nothing to round-trip
    stock_in(db, SYSTEM, "S1", sku.strip(), 3)
    assert_reimports_unchanged(db)
    assert_reimports_unchanged(db, "stock", "S1")


@pytest.mark.parametrize(
    "name",
    ["'=x", "'-x", "'@x", "'+x", "''=x", "'", "''", "'x", '="x"', '\'="x"', "=x", "-x", "@x", "+x", "00123", "1/2"],
)
def test_guard_like_names_reimport_unchanged(one_store: Database, name: str) -> None:
    create_product(one_store, SYSTEM, "N-1", name, name, "1.00", vendor=name)
    assert_reimports_unchanged(one_store)


def test_leading_zero_skus_are_text_in_both_formats(one_store: Database) -> None:
    from io import BytesIO

    from python_calamine import CalamineWorkbook

    for sku in ("00123", "0042", "007", "123"):
        create_product(one_store, SYSTEM, sku, f"Item {sku}", "Misc", "2.50")
    csv = export_bytes(one_store, SYSTEM, "products")[0].decode("utf-8-sig")
    assert '"=""00123"""' in csv and '"=""007"""' in csv
    xlsx = export_bytes(one_store, SYSTEM, "products", fmt="xlsx")[0]
    rows = CalamineWorkbook.from_filelike(BytesIO(xlsx)).get_sheet_by_index(0).to_python()
    assert {r[0] for r in rows[1:]} == {"00123", "0042", "007", "123"}  # text cells, not numbers
    assert_reimports_unchanged(one_store)


def test_csv_cell__number_like_text_in_the_text_form_formula_like_text_guarded() -> None:
    assert csv_cell("00123") == '="00123"' and csv_cell("1/2") == '="1/2"' and csv_cell("MAR1") == '="MAR1"'
    assert csv_cell("-5") == '="-5"' and csv_cell("=x") == "'=x" and csv_cell("'=x") == "''=x"
    assert csv_cell("RICE-5KG") == "RICE-5KG" and csv_cell("'x") == "'x" and csv_cell('="x"') == '\'="x"'
