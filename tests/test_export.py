"""Exports: SPEC's columns, formula neutralising, staff scope, and export -> import gives `unchanged`."""

from __future__ import annotations

import io

import pytest
from python_calamine import CalamineWorkbook

from core.base.errors import PermissionDenied, ValidationError
from core.base.permissions import SYSTEM, Actor
from core.db import Database
from core.domain.catalog import create_product
from core.domain.stock import stock_in
from core.sheets.exporter import COLUMNS, export_bytes, export_frame, neutralise
from core.sheets.importer import import_file
from tests.test_import_reading import seed


def export_seed(db: Database) -> None:
    """``seed`` and two products with texts an export must keep as text (a formula-like name, Hindi)."""
    seed(db)
    create_product(db, SYSTEM, "FX-1", "=1+2", "-dash", "1.00", vendor="@vendor")
    create_product(db, SYSTEM, "HI-1", "बासमती चावल", "अनाज", "4.60")
    stock_in(db, SYSTEM, "S2", "HI-1", 5)


SHOP_SEED = export_seed


def staff_actor(db: Database, code: str) -> Actor:
    with db.reader() as tx:
        sid = tx.scalar("SELECT id FROM stores WHERE code = $1", [code])
    return Actor(email="staff@shop.test", role="staff", store_ids=frozenset({int(sid)}))


def header(data: bytes) -> list[str]:
    return data.decode("utf-8-sig").splitlines()[0].split(",")


@pytest.mark.parametrize("what", ["products", "stock", "movements"])
def test_csv_header_is_the_import_column_names(shop: Database, what: str) -> None:
    data, name, mime, rows = export_bytes(shop, SYSTEM, what)
    assert header(data) == list(COLUMNS[what])
    assert data.startswith(b"\xef\xbb\xbf") and name == f"{what}.csv" and mime == "text/csv" and rows > 0


def test_products_csv_content(shop: Database) -> None:
    text = export_bytes(shop, SYSTEM, "products")[0].decode("utf-8-sig")
    assert "MILK-1L,Toned Milk 1 L,Dairy,56.00,20,Amul,true" in text
    assert "SOAP-100,Neem Soap 100 g,Personal care,35.50,10,,true" in text


def test_formula_text_gets_a_leading_apostrophe(shop: Database) -> None:
    assert neutralise("=SUM(A1)") == "'=SUM(A1)" and neutralise("\tx") == "'\tx" and neutralise("ok") == "ok"
    text = export_bytes(shop, SYSTEM, "products")[0].decode("utf-8-sig")
    assert "FX-1,'=1+2,'-dash,1.00,10,'@vendor,true" in text


def test_xlsx_export__numbers_as_numbers_and_text_never_a_formula(shop: Database) -> None:
    data, name, mime, _ = export_bytes(shop, SYSTEM, "products", fmt="xlsx")
    assert name == "products.xlsx" and mime.endswith("spreadsheetml.sheet")
    rows = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    assert rows[0] == list(COLUMNS["products"])
    fx = next(r for r in rows if r[0] == "FX-1")
    assert fx[1] == "'=1+2"
    milk = next(r for r in rows if r[0] == "MILK-1L")
    assert milk[3] == 56.0 and milk[4] == 20.0


def test_stock_export_for_one_store_is_a_count_sheet_of_every_active_product(shop: Database) -> None:
    frame = export_frame(shop, SYSTEM, "stock", store="s2")
    assert set(frame["store"]) == {"S2"}
    assert dict(zip(frame["sku"], frame["quantity"], strict=True))["HI-1"] == 5
    assert dict(zip(frame["sku"], frame["quantity"], strict=True))["MILK-1L"] == 0
    assert len(frame) == 5


def test_staff_exports_only_their_stores(shop: Database) -> None:
    staff = staff_actor(shop, "S1")
    stock = export_frame(shop, staff, "stock")
    assert set(stock["store"]) == {"S1"}
    moves = export_frame(shop, staff, "movements")
    assert set(moves["store"]) == {"S1"}
    with pytest.raises(PermissionDenied):
        export_frame(shop, staff, "stock", store="S2")
    with pytest.raises(PermissionDenied):
        export_frame(shop, staff, "movements", store="S2")


def test_movements_export_columns_and_values(shop: Database) -> None:
    frame = export_frame(shop, SYSTEM, "movements", store="S2")
    assert list(frame.columns) == list(COLUMNS["movements"])
    row = frame.iloc[0]
    assert (row["store"], row["sku"], row["kind"], row["delta"], row["quantity_after"], row["actor"]) == (
        "S2",
        "HI-1",
        "stock_in",
        5,
        5,
        "cli",
    )
    assert "T" in row["created_at"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize(("what", "store"), [("products", None), ("stock", None), ("stock", "S1")])
def test_export_then_import_is_unchanged_on_every_row(shop: Database, what: str, store: str | None, fmt: str) -> None:
    data, name, _, rows = export_bytes(shop, SYSTEM, what, store=store, fmt=fmt)
    report = import_file(shop, SYSTEM, data, file_name=name)
    assert report.errors == []
    assert (report.rows, report.unchanged, report.created, report.updated) == (rows, rows, 0, 0)


def test_staff_can_reimport_their_stock_export(shop: Database) -> None:
    staff = staff_actor(shop, "S1")
    data, name, _, rows = export_bytes(shop, staff, "stock", store="S1")
    report = import_file(shop, staff, data, file_name=name)
    assert report.errors == [] and report.unchanged == rows


def test_text_that_looks_like_excel_text_formula_round_trips(shop: Database) -> None:
    create_product(shop, SYSTEM, "EQ-1", '="x"', "Misc", "1.00")
    data, name, _, rows = export_bytes(shop, SYSTEM, "products")
    assert import_file(shop, SYSTEM, data, file_name=name).unchanged == rows


def test_export_movements__one_path_with_one_cap(shop, monkeypatch):
    """The Import/Export page's movement export and the Reports page's are the same rows through one path, with the
    same cap."""
    from core.sheets import exporter

    frame = export_frame(shop, SYSTEM, "movements", store="S1")
    assert len(frame) > 1 and frame.equals(exporter.movement_frame(shop, SYSTEM, stores=["S1"]))
    monkeypatch.setattr(exporter, "EXPORT_MAX_ROWS", len(frame) - 1)
    with pytest.raises(ValidationError, match="movements match"):
        export_frame(shop, SYSTEM, "movements")
    with pytest.raises(ValidationError, match="movements match"):
        exporter.export_movements(shop, SYSTEM, "csv")
