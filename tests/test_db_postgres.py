"""The PostgreSQL engine's own behaviour, against a real server: opening by URL (and refusing with a sentence that
never shows the password), conflicts under REPEATABLE READ, migrations from two processes at once, COPY loads,
frames typed like DuckDB's, and the CLI on a URL. The rest of the suite runs on both engines through ``db``."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal

import pandas as pd
import pytest

from core import open_db
from core.base.errors import ConflictError, StoreBusy, ValidationError, WriteConflict
from core.base.permissions import SYSTEM
from core.db import Database, safe_label
from core.db.duck import local_timezone
from core.db.schema import MIGRATIONS, current_version
from core.domain.catalog import add_store, update_product
from core.domain.check import check
from core.domain.stock import record_sale
from tests.conftest import ROOT, SAMPLES, TEMPLATE, seed_shop
from tests.pg_server import PgServer, with_password


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database (a copy of the template)."""
    url = pg_server.new_database(TEMPLATE)
    yield url
    pg_server.drop_database(url)


@pytest.fixture
def empty_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh PostgreSQL database with nothing in it."""
    url = pg_server.new_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    db = open_db(pg_url)
    yield seed_shop(db, users=False)
    db.close()


def test_a_postgresql_url__opens_the_postgres_engine_and_migrates(empty_url):
    db = open_db(empty_url)
    try:
        assert db.kind == "postgres" and type(db).__name__ == "PostgresDatabase"
        assert current_version(db) == MIGRATIONS[-1][0]
        assert db.size_bytes() > 0
    finally:
        db.close()


def test_an_unreachable_server__is_a_sentence_without_the_password(pg_server):
    url = with_password(pg_server.url_for("no_such_database"), "s3cret-pw")
    with pytest.raises(StoreBusy) as refused:
        open_db(url)
    message = str(refused.value)
    assert "Cannot open the PostgreSQL database" in message and "no_such_database" in message
    assert "s3cret-pw" not in message and "***" in message


def test_a_missing_database__is_said_at_once_without_waiting_for_the_pool(pg_server, monkeypatch):
    """The server answers "does not exist": the pool's wait for a connection (15 s) is not even started."""
    import psycopg_pool

    def waited(*args, **kwargs):
        raise AssertionError("the pool was waited for")

    monkeypatch.setattr(psycopg_pool.ConnectionPool, "open", waited)
    with pytest.raises(StoreBusy, match='database "no_such_database" does not exist'):
        open_db(pg_server.url_for("no_such_database"))


def test_safe_label__hides_only_the_password():
    assert safe_label("postgresql://shop:pw@db.local:5432/inv") == "postgresql://shop:***@db.local:5432/inv"
    assert safe_label("postgresql://shop@db.local/inv") == "postgresql://shop@db.local/inv"
    assert safe_label("data/inventory.duckdb") == "data/inventory.duckdb"
    assert (
        safe_label("postgresql:///inv?sslmode=require&password=pw") == "postgresql:///inv?sslmode=require&password=***"
    )
    assert safe_label("postgresql://u:pw@h1:5432,h2:5432/inv") == "postgresql://u:***@h1:5432,h2:5432/inv"


def test_sessions__use_the_time_zone_duckdb_uses_and_no_jit(pg):
    """Days are cut alike on both engines (reports, the dashboard, exports): PostgreSQL sessions run in the time
    zone DuckDB works in here. JIT is off: it cost seconds on the short analytical queries."""
    with pg.reader() as tx:
        assert tx.scalar("SELECT current_setting('TimeZone')") == local_timezone()
        assert tx.scalar("SELECT current_setting('jit')") == "off"


def test_connections_lost_to_a_server_restart__are_replaced_not_shown_to_a_user(pg, pg_server):
    add_store(pg, SYSTEM, "S3", "Third")  # the pool holds working connections now
    name = pg.target.rsplit("/", 1)[1]
    pg_server.sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
    for code in ("S4", "S5", "S6"):
        add_store(pg, SYSTEM, code, f"Store {code}")
    with pg.reader() as tx:
        assert tx.scalar("SELECT count(*) FROM stores") == 6


def test_pool_size__must_be_a_whole_number(pg_url, monkeypatch):
    monkeypatch.setenv("INVENTORY_DB_POOL", "many")
    with pytest.raises(ValidationError, match="INVENTORY_DB_POOL must be a whole number"):
        open_db(pg_url)


def test_a_nested_connection_on_one_thread__raises_in_strict_mode(pg):
    """Holding a pooled connection while asking for another can deadlock the pool when every thread does it; the
    tests run strict, so any such nesting in core fails the suite instead of hanging a busy app."""
    with pg.transaction(), pytest.raises(RuntimeError, match="second pooled connection"), pg.reader():
        pass


