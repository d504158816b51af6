"""Stores, vendors and the central product catalog.

Products are versioned: ``update_product`` takes the version the caller read and refuses a stale one with a
``ConflictError`` carrying the current row; an accepted change bumps ``version`` by exactly 1. Only the owner
changes any of this (``core.base.permissions``); every change writes its audit row in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.base.errors import Conflict, ConflictError, ValidationError
from core.base.permissions import Actor, require
from core.base.validate import (
    CATEGORY_MAX,
    NAME_MAX,
    clean_int,
    clean_price,
    clean_sku,
    clean_store_code,
    clean_text,
    collect,
)
from core.db import Database, Tx
from core.db.sql import Params
from core.domain import audit
from core.domain.lookups import product_by_sku, store_by_code, vendor_id
from core.domain.ops import Change, run
from core.domain.reading import public_read, read, scope

EDITABLE_PRODUCT_FIELDS = ("name", "category", "unit_price", "reorder_level", "vendor", "active")


_Step = tuple[Callable[[Tx], dict[str, Any]], Callable[[], list[Any]], str]  # fetch, clean, UPDATE


# ---- stores ---------------------------------------------------------------------------------------------------


def _add_named(
    db: Database, actor: Actor, entity: str, checks: dict[str, Any], attempted: dict[str, Any], sql: tuple[str, str]
) -> dict[str, Any]:
    """Create one store or vendor. ``checks`` clean the input (after the permission; the first is the key),
    ``sql`` is (find a row with that key, case-insensitive; insert the cleaned values in ``checks``' order).
    Raises ``ValidationError`` (bad or taken key), ``PermissionDenied``."""
    key = next(iter(checks))
    find, insert = sql

    def body(tx: Tx) -> Change[dict[str, Any]]:
        values = collect(checks)
        if tx.scalar(find, [values[key]]) is not None:
            taken = "A store with code" if entity == "store" else "A vendor named"
            raise ValidationError.single(key, f"{taken} {values[key]} already exists.")
        row = tx.dicts(insert, list(values.values()))[0]
        return Change(row, entity_id=row[key], after=row)

    raw = attempted.pop(key)
    return run(
        db,
        actor,
        f"{entity}.add",
        body,
        entity=entity,
        entity_id=raw,
        permission=f"{entity}.manage",
        attempted=attempted,
    )


def add_store(db: Database, actor: Actor, code: str, name: str) -> dict[str, Any]:
    """Create a store. Raises ``ValidationError`` (bad or duplicate code), ``PermissionDenied``."""
    checks = {"code": lambda: clean_store_code(code), "name": lambda: clean_text("name", name, NAME_MAX)}
    find = "SELECT id FROM stores WHERE upper(code) = upper($1)"
    insert = "INSERT INTO stores (code, name) VALUES ($1, $2) RETURNING id, code, name, active, version"
    return _add_named(db, actor, "store", checks, {"code": code, "name": name}, (find, insert))


def _update_named(
    db: Database, actor: Actor, entity: str, key: str, attempted: dict[str, Any], step: _Step
) -> dict[str, Any]:
    """Change one store or vendor. ``step`` is (``fetch(tx)``: the row before; ``clean()``: the new values, cleaned
    after the permission; the UPDATE of row ``$1`` with them as ``$2``...). Raises ``NotFound``,
    ``ValidationError``, ``PermissionDenied``."""
    fetch, clean, update = step

    def body(tx: Tx) -> Change[dict[str, Any]]:
        values = clean()
        before = fetch(tx)
        after = tx.dicts(update, [before["id"], *values])[0]
        return Change(after, entity_id=before["code" if entity == "store" else "name"], before=before, after=after)

    permission = f"{entity}.manage"
    return run(
        db, actor, f"{entity}.update", body, entity=entity, entity_id=key, permission=permission, attempted=attempted
    )


def update_store(
    db: Database, actor: Actor, code: str, *, name: str | None = None, active: bool | None = None
) -> dict[str, Any]:
    """Rename and/or (de)activate a store. Raises ``NotFound``, ``ValidationError``, ``PermissionDenied``."""
    update = (
        "UPDATE stores SET name = coalesce($2, name), active = coalesce($3, active), version = version + 1,"
        " updated_at = now() WHERE id = $1 RETURNING id, code, name, active, version"
    )

    def clean() -> list[Any]:
        return [clean_text("name", name, NAME_MAX) if name is not None else None, active]

    step = (lambda tx: store_by_code(tx, code), clean, update)
    return _update_named(db, actor, "store", code, {"name": name, "active": active}, step)


@public_read
def list_stores(db: Database, actor: Actor | None = None, *, include_inactive: bool = False) -> list[dict[str, Any]]:
    """Stores visible to ``actor`` (all for the owner or no actor), ordered by code."""

    def body(tx: Tx) -> list[dict[str, Any]]:
        params = Params(include_inactive)
        visible = "TRUE" if actor is None else scope(tx, actor, "stock.read").sql(params, "id")
        return tx.dicts(
            f"SELECT id, code, name, active, version FROM stores WHERE (active OR $1) AND {visible} ORDER BY code",
            params.values,
        )

    return read(db, actor, None, body, entity="store", name="store.list")


# ---- vendors --------------------------------------------------------------------------------------------------


def add_vendor(db: Database, actor: Actor, name: str, contact: str | None = None) -> dict[str, Any]:
    """Create a vendor. Raises ``ValidationError`` (bad or duplicate name), ``PermissionDenied``."""
    checks = {
        "name": lambda: clean_text("name", name, NAME_MAX),
        "contact": lambda: clean_text("contact", contact, 200, required=False),
    }
    find = "SELECT id FROM vendors WHERE lower(name) = lower($1)"
    insert = "INSERT INTO vendors (name, contact) VALUES ($1, $2) RETURNING id, name, contact, active"
    return _add_named(db, actor, "vendor", checks, {"name": name, "contact": contact}, (find, insert))


def update_vendor(
    db: Database, actor: Actor, name: str, *, contact: str | None = None, active: bool | None = None
) -> dict[str, Any]:
    """Change a vendor's contact or active flag. Raises ``NotFound``, ``PermissionDenied``."""

    def fetch(tx: Tx) -> dict[str, Any]:
        return tx.dicts("SELECT id, name, contact, active FROM vendors WHERE id = $1", [vendor_id(tx, name)])[0]

    def clean() -> list[Any]:
        new_contact = clean_text("contact", contact, 200, required=False) if contact is not None else None
        return [new_contact, active, contact is not None]

    update = (
        "UPDATE vendors SET contact = CASE WHEN $4 THEN $2 ELSE contact END, active = coalesce($3, active)"
        " WHERE id = $1 RETURNING id, name, contact, active"
    )
    return _update_named(db, actor, "vendor", name, {"contact": contact, "active": active}, (fetch, clean, update))


@public_read
def list_vendors(db: Database, *, include_inactive: bool = False) -> list[dict[str, Any]]:
    """Vendors by name (readable by every signed-in role)."""
    return read(
        db,
        None,
        None,
        lambda tx: tx.dicts(
            "SELECT id, name, contact, active FROM vendors WHERE active OR $1 ORDER BY lower(name)", [include_inactive]
        ),
        entity="vendor",
        name="vendor.list",
    )


# ---- products -------------------------------------------------------------------------------------------------


def _product_checks(fields: dict[str, Any], *, new: bool) -> dict[str, Any]:
    checks = {}
    if new or "name" in fields:
        checks["name"] = lambda: clean_text("name", fields.get("name"), NAME_MAX)
    if new or "category" in fields:
        checks["category"] = lambda: clean_text("category", fields.get("category"), CATEGORY_MAX)
    if new or "unit_price" in fields:
        checks["unit_price"] = lambda: clean_price(fields.get("unit_price"))
    if "reorder_level" in fields or new:
        checks["reorder_level"] = lambda: clean_int(
            10 if fields.get("reorder_level") in (None, "") else fields["reorder_level"], "reorder_level"
        )
    if "vendor" in fields:
        checks["vendor"] = lambda: clean_text("vendor", fields.get("vendor"), NAME_MAX, required=False)
    if "active" in fields:
        checks["active"] = lambda: bool(fields["active"])
    return collect(checks)


def create_product(
    db: Database,
    actor: Actor,
    sku: str,
    name: str,
    category: str,
    unit_price: Any,
    reorder_level: Any = 10,
    vendor: str | None = None,
) -> dict[str, Any]:
    """Add a product to the catalog (a new vendor name is created). Raises ``ValidationError`` listing every
    bad field or a duplicate SKU, ``PermissionDenied``."""
    raw = {"name": name, "category": category, "unit_price": unit_price, "reorder_level": reorder_level}
    raw["vendor"] = vendor

    def body(tx: Tx) -> Change[dict[str, Any]]:
        values = collect({"sku": lambda: clean_sku(sku), "fields": lambda: _product_checks(raw, new=True)})
        fields, clean = values["fields"], values["sku"]
        if tx.scalar("SELECT id FROM products WHERE sku = $1", [clean]) is not None:
            raise ValidationError.single("sku", f"A product with SKU {clean} already exists.")
        vid = vendor_id(tx, fields.get("vendor"), create=True)
        columns = [fields["name"], fields["category"], fields["unit_price"], fields["reorder_level"], vid]
        tx.execute(
            "INSERT INTO products (sku, name, category, unit_price, reorder_level, vendor_id, updated_by)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [clean, *columns, actor.email],
        )
        row = product_by_sku(tx, clean)
        return Change(row, entity_id=clean, after=_public(row))

    return run(
        db, actor, "product.create", body, entity="product", entity_id=sku, permission="product.create", attempted=raw
    )


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: row[k] for k in ("sku", "name", "category", "unit_price", "reorder_level", "vendor", "active", "version")
    }


