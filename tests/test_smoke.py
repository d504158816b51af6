"""Smoke: the shared fixtures build a consistent shop, and the package opens a database in one call."""

from core import open_db
from core.db.schema import MIGRATIONS, current_version
from core.domain.check import check
from core.reads.kpis import compute_kpis


def test_shop_fixture__is_consistent(shop, owner):
    assert check(shop) == {"ok": True, "problems": []}
    assert compute_kpis(shop, owner)["total_units"] == 138


def test_open_db__uses_INVENTORY_DB_when_no_target_is_given(tmp_path, monkeypatch):
    monkeypatch.setenv("INVENTORY_DB", str(tmp_path / "sub" / "env.duckdb"))
    db = open_db()
    try:
        assert db.target == str(tmp_path / "sub" / "env.duckdb")
        assert current_version(db) == len(MIGRATIONS)
    finally:
        db.close()
    assert (tmp_path / "sub" / "env.duckdb").exists()


def test_open_db__in_memory_works_for_tests_and_tools():
    with open_db(":memory:") as db:
        assert check(db)["ok"]


def test_open_db__an_unknown_url_scheme_is_refused_with_a_sentence(tmp_path, monkeypatch):
    import pytest

    from core import open_db
    from core.base.errors import ValidationError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError, match="mysql:// databases are not supported"):
        open_db("mysql://user@localhost/inventory")
    assert not (tmp_path / "mysql:").exists()
