"""Import, row rules: numbers, duplicates, length limits, new products, blank cells, every error at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.base.errors import NotFound
from core.base.permissions import SYSTEM
from core.db import Database
from core.domain.catalog import get_product
from core.domain.stock import get_stock
from core.sheets.importer import import_file
from tests.test_import_reading import seed

DATA = Path(__file__).resolve().parent / "data"


SHOP_SEED = seed  # ``shop``: stores S1 and S2, three products with stock in S1, no user accounts


def imp(db: Database, source: str | bytes, **kwargs):
    if isinstance(source, bytes):
        return import_file(db, SYSTEM, source, file_name=kwargs.pop("file_name", "rows.csv"), **kwargs)
    return import_file(db, SYSTEM, DATA / source, **kwargs)


def messages(report) -> list[tuple[int | None, str | None, str]]:
    return [(e["line"], e["column"], e["message"]) for e in report.errors]


def test_negative_numbers_are_row_errors(shop: Database) -> None:
    report = imp(shop, "negative_numbers.csv", store="S1")
    assert messages(report) == [
        (2, "unit_price", "Unit price cannot be negative (got -0.10)."),
        (3, "quantity", "Quantity cannot be negative (got -3)."),
        (4, "reorder_level", "Reorder level cannot be negative (got -1)."),
    ]
    assert not report.applied and report.exit_code == 1


def test_non_numeric_and_fractional_numbers_are_row_errors(shop: Database) -> None:
    report = imp(shop, "non_numeric.csv", store="S1")
    assert messages(report) == [
        (2, "unit_price", "Unit price must be a number (got 'cheap')."),
        (3, "quantity", "Quantity must be a whole number (got 'twelve')."),
        (4, "quantity", "Quantity must be a whole number (got 2.5)."),
        (5, "reorder_level", "Reorder level must be a whole number (got 'lots')."),
    ]


def test_a_sku_twice_is_an_error_on_each_line(shop: Database) -> None:
    report = imp(shop, "duplicates.csv")
    assert messages(report) == [
        (2, "sku", "SKU DUP-1 appears more than once in the file (lines 2, 4)."),
        (4, "sku", "SKU DUP-1 appears more than once in the file (lines 2, 4)."),
    ]
    assert report.preview.set_index("line")["fate"].to_dict() == {2: "error", 3: "create", 4: "error"}
    with pytest.raises(NotFound):
        get_product(shop, "OTHER-1")  # all-or-nothing: the valid row was not written either


def test_same_sku_in_two_stores_is_fine_but_twice_in_one_store_is_not(shop: Database) -> None:
    ok = imp(shop, "store_column.csv")
    assert ok.errors == [] and ok.updated == 3
    assert get_stock(shop, SYSTEM, "S2", "RICE-5KG")["quantity"] == 7
    assert get_stock(shop, SYSTEM, "S2", "MILK-1L")["quantity"] == 3
    twice = imp(shop, b"store,sku,quantity\nS1,MILK-1L,5\ns1,MILK-1L,6\n")
    assert [e["line"] for e in twice.errors] == [2, 3]
    assert "for store" in twice.errors[0]["message"]


def test_lines_of_one_sku_must_agree_on_product_fields(shop: Database) -> None:
    report = imp(shop, b"store,sku,unit_price,quantity\nS1,MILK-1L,56,5\nS2,MILK-1L,57,6\n")
    assert [(e["line"], e["column"]) for e in report.errors] == [(2, "unit_price"), (3, "unit_price")]
    assert "different unit price" in report.errors[0]["message"]


def test_length_limits_from_validate(shop: Database) -> None:
    report = imp(shop, "length_limits.csv")
    assert messages(report) == [
        (2, "sku", "SKU must be at most 64 characters (got 65)."),
        (3, "name", "Name must be at most 100 characters (got 101)."),
        (4, "category", "Category must be at most 50 characters (got 51)."),
    ]
    assert report.preview.set_index("line")["fate"][5] == "create"  # exactly at every limit is fine
    assert imp(shop, "length_limits.csv", skip_invalid=True).created == 1
    assert get_product(shop, "S" * 64)["category"] == "C" * 50


def test_sku_is_trimmed(shop: Database) -> None:
    report = imp(shop, b"sku,unit_price\n  MILK-1L  ,57\n")
    assert report.errors == [] and str(get_product(shop, "MILK-1L")["unit_price"]) == "57.00"


def test_new_sku_needs_name_category_and_price(shop: Database) -> None:
    report = imp(shop, b"sku,name,category,unit_price\nNEW-1,,,\nNEW-2,Jam,Spreads,2.50\n")
    assert messages(report) == [
        (2, "name", "NEW-1 is a new product: its name is required."),
        (2, "category", "NEW-1 is a new product: its category is required."),
        (2, "unit_price", "NEW-1 is a new product: its unit price is required."),
    ]
    no_columns = imp(shop, b"sku,quantity\nNEW-3,4\n", store="S1")
    assert [e["column"] for e in no_columns.errors] == ["name", "category", "unit_price"]


def test_new_product_defaults_reorder_level_10_and_creates_vendor(shop: Database) -> None:
    report = imp(shop, b"sku,name,category,unit_price,vendor\nNEW-1,Jam,Spreads,2.50,Kissan\n")
    assert report.created == 1
    product = get_product(shop, "NEW-1")
    assert (product["reorder_level"], product["vendor"], product["version"], product["active"]) == (
        10,
        "Kissan",
        1,
        True,
    )


def test_blank_cell_leaves_the_stored_value(shop: Database) -> None:
    before = get_product(shop, "MILK-1L")
    report = imp(shop, b"sku,name,category,unit_price,reorder_level,vendor\nMILK-1L,,,57.00,,\n")
    assert report.updated == 1
    after = get_product(shop, "MILK-1L")
    assert (after["name"], after["category"], after["reorder_level"], after["vendor"]) == (
        before["name"],
        before["category"],
        before["reorder_level"],
        before["vendor"],
    )
    assert str(after["unit_price"]) == "57.00" and after["version"] == before["version"] + 1


def test_vendor_matches_case_insensitively(shop: Database) -> None:
    report = imp(shop, b"sku,vendor\nMILK-1L,AMUL\n")
    assert report.unchanged == 1


def test_active_column__no_deactivates_and_junk_is_an_error(shop: Database) -> None:
    report = imp(shop, b"sku,active\nSOAP-100,no\nMILK-1L,maybe\n")
    assert messages(report) == [(3, "active", "Active must be yes or no (got 'maybe').")]
    assert imp(shop, b"sku,active\nSOAP-100,no\n").updated == 1
    assert get_product(shop, "SOAP-100")["active"] is False


def test_count_of_a_deactivated_product_is_refused_unless_reactivated(shop: Database) -> None:
    imp(shop, b"sku,active\nSOAP-100,false\n")
    refused = imp(shop, b"sku,quantity\nSOAP-100,3\n", store="S1")
    assert messages(refused) == [
        (2, "quantity", "Product SOAP-100 is deactivated; set its active column to yes to count it.")
    ]
    same = imp(shop, b"sku,quantity\nSOAP-100,8\n", store="S1")
    assert same.errors == [] and same.unchanged == 1  # an unchanged count is not a change
    back = imp(shop, b"sku,active,quantity\nSOAP-100,yes,3\n", store="S1")
    assert back.errors == [] and get_stock(shop, SYSTEM, "S1", "SOAP-100")["quantity"] == 3


def test_formula_looking_text_is_stored_as_text(shop: Database) -> None:
    report = imp(shop, "formula_text.csv")
    assert report.errors == [] and report.created == 4
    assert get_product(shop, "FX-1")["name"] == '=HYPERLINK("http://x.test")'
    assert get_product(shop, "FX-4")["name"] == "-20% soap"


def test_exported_formula_guard_is_removed_on_import(shop: Database) -> None:
    imp(shop, "formula_text.csv")
    report = imp(shop, b"sku,name\nFX-2,'+91 Masala\nFX-3,'@home pack\n")
    assert report.unchanged == 2


def test_every_error_is_reported_at_once(shop: Database) -> None:
    report = imp(shop, "non_numeric.csv", store="S1")
    assert report.error_rows == 4 and len(report.errors) == 4


def test_store_column__unknown_store_and_missing_store(shop: Database) -> None:
    report = imp(shop, b"store,sku,quantity\nS9,MILK-1L,5\n,RICE-5KG,4\nmarket road,SOAP-100,2\n")
    assert messages(report) == [
        (2, "store", "There is no store with code S9."),
        (3, "store", "The store is missing: fill in the store column or choose a store."),
    ]
    assert report.preview.set_index("line")["store"][4] == "S2"  # matched by the store's name


def test_quantities_without_store_and_several_stores__file_level(shop: Database) -> None:
    report = imp(shop, b"sku,quantity\nMILK-1L,5\n")
    assert report.exit_code == 2 and report.errors[0]["line"] is None
    assert "no store column" in report.errors[0]["message"]


def test_unknown_store_option__file_level(shop: Database) -> None:
    report = imp(shop, b"sku,quantity\nMILK-1L,5\n", store="NOPE")
    assert report.exit_code == 2 and report.errors[0]["message"] == "There is no store with code 'NOPE'."


def test_only_store_is_the_default(db: Database) -> None:
    from core.domain.catalog import add_store

    add_store(db, SYSTEM, "ONLY", "The only one")
    report = imp(db, b"sku,name,category,unit_price,quantity\nA-1,Apple,Fruit,0.30,9\n")
    assert report.errors == [] and report.store == "ONLY"
    assert get_stock(db, SYSTEM, "ONLY", "A-1")["quantity"] == 9


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("₹1,234.50", "1234.50"),
        ("$ 4.6", "4.60"),
        ("4.605", "4.61"),
        ("1 234,5", "1234.50"),  # the number itself shows a decimal comma
        ("12,34,5", None),
        (".5", "0.50"),
    ],
)
def test_price_formats(shop: Database, cell: str, expected: str | None) -> None:
    report = imp(shop, f'sku,unit_price\nMILK-1L,"{cell}"\n'.encode())
    if expected is None:
        assert report.errors and report.errors[0]["column"] == "unit_price"
    else:
        assert report.errors == [] and str(get_product(shop, "MILK-1L")["unit_price"]) == expected


def test_accounting_export_quantities_with_units(shop: Database) -> None:
    report = imp(shop, b"Item Code,Closing Stock,Rate,HSN Code\nMILK-1L,12 Pcs,56.00,0401\nRICE-5KG,3.000 Nos,450,1006\n",
                 store="S1")  # fmt: skip
    assert report.errors == [] and "Column 'HSN Code' is not a known column and was ignored." in report.warnings
    assert get_stock(shop, SYSTEM, "S1", "MILK-1L")["quantity"] == 12
    assert get_stock(shop, SYSTEM, "S1", "RICE-5KG")["quantity"] == 3
    bad = imp(shop, b"sku,quantity\nMILK-1L,12abc\n", store="S1")
    assert bad.errors[0]["message"] == "Quantity must be a whole number (got '12abc')."
