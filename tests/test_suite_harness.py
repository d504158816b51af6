"""The test harness itself: the read-only shared shop notices writes, and the suite runs without pytest-xdist."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core import open_db
from core.base.errors import PermissionDenied
from core.base.permissions import SYSTEM
from core.domain.catalog import update_product
from core.domain.stock import stock_in
from core.reads.kpis import compute_kpis
from tests.conftest import ROOT, fingerprint, seed_shop


def SHARED_SEED(db):  # the hook conftest's shared_db calls to seed this module's shared_shop
    seed_shop(db, users=False)
    stock_in(db, SYSTEM, "S2", "MILK-1L", 7)


def test_fingerprint__a_read_leaves_it_and_every_kind_of_write_changes_it(shop, owner, staff):
    before = fingerprint(shop)
    compute_kpis(shop, owner)
    assert fingerprint(shop) == before
    with pytest.raises(PermissionDenied):
        stock_in(shop, staff, "S2", "MILK-1L", 1)  # refused: only its audit row is written
    refused = fingerprint(shop)
    assert refused != before
    update_product(shop, SYSTEM, "MILK-1L", None, name="Milk")
    assert fingerprint(shop) != refused


def test_shared_shop__is_seeded_by_the_modules_hook(shared_shop):
    with shared_shop.reader() as tx:
        held = tx.scalar(
            "SELECT s.quantity FROM stock s JOIN stores st ON st.id = s.store_id"
            " JOIN products p ON p.id = s.product_id WHERE st.code = 'S2' AND p.sku = 'MILK-1L'"
        )
    assert held == 7


@pytest.mark.slow  # a pytest run in a subprocess
def test_suite__runs_without_xdist():
    """``-p no:xdist`` (one process) accepts the ini's ``--numprocesses``/``--dist``."""
    one_test = "tests/test_architecture.py::test_the_layout_exists"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-q", one_test],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout


def test_auto_workers__one_a_core_at_most_eight_and_the_env_wins(monkeypatch):
    from tests import conftest

    monkeypatch.delenv("PYTEST_XDIST_AUTO_NUM_WORKERS", raising=False)
    monkeypatch.setattr(conftest.os, "sched_getaffinity", lambda pid: set(range(2)))
    assert conftest.pytest_xdist_auto_num_workers(None) == 2
    monkeypatch.setattr(conftest.os, "sched_getaffinity", lambda pid: set(range(64)))
    assert conftest.pytest_xdist_auto_num_workers(None) == conftest.MAX_AUTO_WORKERS == 8
    monkeypatch.setenv("PYTEST_XDIST_AUTO_NUM_WORKERS", "3")
    assert conftest.pytest_xdist_auto_num_workers(None) == 3


def _state(url):
    """Every table's rows and every sequence's position in ``url``'s database."""
    import psycopg

    from tests.pg_recycle import SEQUENCES, TABLES

    with psycopg.connect(url) as conn:
        tables = [t for (t,) in conn.execute(TABLES).fetchall()]
        rows = {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"').fetchall())) for t in tables}
        return rows, sorted(conn.execute(SEQUENCES).fetchall())


def test_recycled_postgresql_database__holds_exactly_the_templates_rows_and_sequences(pg_server, seeded_templates):
    from tests.conftest import TEMPLATE
    from tests.pg_recycle import Recycler

    databases = Recycler(pg_server)
    template = pg_server.new_database(TEMPLATE)
    seed_shop(open_db(template)).close()
    name = template.rsplit("/", 1)[1]
    first = databases.take(name)
    db = open_db(first)
    stock_in(db, SYSTEM, "S2", "MILK-1L", 7)  # rows in movements, stock and audit; sequences move on
    update_product(db, SYSTEM, "MILK-1L", None, name="Milk")
    db.close()
    databases.give_back(first)
    again = databases.take(name)
    assert again == first and databases.reused == 1
    assert _state(again) == _state(template)


def test_recycled_postgresql_database__with_a_changed_schema_is_dropped_not_reused(pg_server):
    import psycopg

    from tests.conftest import TEMPLATE
    from tests.pg_recycle import Recycler

    databases = Recycler(pg_server)
    for change in (
        "DROP TABLE imports CASCADE",
        "ALTER TABLE movements ADD COLUMN note TEXT",
        "REVOKE ALL ON stock FROM PUBLIC; GRANT SELECT ON stock TO PUBLIC",
    ):
        url = databases.take(TEMPLATE)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(change)
        databases.give_back(url)
        fresh = databases.take(TEMPLATE)
        assert fresh != url and databases.reused == 0, change
        databases.give_back(fresh)
        databases.free.clear()
