"""What a spreadsheet's cells mean: header names and the row checks that need no database, vectorised.

``normalise_header`` reads a header cell as a name (lower case, no unit, no punctuation); ``map_headers`` matches
the names against the alias table below (the first alias listed wins when a file has two columns meaning the
same field; the other is ignored with a warning). ``clean_rows`` turns the text grid into typed columns with
pandas and Arrow string operations (no per-row Python loop; numbers through ``core.sheets.cells``) and returns
every problem found as ``(line, column header, message)``; a row with a problem is marked ``bad``.

Rules (the same limits as ``core.base.validate``): sku 1-64 characters after trimming, name 1-100, category 1-50,
vendor 1-100; unit_price a number >= 0 (at most 9,999,999,999.99); quantity and reorder_level whole numbers
>= 0; active yes/no. A blank cell is "not given" (``NA``). A leading ``'`` that an export added to neutralise a
formula (``'=x``) is removed. A SKU twice in the file (per store, when the file has a store column) is an error
on each of its lines; lines of one SKU must agree on product fields. Such a message quotes the first few lines
of its SKU and how many there are, so its size does not grow with the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.base import validate
from core.base.validate import CATEGORY_MAX, NAME_MAX, PRICE_MAX, QTY_MAX, SKU_MAX
from core.sheets import cells
from core.sheets.read import Sheet

FIELDS = ("sku", "name", "category", "unit_price", "reorder_level", "vendor", "active", "quantity", "store")
PRODUCT_FIELDS = ("name", "category", "unit_price", "reorder_level", "vendor", "active")
NUMBER_FIELDS = ("unit_price", "reorder_level", "quantity")
LABELS = {name: validate.LABELS.get(name, name.capitalize()) for name in FIELDS}  # "Active", "Store" added
# field: its aliases (a header as ``normalise_header`` reads it), the preferred first; indented lines continue
_ALIAS_TABLE = """
sku: sku, sku code, sku id, product sku, item sku, item code, product code, code, article, article code,
    article number, article no, item no, item number, part number, part no, barcode, ean, upc
name: name, product name, item name, product, item, description, item description, product description, title
category: category, category name, product category, item category, group, product group, item group, department,
    dept, section
unit_price: unit price, price, selling price, sale price, sales price, price per unit, retail price, rate, mrp
reorder_level: reorder level, reorder, reorder point, min stock, minimum stock, min qty, minimum quantity,
    min level, min, low stock level, par level, safety stock
quantity: quantity, qty, stock, on hand, qty on hand, quantity on hand, stock on hand, soh, count, counted,
    counted qty, stock qty, closing stock, in stock, available, balance, units
vendor: vendor, supplier, vendor name, supplier name, distributor
store: store, store code, branch, branch code, shop, shop code, outlet, location
active: active, is active, enabled, status
"""
ALIASES: dict[str, tuple[str, ...]] = {
    name: tuple(alias.strip() for alias in aliases.split(","))
    for name, aliases in (entry.split(":") for entry in re.sub(r"\n\s+", " ", _ALIAS_TABLE).strip().splitlines())
}
_ALIAS_RANK = {alias: (name, rank) for name, aliases in ALIASES.items() for rank, alias in enumerate(aliases)}
TRUE_WORDS = ("true", "yes", "y", "1", "active", "enabled", "t")
FALSE_WORDS = ("false", "no", "n", "0", "inactive", "disabled", "f")
_EXCEL_TEXT = re.compile(r'^="(.*)"$', re.DOTALL)


def normalise_header(text: Any) -> str:
    """Lower case, a trailing ``(unit)`` dropped, ``#`` read as "no", other punctuation and runs of spaces as one
    space: ``" Unit_Price (₹) "`` -> ``"unit price"``, ``"Item #"`` -> ``"item no"``."""
    value = str(text).replace("\ufeff", "").strip().strip("\"'").lower()
    value = re.sub(r"\s*[\(\[][^\)\]]*[\)\]]\s*$", "", value)
    value = value.replace("#", " no ")
    value = re.sub(r"[^\w]+|_+", " ", value)
    return value.strip()


def is_sku_header(header: Any) -> bool:
    """Whether a header cell names the SKU column (how the reader finds the header row)."""
    return _ALIAS_RANK.get(normalise_header(header), ("", 0))[0] == "sku"


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass
class Mapping:
    """field -> column index and the file's header for it; warnings for ignored columns."""

    columns: dict[str, int] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        return self.headers.get(name, name)


