"""Reports on the movements ledger, computed by the database.

- ``movement_report``: the ledger filtered by stores, product, kinds and dates, with totals per kind and a
  daily series computed in SQL over EVERY matching row; only the newest ``limit`` rows travel to the browser.
  ``export_movements`` writes all matching rows as CSV or XLSX (``core.sheets.exporter``'s format and formula neutralisation).
- ``product_across_stores``: one product's quantity, value and last movement in each store.
(The audit log is read by ``core.reads.audit_log``; the System page's figures come from ``core.reads.system``.)

Every function checks its permission with ``core.base.permissions`` (``report.read`` per store, ``audit.read``,
``system.manage``) inside the operation runner, so a refusal is audited as ``denied``. Store scope: the stores
asked for (each checked) or every store the actor may see. User text is always a bound parameter; the only
values formatted into SQL are integer ids read from the database and whitelisted names.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd

from core.base.errors import ValidationError, reading
from core.base.permissions import Actor, require
from core.base.validate import clean_int, clean_sku
from core.db import Database, Tx
from core.db.schema import MOVEMENT_KINDS
from core.db.sql import amount_sql
from core.domain.lookups import product_by_sku, store_by_code
from core.domain.ops import run
from core.sheets import exporter

REPORT_ROWS = 1_000
EXPORT_MAX_ROWS = 1_000_000
EXPORT_COLUMNS = exporter.COLUMNS["movements"]
EPOCH_DAY = date(1970, 1, 1)


class Where:
    """AND-ed SQL conditions with their bound parameters numbered ``$1, $2, ...`` in order."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list[Any] = []

    def add(self, template: str, *values: Any) -> None:
        """``template`` names its values ``{}`` in order, or ``{0}``, ``{1}`` to use one several times."""
        numbers = [f"${len(self.params) + i + 1}" for i in range(len(values))]
        self.parts.append(template.format(*numbers))
        self.params.extend(values)

    def raw(self, condition: str) -> None:
        self.parts.append(condition)

    def sql(self) -> str:
        return " AND ".join(self.parts) or "TRUE"

    def next(self) -> str:
        """The placeholder the next bound value will take."""
        return f"${len(self.params) + 1}"


