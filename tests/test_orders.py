"""Orders: create (stock reduced, unit price snapshotted), ship, cancel (stock restored), refused transitions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.base.errors import InsufficientStock, InvalidTransition, NotFound, PermissionDenied, ValidationError
from core.base.permissions import SYSTEM
from core.domain.catalog import update_product
from core.domain.check import check
from core.domain.orders import cancel_order, create_order, list_orders, order_lines, ship_order
from core.domain.stock import get_stock
from tests.conftest import table_rows


def qty(db, store, sku):
    return get_stock(db, SYSTEM, store, sku)["quantity"]


def state(db):
    with db.reader() as tx:
        return {t: table_rows(tx, t) for t in ("stock", "movements", "orders", "order_lines")}


def status(db, order_id):
    with db.reader() as tx:
        return tx.scalar("SELECT status FROM orders WHERE id = $1", [order_id])


def test_create_order__reduces_stock_and_snapshots_the_unit_price(shop):
    order = create_order(shop, SYSTEM, "S1", [("RICE-5KG", 2), ("MILK-1L", 5)], customer="Mrs Rao")
    assert order["status"] == "pending"
    assert (qty(shop, "S1", "RICE-5KG"), qty(shop, "S1", "MILK-1L")) == (28, 95)
    update_product(shop, SYSTEM, "RICE-5KG", None, unit_price="999")
    lines = order_lines(shop, SYSTEM, order["order_id"])
    assert [(ln["sku"], ln["quantity"], ln["unit_price"]) for ln in lines] == [
        ("RICE-5KG", 2, Decimal("450.00")),
        ("MILK-1L", 5, Decimal("56.00")),
    ]
    (listed,) = list_orders(shop, SYSTEM)
    assert (listed["customer"], listed["units"], listed["total"]) == ("Mrs Rao", 7, Decimal("1180.00"))
    with shop.reader() as tx:
        kinds = tx.all("SELECT kind, delta, order_id FROM movements WHERE kind = 'order' ORDER BY id")
    assert kinds == [("order", -2, order["order_id"]), ("order", -5, order["order_id"])]
    assert check(shop)["ok"]


def test_create_order__insufficient_stock_writes_nothing(shop):
    before = state(shop)
    with pytest.raises(InsufficientStock, match="8 available"):
        create_order(shop, SYSTEM, "S1", [("RICE-5KG", 1), ("SOAP-100", 9)])
    assert state(shop) == before


def test_create_order__bad_lines_are_refused(shop):
    with pytest.raises(ValidationError):
        create_order(shop, SYSTEM, "S1", [("RICE-5KG", -1)])
    with pytest.raises(ValidationError, match="at least one line"):
        create_order(shop, SYSTEM, "S1", [])
    with pytest.raises(NotFound):
        create_order(shop, SYSTEM, "S1", [("NOPE", 1)])
    assert list_orders(shop, SYSTEM) == []


def test_ship_order__moves_pending_to_shipped_without_touching_stock(shop):
    order_id = create_order(shop, SYSTEM, "S1", [("MILK-1L", 5)])["order_id"]
    result = ship_order(shop, SYSTEM, order_id)
    assert (result["status"], result["movements"]) == ("shipped", [])
    assert status(shop, order_id) == "shipped"
    assert qty(shop, "S1", "MILK-1L") == 95


def test_cancel_order__restores_stock(shop):
    order_id = create_order(shop, SYSTEM, "S1", [("MILK-1L", 5), ("SOAP-100", 8)])["order_id"]
    assert qty(shop, "S1", "SOAP-100") == 0
    result = cancel_order(shop, SYSTEM, str(order_id))
    assert [(m["sku"], m["kind"], m["delta"]) for m in result["movements"]] == [
        ("MILK-1L", "order_cancel", 5),
        ("SOAP-100", "order_cancel", 8),
    ]
    assert (qty(shop, "S1", "MILK-1L"), qty(shop, "S1", "SOAP-100")) == (100, 8)
    assert status(shop, order_id) == "cancelled"
    assert check(shop)["ok"]


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        (ship_order, ship_order, "is shipped; only pending orders can be shipped"),
        (ship_order, cancel_order, "is shipped; only pending orders can be cancelled"),
        (cancel_order, ship_order, "is cancelled; only pending orders can be shipped"),
        (cancel_order, cancel_order, "is cancelled; only pending orders can be cancelled"),
    ],
)
def test_order__any_other_transition_is_refused_and_writes_nothing(shop, first, second, message):
    order_id = create_order(shop, SYSTEM, "S1", [("MILK-1L", 5)])["order_id"]
    first(shop, SYSTEM, order_id)
    before = state(shop)
    with pytest.raises(InvalidTransition, match=message):
        second(shop, SYSTEM, order_id)
    assert state(shop) == before


def test_order__unknown_id_is_not_found(shop):
    with pytest.raises(NotFound, match="no order 999"):
        ship_order(shop, SYSTEM, 999)
    with pytest.raises(ValidationError):
        cancel_order(shop, SYSTEM, "abc")


def test_order__staff_work_in_their_store_but_not_another(shop, staff):
    order_id = create_order(shop, staff, "S1", [("MILK-1L", 1)])["order_id"]
    ship_order(shop, staff, order_id)
    from core.domain.stock import stock_in

    stock_in(shop, SYSTEM, "S2", "MILK-1L", 3)
    other = create_order(shop, SYSTEM, "S2", [("MILK-1L", 1)])["order_id"]
    with pytest.raises(PermissionDenied, match="not assigned to store S2"):
        cancel_order(shop, staff, other)
    with pytest.raises(PermissionDenied):
        order_lines(shop, staff, other)
    assert status(shop, other) == "pending"
    assert [o["id"] for o in list_orders(shop, staff)] == [order_id]


def test_list_orders__filters_by_store_and_status(shop):
    a = create_order(shop, SYSTEM, "S1", [("MILK-1L", 1)])["order_id"]
    b = create_order(shop, SYSTEM, "S1", [("MILK-1L", 1)])["order_id"]
    ship_order(shop, SYSTEM, a)
    assert [o["id"] for o in list_orders(shop, SYSTEM, store="S1", status="pending")] == [b]
    assert [o["id"] for o in list_orders(shop, SYSTEM)] == [b, a]
