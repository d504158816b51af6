"""Stores, vendors and the versioned product catalog on a fresh temporary database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.base.errors import ConflictError, NotFound, ValidationError
from core.base.permissions import SYSTEM
from core.domain.catalog import (
    add_store,
    add_vendor,
    categories,
    create_product,
    deactivate_product,
    get_product,
    list_stores,
    list_vendors,
    update_product,
    update_store,
    update_vendor,
)


def _audit(db, action, outcome="ok"):
    with db.reader() as tx:
        return tx.dicts("SELECT * FROM audit WHERE action = $1 AND outcome = $2 ORDER BY id", [action, outcome])


def _count(db, table):
    with db.reader() as tx:
        return tx.scalar(f"SELECT count(*) FROM {table}")


# ---- stores -----------------------------------------------------------------------------------------------


def test_add_store__creates_it_and_audits(db):
    row = add_store(db, SYSTEM, "  S9 ", "Corner Shop")
    assert (row["code"], row["name"], row["active"], row["version"]) == ("S9", "Corner Shop", True, 1)
    assert [s["code"] for s in list_stores(db)] == ["S9"]
    assert len(_audit(db, "store.add")) == 1


def test_add_store__duplicate_code_is_refused_case_insensitively(db):
    add_store(db, SYSTEM, "S1", "One")
    with pytest.raises(ValidationError, match="already exists"):
        add_store(db, SYSTEM, "s1", "Other")
    assert _count(db, "stores") == 1


def test_add_store__bad_fields_are_all_reported_and_nothing_written(db):
    with pytest.raises(ValidationError) as err:
        add_store(db, SYSTEM, "", "x" * 101)
    assert {e.field for e in err.value.errors} == {"code", "name"}
    with pytest.raises(ValidationError, match="at most 16"):
        add_store(db, SYSTEM, "X" * 17, "Too long")
    assert _count(db, "stores") == 0


def test_update_store__renames_deactivates_and_bumps_version(db):
    add_store(db, SYSTEM, "S1", "One")
    row = update_store(db, SYSTEM, "S1", name="First")
    assert (row["name"], row["version"]) == ("First", 2)
    row = update_store(db, SYSTEM, "s1", active=False)
    assert (row["active"], row["version"]) == (False, 3)
    assert list_stores(db) == []
    assert [s["code"] for s in list_stores(db, include_inactive=True)] == ["S1"]


def test_update_store__unknown_code_is_not_found(db):
    with pytest.raises(NotFound, match="no store"):
        update_store(db, SYSTEM, "NOPE", name="x")


def test_list_stores__staff_see_only_their_stores(shop, staff, owner):
    assert [s["code"] for s in list_stores(shop, owner)] == ["S1", "S2"]
    assert [s["code"] for s in list_stores(shop, staff)] == ["S1"]


# ---- vendors ----------------------------------------------------------------------------------------------


def test_add_vendor__creates_and_refuses_duplicate(db):
    add_vendor(db, SYSTEM, "Amul", "+91 1234")
    with pytest.raises(ValidationError, match="already exists"):
        add_vendor(db, SYSTEM, "AMUL")
    assert [(v["name"], v["contact"]) for v in list_vendors(db)] == [("Amul", "+91 1234")]


def test_update_vendor__changes_contact_and_active(db):
    add_vendor(db, SYSTEM, "Amul")
    update_vendor(db, SYSTEM, "amul", contact="desk@amul.test")
    update_vendor(db, SYSTEM, "Amul", active=False)
    assert list_vendors(db) == []
    (row,) = list_vendors(db, include_inactive=True)
    assert (row["contact"], row["active"]) == ("desk@amul.test", False)


def test_update_vendor__blank_contact_clears_it_and_none_keeps_it(db):
    add_vendor(db, SYSTEM, "Amul", "98450 12345")
    assert update_vendor(db, SYSTEM, "Amul", active=False)["contact"] == "98450 12345"
    assert update_vendor(db, SYSTEM, "Amul", contact="  ")["contact"] is None


def test_update_vendor__unknown_is_not_found(db):
    with pytest.raises(NotFound, match="no vendor"):
        update_vendor(db, SYSTEM, "Ghost", contact="x")


# ---- products: create ---------------------------------------------------------------------------------------


def test_create_product__stores_cleaned_values_at_version_1(db):
    row = create_product(db, SYSTEM, "  TEA-250 ", " Assam Tea ", "Beverages", "120.456", None, vendor="Tata")
    assert row["sku"] == "TEA-250"
    assert row["name"] == "Assam Tea"
    assert row["unit_price"] == Decimal("120.46")
    assert row["reorder_level"] == 10  # the default
    assert row["vendor"] == "Tata"
    assert (row["active"], row["version"]) == (True, 1)
    assert [v["name"] for v in list_vendors(db)] == ["Tata"]  # a new vendor name is created
    assert len(_audit(db, "product.create")) == 1


def test_create_product__reuses_an_existing_vendor_case_insensitively(db):
    add_vendor(db, SYSTEM, "Amul")
    create_product(db, SYSTEM, "MILK", "Milk", "Dairy", "50", vendor="AMUL")
    assert [v["name"] for v in list_vendors(db)] == ["Amul"]


def test_create_product__duplicate_sku_is_refused(db):
    create_product(db, SYSTEM, "A1", "Thing", "Misc", "1")
    with pytest.raises(ValidationError, match="already exists"):
        create_product(db, SYSTEM, "A1", "Other", "Misc", "2")
    assert get_product(db, "A1")["name"] == "Thing"


def test_create_product__every_bad_field_is_reported_at_once(db):
    with pytest.raises(ValidationError) as err:
        create_product(db, SYSTEM, "", "", "c" * 51, "-1", "-2")
    fields = {e.field for e in err.value.errors}
    assert fields == {"sku", "name", "category", "unit_price", "reorder_level"}
    assert _count(db, "products") == 0


@pytest.mark.parametrize(
    ("price", "message"),
    [("abc", "must be a number"), ("-0.01", "cannot be negative"), ("NaN", "must be a number"), ("", "required")],
)
def test_create_product__bad_price_is_refused_with_a_sentence(db, price, message):
    with pytest.raises(ValidationError, match=message):
        create_product(db, SYSTEM, "X", "X", "X", price)


def test_create_product__sku_over_64_characters_is_refused(db):
    with pytest.raises(ValidationError, match="at most 64"):
        create_product(db, SYSTEM, "S" * 65, "X", "X", "1")
    create_product(db, SYSTEM, "S" * 64, "X", "X", "1")


def test_categories__lists_distinct_active_categories(shop):
    assert categories(shop) == ["Dairy", "Personal care", "Staples"]


def test_get_product__unknown_sku_is_not_found(db):
    with pytest.raises(NotFound, match="no product"):
        get_product(db, "NOPE")


# ---- products: versioned updates ------------------------------------------------------------------------------


def test_update_product__accepted_change_bumps_version_by_exactly_one(shop):
    before = get_product(shop, "RICE-5KG")
    after = update_product(shop, SYSTEM, "RICE-5KG", before["version"], unit_price="460", name="Rice 5 kg")
    assert after["version"] == before["version"] + 1
    assert (after["unit_price"], after["name"]) == (Decimal("460.00"), "Rice 5 kg")
    assert after["updated_by"] == "cli"
    (row,) = _audit(shop, "product.update")
    assert '"460.00"' in row["after"] and '"450.00"' in row["before"]


def test_update_product__stale_version_is_a_conflict_carrying_the_current_row(shop):
    v1 = get_product(shop, "MILK-1L")["version"]
    update_product(shop, SYSTEM, "MILK-1L", v1, unit_price="57")
    with pytest.raises(ConflictError) as err:
        update_product(shop, SYSTEM, "MILK-1L", v1, unit_price="99")
    assert err.value.current["unit_price"] == Decimal("57.00")
    assert err.value.current["version"] == v1 + 1
    assert err.value.current["updated_by"] == "cli"
    assert "nothing was saved" in str(err.value)
    row = get_product(shop, "MILK-1L")
    assert (row["unit_price"], row["version"]) == (Decimal("57.00"), v1 + 1)
    assert len(_audit(shop, "product.update", "conflict")) == 1


def test_update_product__no_op_update_bumps_nothing(shop):
    before = get_product(shop, "SOAP-100")
    after = update_product(
        shop, SYSTEM, "SOAP-100", before["version"], unit_price="35.5", name="Neem Soap 100 g", reorder_level="10"
    )
    assert after["version"] == before["version"]
    assert after["updated_at"] == before["updated_at"]
    assert _audit(shop, "product.update") == []


def test_update_product__every_field_once_counts_one_version_each(shop):
    version = get_product(shop, "SOAP-100")["version"]
    changes = [
        {"name": "Soap"},
        {"category": "Bath"},
        {"unit_price": "36"},
        {"reorder_level": 3},
        {"vendor": "Godrej"},
        {"vendor": None},
        {"active": False},
    ]
    for change in changes:
        row = update_product(shop, SYSTEM, "SOAP-100", version, **change)
        assert row["version"] == version + 1, change
        version = row["version"]
    assert (row["name"], row["category"], row["unit_price"], row["reorder_level"]) == (
        "Soap",
        "Bath",
        Decimal("36.00"),
        3,
    )
    assert (row["vendor"], row["active"]) == (None, False)


def test_update_product__unknown_field_is_refused(shop):
    with pytest.raises(ValidationError, match="cannot be changed: quantity, version"):
        update_product(shop, SYSTEM, "SOAP-100", 1, version=9, quantity=5)


def test_update_product__invalid_value_writes_nothing(shop):
    before = get_product(shop, "SOAP-100")
    with pytest.raises(ValidationError, match="cannot be negative"):
        update_product(shop, SYSTEM, "SOAP-100", before["version"], unit_price="-3")
    assert get_product(shop, "SOAP-100") == before


def test_update_product__unknown_sku_is_not_found(shop):
    with pytest.raises(NotFound):
        update_product(shop, SYSTEM, "NOPE", 1, name="x")


def test_update_product__without_version_last_writer_wins(shop):
    update_product(shop, SYSTEM, "SOAP-100", None, name="A")
    row = update_product(shop, SYSTEM, "SOAP-100", None, name="B")
    assert (row["name"], row["version"]) == ("B", 3)


def test_deactivate_product__hides_it_and_bumps_version(shop):
    row = deactivate_product(shop, SYSTEM, "SOAP-100", 1)
    assert (row["active"], row["version"]) == (False, 2)
    assert "Personal care" not in categories(shop)
    # deactivating again is a no-op, not a second version
    assert deactivate_product(shop, SYSTEM, "SOAP-100", 2)["version"] == 2


def test_deactivate_product__stale_version_is_a_conflict(shop):
    update_product(shop, SYSTEM, "SOAP-100", 1, name="Soap")
    with pytest.raises(ConflictError):
        deactivate_product(shop, SYSTEM, "SOAP-100", 1)
    assert get_product(shop, "SOAP-100")["active"] is True


def test_add_store__code_is_kept_in_capitals(db):
    assert add_store(db, SYSTEM, "blr01", "Jayanagar")["code"] == "BLR01"
