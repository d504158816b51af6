"""What a spreadsheet's cells mean: header aliases and the row checks that need no database, vectorised.

``map_headers`` matches headers case-insensitively after trimming, against the alias table below (the first
alias listed wins when a file has two columns meaning the same field; the other is ignored with a warning).
``clean_rows`` turns the text grid into typed columns with pandas string operations (no per-row Python loop)
and returns every problem found as ``(line, column header, message)``; a row with a problem is marked ``bad``.

Rules (the same limits as ``core.base.validate``): sku 1-64 characters after trimming, name 1-100, category 1-50,
vendor 1-100; unit_price a number >= 0 (at most 9,999,999,999.99); quantity and reorder_level whole numbers
>= 0; active yes/no. Numbers may carry thousands separators (``1,234.50``) and, in semicolon files or where the
file shows it (``2,75``, ``1.234,50``), a decimal comma. A blank cell is "not given" (``NA``). A leading ``'``
that an export added to neutralise a formula (``'=x``) is removed. A SKU twice in the file (per store, when the
file has a store column) is an error on each of its lines; lines of one SKU must agree on product fields. Such a
message quotes the first few lines of its SKU and how many there are, so its size does not grow with the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.base import validate
from core.base.validate import CATEGORY_MAX, NAME_MAX, PRICE_MAX, QTY_MAX, SKU_MAX
from core.sheets.read import Sheet, normalise_header

FIELDS = ("sku", "name", "category", "unit_price", "reorder_level", "vendor", "active", "quantity", "store")
PRODUCT_FIELDS = ("name", "category", "unit_price", "reorder_level", "vendor", "active")
LABELS = {name: validate.LABELS.get(name, name.capitalize()) for name in FIELDS}  # "Active", "Store" added
ALIASES: dict[str, tuple[str, ...]] = {
    "sku": (
        "sku", "sku code", "sku id", "product sku", "item sku", "item code", "product code", "code", "article",
        "article code", "article number", "article no", "item no", "item number", "part number", "part no",
        "barcode", "ean", "upc",
    ),
    "name": (
        "name", "product name", "item name", "product", "item", "description", "item description",
        "product description", "title",
    ),
    "category": (
        "category", "category name", "product category", "item category", "group", "product group", "item group",
        "department", "dept", "section",
    ),
    "unit_price": (
        "unit price", "price", "selling price", "sale price", "sales price", "price per unit", "retail price",
        "rate", "mrp",
    ),
    "reorder_level": (
        "reorder level", "reorder", "reorder point", "min stock", "minimum stock", "min qty", "minimum quantity",
        "min level", "min", "low stock level", "par level", "safety stock",
    ),
    "quantity": (
        "quantity", "qty", "stock", "on hand", "qty on hand", "quantity on hand", "stock on hand", "soh",
        "count", "counted", "counted qty", "stock qty", "closing stock", "in stock", "available", "balance",
        "units",
    ),
    "vendor": ("vendor", "supplier", "vendor name", "supplier name", "distributor"),
    "store": ("store", "store code", "branch", "branch code", "shop", "shop code", "outlet", "location"),
    "active": ("active", "is active", "enabled", "status"),
}  # fmt: skip
_ALIAS_RANK = {alias: (name, rank) for name, aliases in ALIASES.items() for rank, alias in enumerate(aliases)}
TRUE_WORDS = ("true", "yes", "y", "1", "active", "enabled", "t")
FALSE_WORDS = ("false", "no", "n", "0", "inactive", "disabled", "f")

_EXCEL_TEXT = re.compile(r'^="(.*)"$', re.DOTALL)
_PLAIN_DOT, _PLAIN_COMMA = r"[0-9]+([.][0-9]+)?", r"[0-9]+(,[0-9]+)?"
_UNIT = re.compile(r"(?<=[0-9])\s+[A-Za-z][A-Za-z.]{0,5}$")  # "12 Pcs", "3.000 Nos" as accounting tools write
_SPACES = re.compile(r"[\s\u00a0\u202f']+")
_CURRENCY = re.compile(r"^(₹|Rs\.?|INR|\$|€|£|¥)", re.IGNORECASE)
_BRACKETS = re.compile(r"\((.*)\)")
_DOT_NUMBER = re.compile(
    r"-?([0-9]+|[0-9]{1,3}(,[0-9]{3})+)([.][0-9]*)?|-?[.][0-9]+|-?[0-9]+([.][0-9]+)?[eE][+-]?[0-9]+"
)
_COMMA_GROUPED = re.compile(r"-?[0-9]{1,3}([.][0-9]{3})+(,[0-9]*)?")
_COMMA_NUMBER = re.compile(r"-?[0-9]+(,[0-9]*)?|-?,[0-9]+|-?[0-9]+[.][0-9]+")


def is_sku_header(normalised: str) -> bool:
    return _ALIAS_RANK.get(normalised, ("", 0))[0] == "sku"


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


def _arrow(raw: pd.Series) -> pa.ChunkedArray:
    """The cells as an Arrow string array (zero-copy for the reader's ``str`` columns)."""
    if hasattr(raw.array, "__arrow_array__"):
        array = raw.array.__arrow_array__()
        return array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])
    return pa.chunked_array([pa.array(raw.astype(object), type=pa.large_string(), from_pandas=True)])


