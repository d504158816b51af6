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
ADAPTER = ROOT / "core" / "db" / "duck.py"
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


# ---- the direction of imports between core's subpackages --------------------------------------------------------

# base <- db <- domain <- {reads, sheets} <- tools: a subpackage imports only subpackages of a lower rank (and
# itself); reads and sheets, of one rank, do not import each other. core/__init__.py and core/__main__.py (the
# package's front door and the command line's entry) may import anything.
RANK = {"base": 0, "db": 1, "domain": 2, "reads": 3, "sheets": 3, "tools": 4}
FRONT_DOORS = {ROOT / "core" / "__init__.py", ROOT / "core" / "__main__.py"}
LAYERED = [p for p in CORE if p not in FRONT_DOORS]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in CORE}


def _core_imports(path: Path, source: str | None = None) -> set[str]:
    """The core modules ``path`` imports, anywhere in the file (module level, inside functions, under
    ``TYPE_CHECKING``): ``from core.x import y`` names the module ``core.x.y`` when that is a module, else
    ``core.x``. Relative imports are resolved against the file's package."""
    tree = ast.parse(path.read_text(encoding="utf-8") if source is None else source, filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "core")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.split(".")[0] != "core":
                continue
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {name for name in found if name in MODULES}


def _layer(module: str) -> str | None:
    """The subpackage a core module belongs to (``None`` for the package root ``core`` and ``core.__main__``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else None


def _breach(own: str | None, target: str) -> str | None:
    layer = _layer(target)
    if layer is None or layer == own:
        return None
    return f"{target} ({layer} may not be imported from {own})" if own is None or RANK[layer] >= RANK[own] else None


def _direction_breaches(path: Path, source: str | None = None) -> list[str]:
    """The imports of ``path`` against the layers. Importing the package root ``core`` imports what it imports:
    that must be allowed too."""
    own = _layer(_module_name(path))
    breaches = []
    for target in sorted(_core_imports(path, source)):
        found = [_breach(own, target)]
        if target == "core":
            found += [f"core, which imports {b}" for t in _core_imports(MODULES["core"]) if (b := _breach(own, t))]
        breaches += [b for b in found if b]
    return breaches


@pytest.mark.parametrize("path", LAYERED, ids=_names(LAYERED))
def test_core__imports_point_down_the_layers(path):
    breaches = _direction_breaches(path)
    assert not breaches, f"{_module_name(path)} imports against the layers: {breaches}"


def test_layers__every_core_module_lives_in_a_layer():
    assert {_layer(_module_name(p)) for p in LAYERED} == set(RANK)


def test_direction_check__catches_an_upward_and_a_sideways_import():
    fake = ROOT / "core" / "domain" / "zz_fake_for_the_test.py"
    sources = {
        "from core.reads.kpis import compute_kpis\n": ["core.reads.kpis (reads may not be imported from domain)"],
        "def f():\n    from core.tools import cli\n": ["core.tools.cli (tools may not be imported from domain)"],
        "from core.db import Database\nfrom core.base.errors import InventoryError\n": [],
        "from ..reads import kpis\n": ["core.reads.kpis (reads may not be imported from domain)"],
        "from core import open_db\n": [],  # the root imports only core.db (and core.db.schema) today
    }
    for source, expected in sources.items():
        assert _direction_breaches(fake, source) == expected, source


# ---- no import cycle in core -------------------------------------------------------------------------------------


def _import_graph() -> dict[str, set[str]]:
    return {name: _core_imports(path) - {name} for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted: every such component
    holds at least one import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _a_cycle_through(graph: dict[str, set[str]], start: str, component: set[str]) -> list[str]:
    """One concrete cycle from ``start`` back to itself inside its component (breadth-first: a shortest one)."""
    paths = [[start]]
    seen = {start}
    while paths:
        path = paths.pop(0)
        for nxt in sorted(graph[path[-1]] & component):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                paths.append([*path, nxt])
    return []


GRAPH = _import_graph()
CYCLIC = {member: component for component in _cycles(GRAPH) for member in component}


@pytest.mark.parametrize("module", sorted(MODULES), ids=sorted(MODULES))
def test_core__no_module_is_in_an_import_cycle(module):
    """Imports inside functions count too: they only postpone the cycle to the first call."""
    if module in CYCLIC:
        cycle = _a_cycle_through(GRAPH, module, set(CYCLIC[module]))
        raise AssertionError(f"{module} is in an import cycle: {' -> '.join(cycle)}")


def test_cycle_finder__finds_a_cycle_and_spares_a_chain():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _a_cycle_through(graph, "b", {"a", "b", "c"}) == ["b", "c", "a", "b"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


# ---- $n placeholders are numbered only by the builder -----------------------------------------------------------

SQL_BUILDER = ROOT / "core" / "db" / "sql.py"
CODE = CORE + UI


def _is_str_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and getattr(node.func, "id", None) in {"str", "repr", "len"}


def _numbers_placeholders(source: str) -> list[int]:
    """Lines that number a ``$n`` placeholder by hand: an f-string with ``$`` right before a formatted value
    (``f"${i}"``), ``"$" + str(i)``, ``"$%d" % i`` or ``"${}".format(i)``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            for before, after in zip(node.values, node.values[1:], strict=False):
                if (
                    isinstance(before, ast.Constant)
                    and str(before.value).endswith("$")
                    and isinstance(after, ast.FormattedValue)
                ):
                    lines.append(node.lineno)
        elif isinstance(node, ast.BinOp) and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str):
            added = isinstance(node.op, ast.Add) and node.left.value.endswith("$") and _is_str_call(node.right)
            if added or (isinstance(node.op, ast.Mod) and re.search(r"\$%[ds]", node.left.value)):
                lines.append(node.lineno)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
            and isinstance(node.func.value, ast.Constant)
            and isinstance(node.func.value.value, str)
            and re.search(r"\$\{\d*\}", node.func.value.value)
        ):
            lines.append(node.lineno)
    return sorted(set(lines))


