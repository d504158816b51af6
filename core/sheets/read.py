"""Reading an uploaded spreadsheet into a grid of text cells, with the row numbers a spreadsheet shows.

Owns everything about the file's form, nothing about its meaning: the file type is told by its content (not
its name): XLSX/XLS/ODS through python-calamine (first sheet), checked and parsed in a bounded child process
(``core.sheets.guard``, ``core.sheets.worker``); anything else as delimited text, in this process. Text
files are decoded by ``core.sheets.decode`` (UTF-8, UTF-16/32, Windows-1252, or line by line when mixed).
The delimiter (comma, semicolon, tab, pipe, or an Excel ``sep=`` line naming one ASCII character) is the one that
splits the first lines most consistently. The header is the first of the first 20 rows that names a SKU column
(so title lines above a table are skipped), else the first non-blank row; it must end within the first 200,000
characters and have at most ``INVENTORY_IMPORT_MAX_COLUMNS`` cells. A cell longer than the csv module's field
limit (131,072 characters) in a row the fast readers cannot take is a file problem naming its line.

Invariants: every cell is a ``str`` (blank = ``""``; whole XLSX numbers as ``"12"``, not ``"12.0"``); ``line``
is the 1-based row number a spreadsheet shows (a quoted cell spanning several text lines is one row); wholly
blank rows are dropped but never renumber the others. ``read_sheet`` raises ``FileProblem`` (a sentence for a
person) for an empty or unreadable file and never anything else for bad content.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pandas as pd

from core.sheets.decode import decode
from core.sheets.guard import Bounds, Refused, setting
from core.sheets.worker import parse_workbook


class FileProblem(Exception):
    """The file as a whole cannot be read (empty, damaged, not a spreadsheet). ``str`` is for a person."""


HEADER_SCAN_ROWS = 20
HEAD_WINDOW = 200_000  # characters read to find the header row: a longer header line is refused
DELIMITERS = (",", ";", "\t", "|")
ZIP_MAGIC, OLE_MAGIC = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"


@dataclass
class Sheet:
    """A grid of text cells. ``frame`` has one column per header cell (named ``0..n-1``) plus ``line``."""

    headers: list[str]
    frame: pd.DataFrame
    header_line: int
    kind: str  # "csv" or "xlsx"
    encoding: str | None = None
    delimiter: str | None = None
    warnings: list[str] = field(default_factory=list)
    bad_lines: list[tuple[int, str]] = field(default_factory=list)  # (line, message): rows that cannot be used


def _find_header(rows: list[list[str]], is_sku: Callable[[str], bool]) -> int | None:
    """Index of the header row among the first rows: the first naming a SKU column, else the first non-blank."""
    first_nonblank = None
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        if any(str(c).strip() for c in row):
            if first_nonblank is None:
                first_nonblank = i
            if any(is_sku(str(c)) for c in row):
                return i
    return first_nonblank


def _trim_headers(headers: list[str]) -> list[str]:
    """Header cells trimmed; blank ones are kept (their column is ignored, with a warning if it holds data)."""
    return [str(h).strip() for h in headers]


def _grid_to_sheet(
    rows: Iterable[list[str]], header_index: int, headers: list[str], kind: str, *, first_line: int
) -> Sheet:
    """Build a Sheet from rows after the header (lists of ``str``), flagging rows with cells past the header."""
    width = len(headers)
    kept: list[list[str]] = []
    lines: list[int] = []
    bad: list[tuple[int, str]] = []
    blank = [""] * width
    for offset, row in enumerate(rows):
        line = first_line + offset
        if len(row) > width and any(c.strip() for c in row[width:]):
            bad.append(
                (
                    line,
                    f"This row has {len(row)} cells but the header has {width}; a cell that contains the"
                    " delimiter must be in quotes.",
                )
            )
        if not (row and row[0].strip()) and not any(c.strip() for c in row):  # (most rows: one look)
            continue
        kept.append(row[:width] if len(row) >= width else [*row, *blank[len(row) :]])
        lines.append(line)
    columns = list(zip(*kept, strict=True)) if kept else [() for _ in range(width)]
    frame = pd.DataFrame({j: pd.Series(list(columns[j]), dtype="str") for j in range(width)})
    frame["line"] = pd.Series(lines, dtype="int64")
    return Sheet(headers, frame, header_index + 1, kind, bad_lines=bad)


# ---- XLSX / XLS / ODS -----------------------------------------------------------------------------------------


def _read_workbook(data: bytes, is_sku: Callable[[str], bool]) -> Sheet:
    """Bounds checked and cells parsed in a bounded child process (``spreadsheet_guard``, ``spreadsheet_worker``)."""
    try:
        rows = parse_workbook(data, Bounds.from_env())
    except Refused as exc:
        raise FileProblem(str(exc)) from None
    header_index = _find_header(rows, is_sku)
    if header_index is None:
        raise FileProblem("The first sheet of the workbook is empty.")
    headers = _trim_headers(rows[header_index])
    _check_width(len(headers), header_index + 1)
    return _grid_to_sheet(rows[header_index + 1 :], header_index, headers, "xlsx", first_line=header_index + 2)


# ---- delimited text ---------------------------------------------------------------------------------------------


def _head_records(text: str, delimiter: str, limit: int = HEADER_SCAN_ROWS) -> list[list[str]]:
    """The first records of the first ``HEAD_WINDOW`` characters; stops quietly at one the csv module refuses."""
    return _head(text, delimiter, limit)[0]


def _head(text: str, delimiter: str, limit: int = HEADER_SCAN_ROWS) -> tuple[list[list[str]], str | None]:
    """The first records, and the sentence for the record that stopped the reading (``None`` if none did)."""
    reader = csv.reader(io.StringIO(text[:HEAD_WINDOW], newline=""), delimiter=delimiter)
    out: list[list[str]] = []
    try:
        for row in reader:
            out.append(row)
            if len(out) >= limit:
                break
    except csv.Error as exc:
        return out, _csv_problem(exc, reader.line_num)
    return out, None


def _csv_problem(exc: csv.Error, line: int) -> str:
    """A sentence for what the csv module refused on ``line``."""
    if "field limit" in str(exc):
        return (
            f"Line {line} has a cell longer than {csv.field_size_limit():,} characters: no spreadsheet cell is"
            ' that long. A quote (") that opens a cell and is never closed makes the rest of the file one cell;'
            " check the quotes on that line."
        )
    return f"Line {line} could not be read as delimited text ({exc})."


def sniff_delimiter(text: str) -> str:
    """The delimiter that gives the most rows with the same number (> 1) of cells in the first lines."""
    best, best_score = ",", (-1, -1, 0)
    for rank, delim in enumerate(DELIMITERS):
        counts = [len(r) for r in _head_records(text, delim) if any(c.strip() for c in r)]
        multi = [n for n in counts if n > 1]
        if not multi:
            continue
        mode = max(set(multi), key=lambda n: (multi.count(n), n))
        score = (multi.count(mode), mode, -rank)
        if score > best_score:
            best, best_score = delim, score
    return best


def _physical_lines(records: list[list[str]], text: str, delimiter: str, count: int) -> int:
    """How many text lines the first ``count`` records span (quoted cells may hold newlines)."""
    if count == 0:
        return 0
    reader = csv.reader(io.StringIO(text[:400_000], newline=""), delimiter=delimiter)
    for i, _ in enumerate(reader, start=1):
        if i == count:
            return reader.line_num
    return count


def _parse_arrow(text: str, delimiter: str, width: int, skip: int, raw: bytes | None = None) -> pd.DataFrame | None:
    """The fast path (multi-threaded pyarrow): every row exactly ``width`` cells, no blank lines; else ``None``.

    ``raw`` is the file's own bytes when they are exactly ``text`` in UTF-8 (saves encoding it again)."""
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    names = [str(j) for j in range(width)]
    try:
        table = pa_csv.read_csv(
            io.BytesIO(raw if raw is not None else text.encode("utf-8")),
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=skip, block_size=1 << 22),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                newlines_in_values='"' in text,  # only a quoted cell can hold a newline; else the faster splitter
                ignore_empty_lines=False,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()),  # as pandas keeps them: no copy
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    frame = table.to_pandas(types_mapper={pa.large_string(): pd.StringDtype(na_value=float("nan"))}.get)
    frame.columns = list(range(width))
    return frame


