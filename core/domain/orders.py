"""Customer orders: create (stock reduced at once, unit price snapshotted), ship, cancel (stock restored).

Status moves only ``pending -> shipped`` or ``pending -> cancelled``; the status change is a guarded UPDATE, so
two clerks shipping and cancelling the same order at once end with exactly one of them applied.
"""

from __future__ import annotations

from typing import Any

from core.base.errors import InvalidTransition, NotFound
from core.base.permissions import Actor, require
from core.base.validate import clean_int, clean_text
from core.db import Database, Tx
from core.db.sql import Params, amount_sql
from core.domain.lookups import store_by_id
from core.domain.ops import Change, run
from core.domain.reading import public_read, read, scope, visible_store
from core.domain.stock import active_product, clean_lines, move, scoped_store

STATUSES = ("pending", "shipped", "cancelled")


def create_order(
    db: Database,
    actor: Actor,
    store: str,
    lines: list[Any],
    *,
    customer: str | None = None,
    client_op_id: str | None = None,
) -> dict[str, Any]:
    """Create a pending order; each line's stock is reduced now (an ``order`` movement). All or nothing.
    Raises ``InsufficientStock``, ``ValidationError``, ``NotFound``, ``PermissionDenied``."""
    cleaned = clean_lines(lines)
    who = clean_text("customer", customer, 100, required=False)

    def body(tx: Tx) -> Change[dict[str, Any]]:
        st = scoped_store(tx, actor, "order.create", store, {"lines": cleaned})
        order_id = int(
            tx.scalar(
                "INSERT INTO orders (store_id, customer, created_by, updated_by) VALUES ($1, $2, $3, $3) RETURNING id",
                [st["id"], who, actor.email],
            )
        )
        out_lines = []
        for n, (sku, qty) in enumerate(cleaned, start=1):
            product = active_product(tx, sku)
            tx.execute(
                "INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_price) VALUES ($1, $2, $3, $4, $5)",
                [order_id, n, product["id"], qty, product["unit_price"]],
            )
            moved = move(tx, actor, st, product, -qty, "order", order_id=order_id, client_op_id=client_op_id)
            out_lines.append(
                {
                    "sku": product["sku"],
                    "quantity": qty,
                    "unit_price": str(product["unit_price"]),
                    "quantity_after": moved["quantity_after"],
                }
            )
        result = {"order_id": order_id, "store": st["code"], "status": "pending", "lines": out_lines}
        return Change(result, entity_id=order_id, after=result)

    return run(
        db,
        actor,
        "order.create",
        body,
        entity="order",
        entity_id=store,
        permission="order.create",
        client_op_id=client_op_id,
    )


def _restock(tx: Tx, actor: Actor, store: dict[str, Any], order_id: int, client_op_id: str | None) -> list[Any]:
    """Put every line of a cancelled order back on the shelf (``order_cancel`` movements)."""
    lines = tx.dicts(
        "SELECT l.product_id, l.quantity, p.sku FROM order_lines l JOIN products p ON p.id = l.product_id"
        " WHERE l.order_id = $1 ORDER BY l.line_no",
        [order_id],
    )
    return [
        move(
            tx,
            actor,
            store,
            {"id": line["product_id"], "sku": line["sku"]},
            line["quantity"],
            "order_cancel",
            order_id=order_id,
            client_op_id=client_op_id,
        )
        for line in lines
    ]


