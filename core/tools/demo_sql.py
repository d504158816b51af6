"""The building blocks of ``core.tools.demo``'s SQL: the sample catalog (``core.tools.demo_data``) as temporary
reference tables, and pseudo-random numbers computed in SQL.

Randomness is a hash of (seed, salt, row numbers) in integer arithmetic modulo a prime (a cube, a bijection because
p = 2 mod 3) that DuckDB and PostgreSQL both compute identically, so the same seed gives the same data on both
engines (DuckDB's ``random()`` is not reproducible across threads).
"""

from __future__ import annotations

from typing import Any

from core.db import Tx
from core.db.sql import Params
from core.tools.demo_data import CATALOG, CATEGORIES, CITIES, MULTIPACK_MAX, PACKS, SHOPS, VENDORS

PRIME = 2147483579  # largest prime below 2**31 with PRIME % 3 == 2, so x -> x**3 mod PRIME is a bijection
REFERENCE_TABLES = ("demo_cat", "demo_line", "demo_size", "demo_variant", "demo_pack", "demo_vendor", "demo_place")
REFERENCE_TABLES += ("demo_shop",)


# ---- reference tables --------------------------------------------------------------------------------------


def _groups() -> list[tuple[str, bool, list[tuple[str, float]], list[str], list[str]]]:
    """The sample catalog's product groups: (category, multipacks allowed, sizes with prices, lines, variants)."""
    groups = []
    for row in CATALOG.strip().splitlines():
        cat, multi, sizes, lines, variants = row.split("|")
        parsed = [(label, float(price)) for label, price in (s.rsplit(":", 1) for s in sizes.split(","))]
        groups.append((cat, multi == "y", parsed, lines.split(";"), [v for v in variants.split(";") if v]))
    return groups


def catalog_capacity() -> int:
    """How many distinct product names the sample catalog can make (the ``products`` maximum)."""
    total = 0
    for _cat, multi, sizes, lines, variants in _groups():
        packs = sum(1 for _label, price in sizes for n in PACKS if n == 1 or (multi and price * n <= MULTIPACK_MAX))
        total += len(lines) * max(1, len(variants)) * packs
    return total


def drop_tables(tx: Tx, tables: tuple[str, ...]) -> None:
    """Free temporary tables as soon as the load no longer needs them (they are gone at commit anyway)."""
    for table in tables:
        tx.execute(f"DROP TABLE {table}")


def _create(tx: Tx, name: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    """A temporary reference table filled from ``rows`` with one multi-row INSERT (bound parameters)."""
    tx.execute(f"CREATE TEMP TABLE {name} ({columns})")
    for start in range(0, len(rows), 500):  # keeps each statement's parameter count modest
        params = Params()
        marks = ", ".join(f"({params.many(row)})" for row in rows[start : start + 500])
        tx.execute(f"INSERT INTO {name} VALUES {marks}", params.values)


def reference_tables(tx: Tx) -> None:
    """The sample catalog as temporary tables (``REFERENCE_TABLES``) the load's SQL joins."""
    cats = [r.split("|") for r in CATEGORIES.strip().splitlines()]
    cat_index = {code: i for i, (code, *_rest) in enumerate(cats)}
    _create(
        tx,
        "demo_cat",
        "cat INTEGER, code VARCHAR, name VARCHAR, weight DOUBLE PRECISION, perishable INTEGER",
        [(i, code, name, float(w), int(p)) for i, (code, name, w, p) in enumerate(cats)],
    )
    lines, sizes, variants = [], [], []
    for g, (cat, multi, gsizes, glines, gvariants) in enumerate(_groups()):
        lines += [(g, cat_index[cat], 1 if multi else 0, i, text) for i, text in enumerate(glines)]
        sizes += [(g, i, label, price) for i, (label, price) in enumerate(gsizes)]
        variants += [(g, i, text) for i, text in enumerate(gvariants)]
    _create(tx, "demo_line", "grp INTEGER, cat INTEGER, multi INTEGER, line INTEGER, name VARCHAR", lines)
    _create(tx, "demo_size", "grp INTEGER, size INTEGER, label VARCHAR, price DOUBLE PRECISION", sizes)
    _create(tx, "demo_variant", "grp INTEGER, variant INTEGER, name VARCHAR", variants)
    _create(tx, "demo_pack", "pack INTEGER", [(p,) for p in PACKS])
    _create(tx, "demo_vendor", "v INTEGER, name VARCHAR", list(enumerate(VENDORS)))
    places = []
    for c, row in enumerate(CITIES):
        code, localities = row.split("|")
        places += [(c, code, i, loc) for i, loc in enumerate(localities.split(";"))]
    _create(tx, "demo_place", "city INTEGER, code VARCHAR, loc INTEGER, locality VARCHAR", places)
    _create(tx, "demo_shop", "shop INTEGER, name VARCHAR", list(enumerate(SHOPS)))


# ---- pseudo-random numbers in SQL ---------------------------------------------------------------------------


def _mult(seed: int, salt: int, i: int) -> int:
    """A per-(seed, salt, column) multiplier in [1, PRIME): Python's integers never overflow."""
    return (pow(seed * 1_000_003 + salt * 7919 + i * 104_729 + 12_345, 3, PRIME) + 1) % PRIME or 1


def sql_hash(seed: int, salt: int, *columns: str) -> str:
    """SQL for a pseudo-random BIGINT in [0, PRIME) from integer ``columns`` (each below 2**20).

    A linear form (its coefficients drawn from seed and salt) passed twice through x -> x**3 + c mod PRIME.
    Every intermediate stays below 2**62, so BIGINT arithmetic never overflows in either engine.
    """
    terms = [str(_mult(seed, salt, 0))] + [
        f"{_mult(seed, salt, i + 1)} * CAST({c} AS BIGINT)" for i, c in enumerate(columns)
    ]
    x = f"(({' + '.join(terms)}) % {PRIME})"
    y = f"((({x} * {x}) % {PRIME} * {x} + {_mult(seed, salt, 99)}) % {PRIME})"
    return f"(({y} * {y}) % {PRIME} * {y} % {PRIME})"


def sql_unit(seed: int, salt: int, *columns: str) -> str:
    """SQL for a pseudo-random DOUBLE PRECISION in [0, 1)."""
    return f"(CAST({sql_hash(seed, salt, *columns)} AS DOUBLE PRECISION) / {PRIME})"
