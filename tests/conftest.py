"""Shared fixtures: a fresh temporary database per test, the two roles, and a small seeded shop."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import bcrypt
import pytest

from core import open_db
from core.base.permissions import SYSTEM, Actor
from core.db import Database
from core.domain import signin
from core.domain.catalog import add_store, create_product
from core.domain.signin import actor_for
from core.domain.users import add_user
from tests.pg_recycle import Recycler
from tests.pg_server import PgServer
from tests.pg_server import start as pg_start

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "data" / "samples"  # copies of the shop's sample files: the suite stands alone
OWNER_EMAIL, STAFF_EMAIL = "owner@shop.test", "staff@shop.test"
PASSWORD = "correct horse 42"

os.environ.setdefault("INVENTORY_LOG_LEVEL", "ERROR")
os.environ.setdefault("INVENTORY_STRICT_POOL", "1")  # a nested pooled connection (a latent pool deadlock) raises
REAL_GENSALT = bcrypt.gensalt
FAST_DUMMY_HASH = bcrypt.hashpw(b"no such account", REAL_GENSALT(4)).decode()


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """The ini's ``--numprocesses=auto --dist=...`` (pytest-xdist) stay valid under ``-p no:xdist``: accepted and
    ignored, the run stays in one process as with ``-n 0``."""
    if not pluginmanager.has_plugin("xdist"):
        group = parser.getgroup("xdist-absent", "pytest-xdist is disabled: these options are accepted and ignored")
        group.addoption("--numprocesses", dest="numprocesses", default=None, metavar="N")
        group.addoption("--dist", dest="dist", default="no", metavar="MODE")


MAX_AUTO_WORKERS = 8  # each xdist worker starts its own PostgreSQL cluster (and, for browser tests, a Chromium)


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: unknown under -p no:xdist
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``--numprocesses=auto``: one worker a usable core, at most ``MAX_AUTO_WORKERS`` (env
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` or an explicit ``-n N`` overrides it)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return int(os.environ["PYTEST_XDIST_AUTO_NUM_WORKERS"])
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, MAX_AUTO_WORKERS))


@pytest.fixture(autouse=True)
def _fast_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """bcrypt at cost 4 instead of 12 while testing (the same algorithm; ~0.5 s -> 2 ms a hash).
    test_users checks the real default cost with ``REAL_GENSALT``."""
    monkeypatch.setattr(bcrypt, "gensalt", _gensalt_4)
    monkeypatch.setattr(signin, "_DUMMY_HASH", FAST_DUMMY_HASH)  # an unknown account's check costs the same 2 ms


def _gensalt_4(rounds: int = 4, prefix: bytes = b"2b") -> bytes:
    return REAL_GENSALT(4, prefix)


def _clear_streamlit_caches() -> None:
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def app_db(db_target: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Pages open the test database (env INVENTORY_DB); Streamlit's caches start and end empty."""
    monkeypatch.setenv("INVENTORY_DB", db_target)
    monkeypatch.delenv("INVENTORY_BACKUP_DIR", raising=False)
    _clear_streamlit_caches()
    yield db_target
    _clear_streamlit_caches()


