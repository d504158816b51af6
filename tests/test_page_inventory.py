"""The Inventory page (AppTest): filters, banner, paging, grid saves with injected edits, the tripwire, and every
conflict-dialog path. The owner's product forms are the Products page (tests/test_page_products.py)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from streamlit.testing.v1 import AppTest

from core.base.permissions import SYSTEM
from core.domain.catalog import get_product, update_product
from core.domain.stock import get_stock, record_sale, set_count
from tests.conftest import ROOT, page_opener

pytestmark = pytest.mark.slow  # AppTest runs of a page: about 1-3 s of CPU each

PAGE = "inventory.py"


@pytest.fixture
def open_page(shop, app_db):
    """``open_page(actor, **session_state)``: the inventory page run once for ``actor`` against the shop."""
    return page_opener(PAGE)


def _loaded(at):
    return at.session_state["inventory_grid"]


def _skus(at):
    return [r["sku"] for r in _loaded(at)["data"]["rows"]]


def _edit(at, edits_by_sku):
    """Inject grid edits the way the browser sends them: by position on the loaded page."""
    skus = _skus(at)
    edited = {skus.index(sku): dict(changes) for sku, changes in edits_by_sku.items()}
    at.session_state[_loaded(at)["key"]] = {"edited_rows": edited, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    return at


def _save(at):
    at.button(key="grid_save").click().run()
    assert not at.exception
    return at


def _conflict_rows(at):
    """The read-only table of stale rows (in the dialog, or above the grid after "edit again")."""
    return next(d.value for d in at.dataframe if d.editing_mode == "read_only" and "Your value" in d.value.columns)


def _texts(elements):
    return " | ".join(str(e.value) for e in elements)


def _audit(db, outcome):
    with db.reader() as tx:
        return tx.dicts("SELECT action, after FROM audit WHERE outcome = $1 ORDER BY id", [outcome])


def _movements(db):
    with db.reader() as tx:
        return tx.scalar("SELECT count(*) FROM movements")


# ---- listing ---------------------------------------------------------------------------------------------------


def test_inventory_page__owner_sees_the_store_grid_with_status_and_banner(open_page, owner):
    at = open_page(owner)
    assert _skus(at) == ["RICE-5KG", "SOAP-100", "MILK-1L"]
    assert "Showing 3 of 3" in _texts(at.markdown)
    assert "1 product(s) low on stock and 0 out of stock in S1" in _texts(at.warning)
    frame = at.data_editor[0].value
    assert list(frame["status"]) == ["🟢 OK", "🟠 Low", "🟢 OK"]
    assert "product_version" not in frame.columns
    assert at.selectbox(key="inventory_store").options == ["S1 - Main Street", "S2 - Market Road"]


def test_inventory_page__staff_price_column_is_locked_and_only_own_stores(open_page, staff):
    at = open_page(staff)
    assert at.selectbox(key="inventory_store").options == ["S1 - Main Street"]
    columns = json.loads(at.data_editor[0].proto.columns)
    assert columns["unit_price"]["label"] == "🔒 Unit price"
    assert columns["unit_price"]["disabled"] is True
    assert all(columns[c]["disabled"] is True for c in ("sku", "name", "category", "reorder_level", "status"))
    assert columns["quantity"].get("disabled") is not True


def test_inventory_page__holds_the_grid_only_the_product_forms_are_the_products_page(open_page, owner, staff):
    for actor in (owner, staff):
        at = open_page(actor)
        assert not at.expander and not [f for f in at.get("form")]
        assert {t.key for t in at.text_input} == {"inventory_search"}
    assert "the Products page" in _texts(open_page(owner).caption)


def test_inventory_page__search_filters_by_name_or_sku(open_page, owner):
    at = open_page(owner)
    at.text_input(key="inventory_search").input("milk").run()
    assert _skus(at) == ["MILK-1L"]
    assert "Showing 1 of 1" in _texts(at.markdown)
    at.text_input(key="inventory_search").input("soap-1").run()
    assert _skus(at) == ["SOAP-100"]


def test_inventory_page__category_chips_select_several(open_page, owner):
    at = open_page(owner)
    assert at.pills(key="inventory_categories").options == ["Dairy", "Personal care", "Staples"]
    at.pills(key="inventory_categories").set_value(["Dairy", "Staples"]).run()
    assert sorted(_skus(at)) == ["MILK-1L", "RICE-5KG"]
    at.text_input(key="inventory_search").input("rice").run()
    assert _skus(at) == ["RICE-5KG"]


def test_inventory_page__banner_button_shows_just_low_and_out_rows(open_page, owner):
    at = open_page(owner)
    at.button(key="banner_only").click().run()
    assert _skus(at) == ["SOAP-100"]
    assert at.segmented_control(key="inventory_only").value == "low_or_out"
    at.button(key="banner_all").click().run()
    assert len(_skus(at)) == 3


def test_inventory_page__out_of_stock_is_marked(open_page, owner, shop):
    record_sale(shop, owner, "S1", [("RICE-5KG", 30)])
    at = open_page(owner)
    assert "0 product(s) low" not in _texts(at.warning)
    assert "1 out of stock" in _texts(at.warning)
    at.segmented_control(key="inventory_only").set_value("out").run()
    assert _skus(at) == ["RICE-5KG"]
    assert list(at.data_editor[0].value["status"]) == ["🔴 Out"]


def test_inventory_page__dashboard_session_key_opens_low_stock_only(open_page, owner):
    at = open_page(owner, inventory_only="low")
    assert _skus(at) == ["SOAP-100"]


def test_inventory_page__only_low_link_query_param(shop, app_db, owner):
    at = AppTest.from_file(str(ROOT / "pages" / PAGE), default_timeout=30)
    at.session_state["actor"] = owner
    at.query_params["only"] = "low"
    at.run()
    assert not at.exception
    assert _skus(at) == ["SOAP-100"]


def test_inventory_page__pages_of_200_rows(open_page, owner, shop):
    with shop.transaction() as tx:
        tx.execute(
            "INSERT INTO products (sku, name, category, unit_price)"
            " SELECT 'BULK-' || lpad(i::VARCHAR, 4, '0'), 'Bulk item ' || lpad(i::VARCHAR, 4, '0'), 'Bulk', 1"
            " FROM generate_series(1, 250) AS t(i)"
        )
    at = open_page(owner)
    assert len(at.data_editor[0].value) == 200
    assert "Showing 200 of 253" in _texts(at.markdown)
    at.number_input(key="inventory_page").set_value(2).run()
    assert len(at.data_editor[0].value) == 53
    assert "Showing 53 of 253 (rows 201–253" in _texts(at.markdown)
    at.text_input(key="inventory_search").input("bulk item 024").run()  # a new filter starts at page 1
    assert at.number_input(key="inventory_page").value == 1
    assert len(_skus(at)) == 10
    at.text_input(key="inventory_search").input("").run()
    at.number_input(key="inventory_page").set_value(2).run()
    at.session_state["inventory_only"] = "low"  # as the dashboard's "show just these" does
    at.run()
    assert _skus(at) == ["SOAP-100"] and at.number_input(key="inventory_page").value == 1
    at.segmented_control(key="inventory_only").set_value("all").run()
    at.number_input(key="inventory_page").set_value(2).run()
    at.selectbox(key="inventory_store").select("S2").run()  # another store starts at page 1 too
    assert "Showing 200 of 253 (rows 1–200" in _texts(at.markdown)


# ---- saving ----------------------------------------------------------------------------------------------------


def test_grid_save__owner_quantity_and_product_fields_in_one_save(open_page, owner, shop):
    at = open_page(owner)
    _edit(at, {"MILK-1L": {"quantity": 90, "unit_price": 58.5}, "RICE-5KG": {"name": "Rice 5 kg"}})
    assert at.button(key="grid_save").label == "Save 2 edited row(s)"
    old_key = _loaded(at)["key"]
    _save(at)
    assert "Saved: 2 product(s) updated, 1 count(s) adjusted." in _texts(at.success)
    assert get_stock(shop, owner, "S1", "MILK-1L")["quantity"] == 90
    assert get_product(shop, "MILK-1L")["unit_price"] == Decimal("58.50")
    assert get_product(shop, "RICE-5KG")["name"] == "Rice 5 kg"
    assert get_product(shop, "SOAP-100")["version"] == 1  # untouched row never written
    assert _loaded(at)["key"] != old_key  # the editor was reset
    assert at.button(key="grid_save").disabled


def test_grid_save__staff_quantity_is_saved(open_page, staff, shop):
    at = _save(_edit(open_page(staff), {"SOAP-100": {"quantity": 15}}))
    assert "1 count(s) adjusted" in _texts(at.success)
    assert get_stock(shop, staff, "S1", "SOAP-100")["quantity"] == 15


def test_grid_save__staff_crafted_price_edit_is_refused_and_audited(open_page, staff, shop):
    before = _movements(shop)
    at = _save(_edit(open_page(staff), {"SOAP-100": {"quantity": 15}, "MILK-1L": {"unit_price": 1.0}}))
    assert "Staff cannot change prices" in _texts(at.error)
    assert get_product(shop, "MILK-1L")["unit_price"] == Decimal("56.00")
    assert get_stock(shop, staff, "S1", "SOAP-100")["quantity"] == 8
    assert _movements(shop) == before
    denied = _audit(shop, "denied")
    assert [d["action"] for d in denied] == ["product.update"]


def test_grid_save__every_invalid_field_is_listed(open_page, owner, shop):
    at = _save(_edit(open_page(owner), {"MILK-1L": {"quantity": -3, "name": ""}, "SOAP-100": {"unit_price": None}}))
    text = _texts(at.error) + _texts(at.markdown)
    assert "MILK-1L: Quantity cannot be negative" in text
    assert "MILK-1L: Name is required" in text
    assert "SOAP-100: Unit price is required" in text
    assert get_stock(shop, owner, "S1", "MILK-1L")["quantity"] == 100


def test_grid_save__crafted_row_outside_the_page_is_refused(open_page, owner):
    at = open_page(owner)
    at.session_state[_loaded(at)["key"]] = {"edited_rows": {7: {"quantity": 1}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    assert "did not match the rows on this page" in _texts(at.error)
    assert _skus(at) == ["RICE-5KG", "SOAP-100", "MILK-1L"]


def test_grid_save__double_submit_is_applied_once(open_page, owner, shop):
    at = _edit(open_page(owner, **{"_op_id:inventory_grid": "grid-op-1"}), {"MILK-1L": {"quantity": 90}})
    op = "grid-op-1"
    loaded = _loaded(at)
    _save(at)
    # the same save arriving again (a double click whose first run already committed) carries the same op id
    at.session_state["_op_id:inventory_grid"] = op
    at.session_state["inventory_grid"] = loaded
    at.session_state[loaded["key"]] = {"edited_rows": {2: {"quantity": 90}}, "added_rows": [], "deleted_rows": []}
    at.run()
    _save(at)
    assert "already applied" in _texts(at.info)
    with shop.reader() as tx:
        assert tx.scalar("SELECT count(*) FROM movements WHERE kind = 'adjustment'") == 1


# ---- the conflict dialog ---------------------------------------------------------------------------------------


def _conflicted(open_page, owner, staff, shop):
    """The owner edits three rows; meanwhile the price of RICE and the count of MILK change; the save conflicts."""
    at = _edit(
        open_page(owner),
        {"RICE-5KG": {"unit_price": 500.0}, "MILK-1L": {"quantity": 90}, "SOAP-100": {"quantity": 9}},
    )
    update_product(shop, SYSTEM, "RICE-5KG", 1, unit_price="470")
    set_count(shop, staff, "S1", "MILK-1L", 80)
    before = _movements(shop)
    _save(at)
    assert _movements(shop) == before  # nothing of the save was applied
    return at


def test_conflict_dialog__shows_each_row_yours_current_who_and_when(open_page, owner, staff, shop):
    at = _conflicted(open_page, owner, staff, shop)
    assert "2 rows changed since you loaded the grid" in _texts(at.markdown)
    table = _conflict_rows(at)
    assert list(table["SKU"]) == ["RICE-5KG", "MILK-1L"]
    assert list(table["Your value"]) == ["500.0", "90"]
    assert list(table["Current value"]) == ["470.00", "80"]
    assert list(table["Changed by"]) == ["cli", staff.email]
    assert all(table["When"])
    assert {b.key for b in at.button} >= {"conflict_keep", "conflict_theirs", "conflict_again"}
    assert get_stock(shop, owner, "S1", "SOAP-100")["quantity"] == 8


def test_conflict_dialog__keep_mine_saves_my_values_on_the_new_versions(open_page, owner, staff, shop):
    at = _conflicted(open_page, owner, staff, shop)
    at.button(key="conflict_keep").click().run()
    assert not at.exception
    assert "Your values were kept" in _texts(at.success)
    assert get_product(shop, "RICE-5KG")["unit_price"] == Decimal("500.00")
    assert get_stock(shop, owner, "S1", "MILK-1L")["quantity"] == 90
    assert get_stock(shop, owner, "S1", "SOAP-100")["quantity"] == 9
    assert "inventory_conflict" not in at.session_state


def test_conflict_dialog__take_theirs_keeps_their_rows_and_saves_the_rest(open_page, owner, staff, shop):
    at = _conflicted(open_page, owner, staff, shop)
    at.button(key="conflict_theirs").click().run()
    assert not at.exception
    assert get_product(shop, "RICE-5KG")["unit_price"] == Decimal("470.00")
    assert get_stock(shop, owner, "S1", "MILK-1L")["quantity"] == 80
    assert get_stock(shop, owner, "S1", "SOAP-100")["quantity"] == 9
    frame = at.data_editor[0].value.set_index("sku")
    assert frame.loc["MILK-1L", "quantity"] == 80 and frame.loc["RICE-5KG", "unit_price"] == 470.0


def test_conflict_dialog__take_theirs_with_nothing_else_saves_nothing(open_page, owner, staff, shop):
    at = _edit(open_page(owner), {"MILK-1L": {"quantity": 90}})
    set_count(shop, staff, "S1", "MILK-1L", 80)
    _save(at)
    before = _movements(shop)
    at.button(key="conflict_theirs").click().run()
    assert "Nothing was saved" in _texts(at.info)
    assert _movements(shop) == before
    assert at.data_editor[0].value.set_index("sku").loc["MILK-1L", "quantity"] == 80


def test_conflict_dialog__edit_again_keeps_my_edits_on_the_current_values(open_page, owner, staff, shop):
    at = _conflicted(open_page, owner, staff, shop)
    key = _loaded(at)["key"]
    at.button(key="conflict_again").click().run()
    assert not at.exception
    assert "inventory_conflict" not in at.session_state
    assert _loaded(at)["key"] == key  # same editor: my edits are still in it
    assert at.session_state[key]["edited_rows"]
    base = at.data_editor[0].value.set_index("sku")
    assert base.loc["MILK-1L", "quantity"] == 80 and base.loc["RICE-5KG", "unit_price"] == 470.0
    assert list(_conflict_rows(at)["SKU"]) == ["RICE-5KG", "MILK-1L"]
    assert get_stock(shop, owner, "S1", "SOAP-100")["quantity"] == 8  # nothing saved yet
    # change one edit (MILK to 85), then save: applied on the current versions
    edited = dict(at.session_state[key]["edited_rows"])
    edited[_skus(at).index("MILK-1L")] = {"quantity": 85}
    at.session_state[key] = {"edited_rows": edited, "added_rows": [], "deleted_rows": []}
    at.run()
    _save(at)
    assert "Saved" in _texts(at.success)
    assert get_stock(shop, owner, "S1", "MILK-1L")["quantity"] == 85
    assert get_product(shop, "RICE-5KG")["unit_price"] == Decimal("500.00")


def test_conflict_dialog__keep_mine_after_another_change_conflicts_again(open_page, owner, staff, shop):
    at = _conflicted(open_page, owner, staff, shop)
    set_count(shop, staff, "S1", "MILK-1L", 70)
    at.button(key="conflict_keep").click().run()
    assert not at.exception
    assert "1 row changed" in _texts(at.markdown)
    assert list(_conflict_rows(at)["Current value"]) == ["70"]
    at.button(key="conflict_keep").click().run()
    assert get_stock(shop, owner, "S1", "MILK-1L")["quantity"] == 90


def test_inventory_page__a_change_made_by_another_process_shows_on_the_next_run(open_page, owner, shop, db_target):
    """Several app processes share one PostgreSQL database: a write by another process (here: a second, separate
    ``Database`` on the same target, which does not clear this process's caches) shows in the next session that
    opens the page (a browser reload), not once the process's read cache expires."""
    from core import open_db
    from core.domain.audit import latest_change

    at = open_page(owner)
    before = latest_change(shop)
    soap = next(r for r in _loaded(at)["data"]["rows"] if r["sku"] == "SOAP-100")
    assert soap["quantity"] == 8
    other = open_db(db_target)
    try:
        set_count(other, SYSTEM, "S1", "SOAP-100", 3)
    finally:
        other.close()
    assert latest_change(shop) != before
    at = open_page(owner)  # a new session in this process: the read cache is shared between sessions
    soap = next(r for r in _loaded(at)["data"]["rows"] if r["sku"] == "SOAP-100")
    assert soap["quantity"] == 3


def test_latest_change__moves_when_a_lower_audit_id_commits_after_a_higher_one(shop, monkeypatch):
    """Audit ids are handed out when a row is written, not at commit: the cache key must still move when the
    transaction holding the lower id commits last (two app processes saving at the same moment)."""
    from core.domain.audit import latest_change
    from core.domain.audit import write as audit_write

    monkeypatch.setenv("INVENTORY_STRICT_POOL", "0")  # two transactions from one thread, on purpose
    with shop.transaction() as first:
        audit_write(first, actor="a@x.test", action="test.first", entity="test", entity_id="1")  # the lower id
        with shop.transaction() as second:
            audit_write(second, actor="b@x.test", action="test.second", entity="test", entity_id="2")
        seen = latest_change(shop)  # what a reader in another process caches under
    assert latest_change(shop) != seen
