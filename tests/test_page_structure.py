"""The shape every page keeps: a ``main()`` that the file calls last (Streamlit runs a page file top to bottom),
registered in app.py's navigation; session-state keys through named constants, never a string literal."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

HELPERS = {"ui.py", "keys.py", "session.py", "__init__.py"}
PAGE_FILES = sorted(p for p in (ROOT / "pages").glob("*.py") if p.name not in HELPERS)
LITERAL_KEY = re.compile(r"""session_state(\[|\.(get|pop|setdefault)\()\s*["']""")


def _registered() -> set[str]:
    tree = ast.parse((ROOT / "app.py").read_text())
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("pages/")
    }


@pytest.mark.parametrize("path", PAGE_FILES, ids=[p.name for p in PAGE_FILES])
def test_page__defines_main_and_calls_it_last(path: Path) -> None:
    tree = ast.parse(path.read_text())
    assert any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body), f"{path.name}: no main()"
    last = tree.body[-1]
    assert isinstance(last, ast.Expr) and isinstance(last.value, ast.Call), f"{path.name}: main() is not called last"
    assert getattr(last.value.func, "id", None) == "main" and not last.value.args
    top_level = (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign)
    for node in tree.body[:-1]:  # nothing else runs at import: constants, imports and definitions only
        is_docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        assert isinstance(node, top_level) or is_docstring, f"{path.name}:{node.lineno} runs at module level"
        if isinstance(node, ast.Assign | ast.AnnAssign):  # a constant, not a widget or a page helper's answer
            calls = [c.func for c in ast.walk(node) if isinstance(c, ast.Call)]
            owners = {getattr(f.value, "id", None) for f in calls if isinstance(f, ast.Attribute)}
            assert not owners & {"st", "ui"}, f"{path.name}:{node.lineno} draws or reads at module level"


@pytest.mark.parametrize("path", PAGE_FILES, ids=[p.name for p in PAGE_FILES])
def test_page__is_in_the_navigation(path: Path) -> None:
    assert f"pages/{path.name}" in _registered()


def test_pages__session_state_keys_are_named_constants() -> None:
    for path in [*sorted((ROOT / "pages").glob("*.py")), ROOT / "app.py"]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            assert not LITERAL_KEY.search(code) or "``" in line, f"{path.name}:{number}: {line.strip()}"
