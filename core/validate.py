"""Field rules shared by forms, the grid, the CLI and imports: one spelling of each limit.

Each ``clean_*`` returns the cleaned value or raises ``ValidationError`` naming the field; ``collect`` runs
several and reports every problem at once.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from core.errors import FieldError, ValidationError

SKU_MAX, NAME_MAX, CATEGORY_MAX, STORE_CODE_MAX = 64, 100, 50, 16
PRICE_MAX = Decimal("9999999999.99")
QTY_MAX = 1_000_000_000
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


def clean_sku(value: Any) -> str:
    return clean_text("sku", value, SKU_MAX)  # type: ignore[return-value]


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
    if isinstance(value, bool):
        raise _fail(field, f"{label} must be a whole number (got {value!r}).")
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
