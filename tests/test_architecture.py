"""The layers stay honest: core never imports streamlit, only the adapter imports a database driver, pages and
app.py hold no SQL and no driver, and every core module says what it owns."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = sorted((ROOT / "core").rglob("*.py"))
UI = sorted((ROOT / "pages").glob("*.py")) + ([ROOT / "app.py"] if (ROOT / "app.py").exists() else [])
DRIVERS = {"duckdb", "psycopg", "psycopg2", "psycopg_pool", "sqlite3"}
ADAPTER = ROOT / "core" / "db" / "__init__.py"
POSTGRES_ADAPTER = ROOT / "core" / "db" / "postgres.py"
SQL = re.compile(
    r"\bSELECT\s|\bINSERT\s+INTO\b|\bDELETE\s+FROM\b|\bUPDATE\s+\w+\s+SET\b|\bCREATE\s+TABLE\b|\bALTER\s+TABLE\b"
)


def _imports(path: Path) -> set[str]:
    """Top-level module names imported anywhere in the file (also inside functions), and `from core.db import X`
    names prefixed with ``core.db.``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name.split(".")[0])
                found.add(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(arg.value.split(".")[0])
    return found


def _names(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


def test_the_layout_exists():
    assert ADAPTER in CORE and len(CORE) >= 10


@pytest.mark.parametrize("path", CORE, ids=_names(CORE))
def test_core__never_imports_streamlit(path):
    assert not any(name == "streamlit" or name.startswith("streamlit.") for name in _imports(path))


@pytest.mark.parametrize("path", CORE, ids=_names(CORE))
def test_core__only_the_adapter_imports_a_driver(path):
    if path == ADAPTER:
        assert "duckdb" in _imports(path)
    elif path == POSTGRES_ADAPTER:
        assert _imports(path) & DRIVERS == {"psycopg", "psycopg_pool"}
    else:
        assert not (_imports(path) & DRIVERS), f"{path.name} imports a database driver"


# every module states what it owns.
DOCUMENTED = CORE


@pytest.mark.parametrize("path", DOCUMENTED, ids=_names(DOCUMENTED))
def test_core__every_module_has_a_docstring(path):
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert doc and len(doc.split()) >= 5, f"{path.name} needs a module docstring saying what it owns"


@pytest.mark.parametrize("path", UI or [None], ids=_names(UI) or ["no pages yet"])
def test_pages__never_import_a_driver_or_the_adapters_driver(path):
    if path is None:
        pytest.skip("pages/ and app.py do not exist yet")
    imports = _imports(path)
    assert not (imports & DRIVERS), f"{path.name} imports a database driver"
    assert not {f"core.db.{d}" for d in DRIVERS} & imports, f"{path.name} imports the driver through core.db"


@pytest.mark.parametrize("path", UI or [None], ids=_names(UI) or ["no pages yet"])
def test_pages__hold_no_sql(path):
    if path is None:
        pytest.skip("pages/ and app.py do not exist yet")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    literals = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    offending = [text for text in literals if SQL.search(text)]
    assert not offending, f"{path.name} holds SQL: {offending[:3]}"


def test_sql_detector__finds_sql_and_spares_ordinary_labels():
    assert SQL.search("SELECT sku FROM products")
    assert SQL.search("UPDATE stock SET quantity = 1")
    assert not SQL.search("Select a store")
    assert not SQL.search("Update prices and SELECTION")
