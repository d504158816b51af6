"""Stores, vendors and the central product catalog.

Products are versioned: ``update_product`` takes the version the caller read and refuses a stale one with a
``ConflictError`` carrying the current row; an accepted change bumps ``version`` by exactly 1. Only the owner
changes any of this (``core.base.permissions``); every change writes its audit row in the same transaction.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from core.base.errors import Conflict, ConflictError, NotFound, ValidationError
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
from core.domain.ops import refuse_early, run
from core.domain.reading import public_read, read, scope

PRODUCT_COLUMNS = (
    "p.id, p.sku, p.name, p.category, p.unit_price, p.reorder_level, v.name AS vendor, p.vendor_id,"
    " p.active, p.version, p.created_at, p.updated_at, p.updated_by"
)
PRODUCT_FROM = "products p LEFT JOIN vendors v ON v.id = p.vendor_id"
EDITABLE_PRODUCT_FIELDS = ("name", "category", "unit_price", "reorder_level", "vendor", "active")


# ---- lookups (inside a transaction) -------------------------------------------------------------------------


def _exact(code: Any) -> str:
    """A code as it is stored (NFC, trimmed): an ``é`` typed as ``e`` plus a combining accent finds ``é``."""
    return unicodedata.normalize("NFC", str(code)).strip()


def store_by_code(tx: Tx, code: str) -> dict[str, Any]:
    """The store with ``code`` (case-insensitive); raises ``NotFound``."""
    rows = tx.dicts("SELECT id, code, name, active, version FROM stores WHERE upper(code) = upper($1)", [_exact(code)])
    if not rows:
        raise NotFound(f"There is no store with code {code!r}.")
    return rows[0]


def store_by_id(tx: Tx, store_id: int) -> dict[str, Any]:
    rows = tx.dicts("SELECT id, code, name, active, version FROM stores WHERE id = $1", [store_id])
    if not rows:
        raise NotFound(f"There is no store with id {store_id}.")
    return rows[0]


def product_by_sku(tx: Tx, sku: str) -> dict[str, Any]:
    """The product with ``sku`` (exact, after trimming); raises ``NotFound``."""
    rows = tx.dicts(f"SELECT {PRODUCT_COLUMNS} FROM {PRODUCT_FROM} WHERE p.sku = $1", [_exact(sku)])
    if not rows:
        raise NotFound(f"There is no product with SKU {sku!r}.")
    return rows[0]


def vendor_id(tx: Tx, name: str | None, *, create: bool = False) -> int | None:
    """The id of vendor ``name`` (case-insensitive); ``None`` for no vendor. Raises ``NotFound`` unless ``create``."""
    if name is None or not str(name).strip():
        return None
    name = clean_text("vendor", name, NAME_MAX)
    found = tx.scalar("SELECT id FROM vendors WHERE lower(name) = lower($1)", [name])
    if found is not None:
        return int(found)
    if not create:
        raise NotFound(f"There is no vendor named {name!r}.")
    return int(tx.scalar("INSERT INTO vendors (name) VALUES ($1) RETURNING id", [name]))


# ---- stores ---------------------------------------------------------------------------------------------------


def add_store(db: Database, actor: Actor, code: str, name: str) -> dict[str, Any]:
    """Create a store. Raises ``ValidationError`` (bad or duplicate code), ``PermissionDenied``."""
    refuse_early(db, actor, "store.add", "store.manage", entity="store", entity_id=code, attempted={"name": name})
    values = collect(
        {
            "code": lambda: clean_store_code(code),
            "name": lambda: clean_text("name", name, NAME_MAX),
        }
    )

    def body(tx: Tx) -> dict[str, Any]:
        require(actor, "store.manage", entity="store", entity_id=values["code"], attempted=values)
        if tx.scalar("SELECT id FROM stores WHERE upper(code) = upper($1)", [values["code"]]) is not None:
            raise ValidationError.single("code", f"A store with code {values['code']} already exists.")
        row = tx.dicts(
            "INSERT INTO stores (code, name) VALUES ($1, $2) RETURNING id, code, name, active, version",
            [values["code"], values["name"]],
        )[0]
        audit.write(tx, actor.email, "store.add", "store", row["code"], None, row)
        return row

    return run(db, actor, "store.add", body, entity="store", entity_id=values["code"])


def update_store(
    db: Database, actor: Actor, code: str, *, name: str | None = None, active: bool | None = None
) -> dict[str, Any]:
    """Rename and/or (de)activate a store. Raises ``NotFound``, ``ValidationError``, ``PermissionDenied``."""
    attempted = {"name": name, "active": active}
    refuse_early(db, actor, "store.update", "store.manage", entity="store", entity_id=code, attempted=attempted)
    new_name = clean_text("name", name, NAME_MAX) if name is not None else None

    def body(tx: Tx) -> dict[str, Any]:
        require(actor, "store.manage", entity="store", entity_id=code, attempted={"name": name, "active": active})
        before = store_by_code(tx, code)
        after = tx.dicts(
            "UPDATE stores SET name = coalesce($2, name), active = coalesce($3, active), version = version + 1,"
            " updated_at = now() WHERE id = $1 RETURNING id, code, name, active, version",
            [before["id"], new_name, active],
        )[0]
        audit.write(tx, actor.email, "store.update", "store", before["code"], before, after)
        return after

    return run(db, actor, "store.update", body, entity="store", entity_id=code)


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
    refuse_early(
        db, actor, "vendor.add", "vendor.manage", entity="vendor", entity_id=name, attempted={"contact": contact}
    )
    values = collect(
        {
            "name": lambda: clean_text("name", name, NAME_MAX),
            "contact": lambda: clean_text("contact", contact, 200, required=False),
        }
    )

    def body(tx: Tx) -> dict[str, Any]:
        require(actor, "vendor.manage", entity="vendor", entity_id=values["name"], attempted=values)
        if tx.scalar("SELECT id FROM vendors WHERE lower(name) = lower($1)", [values["name"]]) is not None:
            raise ValidationError.single("name", f"A vendor named {values['name']} already exists.")
        row = tx.dicts(
            "INSERT INTO vendors (name, contact) VALUES ($1, $2) RETURNING id, name, contact, active",
            [values["name"], values["contact"]],
        )[0]
        audit.write(tx, actor.email, "vendor.add", "vendor", row["name"], None, row)
        return row

    return run(db, actor, "vendor.add", body, entity="vendor", entity_id=values["name"])


def update_vendor(
    db: Database, actor: Actor, name: str, *, contact: str | None = None, active: bool | None = None
) -> dict[str, Any]:
    """Change a vendor's contact or active flag. Raises ``NotFound``, ``PermissionDenied``."""
    attempted = {"contact": contact, "active": active}
    refuse_early(db, actor, "vendor.update", "vendor.manage", entity="vendor", entity_id=name, attempted=attempted)
    new_contact = clean_text("contact", contact, 200, required=False) if contact is not None else None

    def body(tx: Tx) -> dict[str, Any]:
        require(actor, "vendor.manage", entity="vendor", entity_id=name, attempted={"contact": contact})
        vid = vendor_id(tx, name)
        before = tx.dicts("SELECT id, name, contact, active FROM vendors WHERE id = $1", [vid])[0]
        after = tx.dicts(
            "UPDATE vendors SET contact = CASE WHEN $4 THEN $2 ELSE contact END, active = coalesce($3, active)"
            " WHERE id = $1"
            " RETURNING id, name, contact, active",
            [vid, new_contact, active, contact is not None],
        )[0]
        audit.write(tx, actor.email, "vendor.update", "vendor", name, before, after)
        return after

    return run(db, actor, "vendor.update", body, entity="vendor", entity_id=name)


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
    refuse_early(db, actor, "product.create", "product.create", entity="product", entity_id=sku, attempted=raw)
    checks = {"sku": lambda: clean_sku(sku), "fields": lambda: _product_checks(raw, new=True)}
    values = collect(checks)
    fields, clean = values["fields"], values["sku"]

    def body(tx: Tx) -> dict[str, Any]:
        require(actor, "product.create", entity="product", entity_id=clean, attempted={"sku": clean, **fields})
        if tx.scalar("SELECT id FROM products WHERE sku = $1", [clean]) is not None:
            raise ValidationError.single("sku", f"A product with SKU {clean} already exists.")
        vid = vendor_id(tx, fields.get("vendor"), create=True)
        tx.execute(
            "INSERT INTO products (sku, name, category, unit_price, reorder_level, vendor_id, updated_by)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [
                clean,
                fields["name"],
                fields["category"],
                fields["unit_price"],
                fields["reorder_level"],
                vid,
                actor.email,
            ],
        )
        row = product_by_sku(tx, clean)
        audit.write(tx, actor.email, "product.create", "product", clean, None, _public(row))
        return row

    return run(db, actor, "product.create", body, entity="product", entity_id=clean)


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


