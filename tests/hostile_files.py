"""Generators of workbooks for the import tests and the hostile-file benchmark: ordinary .xlsx/.xls/.ods files
from rows, and hostile ones (a far cell, a decompression bomb, a lying ZIP header). All in memory, in seconds."""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Callable
from typing import Any

import xlsxwriter

COUNT_ROWS: list[list[Any]] = [["sku", "quantity"], ["MILK-1L", 42], ["SOAP-100", 9]]
CATALOG_ROWS: list[list[Any]] = [
    ["sku", "name", "category", "unit_price", "quantity"],
    ["XO-1", "Jaggery 1 kg", "Staples", 3.5, 7],
    ["XO-2", "Tea 250 g", "Drinks", 12.5, 0],
    ["MILK-1L", "Toned Milk 1 L", "Dairy", 56, 42],
]
SHEET = "xl/worksheets/sheet1.xml"


def xlsx(rows: list[list[Any]], *, constant_memory: bool = False) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": not constant_memory, "constant_memory": constant_memory})
    sheet = book.add_worksheet()
    for i, row in enumerate(rows):
        sheet.write_row(i, 0, row)
    book.close()
    return out.getvalue()


def xls(rows: list[list[Any]]) -> bytes:
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Sheet1")
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            sheet.write(i, j, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def ods(rows: list[list[Any]]) -> bytes:
    import pandas as pd

    out = io.BytesIO()
    pd.DataFrame(rows[1:], columns=rows[0]).to_excel(out, engine="odf", index=False)
    return out.getvalue()


def rewrite(data: bytes, name: str, change: Callable[[bytes], bytes]) -> bytes:
    """The same archive with entry ``name`` replaced by ``change(its content)``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == name:
                content = change(content)
            target.writestr(info.filename, content, compress_type=info.compress_type)
    return out.getvalue()


def far_cell_xlsx() -> bytes:
    """1.6-5 KB: 'sku' at A1 and one cell at XFD1048576 (a parser that materialises the extent dies)."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write(0, 0, "sku")
    sheet.write(1_048_575, 16_383, "x")
    book.close()
    return out.getvalue()


def wide_sparse_xlsx(n: int) -> bytes:
    """'sku' at A1 and one cell at (n, n): an n x n extent of empty cells, within the cell bound."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write(0, 0, "sku")
    sheet.write(n - 1, n - 1, "x")
    book.close()
    return out.getvalue()


def xlsx_without_refs(rows: int, columns: int) -> bytes:
    """A full grid whose cells and rows carry no ``r`` attribute (readers place them by position)."""
    grid = [["sku"] + [f"h{j}" for j in range(1, columns)]] + [
        [f"N{i}"] + [j for j in range(1, columns)] for i in range(1, rows)
    ]
    return rewrite(xlsx(grid), SHEET, lambda xml: re.sub(rb'(<(?:c|row)) r="[A-Z]*[0-9]+"', rb"\1", xml))


def bomb_xlsx(megabytes: int) -> bytes:
    """An ordinary two-row sheet padded with ``megabytes`` MB of spaces: inflates about 1,000 times."""
    padding = b" " * (megabytes * 1_000_000)
    return rewrite(xlsx(COUNT_ROWS), SHEET, lambda xml: xml.replace(b"<sheetData>", b"<sheetData>" + padding))


def with_declared_size(data: bytes, name: str, size: int) -> bytes:
    """The archive with entry ``name``'s declared uncompressed size (local and central headers) set to ``size``."""
    out = bytearray(data)
    encoded = name.encode()
    pos = 0
    while (pos := out.find(b"PK\x01\x02", pos)) >= 0:
        length, local = struct.unpack_from("<H", out, pos + 28)[0], struct.unpack_from("<I", out, pos + 42)[0]
        if bytes(out[pos + 46 : pos + 46 + length]) == encoded:
            struct.pack_into("<I", out, pos + 24, size)
            struct.pack_into("<I", out, local + 22, size)
        pos += 4
    return bytes(out)


def _ods_with(body: bytes) -> bytes:
    return rewrite(
        ods([["sku", "quantity"], ["A", 3], ["B", 4]]),
        "content.xml",
        lambda xml: xml.replace(b"</table:table>", body + b"</table:table>", 1),
    )


def far_cell_ods() -> bytes:
    """An ODS whose one far cell is reached through repeated empty rows and cells (XFD1048576)."""
    return _ods_with(
        b'<table:table-row table:number-rows-repeated="1048570"><table:table-cell/></table:table-row>'
        b'<table:table-row><table:table-cell table:number-columns-repeated="16383"/>'
        b'<table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>'
    )


def ods_with_trailing_empty_repeats() -> bytes:
    """Two data rows, then the million empty repeated rows spreadsheet programs write: no extent at all."""
    return _ods_with(
        b'<table:table-row table:number-rows-repeated="1048573">'
        b'<table:table-cell table:number-columns-repeated="16384"/></table:table-row>'
    )
