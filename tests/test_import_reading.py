"""Import, reading: encodings, delimiters, aliases, XLSX, and file-level problems (one small file per rule)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import xlsxwriter

from core.base.permissions import SYSTEM
from core.db import Database
from core.domain.catalog import add_store, create_product, get_product
from core.domain.stock import get_stock
from core.sheets.importer import import_file
from tests.conftest import SAMPLES

DATA = Path(__file__).resolve().parent / "data"


def seed(db: Database) -> None:
    from core.domain.stock import stock_in

    add_store(db, SYSTEM, "S1", "Main Street")
    add_store(db, SYSTEM, "S2", "Market Road")
    create_product(db, SYSTEM, "RICE-5KG", "Basmati Rice 5 kg", "Staples", "450.00", 5, vendor="Daawat")
    create_product(db, SYSTEM, "MILK-1L", "Toned Milk 1 L", "Dairy", "56.00", 20, vendor="Amul")
    create_product(db, SYSTEM, "SOAP-100", "Neem Soap 100 g", "Personal care", "35.50", 10)
    for sku, n in (("RICE-5KG", 30), ("MILK-1L", 100), ("SOAP-100", 8)):
        stock_in(db, SYSTEM, "S1", sku, n)


SHOP_SEED = seed  # ``shop``: stores S1 and S2, three products with stock in S1, no user accounts


def imp(db: Database, name: str, **kwargs):
    return import_file(db, SYSTEM, DATA / name, **kwargs)


def qty(db: Database, store: str, sku: str) -> int:
    return int(get_stock(db, SYSTEM, store, sku)["quantity"])


def test_samples__catalog_then_semicolon_counts_then_xlsx(db: Database) -> None:
    add_store(db, SYSTEM, "S1", "Main")
    first = import_file(db, SYSTEM, SAMPLES / "catalog.csv")
    assert (first.rows, first.created, first.applied, first.errors) == (10, 10, True, [])
    assert qty(db, "S1", "GHEE-1L") == 6
    counts = import_file(db, SYSTEM, SAMPLES / "counts_semicolon.csv")
    assert (counts.updated, counts.unchanged, counts.errors) == (3, 0, [])
    assert qty(db, "S1", "ATTA-5") == 22
    assert str(get_product(db, "ATTA-5")["unit_price"]) == "4.60"  # "4,60" is the same price: no change
    xlsx = import_file(db, SYSTEM, SAMPLES / "stock_update.xlsx")
    assert (xlsx.created, xlsx.updated, xlsx.errors) == (1, 2, [])
    assert qty(db, "S1", "NEW-OIL") == 10
    assert get_product(db, "NEW-OIL")["name"] == "Mustard Oil 1L"


def test_utf8_bom__first_header_is_still_sku(shop: Database) -> None:
    report = imp(shop, "bom_utf8.csv", store="S1")
    assert report.errors == [] and report.created == 1
    assert get_product(shop, "BOM-1")["name"] == "Café au lait"


def test_semicolon_file__decimal_comma_and_dot_thousands(shop: Database) -> None:
    report = imp(shop, "semicolon_decimal_comma.csv", store="S1")
    assert report.errors == []
    assert str(get_product(shop, "DC-1")["unit_price"]) == "2.75"
    assert str(get_product(shop, "DC-2")["unit_price"]) == "1234.50"


def test_comma_thousands_separator_in_quoted_numbers(shop: Database) -> None:
    report = imp(shop, "thousands_separator.csv", store="S1")
    assert report.errors == []
    assert str(get_product(shop, "TH-1")["unit_price"]) == "1234.50"
    assert qty(shop, "S1", "TH-1") == 1200


def test_header_aliases__case_and_spaces_ignored(shop: Database) -> None:
    report = imp(shop, "aliases.csv")
    assert report.errors == [] and report.warnings == []
    product = get_product(shop, "AL-1")
    assert (product["name"], product["category"], str(product["unit_price"])) == ("Toor Dal 1kg", "Pulses", "1.80")
    assert (product["reorder_level"], product["vendor"]) == (4, "Sharma Traders")
    assert qty(shop, "S1", "AL-1") == 12  # "Branch" s1 matched case-insensitively


def test_latin1_file_is_decoded(shop: Database) -> None:
    report = imp(shop, "latin1.csv")
    assert report.errors == []
    assert get_product(shop, "L1-1")["name"] == "Café Noir"
    assert get_product(shop, "L1-2")["name"] == "Crème brûlée"


def test_windows1252_file__euro_sign_and_curly_quotes(shop: Database) -> None:
    report = imp(shop, "windows1252.csv")
    assert report.errors == []
    assert get_product(shop, "W-1")["name"] == "“Euro” Gift Card €5"
    assert str(get_product(shop, "W-1")["unit_price"]) == "5.00"
    assert any("Windows-1252" in w for w in report.warnings)


def test_utf16_tab_separated_file(shop: Database) -> None:
    report = imp(shop, "utf16.txt", store="S1")
    assert report.errors == []
    assert get_product(shop, "U16-1")["name"] == "बासमती चावल"
    assert qty(shop, "S1", "U16-1") == 10


def test_utf16_without_bom_is_recognised(shop: Database) -> None:
    data = "sku,name,category,unit_price\nNB-1,Chai,Drinks,1.00\n".encode("utf-16-le")
    report = import_file(shop, SYSTEM, data, file_name="nobom.csv")
    assert report.errors == [] and get_product(shop, "NB-1")["name"] == "Chai"


def test_hindi_and_urdu_names_round_trip_unchanged(shop: Database) -> None:
    assert imp(shop, "hindi_urdu.csv", store="S1").errors == []
    assert get_product(shop, "HI-1")["name"] == "बासमती चावल 5 किलो"
    assert get_product(shop, "UR-1")["category"] == "اناج"
    again = imp(shop, "hindi_urdu.csv", store="S1")
    assert (again.unchanged, again.updated, again.created) == (2, 0, 0)


def test_quoted_commas_and_newlines__lines_are_spreadsheet_rows(shop: Database) -> None:
    report = imp(shop, "quoted.csv", store="S1")
    # Q-2's name spans two text lines, yet Q-3 is row 4 of the spreadsheet
    assert report.errors == [{"line": 4, "column": "quantity", "message": "Quantity cannot be negative (got -1)."}]
    assert not report.applied
    ok = imp(shop, "quoted.csv", store="S1", skip_invalid=True)
    assert ok.applied and ok.created == 2
    assert get_product(shop, "Q-1")["name"] == "Rice, Basmati"
    assert get_product(shop, "Q-1")["category"] == "Grains, premium"
    assert get_product(shop, "Q-2")["name"] == "Gift box\nsecond line"


def test_extra_columns_are_ignored_with_a_warning(shop: Database) -> None:
    report = imp(shop, "extra_columns.csv")
    assert report.errors == [] and report.created == 1
    assert "Column 'Colour' is not a known column and was ignored." in report.warnings
    assert "Column 'Notes' is not a known column and was ignored." in report.warnings


def test_two_columns_for_one_field__first_alias_wins_with_warning(shop: Database) -> None:
    data = b"sku,MRP,unit_price\nRICE-5KG,999,455\n"
    report = import_file(shop, SYSTEM, data, file_name="two.csv")
    assert report.errors == []
    assert str(get_product(shop, "RICE-5KG")["unit_price"]) == "455.00"
    assert any("'MRP' was ignored" in w for w in report.warnings)


def test_title_rows_above_the_header_are_skipped(shop: Database) -> None:
    report = imp(shop, "title_rows.csv", store="S1")
    assert report.errors == [] and report.updated == 1
    assert qty(shop, "S1", "RICE-5KG") == 12
    assert report.preview["line"].tolist() == [5]


def test_ragged_row__unquoted_comma_is_an_error_on_its_line(shop: Database) -> None:
    report = imp(shop, "ragged.csv")
    assert [e["line"] for e in report.errors] == [2]
    assert "must be in quotes" in report.errors[0]["message"]
    assert not report.applied


def test_excel_sep_line_sets_the_delimiter(shop: Database) -> None:
    data = b"sep=;\nsku;unit_price\nRICE-5KG;460,5\n"
    report = import_file(shop, SYSTEM, data, file_name="sep.csv")
    assert report.errors == [] and str(get_product(shop, "RICE-5KG")["unit_price"]) == "460.50"


def test_blank_lines_are_skipped_but_keep_numbering(shop: Database) -> None:
    data = b"sku,quantity\nRICE-5KG,3\n\n,,\nMILK-1L,-1\n"
    report = import_file(shop, SYSTEM, data, file_name="blank.csv", store="S1")
    assert report.rows == 2
    assert [e["line"] for e in report.errors] == [5]


def _xlsx(rows: list[list[object]], sheet_first: str = "Counts") -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = book.add_worksheet(sheet_first)
    for i, row in enumerate(rows):
        ws.write_row(i, 0, row)
    book.add_worksheet("Other").write_row(0, 0, ["sku", "quantity"])
    book.close()
    return buffer.getvalue()


def test_xlsx_first_sheet__whole_numbers_arrive_as_integers(shop: Database) -> None:
    data = _xlsx([["SKU", "Qty", "Price"], ["RICE-5KG", 12, 450], ["MILK-1L", 7.0, 56.5], ["SOAP-100", 2.5, 1]])
    report = import_file(shop, SYSTEM, data, file_name="counts.xlsx", store="S1")
    assert report.errors == [
        {"line": 4, "column": "Qty", "message": "Quantity must be a whole number (got 2.5)."},
    ]
    fixed = _xlsx([["SKU", "Qty", "Price"], ["RICE-5KG", 12, 450], ["MILK-1L", 7.0, 56.5]])
    report = import_file(shop, SYSTEM, fixed, file_name="counts.xlsx", store="S1")
    assert report.errors == [] and qty(shop, "S1", "RICE-5KG") == 12 and qty(shop, "S1", "MILK-1L") == 7
    assert str(get_product(shop, "MILK-1L")["unit_price"]) == "56.50"


def test_xlsx_content_is_recognised_whatever_the_file_name(shop: Database) -> None:
    data = _xlsx([["sku", "quantity"], ["RICE-5KG", 1]])
    report = import_file(shop, SYSTEM, data, file_name="export.csv", store="S1")
    assert report.errors == [] and qty(shop, "S1", "RICE-5KG") == 1


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("empty.csv", "The file is empty."),
        ("no_sku_column.csv", "The file has no SKU column (its columns are: Product Name, Price, Qty)"),
    ],
)
def test_file_level_problem__one_error_without_line(shop: Database, name: str, fragment: str) -> None:
    report = imp(shop, name)
    assert report.applied is False and report.exit_code == 2
    assert len(report.errors) == 1 and report.errors[0]["line"] is None
    assert fragment in report.errors[0]["message"]


def test_damaged_xlsx_is_a_file_level_problem(shop: Database) -> None:
    report = import_file(shop, SYSTEM, b"PK\x03\x04 not really a zip", file_name="broken.xlsx")
    assert report.exit_code == 2 and "could not be read" in report.errors[0]["message"]


def test_header_only__nothing_to_do_is_not_an_error(shop: Database) -> None:
    report = imp(shop, "header_only.csv")
    assert (report.rows, report.errors, report.applied, report.exit_code) == (0, [], True, 0)
    assert any("no data rows" in w for w in report.warnings)


def test_real_world_exports__cr_newlines_rupee_suffix_excel_text_and_header_punctuation(shop: Database) -> None:
    data = b'Item #,Qty.,Price (Rs)\r="00123",4,450/-\rMILK-1L,7,"Rs. 1,050.00"\r'
    report = import_file(shop, SYSTEM, data, file_name="tally.csv", store="S1")
    assert report.errors[0]["message"] == "00123 is a new product: its name is required."
    assert report.preview["sku"].tolist() == ["00123", "MILK-1L"]
    assert report.preview["fate"].tolist() == ["error", "update"]
    imp2 = import_file(shop, SYSTEM, b"sku,unit_price\nRICE-5KG,460/-\n", file_name="r.csv")
    assert imp2.errors == [] and str(get_product(shop, "RICE-5KG")["unit_price"]) == "460.00"