def product_conflict(tx: Tx, sku: str, expected_version: int | None) -> Conflict:
    current = product_by_sku(tx, sku)
    return Conflict(
        "product",
        sku,
        expected_version,
        _public(current) | {"updated_by": current["updated_by"], "updated_at": current["updated_at"]},
    )


def conflict_message(conflicts: list[Conflict]) -> str:
    first = conflicts[0]
    who = first.current.get("updated_by") or "someone"
    more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
    return (
        f"{first.entity.capitalize()} {first.key}{more} was changed by {who} after you loaded it; "
        "nothing was saved. Review the current values and save again."
    )


def _refuse_unknown(fields: dict[str, Any]) -> None:
    """Column names are formatted into the UPDATE: only the editable ones get there. Raises ``ValidationError``."""
    unknown = set(fields) - set(EDITABLE_PRODUCT_FIELDS)
    if unknown:
        raise ValidationError.single(
            sorted(unknown)[0], f"These fields cannot be changed: {', '.join(sorted(unknown))}."
        )


def apply_product_update(
    tx: Tx, actor: Actor, sku: str, expected_version: int | None, fields: dict[str, Any]
) -> dict[str, Any] | None:
    """Inside ``tx``: apply cleaned ``fields`` to ``sku`` if its version is ``expected_version``, with its
    ``product.update`` audit row (a step shared by ``update_product``, ``deactivate_product`` and the grid's save).

    Returns the new row, or ``None`` when nothing differs (no version bump). Raises ``ConflictError`` when stale,
    ``PermissionDenied`` for staff.
    """
    require(actor, "product.update", entity="product", entity_id=sku, attempted=fields)
    before = product_by_sku(tx, sku)
    if expected_version is not None and before["version"] != expected_version:
        conflict = product_conflict(tx, sku, expected_version)
        raise ConflictError(conflict_message([conflict]), [conflict])
    _refuse_unknown(fields)
    changes = dict(fields)
    if "vendor" in changes:
        changes["vendor_id"] = vendor_id(tx, changes.pop("vendor"), create=True)
    changes = {k: v for k, v in changes.items() if before.get(k) != v}
    if not changes:
        return None
    params = Params(before["id"], before["version"])
    sets = ", ".join(f"{col} = {params.add(value)}" for col, value in changes.items())
    new_version = tx.scalar(
        f"UPDATE products SET {sets}, version = version + 1, updated_at = now(), updated_by = {params.add(actor.email)}"
        " WHERE id = $1 AND version = $2 RETURNING version",
        params.values,
    )
    if new_version is None:  # changed between our read and our write
        conflict = product_conflict(tx, sku, expected_version)
        raise ConflictError(conflict_message([conflict]), [conflict])
    after = product_by_sku(tx, sku)
    audit.write(
        tx,
        actor=actor.email,
        action="product.update",
        entity="product",
        entity_id=sku,
        before=_public(before),
        after=_public(after),
    )
    return after