def apply_product_update(
    tx: Tx, actor: Actor, sku: str, expected_version: int | None, fields: dict[str, Any]
) -> dict[str, Any] | None:
    """Inside ``tx``: apply cleaned ``fields`` to ``sku`` if its version is ``expected_version``.

    Returns the new row, or ``None`` when nothing differs (no version bump). Raises ``ConflictError`` when stale,
    ``PermissionDenied`` for staff.
    """
    require(actor, "product.update", entity="product", entity_id=sku, attempted=fields)
    before = product_by_sku(tx, sku)
    if expected_version is not None and before["version"] != expected_version:
        conflict = product_conflict(tx, sku, expected_version)
        raise ConflictError(conflict_message([conflict]), [conflict])
    unknown = set(fields) - set(EDITABLE_PRODUCT_FIELDS)
    if unknown:  # column names are formatted into the UPDATE below: only whitelisted ones get there
        raise ValidationError.single(
            sorted(unknown)[0], f"These fields cannot be changed: {', '.join(sorted(unknown))}."
        )
    changes = dict(fields)
    if "vendor" in changes:
        changes["vendor_id"] = vendor_id(tx, changes.pop("vendor"), create=True)
    changes = {k: v for k, v in changes.items() if before.get(k) != v}
    if not changes:
        return None
    sets = ", ".join(f"{col} = ${i}" for i, col in enumerate(changes, start=3))
    new_version = tx.scalar(
        f"UPDATE products SET {sets}, version = version + 1, updated_at = now(), updated_by = ${len(changes) + 3}"
        " WHERE id = $1 AND version = $2 RETURNING version",
        [before["id"], before["version"], *changes.values(), actor.email],
    )
    if new_version is None:  # changed between our read and our write
        conflict = product_conflict(tx, sku, expected_version)
        raise ConflictError(conflict_message([conflict]), [conflict])
    after = product_by_sku(tx, sku)
    audit.write(tx, actor.email, "product.update", "product", sku, _public(before), _public(after))
    return after