def _parse_pandas(text: str, delimiter: str, width: int, skip: int) -> pd.DataFrame | None:
    """Rows shorter than the header are padded, blank lines kept; ``None`` for rows longer than the header."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(
                io.StringIO(text),
                sep=delimiter,
                header=None,
                names=list(range(width)),
                skiprows=skip,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                engine="c",
                quotechar='"',
                doublequote=True,
                index_col=False,
            )
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError):
        return None  # ragged rows or odd quoting: the careful reader says which line


def _explicit_delimiter(first: str) -> str | None:
    """The delimiter named by an Excel ``sep=`` first line, if there is one. Raises ``FileProblem`` for one that
    cannot be a delimiter."""
    explicit = re.fullmatch(r"(?i)sep=(.)", first)
    if not explicit:
        return None
    delimiter = explicit.group(1)
    if not delimiter.isascii() or delimiter.isalnum() or delimiter in "\"'\r\n":
        raise FileProblem(
            f"The first line, {first[:40]!r}, names {delimiter!r} as the delimiter, which cannot be one: a delimiter"
            " is one ASCII character that is not a letter, a digit or a quote, such as , ; | or a tab. Correct or"
            " delete that line."
        )
    return delimiter


def _check_width(width: int, header_line: int) -> None:
    limit = setting("INVENTORY_IMPORT_MAX_COLUMNS")
    if width > limit:
        raise FileProblem(
            f"The header row (line {header_line}) has {width:,} columns; an import reads at most {limit:,}. Is this"
            " the right file?"
        )


def _read_text(data: bytes, is_sku: Callable[[str], bool]) -> Sheet:
    decoded = decode(data)
    text, encoding = decoded.text, decoded.encoding
    # (a visible character settles it at once; only a file of blanks and BOMs pays for copying the text)
    if re.search(r"[^\s\ufeff]", text) is None and not text.strip().strip("\ufeff"):
        raise FileProblem("The file is empty.")
    if "\x00" in text:
        raise FileProblem("The file is not a spreadsheet or text file that can be read (it contains binary data).")
    skipped_lines = 0
    first = text[: text.find("\n")] if "\n" in text else text  # the first line, without copying the rest
    explicit = _explicit_delimiter(first.strip().strip('"'))
    if explicit:
        delimiter = explicit
        text = text.split("\n", 1)[1] if "\n" in text else ""
        skipped_lines = 1
    else:
        delimiter = sniff_delimiter(text)
    head, head_problem = _head(text, delimiter)
    header_index = _find_header(head, is_sku)
    if header_index is None:
        raise FileProblem(head_problem or "The file is empty.")
    skip = _physical_lines(head, text, delimiter, header_index + 1)
    if len(text) > HEAD_WINDOW and text.count("\n", 0, HEAD_WINDOW) < skip:
        raise FileProblem(
            f"Line {skipped_lines + skip} is longer than {HEAD_WINDOW:,} characters, so it cannot be a header row"
            " (the row that names the columns: sku, name, quantity, ...). Is this the right file?"
        )
    headers = _trim_headers(head[header_index])
    _check_width(len(headers), skipped_lines + header_index + 1)
    first_data_line = skipped_lines + header_index + 2
    width = len(headers)
    sheet: Sheet | None = None
    if width:
        same = encoding == "UTF-8" and not explicit  # the bytes are the text: no BOM, no sep= line dropped
        frame = _parse_arrow(text, delimiter, width, skip, data if same else None)
        if frame is None:
            frame = _parse_pandas(text, delimiter, width, skip)
        if frame is not None:
            frame["line"] = pd.RangeIndex(first_data_line, first_data_line + len(frame)).to_numpy(dtype="int64")
            blank = frame[0].str.strip() == ""  # only rows blank in the first cell can be blank rows
            for j in range(1, width):
                if not blank.any():
                    break
                blank &= frame[j].str.strip() == ""
            if blank.any():
                frame = frame[~blank].reset_index(drop=True)
            sheet = Sheet(headers, frame, skipped_lines + header_index + 1, "csv")
    if sheet is None:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            rows = list(reader)
        except csv.Error as exc:
            raise FileProblem(_csv_problem(exc, skipped_lines + reader.line_num)) from None
        sheet = _grid_to_sheet(rows[header_index + 1 :], header_index, headers, "csv", first_line=first_data_line)
        sheet.header_line = skipped_lines + header_index + 1
    sheet.encoding, sheet.delimiter = encoding, delimiter
    warning = decoded.warning()
    if warning:
        sheet.warnings.append(warning)
    return sheet


def read_sheet(data: bytes, is_sku: Callable[[str], bool]) -> Sheet:
    """Read a CSV/TSV/XLSX/XLS/ODS file's bytes. ``is_sku(header cell)`` tells the header row.

    Raises ``FileProblem`` for an empty, damaged or binary file.
    """
    if re.search(rb"[^\s\x00\xef\xbb\xbf\xff\xfe]", data) is None:
        raise FileProblem("The file is empty.")
    try:
        if data.startswith(ZIP_MAGIC) or data.startswith(OLE_MAGIC):
            return _read_workbook(data, is_sku)
        return _read_text(data, is_sku)
    except Refused as exc:  # a bad setting
        raise FileProblem(str(exc)) from None