def update_product(db: Database, actor: Actor, sku: str, expected_version: int | None, **fields: Any) -> dict[str, Any]:
    """Change some of name, category, unit_price, reorder_level, vendor, active of one product.

    ``expected_version`` is the version the caller read (``None``: last writer wins, for the CLI only).
    Returns the current row. Raises ``ValidationError``, ``NotFound``, ``ConflictError`` (with the current row),
    ``PermissionDenied``.
    """

    def body(tx: Tx) -> dict[str, Any]:
        _refuse_unknown(fields)
        clean = _product_checks(fields, new=False)
        return apply_product_update(tx, actor, sku, expected_version, clean) or product_by_sku(tx, sku)

    return run(
        db,
        actor,
        "product.update",
        body,
        entity="product",
        entity_id=sku,
        permission="product.update",
        attempted=fields,
    )


def deactivate_product(db: Database, actor: Actor, sku: str, expected_version: int | None = None) -> dict[str, Any]:
    """Hide a product from the active catalog (its stock history stays). Same errors as ``update_product``."""

    def body(tx: Tx) -> dict[str, Any]:
        return apply_product_update(tx, actor, sku, expected_version, {"active": False}) or product_by_sku(tx, sku)

    options = {"entity_id": sku, "permission": "product.deactivate", "attempted": {"active": False}}
    return run(db, actor, "product.deactivate", body, entity="product", **options)


@public_read
def get_product(db: Database, sku: str) -> dict[str, Any]:
    """The product row with vendor name (readable by every signed-in role). Raises ``NotFound``."""
    return read(db, None, None, lambda tx: product_by_sku(tx, sku), entity="product", entity_id=sku, name="product.get")


@public_read
def categories(db: Database) -> list[str]:
    """The categories of active products, sorted (readable by every signed-in role)."""

    def body(tx: Tx) -> list[str]:
        return [r[0] for r in tx.all("SELECT DISTINCT category FROM products WHERE active ORDER BY category")]

    return read(db, None, None, body, entity="product", name="product.categories")
