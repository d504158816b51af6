"""Import, hostile files: workbooks that would crash or exhaust the parser, archive bombs, odd text files, mixed
encodings, and .xls/.ods files that must simply work. Every file is generated here (tests/hostile_files.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core import open_db
from core.base.permissions import SYSTEM
from core.db import Database
from core.domain.catalog import get_product
from core.sheets import worker as spreadsheet_worker
from core.sheets.clean import is_sku_header
from core.sheets.importer import import_file
from core.sheets.read import FileProblem, read_sheet
from tests import hostile_files as make
from tests.test_import_reading import qty, seed

ROOT = Path(__file__).resolve().parent.parent


SHOP_SEED = seed  # ``shop``: stores S1 and S2, three products with stock in S1, no user accounts


def products(db: Database) -> int:
    with db.reader() as tx:
        return int(tx.scalar("SELECT count(*) FROM products"))


def refused(db: Database, data: bytes, *phrases: str) -> str:
    """Import ``data``: a file-level problem (exit 2) whose sentence holds every phrase; nothing written."""
    before = products(db)
    report = import_file(db, SYSTEM, data, file_name="upload", store="S1")
    assert report.file_error == "file" and report.exit_code == 2 and not report.applied
    message = report.errors[0]["message"]
    for phrase in phrases:
        assert phrase in message
    assert products(db) == before
    return message


def problem(data: bytes) -> str:
    with pytest.raises(FileProblem) as caught:
        read_sheet(data, is_sku_header)
    return str(caught.value)


# ---- item 1: a sheet's extent; the parser in a bounded child -------------------------------------------------------


@pytest.mark.slow
def test_xlsx_cells_at_a1_and_xfd1048576__refused_with_a_sentence(shop: Database) -> None:
    data = make.far_cell_xlsx()
    assert len(data) < 8000
    refused(shop, data, "1,048,576 rows by 16,384 columns", "at most 5,000,000 cells")
    assert (
        import_file(shop, SYSTEM, make.xlsx(make.COUNT_ROWS), file_name="ok.xlsx", store="S1").updated == 2
    )  # app alive


@pytest.mark.slow
def test_cli_far_cell_xlsx__exit_2_a_sentence_and_no_backtrace(tmp_path: Path) -> None:
    target = str(tmp_path / "cli.duckdb")
    db = open_db(target)
    seed(db)
    db.close()
    path = tmp_path / "far.xlsx"
    path.write_bytes(make.far_cell_xlsx())
    done = subprocess.run(
        [sys.executable, "-m", "core", "--db", target, "import", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: The workbook's first sheet spans 1,048,576 rows by 16,384 columns")
    assert "panicked" not in done.stderr and "Traceback" not in done.stderr and "backtrace" not in done.stderr


@pytest.mark.slow
def test_parser_abort_in_the_child__is_a_sentence(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the extent bounds lifted, the real parser meets the far cell and dies in the child, not here."""
    monkeypatch.setenv("INVENTORY_IMPORT_MAX_CELLS", "100000000000000")
    monkeypatch.setenv("INVENTORY_IMPORT_MAX_WORKBOOK_ROWS", "100000000")
    message = refused(shop, make.far_cell_xlsx())
    assert "memory" in message or "stopped" in message


def test_worker_crash__is_a_sentence(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        spreadsheet_worker, "worker_command", lambda bounds: [sys.executable, "-c", "import os; os.abort()"]
    )
    refused(shop, make.xlsx(make.COUNT_ROWS), "the reader stopped on it")


