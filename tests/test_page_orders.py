"""The Orders page (AppTest): create with lines (stock reduced, price snapshot), list by status, ship, cancel
(stock restored), and the refusals."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from core.base.permissions import SYSTEM
from core.domain.catalog import update_product
from core.domain.orders import cancel_order, create_order, order_lines
from core.domain.stock import get_stock
from tests.conftest import page_opener

pytestmark = pytest.mark.slow  # AppTest runs of a page: about 1-3 s of CPU each

PAGE = "orders.py"


@pytest.fixture
def open_page(shop, app_db):
    """``open_page(actor)``: the orders page run once for ``actor`` against the shop."""
    return page_opener(PAGE)


def _texts(elements):
    return " | ".join(str(e.value) for e in elements)


def _qty(db, sku, store="S1"):
    return get_stock(db, SYSTEM, store, sku)["quantity"]


def _create(at, lines, customer=""):
    rows = {n: {"sku": sku, "quantity": qty} for n, (sku, qty) in enumerate(lines)}
    at.session_state[f"order_lines_{at.session_state['order_round']}"] = {
        "edited_rows": rows,
        "added_rows": [],
        "deleted_rows": [],
    }
    if customer:
        at.text_input(key="order_customer").input(customer)
    at.button(key="FormSubmitter:new_order-Create order").click().run()
    assert not at.exception
    return at


def _order_table(at):
    return next(d.value for d in at.dataframe if "status" in d.value.columns)


def test_create_order__reduces_stock_at_once_and_snapshots_prices(open_page, owner, shop):
    at = _create(open_page(owner), [("MILK-1L", 4), ("RICE-5KG", 1)], customer="Asha")
    assert "Order #1 created: 2 line(s), total 674.00." in _texts(at.success)
    assert (_qty(shop, "MILK-1L"), _qty(shop, "RICE-5KG")) == (96, 29)
    update_product(shop, owner, "MILK-1L", 1, unit_price="60")
    assert [line["unit_price"] for line in order_lines(shop, owner, 1)] == [Decimal("56.00"), Decimal("450.00")]
    table = _order_table(at)
    assert list(table["id"]) == [1] and list(table["customer"]) == ["Asha"] and list(table["status"]) == ["pending"]
    assert at.session_state["order_round"] == 1


def test_create_order__short_line_creates_nothing(open_page, owner, shop):
    at = _create(open_page(owner), [("MILK-1L", 4), ("SOAP-100", 20)])
    assert "Not enough stock of SOAP-100" in _texts(at.error)
    assert _qty(shop, "MILK-1L") == 100
    with shop.reader() as tx:
        assert tx.scalar("SELECT count(*) FROM orders") == 0


def test_create_order__without_lines_is_refused(open_page, owner):
    at = _create(open_page(owner), [])
    assert "Add at least one line." in _texts(at.error)


def test_ship_order__pending_becomes_shipped(open_page, owner, shop):
    create_order(shop, owner, "S1", [("MILK-1L", 2)])
    at = open_page(owner)
    at.button(key="order_ship").click().run()
    assert not at.exception
    assert "Order #1 shipped." in _texts(at.success)
    assert list(_order_table(at)["status"]) == ["shipped"]
    assert at.button(key="order_ship").disabled and at.button(key="order_cancel").disabled
    assert _qty(shop, "MILK-1L") == 98


def test_cancel_order__restores_stock(open_page, staff, shop):
    create_order(shop, staff, "S1", [("MILK-1L", 2), ("SOAP-100", 3)])
    at = open_page(staff)
    at.button(key="order_cancel").click().run()
    assert not at.exception
    assert "Order #1 cancelled; 2 line(s) back in stock." in _texts(at.success)
    assert (_qty(shop, "MILK-1L"), _qty(shop, "SOAP-100")) == (100, 8)


def test_ship_order__cancelled_meanwhile_shows_cancelled_and_is_not_shipped(open_page, owner, shop):
    """Someone else (maybe through another app process) cancels the order after this page was drawn: the click's
    run reads the order afresh (reads are keyed by the newest change), shows it cancelled and ships nothing. A click
    that still races the cancel is refused by core (tests/test_orders.py)."""
    create_order(shop, owner, "S1", [("MILK-1L", 2)])
    at = open_page(owner)
    cancel_order(shop, owner, 1)  # someone else, a moment after the page was drawn
    at.button(key="order_ship").click().run()
    assert not at.exception and not at.error
    assert list(_order_table(at)["status"]) == ["cancelled"]
    assert at.button(key="order_ship").disabled
    assert any("Order #1 is cancelled" in c.value for c in at.caption)
    assert _qty(shop, "MILK-1L") == 100


def test_order_list__status_filter(open_page, owner, shop):
    create_order(shop, owner, "S1", [("MILK-1L", 1)])
    create_order(shop, owner, "S1", [("MILK-1L", 1)])
    cancel_order(shop, owner, 1)
    at = open_page(owner)
    assert sorted(_order_table(at)["id"]) == [1, 2]
    at.segmented_control(key="orders_status").set_value("pending").run()
    assert list(_order_table(at)["id"]) == [2]
    at.segmented_control(key="orders_status").set_value("cancelled").run()
    assert list(_order_table(at)["id"]) == [1]
    assert "only pending orders" in _texts(at.caption)
    at.segmented_control(key="orders_status").set_value("shipped").run()
    assert "No orders with this status." in _texts(at.caption)


def test_orders_page__staff_sees_only_own_store(open_page, staff, owner, shop):
    from core.domain.stock import stock_in

    stock_in(shop, owner, "S2", "MILK-1L", 5)
    create_order(shop, owner, "S2", [("MILK-1L", 1)])
    at = open_page(staff)
    assert at.selectbox(key="orders_store").options == ["S1 - Main Street"]
    assert "No orders with this status." in _texts(at.caption)


def test_create_order__resubmitted_operation_is_applied_once(open_page, owner, shop):
    at = open_page(owner)
    at.session_state["_op_id:new_order"] = "op-order-1"
    _create(at, [("MILK-1L", 4)])
    at.session_state["_op_id:new_order"] = "op-order-1"
    _create(at, [("MILK-1L", 4)])
    assert "already done" in _texts(at.info)
    assert _qty(shop, "MILK-1L") == 96


def test_create_order__double_click_is_applied_once(open_page, owner, shop):
    at = _create(open_page(owner), [("MILK-1L", 4)])
    at.session_state["order_round"] = 0  # the second click still carries the first editor's lines
    at.session_state["_last_ok:new_order"] = {**at.session_state["_last_ok:new_order"], "at": time.monotonic()}
    _create(at, [("MILK-1L", 4)])
    assert "already done" in _texts(at.info)
    assert _qty(shop, "MILK-1L") == 96
    with shop.reader() as tx:
        assert tx.scalar("SELECT count(*) FROM orders") == 1
