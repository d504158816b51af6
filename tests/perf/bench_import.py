"""Benchmark: spreadsheet import speed, measured side by side in one run on the same data, on each engine.

Run: ``python -m tests.perf.bench_import [--rows 200000] [--loop-rows 500] [--engines duckdb,postgres]
[--pg-volatile]`` (not collected by pytest).

Prints rows/s, per engine, for
  1. our end-to-end import (``core.sheets.importer.import_file``) of a fresh catalog with counts (read, check, stage,
     upsert, adjustments, audit);
  2. re-importing the identical file (every row ``unchanged``: nothing is written but the history row);
  3. what most apps do: one ``INSERT ... ON CONFLICT`` per row from Python, one transaction each, on a subset
     through the same database layer;
  4. the floor: the engine loading the raw CSV into a new plain table, no checks, no ledger (DuckDB: its own
     ``read_csv``; PostgreSQL: psycopg sending the file through ``COPY ... FROM STDIN (FORMAT csv)``);
with where the best fresh import's time went (and on PostgreSQL the share of ``PgTx.load_frame``, the COPY of the
staged rows). DuckDB's figures are checked against its targets (best of ``--repeat`` interleaved runs): fresh >=
100,000 rows/s, re-import at least as fast as fresh, >= 100x the loop, within 5x of the floor. Then both engines'
ratios side by side. The engines' runs are interleaved too, so the machine's other load hits both alike.

DuckDB works on a file in the temporary folder. PostgreSQL is a throwaway cluster the bench starts itself
(``tests/pg_server.py``), restarted with PostgreSQL's default durability (``fsync=on``, ``synchronous_commit=on``:
the import's COMMIT waits for its WAL on disk, as DuckDB's waits for its file); ``--pg-volatile`` keeps the
tests' ``fsync=off`` instead. Each PostgreSQL run imports into a fresh copy of one migrated template database.
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
from core.base.permissions import SYSTEM  # noqa: E402
from core.domain.catalog import add_store  # noqa: E402
from core.domain.check import check  # noqa: E402
from core.sheets.importer import import_file  # noqa: E402

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


def loop_upsert(target: str, csv_path: Path, rows: int) -> float:
    """One INSERT ... ON CONFLICT per row, each in its own transaction, through core.db; returns seconds."""
    import csv

    db = open_db(target)
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


FLOOR_TABLE = (
    "CREATE TABLE floor (sku VARCHAR, name VARCHAR, category VARCHAR, unit_price DECIMAL(12, 2), quantity INTEGER,"
    " reorder_level INTEGER, vendor VARCHAR)"
)


def floor_pg_copy(url: str, csv_path: Path) -> float:
    """The raw CSV straight into a plain typed table with psycopg's COPY (no checks), committed; returns seconds."""
    import psycopg  # the benchmark measures the engine itself here, outside core

    with psycopg.connect(url) as conn:
        conn.execute(FLOOR_TABLE)
        conn.commit()
        started = time.perf_counter()
        with (
            csv_path.open("rb") as fh,
            conn.cursor() as cur,
            cur.copy("COPY floor FROM STDIN (FORMAT csv, HEADER true)") as copy,
        ):
            while block := fh.read(1 << 20):
                copy.write(block)
        conn.commit()
        return time.perf_counter() - started


class LoadClock:
    """Wraps ``PgTx.load_frame`` while the PostgreSQL runs: the seconds spent in it since the last ``take``."""

    def __init__(self) -> None:
        from core.db import postgres as db_postgres  # psycopg is loaded only when PostgreSQL is benchmarked

        self.seconds = 0.0
        self.original = db_postgres.PgTx.load_frame
        clock = self

        def timed_load(tx, table, frame):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                clock.original(tx, table, frame)
            finally:
                clock.seconds += time.perf_counter() - started

        db_postgres.PgTx.load_frame = timed_load  # type: ignore[method-assign]

    def take(self) -> float:
        seconds, self.seconds = self.seconds, 0.0
        return seconds

    def restore(self) -> None:
        from core.db import postgres as db_postgres

        db_postgres.PgTx.load_frame = self.original  # type: ignore[method-assign]


class Best:
    """One engine's best (shortest) time of each measurement over the interleaved runs."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.fresh = self.again = self.floor = self.loop = float("inf")
        self.load_fresh = self.load_again = float("nan")
        self.phases: dict[str, float] = {}
        self.ok = True
        self.settings = ""

    def run(self, floor: float, import_once, check_db) -> None:  # type: ignore[no-untyped-def]
        """Record one run: the floor's seconds, then a fresh import and an identical re-import, then ``check``."""
        self.floor = min(self.floor, floor)
        clock = PhaseClock()
        fresh, seconds, loaded = import_once(clock)
        if seconds < self.fresh:
            self.fresh, self.phases, self.load_fresh = seconds, clock.durations(), loaded
        again, seconds, loaded = import_once(None)
        if seconds < self.again:
            self.again, self.load_again = seconds, loaded
        self.ok = self.ok and check_db()
        assert fresh.applied and fresh.created == fresh.rows and not fresh.errors, fresh.to_json()
        assert again.applied and again.unchanged == again.rows, again.to_json()


