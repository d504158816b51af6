"""The inventory grid's speed on a store of 10,000 products (``core.tools.demo`` sample data, 30 days of history).

Figures, each the median of several runs, measured side by side in one run:
- ``save_grid`` with 100 edited rows (quantities; then quantities plus prices), against the same 100 counts as
  100 separate ``set_count`` operations (what a grid without a batch save would do);
- ``inventory_page`` (the core listing: one page of 200 rows plus counts) on the 10,000-product store;
- the Inventory page's server-side render (an AppTest run of ``pages/inventory.py``: cold, with the listing
  cache empty, and warm), on the 10,000-product store and on a 200-product store.

Run: ``python -m tests.perf.bench_grid [--products 10000] [--rows 100] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("INVENTORY_LOG_LEVEL", "ERROR")  # before core's logger is configured

from core import open_db
from core.base.permissions import Actor
from core.db import Database
from core.domain.catalog import list_stores
from core.domain.grid import RowEdit, inventory_page, save_grid
from core.domain.stock import set_count
from core.tools import demo

ROOT = Path(__file__).resolve().parent.parent.parent
PAGE = str(ROOT / "pages" / "inventory.py")
OWNER = Actor(email="bench@shop.test", role="owner", name="Bench Owner")


def median_seconds(fn: Callable[[], Any], repeat: int, prepare: Callable[[], Any] | None = None) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs; ``prepare()`` runs untimed before each."""
    times = []
    for _ in range(repeat):
        arg = prepare() if prepare else None
        started = time.perf_counter()
        fn() if arg is None else fn(arg)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def seeded(directory: Path, products: int) -> tuple[Database, str]:
    db = open_db(str(directory / f"grid_{products}.duckdb"))
    started = time.perf_counter()
    demo.generate(db, stores=1, products=products, days=30, seed=7)
    print(f"seeded {products:>6} products x 1 store x 30 days in {time.perf_counter() - started:6.1f} s")
    return db, list_stores(db)[0]["code"]


def edits_for(db: Database, store: str, rows: int, *, prices: bool) -> list[RowEdit]:
    """``rows`` edits over the first page, built from what is stored now (so each run starts from fresh versions)."""
    loaded = inventory_page(db, OWNER, store, page_size=rows)["rows"]
    edits = []
    for r in loaded:
        changes: dict[str, Any] = {"quantity": int(r["quantity"]) + 1}
        if prices:
            changes["unit_price"] = float(r["unit_price"]) + 0.5
        edits.append(RowEdit(r["sku"], r["product_version"], r["stock_version"], changes))
    return edits


def bench_saves(db: Database, store: str, rows: int, repeat: int) -> None:
    quantities = median_seconds(
        lambda e: save_grid(db, OWNER, store, e), repeat, lambda: edits_for(db, store, rows, prices=False)
    )
    both = median_seconds(
        lambda e: save_grid(db, OWNER, store, e), repeat, lambda: edits_for(db, store, rows, prices=True)
    )

    def one_by_one(edits: list[RowEdit]) -> None:
        for e in edits:
            set_count(db, OWNER, store, e.sku, e.changes["quantity"], expected_version=e.stock_version)

    separate = median_seconds(one_by_one, max(1, repeat // 2), lambda: edits_for(db, store, rows, prices=False))
    print(
        f"save_grid, {rows} rows, quantities only      {quantities * 1000:8.0f} ms   ({rows / quantities:6.0f} rows/s)"
    )
    print(f"save_grid, {rows} rows, quantities + prices  {both * 1000:8.0f} ms   ({rows / both:6.0f} rows/s)")
    print(
        f"{rows} separate set_count operations         {separate * 1000:8.0f} ms   "
        f"(one save_grid is {separate / quantities:4.1f}x faster)"
    )


def bench_listing(db: Database, store: str, repeat: int) -> None:
    first = median_seconds(lambda: inventory_page(db, OWNER, store), repeat)
    searched = median_seconds(lambda: inventory_page(db, OWNER, store, search="rice", only="low_or_out"), repeat)
    last = inventory_page(db, OWNER, store)["pages"]
    deep = median_seconds(lambda: inventory_page(db, OWNER, store, page=last), repeat)
    print(f"inventory_page, page 1 of {last}                {first * 1000:8.1f} ms")
    print(f"inventory_page, page {last} of {last}               {deep * 1000:8.1f} ms")
    print(f"inventory_page, search + low/out filter      {searched * 1000:8.1f} ms")


def render_seconds(db: Database, repeat: int) -> tuple[float, float]:
    """(cold, warm) median AppTest run time of the inventory page on ``db``."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["INVENTORY_DB"] = db.target
    st.cache_resource.clear()

    def run(clear: bool) -> None:
        if clear:
            st.cache_data.clear()
        at = AppTest.from_file(PAGE, default_timeout=120)
        at.session_state["actor"] = OWNER
        at.run()
        if at.exception:
            raise RuntimeError(at.exception[0].message)
        if len(at.data_editor[0].value) == 0:
            raise RuntimeError("the grid is empty")

    run(True)  # imports and the cached database connection
    cold = median_seconds(lambda: run(True), repeat)
    warm = median_seconds(lambda: run(False), repeat)
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big, big_store = seeded(Path(tmp), args.products)
        small, _ = seeded(Path(tmp), args.small)
        try:
            cold_small, warm_small = render_seconds(small, args.repeat)
            cold_big, warm_big = render_seconds(big, args.repeat)
            print(
                f"inventory page render, {args.small:>6} products: cold {cold_small * 1000:6.0f} ms,"
                f" warm {warm_small * 1000:6.0f} ms"
            )
            print(
                f"inventory page render, {args.products:>6} products: cold {cold_big * 1000:6.0f} ms,"
                f" warm {warm_big * 1000:6.0f} ms"
                f"   ({cold_big / cold_small:4.2f}x / {warm_big / warm_small:4.2f}x the small store)"
            )
            bench_listing(big, big_store, args.repeat)
            bench_saves(big, big_store, args.rows, args.repeat)
        finally:
            big.close()
            small.close()


if __name__ == "__main__":
    main()
