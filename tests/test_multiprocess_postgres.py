"""Several app processes on one PostgreSQL database: four separate OS processes (not threads) record sales and
versioned product edits on the same three products at the same moment. No accepted edit is lost, no sale
oversells, stock never goes negative, and ``check`` stays clean.

This module is also the worker those processes run (``python -m tests.test_multiprocess_postgres '<spec json>'``
from the project root): it opens the database as the app does, waits at a start barrier (a file the parent
creates once every worker is ready), does its share, and prints what it did as one JSON object on stdout.
``work``, ``count_retries`` and ``run_processes`` are shared with ``tests/perf/bench_concurrency.py``.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from core import open_db
from core.base.errors import ConflictError, InsufficientStock, WriteConflict
from core.base.permissions import SYSTEM
from core.db import Database, Tx
from core.domain.catalog import get_product, update_product
from core.domain.check import check
from core.domain.signin import actor_for
from core.domain.stock import get_stock, record_sale

ROOT = Path(__file__).resolve().parent.parent
SKUS = ("RICE-5KG", "MILK-1L", "SOAP-100")
STORE = "S1"
WORKER_MODULE = "tests.test_multiprocess_postgres"


def count_retries(db: Database) -> Callable[[], int]:
    """Count every transaction on ``db`` that ended in a ``WriteConflict`` (the runner retries each one).
    Wraps ``db.transaction`` once per Database; returns a function reading the count (thread-safe)."""
    original = db.transaction
    lock = threading.Lock()
    count = [0]

    @contextmanager
    def counted() -> Iterator[Tx]:
        try:
            with original() as tx:
                yield tx
        except WriteConflict:
            with lock:
                count[0] += 1
            raise

    db.transaction = counted  # type: ignore[method-assign]
    return lambda: count[0]


def work(db: Database, spec: dict[str, Any], wait_go: Callable[[], None]) -> dict[str, Any]:
    """One worker's share. ``spec``: ``seed``, ``edits`` and ``sales`` (how many of each, shuffled together),
    optional ``seconds`` (repeat the shuffled plan until that long has passed instead of once), ``two_line`` (the
    share of sales with two lines), ``max_qty`` (units per line, 1..max), ``editor`` / ``seller`` (e-mails of the
    signed-in users; SYSTEM without them).

    An edit reads a product and writes ``reorder_level + 1`` with the version it read: accepted, or refused as a
    stale-version conflict. A sale sells random units of random products all-or-nothing: accepted, or refused for
    insufficient stock. A ``WriteConflict`` that outlived every retry is counted as ``gave_up``; any other
    exception is listed in ``errors``."""
    rng = random.Random(spec["seed"])
    editor = actor_for(db, spec["editor"]) if spec.get("editor") else SYSTEM
    seller = actor_for(db, spec["seller"]) if spec.get("seller") else SYSTEM
    plan = ["edit"] * spec.get("edits", 0) + ["sale"] * spec.get("sales", 0)
    rng.shuffle(plan)
    tally: dict[str, Any] = {
        "pid": os.getpid(),
        "edit_attempts": 0,
        "accepted": dict.fromkeys(SKUS, 0),
        "conflicts": 0,
        "sale_attempts": 0,
        "sales_ok": 0,
        "sale_lines": 0,
        "sold": dict.fromkeys(SKUS, 0),
        "refused": 0,
        "gave_up": 0,
        "errors": [],
    }
    wait_go()
    started = time.time()
    deadline = started + spec["seconds"] if spec.get("seconds") else None
    step_no = 0
    while plan:
        if deadline is None and step_no >= len(plan):
            break
        if deadline is not None and time.time() >= deadline:
            break
        step = plan[step_no % len(plan)]
        step_no += 1
        try:
            if step == "edit":
                tally["edit_attempts"] += 1
                sku = rng.choice(SKUS)
                row = get_product(db, sku)
                try:
                    update_product(db, editor, sku, row["version"], reorder_level=row["reorder_level"] + 1)
                    tally["accepted"][sku] += 1
                except WriteConflict:  # a ConflictError too: caught first
                    tally["gave_up"] += 1
                except ConflictError:
                    tally["conflicts"] += 1
            else:
                tally["sale_attempts"] += 1
                skus = rng.sample(SKUS, 2 if rng.random() < spec.get("two_line", 0.0) else 1)
                lines = [(sku, rng.randint(1, spec.get("max_qty", 1))) for sku in skus]
                try:
                    record_sale(db, seller, STORE, lines)
                    tally["sales_ok"] += 1
                    tally["sale_lines"] += len(lines)
                    for sku, qty in lines:
                        tally["sold"][sku] += qty
                except WriteConflict:
                    tally["gave_up"] += 1
                except InsufficientStock:
                    tally["refused"] += 1
        except Exception as exc:  # reported to the parent, which fails on any
            if len(tally["errors"]) < 5:
                tally["errors"].append(f"{type(exc).__name__}: {exc}")
            else:
                tally["errors"].append("...")
                break
    tally["started"], tally["ended"] = started, time.time()
    return tally


def wait_for_file(path: Path, timeout: float = 120) -> None:
    """Poll until ``path`` exists (the start barrier). Raises ``TimeoutError``."""
    deadline = time.time() + timeout
    while not path.exists():
        if time.time() > deadline:
            raise TimeoutError(f"no start signal {path} after {timeout:.0f} s")
        time.sleep(0.002)


def worker_main(argv: list[str]) -> int:
    """A worker process: open the database, say ready, wait for go, work, print the tally as JSON."""
    spec = json.loads(argv[0])
    db = open_db(spec["url"])
    try:
        retries = count_retries(db)
        go = Path(spec["go"])

        def wait_go() -> None:
            Path(spec["ready"]).touch()
            wait_for_file(go)

        tally = work(db, spec, wait_go)
        tally["retries"] = retries()
    finally:
        db.close()
    print(json.dumps(tally), flush=True)
    return 0


def run_processes(
    url: str, specs: list[dict[str, Any]], folder: Path, *, timeout: float = 180, env: dict[str, str] | None = None
) -> tuple[list[dict[str, Any]], float]:
    """Start one worker process per spec (cwd = project root), release them together once all are ready, and
    return (their tallies, the go time as ``time.time()``). Raises ``AssertionError`` with a worker's stderr
    when one fails."""
    folder.mkdir(parents=True, exist_ok=True)
    go = folder / "go"
    go.unlink(missing_ok=True)
    procs, errs, readies = [], [], []
    for n, spec in enumerate(specs):
        ready = folder / f"ready-{n}"
        ready.unlink(missing_ok=True)
        readies.append(ready)
        full = {**spec, "url": url, "ready": str(ready), "go": str(go)}
        err = (folder / f"worker-{n}.err").open("w")
        errs.append(err)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", WORKER_MODULE, json.dumps(full)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env={**os.environ, **(env or {})},
            )
        )
    try:
        deadline = time.time() + timeout
        while not all(r.exists() for r in readies):
            if any(p.poll() is not None for p in procs) or time.time() > deadline:
                break
            time.sleep(0.005)
        go_time = time.time()
        go.touch()
        tallies = []
        for n, proc in enumerate(procs):
            try:
                out, _ = proc.communicate(timeout=max(1.0, deadline - time.time()))
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
            stderr = (folder / f"worker-{n}.err").read_text(errors="replace")
            if proc.returncode != 0 or not out.strip():
                raise AssertionError(f"worker {n} failed (exit {proc.returncode}):\n{stderr[-3000:]}")
            tallies.append(json.loads(out.strip().splitlines()[-1]))
        return tallies, go_time
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for err in errs:
            err.close()


def product_state(db: Database) -> dict[str, dict[str, int]]:
    """Per SKU: the product's version and reorder_level, and its quantity in S1."""
    state = {}
    for sku in SKUS:
        row = get_product(db, sku)
        quantity = get_stock(db, SYSTEM, STORE, sku)["quantity"]
        state[sku] = {"version": row["version"], "reorder_level": row["reorder_level"], "quantity": quantity}
    return state