def duckdb_run(best: Best, tmpdir: Path, rep: int, csv_path: Path) -> None:
    floor_s = floor_read_csv(tmpdir / f"floor{rep}.duckdb", csv_path)
    db = open_db(str(tmpdir / f"ours{rep}.duckdb"))
    try:
        add_store(db, SYSTEM, "S1", "Main Street")

        def import_once(clock):  # type: ignore[no-untyped-def]
            report, seconds = timed(lambda: import_file(db, SYSTEM, csv_path, store="S1", progress=clock))
            return report, seconds, float("nan")

        best.run(floor_s, import_once, lambda: check(db)["ok"])
    finally:
        db.close()


def postgres_run(best: Best, server, template: str, csv_path: Path, loads: LoadClock) -> None:  # type: ignore[no-untyped-def]
    floor_url = server.new_database()
    try:
        floor_s = floor_pg_copy(floor_url, csv_path)
    finally:
        server.drop_database(floor_url)
    url = server.new_database(template)
    db = open_db(url)
    try:
        add_store(db, SYSTEM, "S1", "Main Street")

        def import_once(clock):  # type: ignore[no-untyped-def]
            loads.take()
            report, seconds = timed(lambda: import_file(db, SYSTEM, csv_path, store="S1", progress=clock))
            return report, seconds, loads.take()

        best.run(floor_s, import_once, lambda: check(db)["ok"])
    finally:
        db.close()
        server.drop_database(url)


def start_postgres(volatile: bool):  # type: ignore[no-untyped-def]
    """The throwaway cluster and a migrated template database; durable unless ``volatile``."""
    from tests import pg_server

    server = pg_server.start()
    try:
        if volatile:
            settings = "fsync=off, synchronous_commit=off: as the tests run it"
        else:
            from tests.perf.bench_concurrency import make_durable

            settings = make_durable(server) + ": PostgreSQL's defaults"
        server.sql("CREATE DATABASE bench_template")
        open_db(server.url_for("bench_template")).close()
    except BaseException:
        server.stop()
        raise
    return server, "bench_template", settings


def warm_up(target: str, warm_csv: Path) -> None:
    """Load the readers' and the driver's modules once, outside the timings."""
    db = open_db(target)
    try:
        add_store(db, SYSTEM, "S1", "Main Street")
        import_file(db, SYSTEM, warm_csv, store="S1")
    finally:
        db.close()


def print_engine(best: Best, n: int, loop_rows: int, floor_label: str) -> None:
    print(f"  ours, fresh import       {best.fresh:7.3f} s  {n / best.fresh:12,.0f} rows/s  (check ok: {best.ok})")
    print(f"  ours, identical re-import{best.again:7.3f} s  {n / best.again:12,.0f} rows/s")
    print(
        f"  single-row upsert loop   {best.loop:7.3f} s  {loop_rows / best.loop:12,.0f} rows/s  ({loop_rows:,}-row subset)"
    )
    print(f"  {floor_label:25s}{best.floor:7.3f} s  {n / best.floor:12,.0f} rows/s")
    print("  where the best fresh import's time went:")
    for name, seconds in best.phases.items():
        print(f"    {PHASES[name]:46s}{seconds:7.3f} s  ({seconds / best.floor:.1f}x the floor)")
        if name == "Comparing" and best.load_fresh == best.load_fresh:  # not NaN: PostgreSQL's COPY was timed
            print(f"      of which load_frame (COPY of the staged rows){best.load_fresh:6.3f} s")


def print_duckdb_targets(best: Best, n: int, loop_rows: int) -> None:
    fresh_rps, again_rps, loop_rps = n / best.fresh, n / best.again, loop_rows / best.loop
    fresh_s, again_s, floor_s = best.fresh, best.again, best.floor
    targets = [
        ("fresh >= 100,000 rows/s", fresh_rps >= 100_000, f"{fresh_rps:,.0f} rows/s"),
        ("re-import at least as fast as fresh", again_rps >= fresh_rps, f"{again_rps / fresh_rps:.1f}x fresh"),
        ("fresh >= 100x the loop", fresh_rps >= 100 * loop_rps, f"{fresh_rps / loop_rps:,.0f}x"),
        ("fresh within 5x of the floor", fresh_s <= 5 * floor_s, f"{fresh_s / floor_s:.1f}x the floor's time"),
        ("re-import within 5x of the floor", again_s <= 5 * floor_s, f"{again_s / floor_s:.1f}x the floor's time"),
    ]
    for name, met, figure in targets:
        print(f"  [{'met' if met else 'MISSED'}] {name}: {figure}")


