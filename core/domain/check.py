"""``check``: verify every stored invariant and list each problem found.

1. stock.quantity equals the sum of the (store, product) movement deltas; no stock without movements but zero.
2. Nothing negative: stock quantities and every movement's quantity_after.
3. The last movement's quantity_after equals the stock quantity.
4. Versions are sane: >= 1 everywhere, and a stock row's version is 1 + its number of movements.
5. Every reference points at an existing row.
"""

from __future__ import annotations

from typing import Any

from core.db import Database

# The ledger checks (1, 3, 4 and "movements without a stock row") share ONE pass over the movements: an aggregate
# per (store, product) with its sum, count and last id, materialised once. At 18 million movements this halves
# the time of four separate scans.
LEDGER = """
WITH agg AS MATERIALIZED (
    SELECT store_id, product_id, sum(delta) AS total, count(*) AS n, max(id) AS last_id
    FROM movements GROUP BY store_id, product_id),
joined AS MATERIALIZED (
    SELECT s.store_id, s.product_id, s.quantity, s.version, a.total, a.n, a.last_id
    FROM stock s LEFT JOIN agg a ON a.store_id = s.store_id AND a.product_id = s.product_id)
SELECT 'stock differs from the ledger' AS title, st.code AS a, p.sku AS b,
       CAST(j.quantity AS BIGINT) AS c, CAST(coalesce(j.total, 0) AS BIGINT) AS d
  FROM joined j LEFT JOIN stores st ON st.id = j.store_id LEFT JOIN products p ON p.id = j.product_id
  WHERE j.quantity <> coalesce(j.total, 0)
UNION ALL
SELECT 'stock version is not 1 + its movements', CAST(j.store_id AS VARCHAR), CAST(j.product_id AS VARCHAR),
       CAST(j.version AS BIGINT), CAST(coalesce(j.n, 0) AS BIGINT)
  FROM joined j WHERE j.version <> 1 + coalesce(j.n, 0)
UNION ALL
SELECT 'last movement disagrees with stock', CAST(j.store_id AS VARCHAR), CAST(j.product_id AS VARCHAR),
       CAST(j.quantity AS BIGINT), CAST(m.quantity_after AS BIGINT)
  FROM joined j JOIN movements m ON m.id = j.last_id WHERE m.quantity_after <> j.quantity
UNION ALL
SELECT 'movements without a stock row', CAST(a.store_id AS VARCHAR), CAST(a.product_id AS VARCHAR),
       CAST(a.n AS BIGINT), 0
  FROM agg a WHERE NOT EXISTS (SELECT 1 FROM stock s WHERE s.store_id = a.store_id AND s.product_id = a.product_id)
"""

CHECKS: list[tuple[str, str]] = [
    (
        "negative quantity",
        """SELECT 'stock', store_id, product_id, quantity FROM stock WHERE quantity < 0
           UNION ALL SELECT 'movement', id, product_id, quantity_after FROM movements WHERE quantity_after < 0""",
    ),
    (
        "version below 1",
        """SELECT 'product', sku, version, 0 FROM products WHERE version < 1
           UNION ALL SELECT 'store', code, version, 0 FROM stores WHERE version < 1
           UNION ALL SELECT 'order', CAST(id AS VARCHAR), version, 0 FROM orders WHERE version < 1""",
    ),
    (
        "reference to a missing row",
        """SELECT 'stock.store_id', store_id, product_id, 0 FROM stock s
             WHERE NOT EXISTS (SELECT 1 FROM stores x WHERE x.id = s.store_id)
           UNION ALL SELECT 'stock.product_id', store_id, product_id, 0 FROM stock s
             WHERE NOT EXISTS (SELECT 1 FROM products x WHERE x.id = s.product_id)
           UNION ALL SELECT 'products.vendor_id', id, vendor_id, 0 FROM products p
             WHERE vendor_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM vendors x WHERE x.id = p.vendor_id)
           UNION ALL SELECT 'order_lines.order_id', order_id, line_no, 0 FROM order_lines l
             WHERE NOT EXISTS (SELECT 1 FROM orders x WHERE x.id = l.order_id)
           UNION ALL SELECT 'user_stores.store_id', user_id, store_id, 0 FROM user_stores u
             WHERE NOT EXISTS (SELECT 1 FROM stores x WHERE x.id = u.store_id)""",
    ),
]

MAX_LISTED = 20


def check(db: Database) -> dict[str, Any]:
    """``{"ok": bool, "problems": [sentence, ...]}``; at most 20 examples are listed per kind of problem."""
    problems: list[str] = []
    with db.transaction() as tx:  # one snapshot for every check
        rows = tx.all(
            f"SELECT title, a, b, c, d FROM (SELECT *, row_number() OVER (PARTITION BY title) AS k FROM ({LEDGER}) q) r"
            f" WHERE k <= {MAX_LISTED + 1} ORDER BY title, a, b"
        )
        by_title: dict[str, list[tuple[Any, ...]]] = {}
        for title, *values in rows:
            by_title.setdefault(title, []).append(tuple(values))
        for title, found in by_title.items():
            problems.extend(f"{title}: {', '.join(str(v) for v in row)}" for row in found[:MAX_LISTED])
            if len(found) > MAX_LISTED:
                problems.append(f"{title}: more rows not listed")
        for title, sql in CHECKS:
            rows = tx.all(f"SELECT * FROM ({sql}) q LIMIT {MAX_LISTED + 1}")
            for row in rows[:MAX_LISTED]:
                problems.append(f"{title}: {', '.join(str(v) for v in row)}")
            if len(rows) > MAX_LISTED:
                problems.append(f"{title}: more rows not listed")
    return {"ok": not problems, "problems": problems}