def run_page(page: str, actor: Actor | None, *, timeout: float = 30, **state: Any) -> Any:
    """Run ``pages/<page>`` once in AppTest as ``actor`` (``None``: nobody signed in) with ``state`` preset."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=timeout)
    if actor is not None:
        at.session_state["actor"] = actor
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def page_opener(page: str) -> Any:
    """``open(actor, **session_state)``: ``pages/<page>`` run once for ``actor``, asserting it raised nothing."""

    def make(actor: Actor | None, **state: Any) -> Any:
        at = run_page(page, actor, **state)
        assert not at.exception
        return at

    return make


def table_rows(tx: Any, table: str) -> list[tuple[Any, ...]]:
    """Every row of ``table`` in a stable order, on either engine (PostgreSQL has no ``ORDER BY ALL``)."""
    return sorted(tx.all(f"SELECT * FROM {table}"), key=repr)


def metrics(at: Any) -> dict[str, str]:
    """An AppTest's metric tiles, label -> value."""
    return {m.label: m.value for m in at.metric}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A DuckDB file for tests of DuckDB's own behaviour (files, locks, the CLI's file argument)."""
    return tmp_path / "inventory.duckdb"


ENGINES = ["duckdb", "postgres"]
TEMPLATE = "inventory_template"


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    """One real PostgreSQL cluster for the whole run, with a migrated template database to copy per test.
    Without PostgreSQL's binaries the PostgreSQL tests skip, except under CI=true, where they fail."""
    try:
        server = pg_start()
    except RuntimeError as exc:
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip(f"no PostgreSQL here: {exc}")
    try:
        server.sql(f"CREATE DATABASE {TEMPLATE}")
        open_db(server.url_for(TEMPLATE)).close()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Each test that uses the database runs on both engines: ``[duckdb]`` and ``[postgres]``. Module scope (a
    module's tests run engine by engine) so that a module's ``shared_shop`` is built once per engine."""
    return str(request.param)


@pytest.fixture(scope="session")
def duckdb_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated DuckDB file made once per run (per xdist worker): each test's database is a copy of it, as on
    PostgreSQL (migrating costs more than copying)."""
    path = tmp_path_factory.mktemp("template") / "inventory.duckdb"
    open_db(str(path)).close()
    return path


def _seeded(target: str, seed: Callable[[Database], Any]) -> None:
    """Seed the template database at ``target`` with ``seed`` (bcrypt at the tests' cost: session fixtures run
    before the per-test ``_fast_bcrypt``)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bcrypt, "gensalt", _gensalt_4)
        patch.setattr(signin, "_DUMMY_HASH", FAST_DUMMY_HASH)
        database = open_db(target)
        try:
            seed(database)
        finally:
            database.close()


@pytest.fixture(scope="session")
def seeded_templates() -> dict[tuple[str, str], str]:
    """Seeded template databases made in this run (this worker), (engine, seed function) -> DuckDB file or
    PostgreSQL database name. See ``db_target``."""
    return {}


def _shop_template(request: pytest.FixtureRequest, engine: str) -> str | None:
    """For a test that asks for ``shop`` (itself or through ``owner``, ``staff``, ...): a template already seeded
    with its module's ``SHOP_SEED`` (default ``seed_shop``), made on first use. Copying it gives the same rows, ids
    and sequences as seeding the test's own database, at a copy's cost. ``None`` for other tests."""
    if "shop" not in request.fixturenames:
        return None
    seed = getattr(request.module, "SHOP_SEED", seed_shop)
    made: dict[tuple[str, str], str] = request.getfixturevalue("seeded_templates")
    key = (engine, f"{seed.__module__}.{seed.__qualname__}")
    if key not in made:
        name = f"seeded_{len(made)}"
        if engine == "duckdb":
            target = str(request.getfixturevalue("duckdb_template").with_name(f"{name}.duckdb"))
            shutil.copyfile(request.getfixturevalue("duckdb_template"), target)
            _seeded(target, seed)
            made[key] = target
        else:
            _seeded(request.getfixturevalue("pg_server").new_database(TEMPLATE, name=name), seed)
            made[key] = name
    return made[key]


@pytest.fixture
def db_target(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """What ``INVENTORY_DB`` would say for this test's fresh database: a DuckDB file, or a PostgreSQL URL; either
    is a copy of a migrated template (already seeded with ``seed_shop`` when the test uses ``shop``)."""
    seeded = _shop_template(request, engine)
    request.node.seeded_from_template = bool(seeded)
    if engine == "duckdb":
        path = tmp_path / "inventory.duckdb"
        shutil.copyfile(seeded or request.getfixturevalue("duckdb_template"), path)
        yield str(path)
        return
    databases: Recycler = request.getfixturevalue("pg_databases")
    url = databases.take(seeded or TEMPLATE)
    try:
        yield url
    finally:
        databases.give_back(url)


@pytest.fixture(scope="session")
def pg_databases(pg_server: PgServer) -> Recycler:
    """This run's (worker's) PostgreSQL test databases: a test's database is one an earlier test handed back, reset
    to the template's rows (much cheaper than a fresh copy), or a fresh copy (see ``tests/pg_recycle.py``)."""
    return Recycler(pg_server)