def print_side_by_side(bests: list[Best], n: int, loop_rows: int) -> None:
    print("side by side (same file, same run):" + "".join(f"{b.label:>16s}" for b in bests))
    lines = [
        ("fresh import, rows/s", lambda b: f"{n / b.fresh:,.0f}"),
        ("identical re-import, rows/s", lambda b: f"{n / b.again:,.0f}"),
        ("single-row upsert loop, rows/s", lambda b: f"{loop_rows / b.loop:,.0f}"),
        ("floor (raw CSV load), rows/s", lambda b: f"{n / b.floor:,.0f}"),
        ("fresh, x the floor's time", lambda b: f"{b.fresh / b.floor:.1f}x"),
        ("re-import, x the floor's time", lambda b: f"{b.again / b.floor:.1f}x"),
        ("fresh, x the loop's rows/s", lambda b: f"{(n / b.fresh) / (loop_rows / b.loop):,.0f}x"),
        ("re-import / fresh rows/s", lambda b: f"{b.fresh / b.again:.2f}x"),
    ]
    for name, cell in lines:
        print(f"  {name:34s}" + "".join(f"{cell(b):>16s}" for b in bests))
    if len(bests) == 2:
        duck, pg = bests
        print(
            f"  {bests[1].label} / {bests[0].label}: fresh {duck.fresh / pg.fresh:.2f}x the rows/s,"
            f" re-import {duck.again / pg.again:.2f}x, floor {duck.floor / pg.floor:.2f}x"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--loop-rows", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each measurement; the best is shown")
    parser.add_argument("--engines", default="duckdb,postgres", help="comma-separated: duckdb, postgres")
    parser.add_argument("--pg-volatile", action="store_true", help="PostgreSQL with fsync=off, as the tests run it")
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(engines) - {"duckdb", "postgres"}
    if unknown or not engines:
        parser.error(f"--engines takes duckdb and/or postgres, not {', '.join(sorted(unknown)) or 'nothing'}")
    n = args.rows
    bests = {"duckdb": Best("DuckDB"), "postgres": Best("PostgreSQL")}
    server = loads = None
    with tempfile.TemporaryDirectory(prefix="bench_import_") as tmp:
        tmpdir = Path(tmp)
        csv_path = tmpdir / "catalog.csv"
        write_csv(csv_path, n)
        size_mb = csv_path.stat().st_size / 1e6

        warm = tmpdir / "warm.csv"  # load the readers' modules once, outside the timings
        write_csv(warm, 100, seed=1)
        try:
            if "duckdb" in engines:
                warm_up(str(tmpdir / "warm.duckdb"), warm)
            if "postgres" in engines:
                server, template, bests["postgres"].settings = start_postgres(args.pg_volatile)
                warm_url = server.new_database(template)
                warm_up(warm_url, warm)
                server.drop_database(warm_url)
                loads = LoadClock()
            for rep in range(args.repeat):  # interleaved, best of each: the machine's other load hits all alike
                for engine in engines:
                    if engine == "duckdb":
                        duckdb_run(bests["duckdb"], tmpdir, rep, csv_path)
                    else:
                        postgres_run(bests["postgres"], server, template, csv_path, loads)
            for engine in engines:
                if engine == "duckdb":
                    bests["duckdb"].loop = loop_upsert(str(tmpdir / "loop.duckdb"), csv_path, args.loop_rows)
                else:
                    url = server.new_database(template)
                    bests["postgres"].loop = loop_upsert(url, csv_path, args.loop_rows)
                    server.drop_database(url)
        finally:
            if loads is not None:
                loads.restore()
            if server is not None:
                server.stop()

    print(f"data: {n:,} rows, {size_mb:.1f} MB CSV (sku, name, category, unit_price, quantity, reorder_level, vendor)")
    print(f"best of {args.repeat} interleaved runs each; the loop once on a {args.loop_rows:,}-row subset")
    if "duckdb" in engines:
        print("DuckDB (a file in the temporary folder):")
        print_engine(bests["duckdb"], n, args.loop_rows, "DuckDB read_csv (floor)")
        print_duckdb_targets(bests["duckdb"], n, args.loop_rows)
    if "postgres" in engines:
        pg = bests["postgres"]
        print(f"PostgreSQL (throwaway local cluster; {pg.settings}):")
        print_engine(pg, n, args.loop_rows, "psycopg COPY csv (floor)")
        print(f"    load_frame in the identical re-import       {pg.load_again:7.3f} s")
    if len(engines) > 1:
        print_side_by_side([bests[e] for e in engines], n, args.loop_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
