"""Exports of products, stock and movements as CSV or XLSX, with the import's column names.

Invariants: the header row uses the names the importer reads: products ``sku, name, category,
unit_price, reorder_level, vendor, active``; stock ``store, sku, name, category, quantity, reorder_level,
unit_price``; movements ``created_at, store, sku, kind, delta, quantity_after, reason, actor``. So an exported
products or stock file imports again as ``unchanged`` on every row. A text cell that a spreadsheet would run as
a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return, after any ``'``) is written with one
more leading ``'``, which the importer removes again (``core.sheets.clean._unguard``), so ``'=x`` comes back as
``'=x``. In CSV, text that a spreadsheet program would read as a number or a date (SKU ``00123``, a name ``1/2``) is
written as ``="00123"``: Excel and LibreOffice Calc keep it as text, and the importer reads it back as ``00123``.
XLSX cells are typed, so text is a text cell there. Whatever the names are, an exported file imports as
``unchanged`` (``tests/test_export_roundtrip.py``). CSV is UTF-8 with a BOM, so spreadsheets show non-Latin names
correctly.

Scope: staff export stock and movements of their own stores only (``core.base.permissions``: ``stock.read`` and
``report.read``); the catalog (products) is readable by every signed-in role. A stock export for one store lists
every active product (a count sheet, zero where none is held); for all stores it lists the stock rows that exist.
Every export is a read through ``core.domain.reading.read``, so a refused store is audited ``denied``.

Movements are exported one way, ``movement_frame``, whatever asks (the Import/Export page and the CLI for one store
or all, the Reports page with its filters, ``core.domain.filters``): at most ``EXPORT_MAX_ROWS`` (1,000,000, what
an XLSX sheet can hold); more is refused with a sentence asking to narrow the dates or stores.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from typing import Any, Unpack

import pandas as pd

from core.base.errors import ValidationError
from core.base.permissions import Actor
from core.db import Database, Tx
from core.db.sql import Params
from core.domain.filters import MovementFilters, movement_conditions
from core.domain.reading import public_read, read, scope

COLUMNS: dict[str, tuple[str, ...]] = {
    "products": ("sku", "name", "category", "unit_price", "reorder_level", "vendor", "active"),
    "stock": ("store", "sku", "name", "category", "quantity", "reorder_level", "unit_price"),
    "movements": ("created_at", "store", "sku", "kind", "delta", "quantity_after", "reason", "actor"),
}
TEXT_COLUMNS = {"sku", "name", "category", "vendor", "store", "kind", "reason", "actor", "active"}
FORMATS = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
EXPORT_MAX_ROWS = 1_000_000  # movements in one export: an XLSX sheet holds 1,048,576 rows
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Text a spreadsheet program reads as a number, a percentage, an amount, a date or a time when it opens a CSV:
# digits with signs, separators, an exponent, currency or date punctuation, or a month name beside a number
# (Excel's "MAR1" -> 1 March). Such a cell is written as ="..." in CSV exports, which both Excel and Calc keep as
# text. It never holds a double quote, so the form needs no escaping.
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"
NUMBER_LIKE = re.compile(
    r"[ +\-]*[$€£¥₹(]? *[0-9][0-9 .,:/\-+eE%()$€£¥₹]*"
    rf"|{_MONTH}[ .\-/]*[0-9]+[0-9 .,:/\-]*|[0-9]+[ .\-/]*{_MONTH}[ .\-/0-9]*",
    re.IGNORECASE,
)


def neutralise(value: Any) -> Any:
    """A text that a spreadsheet would run as a formula (after any leading ``'``), made inert with one more
    leading ``'``; the importer removes exactly one."""
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_START):
        return "'" + value
    return value


def csv_cell(value: Any) -> Any:
    """A text cell as written to CSV: number-like text as ``="..."`` (kept as text by Excel and Calc), formula-like
    text guarded by ``neutralise``."""
    if isinstance(value, str) and NUMBER_LIKE.fullmatch(value):
        return f'="{value}"'
    return neutralise(value)


def _products(tx: Tx, actor: Actor, store: str | None) -> pd.DataFrame:
    return tx.frame(
        "SELECT p.sku, p.name, p.category, p.unit_price, p.reorder_level, coalesce(v.name, '') AS vendor,"
        " CASE WHEN p.active THEN 'true' ELSE 'false' END AS active"
        " FROM products p LEFT JOIN vendors v ON v.id = p.vendor_id ORDER BY p.sku"
    )