def test_a_row_changed_since_the_snapshot__is_a_write_conflict_not_a_lost_update(pg, monkeypatch):
    """Two transactions read the same stock row; the second to write gets WriteConflict (SQLSTATE 40001), which the
    runner retries, instead of overwriting the first one's change with a stale value."""
    monkeypatch.setenv("INVENTORY_STRICT_POOL", "0")  # two transactions from one thread, on purpose
    with pg.transaction() as first:
        seen = first.scalar("SELECT quantity FROM stock WHERE product_id = 1")
        with pg.transaction() as second:
            second.execute("UPDATE stock SET quantity = quantity - 5 WHERE product_id = 1")
        with pytest.raises(WriteConflict):
            first.execute("UPDATE stock SET quantity = $1 WHERE product_id = 1", [seen - 1])
    with pg.reader() as tx:
        assert tx.scalar("SELECT quantity FROM stock WHERE product_id = 1") == seen - 5


def test_a_stale_version__is_a_conflict_through_the_runner(pg):
    update_product(pg, SYSTEM, "RICE-5KG", 1, unit_price="460")
    with pytest.raises(ConflictError):
        update_product(pg, SYSTEM, "RICE-5KG", 1, unit_price="470")
    with pg.reader() as tx:
        assert tx.one("SELECT unit_price, version FROM products WHERE sku = 'RICE-5KG'") == (Decimal("460.00"), 2)


def test_concurrent_sales__retry_and_never_oversell(pg):
    """Eight threads (one pooled connection each) sell the last 30 rice bags two at a time: exactly 15 sales
    succeed, the rest are refused for stock, conflicts were retried, and the ledger adds up."""
    results: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def sell() -> None:
        start.wait()
        for _ in range(4):
            try:
                record_sale(pg, SYSTEM, "S1", [("RICE-5KG", 2)])
                outcome = "ok"
            except ValidationError:
                outcome = "refused"
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=sell) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 15 and results.count("refused") == 17
    with pg.reader() as tx:
        assert (
            tx.scalar("SELECT quantity FROM stock s JOIN products p ON p.id = s.product_id WHERE sku = 'RICE-5KG'") == 0
        )
    assert check(pg)["ok"]


def test_migrating_from_two_processes_at_once__applies_each_migration_once(empty_url):
    code = "import sys; from core import open_db; open_db(sys.argv[1]).close()"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, empty_url], cwd=ROOT, stderr=subprocess.PIPE) for _ in (1, 2)
    ]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    db = open_db(empty_url)
    try:
        with db.reader() as tx:
            assert tx.all("SELECT version FROM schema_migrations ORDER BY version") == [(v,) for v, _, _ in MIGRATIONS]
            assert tx.scalar("SELECT count(*) FROM settings WHERE key = 'cookie_secret'") == 1
    finally:
        db.close()


def test_load_frame__copies_nulls_numbers_and_text(pg):
    frame = pd.DataFrame(
        {"line": [1, 2, 3], "sku": ["A", None, 'C;\t"x"'], "price": [1.5, float("nan"), 2.25], "n": [1, None, 3]}
    )
    with pg.transaction() as tx:
        tx.execute("CREATE TEMP TABLE t_load (line INTEGER, sku VARCHAR, price DECIMAL(12, 2), n INTEGER)")
        tx.load_frame("t_load", frame)
        rows = tx.all("SELECT line, sku, price, n FROM t_load ORDER BY line")
        typed = tx.frame("SELECT line, price, n FROM t_load ORDER BY line")
    assert rows == [(1, "A", Decimal("1.50"), 1), (2, None, None, None), (3, 'C;\t"x"', Decimal("2.25"), 3)]
    assert typed["price"].dtype == "float64" and typed["price"].isna().tolist() == [False, True, False]


def test_a_constraint__is_a_validation_error_naming_the_rule(pg):
    with pytest.raises(ValidationError, match="refused by a database rule"), pg.transaction() as tx:
        tx.execute("UPDATE stock SET quantity = -1 WHERE product_id = 1")


@pytest.mark.slow  # several `python -m core` processes
def test_cli__runs_on_a_postgresql_url(pg_url):
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "core", "--db", pg_url, *args], cwd=ROOT, capture_output=True, text=True, timeout=120
        )

    init = cli("init")
    assert init.returncode == 0 and "is ready" in init.stdout, init.stderr
    assert cli("store", "add", "S1", "Main Street").returncode == 0
    imported = cli("import", str(SAMPLES / "catalog.csv"), "--store", "S1", "--json")
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert json.loads(imported.stdout)["created"] > 0
    sale = cli("record", "sale", "--store", "S1", "--sku", "ATTA-5", "--qty", "1", "--json")
    assert sale.returncode == 0, sale.stdout + sale.stderr
    checked = cli("check", "--json")
    assert checked.returncode == 0 and json.loads(checked.stdout)["ok"] is True


def test_demo_and_large_imports__refresh_the_planners_statistics(pg_url):
    from core.tools.demo import generate

    db = open_db(pg_url)
    try:
        generate(db, SYSTEM, stores=2, products=30, days=5, seed=1)
        with db.reader() as tx:
            analyzed = tx.scalar(
                "SELECT count(*) FROM pg_stat_user_tables WHERE relname IN ('movements', 'stock')"
                " AND coalesce(last_analyze, last_autoanalyze) IS NOT NULL"
            )
        assert analyzed == 2
    finally:
        db.close()
