"""The database engines hang off one interface without a cycle: ``core.db.engine`` imports no engine, each engine
imports the interface and not the other engine, the package re-exports the interface only, and ``core.open_db``
is the one place that chooses an engine (loading psycopg only for a PostgreSQL target)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from core import open_db
from core.db import Database, Tx
from core.db.duck import DuckDatabase, DuckTx

ROOT = Path(__file__).resolve().parent.parent
DB = ROOT / "core" / "db"
ENGINES = {"duck": DB / "duck.py", "postgres": DB / "postgres.py"}


def _core_db_imports(path: Path) -> set[str]:
    """The ``core.db`` modules ``path`` imports (anywhere in the file, lazily included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("core.db"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names if node.module == "core.db")
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("core.db"))
    return found


def test_the_interface__imports_no_engine():
    assert _core_db_imports(DB / "engine.py") == set()
    assert _core_db_imports(DB / "__init__.py") == {"core.db.engine"}


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_each_engine__imports_the_interface_and_not_the_other_engine(name):
    assert _core_db_imports(ENGINES[name]) == {"core.db.engine"}


def _modules_loaded_after(code: str) -> set[str]:
    names = "import sys; print(' '.join(m for m in ('duckdb', 'psycopg', 'psycopg_pool') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\n{names}"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    return set(out.stdout.split())


def test_opening_a_duckdb_file__loads_no_postgresql_driver(tmp_path):
    code = f"from core import open_db; open_db({str(tmp_path / 'x.duckdb')!r}).close()"
    assert _modules_loaded_after(code) == {"duckdb"}


def test_the_interface_alone__loads_no_driver():
    """``core.db`` without ``core/__init__.py`` (which opens databases, so imports the default engine)."""
    bare_core = (
        "import sys, types; sys.modules['core'] = types.ModuleType('core'); sys.modules['core'].__path__ = ['core']"
    )
    assert _modules_loaded_after(f"{bare_core}\nimport core.db") == set()


def test_open_db__chooses_the_duckdb_engine_for_a_file(db_path):
    db = open_db(str(db_path))
    try:
        assert type(db) is DuckDatabase and isinstance(db, Database) and db.kind == "duckdb"
        with db.reader() as tx:
            assert type(tx) is DuckTx and isinstance(tx, Tx) and tx.kind == "duckdb"
    finally:
        db.close()