def _stock(tx: Tx, actor: Actor, store: str | None) -> pd.DataFrame:
    """One store: every active product (a count sheet, 0 where none is held); else the stock rows that exist."""
    stores = scope(tx, actor, "stock.read", store)
    if stores.stores:
        return tx.frame(
            "SELECT st.code AS store, p.sku, p.name, p.category, coalesce(s.quantity, 0) AS quantity,"
            " p.reorder_level, p.unit_price FROM products p CROSS JOIN stores st"
            " LEFT JOIN stock s ON s.product_id = p.id AND s.store_id = st.id"
            " WHERE st.id = $1 AND p.active ORDER BY p.sku",
            [stores.stores[0]["id"]],
        )
    params = Params()
    return tx.frame(
        "SELECT st.code AS store, p.sku, p.name, p.category, s.quantity, p.reorder_level, p.unit_price"
        " FROM stock s JOIN stores st ON st.id = s.store_id JOIN products p ON p.id = s.product_id"
        f" WHERE {stores.sql(params, 's.store_id')} AND st.active AND p.active ORDER BY st.code, p.sku",
        params.values,
    )


def _movements(tx: Tx, actor: Actor, filters: MovementFilters) -> pd.DataFrame:
    """Every movement matching ``filters`` (``core.domain.filters.movement_conditions``), oldest first.
    Raises ``ValidationError`` when more than ``EXPORT_MAX_ROWS`` match."""
    conditions = movement_conditions(tx, actor, **filters)
    params = Params(*conditions.values)
    frame = tx.frame(
        "SELECT m.created_at, st.code AS store, p.sku, m.kind, m.delta, m.quantity_after, m.reason, m.actor"
        f" FROM (SELECT * FROM movements m WHERE {conditions.conditions()} ORDER BY m.id"
        f" LIMIT {params.add(EXPORT_MAX_ROWS + 1)}) m"
        " JOIN stores st ON st.id = m.store_id JOIN products p ON p.id = m.product_id ORDER BY m.id",
        params.values,
    )
    if len(frame) > EXPORT_MAX_ROWS:
        raise ValidationError.single(
            "rows", f"More than {EXPORT_MAX_ROWS:,} movements match; narrow the dates or stores first."
        )
    return frame


_READERS = {"products": (None, _products), "stock": ("stock.read", _stock)}


