"""Dashboard speed at demo size: the KPI query (``core.reads.kpis.compute_kpis``, one SQL query) beside the same KPIs
computed the naive way (load the tables into pandas, aggregate there), each dashboard query on its own, the
whole ``core.reads.dashboard.dashboard`` call, and the Dashboard page's server-side render (an AppTest run).

Targets (issue 6): KPI query < 100 ms; dashboard render about a second or less.

The database is generated once by ``core.tools.demo.generate`` into ``--db`` (default under the system temp folder)
and reused by later runs with the same size; ``--fresh`` regenerates it.

Run: ``python -m tests.perf.bench_dashboard [--stores 500] [--products 10000] [--days 90] [--repeat 7] [--fresh]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from core import open_db
from core.base.permissions import SYSTEM
from core.db import Database
from core.reads.dashboard import daily_sales, dashboard, low_stock, period_bounds, product_sales, stock_value_breakdown
from core.reads.kpis import compute_kpis

ROOT = Path(__file__).resolve().parents[2]


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """(median seconds over ``repeat`` runs after one warm-up, the last result)."""
    result = fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def ms(seconds: float) -> str:
    return f"{seconds * 1000:9.1f} ms"


def prepare(path: Path, stores: int, products: int, days: int, fresh: bool) -> Database:
    marker = path.with_suffix(".json")
    wanted = {"stores": stores, "products": products, "days": days}
    if path.exists() and not fresh and marker.exists() and json.loads(marker.read_text()) == wanted:
        return open_db(str(path))
    for stale in (path, path.with_suffix(".duckdb.wal"), marker):
        stale.unlink(missing_ok=True)
    from core.tools.demo import generate

    db = open_db(str(path))
    started = time.perf_counter()
    generate(db, SYSTEM, stores=stores, products=products, days=days, seed=42)
    print(f"generated demo data in {time.perf_counter() - started:.1f} s")
    marker.write_text(json.dumps(wanted))
    return db


def naive_kpis(db: Database) -> dict[str, Any]:
    """What many apps do: pull the tables into pandas and aggregate in Python-land."""
    with db.reader() as tx:
        stock = tx.frame("SELECT * FROM stock")
        products = tx.frame("SELECT * FROM products")
        stores = tx.frame("SELECT * FROM stores")
    rows = stock.merge(products, left_on="product_id", right_on="id", suffixes=("", "_p")).merge(
        stores, left_on="store_id", right_on="id", suffixes=("", "_s")
    )
    rows = rows[rows["active"] & rows["active_s"]]
    value = (rows["quantity"] * rows["unit_price"].astype(float)).sum()
    return {
        "total_skus": int(rows["product_id"].nunique()),
        "total_units": int(rows["quantity"].sum()),
        "stock_value": Decimal(str(round(value, 2))).quantize(Decimal("0.01")),
        "low_stock": int(((rows["quantity"] > 0) & (rows["quantity"] <= rows["reorder_level"])).sum()),
        "out_of_stock": int((rows["quantity"] == 0).sum()),
        "stores": int(rows["store_id"].nunique()),
    }


def apptest_render(db_path: Path, repeat: int) -> tuple[float, float]:
    """(a fresh AppTest's first run, median of later runs of the same AppTest) of pages/dashboard.py for the
    owner, in seconds. A fresh AppTest also scans every installed package for Streamlit components (AppTest's
    own one-off cost, done once per server in production); a later run is one full render of the page,
    every query included (the page caches nothing)."""
    from streamlit.testing.v1 import AppTest

    os.environ["INVENTORY_DB"] = str(db_path)
    at = AppTest.from_file(str(ROOT / "pages" / "dashboard.py"), default_timeout=120)
    at.session_state["actor"] = SYSTEM

    def render() -> None:
        at.run()
        assert not at.exception, at.exception
        assert len(at.get("plotly_chart")) == 5

    started = time.perf_counter()
    render()
    first = time.perf_counter() - started
    later, _ = timed(render, repeat)
    return first, later


def main() -> None:
    import streamlit.logger

    from core.base.observe import configure_logging

    configure_logging("WARNING")  # no JSON line per dashboard call
    streamlit.logger.set_log_level("error")  # AppTest outside a server warns about a missing ScriptRunContext
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=500)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "bench_dashboard" / "demo.duckdb")
    parser.add_argument("--fresh", action="store_true", help="regenerate the demo database")
    args = parser.parse_args()
    args.db.parent.mkdir(parents=True, exist_ok=True)

    db = prepare(args.db, args.stores, args.products, args.days, args.fresh)
    with db.reader() as tx:
        stock_rows = tx.scalar("SELECT count(*) FROM stock")
        movement_rows = tx.scalar("SELECT count(*) FROM movements")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (figures scale with it)")
    print(f"demo --stores {args.stores} --products {args.products} --days {args.days}: {stock_rows:,} stock rows,"
          f" {movement_rows:,} movements, {db.size_bytes() / 2**20:,.0f} MB")  # fmt: skip

    kpi_s, kpis = timed(lambda: compute_kpis(db, SYSTEM), args.repeat)
    naive_s, naive = timed(lambda: naive_kpis(db), max(3, args.repeat // 2))
    same = all(kpis[k] == naive[k] for k in kpis if k != "stock_value") and abs(
        kpis["stock_value"] - naive["stock_value"]
    ) <= Decimal("0.05")
    print(f"\nKPI query (compute_kpis, one SQL query)   {ms(kpi_s)}   target < 100 ms")
    print(f"same KPIs, naive (tables -> pandas)        {ms(naive_s)}   {naive_s / kpi_s:,.1f}x slower"
          f"   results agree: {same}")  # fmt: skip

    bounds = period_bounds(30)
    print("\ndashboard queries (owner, all stores, last 30 days, median; plus the KPI query above):")
    with db.reader() as tx:
        for name, fn in (
            ("stock value by category and store", lambda: stock_value_breakdown(tx, "TRUE")),
            ("sales, top sellers, slowest movers", lambda: product_sales(tx, "TRUE", "TRUE", bounds)),
            ("daily sales", lambda: daily_sales(tx, "TRUE", bounds)),
            ("low stock with days of cover", lambda: low_stock(tx, "TRUE", "TRUE", bounds, 14)),
        ):
            seconds, _ = timed(fn, args.repeat)
            print(f"  {name:<40} {ms(seconds)}")
    with db.reader() as tx:
        store = tx.scalar("SELECT min(code) FROM stores")
    for label, kwargs in (("all stores, 30 days", {}), (f"one store ({store}), 30 days", {"store": store}),
                          ("all stores, 90 days", {"days": 90})):  # fmt: skip
        seconds, _ = timed(lambda kwargs=kwargs: dashboard(db, SYSTEM, **kwargs), args.repeat)
        print(f"whole dashboard() call, {label:<26} {ms(seconds)}")

    db.close()  # the page opens the file itself (same process)
    first, later = apptest_render(args.db, max(3, args.repeat // 2))
    print(f"\nDashboard page, fresh AppTest first run   {ms(first)}   (+ AppTest's package scan, imports, opening)")
    print(f"Dashboard page render (AppTest re-run)     {ms(later)}   target about 1 s")


if __name__ == "__main__":
    main()
