"""Reports on the movements ledger, computed by the database.

- ``movement_report``: the ledger filtered by stores, product, kinds and dates, with totals per kind and a
  daily series computed in SQL over EVERY matching row; only the newest ``limit`` rows travel to the browser.
  The same rows are exported by ``core.sheets.exporter.export_movements`` (the filter is ``core.domain.filters``).
- ``product_across_stores``: one product's quantity, value, status (``core.domain.status``) and last movement in
  each store.
(The audit log is read by ``core.reads.audit_log``; the System page's figures come from ``core.reads.system``.)

Every function is a read through ``core.domain.reading.read`` (``report.read``, each chosen store checked), so a
refusal is audited as ``denied``. Store scope: the stores asked for or every store the actor may see
(``core.domain.reading.scope``). Every value is a bound parameter (``core.db.sql.Params``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Unpack

from core.base.permissions import Actor
from core.base.validate import clean_int, clean_sku
from core.db import Database, Tx
from core.db.schema import MOVEMENT_KINDS
from core.db.sql import Params, amount_sql
from core.domain import status
from core.domain.filters import MovementFilters, movement_conditions
from core.domain.lookups import product_by_sku
from core.domain.reading import public_read, read, scope

REPORT_ROWS = 1_000
EPOCH_DAY = date(1970, 1, 1)


# ---- movements ----------------------------------------------------------------------------------------------------

# Every filter is a condition on ``movements m`` alone (the product search is a semi-join on the small
# products table), so totals and the day series scan one table, and the rows shown are picked by id first and
# named afterwards: joining millions of movements before ``ORDER BY id LIMIT`` was ~100x slower at demo size.
_NAMED = (
    "SELECT m.id, m.created_at, st.code AS store, p.sku, p.name, m.kind, m.delta, m.quantity_after, m.reason,"
    " m.actor FROM ({picked}) m JOIN stores st ON st.id = m.store_id JOIN products p ON p.id = m.product_id"
)


def _utc_offset_seconds() -> float:
    offset = datetime.now().astimezone().utcoffset()
    return offset.total_seconds() if offset else 0.0


def _kind_totals(tx: Tx, conditions: Params) -> list[dict[str, Any]]:
    """Count, units moved and net change per kind over every matching movement, in ``MOVEMENT_KINDS`` order."""
    found = tx.dicts(
        "SELECT m.kind, count(*) AS count, sum(abs(m.delta)) AS units, sum(m.delta) AS net"
        f" FROM movements m WHERE {conditions.conditions()} GROUP BY m.kind",
        conditions.values,
    )
    order = {k: n for n, k in enumerate(MOVEMENT_KINDS)}
    totals = [
        {"kind": t["kind"], "count": int(t["count"]), "units": int(t["units"]), "net": int(t["net"])} for t in found
    ]
    return sorted(totals, key=lambda t: order[t["kind"]])


def _daily(tx: Tx, conditions: Params) -> list[dict[str, Any]]:
    """Units moved per local day and kind over every matching movement.

    Local days come from epoch arithmetic at today's UTC offset (converting each timestamp to a local date costs
    several times more); across a daylight-saving change a movement near midnight may count a day early."""
    params = Params(*conditions.values)
    day = f"CAST(floor((extract(epoch FROM m.created_at) + {params.add(_utc_offset_seconds())}) / 86400) AS INTEGER)"
    return [
        {"day": EPOCH_DAY + timedelta(days=int(n)), "kind": kind, "count": int(count), "units": int(units)}
        for n, kind, count, units in tx.all(
            f"SELECT {day} AS day, m.kind, count(*), sum(abs(m.delta)) FROM movements m"
            f" WHERE {conditions.conditions()} GROUP BY {day}, m.kind ORDER BY 1, 2",
            params.values,
        )
    ]


def _newest(tx: Tx, conditions: Params, limit: int) -> list[dict[str, Any]]:
    params = Params(*conditions.values)
    picked = f"SELECT * FROM movements m WHERE {conditions.conditions()} ORDER BY m.id DESC LIMIT {params.add(limit)}"
    return tx.dicts(_NAMED.format(picked=picked) + " ORDER BY m.id DESC", params.values)


@public_read
def movement_report(
    db: Database, actor: Actor, *, limit: int = REPORT_ROWS, **filters: Unpack[MovementFilters]
) -> dict[str, Any]:
    """Movements matching the filters (``product`` matches SKU or name, case-insensitively; dates inclusive):
    ``{rows, shown, total_rows, totals, overall, daily}``. ``rows`` are the newest ``limit`` rows; ``totals``
    (per kind: count, units moved, net change), ``overall`` and ``daily`` (units per day and kind) cover every
    matching row. Raises ``ValidationError``, ``NotFound``, ``PermissionDenied``."""
    limit = clean_int(limit, "Rows to show", minimum=1, maximum=100_000)

    def body(tx: Tx) -> dict[str, Any]:
        conditions = movement_conditions(tx, actor, **filters)
        totals = _kind_totals(tx, conditions)
        rows = _newest(tx, conditions, limit)
        total_rows = sum(t["count"] for t in totals)
        overall = {
            "count": total_rows,
            "units_in": sum(t["units"] + t["net"] for t in totals) // 2,
            "units_out": sum(t["units"] - t["net"] for t in totals) // 2,
            "net": sum(t["net"] for t in totals),
        }
        return {
            "rows": rows,
            "shown": len(rows),
            "total_rows": total_rows,
            "totals": totals,
            "overall": overall,
            "daily": _daily(tx, conditions),
        }

    return read(db, actor, "report.read", body, entity="report", entity_id="movements", name="report.movements")


@public_read
def product_across_stores(db: Database, actor: Actor, sku: str) -> dict[str, Any]:
    """One product in every store ``actor`` may see: ``{product, stores, totals}``; each store row has quantity,
    stock value (current price), status and the last movement (when, kind, change). Stores that never held the
    product are left out. Raises ``ValidationError``, ``NotFound``, ``PermissionDenied``."""
    code = clean_sku(sku)

    def body(tx: Tx) -> dict[str, Any]:
        product = product_by_sku(tx, code)
        params = Params(product["id"])
        visible = scope(tx, actor, "report.read").sql(params, "s.store_id")
        rows = tx.dicts(
            "WITH last AS (SELECT store_id, created_at, kind, delta,"
            "  row_number() OVER (PARTITION BY store_id ORDER BY id DESC) AS rn FROM movements WHERE product_id = $1)"
            " SELECT st.code AS store, st.name AS store_name, st.active AS store_active, s.quantity,"
            f" {amount_sql('s.quantity', 'p.unit_price')} AS stock_value,"
            f" l.created_at AS last_movement_at, l.kind AS last_kind, l.delta AS last_delta, {status.status_sql()} AS status"
            " FROM stock s JOIN stores st ON st.id = s.store_id JOIN products p ON p.id = s.product_id"
            " LEFT JOIN last l ON l.store_id = s.store_id AND l.rn = 1"
            f" WHERE s.product_id = $1 AND {visible} ORDER BY st.code",
            params.values,
        )
        keep = ("sku", "name", "category", "unit_price", "reorder_level", "vendor", "active")
        return {
            "product": {k: product[k] for k in keep},
            "stores": rows,
            "totals": {
                "stores": len(rows),
                "quantity": sum(int(r["quantity"]) for r in rows),
                "stock_value": sum((r["stock_value"] for r in rows), start=product["unit_price"] * 0),
            },
        }

    return read(db, actor, "report.read", body, entity="product", entity_id=code, name="report.product")
