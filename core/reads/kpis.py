"""Key figures, computed by the database in one SQL query.

Low stock and out of stock are ``core.domain.status``'s ``low`` and ``out``; both count (store, product) pairs of
active products in the chosen stores.
"""

from __future__ import annotations

from typing import Any

from core.base.permissions import Actor
from core.db import Database, Tx
from core.db.sql import Params, amount_sql, to_money
from core.domain import status
from core.domain.reading import Scope, public_read, read, scope

KPI_KEYS = ("total_skus", "total_units", "stock_value", "low_stock", "out_of_stock", "stores")


@public_read
def compute_kpis(db: Database, actor: Actor, store: str | None = None) -> dict[str, Any]:
    """``{total_skus, total_units, stock_value, low_stock, out_of_stock, stores}`` for one store or all the
    stores ``actor`` may see. Raises ``NotFound``, ``PermissionDenied`` (audited ``denied``)."""

    def body(tx: Tx) -> dict[str, Any]:
        return kpis_in(tx, scope(tx, actor, "stock.read", store))

    return read(db, actor, "stock.read", body, entity="stock", entity_id=store or "all", name="kpis")


def kpis_in(tx: Tx, stores: Scope) -> dict[str, Any]:
    """``compute_kpis`` over ``stores`` inside an open transaction (the dashboard's: one snapshot)."""
    params = Params()
    where, where_stores = stores.sql(params, "s.store_id"), stores.sql(params, "st.id")
    # Aggregate per product first (a hash aggregate over 10k groups), then price the 10k sums: much cheaper
    # than count(DISTINCT ...) and a DECIMAL multiply on every one of millions of stock rows.
    row = tx.dicts(
        "WITH per_product AS ("
        " SELECT s.product_id, sum(s.quantity) AS units,"
        f" count(*) FILTER (WHERE {status.low_sql()}) AS low_stock,"
        f" count(*) FILTER (WHERE {status.out_sql()}) AS out_of_stock"
        " FROM stock s JOIN products p ON p.id = s.product_id JOIN stores st ON st.id = s.store_id"
        f" WHERE p.active AND st.active AND {where} GROUP BY s.product_id)"
        " SELECT count(*) AS total_skus, coalesce(sum(pp.units), 0) AS total_units,"
        f" coalesce(sum({amount_sql('pp.units', 'p.unit_price')}), 0) AS stock_value,"
        " coalesce(sum(pp.low_stock), 0) AS low_stock, coalesce(sum(pp.out_of_stock), 0) AS out_of_stock,"
        f" (SELECT count(*) FROM stores st WHERE st.active AND {where_stores}) AS stores"
        " FROM per_product pp JOIN products p ON p.id = pp.product_id",
        params.values,
    )[0]
    value = to_money(row["stock_value"])
    return {
        "total_skus": int(row["total_skus"]),
        "total_units": int(row["total_units"]),
        "stock_value": value,
        "low_stock": int(row["low_stock"]),
        "out_of_stock": int(row["out_of_stock"]),
        "stores": int(row["stores"]),
    }