@pytest.mark.parametrize("path", CODE, ids=_names(CODE))
def test_sql__only_the_builder_numbers_placeholders(path):
    if path == SQL_BUILDER:
        assert _numbers_placeholders(path.read_text(encoding="utf-8")), "the builder numbers its placeholders"
        return
    lines = _numbers_placeholders(path.read_text(encoding="utf-8"))
    assert not lines, f"{path.name} numbers $n placeholders by hand on lines {lines}: use core.db.sql.Params"


def test_placeholder_detector__finds_hand_numbering_and_spares_money_and_fixed_sql():
    assert _numbers_placeholders('q = f"x = ${len(values)}"') == [1]
    assert _numbers_placeholders('q = "x = $" + str(n)') == [1]
    assert _numbers_placeholders('q = "x = $%d" % n') == [1]
    assert _numbers_placeholders('q = "x = ${}".format(n)') == [1]
    assert _numbers_placeholders('q = "SELECT * FROM t WHERE a = $1 AND b = $2"') == []
    assert _numbers_placeholders('label = f"$ {amount}"') == []
    assert _numbers_placeholders('q = f"x = {p.add(v)}"') == []


# ---- size: modules and functions --------------------------------------------------------------------------------

MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60


@pytest.mark.parametrize("path", CODE, ids=_names(CODE))
def test_size__no_module_over_400_lines(path):
    count = len(path.read_text(encoding="utf-8").splitlines())
    assert count <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {count} lines (at most {MAX_MODULE_LINES})"


def _long_functions(source: str) -> list[str]:
    """``name (n lines)`` for every function or method over the limit, from ``def`` to its last line."""
    long = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            count = (node.end_lineno or node.lineno) - node.lineno + 1
            if count > MAX_FUNCTION_LINES:
                long.append(f"{node.name} ({count} lines)")
    return long


@pytest.mark.parametrize("path", CODE, ids=_names(CODE))
def test_size__no_function_over_60_lines(path):
    long = _long_functions(path.read_text(encoding="utf-8"))
    assert not long, f"{path.relative_to(ROOT)}: functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_function_size__counts_from_def_to_the_last_line():
    body = "\n".join(f"    x{i} = {i}" for i in range(59))
    assert _long_functions(f"def short():\n{body}\n") == []
    assert _long_functions(f"def long():\n{body}\n    x = 1\n") == ["long (61 lines)"]


# ---- docstrings: every package too, and no citing of files outside the repository ------------------------------

SUBPACKAGE_INITS = sorted((ROOT / "core").glob("*/__init__.py"))
OUTSIDE_DOCS = re.compile(r"\bSPEC\b|SPEC\.md|STACK_NOTES|HOUSE_STYLE|\bpreamble\b", re.IGNORECASE)


def test_docstrings__the_subpackages_are_covered():
    assert {p.parent.name for p in SUBPACKAGE_INITS} == set(RANK)
    assert set(SUBPACKAGE_INITS) <= set(DOCUMENTED)


@pytest.mark.parametrize("path", CORE, ids=_names(CORE))
def test_core__docstrings_cite_nothing_outside_the_repository(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef))]
    cited = [m.group(0) for n in nodes for m in OUTSIDE_DOCS.finditer(ast.get_docstring(n) or "")]
    assert not cited, f"{path.relative_to(ROOT)} cites files outside the repository in docstrings: {cited}"


# ---- the suite and the app stand alone --------------------------------------------------------------------------

SHARED = ("..", "/shared")  # joined at run time, so this file does not match itself
STANDALONE = [
    p
    for folder in ("tests", "core", "pages")
    for p in sorted((ROOT / folder).rglob("*"))
    if p.is_file() and "__pycache__" not in p.parts
] + UI[-1:]


def test_standalone__nothing_reads_the_shared_folder():
    needles = ["".join(SHARED).encode(), (SHARED[1] + "/").encode()]
    mentioning = [str(p.relative_to(ROOT)) for p in STANDALONE if any(n in p.read_bytes() for n in needles)]
    assert not mentioning, f"these files refer to the shared folder outside the repository: {mentioning}"
    assert not SQL.search("Update prices and SELECTION")


# ---- reads go through the read chokepoint (core.domain.reading); pages reach core only through marked reads and
# operations. A static call graph of core: which public functions reach ``ops.run`` (operations) or
# ``reading.read`` (reads), and which are marked ``@public_read``.
RUN, READ = "core.domain.ops.run", "core.domain.reading.read"
# reads the frame makes before anyone is signed in, or that sign someone in: no actor, nothing to refuse
FRAME_READS = {"has_users", "latest_change", "database_now", "session_actor", "actor_from_cookie", "authenticate"}
FRAME_READS |= {"actor_for", "end_sessions", "session_settings", "credentials", "health", "default_backup_dir"}


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
