"""The layers stay honest: core never imports streamlit, only the adapter imports a database driver, pages and
app.py hold no SQL and no driver, and every core module says what it owns."""

from __future__ import annotations

import ast
import functools
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


# ---- reads go through the read chokepoint (core.domain.reading); pages reach core only through marked reads and
# operations. A static call graph of core: which public functions reach ``ops.run`` (operations) or
# ``reading.read`` (reads), and which are marked ``@public_read``.
RUN, READ = "core.domain.ops.run", "core.domain.reading.read"
# reads the frame makes before anyone is signed in, or that sign someone in: no actor, nothing to refuse
FRAME_READS = {"has_users", "latest_change", "database_now", "session_actor", "actor_from_cookie", "authenticate"}
FRAME_READS |= {"actor_for", "end_sessions", "session_settings", "credentials", "health", "default_backup_dir"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _aliases(tree: ast.AST, module: str) -> dict[str, str]:
    """Local name -> the dotted core name it stands for (imported names, and the module's own top-level defs)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update({(a.asname or a.name): f"{node.module}.{a.name}" for a in node.names})
        elif isinstance(node, ast.Import):
            names.update(
                {
                    (a.asname or a.name.split(".")[0]): ((a.asname and a.name) or a.name.split(".")[0])
                    for a in node.names
                }
            )
    for node in getattr(tree, "body", []):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names[node.name] = f"{module}.{node.name}"
    return names


def _references(node: ast.AST, aliases: dict[str, str]) -> set[str]:
    """Dotted core names that ``node`` mentions: ``f``, ``module.f``."""
    found: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in aliases:
            found.add(aliases[sub.id])
        elif isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id in aliases:
            found.add(f"{aliases[sub.value.id]}.{sub.attr}")
    return {name for name in found if name.startswith("core.")}


@functools.cache
def _core_graph() -> tuple[dict[str, ast.FunctionDef], dict[str, set[str]], dict[str, str]]:
    """Every top-level function of core by dotted name, what each mentions, and re-exported names."""
    functions: dict[str, ast.FunctionDef] = {}
    mentions: dict[str, set[str]] = {}
    exported: dict[str, str] = {}
    for path in CORE:
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = _aliases(tree, module)
        exported.update(
            {f"{module}.{local}": target for local, target in aliases.items() if target.startswith("core.")}
        )
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                functions[f"{module}.{node.name}"] = node
                mentions[f"{module}.{node.name}"] = _references(node, aliases)
    return functions, mentions, exported


def _resolve(name: str, functions: dict[str, ast.FunctionDef], exported: dict[str, str]) -> str:
    for _ in range(
        5
    ):  # follow re-exports: ``from core.domain.catalog import store_by_code`` used as stock.store_by_code
        if name in functions or name not in exported:
            return name
        name = exported[name]
    return name


@functools.cache
def _reaching(target: str) -> frozenset[str]:
    functions, mentions, exported = _core_graph()
    reached = {target}
    changed = True
    while changed:
        changed = False
        for name, mentioned in mentions.items():
            if name not in reached and {_resolve(m, functions, exported) for m in mentioned} & reached:
                reached.add(name)
                changed = True
    return frozenset(reached)


def _marked_reads() -> set[str]:
    functions, _, _ = _core_graph()
    return {
        name
        for name, node in functions.items()
        if any(isinstance(d, ast.Name) and d.id == "public_read" for d in node.decorator_list)
    }


def _db_first(node: ast.FunctionDef) -> bool:
    return bool(node.args.args) and node.args.args[0].arg == "db"


def test_reads__every_marked_read_goes_through_the_chokepoint_and_every_read_is_marked():
    functions, _, _ = _core_graph()
    marked, reads, operations = _marked_reads(), _reaching(READ), _reaching(RUN)
    assert marked - reads == set(), "marked @public_read but never calls core.domain.reading.read"
    public = {n for n, node in functions.items() if _db_first(node) and not n.rsplit(".", 1)[1].startswith("_")}
    unmarked = {n for n in public & reads - {READ} if n not in operations and not n.startswith("core.tools.")} - marked
    assert unmarked == set(), "reads through core.domain.reading.read without @public_read"
    by_actor = {n for n in public if len(functions[n].args.args) > 1 and functions[n].args.args[1].arg == "actor"}
    stray = {n for n in by_actor - reads - operations if not n.startswith("core.tools.")}
    assert stray == set(), "public functions taking (db, actor) that go through neither ops.run nor reading.read"


def _stray_calls(tree: ast.AST) -> set[str]:
    """Core functions taking ``db`` first that ``tree`` mentions and that are neither a marked read, nor an
    operation (reaching ``ops.run``), nor one of the frame's reads."""
    functions, _, exported = _core_graph()
    used = {_resolve(n, functions, exported) for n in _references(tree, _aliases(tree, "pages"))}
    called = {n for n in used if n in functions and _db_first(functions[n])}
    return {n for n in called - _marked_reads() - _reaching(RUN) if n.rsplit(".", 1)[1] not in FRAME_READS}


@pytest.mark.parametrize("path", UI, ids=_names(UI))
def test_pages__call_core_only_through_marked_reads_and_operations(path):
    stray = _stray_calls(ast.parse(path.read_text(encoding="utf-8")))
    assert stray == set(), f"{path.name} reads core without the read chokepoint"


def test_pages_check__finds_a_read_that_bypasses_the_chokepoint():
    bypass = "from core.db import schema\nfrom core.domain.check import check\nschema.current_version(db)\ncheck(db)"
    assert _stray_calls(ast.parse(bypass)) == {"core.db.schema.current_version", "core.domain.check.check"}
    chokepoint = "from core.domain import grid, stock\nui.call(grid.inventory_page, db, a, 'S1')\nstock.stock_in(db)"
    assert _stray_calls(ast.parse(chokepoint)) == set()
