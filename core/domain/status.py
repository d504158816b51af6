"""Stock status of one (store, product), defined once: the SQL every read uses and the words pages show.

- ``out``: a stock row at 0 on hand;
- ``low``: on hand (above 0) but at or below the product's reorder level;
- ``ok``: above the reorder level;
- ``none``: never stocked in this store (no stock row; the grid shows it with quantity 0 so it can be counted).
  It is counted neither as low nor as out.

Low and out together are the rows that need reordering (``needs_reorder_sql``). The KPIs, the dashboard's low-stock
list, the inventory grid and the product-across-stores report all build their SQL from these functions; pages show
``LABELS``.
"""

from __future__ import annotations

OUT, LOW, OK, NONE = "out", "low", "ok", "none"
LABELS = {OUT: "Out of stock", LOW: "Low", OK: "OK", NONE: "Not stocked"}


def low_sql(quantity: str = "s.quantity", level: str = "p.reorder_level") -> str:
    """SQL true when the row is ``low``. ``quantity`` and ``level`` are column expressions written in core."""
    return f"({quantity} > 0 AND {quantity} <= {level})"


def out_sql(quantity: str = "s.quantity") -> str:
    """SQL true when the row is ``out`` (a NULL quantity, never stocked, is not)."""
    return f"({quantity} = 0)"


def needs_reorder_sql(quantity: str = "s.quantity", level: str = "p.reorder_level") -> str:
    """SQL true when the row is ``low`` or ``out``."""
    return f"({low_sql(quantity, level)} OR {out_sql(quantity)})"


def status_sql(quantity: str = "s.quantity", level: str = "p.reorder_level") -> str:
    """SQL giving the row's status word: ``out``, ``low``, ``ok`` or (NULL quantity) ``none``."""
    return (
        f"CASE WHEN {quantity} IS NULL THEN '{NONE}' WHEN {out_sql(quantity)} THEN '{OUT}'"
        f" WHEN {low_sql(quantity, level)} THEN '{LOW}' ELSE '{OK}' END"
    )
