"""Exports through a real spreadsheet program: LibreOffice Calc opens each export and saves it as CSV and as
XLSX (as a person would, with Calc's default import settings), and the saved file imports as ``unchanged``.

Calc (like Excel) reads ``00123`` in a CSV as the number 123, whatever the quoting: the CSV export writes such
text as ``="00123"``, which Calc keeps as text. Needs ``soffice`` (Debian: ``libreoffice-calc-nogui``, installed
by ``.ci/run``); skipped without it, except under ``CI=true``, where a missing LibreOffice fails.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from core.base.permissions import SYSTEM
from core.base.validate import PRICE_MAX, QTY_MAX
from core.db import Database
from core.domain.catalog import add_store, create_product
from core.domain.stock import stock_in
from core.sheets.exporter import export_bytes
from core.sheets.importer import import_file
from tests.conftest import table_rows

pytestmark = pytest.mark.slow

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
CSV_FILTER = "44,34,76,1"  # comma, double quote, UTF-8, from line 1: Calc's defaults in a UTF-8 desktop
SKUS = ("00123", "0042", "007", "1234567890123", "RICE-5KG")
NAMES = ("'=x", "'-x", "'@x", "=SUM(A1)", "-dash", "बासमती चावल", "1/2", 'Item, with "quotes"', "3.50")


@pytest.fixture(scope="module")
def soffice() -> str:
    if SOFFICE is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("LibreOffice (soffice) is missing; .ci/run installs libreoffice-calc-nogui")
        pytest.skip("LibreOffice (soffice) is not installed here (apt-get install -y libreoffice-calc-nogui)")
    return SOFFICE


def calc_save(soffice: str, source: Path, fmt: str, workdir: Path) -> Path:
    """Open ``source`` in LibreOffice Calc (headless, a private profile) and save it as ``fmt`` (csv or xlsx)."""
    out = workdir / f"saved-{fmt}-from-{source.suffix[1:]}"
    out.mkdir()
    target = f"csv:Text - txt - csv (StarCalc):{CSV_FILTER}" if fmt == "csv" else "xlsx:Calc MS Excel 2007 XML"
    command = [soffice, "--headless", f"-env:UserInstallation=file://{workdir / 'profile'}", "--convert-to", target]
    if source.suffix == ".csv":
        command.append(f"--infilter=CSV:{CSV_FILTER}")
    done = subprocess.run([*command, "--outdir", str(out), str(source)], capture_output=True, text=True, timeout=180)
    saved = out / f"{source.stem}.{fmt}"
    assert saved.exists(), done.stdout + done.stderr
    return saved


@pytest.fixture
def catalog(db: Database) -> Database:
    add_store(db, SYSTEM, "S1", "Main Street")
    for n, (sku, name) in enumerate(zip(SKUS * 2, NAMES, strict=False)):
        sku = sku if n < len(SKUS) else f"{sku}-{n}"
        price = str(PRICE_MAX) if n == 0 else f"{n}.{n}0"
        create_product(db, SYSTEM, sku, name, name if n % 2 else "Staples", price, n, vendor=f"{name} vendor")
        stock_in(db, SYSTEM, "S1", sku, QTY_MAX if n == 0 else n + 1)
    return db


def snapshot(db: Database) -> dict[str, list[tuple]]:
    with db.reader() as tx:
        return {t: table_rows(tx, t) for t in ("products", "vendors", "stock", "movements")}


@pytest.mark.parametrize("source_fmt", ["csv", "xlsx"])
@pytest.mark.parametrize(("what", "store"), [("products", None), ("stock", "S1")])
def test_export_saved_by_libreoffice_reimports_unchanged(
    catalog: Database, soffice: str, tmp_path: Path, source_fmt: str, what: str, store: str | None
) -> None:
    data, name, _, rows = export_bytes(catalog, SYSTEM, what, store=store, fmt=source_fmt)
    source = tmp_path / name
    source.write_bytes(data)
    before = snapshot(catalog)
    for saved_fmt in ("csv", "xlsx"):
        saved = calc_save(soffice, source, saved_fmt, tmp_path)
        report = import_file(catalog, SYSTEM, saved.read_bytes(), file_name=saved.name)
        assert report.errors == [], (saved_fmt, report.errors)
        assert (report.rows, report.unchanged, report.created, report.updated) == (rows, rows, 0, 0), saved_fmt
        assert snapshot(catalog) == before, saved_fmt


def test_libreoffice_keeps_leading_zero_skus_of_a_csv_export(catalog: Database, soffice: str, tmp_path: Path) -> None:
    source = tmp_path / "products.csv"
    source.write_bytes(export_bytes(catalog, SYSTEM, "products")[0])
    saved = calc_save(soffice, source, "csv", tmp_path).read_text("utf-8-sig")
    skus = {row[0] for row in csv.reader(io.StringIO(saved))}
    assert {"00123", "0042", "007", "1234567890123"} <= skus
