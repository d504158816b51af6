"""Small refusals of issue 12, item 19: each one a sentence for a person, with nothing written.

An operation id over 100 characters; invisible characters in SKUs and store codes (by every path: forms, CLI,
import); ``--qty 1_000``; a refusal naming a store by its code, never its internal id; a database target that is
neither a file path nor a PostgreSQL URL (``md:`` made DuckDB try to download an extension).
"""

from __future__ import annotations

import pytest

from core import open_db
from core.base.errors import PermissionDenied, ValidationError
from core.base.permissions import SYSTEM, require
from core.base.validate import clean_int, clean_sku, clean_store_code
from core.domain.catalog import add_store, create_product
from core.domain.lookups import product_by_sku, store_by_code
from core.domain.orders import create_order, order_lines
from core.domain.stock import stock_in
from core.sheets.importer import import_file
from core.tools.cli import main
from tests.conftest import table_rows

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u2028", "\u2029", "\x07"]


def counts(db) -> dict[str, int]:
    with db.reader() as tx:
        return {t: len(table_rows(tx, t)) for t in ("products", "stores", "movements", "operations", "stock")}


@pytest.fixture
def cli(db_path, capsys, monkeypatch):
    monkeypatch.setenv("INVENTORY_PASSWORD", "cli password 1")
    monkeypatch.delenv("INVENTORY_DB", raising=False)

    def run(*args: str, db: str | None = None):
        capsys.readouterr()
        code = main(["--db", db or str(db_path), *args])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return run


# ---- operation ids ----------------------------------------------------------------------------------------------


def test_op_id__over_100_characters_is_a_sentence_and_writes_nothing(shop):
    before = counts(shop)
    with pytest.raises(ValidationError) as refused:
        stock_in(shop, SYSTEM, "S1", "MILK-1L", 1, client_op_id="x" * 101)
    assert str(refused.value) == "An operation id must be 1 to 100 characters long (this one has 101)."
    assert counts(shop) == before
    assert stock_in(shop, SYSTEM, "S1", "MILK-1L", 1, client_op_id="x" * 100)["movements"][0]["delta"] == 1


def test_op_id__blank_means_none(shop):
    first = stock_in(shop, SYSTEM, "S1", "MILK-1L", 1, client_op_id="")
    second = stock_in(shop, SYSTEM, "S1", "MILK-1L", 1, client_op_id="")
    assert second["movements"][0]["quantity_after"] == first["movements"][0]["quantity_after"] + 1


def test_cli_op_id__over_100_characters_is_a_usage_error(cli):
    assert cli("init")[0] == 0
    code, _, err = cli("record", "sale", "--store", "S1", "--sku", "A", "--qty", "1", "--op-id", "y" * 150)
    assert code == 2
    assert "An operation id must be 1 to 100 characters long (this one has 150)." in err
    assert "CHECK" not in err and "constraint" not in err.lower()


# ---- invisible characters in codes ------------------------------------------------------------------------------


@pytest.mark.parametrize("char", INVISIBLE)
def test_codes__an_invisible_character_is_refused_naming_it(char):
    with pytest.raises(ValidationError, match=r"SKU .* contains an invisible character \(U\+"):
        clean_sku(f"Z{char}Z")
    with pytest.raises(ValidationError, match=r"Store code .* contains an invisible character \(U\+"):
        clean_store_code(f"S{char}1")


def test_codes__normalised_to_nfc_and_trimmed():
    assert clean_sku(" e\u0301-1 ") == "\u00e9-1"
    assert clean_store_code(" s\u0301 ") == "\u015b".upper()


def test_product_and_store__invisible_twins_are_refused(shop):
    create_product(shop, SYSTEM, "ZZ", "Zed", "Misc", "1.00", 1)
    before = counts(shop)
    with pytest.raises(ValidationError, match="U\\+200B ZERO WIDTH SPACE"):
        create_product(shop, SYSTEM, "Z\u200bZ", "Zed twin", "Misc", "1.00", 1)
    with pytest.raises(ValidationError, match="U\\+FEFF"):
        add_store(shop, SYSTEM, "\ufeffS3", "Third")
    assert counts(shop) == before


