"""Lookups inside a transaction: a store by its code or id, a product by its SKU, a vendor's id by its name. Each
raises ``NotFound`` with a sentence naming what was asked for; the domain operations, reads and the import share
them.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from core.base.errors import NotFound
from core.base.validate import NAME_MAX, clean_text
from core.db import Tx

PRODUCT_COLUMNS = (
    "p.id, p.sku, p.name, p.category, p.unit_price, p.reorder_level, v.name AS vendor, p.vendor_id,"
    " p.active, p.version, p.created_at, p.updated_at, p.updated_by"
)
PRODUCT_FROM = "products p LEFT JOIN vendors v ON v.id = p.vendor_id"


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
    """The store with id ``store_id``; raises ``NotFound``."""
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
