"""Benchmark: spreadsheet import speed, measured side by side in one run on the same data.

Run: ``python -m tests.perf.bench_import [--rows 200000] [--loop-rows 1000]`` (not collected by pytest).

Prints rows/s for
  1. our end-to-end import of a fresh catalog with counts (read, check, stage, upsert, adjustments, audit);
  2. re-importing the identical file (every row ``unchanged``: nothing is written but the history row);
  3. what most apps do: one ``INSERT ... ON CONFLICT`` per row from Python, one transaction each, on a subset
     through the same database layer;
  4. the floor: DuckDB's own ``read_csv`` into a new table (no checks, no ledger);
and the ratios against the targets (best of ``--repeat`` interleaved runs): fresh >= 100,000 rows/s, re-import at least as fast as fresh, >= 100x the
loop, within 5x of the floor.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core import open_db  # noqa: E402
from core.catalog import add_store  # noqa: E402
from core.check import check  # noqa: E402
from core.importer import import_file  # noqa: E402
from core.permissions import SYSTEM  # noqa: E402

HEADER = "sku,name,category,unit_price,quantity,reorder_level,vendor\n"


def write_csv(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    categories = [f"Category {i}" for i in range(40)]
    vendors = [f"Vendor {i}" for i in range(25)]
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER)
        for i in range(rows):
            price = rng.randint(1, 500_000) / 100
            fh.write(
                f"SKU-{i:07d},Product number {i} {rng.choice(('Rice', 'Dal', 'Tea', 'Soap'))},"
                f"{rng.choice(categories)},{price:.2f},{rng.randint(0, 900)},{rng.randint(0, 40)},"
                f"{rng.choice(vendors)}\n"
            )


def timed(fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


PHASES = {
    "Reading": "read the file (hash, decode, parse)",
    "Checking": "check every cell (no database)",
    "Comparing": "stage and compare with the database",
    "Writing": "set-based writes (products, movements, stock)",
    "Saving": "drop staging, COMMIT",
}


class PhaseClock:
    """The import's progress callback: when each phase started (a handful of calls; no effect on the timing)."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []

    def __call__(self, fraction: float, text: str) -> None:
        self.marks.append((text.split()[0], time.perf_counter()))

    def durations(self) -> dict[str, float]:
        return {a[0]: b[1] - a[1] for a, b in zip(self.marks, self.marks[1:], strict=False) if a[0] in PHASES}


def loop_upsert(path: Path, csv_path: Path, rows: int) -> float:
    """One INSERT ... ON CONFLICT per row, each in its own transaction, through core.db; returns seconds."""
    import csv

    db = open_db(str(path))
    try:
        with csv_path.open(encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            subset = [next(reader) for _ in range(rows)]
        started = time.perf_counter()
        for r in subset:
            with db.transaction() as tx:
                tx.execute(
                    "INSERT INTO products (sku, name, category, unit_price, reorder_level) VALUES ($1, $2, $3, $4, $5)"
                    " ON CONFLICT (sku) DO UPDATE SET name = excluded.name, category = excluded.category,"
                    " unit_price = excluded.unit_price, reorder_level = excluded.reorder_level,"
                    " version = products.version + 1",
                    [r["sku"], r["name"], r["category"], r["unit_price"], int(r["reorder_level"])],
                )
        return time.perf_counter() - started
    finally:
        db.close()


def floor_read_csv(path: Path, csv_path: Path) -> float:
    import duckdb  # the benchmark measures the engine itself here, outside core

    con = duckdb.connect(str(path))
    try:
        started = time.perf_counter()
        con.execute(f"CREATE TABLE floor AS SELECT * FROM read_csv('{csv_path}')")
        return time.perf_counter() - started
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--loop-rows", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each measurement; the best is shown")
    args = parser.parse_args(argv)
    n = args.rows
    with tempfile.TemporaryDirectory(prefix="bench_import_") as tmp:
        tmpdir = Path(tmp)
        csv_path = tmpdir / "catalog.csv"
        write_csv(csv_path, n)
        size_mb = csv_path.stat().st_size / 1e6

        warm = tmpdir / "warm.csv"  # load the readers' modules once, outside the timings
        write_csv(warm, 100, seed=1)
        warm_db = open_db(str(tmpdir / "warm.duckdb"))
        add_store(warm_db, SYSTEM, "S1", "Main Street")
        import_file(warm_db, SYSTEM, warm, store="S1")
        warm_db.close()

        fresh_s = again_s = floor_s = float("inf")
        phases: dict[str, float] = {}
        ok = True
        for rep in range(args.repeat):  # interleaved, best of each: the machine's other load hits all alike
            floor_s = min(floor_s, floor_read_csv(tmpdir / f"floor{rep}.duckdb", csv_path))
            db = open_db(str(tmpdir / f"ours{rep}.duckdb"))
            add_store(db, SYSTEM, "S1", "Main Street")
            clock = PhaseClock()
            fresh, seconds = timed(lambda: import_file(db, SYSTEM, csv_path, store="S1", progress=clock))  # noqa: B023
            if seconds < fresh_s:
                phases = clock.durations()
            fresh_s = min(fresh_s, seconds)
            again, seconds = timed(lambda: import_file(db, SYSTEM, csv_path, store="S1"))  # noqa: B023
            again_s = min(again_s, seconds)
            ok = ok and check(db)["ok"]
            db.close()
            assert fresh.applied and fresh.created == n and not fresh.errors, fresh.to_json()
            assert again.applied and again.unchanged == n, again.to_json()
        loop_s = loop_upsert(tmpdir / "loop.duckdb", csv_path, args.loop_rows)

    fresh_rps, again_rps = n / fresh_s, n / again_s
    loop_rps, floor_rps = args.loop_rows / loop_s, n / floor_s
    print(f"data: {n:,} rows, {size_mb:.1f} MB CSV (sku, name, category, unit_price, quantity, reorder_level, vendor)")
    print(f"best of {args.repeat} interleaved runs each; the loop once on a {args.loop_rows:,}-row subset")
    print(f"  ours, fresh import       {fresh_s:7.3f} s  {fresh_rps:12,.0f} rows/s  (check ok: {ok})")
    print(f"  ours, identical re-import{again_s:7.3f} s  {again_rps:12,.0f} rows/s")
    print(f"  single-row upsert loop   {loop_s:7.3f} s  {loop_rps:12,.0f} rows/s  ({args.loop_rows:,}-row subset)")
    print(f"  DuckDB read_csv (floor)  {floor_s:7.3f} s  {floor_rps:12,.0f} rows/s")
    print("  where the best fresh import's time went:")
    for name, seconds in phases.items():
        print(f"    {PHASES[name]:46s}{seconds:7.3f} s  ({seconds / floor_s:.1f}x the floor)")
    targets = [
        ("fresh >= 100,000 rows/s", fresh_rps >= 100_000, f"{fresh_rps:,.0f} rows/s"),
        ("re-import at least as fast as fresh", again_rps >= fresh_rps, f"{again_rps / fresh_rps:.1f}x fresh"),
        ("fresh >= 100x the loop", fresh_rps >= 100 * loop_rps, f"{fresh_rps / loop_rps:,.0f}x"),
        ("fresh within 5x of the floor", fresh_s <= 5 * floor_s, f"{fresh_s / floor_s:.1f}x the floor's time"),
        ("re-import within 5x of the floor", again_s <= 5 * floor_s, f"{again_s / floor_s:.1f}x the floor's time"),
    ]
    for name, met, figure in targets:
        print(f"  [{'met' if met else 'MISSED'}] {name}: {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