def _transition(db: Database, actor: Actor, order_id: Any, new_status: str, client_op_id: str | None) -> dict[str, Any]:
    action = "order.ship" if new_status == "shipped" else "order.cancel"
    oid = clean_int(order_id, "order", minimum=1)

    def body(tx: Tx) -> Change[dict[str, Any]]:
        rows = tx.dicts("SELECT id, store_id, status, version FROM orders WHERE id = $1", [oid])
        if not rows:
            raise NotFound(f"There is no order {oid}.")
        order = rows[0]
        st = store_by_id(tx, order["store_id"])
        require(actor, action, st["id"], store_label=st["code"], entity="order", entity_id=str(oid))
        changed = tx.scalar(
            "UPDATE orders SET status = $2, version = version + 1, updated_at = now(), updated_by = $3"
            " WHERE id = $1 AND status = 'pending' RETURNING version",
            [oid, new_status, actor.email],
        )
        if changed is None:
            verb = "shipped" if new_status == "shipped" else "cancelled"
            raise InvalidTransition(f"Order {oid} is {order['status']}; only pending orders can be {verb}.")
        movements = _restock(tx, actor, st, oid, client_op_id) if new_status == "cancelled" else []
        result = {"order_id": oid, "store": st["code"], "status": new_status, "movements": movements}
        return Change(result, entity_id=oid, before={"status": "pending"}, after={"status": new_status})

    return run(db, actor, action, body, entity="order", entity_id=oid, permission=action, client_op_id=client_op_id)


def ship_order(db: Database, actor: Actor, order_id: Any, *, client_op_id: str | None = None) -> dict[str, Any]:
    """Mark a pending order shipped. Raises ``InvalidTransition``, ``NotFound``, ``PermissionDenied``."""
    return _transition(db, actor, order_id, "shipped", client_op_id)


def cancel_order(db: Database, actor: Actor, order_id: Any, *, client_op_id: str | None = None) -> dict[str, Any]:
    """Cancel a pending order and put its stock back. Raises ``InvalidTransition``, ``NotFound``,
    ``PermissionDenied``."""
    return _transition(db, actor, order_id, "cancelled", client_op_id)


@public_read
def list_orders(
    db: Database, actor: Actor, *, store: str | None = None, status: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Orders newest first with their totals, limited to what ``actor`` may see.
    Raises ``ValidationError`` (limit), ``NotFound``, ``PermissionDenied``."""
    limit = clean_int(limit, "limit", minimum=1, maximum=10_000)

    def body(tx: Tx) -> list[dict[str, Any]]:
        params = Params(limit)
        params.where(scope(tx, actor, "stock.read", store).sql(params, "o.store_id"))
        if status:
            params.where("o.status = {}", status)
        return tx.dicts(
            "SELECT o.id, s.code AS store, o.status, o.customer, o.created_by, o.created_at, o.updated_at,"
            " count(l.line_no) AS lines, coalesce(sum(l.quantity), 0) AS units,"
            f" coalesce(sum({amount_sql('l.quantity', 'l.unit_price')}), 0) AS total"
            " FROM orders o JOIN stores s ON s.id = o.store_id LEFT JOIN order_lines l ON l.order_id = o.id"
            f" WHERE {params.conditions()}"
            " GROUP BY o.id, s.code, o.status, o.customer, o.created_by, o.created_at, o.updated_at"
            " ORDER BY o.id DESC LIMIT $1",
            params.values,
        )

    return read(db, actor, "stock.read", body, entity="order", entity_id=store or "all", name="order.list")


@public_read
def order_lines(db: Database, actor: Actor, order_id: int) -> list[dict[str, Any]]:
    """The lines of one order with their amounts. Raises ``NotFound``, ``PermissionDenied`` (another store's)."""

    def body(tx: Tx) -> list[dict[str, Any]]:
        code = tx.scalar("SELECT s.code FROM orders o JOIN stores s ON s.id = o.store_id WHERE o.id = $1", [order_id])
        if code is None:
            raise NotFound(f"There is no order {order_id}.")
        visible_store(tx, actor, "stock.read", code)
        return tx.dicts(
            f"SELECT l.line_no, p.sku, p.name, l.quantity, l.unit_price, {amount_sql('l.quantity', 'l.unit_price')}"
            " AS amount"
            " FROM order_lines l JOIN products p ON p.id = l.product_id WHERE l.order_id = $1 ORDER BY l.line_no",
            [order_id],
        )

    return read(db, actor, "stock.read", body, entity="order", entity_id=order_id, name="order.lines")
