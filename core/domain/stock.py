"""Stock per (store, product) and the movements ledger.

Invariant: for every (store, product), ``stock.quantity`` equals the sum of its movement deltas and is never
negative; every stock change bumps ``stock.version`` by exactly 1. Both hold because ``move`` is the only code
that changes a quantity: it updates the stock row with a guard (``quantity + delta >= 0``) and appends the
movement with ``quantity_after`` in the same transaction. A guard that fails is a refusal naming what is
available, and the whole operation (every line of a sale, both sides of a transfer) rolls back.
"""

from __future__ import annotations

from typing import Any

from core.base.errors import Conflict, ConflictError, InsufficientStock, ValidationError
from core.base.permissions import Actor, require
from core.base.validate import clean_int, clean_quantity, clean_sku, clean_text
from core.db import Database, Tx
from core.db.sql import Params
from core.domain.lookups import product_by_sku, store_by_code, vendor_id
from core.domain.ops import Change, run
from core.domain.reading import public_read, read, scope, visible_store

REMOVAL_REASONS = ("damaged", "expired", "lost", "other")


def move(
    tx: Tx, actor: Actor, store: dict[str, Any], product: dict[str, Any], delta: int, kind: str,
    *, reason: str | None = None, vendor: int | None = None, order_id: int | None = None,
    client_op_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Change one stock quantity by ``delta`` and append its ledger row. Raises ``InsufficientStock``."""
    tx.execute(
        "INSERT INTO stock (store_id, product_id, updated_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        [store["id"], product["id"], actor.email],
    )
    row = tx.one(
        "UPDATE stock SET quantity = quantity + $3, version = version + 1, updated_at = now(), updated_by = $4"
        " WHERE store_id = $1 AND product_id = $2 AND quantity + $3 >= 0 RETURNING quantity, version",
        [store["id"], product["id"], delta, actor.email],
    )
    if row is None:
        available = tx.scalar(
            "SELECT quantity FROM stock WHERE store_id = $1 AND product_id = $2", [store["id"], product["id"]]
        )
        raise InsufficientStock(store["code"], product["sku"], -delta, int(available or 0))
    movement_id = tx.scalar(
        "INSERT INTO movements (store_id, product_id, kind, delta, quantity_after, reason, vendor_id, order_id,"
        " actor, client_op_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        [store["id"], product["id"], kind, delta, row[0], reason, vendor, order_id, actor.email, client_op_id],
    )
    return {
        "id": int(movement_id),
        "store": store["code"],
        "sku": product["sku"],
        "kind": kind,
        "delta": delta,
        "quantity_after": int(row[0]),
        "version": int(row[1]),
    }


def stock_row(tx: Tx, store_id: int, product_id: int) -> dict[str, Any]:
    """The stock row, or quantity 0 at version 1 when none exists yet (a row is created on first change)."""
    rows = tx.dicts(
        "SELECT quantity, version, updated_at, updated_by FROM stock WHERE store_id = $1 AND product_id = $2",
        [store_id, product_id],
    )
    return rows[0] if rows else {"quantity": 0, "version": 1, "updated_at": None, "updated_by": None}


def scoped_store(tx: Tx, actor: Actor, action: str, code: str, attempted: Any = None) -> dict[str, Any]:
    store = store_by_code(tx, code)
    require(
        actor,
        action,
        store["id"],
        store_label=store["code"],
        entity="store",
        entity_id=store["code"],
        attempted=attempted,
    )
    if not store["active"]:
        raise ValidationError.single("store", f"Store {store['code']} is deactivated.")
    return store


def active_product(tx: Tx, sku: str) -> dict[str, Any]:
    product = product_by_sku(tx, clean_sku(sku))
    if not product["active"]:
        raise ValidationError.single("sku", f"Product {product['sku']} is deactivated.")
    return product


def apply_count(
    tx: Tx,
    actor: Actor,
    store: dict[str, Any],
    product: dict[str, Any],
    quantity: int,
    expected_version: int | None,
    *,
    reason: str | None = None,
    client_op_id: str | None = None,
) -> dict[str, Any] | None:
    """Inside ``tx``: SET the counted quantity; the difference becomes an ``adjustment``. ``None`` if equal.

    Raises ``ConflictError`` when ``expected_version`` is given and stale.
    """
    current = stock_row(tx, store["id"], product["id"])
    if expected_version is not None and current["version"] != expected_version:
        conflict = Conflict(
            "stock",
            f"{product['sku']}@{store['code']}",
            expected_version,
            {
                "quantity": current["quantity"],
                "version": current["version"],
                "updated_by": current["updated_by"],
                "updated_at": current["updated_at"],
            },
        )
        raise ConflictError(
            f"The count of {product['sku']} in {store['code']} was changed by {current['updated_by'] or 'someone'}"
            " after you loaded it; nothing was saved.",
            [conflict],
        )
    delta = quantity - int(current["quantity"])
    if delta == 0:
        return None
    return move(tx, actor, store, product, delta, "adjustment", reason=reason or "count", client_op_id=client_op_id)


def set_count(
    db: Database, actor: Actor, store: str, sku: str, quantity: Any,
    *, expected_version: int | None = None, reason: str | None = None, client_op_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Set the on-hand count of ``sku`` in ``store`` (never adds). Raises ``ValidationError``, ``NotFound``,
    ``ConflictError``, ``PermissionDenied``."""
    qty = clean_int(quantity, "quantity")

    def body(tx: Tx) -> Change[dict[str, Any]] | dict[str, Any]:
        st = scoped_store(tx, actor, "stock.count", store, {"sku": sku, "quantity": qty})
        product = active_product(tx, sku)
        moved = apply_count(tx, actor, st, product, qty, expected_version, reason=reason, client_op_id=client_op_id)
        result = {"store": st["code"], "sku": product["sku"], "quantity": qty, "movements": [moved] if moved else []}
        if not moved:  # the count was right: nothing changed, nothing to audit
            return result
        before, after = {"quantity": qty - moved["delta"]}, {"quantity": qty}
        return Change(result, entity_id=f"{product['sku']}@{st['code']}", before=before, after=after)

    return _run(db, actor, "stock.count", body, f"{sku}@{store}", client_op_id)


def _run(db: Database, actor: Actor, action: str, body: Any, entity_id: str, client_op_id: str | None) -> Any:
    """``core.domain.ops.run`` for a stock operation: entity ``stock``, permission ``action``."""
    return run(
        db, actor, action, body, entity="stock", entity_id=entity_id, permission=action, client_op_id=client_op_id
    )


def clean_lines(lines: list[tuple[str, Any]] | list[dict[str, Any]]) -> list[tuple[str, int]]:
    """Clean sale/order lines [(sku, qty)]; every problem reported at once with its line number."""
    from core.base.errors import FieldError

    cleaned: list[tuple[str, int]] = []
    errors: list[FieldError] = []
    seen: set[str] = set()
    for n, line in enumerate(lines, start=1):
        sku, qty = (line["sku"], line["quantity"]) if isinstance(line, dict) else line
        try:
            s, q = clean_sku(sku), clean_quantity(qty)
        except ValidationError as exc:
            errors.extend(FieldError(e.field, f"Line {n}: {e.message}", n) for e in exc.errors)
            continue
        if s in seen:
            errors.append(FieldError("sku", f"Line {n}: {s} appears more than once; put it on one line.", n))
        seen.add(s)
        cleaned.append((s, q))
    if not cleaned and not errors:
        errors.append(FieldError("lines", "Add at least one line."))
    if errors:
        raise ValidationError(errors=errors)
    return cleaned


_SINGLE = {"stock.in": ("stock_in", 1), "stock.removal": ("removal", -1)}  # action: (movement kind, sign)


def _single(
    db: Database, actor: Actor, action: str, store: str, sku: str, qty: int, why: str | None, **more: Any
) -> dict[str, Any]:
    """One movement of one product in one store (``_SINGLE``); ``more`` is ``vendor`` and ``client_op_id``."""
    kind, sign = _SINGLE[action]
    vendor, client_op_id = more.get("vendor"), more.get("client_op_id")

    def body(tx: Tx) -> Change[dict[str, Any]]:
        st = scoped_store(tx, actor, action, store, {"sku": sku, "quantity": qty})
        product = active_product(tx, sku)
        vid = vendor_id(tx, vendor) if vendor else None
        moved = move(tx, actor, st, product, sign * qty, kind, reason=why, vendor=vid, client_op_id=client_op_id)
        after = {"delta": moved["delta"], "quantity_after": moved["quantity_after"], "reason": why, "vendor": vendor}
        return Change(
            {"store": st["code"], "movements": [moved]}, entity_id=f"{product['sku']}@{st['code']}", after=after
        )

    return _run(db, actor, action, body, f"{sku}@{store}", client_op_id)


def stock_in(
    db: Database, actor: Actor, store: str, sku: str, quantity: Any,
    *, vendor: str | None = None, reason: str | None = None, client_op_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Receive ``quantity`` of ``sku`` (optionally from ``vendor``). Raises ``ValidationError``, ``NotFound``,
    ``PermissionDenied``."""
    qty, note = clean_quantity(quantity), clean_text("reason", reason, 200, required=False)
    return _single(db, actor, "stock.in", store, sku, qty, note, vendor=vendor, client_op_id=client_op_id)


def record_removal(
    db: Database, actor: Actor, store: str, sku: str, quantity: Any, reason: str,
    *, note: str | None = None, client_op_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Remove stock that left without a sale. ``reason`` is required (damaged, expired, lost, other, or free
    text). Raises ``InsufficientStock``, ``ValidationError``, ``NotFound``, ``PermissionDenied``."""
    qty = clean_quantity(quantity)
    why = clean_text("reason", reason, 60)
    extra = clean_text("reason", note, 120, required=False)
    text = f"{why}: {extra}" if extra else why
    return _single(db, actor, "stock.removal", store, sku, qty, text, client_op_id=client_op_id)


def record_sale(
    db: Database, actor: Actor, store: str, lines: list[Any], *, client_op_id: str | None = None
) -> dict[str, Any]:
    """Sell several lines at once, all or nothing. ``lines`` is [(sku, qty)] or [{"sku", "quantity"}].
    Raises ``InsufficientStock`` naming what is available, ``ValidationError``, ``NotFound``, ``PermissionDenied``."""
    cleaned = clean_lines(lines)

    def body(tx: Tx) -> Change[dict[str, Any]]:
        st = scoped_store(tx, actor, "stock.sale", store, {"lines": cleaned})
        moved = [
            move(tx, actor, st, active_product(tx, sku), -qty, "sale", client_op_id=client_op_id)
            for sku, qty in cleaned
        ]
        sold = [{"sku": m["sku"], "quantity": -m["delta"], "quantity_after": m["quantity_after"]} for m in moved]
        return Change({"store": st["code"], "movements": moved}, entity_id=st["code"], after={"lines": sold})

    return _run(db, actor, "stock.sale", body, store, client_op_id)


def transfer(
    db: Database, actor: Actor, from_store: str, to_store: str, lines: list[Any], *, client_op_id: str | None = None
) -> dict[str, Any]:
    """Move stock between two stores: a ``transfer_out`` and a ``transfer_in`` per line, in one transaction.
    Staff need both stores. Raises ``InsufficientStock``, ``ValidationError``, ``NotFound``, ``PermissionDenied``."""
    cleaned = clean_lines(lines)

    def body(tx: Tx) -> Change[dict[str, Any]]:
        src = scoped_store(tx, actor, "stock.transfer", from_store, {"to": to_store, "lines": cleaned})
        dst = scoped_store(tx, actor, "stock.transfer", to_store, {"from": from_store, "lines": cleaned})
        if src["id"] == dst["id"]:
            raise ValidationError.single("to_store", "Choose two different stores for a transfer.")
        moved = []
        for sku, qty in cleaned:
            product = active_product(tx, sku)
            out = move(
                tx, actor, src, product, -qty, "transfer_out", reason=f"to {dst['code']}", client_op_id=client_op_id
            )
            back = move(
                tx, actor, dst, product, qty, "transfer_in", reason=f"from {src['code']}", client_op_id=client_op_id
            )
            moved += [out, back]
        result = {"from": src["code"], "to": dst["code"], "movements": moved}
        after = {"lines": [{"sku": s, "quantity": q} for s, q in cleaned]}
        return Change(result, entity_id=f"{src['code']}->{dst['code']}", after=after)

    return _run(db, actor, "stock.transfer", body, f"{from_store}->{to_store}", client_op_id)


@public_read
def get_stock(db: Database, actor: Actor, store: str, sku: str) -> dict[str, Any]:
    """Quantity and version of one product in one store. Raises ``NotFound``, ``PermissionDenied``."""

    def body(tx: Tx) -> dict[str, Any]:
        st, product = visible_store(tx, actor, "stock.read", store), product_by_sku(tx, sku)
        return {"store": st["code"], "sku": product["sku"], **stock_row(tx, st["id"], product["id"])}

    return read(db, actor, "stock.read", body, entity="stock", entity_id=f"{sku}@{store}", name="stock.get")


@public_read
def recent_movements(db: Database, actor: Actor, store: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The latest movements, newest first, of ``store`` (or every store ``actor`` may see). Raises as ``get_stock``."""
    params = Params(clean_int(limit, "limit", minimum=1, maximum=10_000))  # $1: the limit

    def body(tx: Tx) -> list[dict[str, Any]]:
        where = scope(tx, actor, "stock.read", store).sql(params, "m.store_id")
        return tx.dicts(
            "SELECT m.id, m.created_at, s.code AS store, p.sku, p.name, m.kind, m.delta, m.quantity_after, m.reason,"
            " m.actor FROM movements m JOIN stores s ON s.id = m.store_id JOIN products p ON p.id = m.product_id"
            f" WHERE {where} ORDER BY m.id DESC LIMIT $1",
            params.values,
        )

    return read(db, actor, "stock.read", body, entity="stock", entity_id=store or "all", name="stock.movements")
