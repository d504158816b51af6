"""Building SQL with bound parameters: the one place in core that numbers ``$n`` placeholders, and the money
expression every figure of value uses.

Both engines take ``$1, $2, ...`` (DuckDB natively, PostgreSQL through psycopg's ``RawCursor``). A statement
that depends on its input is built with a ``Params``: every value goes through ``add`` (or ``many``), which
returns its placeholder, and the statement runs with ``params.values``. Conditions that are AND-ed together
(filters, scope) are collected with ``where`` and read back with ``conditions()``. Text from a person never
enters the SQL itself, only the values list.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Context, Decimal
from typing import Any

WIDE = Context(prec=60)  # Decimal quantize of a DECIMAL(38, 2) sum needs more than the default 28 digits


class Params:
    """Bound values collected while a statement is built, numbered ``$1, $2, ...`` in the order they are added.

    >>> p = Params()
    >>> f"SELECT * FROM stock WHERE store_id = {p.add(3)} AND product_id IN ({p.many([7, 8])})"
    'SELECT * FROM stock WHERE store_id = $1 AND product_id IN ($2, $3)'
    >>> p.values
    [3, 7, 8]
    """

    def __init__(self, *values: Any) -> None:
        """``values`` are already bound, as ``$1 ... $n``, in a statement written by hand before the builder."""
        self.values: list[Any] = list(values)
        self.parts: list[str] = []

    def add(self, value: Any) -> str:
        """Bind ``value``; returns its placeholder."""
        self.values.append(value)
        return f"${len(self.values)}"

    def many(self, values: Iterable[Any]) -> str:
        """Bind each of ``values``; returns their placeholders joined by commas (for ``IN (...)``). An empty
        ``values`` gives ``NULL``, so ``x IN (NULL)`` matches nothing instead of being a syntax error."""
        placeholders = [self.add(v) for v in values]
        return ", ".join(placeholders) or "NULL"

    def where(self, template: str, *values: Any) -> None:
        """Add an AND-ed condition. ``template`` names its values ``{}`` in order, or ``{0}``, ``{1}`` to use one
        several times: ``p.where("(lower(sku) LIKE {0} OR lower(name) LIKE {0})", pattern)``."""
        self.parts.append(template.format(*[self.add(v) for v in values]))

    def conditions(self) -> str:
        """The AND of every ``where`` condition, ``TRUE`` when there is none."""
        return " AND ".join(f"({part})" for part in self.parts) or "TRUE"


def amount_sql(quantity: str, price: str) -> str:
    """SQL for ``quantity x price`` in a type wide enough for any legal values and their sums (DECIMAL(38, 2)):
    DuckDB types INTEGER x DECIMAL(12, 2) as DECIMAL(18, 2), which overflows from about 10**16 (a price of
    10 million x a count of 1 billion). The same text runs on PostgreSQL. ``quantity`` and ``price`` are column
    expressions written in core, never input."""
    return f"CAST({quantity} AS DECIMAL(38, 0)) * {price}"


def to_money(value: Any) -> Decimal:
    """A money figure from the database as a Decimal with cents (exact, however large)."""
    return Decimal(value or 0).quantize(Decimal("0.01"), context=WIDE)
