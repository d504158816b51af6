"""Numbered migrations: init is idempotent, an older database is brought up to date, settings survive."""

from __future__ import annotations

import pytest

import core.db.schema
from core import open_db
from core.db.duck import DuckDatabase
from core.db.schema import MIGRATIONS, current_version, get_setting, migrate


def _tables(db):
    with db.reader() as tx:
        return {r[0] for r in tx.all("SELECT table_name FROM information_schema.tables")}


def _recorded(db):
    with db.reader() as tx:
        return tx.all("SELECT version, name FROM schema_migrations ORDER BY version")


def test_migrations__are_numbered_one_up_without_gaps():
    assert [m[0] for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


def test_init__creates_every_table_of_the_spec(db):
    expected = {"stores", "vendors", "products", "stock", "movements", "orders", "order_lines"}
    expected |= {"users", "user_stores", "audit", "imports", "settings", "operations", "schema_migrations"}
    assert expected <= _tables(db)
    assert current_version(db) == len(MIGRATIONS)


def test_init__is_idempotent(db_path):
    first = open_db(str(db_path))
    recorded, secret = _recorded(first), get_setting(first, "cookie_secret")
    assert migrate(first) == []
    first.close()
    again = open_db(str(db_path))
    try:
        assert migrate(again) == []
        assert _recorded(again) == recorded
        assert get_setting(again, "cookie_secret") == secret  # never overwritten by a re-run
    finally:
        again.close()


def test_cookie_secret__is_random_per_database_and_long(tmp_path):
    secrets = []
    for n in range(2):
        db = open_db(str(tmp_path / f"db{n}.duckdb"))
        secrets.append(get_setting(db, "cookie_secret"))
        db.close()
    assert secrets[0] != secrets[1]
    assert all(len(s) >= 48 for s in secrets)


def test_older_database__gets_the_new_migrations_on_open(db_path, monkeypatch):
    open_db(str(db_path)).close()  # made by the "older" code
    extra = (
        len(MIGRATIONS) + 1,
        "test: product notes",
        ["ALTER TABLE products ADD COLUMN note VARCHAR", "INSERT INTO settings (key, value) VALUES ('marker', 'x')"],
    )
    monkeypatch.setattr(core.db.schema, "MIGRATIONS", [*MIGRATIONS, extra])
    db = open_db(str(db_path))
    try:
        assert _recorded(db)[-1] == (extra[0], extra[1])
        assert get_setting(db, "marker") == "x"
        with db.reader() as tx:
            assert "note" in {
                r[0] for r in tx.all("SELECT column_name FROM information_schema.columns WHERE table_name = 'products'")
            }
        assert migrate(db) == []  # and only once
    finally:
        db.close()


def test_failing_migration__leaves_nothing_half_applied(db_path, monkeypatch):
    open_db(str(db_path)).close()
    broken = (
        len(MIGRATIONS) + 1,
        "test: broken",
        ["CREATE TABLE half (x INTEGER)", "THIS IS NOT SQL"],
    )
    monkeypatch.setattr(core.db.schema, "MIGRATIONS", [*MIGRATIONS, broken])
    with pytest.raises(Exception):  # noqa: B017 - the driver's parser error; what matters is what was kept
        open_db(str(db_path))
    monkeypatch.setattr(core.db.schema, "MIGRATIONS", MIGRATIONS)
    db = open_db(str(db_path))
    try:
        assert "half" not in _tables(db)
        assert current_version(db) == len(MIGRATIONS)
    finally:
        db.close()


def test_migrate__on_a_raw_empty_file_starts_from_nothing(db_path):
    raw = DuckDatabase(str(db_path))
    try:
        assert migrate(raw) == [m[0] for m in MIGRATIONS]
    finally:
        raw.close()
