"""The shop's settings: currency and what staff may see; owner only, audited, validated."""

import pytest

from core.base.errors import PermissionDenied, ValidationError
from core.domain.settings import ShopSettings, may_see_values, set_shop_settings, shop_settings


def test_defaults__rupees_and_staff_see_values(db):
    assert shop_settings(db) == ShopSettings(currency="INR", staff_sees_values=True)


def test_owner_changes_them__audited_with_before_and_after(shop, owner, staff):
    assert set_shop_settings(shop, owner, currency="usd", staff_sees_values=False) == ShopSettings("USD", False)
    assert shop_settings(shop) == ShopSettings("USD", False)
    assert not may_see_values(shop_settings(shop), staff) and may_see_values(shop_settings(shop), owner)
    set_shop_settings(shop, owner, staff_sees_values=True)  # the currency stays
    assert shop_settings(shop) == ShopSettings("USD", True)
    with shop.reader() as tx:
        rows = tx.all("SELECT outcome, before, after FROM audit WHERE action = 'settings.update' ORDER BY id")
    assert [r[0] for r in rows] == ["ok", "ok"]
    assert '"INR"' in str(rows[0][1]) and '"USD"' in str(rows[0][2])


def test_unknown_currency_and_staff__refused_and_nothing_changes(shop, owner, staff):
    with pytest.raises(ValidationError, match="not a currency code"):
        set_shop_settings(shop, owner, currency="RUPEES")
    with pytest.raises(PermissionDenied):
        set_shop_settings(shop, staff, staff_sees_values=True)
    assert shop_settings(shop) == ShopSettings()
    with shop.reader() as tx:
        assert tx.scalar("SELECT count(*) FROM audit WHERE outcome = 'denied'") == 1