def test_worker_timeout__is_a_sentence(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_IMPORT_WORKER_SECONDS", "1")
    monkeypatch.setattr(
        spreadsheet_worker, "worker_command", lambda bounds: [sys.executable, "-c", "import time; time.sleep(30)"]
    )
    refused(shop, make.xlsx(make.COUNT_ROWS), "took longer than 1 seconds")


@pytest.mark.slow
def test_worker_memory_limit__is_a_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2,200 x 2,200 extent (within the cell bound) needs about 200 MB to parse; a small file needs 20."""
    monkeypatch.setenv("INVENTORY_IMPORT_WORKER_MEMORY_MB", "120")
    assert len(read_sheet(make.xlsx(make.COUNT_ROWS), is_sku_header).frame) == 2
    assert "needs more memory to read than an import may use (120 MB)" in problem(make.wide_sparse_xlsx(2200))
    monkeypatch.delenv("INVENTORY_IMPORT_WORKER_MEMORY_MB")
    assert len(read_sheet(make.wide_sparse_xlsx(2200), is_sku_header).frame) == 1  # fine with the default


def test_cells_without_references__measured_by_position(monkeypatch: pytest.MonkeyPatch) -> None:
    data = make.xlsx_without_refs(rows=10, columns=20)
    sheet = read_sheet(data, is_sku_header)
    assert len(sheet.headers) == 20 and len(sheet.frame) == 9
    monkeypatch.setenv("INVENTORY_IMPORT_MAX_CELLS", "150")
    assert "8 rows by 20 columns" in problem(data)


def test_bad_setting__is_a_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_IMPORT_MAX_CELLS", "lots")
    assert "INVENTORY_IMPORT_MAX_CELLS must be a whole number" in problem(make.xlsx(make.COUNT_ROWS))


# ---- item 2: decompression bombs ---------------------------------------------------------------------------------


def test_zip_bomb__refused_before_inflating(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_IMPORT_MAX_UNZIPPED_MB", "10")
    refused(shop, make.bomb_xlsx(megabytes=30), "inflates to more than 10 MB")


def test_zip_declaring_3_gb__refused_by_the_default_bound() -> None:
    data = make.with_declared_size(make.bomb_xlsx(megabytes=2), "xl/worksheets/sheet1.xml", 3_000_000_000)
    assert "inflates to more than 1,000 MB" in problem(data)


def test_zip_ratio__refused_by_the_default_bound() -> None:
    data = make.with_declared_size(make.bomb_xlsx(megabytes=2), "xl/worksheets/sheet1.xml", 500_000_000)
    assert "at most 200 times is read" in problem(data)


def test_zip_header_understating_the_size__refused() -> None:
    """A declared size is not trusted: an entry that inflates past it is refused, not read further."""
    data = make.with_declared_size(make.bomb_xlsx(megabytes=20), "xl/worksheets/sheet1.xml", 5_000)
    assert "holds more data than its header says" in problem(data) or "damaged" in problem(data)


# ---- item 5: a workbook row limit, decided by the streamed pre-scan -----------------------------------------------


@pytest.mark.slow
def test_workbook_over_the_row_limit__refused_with_save_as_csv(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_IMPORT_MAX_WORKBOOK_ROWS", "50")
    rows = [["sku", "quantity"]] + [[f"R{i}", i] for i in range(60)]
    refused(shop, make.xlsx(rows), "more than 50 rows", "Save the sheet as CSV")
    refused(shop, make.ods(rows), "more than 50 rows")
    refused(shop, make.xls(rows), "more than 50 rows")  # XLS: the child's bound, after parsing
    monkeypatch.setenv("INVENTORY_IMPORT_MAX_WORKBOOK_ROWS", "60")  # 60 rows below the header
    assert len(read_sheet(make.xlsx(rows), is_sku_header).frame) == 60
    assert len(read_sheet(make.xls(rows), is_sku_header).frame) == 60


def test_ods_far_cell_through_repeats__refused(shop: Database) -> None:
    refused(shop, make.far_cell_ods(), "16,384 columns")
    sheet = read_sheet(make.ods_with_trailing_empty_repeats(), is_sku_header)  # as spreadsheet programs write
    assert len(sheet.frame) == 2


# ---- item 23: .xls and .ods are read ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["xls", "ods"])
def test_xls_and_ods__imported(shop: Database, kind: str) -> None:
    data = make.xls(make.CATALOG_ROWS) if kind == "xls" else make.ods(make.CATALOG_ROWS)
    report = import_file(shop, SYSTEM, data, file_name=f"catalog.{kind}", store="S1")
    assert (report.errors, report.created, report.updated, report.applied) == ([], 2, 1, True)
    assert get_product(shop, "XO-1")["name"] == "Jaggery 1 kg"
    assert str(get_product(shop, "XO-2")["unit_price"]) == "12.50"
    assert (qty(shop, "S1", "XO-1"), qty(shop, "S1", "XO-2"), qty(shop, "S1", "MILK-1L")) == (7, 0, 42)


# ---- item 17: small odd text files ---------------------------------------------------------------------------------


def test_sep_line_with_an_impossible_delimiter__sentence(shop: Database) -> None:
    refused(shop, "sep=é\nskuéquantity\nA1é3\n".encode(), "names 'é' as the delimiter")


def test_ragged_row_with_a_200_kb_cell__sentence(shop: Database) -> None:
    data = ("sku,quantity\nMILK-1L,3\nSOAP-100,4," + "x" * 200_000 + "\nRICE-5KG,5\n").encode()
    refused(shop, data, "Line 3 has a cell longer than 131,072 characters")


def test_header_line_over_200000_characters__sentence(shop: Database) -> None:
    wide = ",".join(["sku", "quantity"] + [f"column {i}" for i in range(25_000)])
    refused(shop, f"{wide}\nMILK-1L,3\n".encode(), "Line 1 is longer than 200,000 characters")
    refused(shop, ("sku,quantity," + "h" * 200_001 + "\nMILK-1L,3\n").encode(), "Line 1 has a cell longer")


def test_header_with_too_many_columns__sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    wide = ",".join(["sku", "quantity"] + [f"c{i}" for i in range(1_200)])
    assert "has 1,202 columns; an import reads at most 1,000" in problem(f"{wide}\nA1,3\n".encode())
    monkeypatch.setenv("INVENTORY_IMPORT_MAX_COLUMNS", "2000")
    assert len(read_sheet(f"{wide}\nA1,3\n".encode(), is_sku_header).headers) == 1_202


@pytest.mark.parametrize(
    "content, sentence",
    [
        ("sep=é\nskuéquantity\nA1é3\n", "names 'é' as the delimiter"),
        ("sku,quantity\nMILK-1L,3\nSOAP-100,4," + "x" * 200_000 + "\n", "Line 3 has a cell longer"),
    ],
)
def test_cli_odd_text_files__exit_2_with_the_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, sentence: str
) -> None:
    from core.tools.cli import main

    target = str(tmp_path / "cli.duckdb")
    db = open_db(target)
    seed(db)
    db.close()
    path = tmp_path / "odd.csv"
    path.write_text(content, encoding="utf-8")
    code = main(["--db", target, "import", str(path), "--store", "S1"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and sentence in err and "went wrong" not in err


# ---- item 19: mixed encodings --------------------------------------------------------------------------------------


def test_mixed_utf8_and_windows1252__utf8_lines_kept_others_named(shop: Database) -> None:
    lines = ["sku,name,category,unit_price,quantity"]
    lines += [f"MX-{i},Café {i},Drinks,2.00,{i}" for i in range(1, 10)]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    data = data.replace("Café 3".encode(), "Crème 3".encode("cp1252"))
    data = data.replace("Café 7".encode(), "Niño 7 €".encode("cp1252"))
    report = import_file(shop, SYSTEM, data, file_name="mixed.csv", store="S1")
    assert report.errors == [] and report.created == 9
    assert [get_product(shop, f"MX-{i}")["name"] for i in (1, 3, 7, 9)] == ["Café 1", "Crème 3", "Niño 7 €", "Café 9"]
    assert any("2 lines of the file could not be read as UTF-8" in w and "(lines 4, 8)" in w for w in report.warnings)


def test_mixed_encoding_warning__first_few_lines_and_a_count() -> None:
    lines = ["sku,name"] + [f"M{i},{'Crème' if i % 2 else 'Café'} {i}" for i in range(20)]
    data = b"\n".join(line.encode("cp1252" if i % 2 == 0 and i else "utf-8") for i, line in enumerate(lines))
    sheet = read_sheet(data, is_sku_header)
    assert sheet.encoding == "UTF-8 and Windows-1252"
    assert "10 lines of the file" in sheet.warnings[0] and "lines 3, 5, 7, 9, 11 and 5 more" in sheet.warnings[0]
    assert sheet.frame[1].tolist()[:3] == ["Café 0", "Crème 1", "Café 2"]


def test_wholly_windows1252_file__still_read_as_windows1252() -> None:
    sheet = read_sheet("sku,name\nW1,Crème brûlée\nW2,Café\n".encode("cp1252"), is_sku_header)
    assert sheet.encoding == "Windows-1252" and sheet.frame[1].tolist() == ["Crème brûlée", "Café"]
    assert sheet.warnings == ["The file is not UTF-8; it was read as Windows-1252 (Western European)."]