def _formatted(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    frame = frame[list(COLUMNS[what])]
    if "unit_price" in frame:
        frame["unit_price"] = frame["unit_price"].map(lambda v: f"{v:.2f}", na_action="ignore")
    if "created_at" in frame:
        frame["created_at"] = frame["created_at"].map(lambda v: v.isoformat(), na_action="ignore")
    return frame


@public_read
def export_frame(db: Database, actor: Actor, what: str, *, store: str | None = None) -> pd.DataFrame:
    """The rows of one export as a DataFrame with exactly ``COLUMNS[what]``. Raises ``ValidationError`` for an
    unknown export (or more than ``EXPORT_MAX_ROWS`` movements), ``NotFound`` for an unknown store,
    ``PermissionDenied`` for a store outside the actor's (audited ``denied``)."""
    if what not in COLUMNS:
        raise ValidationError.single("what", f"Choose products, stock or movements (not {what!r}).")
    if what == "movements":
        return movement_frame(db, actor, stores=None if store is None else [store])
    permission, reader = _READERS[what]
    frame = read(
        db, actor, permission, lambda tx: reader(tx, actor, store), entity="export", entity_id=what, name="export"
    )
    return _formatted(frame, what)


@public_read
def movement_frame(db: Database, actor: Actor, **filters: Unpack[MovementFilters]) -> pd.DataFrame:
    """Every movement matching the Reports page's filters (``core.domain.filters.movement_conditions``), oldest
    first, with ``COLUMNS["movements"]``. Raises ``ValidationError`` (filters; more than ``EXPORT_MAX_ROWS`` rows),
    ``NotFound``, ``PermissionDenied`` (audited ``denied``)."""
    frame = read(
        db,
        actor,
        "report.read",
        lambda tx: _movements(tx, actor, filters),
        entity="export",
        entity_id="movements",
        name="export",
    )
    return _formatted(frame, "movements")


def _neutralised(frame: pd.DataFrame, cell: Any = neutralise) -> pd.DataFrame:
    """``frame`` with every text column's cells passed through ``cell`` (blank for a missing value)."""
    out = frame.copy()
    for col in out.columns:
        if col in TEXT_COLUMNS:
            text = out[col].astype("str")
            special = text.str.lstrip("'").str.startswith(FORMULA_START) | text.str.contains("[0-9]")
            special = special.fillna(False).astype(bool)  # the only cells ``cell`` may change
            out[col] = text.mask(special, text[special].map(cell)).where(out[col].notna(), "")
    return out


def to_csv(frame: pd.DataFrame) -> bytes:
    return _neutralised(frame, csv_cell).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def to_xlsx(frame: pd.DataFrame, sheet: str = "Sheet1") -> bytes:
    """An XLSX workbook: numbers as numbers (prices with two decimals), text always as text, never formulas."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"strings_to_formulas": False, "strings_to_numbers": False, "in_memory": True})
    bold, money = book.add_format({"bold": True}), book.add_format({"num_format": "0.00"})
    ws = book.add_worksheet(sheet[:31])
    ws.write_row(0, 0, list(frame.columns), bold)
    data = _neutralised(frame)
    for j, col in enumerate(data.columns):
        if col in TEXT_COLUMNS:
            for i, value in enumerate(data[col].tolist(), start=1):
                ws.write_string(i, j, value)
        else:
            numbers = pd.to_numeric(data[col], errors="coerce").tolist()
            cell_format = money if col == "unit_price" else None
            for i, value in enumerate(numbers, start=1):
                if value == value:  # not NaN
                    ws.write_number(i, j, value, cell_format)
        ws.set_column(j, j, max(10, min(40, len(col) + 4)))
    ws.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()


@public_read
def export_bytes(
    db: Database, actor: Actor, what: str, *, store: str | None = None, fmt: str = "csv"
) -> tuple[bytes, str, str, int]:
    """``(file bytes, suggested file name, MIME type, row count)``. Raises as ``export_frame``, and
    ``ValidationError`` for an unknown format."""
    if fmt not in FORMATS:
        raise ValidationError.single("format", f"Choose csv or xlsx (not {fmt!r}).")
    frame = export_frame(db, actor, what, store=store)
    data = to_csv(frame) if fmt == "csv" else to_xlsx(frame, what)
    name = f"{what}{'-' + store.strip().upper() if store else ''}.{fmt}"
    return data, name, FORMATS[fmt], len(frame)


@public_read
def export_movements(db: Database, actor: Actor, fmt: str = "csv", **filters: Unpack[MovementFilters]) -> bytes:
    """``movement_frame`` as CSV (UTF-8) or XLSX bytes. Raises as ``movement_frame``, and ``ValidationError`` for
    an unknown format."""
    if fmt not in FORMATS:
        raise ValidationError.single("format", f"Export format must be csv or xlsx (got {fmt!r}).")
    frame = movement_frame(db, actor, **filters)
    return to_csv(frame) if fmt == "csv" else to_xlsx(frame, "movements")


@public_read
def export_file(
    db: Database, actor: Actor, what: str, path: str | os.PathLike[str], *, store: str | None = None, fmt: str = "csv"
) -> dict[str, Any]:
    """Write an export to ``path``; returns ``{"rows", "path", "bytes"}``. The file is written under a temporary
    name in the same folder and renamed at the end, so ``path`` never holds a partial file. Raises as
    ``export_bytes``, ``DiskFull`` when the disk fills, and ``OSError`` when the file cannot be written."""
    import secrets

    from core.base.errors import DiskFull, is_disk_full

    data, _, _, rows = export_bytes(db, actor, what, store=store, fmt=fmt)
    final = os.path.abspath(path)
    partial = os.path.join(os.path.dirname(final), f".{os.path.basename(final)}.{secrets.token_hex(4)}.partial")
    try:
        with open(partial, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())  # a full disk may only show here
        os.replace(partial, final)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        if is_disk_full(exc):
            raise DiskFull(final) from exc
        raise
    return {"rows": rows, "path": str(path), "bytes": len(data)}