def map_headers(sheet: Sheet) -> Mapping:
    """Match the sheet's headers to fields. Unknown and duplicate columns are ignored with a warning."""
    mapping = Mapping()
    ranks: dict[str, int] = {}
    for index, header in enumerate(sheet.headers):
        key = normalise_header(header)
        if not key:
            if index in sheet.frame.columns and (sheet.frame[index].str.strip() != "").any():
                mapping.warnings.append(f"Column {column_letter(index)} has no header and was ignored.")
            continue
        if key not in _ALIAS_RANK:
            mapping.warnings.append(f"Column '{header}' is not a known column and was ignored.")
            continue
        name, rank = _ALIAS_RANK[key]
        if name in mapping.columns:
            kept, dropped = (header, mapping.headers[name]) if rank < ranks[name] else (mapping.headers[name], header)
            mapping.warnings.append(
                f"Column '{dropped}' was ignored: column '{kept}' already gives the {LABELS[name].lower()}."
            )
            if rank >= ranks[name]:
                continue
        mapping.columns[name], mapping.headers[name], ranks[name] = index, header.strip(), rank
    return mapping


class ProblemList:
    """Collects (line, column, message) rows; ``bad`` marks every row with a problem."""

    def __init__(self, lines: pd.Series) -> None:
        self.lines = lines
        self.parts: list[pd.DataFrame] = []
        self.bad = pd.Series(False, index=lines.index)

    def add(
        self,
        mask: pd.Series,
        column: str | pd.Series | None,
        message: pd.Series | str | Callable[[], pd.Series],
    ) -> None:
        """Record ``message`` (text, one per row, or a function making them: only called when needed) in
        ``column`` (a header, or one per row) for the rows in ``mask``."""
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        if callable(message):
            message = message()
        msg = message[mask] if isinstance(message, pd.Series) else pd.Series(message, index=mask[mask].index)
        col = column[mask].astype(object).to_numpy() if isinstance(column, pd.Series) else column
        self.parts.append(
            pd.DataFrame({"line": self.lines[mask], "column": col, "message": msg.astype(object).to_numpy()})
        )
        self.bad |= mask

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return empty_problems()
        return pd.concat(self.parts, ignore_index=True)


def empty_problems() -> pd.DataFrame:
    return pd.DataFrame(
        {"line": pd.Series(dtype="int64"), "column": pd.Series(dtype=object), "message": pd.Series(dtype=object)}
    )


def _text(raw: pd.Series) -> pd.Series:
    """Trimmed text with an export's formula guard removed; blank -> NA."""
    text = pc.utf8_trim_whitespace(cells.arrow(raw))
    special = pc.or_(pc.starts_with(text, "'"), pc.starts_with(text, "="))
    if not cells.any_of(special):
        return cells.series(cells.blank_to_null(text), raw.index)
    found = cells.series(text, raw.index)  # an export's formula guard '=x, or Excel's ="00123" (leading zeros)
    mask = cells.mask_of(pc.fill_null(special, False), raw.index)
    found = found.mask(mask, found[mask].map(_unguard).astype("str"))
    return found.where(found != "")


def _unguard(value: str) -> str:
    """Undo what an export did to a text cell: one leading ``'`` before formula-like text, after any further
    ``'`` (``'=x`` -> ``=x``, ``''=x`` -> ``'=x``: the exporter adds exactly one), or the text form ``="00123"``
    that Excel and Calc keep as text -> ``00123``."""
    if value.startswith("'") and value.lstrip("'").startswith(("=", "+", "-", "@", "\t", "\r")):
        return value[1:]
    return _EXCEL_TEXT.sub(r"\1", value)


@dataclass
class CleanRows:
    """Typed rows (one per data row, in file order) and every problem found without the database."""

    rows: pd.DataFrame
    problems: pd.DataFrame
    has_quantity: bool
    has_store: bool


