"""What the Dashboard shows, computed by the database: KPI tiles, sales for a period, charts, low stock.

``dashboard`` is the page's one call. It reads everything in one transaction (one consistent snapshot)
through the operation runner, so a refused store is audited as ``denied`` and every render's latency shows
on the System page.

Definitions (one spelling, used by the page and the tests):
- **Sales** are movements of kind ``sale``. Orders (kind ``order``) are customer orders and are not counted.
- **Revenue** is units sold x the product's CURRENT catalog ``unit_price``: sale movements carry no price
  snapshot, so a price change re-values past sales. (Orders snapshot their price in ``order_lines``.)
- The **period** is the last ``days`` calendar days ending today (today included); the previous period is the
  ``days`` days before it. Changes are against the previous period (``None`` when it sold nothing).
- **Stock value** is on-hand quantity x current unit price, over active products in active stores, as in
  ``core.kpis``.
- **Low stock rows** are (store, product) pairs at or below the reorder level, out of stock included.
  Days of cover = quantity / (units sold in the period / days), ``None`` when nothing sold. The suggested
  reorder brings the quantity up to ``cover_days`` of average sales and at least one above the reorder level
  (so the row stops being low).
Store scope: one store (checked with ``report.read``) or every store the actor may see.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from core.db import Database, Tx
from core.kpis import compute_kpis, store_filter
from core.ops import run
from core.permissions import Actor
from core.validate import clean_int

PERIODS = (7, 30, 90)
DEFAULT_COVER_DAYS = 14
CHART_ROWS = 10
LOW_STOCK_ROWS = 200
CENTS = Decimal("0.01")

_SALES_FROM = "movements m JOIN products p ON p.id = m.product_id"


def period_bounds(days: int, today: date | None = None) -> dict[str, datetime]:
    """Start of the previous period, start of the period, and its exclusive end (tomorrow at 00:00)."""
    end = datetime.combine((today or date.today()) + timedelta(days=1), time())
    start = end - timedelta(days=days)
    return {"previous_start": start - timedelta(days=days), "start": start, "end": end}


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENTS)


def _change(current: Any, previous: Any) -> float | None:
    """Percentage change; ``None`` when the previous period had nothing to compare with."""
    if not previous:
        return None
    return round((float(current) - float(previous)) * 100.0 / float(previous), 1)


def sales_summary(tx: Tx, where: str, bounds: dict[str, datetime]) -> dict[str, Any]:
    """Units and revenue in the period and in the previous one, with the change in percent."""
    row = tx.dicts(
        "SELECT coalesce(sum(-m.delta) FILTER (WHERE m.created_at >= $2), 0) AS units,"
        " coalesce(sum(-m.delta * p.unit_price) FILTER (WHERE m.created_at >= $2), 0) AS revenue,"
        " coalesce(sum(-m.delta) FILTER (WHERE m.created_at < $2), 0) AS previous_units,"
        " coalesce(sum(-m.delta * p.unit_price) FILTER (WHERE m.created_at < $2), 0) AS previous_revenue"
        f" FROM {_SALES_FROM} WHERE m.kind = 'sale' AND m.created_at >= $1 AND m.created_at < $3 AND {where}",
        [bounds["previous_start"], bounds["start"], bounds["end"]],
    )[0]
    units, previous_units = int(row["units"]), int(row["previous_units"])
    revenue, previous_revenue = _money(row["revenue"]), _money(row["previous_revenue"])
    return {
        "units": units,
        "revenue": revenue,
        "previous_units": previous_units,
        "previous_revenue": previous_revenue,
        "units_change_pct": _change(units, previous_units),
        "revenue_change_pct": _change(revenue, previous_revenue),
    }


def daily_sales(tx: Tx, where: str, bounds: dict[str, datetime]) -> list[dict[str, Any]]:
    """One row per calendar day of the period (days without sales included, as zero)."""
    rows = tx.all(
        "SELECT CAST(m.created_at AS DATE) AS day, sum(-m.delta) AS units, sum(-m.delta * p.unit_price) AS revenue"
        f" FROM {_SALES_FROM} WHERE m.kind = 'sale' AND m.created_at >= $1 AND m.created_at < $2 AND {where}"
        " GROUP BY CAST(m.created_at AS DATE)",
        [bounds["start"], bounds["end"]],
    )
    found = {day: (int(units), _money(revenue)) for day, units, revenue in rows}
    first, days = bounds["start"].date(), (bounds["end"] - bounds["start"]).days
    out = []
    for n in range(days):
        day = first + timedelta(days=n)
        units, revenue = found.get(day, (0, _money(0)))
        out.append({"day": day, "units": units, "revenue": revenue})
    return out


def top_sellers(tx: Tx, where: str, bounds: dict[str, datetime], limit: int = CHART_ROWS) -> list[dict[str, Any]]:
    """The products that sold the most units in the period (ties by SKU)."""
    rows = tx.dicts(
        "SELECT p.sku, p.name, sum(-m.delta) AS units, sum(-m.delta * p.unit_price) AS revenue"
        f" FROM {_SALES_FROM} WHERE m.kind = 'sale' AND m.created_at >= $1 AND m.created_at < $2 AND {where}"
        " GROUP BY p.sku, p.name ORDER BY units DESC, p.sku LIMIT $3",
        [bounds["start"], bounds["end"], limit],
    )
    return [{**r, "units": int(r["units"]), "revenue": _money(r["revenue"])} for r in rows]


def slowest_movers(
    tx: Tx, where_m: str, where_s: str, bounds: dict[str, datetime], limit: int = CHART_ROWS
) -> list[dict[str, Any]]:
    """Active products on hand that sold the fewest units in the period (none at all first); ties go to the
    larger stock value, the money standing still."""
    rows = tx.dicts(
        "WITH sold AS (SELECT m.product_id, sum(-m.delta) AS units FROM movements m"
        f"  WHERE m.kind = 'sale' AND m.created_at >= $1 AND m.created_at < $2 AND {where_m} GROUP BY m.product_id),"
        " on_hand AS (SELECT s.product_id, sum(s.quantity) AS quantity FROM stock s JOIN stores st ON st.id = s.store_id"
        f"  WHERE st.active AND {where_s} GROUP BY s.product_id HAVING sum(s.quantity) > 0)"
        " SELECT p.sku, p.name, o.quantity, o.quantity * p.unit_price AS stock_value,"
        " coalesce(sold.units, 0) AS units"
        " FROM on_hand o JOIN products p ON p.id = o.product_id LEFT JOIN sold ON sold.product_id = o.product_id"
        " WHERE p.active ORDER BY units, stock_value DESC, p.sku LIMIT $3",
        [bounds["start"], bounds["end"], limit],
    )
    return [
        {**r, "quantity": int(r["quantity"]), "units": int(r["units"]), "stock_value": _money(r["stock_value"])}
        for r in rows
    ]


def stock_value_breakdown(tx: Tx, where: str) -> dict[str, list[dict[str, Any]]]:
    """Stock value and units by category and by store, largest value first, in one pass over the stock."""
    rows = tx.dicts(
        "SELECT p.category, st.code AS store, GROUPING(p.category) AS by_store,"
        " sum(s.quantity * p.unit_price) AS stock_value, sum(s.quantity) AS units"
        " FROM stock s JOIN products p ON p.id = s.product_id JOIN stores st ON st.id = s.store_id"
        f" WHERE p.active AND st.active AND {where}"
        " GROUP BY GROUPING SETS ((p.category), (st.code))"
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
    tx: Tx,
    where_s: str,
    where_m: str,
    bounds: dict[str, datetime],
    cover_days: int,
    limit: int = LOW_STOCK_ROWS,
) -> dict[str, Any]:
    """The most urgent low-stock rows (least cover first; out of stock has 0 days) and how many there are."""
    days = (bounds["end"] - bounds["start"]).days
    rows = tx.dicts(
        "WITH low AS (SELECT s.store_id, s.product_id, s.quantity FROM stock s"
        " JOIN products p ON p.id = s.product_id JOIN stores st ON st.id = s.store_id"
        f"  WHERE p.active AND st.active AND s.quantity <= p.reorder_level AND {where_s}),"
        " sold AS (SELECT m.store_id, m.product_id, sum(-m.delta) AS units FROM movements m"
        "  JOIN low l ON l.store_id = m.store_id AND l.product_id = m.product_id"
        f"  WHERE m.kind = 'sale' AND m.created_at >= $1 AND m.created_at < $2 AND {where_m}"
        "  GROUP BY m.store_id, m.product_id),"
        " rated AS (SELECT l.store_id, l.product_id, l.quantity, coalesce(sold.units, 0) AS units,"
        "  coalesce(sold.units, 0) * 1.0 / $3 AS daily FROM low l"
        "  LEFT JOIN sold ON sold.store_id = l.store_id AND sold.product_id = l.product_id)"
        " SELECT st.code AS store, p.sku, p.name, p.category, r.quantity, p.reorder_level, r.units AS units_sold,"
        " r.daily AS daily_sales,"
        " CASE WHEN r.daily > 0 THEN r.quantity / r.daily END AS days_of_cover,"
        " greatest(CAST(ceil(r.daily * $4) AS BIGINT), p.reorder_level + 1) - r.quantity AS suggested_reorder,"
        " count(*) OVER () AS total"
        " FROM rated r JOIN products p ON p.id = r.product_id JOIN stores st ON st.id = r.store_id"
        " ORDER BY days_of_cover NULLS LAST, r.quantity, st.code, p.sku LIMIT $5",
        [bounds["start"], bounds["end"], days, cover_days, limit],
    )
    total = int(rows[0]["total"]) if rows else 0
    out = []
    for r in rows:
        r.pop("total")
        cover = r["days_of_cover"]
        r.update(
            quantity=int(r["quantity"]),
            units_sold=int(r["units_sold"]),
            daily_sales=round(float(r["daily_sales"]), 2),
            days_of_cover=None if cover is None else round(float(cover), 1),
            suggested_reorder=int(r["suggested_reorder"]),
            status="out of stock" if r["quantity"] == 0 else "low",
        )
        out.append(r)
    return {"rows": out, "total": total}


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
        where_m = store_filter(tx, actor, store, "m.store_id", action="report.read")
        where_s = store_filter(tx, actor, store, "s.store_id", action="report.read")
        breakdown = stock_value_breakdown(tx, where_s)
        return {
            "period": {
                "days": days,
                "start": bounds["start"].date(),
                "end": (bounds["end"] - timedelta(days=1)).date(),
            },
            "kpis": compute_kpis(db, actor, store),
            "sales": sales_summary(tx, where_m, bounds),
            "daily": daily_sales(tx, where_m, bounds),
            "top_sellers": top_sellers(tx, where_m, bounds),
            "slowest_movers": slowest_movers(tx, where_m, where_s, bounds),
            "by_category": breakdown["by_category"],
            "by_store": breakdown["by_store"],
            "low_stock": low_stock(tx, where_s, where_m, bounds, cover_days),
        }

    return run(db, actor, "report.dashboard", body, entity="report", entity_id=store or "all")
