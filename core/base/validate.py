"""Field rules shared by forms, the grid, the CLI and imports: one spelling of each limit.

Each ``clean_*`` returns the cleaned value or raises ``ValidationError`` naming the field; ``collect`` runs
several and reports every problem at once.

Codes (SKUs, store codes) are compared as exact text, so they are normalised (Unicode NFC, trimmed) and may not
hold invisible characters (Unicode categories Cc, Cf, Zl, Zp: zero-width spaces and joiners, the byte-order mark,
soft hyphens, control characters, line separators): ``Z\u200bZ`` would otherwise be a second product beside ``ZZ``
that nobody can tell apart. Whole numbers written as text are plain digits (``1_000``, ``1e3`` or Arabic-Indic
digits are refused, though Python's ``int`` and ``Decimal`` accept them).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from core.base.errors import FieldError, ValidationError

SKU_MAX, NAME_MAX, CATEGORY_MAX, STORE_CODE_MAX = 64, 100, 50, 16
PRICE_MAX = Decimal("9999999999.99")
QTY_MAX = 1_000_000_000
OP_ID_MAX = 100
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
INVISIBLE_RE2 = r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]"  # the same characters, for pyarrow's (RE2) vectorised checks
_PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)", re.ASCII)
LABELS = {
    "sku": "SKU",
    "name": "Name",
    "category": "Category",
    "unit_price": "Unit price",
    "reorder_level": "Reorder level",
    "quantity": "Quantity",
    "code": "Store code",
    "vendor": "Vendor",
    "reason": "Reason",
    "email": "Email",
    "password": "Password",
}


def _fail(field: str, message: str) -> ValidationError:
    return ValidationError.single(field, message)


def clean_text(field: str, value: Any, max_len: int, *, required: bool = True) -> str | None:
    text = "" if value is None else str(value).strip()
    label = LABELS.get(field, field)
    if not text:
        if required:
            raise _fail(field, f"{label} is required.")
        return None
    if len(text) > max_len:
        raise _fail(field, f"{label} must be at most {max_len} characters (got {len(text)}).")
    return text


def invisible_character(text: str) -> str | None:
    """The first invisible character of ``text``, described (``U+200B ZERO WIDTH SPACE``), or ``None``."""
    for char in text:
        if unicodedata.category(char) in INVISIBLE_CATEGORIES:
            return f"U+{ord(char):04X} {unicodedata.name(char, 'control character')}"
    return None


def clean_code(field: str, value: Any, max_len: int) -> str:
    """A code compared as exact text (a SKU, a store code): NFC, trimmed, required, no invisible characters."""
    text = clean_text(field, None if value is None else unicodedata.normalize("NFC", str(value)), max_len)
    found = invisible_character(str(text))
    if found:
        label = LABELS.get(field, field)
        raise _fail(field, f"{label} {text!r} contains an invisible character ({found}); type it again without it.")
    return str(text)


def screen_codes(text: Any, field: str) -> tuple[Any, Any]:
    """``clean_code`` for a whole column at once (imports): ``(text as NFC, a message per row)`` where the message is
    NA unless the cell holds an invisible character. ``text`` is a pandas Series of strings (NA for blank)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    arrow = getattr(text.array, "__arrow_array__", None)  # the import's str columns: no copy
    cells = arrow() if arrow else pa.array(text.astype(object), type=pa.large_string(), from_pandas=True)
    none = pd.Series(pd.NA, index=text.index, dtype="str")
    if pc.all(pc.fill_null(pc.ascii_is_printable(cells), True)).as_py():  # the usual case: plain ASCII
        return text, none
    normal = pc.utf8_normalize(cells, form="NFC")
    flagged = pc.fill_null(pc.match_substring_regex(normal, INVISIBLE_RE2), False).to_numpy(zero_copy_only=False)
    out = pd.Series(normal, index=text.index, dtype="str")
    if not flagged.any():
        return out, none

    def message(cell: str) -> str:
        try:
            clean_code(field, cell, 10**9)
        except ValidationError as exc:
            return exc.message
        return ""  # pragma: no cover - flagged cells always fail

    return out, none.mask(flagged, out[flagged].map(message))


def clean_sku(value: Any) -> str:
    return clean_code("sku", value, SKU_MAX)


def clean_store_code(value: Any) -> str:
    return clean_code("code", value, STORE_CODE_MAX).upper()


def clean_op_id(value: Any) -> str | None:
    """A client operation id (a repeat of one is applied once): ``None`` (also for ``""``: no id), or up to 100
    characters."""
    if value is None or value == "":
        return None
    text = str(value)
    if len(text) > OP_ID_MAX:
        raise _fail(
            "client_op_id", f"An operation id must be 1 to {OP_ID_MAX} characters long (this one has {len(text)})."
        )
    return text


def clean_price(value: Any, field: str = "unit_price") -> Decimal:
    label = LABELS.get(field, field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _fail(field, f"{label} is required.")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _fail(field, f"{label} must be a number (got {value!r}).") from None
    if not number.is_finite():
        raise _fail(field, f"{label} must be a number (got {value!r}).")
    if number < 0:
        raise _fail(field, f"{label} cannot be negative (got {value}).")
    number = number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if number > PRICE_MAX:
        raise _fail(field, f"{label} is too large (got {value}).")
    return number


def clean_int(value: Any, field: str, *, minimum: int = 0, maximum: int = QTY_MAX) -> int:
    label = LABELS.get(field, field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _fail(field, f"{label} is required.")
    if isinstance(value, bool) or (isinstance(value, str) and not _PLAIN_NUMBER.fullmatch(value.strip())):
        raise _fail(field, f"{label} must be a whole number written with the digits 0-9 (got {value!r}).")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _fail(field, f"{label} must be a whole number (got {value!r}).") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise _fail(field, f"{label} must be a whole number (got {value!r}).")
    result = int(number)
    if result < minimum:
        what = "at least 1" if minimum == 1 else f"at least {minimum}"
        if minimum == 0:
            raise _fail(field, f"{label} cannot be negative (got {result}).")
        raise _fail(field, f"{label} must be {what} (got {result}).")
    if result > maximum:
        raise _fail(field, f"{label} is too large (got {result}).")
    return result


def clean_quantity(value: Any, field: str = "quantity") -> int:
    """A quantity moved by an operation: a whole number of at least 1."""
    return clean_int(value, field, minimum=1)


def collect(checks: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run every check; return the cleaned values or raise one ``ValidationError`` listing every problem."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, check in checks.items():
        try:
            values[name] = check()
        except ValidationError as exc:
            errors.extend(exc.errors or [FieldError(name, exc.message)])
    if errors:
        raise ValidationError(errors=errors)
    return values