class _Cleaning:
    """One sheet being cleaned: its columns by field, the rows made so far, and the problems found."""

    def __init__(self, sheet: Sheet, mapping: Mapping) -> None:
        self.sheet, self.mapping = sheet, mapping
        self.frame = sheet.frame
        self.rows = pd.DataFrame({"line": self.frame["line"].astype("int64")})
        self.problems = ProblemList(self.rows["line"])
        self.empty = pd.Series(pd.NA, index=self.frame.index, dtype="str")

    def col(self, name: str) -> pd.Series:
        return self.frame[self.mapping.columns[name]].astype("str") if name in self.mapping.columns else self.empty

    def said(self, name: str, before: str, after: str) -> Callable[[], pd.Series]:
        """A message quoting each row's cell, made only if a row needs it."""
        return lambda: before + self.col(name).str.strip() + after

    def texts(self) -> None:
        """sku, name, category and vendor: trimmed, within their lengths; the SKU required and screened."""
        sku_too_long = pd.Series(False, index=self.frame.index)
        for name, limit in (("sku", SKU_MAX), ("name", NAME_MAX), ("category", CATEGORY_MAX), ("vendor", NAME_MAX)):
            text = _text(self.col(name))
            longest = pc.max(pc.utf8_length(cells.arrow(text))).as_py() if name in self.mapping.columns else None
            if longest is None or longest <= limit:  # the usual case: no cell too long, no per-row lengths needed
                self.rows[name] = text
                continue
            length = text.str.len()
            too_long = length > limit
            self.problems.add(
                too_long,
                self.mapping.header(name),
                lambda name=name, limit=limit, length=length: (
                    f"{LABELS[name]} must be at most {limit} characters (got "
                    + length.astype("Int64").astype("str")
                    + ")."
                ),
            )
            self.rows[name] = text.where(~too_long) if too_long.any() else text
            if name == "sku":
                sku_too_long = too_long.fillna(False).astype(bool)
        sku_header = self.mapping.header("sku")
        self.problems.add(self.rows["sku"].isna() & ~sku_too_long, sku_header, "SKU is required.")
        self.rows["sku"], invisible = validate.screen_codes(self.rows["sku"], "sku")  # NFC; no zero-width characters
        self.problems.add(invisible.notna(), sku_header, invisible)

    def numbers(self) -> None:
        """unit_price (canonical text, cast by the database), reorder_level and quantity (Int64)."""
        given = [self.col(n) for n in NUMBER_FIELDS if n in self.mapping.columns]
        comma = cells.decimal_comma(given, self.sheet.delimiter)
        for name in NUMBER_FIELDS:
            if name not in self.mapping.columns:
                missing = pd.Series(pd.NA, index=self.frame.index, dtype="Int64")
                self.rows[name] = self.empty.copy() if name == "unit_price" else missing
                continue
            canon, value, good = self._number(name, comma)
            if name != "unit_price":
                self.rows[name] = value.where(good).round().astype("Int64")
            else:
                canon = cells.price_texts(canon, value)
                self.rows[name] = canon.where(good) if not good.all() else canon

    def _number(self, name: str, comma: bool) -> tuple[pd.Series, pd.Series, pd.Series]:
        """One number column's problems; returns (canonical text, value, the rows whose value is good)."""
        canon, value, invalid = cells.parse_numbers(self.col(name), comma)
        header, label, add = self.mapping.header(name), LABELS[name], self.problems.add
        whole_only = name != "unit_price"
        add(
            invalid, header, self.said(name, f"{label} must be {'a whole' if whole_only else 'a'} number (got '", "').")
        )
        negative = ~invalid & (value < 0)
        add(negative, header, self.said(name, f"{label} cannot be negative (got ", ")."))
        good = ~invalid & ~negative & value.notna()
        if whole_only:
            fraction = good & ~cells.whole(value)
            add(fraction, header, self.said(name, f"{label} must be a whole number (got ", ")."))
            good &= ~fraction
        too_big = good & (value > (QTY_MAX if whole_only else float(PRICE_MAX)))
        add(too_big, header, self.said(name, f"{label} is too large (got ", ")."))
        return canon, value, good & ~too_big

    def active(self) -> None:
        """The active column: yes/no words, blank = not given."""
        if "active" not in self.mapping.columns:
            self.rows["active"] = pd.Series(pd.NA, index=self.frame.index, dtype="boolean")
            return
        raw = self.col("active")
        words = raw.str.strip().str.lower()
        given = words.notna() & (words != "")
        is_true, is_false = words.isin(TRUE_WORDS), words.isin(FALSE_WORDS)
        self.problems.add(
            given & ~is_true & ~is_false,
            self.mapping.header("active"),
            lambda: "Active must be yes or no (got '" + raw.str.strip() + "').",
        )
        none = pd.Series(pd.NA, index=self.frame.index, dtype="boolean")
        self.rows["active"] = none.mask(is_true, True).mask(is_false, False)

    def found(self) -> pd.DataFrame:
        """Every problem, in line order. A row with cells past the header is misaligned: its other problems
        would only be noise, so only that one is kept."""
        found = self.problems.frame()
        if self.sheet.bad_lines:
            ragged = pd.DataFrame(self.sheet.bad_lines, columns=["line", "message"]).assign(column=None)
            found = pd.concat([found[~found["line"].isin(ragged["line"])], ragged], ignore_index=True)
            self.problems.bad |= self.rows["line"].isin(ragged["line"])
        return found.sort_values("line", kind="stable")