@pytest.mark.slow
def test_four_processes_on_one_postgres__no_lost_update_no_oversell_check_clean(pg_server, tmp_path):
    from core.domain.stock import stock_in
    from tests.conftest import OWNER_EMAIL, STAFF_EMAIL, TEMPLATE, seed_shop

    url = pg_server.new_database(TEMPLATE)
    try:
        db = open_db(url)
        try:
            seed_shop(db)
            stock_in(db, SYSTEM, STORE, "SOAP-100", 52)  # 30 rice, 100 milk, 60 soap: fewer than the ~430 tried
            before = product_state(db)
            processes, edits, sales = 4, 50, 40
            specs = [
                {
                    "seed": 1000 + n,
                    "edits": edits,
                    "sales": sales,
                    "two_line": 0.35,
                    "max_qty": 3,
                    "editor": OWNER_EMAIL,
                    "seller": STAFF_EMAIL,
                }
                for n in range(processes)
            ]
            tallies, _ = run_processes(url, specs, tmp_path / "workers", timeout=120)
            after = product_state(db)

            assert [t["errors"] for t in tallies] == [[]] * processes
            assert len({t["pid"] for t in tallies} | {os.getpid()}) == processes + 1  # separate OS processes
            # the workers really ran at the same time: every one started before any one finished
            assert max(t["started"] for t in tallies) < min(t["ended"] for t in tallies)
            assert sum(t["gave_up"] for t in tallies) == 0

            # zero lost updates: each accepted edit bumped its product's version once, and its +1 landed
            accepted = {sku: sum(t["accepted"][sku] for t in tallies) for sku in SKUS}
            for sku in SKUS:
                assert after[sku]["version"] - before[sku]["version"] == accepted[sku], sku
                assert after[sku]["reorder_level"] - before[sku]["reorder_level"] == accepted[sku], sku
            conflicts = sum(t["conflicts"] for t in tallies)
            retries = sum(t["retries"] for t in tallies)
            assert sum(t["edit_attempts"] for t in tallies) == processes * edits
            assert sum(accepted.values()) + conflicts == processes * edits
            assert sum(accepted.values()) > 0
            assert conflicts + retries > 0, "the processes never collided: the test proved no concurrency"

            # sales never oversell; stock never negative; every unit sold left the stock exactly once
            sold = {sku: sum(t["sold"][sku] for t in tallies) for sku in SKUS}
            for sku in SKUS:
                assert after[sku]["quantity"] >= 0, sku
                assert before[sku]["quantity"] - after[sku]["quantity"] == sold[sku], sku
            assert sum(t["sale_attempts"] for t in tallies) == processes * sales
            assert sum(t["sales_ok"] + t["refused"] for t in tallies) == processes * sales
            assert sum(t["refused"] for t in tallies) > 0  # more was asked for than there was
            with db.reader() as tx:
                sale_rows = tx.scalar("SELECT count(*) FROM movements WHERE kind = 'sale'")
                lowest = tx.scalar("SELECT min(quantity_after) FROM movements")
                audited = tx.scalar("SELECT count(*) FROM audit WHERE action = 'product.update' AND outcome = 'ok'")
                audited_sales = tx.scalar("SELECT count(*) FROM audit WHERE action = 'stock.sale' AND outcome = 'ok'")
            assert sale_rows == sum(t["sale_lines"] for t in tallies)
            assert lowest >= 0
            assert audited == sum(accepted.values())
            assert audited_sales == sum(t["sales_ok"] for t in tallies)
            assert check(db) == {"ok": True, "problems": []}
        finally:
            db.close()
    finally:
        pg_server.drop_database(url)


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