def day_range(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """Inclusive calendar dates as [start 00:00, day after end 00:00). Raises ``ValidationError``."""
    if start and end and start > end:
        raise ValidationError.single("start", "The start date must be on or before the end date.")
    return (
        datetime.combine(start, time()) if start else None,
        datetime.combine(end + timedelta(days=1), time()) if end else None,
    )


def scope_condition(
    tx: Tx, actor: Actor, stores: list[str] | None, column: str = "m.store_id", action: str = "report.read"
) -> str:
    """``column`` limited to ``stores`` (each checked) or to every store ``actor`` may see.
    Raises ``NotFound``, ``PermissionDenied``."""
    if stores:
        ids = []
        for code in stores:
            st = store_by_code(tx, code)
            require(actor, action, st["id"], store_label=st["code"], entity="store", entity_id=st["code"])
            ids.append(int(st["id"]))
        return f"{column} IN ({', '.join(str(i) for i in sorted(set(ids)))})"
    if actor.is_owner:
        return "TRUE"
    return f"{column} IN ({', '.join(str(int(i)) for i in sorted(actor.store_ids) or [-1])})"


def _movement_where(
    tx: Tx,
    actor: Actor,
    stores: list[str] | None,
    product: str | None,
    kinds: list[str] | None,
    start: date | None,
    end: date | None,
) -> Where:
    where = Where()
    where.raw(scope_condition(tx, actor, stores))
    text = (product or "").strip().lower()
    if text:
        where.add(
            "m.product_id IN (SELECT p.id FROM products p"
            " WHERE position({0} IN lower(p.sku)) > 0 OR position({0} IN lower(p.name)) > 0)",
            text,
        )
    if kinds:
        unknown = sorted(set(kinds) - set(MOVEMENT_KINDS))
        if unknown:
            raise ValidationError.single("kinds", f"Unknown movement kind: {', '.join(unknown)}.")
        chosen = [k for k in MOVEMENT_KINDS if k in kinds]
        where.add(f"m.kind IN ({', '.join('{}' for _ in chosen)})", *chosen)
    low, high = day_range(start, end)
    if low:
        where.add("m.created_at >= {}", low)
    if high:
        where.add("m.created_at < {}", high)
    return where


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


def movement_report(
    db: Database,
    actor: Actor,
    *,
    stores: list[str] | None = None,
    product: str | None = None,
    kinds: list[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    limit: int = REPORT_ROWS,
) -> dict[str, Any]:
    """Movements matching the filters (``product`` matches SKU or name, case-insensitively; dates inclusive):
    ``{rows, shown, total_rows, totals, overall, daily}``. ``rows`` are the newest ``limit`` rows; ``totals``
    (per kind: count, units moved, net change), ``overall`` and ``daily`` (units per day and kind) cover every
    matching row. Raises ``ValidationError``, ``NotFound``, ``PermissionDenied``."""
    limit = clean_int(limit, "Rows to show", minimum=1, maximum=100_000)

    def body(tx: Tx) -> dict[str, Any]:
        where = _movement_where(tx, actor, stores, product, kinds, start, end)
        sql, params = where.sql(), where.params
        totals = tx.dicts(
            "SELECT m.kind, count(*) AS count, sum(abs(m.delta)) AS units, sum(m.delta) AS net"
            f" FROM movements m WHERE {sql} GROUP BY m.kind",
            params,
        )
        order = {k: n for n, k in enumerate(MOVEMENT_KINDS)}
        totals = sorted(
            (
                {"kind": t["kind"], "count": int(t["count"]), "units": int(t["units"]), "net": int(t["net"])}
                for t in totals
            ),
            key=lambda t: order[t["kind"]],
        )
        # local days by epoch arithmetic at today's UTC offset (converting each timestamp to a local date costs
        # several times more); across a daylight-saving change a movement near midnight may count a day early
        day = f"CAST(floor((extract(epoch FROM m.created_at) + {where.next()}) / 86400) AS INTEGER)"
        daily = [
            {"day": EPOCH_DAY + timedelta(days=int(n)), "kind": kind, "count": int(count), "units": int(units)}
            for n, kind, count, units in tx.all(
                f"SELECT {day} AS day, m.kind, count(*), sum(abs(m.delta)) FROM movements m WHERE {sql}"
                f" GROUP BY {day}, m.kind ORDER BY 1, 2",
                [*params, _utc_offset_seconds()],
            )
        ]
        picked = f"SELECT * FROM movements m WHERE {sql} ORDER BY m.id DESC LIMIT {where.next()}"
        rows = tx.dicts(_NAMED.format(picked=picked) + " ORDER BY m.id DESC", [*params, limit])
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
            "daily": daily,
        }

    with reading():
        return run(db, actor, "report.movements", body, entity="report", entity_id="movements")


def export_movements(
    db: Database,
    actor: Actor,
    fmt: str = "csv",
    *,
    stores: list[str] | None = None,
    product: str | None = None,
    kinds: list[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> bytes:
    """Every matching movement, oldest first, as CSV (UTF-8) or XLSX bytes with the movement export's columns;
    formula-looking text is neutralised. Raises ``ValidationError`` (format, more than 1,000,000 rows),
    ``NotFound``, ``PermissionDenied``."""
    if fmt not in ("csv", "xlsx"):
        raise ValidationError.single("format", f"Export format must be csv or xlsx (got {fmt!r}).")

    def body(tx: Tx) -> list[tuple[Any, ...]]:
        where = _movement_where(tx, actor, stores, product, kinds, start, end)
        rows = tx.all(
            "SELECT m.created_at, st.code, p.sku, m.kind, m.delta, m.quantity_after, m.reason, m.actor"
            f" FROM (SELECT * FROM movements m WHERE {where.sql()} ORDER BY m.id LIMIT {where.next()}) m"
            " JOIN stores st ON st.id = m.store_id JOIN products p ON p.id = m.product_id ORDER BY m.id",
            [*where.params, EXPORT_MAX_ROWS + 1],
        )
        if len(rows) > EXPORT_MAX_ROWS:
            raise ValidationError.single(
                "rows", f"More than {EXPORT_MAX_ROWS:,} movements match; narrow the dates or stores first."
            )
        return rows

    with reading():
        rows = run(db, actor, "report.export", body, entity="report", entity_id=fmt)
    frame = pd.DataFrame(rows, columns=list(EXPORT_COLUMNS))
    frame["created_at"] = frame["created_at"].map(lambda v: v.isoformat(), na_action="ignore")
    return exporter.to_csv(frame) if fmt == "csv" else exporter.to_xlsx(frame, "movements")


def product_across_stores(db: Database, actor: Actor, sku: str) -> dict[str, Any]:
    """One product in every store ``actor`` may see: ``{product, stores, totals}``; each store row has quantity,
    stock value (current price), status and the last movement (when, kind, change). Stores that never held the
    product are left out. Raises ``ValidationError``, ``NotFound``, ``PermissionDenied``."""
    code = clean_sku(sku)

    def body(tx: Tx) -> dict[str, Any]:
        require(actor, "report.read", entity="product", entity_id=code)
        product = product_by_sku(tx, code)
        scope = scope_condition(tx, actor, None, "s.store_id")
        rows = tx.dicts(
            "WITH last AS (SELECT store_id, created_at, kind, delta,"
            "  row_number() OVER (PARTITION BY store_id ORDER BY id DESC) AS rn FROM movements WHERE product_id = $1)"
            " SELECT st.code AS store, st.name AS store_name, st.active AS store_active, s.quantity,"
            f" {amount_sql('s.quantity', 'p.unit_price')} AS stock_value, p.reorder_level,"
            " l.created_at AS last_movement_at, l.kind AS last_kind, l.delta AS last_delta"
            " FROM stock s JOIN stores st ON st.id = s.store_id JOIN products p ON p.id = s.product_id"
            " LEFT JOIN last l ON l.store_id = s.store_id AND l.rn = 1"
            f" WHERE s.product_id = $1 AND {scope} ORDER BY st.code",
            [product["id"]],
        )
        for r in rows:
            q, level = int(r["quantity"]), int(r.pop("reorder_level"))
            r["status"] = "out of stock" if q == 0 else ("low" if q <= level else "ok")
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

    with reading():
        return run(db, actor, "report.product", body, entity="product", entity_id=code)
