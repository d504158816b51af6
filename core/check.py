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

CHECKS: list[tuple[str, str]] = [
    (
        "stock differs from the ledger",
        """SELECT st.code, p.sku, s.quantity, coalesce(m.total, 0)
           FROM stock s
           LEFT JOIN (SELECT store_id, product_id, sum(delta) AS total FROM movements GROUP BY store_id, product_id) m
             ON m.store_id = s.store_id AND m.product_id = s.product_id
           LEFT JOIN stores st ON st.id = s.store_id LEFT JOIN products p ON p.id = s.product_id
           WHERE s.quantity <> coalesce(m.total, 0)""",
    ),
    (
        "movements without a stock row",
        """SELECT m.store_id, m.product_id, count(*), 0 FROM movements m
           WHERE NOT EXISTS (SELECT 1 FROM stock s WHERE s.store_id = m.store_id AND s.product_id = m.product_id)
           GROUP BY m.store_id, m.product_id""",
    ),
    (
        "negative quantity",
        """SELECT 'stock', store_id, product_id, quantity FROM stock WHERE quantity < 0
           UNION ALL SELECT 'movement', id, product_id, quantity_after FROM movements WHERE quantity_after < 0""",
    ),
    (
        "last movement disagrees with stock",
        """SELECT s.store_id, s.product_id, s.quantity, m.quantity_after FROM stock s
           JOIN (SELECT store_id, product_id, quantity_after,
                        row_number() OVER (PARTITION BY store_id, product_id ORDER BY id DESC) AS rn
                 FROM movements) m ON m.store_id = s.store_id AND m.product_id = s.product_id AND m.rn = 1
           WHERE m.quantity_after <> s.quantity""",
    ),
    (
        "stock version is not 1 + its movements",
        """SELECT s.store_id, s.product_id, s.version, coalesce(m.n, 0) FROM stock s
           LEFT JOIN (SELECT store_id, product_id, count(*) AS n FROM movements GROUP BY store_id, product_id) m
             ON m.store_id = s.store_id AND m.product_id = s.product_id
           WHERE s.version <> 1 + coalesce(m.n, 0)""",
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
        for title, sql in CHECKS:
            rows = tx.all(f"SELECT * FROM ({sql}) q LIMIT {MAX_LISTED + 1}")
            for row in rows[:MAX_LISTED]:
                problems.append(f"{title}: {', '.join(str(v) for v in row)}")
            if len(rows) > MAX_LISTED:
                problems.append(f"{title}: more rows not listed")
    return {"ok": not problems, "problems": problems}
