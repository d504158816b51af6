"""The stock ledger: counts, stock-in, sales, removals and transfers on a fresh temporary database."""

from __future__ import annotations

import pytest

from core.base.errors import ConflictError, InsufficientStock, NotFound, ValidationError
from core.base.permissions import SYSTEM
from core.domain.catalog import add_store, deactivate_product, update_store
from core.domain.check import check
from core.domain.stock import get_stock, recent_movements, record_removal, record_sale, set_count, stock_in, transfer
from tests.conftest import table_rows


def qty(db, store, sku):
    return get_stock(db, SYSTEM, store, sku)["quantity"]


def movements(db):
    with db.reader() as tx:
        return tx.dicts(
            "SELECT s.code AS store, p.sku, m.kind, m.delta, m.quantity_after, m.reason, m.vendor_id, m.actor"
            " FROM movements m JOIN stores s ON s.id = m.store_id JOIN products p ON p.id = m.product_id"
            " ORDER BY m.id"
        )


def table_state(db):
    with db.reader() as tx:
        return {
            t: table_rows(tx, t)
            for t in ("stock", "movements", "orders", "order_lines", "operations", "products", "vendors")
        }


# ---- set_count ----------------------------------------------------------------------------------------------


def test_set_count__writes_an_adjustment_with_the_delta(shop):
    result = set_count(shop, SYSTEM, "S1", "RICE-5KG", 25)
    (moved,) = result["movements"]
    assert (moved["kind"], moved["delta"], moved["quantity_after"]) == ("adjustment", -5, 25)
    assert qty(shop, "S1", "RICE-5KG") == 25
    set_count(shop, SYSTEM, "S1", "RICE-5KG", 40)
    assert qty(shop, "S1", "RICE-5KG") == 40  # sets, never adds
    assert [m["delta"] for m in movements(shop) if m["kind"] == "adjustment"] == [-5, 15]


def test_set_count__equal_count_writes_nothing(shop):
    before = table_state(shop)
    assert set_count(shop, SYSTEM, "S1", "SOAP-100", 8)["movements"] == []
    assert table_state(shop) == before


def test_set_count__in_a_store_without_stock_creates_the_row(shop):
    set_count(shop, SYSTEM, "S2", "MILK-1L", 7)
    assert get_stock(shop, SYSTEM, "S2", "MILK-1L")["version"] == 2
    assert qty(shop, "S2", "MILK-1L") == 7


def test_set_count__to_zero_is_allowed_and_negative_is_refused(shop):
    set_count(shop, SYSTEM, "S1", "SOAP-100", 0)
    assert qty(shop, "S1", "SOAP-100") == 0
    with pytest.raises(ValidationError, match="cannot be negative"):
        set_count(shop, SYSTEM, "S1", "SOAP-100", -1)


def test_set_count__stale_version_is_a_conflict_and_writes_nothing(shop):
    version = get_stock(shop, SYSTEM, "S1", "MILK-1L")["version"]
    set_count(shop, SYSTEM, "S1", "MILK-1L", 90, expected_version=version)
    before = table_state(shop)
    with pytest.raises(ConflictError) as err:
        set_count(shop, SYSTEM, "S1", "MILK-1L", 80, expected_version=version)
    assert err.value.current["quantity"] == 90
    assert err.value.current["version"] == version + 1
    assert table_state(shop) == before


@pytest.mark.parametrize("bad", ["abc", "1.5", "", None, True])
def test_set_count__not_a_whole_number_is_refused(shop, bad):
    with pytest.raises(ValidationError, match="Quantity"):
        set_count(shop, SYSTEM, "S1", "SOAP-100", bad)


# ---- stock_in -------------------------------------------------------------------------------------------------


def test_stock_in__adds_and_records_the_vendor(shop):
    result = stock_in(shop, SYSTEM, "S1", "MILK-1L", 12, vendor="amul", reason="morning delivery")
    assert result["movements"][0]["quantity_after"] == 112
    last = movements(shop)[-1]
    assert (last["kind"], last["delta"], last["reason"]) == ("stock_in", 12, "morning delivery")
    with shop.reader() as tx:
        assert tx.scalar("SELECT name FROM vendors WHERE id = $1", [last["vendor_id"]]) == "Amul"


def test_stock_in__unknown_vendor_is_not_found_and_writes_nothing(shop):
    before = table_state(shop)
    with pytest.raises(NotFound, match="no vendor"):
        stock_in(shop, SYSTEM, "S1", "MILK-1L", 12, vendor="Nobody")
    assert table_state(shop) == before


