"""Core throughput on a temporary DuckDB file: single-thread sales and versioned product edits per second (each
beside a bare transaction of the same SQL shape, to show what the runner, audit and checks cost), and the
8-thread concurrency run's counts.

Run: ``python -m tests.perf.bench_core [--n 500] [--threads 8] [--edits 100] [--sales 40]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from core import open_db
from core.base import observe
from core.base.permissions import SYSTEM
from core.domain.catalog import add_store, create_product, update_product
from core.domain.check import check
from core.domain.stock import record_sale, stock_in
from tests.test_concurrency import SKU, hammer, seed


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


def bench_sales(path: Path, n: int) -> tuple[float, float]:
    """(core sales/s, bare ledger transactions/s) on the same database."""
    db = open_db(str(path))
    try:
        add_store(db, SYSTEM, "S1", "Main")
        create_product(db, SYSTEM, "A", "Apple", "Fruit", "1.00")
        stock_in(db, SYSTEM, "S1", "A", 10 * n)
        started = time.perf_counter()
        for _ in range(n):
            record_sale(db, SYSTEM, "S1", [("A", 1)])
        core_rate = _rate(n, time.perf_counter() - started)
        started = time.perf_counter()
        for _ in range(n):
            with db.transaction() as tx:
                q = tx.scalar(
                    "UPDATE stock SET quantity = quantity - 1, version = version + 1 WHERE store_id = 1"
                    " AND product_id = 1 AND quantity >= 1 RETURNING quantity"
                )
                tx.execute(
                    "INSERT INTO movements (store_id, product_id, kind, delta, quantity_after, actor)"
                    " VALUES (1, 1, 'sale', -1, $1, 'bench')",
                    [q],
                )
        bare_rate = _rate(n, time.perf_counter() - started)
        assert check(db)["ok"]
        return core_rate, bare_rate
    finally:
        db.close()


def bench_edits(path: Path, n: int) -> tuple[float, float]:
    """(core versioned edits/s, bare versioned UPDATEs/s) on one product row."""
    db = open_db(str(path))
    try:
        create_product(db, SYSTEM, "E", "Edited", "Misc", "1.00", 0)
        version = 1
        started = time.perf_counter()
        for i in range(1, n + 1):
            version = update_product(db, SYSTEM, "E", version, reorder_level=i)["version"]
        core_rate = _rate(n, time.perf_counter() - started)
        assert version == n + 1
        started = time.perf_counter()
        for _ in range(n):
            with db.transaction() as tx:
                version = tx.scalar(
                    "UPDATE products SET version = version + 1 WHERE sku = 'E' AND version = $1 RETURNING version",
                    [version],
                )
        bare_rate = _rate(n, time.perf_counter() - started)
        return core_rate, bare_rate
    finally:
        db.close()


def bench_concurrency(path: Path, threads: int, edits: int, sales: int, initial: int = 400) -> dict:
    db = open_db(str(path))
    try:
        seed(db, initial)
        started = time.perf_counter()
        tally = hammer(db, threads=threads, edits=edits, sales=sales)
        seconds = time.perf_counter() - started
        with db.reader() as tx:
            version, counter = tx.one("SELECT version, reorder_level FROM products WHERE sku = $1", [SKU])
            final = tx.scalar("SELECT quantity FROM stock")
            negative = tx.scalar("SELECT count(*) FROM movements WHERE quantity_after < 0")
        return {
            "threads": threads,
            "edit attempts": tally.edit_attempts,
            "accepted": tally.accepted,
            "conflicts": tally.conflicts,
            "lost updates": tally.accepted - (version - 1) + (tally.accepted - counter),
            "sale attempts": tally.sale_attempts,
            "sales ok": tally.sales_ok,
            "sales refused (insufficient)": tally.sales_refused,
            "units sold": tally.units_sold,
            "initial - final stock": initial - final,
            "negative": negative + (1 if final < 0 else 0),
            "unexpected errors": len(tally.errors),
            "check ok": check(db)["ok"],
            "seconds": round(seconds, 2),
            "operations/s": round((tally.edit_attempts + tally.sale_attempts) / seconds, 1),
        }
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="operations per single-thread figure")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--edits", type=int, default=100, help="edit attempts per thread")
    parser.add_argument("--sales", type=int, default=40, help="sale attempts per thread")
    args = parser.parse_args()
    observe.configure_logging("ERROR")
    with tempfile.TemporaryDirectory() as tmp:
        sales, bare_sales = bench_sales(Path(tmp) / "sales.duckdb", args.n)
        edits, bare_edits = bench_edits(Path(tmp) / "edits.duckdb", args.n)
        print(
            f"single-thread sales/s:            {sales:8.1f}   (bare ledger tx {bare_sales:8.1f}/s, ratio {sales / bare_sales:.2f})"
        )
        print(
            f"single-thread versioned edits/s:  {edits:8.1f}   (bare versioned UPDATE {bare_edits:8.1f}/s, ratio {edits / bare_edits:.2f})"
        )
        counts = bench_concurrency(Path(tmp) / "race.duckdb", args.threads, args.edits, args.sales)
        print("concurrency run (one Database, same rows):")
        for key, value in counts.items():
            print(f"  {key:30} {value}")


if __name__ == "__main__":
    main()
