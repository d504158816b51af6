"""Bounds on an uploaded workbook, checked before any parser sees it: archive sizes, the sheet's real extent.

A workbook is a ZIP archive of XML (XLSX, ODS) or an OLE file (XLS). Before python-calamine reads one,
``inspect_workbook`` checks a ZIP's table of contents (entry count, declared
uncompressed sizes, compression ratios: a decompression bomb is refused before anything is inflated), then streams
the first sheet's XML in chunks, counting the inflated bytes (a declared size is never trusted alone), and finds the
extent of the cells actually present (XLSX: every cell's ``r="B7"`` reference, and cells without one by position;
ODS: rows and cells with their ``number-*-repeated`` counts, up to the last cell that holds something), so that a
sheet with cells at A1 and XFD1048576 is refused with a sentence instead of making the parser allocate its
rectangle. The scan stops as soon as a bound is passed, so a refusal costs little whatever the file's size. The
``<dimension>`` element is not used. An XLS file is bounded by the child process alone (its format caps a sheet at
65,536 x 256 cells). It runs in the child process of ``core.sheets.worker``, before the parser, so that even
the scan holds no lock or memory of the app's process: this module imports only the standard library.

Invariants: every refusal raises ``Refused`` with a sentence; the work done is bounded by the settings, not by the
file; nothing here parses a cell's value.
"""

from __future__ import annotations

import os
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from xml.etree import ElementTree


class Refused(Exception):
    """The workbook is out of bounds or damaged; ``str`` is a sentence for a person."""


SETTINGS = {  # env variable: (default, meaning)
    "INVENTORY_IMPORT_MAX_CELLS": (5_000_000, "rows x columns of a workbook's first sheet, empty cells included"),
    "INVENTORY_IMPORT_MAX_WORKBOOK_ROWS": (
        100_000,
        "rows of a workbook's first sheet below its header (a CSV has no such limit)",
    ),
    "INVENTORY_IMPORT_MAX_UNZIPPED_MB": (1000, "megabytes a workbook's archive may inflate to, all entries"),
    "INVENTORY_IMPORT_MAX_ZIP_RATIO": (200, "how many times larger than its compressed size an entry may inflate"),
    "INVENTORY_IMPORT_WORKER_MEMORY_MB": (2048, "address space of the child process that parses a workbook"),
    "INVENTORY_IMPORT_WORKER_SECONDS": (120, "time the child process may take to parse a workbook"),
    "INVENTORY_IMPORT_MAX_COLUMNS": (1000, "columns of a file's header row (any file type)"),
}
MAX_ENTRIES = 10_000
RATIO_FLOOR = 1 << 20  # entries smaller than this inflated are never "bombs", whatever their ratio
CHUNK = 1 << 22
MAX_TAG = 1 << 20
MAX_INDEX = 50_000_000  # bytes of workbook.xml or its relationships, parsed whole


def setting(name: str) -> int:
    """The setting's value from the environment, else its default. Raises ``Refused`` for a bad value."""
    raw = os.environ.get(name, "").strip().replace("_", "")
    if not raw:
        return SETTINGS[name][0]
    if not raw.isdigit() or int(raw) < 1:
        raise Refused(f"The setting {name} must be a whole number above 0, not {raw!r}; ask the administrator.")
    return int(raw)


@dataclass(frozen=True)
class Bounds:
    max_cells: int
    max_rows: int  # below the header: the sheet may have one row more
    max_unzipped: int  # bytes
    max_ratio: int
    memory_mb: int
    seconds: int

    @classmethod
    def from_env(cls) -> Bounds:
        """The settings' values. Raises ``Refused`` for a bad value."""
        return cls(
            setting("INVENTORY_IMPORT_MAX_CELLS"),
            setting("INVENTORY_IMPORT_MAX_WORKBOOK_ROWS"),
            setting("INVENTORY_IMPORT_MAX_UNZIPPED_MB") * 1_000_000,
            setting("INVENTORY_IMPORT_MAX_ZIP_RATIO"),
            setting("INVENTORY_IMPORT_WORKER_MEMORY_MB"),
            setting("INVENTORY_IMPORT_WORKER_SECONDS"),
        )


