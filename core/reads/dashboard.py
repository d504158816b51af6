"""What the Dashboard shows, computed by the database: KPI tiles, sales for a period, charts, low stock.

``dashboard`` is the page's one call. It reads everything in one transaction (one consistent snapshot)
through the read chokepoint (``core.domain.reading.read``), so a refused store is audited as ``denied`` and every
render's latency shows on the System page.

Definitions (one spelling, used by the page and the tests):
- **Sales** are movements of kind ``sale``. Orders (kind ``order``) are customer orders and are not counted.
- **Revenue** is units sold x the product's CURRENT catalog ``unit_price``: sale movements carry no price
  snapshot, so a price change re-values past sales. (Orders snapshot their price in ``order_lines``.)
- The **period** is the last ``days`` calendar days ending today (today included); the previous period is the
  ``days`` days before it. Changes are against the previous period (``None`` when it sold nothing).
- **Stock value** is on-hand quantity x current unit price, over active products in active stores, as in
  ``core.reads.kpis``.
- **Low stock rows** are (store, product) pairs at or below the reorder level, out of stock included; ``status`` is
  ``core.domain.status``'s word (``out`` or ``low``).
  Days of cover = quantity / (units sold in the period / days), ``None`` when nothing sold. The suggested
  reorder brings the quantity up to ``cover_days`` of average sales and at least one above the reorder level
  (so the row stops being low).
Store scope: one store (checked with ``report.read``) or every store the actor may see.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from core.base.permissions import Actor
from core.base.validate import clean_int
from core.db import Database, Tx
from core.db.sql import Params, amount_sql, to_money
from core.domain import status
from core.domain.reading import Scope, public_read, read, scope
from core.reads.kpis import kpis_in

PERIODS = (7, 30, 90)
DEFAULT_COVER_DAYS = 14
CHART_ROWS = 10
LOW_STOCK_ROWS = 200

_SALES_FROM = "movements m JOIN products p ON p.id = m.product_id"


def period_bounds(days: int, today: date | None = None) -> dict[str, datetime]:
    """Start of the previous period, start of the period, and its exclusive end (tomorrow at 00:00)."""
    end = datetime.combine((today or date.today()) + timedelta(days=1), time())
    start = end - timedelta(days=days)
    return {"previous_start": start - timedelta(days=days), "start": start, "end": end}


def _money(value: Any) -> Decimal:
    return to_money(value)


def _change(current: Any, previous: Any) -> float | None:
    """Percentage change; ``None`` when the previous period had nothing to compare with."""
    if not previous:
        return None
    return round((float(current) - float(previous)) * 100.0 / float(previous), 1)


def product_sales(tx: Tx, stores: Scope, bounds: dict[str, datetime], limit: int = CHART_ROWS) -> dict[str, Any]:
    """Sales totals for the period and the previous one, the top sellers and the slowest movers, from ONE
    pass over the sales of both periods aggregated per product (the ledger is the big table; this is the
    dashboard's main cost). Slowest movers are active products on hand that sold the fewest units in the period
    (none at all first); ties go to the larger stock value, the money standing still."""
    params = Params(bounds["previous_start"], bounds["start"], bounds["end"], limit)
    where_m, where_s = stores.sql(params, "m.store_id"), stores.sql(params, "s.store_id")
    rows = tx.dicts(
        "WITH sold AS (SELECT m.product_id,"
        "   coalesce(sum(-m.delta) FILTER (WHERE m.created_at >= $2), 0) AS units,"
        "   coalesce(sum(-m.delta) FILTER (WHERE m.created_at < $2), 0) AS previous_units"
        "  FROM movements m WHERE m.kind = 'sale' AND m.created_at >= $1 AND m.created_at < $3 AND "
        f"{where_m} GROUP BY m.product_id),"
        " on_hand AS (SELECT s.product_id, sum(s.quantity) AS quantity FROM stock s"
        f"  JOIN stores st ON st.id = s.store_id WHERE st.active AND {where_s} GROUP BY s.product_id),"
        " joined AS (SELECT p.sku, p.name, coalesce(sold.units, 0) AS units,"
        f"   {amount_sql('coalesce(sold.units, 0)', 'p.unit_price')} AS revenue,"
        "   coalesce(sold.previous_units, 0) AS previous_units,"
        f"   {amount_sql('coalesce(sold.previous_units, 0)', 'p.unit_price')} AS previous_revenue,"
        f"   coalesce(o.quantity, 0) AS quantity, {amount_sql('coalesce(o.quantity, 0)', 'p.unit_price')} AS stock_value,"
        "   p.active AND coalesce(o.quantity, 0) > 0 AS on_hand"
        "  FROM sold FULL JOIN on_hand o ON o.product_id = sold.product_id"
        "  JOIN products p ON p.id = coalesce(sold.product_id, o.product_id)),"
        " ranked AS (SELECT *, sum(units) OVER () AS total_units, sum(revenue) OVER () AS total_revenue,"
        "   sum(previous_units) OVER () AS total_previous_units,"
        "   sum(previous_revenue) OVER () AS total_previous_revenue,"
        "   row_number() OVER (ORDER BY units DESC, sku) AS top_rank,"
        "   row_number() OVER (ORDER BY on_hand DESC, units, stock_value DESC, sku) AS slow_rank FROM joined)"
        " SELECT * FROM ranked WHERE (units > 0 AND top_rank <= $4) OR (on_hand AND slow_rank <= $4)"
        "  OR (top_rank = 1)",
        params.values,
    )
    first = rows[0] if rows else {}
    units, previous_units = int(first.get("total_units") or 0), int(first.get("total_previous_units") or 0)
    revenue, previous_revenue = _money(first.get("total_revenue")), _money(first.get("total_previous_revenue"))
    top = sorted((r for r in rows if r["units"] > 0 and r["top_rank"] <= limit), key=lambda r: r["top_rank"])
    slow = sorted((r for r in rows if r["on_hand"] and r["slow_rank"] <= limit), key=lambda r: r["slow_rank"])
    return {
        "sales": {
            "units": units,
            "revenue": revenue,
            "previous_units": previous_units,
            "previous_revenue": previous_revenue,
            "units_change_pct": _change(units, previous_units),
            "revenue_change_pct": _change(revenue, previous_revenue),
        },
        "top_sellers": [
            {"sku": r["sku"], "name": r["name"], "units": int(r["units"]), "revenue": _money(r["revenue"])} for r in top
        ],
        "slowest_movers": [
            {
                "sku": r["sku"],
                "name": r["name"],
                "quantity": int(r["quantity"]),
                "stock_value": _money(r["stock_value"]),
                "units": int(r["units"]),
            }
            for r in slow
        ],
    }


def daily_sales(tx: Tx, stores: Scope, bounds: dict[str, datetime]) -> list[dict[str, Any]]:
    """One row per calendar day of the period (days without sales included, as zero).

    Days are counted in 24-hour steps from the period's first local midnight (epoch arithmetic: several times
    cheaper than converting every timestamp to a local date); across a daylight-saving change a sale in the
    hour after midnight may count for the day before."""
    start = bounds["start"]
    params = Params(start, bounds["end"], start.timestamp())
    where = stores.sql(params, "m.store_id")
    rows = tx.all(
        "SELECT CAST(floor((extract(epoch FROM m.created_at) - $3) / 86400) AS INTEGER) AS day_index,"
        f" sum(-m.delta) AS units, sum({amount_sql('-m.delta', 'p.unit_price')}) AS revenue"
        f" FROM {_SALES_FROM} WHERE m.kind = 'sale' AND m.created_at >= $1 AND m.created_at < $2 AND {where}"
        " GROUP BY CAST(floor((extract(epoch FROM m.created_at) - $3) / 86400) AS INTEGER)",
        params.values,
    )
    found = {int(index): (int(units), _money(revenue)) for index, units, revenue in rows}
    out = []
    for n in range((bounds["end"] - start).days):
        units, revenue = found.get(n, (0, _money(0)))
        out.append({"day": start.date() + timedelta(days=n), "units": units, "revenue": revenue})
    return out


def stock_value_breakdown(tx: Tx, stores: Scope) -> dict[str, list[dict[str, Any]]]:
    """Stock value and units by category and by store, largest value first, in one pass over the stock."""
    params = Params()
    where = stores.sql(params, "s.store_id")
    rows = tx.dicts(
        "SELECT p.category, st.code AS store, GROUPING(p.category) AS by_store,"
        f" sum({amount_sql('s.quantity', 'p.unit_price')}) AS stock_value, sum(s.quantity) AS units"
        " FROM stock s JOIN products p ON p.id = s.product_id JOIN stores st ON st.id = s.store_id"
        f" WHERE p.active AND st.active AND {where}"
        " GROUP BY GROUPING SETS ((p.category), (st.code))",
        params.values,
    )
    by_category, by_store = [], []
    for r in rows:
        item = {"stock_value": _money(r["stock_value"]), "units": int(r["units"] or 0)}
        if r["by_store"]:
            by_store.append({"store": r["store"], **item})
        else:
            by_category.append({"category": r["category"], **item})
    by_category.sort(key=lambda r: (-r["stock_value"], r["category"]))
    by_store.sort(key=lambda r: (-r["stock_value"], r["store"]))
    return {"by_category": by_category, "by_store": by_store}


def low_stock(
    tx: Tx, stores: Scope, bounds: dict[str, datetime], cover_days: int, limit: int = LOW_STOCK_ROWS
) -> list[dict[str, Any]]:
    """The most urgent low-stock rows: least cover first (out of stock has 0 days), the faster seller first
    among equals, no sales (unknown cover) last. How many there are in all is the KPIs' ``low_stock +
    out_of_stock``."""
    days = (bounds["end"] - bounds["start"]).days
    params = Params(bounds["start"], bounds["end"], days, cover_days, limit)
    where_s, where_m = stores.sql(params, "s.store_id"), stores.sql(params, "m.store_id")
    # (store, product) packed into one BIGINT: the ledger join probes one key instead of two (about 2x faster on
    # millions of sales). Ids come from sequences; a product id would have to pass 2**32 to collide.
    rows = tx.dicts(
        "WITH low AS (SELECT s.store_id * 4294967296 + s.product_id AS pair, s.store_id, s.product_id, s.quantity,"
        "  p.reorder_level FROM stock s JOIN products p ON p.id = s.product_id JOIN stores st ON st.id = s.store_id"
        f"  WHERE p.active AND st.active AND {status.needs_reorder_sql()} AND {where_s}),"
        " sold AS (SELECT l.pair, sum(-m.delta) AS units FROM movements m"
        "  JOIN low l ON l.pair = m.store_id * 4294967296 + m.product_id"
        f"  WHERE m.kind = 'sale' AND m.created_at >= $1 AND m.created_at < $2 AND {where_m} GROUP BY l.pair),"
        " rated AS (SELECT l.store_id, l.product_id, l.quantity, l.reorder_level,"
        "  coalesce(sold.units, 0) AS units, coalesce(sold.units, 0) * 1.0 / $3 AS daily"
        "  FROM low l LEFT JOIN sold ON sold.pair = l.pair),"
        " urgent AS (SELECT *, CASE WHEN daily > 0 THEN quantity / daily END AS days_of_cover FROM rated"
        "  ORDER BY days_of_cover NULLS LAST, daily DESC, quantity, store_id, product_id LIMIT $5)"
        f" SELECT st.code AS store, p.sku, p.name, p.category, u.quantity, u.reorder_level,"
        f" {status.status_sql('u.quantity', 'u.reorder_level')} AS status,"
        " u.units AS units_sold, u.daily AS daily_sales, u.days_of_cover,"
        " greatest(CAST(ceil(u.units * $4 * 1.0 / $3) AS BIGINT), u.reorder_level + 1) - u.quantity AS suggested_reorder"
        " FROM urgent u JOIN products p ON p.id = u.product_id JOIN stores st ON st.id = u.store_id"
        " ORDER BY u.days_of_cover NULLS LAST, u.daily DESC, u.quantity, st.code, p.sku",
        params.values,
    )
    for r in rows:
        cover = r["days_of_cover"]
        r.update(
            quantity=int(r["quantity"]),
            units_sold=int(r["units_sold"]),
            daily_sales=round(float(r["daily_sales"]), 2),
            days_of_cover=None if cover is None else round(float(cover), 1),
            suggested_reorder=int(r["suggested_reorder"]),
        )
    return rows


@public_read
def dashboard(
    db: Database,
    actor: Actor,
    store: str | None = None,
    *,
    days: int = 30,
    cover_days: int = DEFAULT_COVER_DAYS,
    today: date | None = None,
) -> dict[str, Any]:
    """Everything the Dashboard draws, for ``store`` or every store ``actor`` may see:
    ``{kpis, sales, daily, top_sellers, slowest_movers, by_category, by_store, low_stock, period}``.
    Raises ``ValidationError`` (days, cover_days), ``NotFound`` (store), ``PermissionDenied`` (a store the actor
    is not assigned to; audited as denied)."""
    days = clean_int(days, "Period in days", minimum=1, maximum=366)
    cover_days = clean_int(cover_days, "Days of cover", minimum=1, maximum=365)
    bounds = period_bounds(days, today)

    def body(tx: Tx) -> dict[str, Any]:
        stores = scope(tx, actor, "report.read", store)
        kpis = kpis_in(tx, stores)
        period = {"days": days, "start": bounds["start"].date(), "end": (bounds["end"] - timedelta(days=1)).date()}
        return {
            "period": period,
            "kpis": kpis,
            **product_sales(tx, stores, bounds),
            "daily": daily_sales(tx, stores, bounds),
            **stock_value_breakdown(tx, stores),
            "low_stock": {
                "rows": low_stock(tx, stores, bounds, cover_days),
                "total": kpis["low_stock"] + kpis["out_of_stock"],
            },
        }

    return read(db, actor, "report.read", body, entity="report", entity_id=store or "all", name="report.dashboard")
