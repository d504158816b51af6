"""core.domain.grid: the inventory listing (search, chips, status, paging, scope) and the one-transaction grid save."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from core.base.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from core.base.permissions import SYSTEM
from core.domain import grid, grid_conflicts
from core.domain.catalog import create_product, deactivate_product, get_product, update_product
from core.domain.check import check
from core.domain.grid import RowEdit, inventory_page, save_grid
from core.domain.stock import get_stock, record_sale, set_count, stock_in


def _row(db, actor, sku, store="S1"):
    rows = inventory_page(db, actor, store, search=sku)["rows"]
    return next(r for r in rows if r["sku"] == sku)


def _edit(db, actor, sku, store="S1", **changes):
    row = _row(db, actor, sku, store)
    return RowEdit(sku, row["product_version"], row["stock_version"], changes)


def _counts(db):
    with db.reader() as tx:
        return {
            "movements": tx.scalar("SELECT count(*) FROM movements"),
            "versions": tx.all("SELECT sku, version FROM products ORDER BY sku"),
            "stock": tx.all("SELECT store_id, product_id, quantity, version FROM stock ORDER BY 1, 2"),
            "audit_ok": tx.scalar("SELECT count(*) FROM audit WHERE outcome = 'ok'"),
        }


def _audit(db, outcome):
    with db.reader() as tx:
        return tx.dicts("SELECT action, entity, entity_id, after, outcome FROM audit WHERE outcome = $1", [outcome])


# ---- listing ---------------------------------------------------------------------------------------------------


def test_inventory_page__lists_active_products_with_stock_and_status(shop, owner):
    page = inventory_page(shop, owner, "S1")
    by_sku = {r["sku"]: r for r in page["rows"]}
    assert [r["sku"] for r in page["rows"]] == ["RICE-5KG", "SOAP-100", "MILK-1L"]  # by name
    assert by_sku["SOAP-100"]["status"] == "low"  # 8 <= reorder 10
    assert by_sku["MILK-1L"] == {
        "sku": "MILK-1L",
        "name": "Toned Milk 1 L",
        "category": "Dairy",
        "unit_price": Decimal("56.00"),
        "reorder_level": 20,
        "vendor": "Amul",
        "quantity": 100,
        "product_version": 1,
        "stock_version": 2,
        "status": "ok",
    }
    assert (page["total"], page["shown"], page["low"], page["out"], page["products"]) == (3, 3, 1, 0, 3)
    assert page["categories"] == ["Dairy", "Personal care", "Staples"]


def test_inventory_page__never_stocked_product_shows_zero_but_is_not_out(shop, owner):
    page = inventory_page(shop, owner, "S2")
    assert {r["status"] for r in page["rows"]} == {"none"}
    assert {r["quantity"] for r in page["rows"]} == {0}
    assert (page["low"], page["out"]) == (0, 0)


def test_inventory_page__zero_stock_is_out(shop, owner):
    record_sale(shop, owner, "S1", [("SOAP-100", 8)])
    page = inventory_page(shop, owner, "S1", only="out")
    assert [r["sku"] for r in page["rows"]] == ["SOAP-100"]
    assert page["rows"][0]["status"] == "out"
    assert (page["low"], page["out"]) == (0, 1)


def test_inventory_page__search_is_case_insensitive_substring_of_name_or_sku(shop, owner):
    assert [r["sku"] for r in inventory_page(shop, owner, "S1", search="mIlK")["rows"]] == ["MILK-1L"]
    assert [r["sku"] for r in inventory_page(shop, owner, "S1", search="neem")["rows"]] == ["SOAP-100"]
    assert [r["sku"] for r in inventory_page(shop, owner, "S1", search="p-1")["rows"]] == ["SOAP-100"]
    assert inventory_page(shop, owner, "S1", search="zzz")["total"] == 0


def test_inventory_page__search_wildcards_are_literal(shop, owner):
    create_product(shop, owner, "PCT_50", "Discount 50% pack", "Staples", "1")
    assert [r["sku"] for r in inventory_page(shop, owner, "S1", search="%")["rows"]] == ["PCT_50"]
    assert [r["sku"] for r in inventory_page(shop, owner, "S1", search="_")["rows"]] == ["PCT_50"]
    assert inventory_page(shop, owner, "S1", search="' OR 1=1 --")["total"] == 0


def test_inventory_page__several_categories_at_once(shop, owner):
    page = inventory_page(shop, owner, "S1", categories=["Dairy", "Staples"])
    assert sorted(r["sku"] for r in page["rows"]) == ["MILK-1L", "RICE-5KG"]
    assert page["total"] == 2
    assert page["low"] == 1  # the banner counts the whole store
    both = inventory_page(shop, owner, "S1", categories=["Dairy", "Staples"], search="rice")
    assert [r["sku"] for r in both["rows"]] == ["RICE-5KG"]


def test_inventory_page__only_low_or_out(shop, owner):
    record_sale(shop, owner, "S1", [("RICE-5KG", 30)])
    assert [r["sku"] for r in inventory_page(shop, owner, "S1", only="low")["rows"]] == ["SOAP-100"]
    assert [r["sku"] for r in inventory_page(shop, owner, "S1", only="out")["rows"]] == ["RICE-5KG"]
    both = inventory_page(shop, owner, "S1", only="low_or_out")["rows"]
    assert sorted(r["sku"] for r in both) == ["RICE-5KG", "SOAP-100"]


def test_inventory_page__unknown_filter_is_refused(shop, owner):
    with pytest.raises(ValidationError):
        inventory_page(shop, owner, "S1", only="everything")


def test_inventory_page__pages_of_rows_and_clamped_page(shop, owner):
    for i in range(7):
        create_product(shop, owner, f"X-{i}", f"Extra {i}", "Extra", "1")
    first = inventory_page(shop, owner, "S1", categories=["Extra"], page_size=3)
    assert (first["total"], first["shown"], first["pages"], first["page"]) == (7, 3, 3, 1)
    assert [r["sku"] for r in first["rows"]] == ["X-0", "X-1", "X-2"]
    last = inventory_page(shop, owner, "S1", categories=["Extra"], page_size=3, page=3)
    assert [r["sku"] for r in last["rows"]] == ["X-6"]
    beyond = inventory_page(shop, owner, "S1", categories=["Extra"], page_size=3, page=99)
    assert beyond["page"] == 3 and [r["sku"] for r in beyond["rows"]] == ["X-6"]
    with pytest.raises(ValidationError):
        inventory_page(shop, owner, "S1", page_size=10_000)


def test_inventory_page__deactivated_products_are_hidden(shop, owner):
    deactivate_product(shop, owner, "SOAP-100")
    page = inventory_page(shop, owner, "S1")
    assert "SOAP-100" not in [r["sku"] for r in page["rows"]]
    assert page["low"] == 0


def test_inventory_page__staff_only_their_stores(shop, staff):
    assert inventory_page(shop, staff, "S1")["total"] == 3
    with pytest.raises(PermissionDenied):
        inventory_page(shop, staff, "S2")
    with pytest.raises(NotFound):
        inventory_page(shop, staff, "NOPE")


# ---- saving ----------------------------------------------------------------------------------------------------


def test_save_grid__quantity_only_becomes_an_adjustment(shop, owner):
    result = save_grid(shop, owner, "S1", [_edit(shop, owner, "MILK-1L", quantity=95)])
    assert result == {
        "store": "S1",
        "products_updated": [],
        "counts_updated": ["MILK-1L"],
        "unchanged": [],
        "movements": 1,
    }
    assert get_stock(shop, owner, "S1", "MILK-1L")["quantity"] == 95
    with shop.reader() as tx:
        kind, delta, reason = tx.one("SELECT kind, delta, reason FROM movements ORDER BY id DESC LIMIT 1")
    assert (kind, delta, reason) == ("adjustment", -5, "count")
    assert get_product(shop, "MILK-1L")["version"] == 1  # the product was not touched
    assert check(shop)["ok"]


def test_save_grid__product_fields_are_versioned(shop, owner):
    edit = _edit(shop, owner, "RICE-5KG", name="Rice 5kg", category="Grains", unit_price="460.5", reorder_level=7)
    result = save_grid(shop, owner, "S1", [edit])
    assert result["products_updated"] == ["RICE-5KG"] and result["movements"] == 0
    product = get_product(shop, "RICE-5KG")
    assert (product["name"], product["category"], product["unit_price"], product["reorder_level"]) == (
        "Rice 5kg",
        "Grains",
        Decimal("460.50"),
        7,
    )
    assert product["version"] == 2
    assert get_stock(shop, owner, "S1", "RICE-5KG")["version"] == 2  # stock untouched


def test_save_grid__many_rows_in_one_call(shop, owner):
    edits = [
        _edit(shop, owner, "RICE-5KG", quantity=31, unit_price=451),
        _edit(shop, owner, "MILK-1L", quantity=99),
        _edit(shop, owner, "SOAP-100", name="Neem Soap"),
    ]
    result = save_grid(shop, owner, "S1", edits)
    assert result["products_updated"] == ["RICE-5KG", "SOAP-100"]
    assert result["counts_updated"] == ["RICE-5KG", "MILK-1L"]
    assert result["movements"] == 2


def test_save_grid__untouched_rows_are_never_written(shop, owner):
    before = _counts(shop)
    save_grid(shop, owner, "S1", [_edit(shop, owner, "RICE-5KG", quantity=31)])
    after = _counts(shop)
    assert after["movements"] == before["movements"] + 1
    assert after["versions"] == before["versions"]
    changed = [a for a, b in zip(after["stock"], before["stock"], strict=True) if a != b]
    assert len(changed) == 1 and changed[0][2] == 31


def test_save_grid__values_equal_to_stored_write_nothing(shop, owner):
    before = _counts(shop)
    edit = _edit(shop, owner, "MILK-1L", quantity=100, unit_price="56.00", name="Toned Milk 1 L")
    result = save_grid(shop, owner, "S1", [edit])
    assert result["unchanged"] == ["MILK-1L"] and result["movements"] == 0
    assert _counts(shop) == before


def test_save_grid__empty_save_writes_nothing(shop, owner):
    before = _counts(shop)
    assert save_grid(shop, owner, "S1", [RowEdit("MILK-1L", 1, 2, {})])["movements"] == 0
    assert _counts(shop) == before


def test_save_grid__every_validation_problem_is_reported_at_once(shop, owner):
    before = _counts(shop)
    edits = [
        _edit(shop, owner, "RICE-5KG", quantity=-1, unit_price="abc"),
        _edit(shop, owner, "MILK-1L", name="", reorder_level=1.5),
        _edit(shop, owner, "SOAP-100", quantity=3),  # valid, yet nothing is applied
    ]
    with pytest.raises(ValidationError) as err:
        save_grid(shop, owner, "S1", edits)
    problems = {(e.field, e.line) for e in err.value.errors}
    assert problems == {("quantity", 1), ("unit_price", 1), ("name", 2), ("reorder_level", 2)}
    assert all(e.message.startswith(("RICE-5KG:", "MILK-1L:")) for e in err.value.errors)
    assert _counts(shop) == before


def test_save_grid__unknown_column_duplicate_row_and_unknown_sku_are_refused(shop, owner):
    with pytest.raises(ValidationError) as err:
        save_grid(
            shop,
            owner,
            "S1",
            [
                RowEdit("MILK-1L", 1, 2, {"status": "ok", "sku": "NEW"}),
                RowEdit("MILK-1L", 1, 2, {"quantity": 1}),
            ],
        )
    assert {e.field for e in err.value.errors} == {"status", "sku"}
    with pytest.raises(ValidationError, match="no product with SKU NOPE") as err:
        save_grid(shop, owner, "S1", [RowEdit("MILK-1L", 1, 2, {}), RowEdit("NOPE", 1, 1, {"quantity": 1})])
    assert [(e.field, e.line) for e in err.value.errors] == [("sku", 2)]


def test_save_grid__deactivated_product_is_refused(shop, owner):
    edit = _edit(shop, owner, "SOAP-100", quantity=2)
    deactivate_product(shop, owner, "SOAP-100")
    with pytest.raises(ValidationError, match="deactivated"):
        save_grid(shop, owner, "S1", [edit])


def test_save_grid__staff_quantity_is_saved(shop, staff):
    result = save_grid(shop, staff, "S1", [_edit(shop, staff, "SOAP-100", quantity=12)])
    assert result["counts_updated"] == ["SOAP-100"]
    assert get_stock(shop, staff, "S1", "SOAP-100")["quantity"] == 12


def test_save_grid__staff_crafted_price_edit_is_denied_audited_and_nothing_written(shop, staff):
    before = _counts(shop)
    edits = [
        _edit(shop, staff, "SOAP-100", quantity=12),
        _edit(shop, staff, "RICE-5KG", unit_price="1.00"),
    ]
    with pytest.raises(PermissionDenied, match="Staff cannot change prices"):
        save_grid(shop, staff, "S1", edits)
    assert _counts(shop) == before
    denied = _audit(shop, "denied")
    assert len(denied) == 1
    assert denied[0]["action"] == "product.update"
    assert json.loads(denied[0]["after"]) == {"RICE-5KG": {"unit_price": "1.00"}}


@pytest.mark.parametrize("column", ["name", "category", "reorder_level", "status", "vendor"])
def test_save_grid__staff_any_locked_column_is_denied(shop, staff, column):
    before = _counts(shop)
    with pytest.raises(PermissionDenied):
        save_grid(shop, staff, "S1", [_edit(shop, staff, "MILK-1L", **{column: "x"})])
    assert _counts(shop) == before
    assert len(_audit(shop, "denied")) == 1


def test_save_grid__staff_other_store_is_denied(shop, staff, owner):
    with pytest.raises(PermissionDenied, match="not assigned to store S2"):
        save_grid(shop, staff, "S2", [_edit(shop, owner, "MILK-1L", "S2", quantity=3)])
    assert _audit(shop, "denied")[0]["action"] == "stock.count"


def test_save_grid__stale_product_is_a_conflict_and_nothing_is_applied(shop, owner):
    mine = [_edit(shop, owner, "RICE-5KG", unit_price=500), _edit(shop, owner, "MILK-1L", quantity=90)]
    update_product(shop, SYSTEM, "RICE-5KG", 1, unit_price="470")
    before = _counts(shop)
    with pytest.raises(ConflictError) as err:
        save_grid(shop, owner, "S1", mine)
    assert _counts(shop) == before  # MILK-1L (not stale) was not applied either
    (conflict,) = err.value.conflicts
    assert (conflict.entity, conflict.key, conflict.expected_version) == ("product", "RICE-5KG", 1)
    assert conflict.current["unit_price"] == Decimal("470.00") and conflict.current["version"] == 2
    assert conflict.current["updated_by"] == "cli" and conflict.current["updated_at"] is not None
    assert "changed by cli" in str(err.value)
    assert _audit(shop, "conflict")[0]["action"] == "grid.save"


def test_save_grid__stale_stock_is_a_conflict_listing_every_row(shop, owner, staff):
    mine = [
        _edit(shop, owner, "RICE-5KG", quantity=20),
        _edit(shop, owner, "MILK-1L", quantity=90),
        _edit(shop, owner, "SOAP-100", name="Soap"),
    ]
    record_sale(shop, staff, "S1", [("RICE-5KG", 1), ("MILK-1L", 2)])
    before = _counts(shop)
    with pytest.raises(ConflictError) as err:
        save_grid(shop, owner, "S1", mine)
    assert _counts(shop) == before
    assert [(c.entity, c.key) for c in err.value.conflicts] == [("stock", "RICE-5KG@S1"), ("stock", "MILK-1L@S1")]
    assert err.value.conflicts[1].current["quantity"] == 98
    assert err.value.conflicts[1].current["updated_by"] == staff.email


def test_save_grid__stock_change_does_not_conflict_with_a_product_edit(shop, owner):
    edit = _edit(shop, owner, "MILK-1L", unit_price=60)
    stock_in(shop, owner, "S1", "MILK-1L", 5)
    assert save_grid(shop, owner, "S1", [edit])["products_updated"] == ["MILK-1L"]


def test_save_grid__first_count_of_never_stocked_product(shop, owner):
    edit = _edit(shop, owner, "MILK-1L", "S2", quantity=12)
    assert edit.stock_version == 1
    save_grid(shop, owner, "S2", [edit])
    assert get_stock(shop, owner, "S2", "MILK-1L")["quantity"] == 12
    with pytest.raises(ConflictError):  # a second grid loaded before the first count is stale
        save_grid(shop, owner, "S2", [RowEdit("MILK-1L", 1, 1, {"quantity": 3})])


def test_save_grid__resubmitted_operation_is_applied_once(shop, owner):
    edits = [_edit(shop, owner, "MILK-1L", quantity=90)]
    first = save_grid(shop, owner, "S1", edits, client_op_id="grid-op-1")
    again = save_grid(shop, owner, "S1", edits, client_op_id="grid-op-1")
    assert again["replayed"] is True and again["counts_updated"] == first["counts_updated"]
    assert get_stock(shop, owner, "S1", "MILK-1L")["quantity"] == 90
    with shop.reader() as tx:
        assert tx.scalar("SELECT count(*) FROM movements WHERE kind = 'adjustment'") == 1


# ---- conflict-dialog helpers -----------------------------------------------------------------------------------


def _conflicted(shop, owner, staff):
    mine = [
        _edit(shop, owner, "RICE-5KG", unit_price=500, quantity=25),
        _edit(shop, owner, "MILK-1L", quantity=90),
        _edit(shop, owner, "SOAP-100", quantity=9),
    ]
    update_product(shop, SYSTEM, "RICE-5KG", 1, unit_price="470")
    set_count(shop, staff, "S1", "MILK-1L", 80)
    with pytest.raises(ConflictError) as err:
        save_grid(shop, owner, "S1", mine)
    return mine, err.value


def test_describe_conflicts__your_value_current_value_who_and_when(shop, owner, staff):
    mine, err = _conflicted(shop, owner, staff)
    lines = grid_conflicts.describe_conflicts(err, mine)
    assert [(x["sku"], x["field"], x["yours"], x["current"], x["changed_by"]) for x in lines] == [
        ("RICE-5KG", "unit_price", 500, Decimal("470.00"), "cli"),
        ("MILK-1L", "quantity", 90, 80, staff.email),
    ]
    assert all(x["changed_at"] is not None for x in lines)


def test_keep_mine__reapplies_my_values_on_the_current_versions(shop, owner, staff):
    mine, err = _conflicted(shop, owner, staff)
    result = save_grid(shop, owner, "S1", grid_conflicts.keep_mine(mine, err))
    assert result["products_updated"] == ["RICE-5KG"]
    assert get_product(shop, "RICE-5KG")["unit_price"] == Decimal("500.00")
    assert get_product(shop, "RICE-5KG")["version"] == 3
    assert get_stock(shop, owner, "S1", "MILK-1L")["quantity"] == 90
    assert get_stock(shop, owner, "S1", "SOAP-100")["quantity"] == 9
    assert get_stock(shop, owner, "S1", "RICE-5KG")["quantity"] == 25


def test_keep_mine__changed_again_is_another_conflict(shop, owner, staff):
    mine, err = _conflicted(shop, owner, staff)
    rebased = grid_conflicts.keep_mine(mine, err)
    set_count(shop, staff, "S1", "MILK-1L", 70)
    with pytest.raises(ConflictError) as again:
        save_grid(shop, owner, "S1", rebased)
    assert [c.key for c in again.value.conflicts] == ["MILK-1L@S1"]


def test_take_theirs__drops_only_the_stale_parts_and_saves_the_rest(shop, owner, staff):
    mine, err = _conflicted(shop, owner, staff)
    rest = grid_conflicts.take_theirs(mine, err)
    assert [(e.sku, e.changes) for e in rest] == [("RICE-5KG", {"quantity": 25}), ("SOAP-100", {"quantity": 9})]
    save_grid(shop, owner, "S1", rest)
    assert get_product(shop, "RICE-5KG")["unit_price"] == Decimal("470.00")  # theirs
    assert get_stock(shop, owner, "S1", "MILK-1L")["quantity"] == 80  # theirs
    assert get_stock(shop, owner, "S1", "RICE-5KG")["quantity"] == 25  # mine: that part did not conflict
    assert get_stock(shop, owner, "S1", "SOAP-100")["quantity"] == 9
    assert check(shop)["ok"]


def test_rebase_rows__stale_rows_take_current_values_and_versions(shop, owner, staff):
    rows = inventory_page(shop, owner, "S1")["rows"]  # as loaded, before the others' changes
    _, err = _conflicted(shop, owner, staff)
    rebased = grid_conflicts.rebase_rows(rows, err)
    by_sku = {r["sku"]: r for r in rebased}
    assert [r["sku"] for r in rebased] == [r["sku"] for r in rows]  # positions unchanged
    assert by_sku["RICE-5KG"]["unit_price"] == Decimal("470.00") and by_sku["RICE-5KG"]["product_version"] == 2
    assert by_sku["MILK-1L"]["quantity"] == 80 and by_sku["MILK-1L"]["stock_version"] == 3
    assert by_sku["SOAP-100"] == next(r for r in rows if r["sku"] == "SOAP-100")


def test_edits_from_positions__maps_positions_to_loaded_rows_and_versions(shop, owner):
    rows = inventory_page(shop, owner, "S1")["rows"]  # RICE-5KG, SOAP-100, MILK-1L
    edits = grid.edits_from_positions(rows, {2: {"quantity": 5}, "0": {"unit_price": 1.5}, 1: {}})
    assert edits == [RowEdit("MILK-1L", 1, 2, {"quantity": 5}), RowEdit("RICE-5KG", 1, 2, {"unit_price": 1.5})]
    with pytest.raises(ValidationError, match="not on this page"):
        grid.edits_from_positions(rows, {3: {"quantity": 1}})
    with pytest.raises(ValidationError):
        grid.edits_from_positions(rows, {"x": {"quantity": 1}})


def test_product_options__active_products_by_name(shop, owner):
    deactivate_product(shop, owner, "SOAP-100")
    assert [p["sku"] for p in grid.product_options(shop)] == ["RICE-5KG", "MILK-1L"]