def test_product__a_decomposed_sku_finds_the_composed_one(shop):
    create_product(shop, SYSTEM, "CAF\u00c9", "Coffee", "Drinks", "3.00", 1)
    with pytest.raises(ValidationError, match="already exists"):
        create_product(shop, SYSTEM, "CAFE\u0301", "Coffee again", "Drinks", "3.00", 1)
    with shop.reader() as tx:
        assert product_by_sku(tx, "CAFE\u0301")["name"] == "Coffee"
        assert store_by_code(tx, " s1 ")["code"] == "S1"


def test_import__an_invisible_character_in_a_sku_is_a_row_error(shop):
    data = "sku,name,category,unit_price\nZZ,Zed,Misc,1.00\nZ\u200bZ,Zed twin,Misc,1.00\nE\u0301,Accent,Misc,1.00\n"
    report = import_file(shop, SYSTEM, data.encode(), file_name="rows.csv")
    assert [(e["line"], e["column"]) for e in report.errors] == [(3, "sku")]
    assert "U+200B ZERO WIDTH SPACE" in report.errors[0]["message"]
    assert not report.applied
    report = import_file(shop, SYSTEM, data.encode(), file_name="rows.csv", skip_invalid=True)
    with shop.reader() as tx:
        skus = {r[0] for r in tx.all("SELECT sku FROM products")}
    assert {"ZZ", "\u00c9"} <= skus and "Z\u200bZ" not in skus


def test_cli_store_add__invisible_character_is_a_sentence(cli):
    code, _, err = cli("store", "add", "S\u200b1", "Main")
    assert code == 1 and "contains an invisible character (U+200B ZERO WIDTH SPACE)" in err


# ---- whole numbers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1_000", "1e3", " 10", "+5", "\u0661\u0662", "0x10", "10.0"])
def test_cli_qty__only_plain_digits(cli, text):
    assert cli("init")[0] == 0
    code, _, err = cli("record", "stock-in", "--store", "S1", "--sku", "A", "--qty", text)
    assert code == 2
    assert "is not a whole number (write it with the digits 0-9 only)" in err


@pytest.mark.parametrize("text", ["1_000", "1e3", "\u0661\u0662"])
def test_whole_numbers_as_text__underscores_exponents_and_other_digits_are_refused(text):
    with pytest.raises(ValidationError, match="must be a whole number written with the digits 0-9"):
        clean_int(text, "quantity")
    assert clean_int(" 12 ", "quantity") == 12 and clean_int("12.0", "quantity") == 12


def test_stock_in__a_quantity_with_underscores_writes_nothing(shop):
    before = counts(shop)
    with pytest.raises(ValidationError, match="digits 0-9"):
        stock_in(shop, SYSTEM, "S1", "MILK-1L", "1_000")
    assert counts(shop) == before


# ---- store codes, never ids -------------------------------------------------------------------------------------


def test_refusal__names_the_store_code_not_its_id(shop, staff):
    stock_in(shop, SYSTEM, "S2", "MILK-1L", 5)
    order = create_order(shop, SYSTEM, "S2", [("MILK-1L", 1)])
    with pytest.raises(PermissionDenied) as refused:
        order_lines(shop, staff, order["order_id"])
    assert str(refused.value) == "You are not assigned to store S2."


def test_require__without_a_store_label_never_shows_an_id(staff):
    with pytest.raises(PermissionDenied) as refused:
        require(staff, "stock.read", 987654)
    assert "987654" not in str(refused.value)
    assert str(refused.value) == "You are not assigned to this store."


# ---- database targets -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["md:", "md:inventory", "motherduck:x", "s3://bucket/x.duckdb", "http://h/x"])
def test_open_db__a_target_with_another_scheme_is_refused(target, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError, match="databases are not supported: the database must be a DuckDB file"):
        open_db(target)
    assert list(tmp_path.iterdir()) == []


def test_cli__md_target_is_a_usage_error(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("init", db="md:")
    assert code == 2 and err.startswith("error: md: databases are not supported")
    monkeypatch.setenv("INVENTORY_DB", "md:inventory")
    assert main(["kpis"]) == 2
    assert list(tmp_path.iterdir()) == []


def test_app__md_target_is_shown_as_a_sentence(monkeypatch, tmp_path):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tests.test_app_support import APP, force_v2_pages

    monkeypatch.chdir(tmp_path)
    force_v2_pages(monkeypatch)
    monkeypatch.setenv("INVENTORY_DB", "md:inventory")
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert any("md: databases are not supported" in e.value for e in at.error)
    st.cache_resource.clear()