@pytest.fixture
def db(db_target: str) -> Iterator[Database]:
    """A fresh, migrated, empty database: a temporary DuckDB file, or a copy of the migrated PostgreSQL template."""
    database = open_db(db_target)
    yield database
    database.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``@pytest.mark.duckdb_only`` tests (DuckDB files, locks, backups as files) are not run on PostgreSQL."""
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        only = item.get_closest_marker("duckdb_only")
        (drop if only and params.get("engine") == "postgres" else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def seed_shop(db: Database, *, users: bool = True) -> Database:
    """Two stores (S1, S2), three products with stock in S1, and (``users``) an owner and a staff member of S1
    only, all through core. The shop every test file and the browser harness start from."""
    from core.domain.stock import stock_in

    add_store(db, SYSTEM, "S1", "Main Street")
    add_store(db, SYSTEM, "S2", "Market Road")
    if users:
        add_user(db, SYSTEM, OWNER_EMAIL, PASSWORD, "owner", name="Olivia Owner")
        add_user(db, SYSTEM, STAFF_EMAIL, PASSWORD, "staff", name="Sam Staff", stores=["S1"])
    create_product(db, SYSTEM, "RICE-5KG", "Basmati Rice 5 kg", "Staples", "450.00", 5, vendor="Daawat")
    create_product(db, SYSTEM, "MILK-1L", "Toned Milk 1 L", "Dairy", "56.00", 20, vendor="Amul")
    create_product(db, SYSTEM, "SOAP-100", "Neem Soap 100 g", "Personal care", "35.50", 10)
    stock_in(db, SYSTEM, "S1", "RICE-5KG", 30)
    stock_in(db, SYSTEM, "S1", "MILK-1L", 100)
    stock_in(db, SYSTEM, "S1", "SOAP-100", 8)
    return db


@pytest.fixture
def shop(db: Database, request: pytest.FixtureRequest) -> Database:
    """A fresh database seeded with the module's ``SHOP_SEED`` (default ``seed_shop``): ``db`` itself, a copy of a
    seeded template (see ``db_target``), or seeded here when ``shop`` was asked for only while the test ran
    (``request.getfixturevalue``). A module's own ``shop`` fixture may build on it (``def shop(shop)``)."""
    if not getattr(request.node, "seeded_from_template", False):
        getattr(request.module, "SHOP_SEED", seed_shop)(db)
    return db


@pytest.fixture
def owner(shop: Database) -> Actor:
    return actor_for(shop, OWNER_EMAIL)


@pytest.fixture
def staff(shop: Database) -> Actor:
    return actor_for(shop, STAFF_EMAIL)


# ---- a read-only shop shared by a module's tests ----------------------------------------------------------------
# Seeding a shop costs more than most read tests. A module whose tests only read may share one shop per engine:
# ``shared_shop`` is built once per module (and xdist worker) by the module's ``SHARED_SEED(db)`` if it has one,
# else by ``seed_shop``. A test that writes to it (an audited refusal counts) fails in teardown: use ``shop``.

FINGERPRINT = (
    "SELECT (SELECT count(*) FROM audit), (SELECT count(*) FROM movements), (SELECT count(*) FROM operations),"
    " (SELECT count(*) FROM products), (SELECT coalesce(sum(version), 0) FROM products),"
    " (SELECT count(*) FROM stock), (SELECT coalesce(sum(quantity), 0) FROM stock), (SELECT count(*) FROM stores),"
    " (SELECT count(*) FROM orders), (SELECT count(*) FROM users), (SELECT count(*) FROM imports)"
)


def fingerprint(db: Database) -> tuple[Any, ...]:
    """Row counts and sums that any write through core changes (an audit row at least)."""
    with db.reader() as tx:
        return tuple(tx.one(FINGERPRINT) or ())


@pytest.fixture(scope="module")
def shared_db(
    engine: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """One database per module and engine, seeded once by the module's ``SHARED_SEED`` (default ``seed_shop``)."""
    url = None
    if engine == "duckdb":
        target = str(tmp_path_factory.mktemp("shared") / "inventory.duckdb")
    else:
        server: PgServer = request.getfixturevalue("pg_server")
        target = url = server.new_database(TEMPLATE)
    database = open_db(target)
    try:
        getattr(request.module, "SHARED_SEED", seed_shop)(database)
        yield database
    finally:
        database.close()
        if url:
            server.drop_database(url)


@pytest.fixture
def shared_shop(shared_db: Database) -> Iterator[Database]:
    """The module's read-only seeded shop (see above); the test fails if it wrote to it."""
    before = fingerprint(shared_db)
    yield shared_db
    after = fingerprint(shared_db)
    assert after == before, "this test wrote to the module's read-only shared_shop: give it its own `shop`"