@pytest.mark.parametrize("bad", [0, -3, "x"])
def test_stock_in__quantity_must_be_at_least_one(shop, bad):
    with pytest.raises(ValidationError, match="Quantity"):
        stock_in(shop, SYSTEM, "S1", "MILK-1L", bad)


def test_stock_in__unknown_store_or_sku_is_not_found(shop):
    with pytest.raises(NotFound, match="no store"):
        stock_in(shop, SYSTEM, "S9", "MILK-1L", 1)
    with pytest.raises(NotFound, match="no product"):
        stock_in(shop, SYSTEM, "S1", "NOPE", 1)


def test_stock_in__deactivated_product_or_store_is_refused(shop):
    deactivate_product(shop, SYSTEM, "SOAP-100")
    with pytest.raises(ValidationError, match="deactivated"):
        stock_in(shop, SYSTEM, "S1", "SOAP-100", 1)
    update_store(shop, SYSTEM, "S2", active=False)
    with pytest.raises(ValidationError, match="deactivated"):
        stock_in(shop, SYSTEM, "S2", "MILK-1L", 1)


# ---- sale ---------------------------------------------------------------------------------------------------


def test_sale__several_lines_reduce_each_product(shop):
    result = record_sale(shop, SYSTEM, "S1", [("RICE-5KG", 2), {"sku": "MILK-1L", "quantity": "10"}])
    assert [(m["sku"], m["delta"], m["quantity_after"]) for m in result["movements"]] == [
        ("RICE-5KG", -2, 28),
        ("MILK-1L", -10, 90),
    ]
    assert check(shop)["ok"]


def test_sale__more_than_available_is_refused_naming_what_is_available(shop):
    with pytest.raises(InsufficientStock) as err:
        record_sale(shop, SYSTEM, "S1", [("SOAP-100", 9)])
    assert str(err.value) == "Not enough stock of SOAP-100 in store S1: 9 requested, 8 available."
    assert (err.value.available, err.value.requested) == (8, 9)


def test_sale__is_all_or_nothing_when_a_later_line_fails(shop):
    before = table_state(shop)
    with pytest.raises(InsufficientStock, match="SOAP-100"):
        record_sale(shop, SYSTEM, "S1", [("RICE-5KG", 1), ("MILK-1L", 1), ("SOAP-100", 50)])
    assert table_state(shop) == before


def test_sale__in_a_store_that_never_had_the_product_names_zero_available(shop):
    with pytest.raises(InsufficientStock, match="0 available"):
        record_sale(shop, SYSTEM, "S2", [("RICE-5KG", 1)])
    with shop.reader() as tx:
        assert tx.scalar("SELECT count(*) FROM stock s JOIN stores st ON st.id = s.store_id WHERE code = 'S2'") == 0


def test_sale__exactly_all_stock_leaves_zero(shop):
    record_sale(shop, SYSTEM, "S1", [("SOAP-100", 8)])
    assert qty(shop, "S1", "SOAP-100") == 0


def test_sale__bad_lines_are_all_reported_with_line_numbers(shop):
    with pytest.raises(ValidationError) as err:
        record_sale(shop, SYSTEM, "S1", [("RICE-5KG", 0), ("", 1), ("MILK-1L", 1), ("MILK-1L", 2)])
    messages = [e.message for e in err.value.errors]
    assert [e.line for e in err.value.errors] == [1, 2, 4]
    assert messages[0].startswith("Line 1:") and "more than once" in messages[2]


def test_sale__no_lines_is_refused(shop):
    with pytest.raises(ValidationError, match="at least one line"):
        record_sale(shop, SYSTEM, "S1", [])


def test_sale__deactivated_product_is_refused_and_nothing_written(shop):
    deactivate_product(shop, SYSTEM, "SOAP-100")
    before = table_state(shop)
    with pytest.raises(ValidationError, match="deactivated"):
        record_sale(shop, SYSTEM, "S1", [("RICE-5KG", 1), ("SOAP-100", 1)])
    assert table_state(shop) == before


# ---- removal --------------------------------------------------------------------------------------------------


def test_removal__requires_a_reason(shop):
    before = table_state(shop)
    for reason in ("", "   ", None):
        with pytest.raises(ValidationError, match="Reason is required"):
            record_removal(shop, SYSTEM, "S1", "MILK-1L", 1, reason)
    assert table_state(shop) == before


def test_removal__records_reason_and_note(shop):
    record_removal(shop, SYSTEM, "S1", "MILK-1L", 3, "expired", note="batch 7")
    last = movements(shop)[-1]
    assert (last["kind"], last["delta"], last["quantity_after"], last["reason"]) == (
        "removal",
        -3,
        97,
        "expired: batch 7",
    )


