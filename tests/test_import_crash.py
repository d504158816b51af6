"""Crash safety of a large import: kill -9 the importing process mid-transaction (while it writes, and after
its last statement but before the commit); the reopened database is exactly as before and ``check`` is clean.

The child reports its progress through a marker file (the importer's progress callback), so the kill lands in
the phase we mean.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import open_db
from core.base.permissions import SYSTEM
from core.domain.catalog import add_store
from core.domain.check import check
from core.sheets.importer import import_file

ROOT = Path(__file__).resolve().parent.parent
ROWS = 40_000

CHILD = """
import sys, time
from pathlib import Path
from core import open_db
from core.sheets.importer import import_file
from core.base.permissions import SYSTEM

db = open_db(sys.argv[1])
marker, stage = Path(sys.argv[3]), sys.argv[4]

def progress(fraction, text):
    if text == stage:
        marker.write_text(text)
        if stage == "Saving":
            time.sleep(120)  # every statement ran; the commit has not: wait to be killed

import_file(db, SYSTEM, sys.argv[2], store="S1", progress=progress)
"""


def write_csv(path: Path, price: str, quantity: int) -> None:
    lines = ["sku,name,category,unit_price,quantity,vendor"]
    lines += [f"SKU-{i:06d},Product {i},Cat {i % 9},{price},{quantity + i % 7},Vendor {i % 5}" for i in range(ROWS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def state(path: Path) -> tuple:
    db = open_db(str(path))
    try:
        with db.reader() as tx:
            return (
                tx.one("SELECT count(*), sum(version), sum(unit_price), count(DISTINCT vendor_id) FROM products"),
                tx.one("SELECT count(*), sum(quantity), sum(version) FROM stock"),
                tx.one("SELECT count(*), sum(delta) FROM movements"),
                tx.one("SELECT count(*) FROM audit"),
                tx.one("SELECT count(*) FROM imports"),
                tx.one("SELECT count(*) FROM vendors"),
            ), check(db)
    finally:
        db.close()


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["Writing", "Saving"])
def test_kill_9_during_a_large_import_leaves_the_database_as_before(tmp_path: Path, stage: str) -> None:
    target = tmp_path / "crash.duckdb"
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    write_csv(first, "1.00", 10)
    write_csv(second, "2.00", 20)  # every price and every count changes
    db = open_db(str(target))
    add_store(db, SYSTEM, "S1", "Main Street")
    assert import_file(db, SYSTEM, first, store="S1").created == ROWS
    db.close()
    before, clean = state(target)
    assert clean["ok"]

    marker = tmp_path / "marker"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(target), str(second), str(marker), stage],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert child.poll() is None, "the import ended before the kill"
            assert time.monotonic() < deadline, "the import never reached the stage"
            time.sleep(0.005)
        assert child.poll() is None, "the import committed before the kill"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    after, result = state(target)
    assert after == before
    assert result == {"ok": True, "problems": []}