def update_product(db: Database, actor: Actor, sku: str, expected_version: int | None, **fields: Any) -> dict[str, Any]:
    """Change some of name, category, unit_price, reorder_level, vendor, active of one product.

    ``expected_version`` is the version the caller read (``None``: last writer wins, for the CLI only).
    Returns the current row. Raises ``ValidationError``, ``NotFound``, ``ConflictError`` (with the current row),
    ``PermissionDenied``.
    """
    refuse_early(db, actor, "product.update", "product.update", entity="product", entity_id=sku, attempted=fields)
    unknown = set(fields) - set(EDITABLE_PRODUCT_FIELDS)
    if unknown:
        raise ValidationError.single(
            sorted(unknown)[0], f"These fields cannot be changed: {', '.join(sorted(unknown))}."
        )
    clean = _product_checks(fields, new=False)

    def body(tx: Tx) -> dict[str, Any]:
        return apply_product_update(tx, actor, sku, expected_version, clean) or product_by_sku(tx, sku)

    return run(db, actor, "product.update", body, entity="product", entity_id=sku)


def deactivate_product(db: Database, actor: Actor, sku: str, expected_version: int | None = None) -> dict[str, Any]:
    """Hide a product from the active catalog (its stock history stays). Same errors as ``update_product``."""

    def body(tx: Tx) -> dict[str, Any]:
        require(actor, "product.deactivate", entity="product", entity_id=sku, attempted={"active": False})
        return apply_product_update(tx, actor, sku, expected_version, {"active": False}) or product_by_sku(tx, sku)

    return run(db, actor, "product.deactivate", body, entity="product", entity_id=sku)


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