def test_removal__more_than_available_is_refused(shop):
    with pytest.raises(InsufficientStock, match="8 available"):
        record_removal(shop, SYSTEM, "S1", "SOAP-100", 9, "damaged")
    assert qty(shop, "S1", "SOAP-100") == 8


# ---- transfer -------------------------------------------------------------------------------------------------


def test_transfer__writes_two_movements_in_one_transaction(shop):
    result = transfer(shop, SYSTEM, "S1", "S2", [("MILK-1L", 30), ("RICE-5KG", 5)])
    assert [(m["store"], m["kind"], m["delta"]) for m in result["movements"]] == [
        ("S1", "transfer_out", -30),
        ("S2", "transfer_in", 30),
        ("S1", "transfer_out", -5),
        ("S2", "transfer_in", 5),
    ]
    assert (qty(shop, "S1", "MILK-1L"), qty(shop, "S2", "MILK-1L")) == (70, 30)
    assert movements(shop)[-1]["reason"] == "from S1"
    assert check(shop)["ok"]


def test_transfer__insufficient_stock_moves_nothing(shop):
    before = table_state(shop)
    with pytest.raises(InsufficientStock, match="SOAP-100 in store S1"):
        transfer(shop, SYSTEM, "S1", "S2", [("MILK-1L", 1), ("SOAP-100", 9)])
    assert table_state(shop) == before


def test_transfer__to_the_same_store_is_refused(shop):
    with pytest.raises(ValidationError, match="two different stores"):
        transfer(shop, SYSTEM, "S1", "s1", [("MILK-1L", 1)])


def test_transfer__to_an_unknown_store_is_not_found(shop):
    with pytest.raises(NotFound):
        transfer(shop, SYSTEM, "S1", "S9", [("MILK-1L", 1)])
    assert qty(shop, "S1", "MILK-1L") == 100


# ---- staff within their store ---------------------------------------------------------------------------------


def test_staff__record_every_kind_in_their_own_store(shop, staff):
    stock_in(shop, staff, "S1", "MILK-1L", 5)
    record_sale(shop, staff, "S1", [("MILK-1L", 2)])
    record_removal(shop, staff, "S1", "MILK-1L", 1, "damaged")
    set_count(shop, staff, "S1", "MILK-1L", 100)
    assert [m["actor"] for m in movements(shop)[-4:]] == ["staff@shop.test"] * 4
    assert qty(shop, "S1", "MILK-1L") == 100


# ---- reads ----------------------------------------------------------------------------------------------------


def test_get_stock__unknown_pair_is_zero_at_version_one(shop):
    add_store(shop, SYSTEM, "S3", "Third")
    row = get_stock(shop, SYSTEM, "S3", "MILK-1L")
    assert (row["quantity"], row["version"]) == (0, 1)


def test_recent_movements__newest_first_and_scoped(shop, staff):
    stock_in(shop, SYSTEM, "S2", "MILK-1L", 4)
    assert recent_movements(shop, SYSTEM, limit=1)[0]["store"] == "S2"
    assert {m["store"] for m in recent_movements(shop, staff)} == {"S1"}
    assert {m["store"] for m in recent_movements(shop, SYSTEM, "S2")} == {"S2"}


def test_every_stock_change_bumps_the_stock_version_by_one(shop):
    v = get_stock(shop, SYSTEM, "S1", "MILK-1L")["version"]
    stock_in(shop, SYSTEM, "S1", "MILK-1L", 1)
    record_sale(shop, SYSTEM, "S1", [("MILK-1L", 1)])
    record_removal(shop, SYSTEM, "S1", "MILK-1L", 1, "lost")
    set_count(shop, SYSTEM, "S1", "MILK-1L", 50)
    transfer(shop, SYSTEM, "S1", "S2", [("MILK-1L", 1)])
    assert get_stock(shop, SYSTEM, "S1", "MILK-1L")["version"] == v + 5
    assert check(shop)["ok"]


def test_stock_in__a_total_beyond_the_column_range_is_a_refusal_not_a_crash(shop):
    stock_in(shop, SYSTEM, "S2", "MILK-1L", 1_000_000_000)
    stock_in(shop, SYSTEM, "S2", "MILK-1L", 1_000_000_000)
    before = table_state(shop)
    with pytest.raises(ValidationError, match="too large to store"):
        stock_in(shop, SYSTEM, "S2", "MILK-1L", 1_000_000_000)
    assert table_state(shop) == before
