"""Concurrent throughput on each engine: sales/s and versioned product edits/s with 1, 4 and 8 workers at once,
all on the same three products of one store, every figure measured side by side in this one run.

- DuckDB (a file): threads sharing one ``Database`` in one process (a DuckDB file belongs to one process).
- PostgreSQL, threads: threads sharing one ``PostgresDatabase`` (its connection pool).
- PostgreSQL, processes: separate OS processes, each with its own pool (the real deployment: several app
  processes on one database), run by ``tests/test_multiprocess_postgres.py``'s worker.

Each configuration gets a fresh copy of one seeded shop (owner and staff signed in as real users; big stock so no
sale is refused), then a time-boxed sales phase (one unit of a random one of the three products per sale) and a
time-boxed edits phase (read a product, write ``reorder_level + 1`` with the version read). Workers start together
(a barrier; for processes a start file written once every process has opened the database). Rates are counted
from that start to the last worker's end. "retries" are transactions the runner re-ran after a driver write
conflict; "stale" are edits refused because another worker's edit came first (a ``ConflictError``, as a person
would see it). After each configuration: ``check`` ok, no negative stock, units sold = stock drop, and zero lost
updates (version and reorder_level each moved by exactly the accepted edits).

Durability is the same on both sides: by default both engines sync every commit to disk (the DuckDB file sits in
the temporary folder on disk; the throwaway PostgreSQL of ``tests/pg_server.py``, which the tests run with
``fsync=off``, is restarted with PostgreSQL's own defaults ``fsync=on``, ``synchronous_commit=on``,
``full_page_writes=on``). ``--volatile`` compares both without syncing instead (DuckDB in /dev/shm, PostgreSQL as
the tests run it).

Run from the project root: ``python -m tests.perf.bench_concurrency [--seconds 3] [--workers 1,4,8] [--volatile]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core import open_db
from core.base import observe
from core.base.permissions import SYSTEM
from core.db import Database
from core.domain.check import check
from core.domain.stock import stock_in
from tests import pg_server
from tests.conftest import OWNER_EMAIL, STAFF_EMAIL, seed_shop
from tests.test_multiprocess_postgres import SKUS, STORE, count_retries, product_state, run_processes, work

CONFIGS = [("duckdb", "threads"), ("postgres", "threads"), ("postgres", "processes")]
TOP_UP = 1_000_000  # units added per product: no sale in the run is refused


def seed(db: Database) -> None:
    seed_shop(db)
    for sku in SKUS:
        stock_in(db, SYSTEM, STORE, sku, TOP_UP)


def phase_specs(kind: str, workers: int, seconds: float, base_seed: int) -> list[dict[str, Any]]:
    one = {"edits": 1, "editor": OWNER_EMAIL} if kind == "edits" else {"sales": 1, "max_qty": 1, "seller": STAFF_EMAIL}
    return [{**one, "seed": base_seed + n, "seconds": seconds} for n in range(workers)]


def run_threads(db: Database, retries: Any, specs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Run ``work`` in one thread per spec on the shared ``db``; (tallies, retries during the phase)."""
    barrier = threading.Barrier(len(specs))
    tallies: list[dict[str, Any]] = [{} for _ in specs]
    before = retries()

    def one(n: int) -> None:
        tallies[n] = work(db, specs[n], barrier.wait)

    pool = [threading.Thread(target=one, args=(n,)) for n in range(len(specs))]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return tallies, retries() - before


def summarise(tallies: list[dict[str, Any]], retries: int) -> dict[str, Any]:
    elapsed = max(t["ended"] for t in tallies) - min(t["started"] for t in tallies)
    return {
        "seconds": elapsed,
        "sales_ok": sum(t["sales_ok"] for t in tallies),
        "sold": {sku: sum(t["sold"][sku] for t in tallies) for sku in SKUS},
        "edit_attempts": sum(t["edit_attempts"] for t in tallies),
        "accepted": {sku: sum(t["accepted"][sku] for t in tallies) for sku in SKUS},
        "stale": sum(t["conflicts"] for t in tallies),
        "retries": retries,
        "gave_up": sum(t["gave_up"] for t in tallies),
        "errors": [e for t in tallies for e in t["errors"]],
    }