def _series(array: pa.ChunkedArray, index: pd.Index) -> pd.Series:
    return pd.Series(array, index=index, dtype="str")


def _trimmed(raw: pd.Series) -> pa.ChunkedArray:
    """Trimmed cells; blank -> null."""
    return _blank_to_null(pc.utf8_trim_whitespace(_arrow(raw)))


def _blank_to_null(text: pa.ChunkedArray) -> pa.ChunkedArray:
    blank = pc.equal(text, "")
    return pc.if_else(blank, pa.scalar(None, text.type), text) if _any(blank) else text


def _any(mask: pa.ChunkedArray) -> bool:
    return bool(pc.any(mask).as_py())


def _all(mask: pa.ChunkedArray) -> bool:
    return bool(pc.all(mask).as_py())


def _text(raw: pd.Series) -> pd.Series:
    """Trimmed text with an export's formula guard removed; blank -> NA."""
    text = pc.utf8_trim_whitespace(_arrow(raw))
    special = pc.or_(pc.starts_with(text, "'"), pc.starts_with(text, "="))
    if not _any(special):
        return _series(_blank_to_null(text), raw.index)
    series = _series(text, raw.index)  # an export's formula guard '=x, or Excel's ="00123" (leading zeros)
    mask = pd.Series(pc.fill_null(special, False).to_numpy(zero_copy_only=False), index=raw.index)
    series = series.mask(mask, series[mask].map(_unguard).astype("str"))
    return series.where(series != "")


def _unguard(value: str) -> str:
    """Undo what an export did to a text cell: one leading ``'`` before formula-like text, after any further
    ``'`` (``'=x`` -> ``=x``, ``''=x`` -> ``'=x``: the exporter adds exactly one), or the text form ``="00123"``
    that Excel and Calc keep as text -> ``00123``."""
    if value.startswith("'") and value.lstrip("'").startswith(("=", "+", "-", "@", "\t", "\r")):
        return value[1:]
    return _EXCEL_TEXT.sub(r"\1", value)


def decimal_comma(values: list[pd.Series], delimiter: str | None) -> bool:
    """Whether the file writes decimals with a comma: told by the numbers themselves, else by a ``;`` delimiter."""
    with_comma = [v for v in values if _any(pc.match_substring(_arrow(v), ","))]
    joined = pd.concat(with_comma, ignore_index=True).str.strip().dropna() if with_comma else pd.Series(dtype="str")
    joined = joined[joined.str.contains(",", regex=False)]
    if len(joined):
        if joined.str.contains(r"[0-9],[0-9]{3}[.][0-9]", regex=True).any():
            return False
        if joined.str.contains(r"[0-9][.][0-9]{3},[0-9]", regex=True).any():
            return True
        if joined.str.fullmatch(r"-?[0-9 ]*[0-9],([0-9]{1,2}|[0-9]{4,})").fillna(False).any():
            return True
    return delimiter == ";"


