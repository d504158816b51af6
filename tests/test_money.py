"""Money as a person reads it: symbol and Indian grouping by default, a compact form for tiles."""

import pytest

from core.base.money import currency_symbol, format_money, format_money_compact, is_known_currency


@pytest.mark.parametrize(
    ("value", "full", "short"),
    [
        (0, "₹0.00", "₹0.00"),
        ("950.50", "₹950.50", "₹950.50"),
        (1304590, "₹13,04,590.00", "₹13.0 L"),
        (13045900, "₹1,30,45,900.00", "₹1.3 Cr"),
        (-1304590, "-₹13,04,590.00", "-₹13.0 L"),
        (None, "₹0.00", "₹0.00"),
        (1234, "₹1,234.00", "₹1.2K"),
        (120_000_000_000, "₹1,20,00,00,00,000.00", "₹12,000.0 Cr"),  # crores group on, no "K.0 Cr"
    ],
)
def test_rupees__lakh_grouping_and_a_compact_form(value, full, short):
    assert format_money(value) == full
    assert format_money_compact(value) == short


def test_other_currencies__their_own_symbol_and_grouping():
    assert format_money(1304590.5, "USD", locale="en_US") == "$1,304,590.50"
    assert format_money_compact(1304590, "USD", locale="en_US") == "$1.3M"
    assert currency_symbol("INR") == "₹"


def test_known_currencies():
    assert is_known_currency("INR") and is_known_currency("usd")
    assert not is_known_currency("XYZ") and not is_known_currency("")