def verify(db: Database, before: dict[str, Any], sales: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    """Correctness after a configuration: check, negatives, units sold vs stock drop, lost updates."""
    after = product_state(db)
    with db.reader() as tx:
        negative = tx.scalar(
            "SELECT (SELECT count(*) FROM stock WHERE quantity < 0)"
            " + (SELECT count(*) FROM movements WHERE quantity_after < 0)"
        )
    lost = 0
    for sku in SKUS:
        accepted = edits["accepted"][sku]
        lost += abs(after[sku]["version"] - before[sku]["version"] - accepted)
        lost += abs(after[sku]["reorder_level"] - before[sku]["reorder_level"] - accepted)
    sold_matches = all(before[s]["quantity"] - after[s]["quantity"] == sales["sold"][s] for s in SKUS)
    return {"check": check(db)["ok"], "negative": int(negative), "lost": lost, "sold_ok": sold_matches}


def run_config(engine: str, mode: str, workers: int, target: str, seconds: float, folder: Path) -> dict[str, Any]:
    db = open_db(target)
    try:
        before = product_state(db)
        results = {}
        retries = count_retries(db)
        for n, kind in enumerate(("sales", "edits")):
            specs = phase_specs(kind, workers, seconds, 100 * n + workers)
            if mode == "threads":
                tallies, phase_retries = run_threads(db, retries, specs)
            else:
                pool_env = {"INVENTORY_DB_POOL": "2"}  # one worker thread a process: two connections are plenty
                tallies, _ = run_processes(target, specs, folder / f"{kind}-{workers}", env=pool_env)
                phase_retries = sum(t["retries"] for t in tallies)
            results[kind] = summarise(tallies, phase_retries)
        checked = verify(db, before, results["sales"], results["edits"])
    finally:
        db.close()
    sales, edits = results["sales"], results["edits"]
    return {
        "engine": engine,
        "mode": mode,
        "workers": workers,
        "sales/s": sales["sales_ok"] / sales["seconds"],
        "sale retries": sales["retries"],
        "edits ok/s": sum(edits["accepted"].values()) / edits["seconds"],
        "edit tries/s": edits["edit_attempts"] / edits["seconds"],
        "stale": edits["stale"],
        "edit retries": edits["retries"],
        "gave up": sales["gave_up"] + edits["gave_up"],
        "errors": sales["errors"] + edits["errors"],
        **checked,
    }


def make_durable(server: pg_server.PgServer) -> str:
    """Restart the throwaway cluster with PostgreSQL's default durability (every commit flushed to disk).
    Returns the server's own ``fsync``/``synchronous_commit`` settings as it reports them."""
    options = (
        f"-p {server.port} -k {server.directory} -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on"
        " -c full_page_writes=on -c max_connections=300 -c shared_buffers=128MB"
    )
    ctl = [*server.as_user, str(server.bin_dir / "pg_ctl"), "-D", str(server.directory / "data")]
    log = str(server.directory / "server.log")
    done = subprocess.run(
        [*ctl, "-o", options, "-l", log, "-w", "-t", "60", "-m", "fast", "restart"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pg_ctl restart failed: {done.stderr.strip()}")
    return durability(server)


def durability(server: pg_server.PgServer) -> str:
    import psycopg

    with psycopg.connect(server.url) as conn:
        fsync = conn.execute("SHOW fsync").fetchone()
        sync = conn.execute("SHOW synchronous_commit").fetchone()
    return f"fsync={fsync[0] if fsync else '?'}, synchronous_commit={sync[0] if sync else '?'}"


def fresh_copy(engine: str, template: str, server: pg_server.PgServer | None, folder: Path, name: str) -> str:
    if engine == "duckdb":
        path = folder / f"{name}.duckdb"
        shutil.copy(template, path)
        return str(path)
    assert server is not None
    return server.new_database(urlsplit(template).path.lstrip("/"))


def print_table(rows: list[dict[str, Any]]) -> None:
    base = {(r["engine"], r["mode"]): r for r in rows if r["workers"] == 1}
    head = (
        f"{'engine':9} {'mode':10} {'workers':>7} {'sales/s':>8} {'x1w':>5} {'retries':>7} | {'edits ok/s':>10}"
        f" {'tries/s':>8} {'x1w':>5} {'stale':>6} {'retries':>7} | {'gave up':>7} {'check':>5} {'neg':>3}"
        f" {'lost':>4} {'sold=drop':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        one = base.get((r["engine"], r["mode"]))
        sx = r["sales/s"] / one["sales/s"] if one else float("nan")
        ex = r["edits ok/s"] / one["edits ok/s"] if one else float("nan")
        print(
            f"{r['engine']:9} {r['mode']:10} {r['workers']:>7} {r['sales/s']:8.1f} {sx:5.2f} {r['sale retries']:>7} |"
            f" {r['edits ok/s']:10.1f} {r['edit tries/s']:8.1f} {ex:5.2f} {r['stale']:>6} {r['edit retries']:>7} |"
            f" {r['gave up']:>7} {'ok' if r['check'] else 'FAIL':>5} {r['negative']:>3} {r['lost']:>4}"
            f" {'yes' if r['sold_ok'] else 'NO':>9}"
        )


def print_ratios(rows: list[dict[str, Any]]) -> None:
    by = {(r["engine"], r["mode"], r["workers"]): r for r in rows}
    print("\nPostgreSQL vs DuckDB at the same number of workers (rate ratios, same run):")
    for workers in sorted({r["workers"] for r in rows}):
        duck = by.get(("duckdb", "threads", workers))
        if duck is None:
            continue
        parts = []
        for mode in ("threads", "processes"):
            pg = by.get(("postgres", mode, workers))
            if pg is not None:
                parts.append(
                    f"pg {mode}: sales {pg['sales/s'] / duck['sales/s']:.2f}x,"
                    f" edits {pg['edits ok/s'] / duck['edits ok/s']:.2f}x"
                )
        print(f"  {workers} worker(s): " + "; ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each time-boxed phase")
    parser.add_argument("--workers", default="1,4,8", help="comma-separated worker counts")
    parser.add_argument("--volatile", action="store_true", help="no commit syncs to disk on either engine")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    observe.configure_logging("ERROR")
    run_started = time.perf_counter()
    server = pg_server.start()
    rows: list[dict[str, Any]] = []
    volatile_dir = "/dev/shm" if args.volatile and Path("/dev/shm").is_dir() else None
    try:
        pg_settings = durability(server) if args.volatile else make_durable(server)
        with tempfile.TemporaryDirectory(prefix="bench-concurrency-", dir=volatile_dir) as tmp:
            folder = Path(tmp)
            templates: dict[str, str] = {}
            duck_template = folder / "seeded.duckdb"
            with open_db(str(duck_template)) as db:
                seed(db)
            templates["duckdb"] = str(duck_template)
            pg_template = server.new_database()
            with open_db(pg_template) as db:
                seed(db)
            templates["postgres"] = pg_template
            for workers in counts:  # every configuration at one worker count runs back to back
                for engine, mode in CONFIGS:
                    name = f"{engine}-{mode}-{workers}"
                    target = fresh_copy(engine, templates[engine], server, folder, name)
                    rows.append(run_config(engine, mode, workers, target, args.seconds, folder / name))
                    if engine == "postgres":
                        server.drop_database(target)
    finally:
        server.stop()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"bench_concurrency: {args.seconds:g} s per phase, same 3 products in one store, {os.cpu_count()} CPUs"
        f" (load average {load:.1f} at the end: other work on the machine shares them)"
    )
    where = volatile_dir or tempfile.gettempdir()
    print(f"DuckDB files under {where} ({'memory' if volatile_dir else 'disk'}); PostgreSQL {pg_settings}")
    print("x1w = rate / the same engine+mode's 1-worker rate in this run\n")
    rows.sort(key=lambda r: (CONFIGS.index((r["engine"], r["mode"])), r["workers"]))
    print_table(rows)
    print_ratios(rows)
    errors = [e for r in rows for e in r["errors"]]
    bad = [r for r in rows if not r["check"] or r["negative"] or r["lost"] or not r["sold_ok"] or r["gave up"]]
    print(f"\nunexpected errors: {len(errors)}{' ' + '; '.join(errors[:3]) if errors else ''}")
    print(f"correctness: {'all runs ok' if not bad and not errors else f'{len(bad)} run(s) FAILED'}")
    print(f"whole run: {time.perf_counter() - run_started:.1f} s")
    if bad or errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
