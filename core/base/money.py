"""Money as a person reads it: the shop's currency, its symbol and grouping from babel (``₹13,04,590.00``), and a
compact form for tiles where space is short (``₹13.0 L``; show the full figure on hover).

The currency is a shop setting (ISO 4217 code, default ``INR``); numbers group the Indian way (lakh, crore) by
default, the locale the Hindi work makes a setting too.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_compact_currency, format_currency, format_decimal, get_currency_symbol, is_currency

DEFAULT_CURRENCY = "INR"
DEFAULT_LOCALE = "en_IN"


def is_known_currency(code: str) -> bool:
    """True for an ISO 4217 code babel knows (``INR``, ``USD``, ...)."""
    return bool(code) and is_currency(code.upper(), DEFAULT_LOCALE)


def _amount(value: Any) -> Decimal:
    try:
        return Decimal(str(value if value is not None else 0))
    except InvalidOperation:
        return Decimal(0)


def format_money(value: Any, currency: str = DEFAULT_CURRENCY, *, locale: str = DEFAULT_LOCALE) -> str:
    """The full figure with symbol and grouping: ``format_money(1304590) == "₹13,04,590.00"``."""
    return format_currency(_amount(value), currency, locale=locale)


def format_money_compact(value: Any, currency: str = DEFAULT_CURRENCY, *, locale: str = DEFAULT_LOCALE) -> str:
    """A short figure for a tile: ``₹13.0 L``, ``₹2.5 Cr``, ``₹1,20,000.0 Cr``, ``$1.3M``; amounts under a thousand
    stay whole (``₹950.50``). Indian grouping counts lakhs (10^5) and crores (10^7); crores group on."""
    amount = _amount(value)
    if abs(amount) < 1000:
        return format_money(amount, currency, locale=locale)
    if locale != DEFAULT_LOCALE:
        return format_compact_currency(amount, currency, locale=locale, fraction_digits=1)
    symbol = currency_symbol(currency, locale=locale)
    sign = "-" if amount < 0 else ""
    for scale, suffix in ((Decimal(10) ** 7, " Cr"), (Decimal(10) ** 5, " L"), (Decimal(10) ** 3, "K")):
        if abs(amount) >= scale:
            number = format_decimal(abs(amount) / scale, format="#,##,##0.0", locale=locale)
            return f"{sign}{symbol}{number}{suffix}"
    raise AssertionError("unreachable: amounts under a thousand returned above")


def currency_symbol(currency: str = DEFAULT_CURRENCY, *, locale: str = DEFAULT_LOCALE) -> str:
    """``₹`` for INR: for column headers ("Value (₹)")."""
    return get_currency_symbol(currency, locale=locale)
