"""Import of what real office programs write: float noise in computed counts and prices (``12.000000000000002``),
and SKUs whose leading zeros a spreadsheet program dropped (``00123`` -> ``123``): a new SKU whose zero-padded
twin is in the catalog is a row error unless the user confirms."""

from __future__ import annotations

import io

import pytest
import xlsxwriter

from core.base.errors import NotFound
from core.base.permissions import SYSTEM
from core.db import Database
from core.domain.catalog import create_product, get_product
from core.domain.stock import get_stock
from core.sheets.importer import import_file
from tests.test_import_reading import seed
from tests.test_import_writing import imp, staff_actor

SHOP_SEED = seed  # ``shop``: stores S1 and S2, three products with stock in S1, no user accounts


def xlsx(rows: list[list[object]]) -> bytes:
    """An XLSX written by xlsxwriter; a ``(formula, value)`` cell is a formula with its computed value stored, as
    a spreadsheet program saves it (a plain number cell is written with 16 digits, which hides the noise)."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, tuple):
                sheet.write_formula(r, c, value[0], None, value[1])
            else:
                sheet.write(r, c, value)
    book.close()
    return out.getvalue()


# ---- item 22: float noise ----------------------------------------------------------------------------------


def test_float_noise_in_counts_from_csv_text(shop: Database) -> None:
    report = imp(shop, b"sku,quantity,reorder_level\nMILK-1L,12.000000000000002,4\nRICE-5KG,2.9999999999999996,"
                 b"5.000000000000001\n", store="S1")  # fmt: skip
    assert report.errors == [] and report.applied
    assert get_stock(shop, SYSTEM, "S1", "MILK-1L")["quantity"] == 12
    assert get_stock(shop, SYSTEM, "S1", "RICE-5KG")["quantity"] == 3
    assert get_product(shop, "RICE-5KG")["reorder_level"] == 5


def test_a_real_fraction_is_still_refused(shop: Database) -> None:
    report = imp(shop, b"sku,quantity\nMILK-1L,12.4\nRICE-5KG,3.0001\n", store="S1")
    assert [(e["line"], e["message"]) for e in report.errors] == [
        (2, "Quantity must be a whole number (got 12.4)."),
        (3, "Quantity must be a whole number (got 3.0001)."),
    ]


@pytest.mark.slow
def test_float_noise_in_counts_and_prices_from_an_xlsx(shop: Database) -> None:
    rows: list[list[object]] = [
        ["sku", "quantity", "unit_price"],
        ["MILK-1L", ("=0.1*3*40", 12.000000000000002), ("=0.56*100", 56.00000000000001)],
        ["RICE-5KG", ("=0.3/0.1", 2.9999999999999996), ("=4.605*1", 4.6049999999999995)],  # shown: 3 and 4.605
    ]
    data = xlsx([*rows, ["SOAP-100", ("=12.4*1", 12.4), 35.5]])
    report = import_file(shop, SYSTEM, data, file_name="computed.xlsx", store="S1")
    assert [(e["line"], e["message"]) for e in report.errors] == [(4, "Quantity must be a whole number (got 12.4).")]
    fixed = xlsx(rows)
    report = import_file(shop, SYSTEM, fixed, file_name="computed.xlsx", store="S1")
    assert report.errors == [] and report.applied
    assert get_stock(shop, SYSTEM, "S1", "MILK-1L")["quantity"] == 12
    assert get_stock(shop, SYSTEM, "S1", "RICE-5KG")["quantity"] == 3
    assert str(get_product(shop, "MILK-1L")["unit_price"]) == "56.00"
    assert str(get_product(shop, "RICE-5KG")["unit_price"]) == "4.61"  # 4.605 rounds half up, as typed
    again = import_file(shop, SYSTEM, fixed, file_name="computed.xlsx", store="S1")
    assert again.unchanged == 2


# ---- item 21 (importer half): leading zeros dropped by a spreadsheet program --------------------------------


@pytest.fixture
def padded(shop: Database) -> Database:
    for sku in ("00123", "0042", "007"):
        create_product(shop, SYSTEM, sku, f"Padded {sku}", "Misc", "1.00", 5)
    return shop


SAVED_BY_CALC = b"sku,name,category,unit_price,quantity\n123,Padded 00123,Misc,1.00,5\n42,,,,6\n7,,,,7\n"


def test_new_sku_whose_zero_padded_twin_exists__row_error(padded: Database) -> None:
    report = imp(padded, SAVED_BY_CALC, store="S1")
    assert not report.applied and report.lookalike_skus == 3
    first = report.errors[0]
    assert (first["line"], first["column"]) == (2, "sku")
    assert first["message"] == (
        "123 is not in the catalog, but 00123 is: did a spreadsheet program drop its leading zeros?"
        " Correct the SKU, or confirm that 123 is a new product."
    )
    assert {(e["line"], e["message"].split(",")[0]) for e in report.errors if e["column"] == "sku"} == {
        (2, "123 is not in the catalog"),
        (3, "42 is not in the catalog"),
        (4, "7 is not in the catalog"),
    }
    with pytest.raises(NotFound):
        get_product(padded, "123")


def test_confirmed_lookalike_skus_are_created(padded: Database) -> None:
    data = b"sku,name,category,unit_price,quantity\n123,Other thing,Misc,1.00,5\n"
    report = imp(padded, data, store="S1", allow_new_like_existing=True)
    assert report.applied and report.created == 1 and report.lookalike_skus == 1 and report.errors == []
    assert get_product(padded, "123")["name"] == "Other thing"
    assert get_stock(padded, SYSTEM, "S1", "00123")["quantity"] == 0  # the count did not land on the twin
    assert imp(padded, data, store="S1").unchanged == 1  # now it exists: no longer new, no longer flagged


def test_only_new_all_digit_skus_are_compared(padded: Database) -> None:
    create_product(padded, SYSTEM, "A-0042", "Letters", "Misc", "1.00", 5)
    data = (
        b"sku,name,category,unit_price\n00123,,,2.00\nA-42,Apple,Fruit,1.00\n0000123,Far,Misc,1.00\n"
        b"999,Nine,Misc,1.00\n"
    )
    report = imp(padded, data)
    assert [(e["line"], e["message"].split(":")[0]) for e in report.errors] == [
        (4, "0000123 is not in the catalog, but 00123 is")  # more zeros than the twin: the same digits
    ]
    assert report.preview.set_index("line")["fate"].to_dict() == {2: "update", 3: "create", 4: "error", 5: "create"}


def test_a_new_sku_with_zeros_added_is_a_lookalike_too(padded: Database) -> None:
    create_product(padded, SYSTEM, "555", "Plain", "Misc", "1.00", 5)
    report = imp(padded, b"sku,name,category,unit_price\n0555,Zeros,Misc,1.00\n")
    assert report.errors[0]["message"].startswith("0555 is not in the catalog, but 555 is:")


def test_staff_lookalike_is_refused_with_the_hint(padded: Database) -> None:
    staff = staff_actor(padded, "S1")
    report = imp(padded, b"sku,quantity\n123,4\n", staff)
    assert report.errors[0]["message"] == (
        "123 is not in the catalog (00123 is: did a spreadsheet program drop its leading zeros?):"
        " only the owner can add products."
    )
    assert report.lookalike_skus == 0  # nothing for staff to confirm: they cannot add products


def test_lookalikes_in_a_file_with_a_store_column(padded: Database) -> None:
    data = b"store,sku,name,category,unit_price,quantity\nS1,123,Thing,Misc,1.00,5\nS2,123,,,,6\n"
    report = imp(padded, data)
    assert [e["line"] for e in report.errors] == [2, 3] and report.lookalike_skus == 2
    assert imp(padded, data, allow_new_like_existing=True).created == 2
