"""The Stock page (AppTest): stock-in, a sale of several lines (all or nothing), removal, transfer, their
refusals, the one-operation-per-submit guarantee, and the recent movements."""

from __future__ import annotations

import time

import pytest

from core.base.permissions import SYSTEM
from core.domain.catalog import add_vendor
from core.domain.signin import actor_for
from core.domain.stock import get_stock
from core.domain.users import add_user
from tests.conftest import page_opener

pytestmark = pytest.mark.slow  # AppTest runs of a page: about 1-3 s of CPU each

PAGE = "stock.py"


@pytest.fixture
def open_page(shop, app_db):
    """``open_page(actor, **session_state)``: the stock page run once for ``actor`` against the shop."""
    return page_opener(PAGE)


def _texts(elements):
    return " | ".join(str(e.value) for e in elements)


def _submit(at, form, label):
    at.button(key=f"FormSubmitter:{form}-{label}").click().run()
    assert not at.exception
    return at


def _qty(db, sku, store="S1"):
    return get_stock(db, SYSTEM, store, sku)["quantity"]


def _movements(db, kind=None):
    with db.reader() as tx:
        return tx.scalar("SELECT count(*) FROM movements WHERE kind = coalesce($1, kind)", [kind])


def _sale_lines(at, lines):
    rows = {n: {"sku": sku, "quantity": qty} for n, (sku, qty) in enumerate(lines)}
    key = f"sale_lines_{at.session_state['sale_round']}"
    at.session_state[key] = {"edited_rows": rows, "added_rows": [], "deleted_rows": []}
    return at


def test_stock_page__renders_forms_and_recent_movements(open_page, owner):
    at = open_page(owner)
    assert "Recent movements in S1" in _texts(at.subheader)
    movements = at.dataframe[-1].value
    assert set(movements["sku"]) == {"RICE-5KG", "MILK-1L", "SOAP-100"}
    assert at.selectbox(key="in_sku").options[0].startswith("RICE-5KG — Basmati")


def test_stock_in__with_vendor_adds_stock(open_page, owner, shop):
    add_vendor(shop, owner, "Metro Cash")
    at = open_page(owner)
    at.selectbox(key="in_sku").select("MILK-1L")
    at.number_input(key="in_qty").set_value(12)
    at.selectbox(key="in_vendor").select("Metro Cash")
    _submit(at, "stock_in", "Record stock-in")
    assert "Stock-in recorded: MILK-1L +12 (now 112)." in _texts(at.success)
    assert _qty(shop, "MILK-1L") == 112
    with shop.reader() as tx:
        assert tx.scalar("SELECT v.name FROM movements m JOIN vendors v ON v.id = m.vendor_id") == "Metro Cash"
    assert at.dataframe[-1].value.iloc[0]["delta"] == 12  # newest movement first


def test_stock_in__without_product_is_refused(open_page, owner, shop):
    before = _movements(shop)
    at = _submit(open_page(owner), "stock_in", "Record stock-in")
    assert "Choose a product." in _texts(at.error)
    assert _movements(shop) == before


def test_stock_in__resubmitted_operation_is_applied_once(open_page, owner, shop):
    at = open_page(owner, **{"_op_id:stock_in": "op-in-1"})
    at.selectbox(key="in_sku").select("SOAP-100")
    _submit(at, "stock_in", "Record stock-in")
    assert _qty(shop, "SOAP-100") == 9
    at.session_state["_op_id:stock_in"] = "op-in-1"  # the same submit arriving again
    at.session_state["_last_ok:stock_in"] = None
    _submit(at, "stock_in", "Record stock-in")
    assert "already recorded" in _texts(at.info)
    assert _qty(shop, "SOAP-100") == 9


def test_stock_in__double_click_is_applied_once_a_later_repeat_twice(open_page, owner, shop):
    at = open_page(owner)
    at.selectbox(key="in_sku").select("SOAP-100")
    _submit(at, "stock_in", "Record stock-in")
    at.session_state["_last_ok:stock_in"] = {**at.session_state["_last_ok:stock_in"], "at": time.monotonic()}
    _submit(at, "stock_in", "Record stock-in")  # the same values at once: the double click
    assert "already recorded" in _texts(at.info)
    assert _qty(shop, "SOAP-100") == 9
    at.session_state["_last_ok:stock_in"] = {**at.session_state["_last_ok:stock_in"], "at": -1e9}
    _submit(at, "stock_in", "Record stock-in")  # a deliberate repeat later is a new operation
    assert _qty(shop, "SOAP-100") == 10


