"""Cells as columns: the Arrow helpers of the cleaning step, and numbers as spreadsheets write them.

``parse_numbers`` turns a column of number cells into canonical text with a dot, float values and an invalid
mask, vectorised (plain numbers, the bulk of any file, never go through Python). Numbers may carry thousands
separators (``1,234.50``), a trailing unit (``12 Pcs``), currency signs, ``(3)`` or ``3-`` for negatives and, in
semicolon files or where the file shows it (``2,75``, ``1.234,50``), a decimal comma (``decimal_comma``). Float
noise past a spreadsheet's 15 significant digits is removed (``whole``, ``without_noise``).
"""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
SIGNIFICANT_DIGITS = 15  # what spreadsheet programs show and compute with: the digits past it are float noise
_NOISY = f"(?:[0-9][.]?){{{SIGNIFICANT_DIGITS + 1},}}"  # more digits than a spreadsheet has


def arrow(raw: pd.Series) -> pa.ChunkedArray:
    """The cells as an Arrow string array (zero-copy for the reader's ``str`` columns)."""
    if hasattr(raw.array, "__arrow_array__"):
        array = raw.array.__arrow_array__()
        return array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])
    return pa.chunked_array([pa.array(raw.astype(object), type=pa.large_string(), from_pandas=True)])


def series(array: pa.ChunkedArray, index: pd.Index) -> pd.Series:
    return pd.Series(array, index=index, dtype="str")


def mask_of(array: pa.ChunkedArray, index: pd.Index) -> pd.Series:
    """An Arrow boolean array (without nulls) as a pandas mask."""
    return pd.Series(array.to_numpy(zero_copy_only=False), index=index)


def trimmed(raw: pd.Series) -> pa.ChunkedArray:
    """Trimmed cells; blank -> null."""
    return blank_to_null(pc.utf8_trim_whitespace(arrow(raw)))


def blank_to_null(text: pa.ChunkedArray) -> pa.ChunkedArray:
    blank = pc.equal(text, "")
    return pc.if_else(blank, pa.scalar(None, text.type), text) if any_of(blank) else text


def any_of(mask: pa.ChunkedArray) -> bool:
    return bool(pc.any(mask).as_py())


def all_of(mask: pa.ChunkedArray) -> bool:
    return bool(pc.all(mask).as_py())


def decimal_comma(values: list[pd.Series], delimiter: str | None) -> bool:
    """Whether the file writes decimals with a comma: told by the numbers themselves, else by a ``;`` delimiter."""
    with_comma = [v for v in values if any_of(pc.match_substring(arrow(v), ","))]
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
    text = trimmed(raw)
    plain = pc.fill_null(pc.ascii_is_decimal(text), False)  # digits only: the usual count, told without a regex
    if not all_of(pc.or_(plain, pc.is_null(text))):
        plain = pc.fill_null(pc.match_substring_regex(text, f"^(?:{_PLAIN_COMMA if comma else _PLAIN_DOT})$"), False)
    canon_arrow = pc.if_else(plain, text, pa.scalar(None, text.type))
    if comma:
        canon_arrow = pc.replace_substring(canon_arrow, ",", ".")
    rest = pc.and_(pc.is_valid(text), pc.invert(plain))
    if any_of(rest):
        canon = series(canon_arrow, raw.index)
        mask = mask_of(rest, raw.index)
        fixed = series(text, raw.index)[mask].map(lambda v: canonical_number(v, comma)).astype("str")
        canon_arrow = arrow(canon.mask(mask, fixed))
    try:
        value = pc.cast(canon_arrow, pa.float64())  # every non-null value is canonical by now: a fast cast
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        value = pa.chunked_array([pd.to_numeric(series(canon_arrow, raw.index), errors="coerce").to_numpy()])
    values = pd.Series(value.to_numpy(zero_copy_only=False), index=raw.index, dtype="float64")
    invalid = mask_of(pc.is_valid(text), raw.index) & values.isna()
    canon = series(canon_arrow, raw.index)
    return (canon.where(~invalid) if invalid.any() else canon), values, invalid


def whole(value: pd.Series) -> pd.Series:
    """Whether each number is whole once float noise is gone: a count computed by a formula arrives as
    ``12.000000000000002`` or ``2.9999999999999996`` while the sheet shows 12 and 3. A number within 15
    significant digits (or a billionth) of a whole number is that number; ``12.4`` is not whole."""
    nearest = value.round()
    return (value - nearest).abs() <= (nearest.abs() * 10.0 ** (1 - SIGNIFICANT_DIGITS)).clip(lower=1e-9)


def price_texts(canon: pd.Series, value: pd.Series) -> pd.Series:
    """Price texts as the database's decimal text: an exponent written out (``1.5e3``), and more digits than a
    spreadsheet has cut to its 15 (``4.6049999999999995`` is the ``4.605`` the sheet shows, so 4.61 and not 4.60).
    Plain searches tell at once when no text needs it (the usual case)."""
    if any(any_of(pc.match_substring(arrow(canon), e)) for e in "eE"):  # plain search: faster than a regex
        exponent = canon.str.contains("[eE]", regex=True).fillna(False).astype(bool)
        canon = canon.mask(exponent, value[exponent].map(price_text).astype("str"))
    text = arrow(canon)
    longest = pc.max(pc.utf8_length(text)).as_py()
    if not longest or longest <= SIGNIFICANT_DIGITS:
        return canon
    noisy = pc.fill_null(pc.match_substring_regex(text, _NOISY), False)
    if not any_of(noisy):
        return canon
    mask = mask_of(noisy, canon.index)
    return canon.mask(mask, value[mask].map(price_text).astype("str"))


def price_text(value: float) -> str:
    """A price cell's float as the database's decimal text: its 15 significant digits (rounded to cents later)."""
    return f"{float(f'{value:.{SIGNIFICANT_DIGITS}g}'):.6f}"