def canonical_number(text: str, comma: bool) -> str | None:
    """A number as written in a spreadsheet, as plain text with a dot (``None`` if it is not a number).

    A trailing unit (``12 Pcs``), spaces, currency signs and thousands separators go; ``(3)`` and ``3-`` are
    negative.
    """
    value = _SPACES.sub("", _UNIT.sub("", text))
    value = _CURRENCY.sub("", value).removesuffix("/-")  # "450/-": rupees, as written on Indian price lists
    bracket = _BRACKETS.fullmatch(value)
    if bracket:
        value = "-" + bracket.group(1)
    elif value.endswith("-") and value[:-1] and value[-2:-1].isdigit():
        value = "-" + value[:-1]
    if comma:
        if _COMMA_GROUPED.fullmatch(value):
            return value.replace(".", "").replace(",", ".")
        if _COMMA_NUMBER.fullmatch(value):
            return value.replace(",", ".")
        return None
    if _DOT_NUMBER.fullmatch(value):
        return value.replace(",", "")
    return None


def parse_numbers(raw: pd.Series, comma: bool) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``(canonical text with a dot, float value, invalid mask)``; blank cells are NA and not invalid.

    Plain numbers (the bulk of any file) are recognised vectorised (Arrow); only the rest go through Python.
    """
    text = _trimmed(raw)
    plain = pc.fill_null(pc.ascii_is_decimal(text), False)  # digits only: the usual count, told without a regex
    if not _all(pc.or_(plain, pc.is_null(text))):
        plain = pc.fill_null(pc.match_substring_regex(text, f"^(?:{_PLAIN_COMMA if comma else _PLAIN_DOT})$"), False)
    canon_arrow = pc.if_else(plain, text, pa.scalar(None, text.type))
    if comma:
        canon_arrow = pc.replace_substring(canon_arrow, ",", ".")
    rest = pc.and_(pc.is_valid(text), pc.invert(plain))
    if _any(rest):
        canon = _series(canon_arrow, raw.index)
        mask = pd.Series(rest.to_numpy(zero_copy_only=False), index=raw.index)
        fixed = _series(text, raw.index)[mask].map(lambda v: canonical_number(v, comma)).astype("str")
        canon_arrow = _arrow(canon.mask(mask, fixed))
    try:
        value = pc.cast(canon_arrow, pa.float64())  # every non-null value is canonical by now: a fast cast
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        value = pa.chunked_array([pd.to_numeric(_series(canon_arrow, raw.index), errors="coerce").to_numpy()])
    values = pd.Series(value.to_numpy(zero_copy_only=False), index=raw.index, dtype="float64")
    invalid = pd.Series(pc.is_valid(text).to_numpy(zero_copy_only=False), index=raw.index) & values.isna()
    canon = _series(canon_arrow, raw.index)
    return (canon.where(~invalid) if invalid.any() else canon), values, invalid


@dataclass
class CleanRows:
    """Typed rows (one per data row, in file order) and every problem found without the database."""

    rows: pd.DataFrame
    problems: pd.DataFrame
    has_quantity: bool
    has_store: bool


def clean_rows(sheet: Sheet, mapping: Mapping) -> CleanRows:
    """Type and check every cell. Columns of ``rows``: line, sku, name, category, unit_price (text with two
    decimals' worth of digits, cast to DECIMAL by the database), reorder_level, quantity (Int64), vendor,
    active (boolean), store (text), bad (bool)."""
    frame = sheet.frame
    n = len(frame)
    lines = frame["line"].astype("int64")
    problems = ProblemList(lines)
    empty = pd.Series(pd.NA, index=frame.index, dtype="str")

    def col(name: str) -> pd.Series:
        return frame[mapping.columns[name]].astype("str") if name in mapping.columns else empty

    def said(name: str, before: str, after: str) -> Callable[[], pd.Series]:
        """A message quoting each row's cell, made only if a row needs it."""
        return lambda: before + col(name).str.strip() + after

    rows = pd.DataFrame({"line": lines})
    sku_too_long = pd.Series(False, index=frame.index)
    for name, limit in (("sku", SKU_MAX), ("name", NAME_MAX), ("category", CATEGORY_MAX), ("vendor", NAME_MAX)):
        text = _text(col(name))
        if name not in mapping.columns:
            rows[name] = text
            continue
        longest = pc.max(pc.utf8_length(_arrow(text))).as_py()
        if longest is None or longest <= limit:  # the usual case: no cell too long, no per-row lengths needed
            rows[name] = text
            continue
        length = text.str.len()
        too_long = length > limit
        problems.add(
            too_long,
            mapping.header(name),
            lambda name=name, limit=limit, length=length: (
                f"{LABELS[name]} must be at most {limit} characters (got " + length.astype("Int64").astype("str") + ")."
            ),
        )
        rows[name] = text.where(~too_long) if too_long.any() else text
        if name == "sku":
            sku_too_long = too_long.fillna(False).astype(bool)
    problems.add(rows["sku"].isna() & ~sku_too_long, mapping.header("sku"), "SKU is required.")
    rows["sku"], invisible = validate.screen_codes(rows["sku"], "sku")  # NFC; no zero-width characters
    problems.add(invisible.notna(), mapping.header("sku"), invisible)

    numeric = [n for n in ("unit_price", "reorder_level", "quantity") if n in mapping.columns]
    comma = decimal_comma([col(n) for n in numeric], sheet.delimiter)
    for name in ("unit_price", "reorder_level", "quantity"):
        if name not in mapping.columns:
            rows[name] = empty.copy() if name == "unit_price" else pd.Series(pd.NA, index=frame.index, dtype="Int64")
            continue
        canon, value, invalid = parse_numbers(col(name), comma)
        header = mapping.header(name)
        whole = name != "unit_price"
        kind = "a whole number" if whole else "a number"
        problems.add(invalid, header, said(name, f"{LABELS[name]} must be {kind} (got '", "')."))
        negative = ~invalid & (value < 0)
        problems.add(negative, header, said(name, f"{LABELS[name]} cannot be negative (got ", ")."))
        ok = ~invalid & ~negative & value.notna()
        if whole:
            fraction = ok & ~_whole(value)
            problems.add(fraction, header, said(name, f"{LABELS[name]} must be a whole number (got ", ")."))
            too_big = ok & ~fraction & (value > QTY_MAX)
            problems.add(too_big, header, said(name, f"{LABELS[name]} is too large (got ", ")."))
            good = ok & ~fraction & ~too_big
            rows[name] = value.where(good).round().astype("Int64")
        else:
            too_big = ok & (value > float(PRICE_MAX))
            problems.add(too_big, header, said(name, f"{LABELS[name]} is too large (got ", ")."))
            good = ok & ~too_big
            if any(_any(pc.match_substring(_arrow(canon), e)) for e in "eE"):  # plain search: faster than a regex
                exponent = canon.str.contains("[eE]", regex=True).fillna(False).astype(bool)
                canon = canon.mask(exponent, value[exponent].map(_price_text).astype("str"))
            canon = _without_noise(canon, value)
            rows[name] = canon.where(good) if not good.all() else canon

    if "active" not in mapping.columns:
        rows["active"] = pd.Series(pd.NA, index=frame.index, dtype="boolean")
    else:
        _active(rows, problems, mapping, col("active"))
    rows["store"] = _text(col("store")) if "store" in mapping.columns else empty.copy()

    has_store = "store" in mapping.columns
    _duplicates(rows, problems, mapping, has_store)
    if has_store:
        _disagreements(rows, problems, mapping)
    found = problems.frame()
    if sheet.bad_lines:
        # a row with cells past the header is misaligned: its other "problems" would only be noise
        ragged = pd.DataFrame(sheet.bad_lines, columns=["line", "message"]).assign(column=None)
        found = pd.concat([found[~found["line"].isin(ragged["line"])], ragged], ignore_index=True)
        problems.bad |= lines.isin(ragged["line"])
    rows["bad"] = problems.bad.to_numpy() if n else pd.Series(dtype=bool)
    return CleanRows(rows, found.sort_values("line", kind="stable"), "quantity" in mapping.columns, has_store)


SIGNIFICANT_DIGITS = 15  # what spreadsheet programs show and compute with: the digits past it are float noise
_NOISY = f"(?:[0-9][.]?){{{SIGNIFICANT_DIGITS + 1},}}"  # more digits than a spreadsheet has


def _whole(value: pd.Series) -> pd.Series:
    """Whether each number is whole once float noise is gone: a count computed by a formula arrives as
    ``12.000000000000002`` or ``2.9999999999999996`` while the sheet shows 12 and 3. A number within 15
    significant digits (or a billionth) of a whole number is that number; ``12.4`` is not whole."""
    nearest = value.round()
    return (value - nearest).abs() <= (nearest.abs() * 10.0 ** (1 - SIGNIFICANT_DIGITS)).clip(lower=1e-9)


def _without_noise(canon: pd.Series, value: pd.Series) -> pd.Series:
    """Price texts with more digits than a spreadsheet has, cut to its 15: ``4.6049999999999995`` is the ``4.605``
    the sheet shows, so 4.61 and not 4.60. The lengths tell at once when no text is long enough (the usual case)."""
    arrow = _arrow(canon)
    longest = pc.max(pc.utf8_length(arrow)).as_py()
    if not longest or longest <= SIGNIFICANT_DIGITS:
        return canon
    noisy = pc.fill_null(pc.match_substring_regex(arrow, _NOISY), False)
    if not _any(noisy):
        return canon
    mask = pd.Series(noisy.to_numpy(zero_copy_only=False), index=canon.index)
    return canon.mask(mask, value[mask].map(_price_text).astype("str"))


def _price_text(value: float) -> str:
    """A price cell's float as the database's decimal text: its 15 significant digits (rounded to cents later)."""
    return f"{float(f'{value:.{SIGNIFICANT_DIGITS}g}'):.6f}"


def _active(rows: pd.DataFrame, problems: ProblemList, mapping: Mapping, raw: pd.Series) -> None:
    """The active column: yes/no words, blank = not given."""
    index = rows.index
    active_raw = raw.str.strip().str.lower()
    active_given = active_raw.notna() & (active_raw != "")
    is_true, is_false = active_raw.isin(TRUE_WORDS), active_raw.isin(FALSE_WORDS)
    problems.add(
        active_given & ~is_true & ~is_false,
        mapping.header("active"),
        lambda: "Active must be yes or no (got '" + raw.str.strip() + "').",
    )
    rows["active"] = pd.Series(pd.NA, index=index, dtype="boolean").mask(is_true, True).mask(is_false, False)


LINES_LISTED = 5  # line numbers quoted in a message about lines that belong together (duplicates, clashes)


def _lines_of(keys: pd.Series, lines: pd.Series, mask: pd.Series) -> tuple[pd.Series, pd.Series]:
    """For each row in ``mask``: the first few lines sharing its key as text ("2, 5", or "2, 3, 4, 5, 6 and 995
    more") and how often the key occurs ("more than once", or "1,000 times" when not every line is quoted). Each key's text is made once and shared by its rows: the messages stay
    small however often a key repeats (listing every line on every line grows with the square of the lines)."""
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
    if not has_store and _all_distinct(pc.drop_null(_arrow(sku))):
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