def test_sale__several_lines_at_once(open_page, owner, shop):
    at = _sale_lines(open_page(owner), [("MILK-1L", 3), ("RICE-5KG", 2), ("SOAP-100", 1)])
    _submit(at, "sale", "Record sale")
    assert "Sale recorded: 3 line(s), 6 unit(s)." in _texts(at.success)
    assert (_qty(shop, "MILK-1L"), _qty(shop, "RICE-5KG"), _qty(shop, "SOAP-100")) == (97, 28, 7)
    assert _movements(shop, "sale") == 3
    assert at.session_state["sale_round"] == 1  # a fresh, empty lines editor


def test_sale__one_short_line_sells_nothing(open_page, owner, shop):
    at = _sale_lines(open_page(owner), [("MILK-1L", 3), ("SOAP-100", 9)])
    _submit(at, "sale", "Record sale")
    assert "Not enough stock of SOAP-100 in store S1: 9 requested, 8 available." in _texts(at.error)
    assert _qty(shop, "MILK-1L") == 100
    assert _movements(shop, "sale") == 0


def test_sale__every_bad_line_is_listed(open_page, owner, shop):
    at = _sale_lines(open_page(owner), [("RICE-5KG", None), (None, 2), ("MILK-1L", 1), ("MILK-1L", 1)])
    _submit(at, "sale", "Record sale")
    text = _texts(at.error) + _texts(at.markdown)
    assert "Line 1: Quantity is required." in text
    assert "Line 2: SKU is required." in text
    assert "Line 4: MILK-1L appears more than once" in text
    assert _movements(shop, "sale") == 0


def test_sale__empty_lines_are_refused(open_page, owner):
    at = _submit(open_page(owner), "sale", "Record sale")
    assert "Add at least one line." in _texts(at.error)


def test_sale__unknown_sku_is_refused(open_page, owner):
    at = _submit(_sale_lines(open_page(owner), [("NOPE", 1)]), "sale", "Record sale")
    assert "no product with SKU 'NOPE'" in _texts(at.error)


def test_removal__with_reason_and_note(open_page, staff, shop):
    at = open_page(staff)
    at.selectbox(key="removal_sku").select("MILK-1L")
    at.number_input(key="removal_qty").set_value(4)
    at.selectbox(key="removal_reason").select("expired")
    at.text_input(key="removal_note").input("batch 12")
    _submit(at, "removal", "Record removal")
    assert "Removal recorded (expired): MILK-1L -4 (now 96)." in _texts(at.success)
    with shop.reader() as tx:
        assert tx.scalar("SELECT reason FROM movements WHERE kind = 'removal'") == "expired: batch 12"
    assert at.selectbox(key="removal_reason").options == ["damaged", "expired", "lost", "other"]


def test_removal__more_than_on_hand_is_refused(open_page, owner, shop):
    at = open_page(owner)
    at.selectbox(key="removal_sku").select("SOAP-100")
    at.number_input(key="removal_qty").set_value(50)
    _submit(at, "removal", "Record removal")
    assert "50 requested, 8 available" in _texts(at.error)
    assert _qty(shop, "SOAP-100") == 8


def test_transfer__owner_moves_stock_between_stores(open_page, owner, shop):
    at = open_page(owner)
    at.selectbox(key="transfer_to").select("S2")
    at.selectbox(key="transfer_sku").select("RICE-5KG")
    at.number_input(key="transfer_qty").set_value(10)
    _submit(at, "transfer", "Transfer")
    assert "Transferred 10 of RICE-5KG from S1 to S2." in _texts(at.success)
    assert (_qty(shop, "RICE-5KG"), _qty(shop, "RICE-5KG", "S2")) == (20, 10)


def test_transfer__more_than_on_hand_is_refused(open_page, owner, shop):
    at = open_page(owner)
    at.selectbox(key="transfer_sku").select("SOAP-100")
    at.number_input(key="transfer_qty").set_value(9)
    _submit(at, "transfer", "Transfer")
    assert "9 requested, 8 available" in _texts(at.error)
    assert _qty(shop, "SOAP-100", "S2") == 0


def test_transfer__staff_with_one_store_has_no_transfer_form(open_page, staff):
    at = open_page(staff)
    assert "A transfer needs a second store you are assigned to." in _texts(at.info)
    assert at.selectbox(key="stock_store").options == ["S1 - Main Street"]  # code and name


def test_transfer__staff_assigned_to_both_stores_may_transfer(open_page, shop):
    add_user(shop, SYSTEM, "two@shop.test", "correct horse 42", "staff", name="Two Stores", stores=["S1", "S2"])
    at = open_page(actor_for(shop, "two@shop.test"))
    at.selectbox(key="transfer_sku").select("MILK-1L")
    at.number_input(key="transfer_qty").set_value(5)
    _submit(at, "transfer", "Transfer")
    assert "Transferred 5 of MILK-1L from S1 to S2." in _texts(at.success)
    assert _qty(shop, "MILK-1L", "S2") == 5