def too_many_rows(max_rows: int) -> str:
    return (
        f"The workbook's first sheet has more than {max_rows:,} rows below its header, the most a workbook may have."
        " Save the sheet as CSV (a CSV file may be much longer) and import that."
    )


def too_many_cells(rows: int, columns: int, max_cells: int) -> str:
    return (
        f"The workbook's first sheet spans {rows:,} rows by {columns:,} columns ({rows * columns:,} cells counting"
        f" the empty ones between); at most {max_cells:,} cells can be read. Delete the far-away cells, or save the"
        " sheet as CSV, and import again."
    )


DAMAGED = "The workbook could not be read ({}); is it a damaged file?"


def inspect_workbook(data: bytes, bounds: Bounds) -> None:
    """Refuse (``Refused``) a ZIP workbook whose archive or first sheet is out of bounds; OLE files pass."""
    if not data.startswith(b"PK"):
        return
    _check_entry_count(data)
    try:
        archive = zipfile.ZipFile(BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise Refused(DAMAGED.format("not a valid ZIP archive")) from exc
    _check_declared(infos, bounds)
    names = {info.filename for info in infos}
    budget = _Budget(bounds.max_unzipped)
    try:
        if "content.xml" in names and "xl/workbook.xml" not in names:
            chunks = budget.chunks(archive, archive.getinfo("content.xml"))
            _scan_ods(chunks, bounds)
            _drain(chunks)  # the rest of the entry: inflated for real too (the parser reads all of it)
        else:
            for sheet in _xlsx_first_sheets(archive, names, budget):
                chunks = budget.chunks(archive, archive.getinfo(sheet))
                _scan_xlsx(chunks, bounds)
                _drain(chunks)
        for info in infos:  # what the parser may also read (shared strings, styles): inflated for real, bounded
            if info.filename not in budget.done and not info.is_dir():
                _drain(budget.chunks(archive, info))
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise Refused(DAMAGED.format(f"a damaged archive: {exc}")) from exc


def _check_entry_count(data: bytes) -> None:
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end >= 0 and len(data) >= end + 12:
        entries = int.from_bytes(data[end + 10 : end + 12], "little")
        if entries > MAX_ENTRIES:
            raise Refused(f"The workbook's archive holds {entries:,} files; at most {MAX_ENTRIES:,} are read.")


def _check_declared(infos: list[zipfile.ZipInfo], bounds: Bounds) -> None:
    if len(infos) > MAX_ENTRIES:
        raise Refused(f"The workbook's archive holds {len(infos):,} files; at most {MAX_ENTRIES:,} are read.")
    total = sum(info.file_size for info in infos)
    if total > bounds.max_unzipped:
        raise Refused(_too_big(total, bounds.max_unzipped))
    for info in infos:
        if info.file_size > RATIO_FLOOR and info.file_size > bounds.max_ratio * max(1, info.compress_size):
            ratio = info.file_size / max(1, info.compress_size)
            raise Refused(
                f"The workbook's archive inflates {ratio:,.0f} times ({info.filename}: {info.compress_size:,} bytes"
                f" to {info.file_size:,}); at most {bounds.max_ratio:,} times is read. Is it built to exhaust memory?"
            )


def _too_big(size: int, limit: int) -> str:
    return (
        f"The workbook inflates to more than {limit / 1e6:,.0f} MB of data ({size / 1e6:,.0f} MB"
        " or more); it is too large, or built to exhaust memory. Save the sheet as CSV and import that."
    )


class _Budget:
    """Inflated bytes so far, over every entry: refuses past the bound whatever the entries declared."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used, self.done = limit, 0, set[str]()

    def chunks(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
        self.done.add(info.filename)
        with archive.open(info) as fh:
            while chunk := fh.read(CHUNK):
                self.used += len(chunk)
                if self.used > self.limit:
                    raise Refused(_too_big(self.used, self.limit))
                yield chunk
            decompressor = getattr(fh, "_decompressor", None)  # more deflate data than declared: a lying header
            if isinstance(decompressor, type(zlib.decompressobj())) and not decompressor.eof:
                raise Refused(DAMAGED.format(f"{info.filename} holds more data than its header says"))


def _drain(chunks: Iterator[bytes]) -> None:
    for _ in chunks:
        pass


def _small_xml(archive: zipfile.ZipFile, name: str, budget: _Budget) -> ElementTree.Element | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_INDEX:
        raise Refused(DAMAGED.format(f"{name} is far larger than a workbook's index can be"))
    text = b"".join(budget.chunks(archive, info))
    try:
        return ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise Refused(DAMAGED.format(f"{name} is not valid XML")) from exc


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xlsx_first_sheets(archive: zipfile.ZipFile, names: set[str], budget: _Budget) -> list[str]:
    """The first sheet's XML entry, found as a reader finds it (workbook.xml -> its rels); every worksheet entry
    when that fails, so that a sheet is never left unchecked."""
    every = sorted(n for n in names if re.fullmatch(r"(?i)xl/worksheets/[^/]+\.xml", n))
    workbook = _small_xml(archive, "xl/workbook.xml", budget)
    rels = _small_xml(archive, "xl/_rels/workbook.xml.rels", budget)
    if workbook is None or rels is None:
        return every
    first = next((e for e in workbook.iter() if _local(e.tag) == "sheet"), None)
    if first is None:
        return every
    rid = next((v for k, v in first.attrib.items() if _local(k) == "id"), None)
    target = next((r.get("Target") for r in rels.iter() if _local(r.tag) == "Relationship" and r.get("Id") == rid), "")
    path = posixpath.normpath(target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target or ""))
    return [path] if path in names else every


XLSX_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>]*)>")
REF_ATTR = re.compile(rb'\sr\s*=\s*["\']\s*([A-Za-z]{0,4})([0-9]{0,10})\s*["\']')


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


class _Extent:
    def __init__(self, bounds: Bounds) -> None:
        self.bounds, self.rows, self.columns = bounds, 0, 0

    def reach(self, row: int, column: int) -> None:
        if row > self.rows or column > self.columns:
            self.check(row, column)

    def check(self, row: int, column: int) -> None:
        self.rows, self.columns = max(self.rows, row), max(self.columns, column)
        if self.rows * self.columns > self.bounds.max_cells:
            raise Refused(too_many_cells(self.rows, self.columns, self.bounds.max_cells))
        if self.rows > self.bounds.max_rows + 1:
            raise Refused(too_many_rows(self.bounds.max_rows))


def _blocks(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The stream re-cut so that no tag spans two blocks (a tag cut by a chunk's end is carried to the next)."""
    carry = b""
    for chunk in chunks:
        block = carry + chunk
        lt = block.rfind(b"<")
        if lt >= 0 and b">" not in block[lt:]:
            block, carry = block[:lt], block[lt:]
            if len(carry) > MAX_TAG:
                raise Refused(DAMAGED.format("a tag in the sheet is longer than a megabyte"))
        else:
            carry = b""
        yield block


CELL_COLUMN = re.compile(rb'<c r="([A-Z]{1,3})[1-9]')
CELL_ROW = re.compile(rb'<c r="[A-Z]{1,3}([1-9][0-9]{0,6})"')
ROW_REF = re.compile(rb'<row r="([1-9][0-9]{0,6})"')
PREFIXED = re.compile(rb"<[A-Za-z_][\w.-]*:(?:c|row)[\s/>]")


def _scan_xlsx(chunks: Iterator[bytes], bounds: Bounds) -> None:
    """The extent of the cells present: a cell's reference, else the next column of its row (as readers do).

    A block whose every cell and row tag starts with its reference (``<c r="B7"``, as spreadsheet programs write
    them) is measured with a few passes in C; any other block tag by tag."""
    extent = _Extent(bounds)
    row = column = 0
    for block in _blocks(chunks):
        numbers, rows = CELL_ROW.findall(block), ROW_REF.findall(block)
        cell_tags = block.count(b"<c ") + block.count(b"<c>") + block.count(b"<c/")
        row_tags = block.count(b"<row ") + block.count(b"<row>") + block.count(b"<row/")
        prefixed = (b":c" in block or b":row" in block) and PREFIXED.search(block)
        if len(numbers) == cell_tags and len(rows) == row_tags and not prefixed:
            if numbers:
                letters = CELL_COLUMN.findall(block)
                widest = max(set(letters), key=lambda c: (len(c), c))
                extent.reach(max(map(int, numbers)), _column_number(widest))
                row, column = int(numbers[-1]), _column_number(letters[-1])
            if rows:
                extent.reach(max(map(int, rows)), 0)
                row = (
                    max(row, int(rows[-1]))
                    if not numbers or block.rfind(b"<row") < block.rfind(b"<c ")
                    else int(rows[-1])
                )
            continue
        for match in XLSX_TAG.finditer(block):
            ref = REF_ATTR.search(match.group(2))
            if match.group(1) == b"row":
                row = int(ref.group(2)) if ref and ref.group(2) else row + 1
                column = 0
                continue
            if ref and ref.group(1) and ref.group(2):
                row, column = int(ref.group(2)), _column_number(ref.group(1))
            else:
                column += 1
            extent.reach(max(row, 1), column)


def _scan_ods(chunks: Iterator[bytes], bounds: Bounds) -> None:
    """The first table's extent: rows and cells with their repeat counts, up to the last cell holding something
    (trailing empty repeats, which spreadsheet programs write by the million, are no extent)."""
    table = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
    office = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
    parser = ElementTree.XMLPullParser(events=("start", "end"))
    extent = _Extent(bounds)
    depth = rows_done = column = 0
    row_repeat = 1
    cell: tuple[int, int, bool] | None = None  # (first column, repeat, holds something)
    containers: list[ElementTree.Element] = []  # the table and its row groups: their finished rows are let go
    for chunk in chunks:
        try:
            parser.feed(chunk)
            events = list(parser.read_events())
        except ElementTree.ParseError as exc:
            raise Refused(DAMAGED.format("content.xml is not valid XML")) from exc
        for event, element in events:
            tag = element.tag
            if tag == table + "table":
                if event == "end" and depth == 1:
                    return
                depth += 1 if event == "start" else -1
                if depth == 1 and event == "start":
                    containers.append(element)
            elif depth != 1:
                continue
            elif tag in ROW_GROUPS:
                if event == "start":
                    containers.append(element)
                else:
                    containers.pop()
            elif tag == table + "table-row":
                if event == "start":
                    row_repeat, column = _repeat(element, table + "number-rows-repeated"), 0
                else:
                    rows_done += row_repeat
                    del containers[-1][:]
            elif tag in (table + "table-cell", table + "covered-table-cell"):
                if event == "start":
                    full = office + "value-type" in element.attrib
                    cell = (column, _repeat(element, table + "number-columns-repeated"), full)
                else:
                    first, repeat, full = cell or (column, 1, False)
                    column = first + repeat
                    if full or len(element):
                        extent.reach(rows_done + row_repeat, column)
                    cell = None
                    element.clear()


ROW_GROUPS = {
    "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}" + name
    for name in ("table-row-group", "table-rows", "table-header-rows")
}


def _repeat(element: ElementTree.Element, name: str) -> int:
    raw = element.get(name, "1")
    return int(raw) if raw.isdigit() and len(raw) < 12 else 1