def clean_rows(sheet: Sheet, mapping: Mapping) -> CleanRows:
    """Type and check every cell. Columns of ``rows``: line, sku, name, category, unit_price (text with two
    decimals' worth of digits, cast to DECIMAL by the database), reorder_level, quantity (Int64), vendor,
    active (boolean), store (text), bad (bool)."""
    cleaning = _Cleaning(sheet, mapping)
    cleaning.texts()
    cleaning.numbers()
    cleaning.active()
    rows, problems = cleaning.rows, cleaning.problems
    has_store = "store" in mapping.columns
    rows["store"] = _text(cleaning.col("store")) if has_store else cleaning.empty.copy()
    _duplicates(rows, problems, mapping, has_store)
    if has_store:
        _disagreements(rows, problems, mapping)
    found = cleaning.found()
    rows["bad"] = problems.bad.to_numpy() if len(rows) else pd.Series(dtype=bool)
    return CleanRows(rows, found, "quantity" in mapping.columns, has_store)


LINES_LISTED = 5  # line numbers quoted in a message about lines that belong together (duplicates, clashes)


def _lines_of(keys: pd.Series, lines: pd.Series, mask: pd.Series) -> tuple[pd.Series, pd.Series]:
    """For each row in ``mask``: the first few lines sharing its key as text ("2, 5", or "2, 3, 4, 5, 6 and 995
    more") and how often the key occurs ("more than once", or "1,000 times" when not every line is quoted). Each
    key's text is made once and shared by its rows: the messages stay small however often a key repeats (listing
    every line on every line grows with the square of the lines)."""
    grouped = lines[mask].groupby(keys[mask], sort=False)
    count = grouped.size()
    first = grouped.head(LINES_LISTED)
    listed = first.astype("str").groupby(keys[mask].loc[first.index], sort=False).agg(", ".join)
    more = (count - LINES_LISTED).clip(lower=0)
    listed = listed + more.map(lambda n: f" and {n:,} more" if n else "")
    return keys.map(listed), keys.map(count.map(lambda n: "more than once" if n <= LINES_LISTED else f"{n:,} times"))


def _all_distinct(keys: pa.ChunkedArray) -> bool:
    """Whether no key repeats: at once for keys in ascending order (as most exports are), else by hashing."""
    if len(keys) < 2 or pc.all(pc.greater(keys[1:], keys[:-1])).as_py():
        return True
    return bool(pc.count_distinct(keys).as_py() == len(keys))


def _duplicates(rows: pd.DataFrame, problems: ProblemList, mapping: Mapping, has_store: bool) -> None:
    sku = rows["sku"]
    key = sku if not has_store else sku + "\x1f" + rows["store"].fillna("").str.upper()
    present = sku.notna()
    if not has_store and _all_distinct(pc.drop_null(cells.arrow(sku))):
        return  # every SKU once: the common case, told without building the duplicate mask
    dup = present & key.duplicated(keep=False)
    if not dup.any():
        return
    lines_text, times = _lines_of(key, rows["line"], dup)
    where = " appears " + times + " in the file (lines " + lines_text + ")."
    if has_store:
        where = " for store " + rows["store"].fillna("(no store)") + where
    problems.add(dup, mapping.header("sku"), "SKU " + sku.fillna("") + where)


def _disagreements(rows: pd.DataFrame, problems: ProblemList, mapping: Mapping) -> None:
    """Lines of one SKU (one per store) must not give different product values."""
    sku = rows["sku"]
    multi = sku.notna() & sku.duplicated(keep=False)
    if not multi.any():
        return
    for name in PRODUCT_FIELDS:
        if name not in mapping.columns:
            continue
        values = rows[name].astype("str") if name != "unit_price" else pd.to_numeric(rows[name]).astype("str")
        distinct = values.where(multi).groupby(sku.where(multi)).transform("nunique")
        clash = multi & values.notna() & (distinct > 1)
        if clash.any():
            lines_text = _lines_of(sku, rows["line"], clash)[0]
            problems.add(
                clash,
                mapping.header(name),
                "SKU " + sku.fillna("") + f" has a different {LABELS[name].lower()} on lines " + lines_text + ".",
            )
