"""Writing a staged import: set-based statements over the temporary tables of ``core.spreadsheet_stage``.

Invariants: only rows without a problem are written; a product changes (version + 1) only if a given value
differs; a count changes only if it differs, through an ``adjustment`` movement with ``quantity_after`` = the
count and its stock row (created at version 1 and bumped once, so version 2; else version + 1), so
``stock.quantity`` stays the sum of the movements. A row changed by someone else since it was staged is a
``WriteConflict`` and the runner retries the whole import.
"""

from __future__ import annotations

import json

import pandas as pd

from core.db import Tx
from core.errors import WriteConflict
from core.permissions import Actor
from core.spreadsheet_report import ImportReport
from core.spreadsheet_stage import CHANGED, VENDOR_IDS


def audit_denied(tx: Tx, actor: Actor, file_name: str, denied: pd.DataFrame) -> None:
    """One ``denied`` audit row per refused line, set-based."""
    frame = pd.DataFrame(
        {
            "entity_id": (denied["sku"].fillna("") + ("@" + denied["store"]).fillna("")).astype("str"),
            "action": denied["action"].astype("str"),
            "after": [
                json.dumps({"file": file_name, "line": int(line), "attempted": att}, ensure_ascii=False)
                for line, att in zip(denied["line"], denied["attempted"].fillna(""), strict=True)
            ],
            "detail": denied["message"].astype("str"),
        }
    )
    tx.execute("CREATE TEMP TABLE import_denied (entity_id VARCHAR, action VARCHAR, after VARCHAR, detail VARCHAR)")
    tx.load_frame("import_denied", frame)
    tx.execute(
        "INSERT INTO audit (actor, action, entity, entity_id, after, outcome, detail)"
        " SELECT CAST($1 AS VARCHAR), action, 'import', entity_id, after, 'denied', detail FROM import_denied",
        [actor.email],
    )


def write_rows(tx: Tx, actor: Actor, report: ImportReport, has_store: bool, bad_lines: pd.DataFrame) -> None:
    """Apply the staged rows that have no problem: vendors, new and changed products, then the counts.

    Raises ``WriteConflict`` (the runner retries) when a row changed after it was staged."""
    email = actor.email
    tx.execute("DELETE FROM import_eval WHERE bad")
    if len(bad_lines):
        tx.execute("CREATE TEMP TABLE import_bad (line INTEGER)")
        tx.load_frame("import_bad", bad_lines)
        tx.execute("DELETE FROM import_eval WHERE line IN (SELECT line FROM import_bad)")
    tx.execute(
        "INSERT INTO vendors (name) SELECT min(vendor) FROM import_eval"
        " WHERE vendor IS NOT NULL AND vendor_id IS NULL GROUP BY lower(vendor)"
    )
    changed = "e.product_id IS NULL OR " + " OR ".join(f"e.c_{n}" for n in CHANGED)
    if has_store:  # one SKU may have a line per store: their product values agree
        tx.execute(
            "CREATE TEMP TABLE import_products AS SELECT e.sku, max(e.product_id) AS product_id,"
            " max(e.product_version) AS product_version, max(e.name) AS name, max(e.category) AS category,"
            " max(e.unit_price) AS unit_price, max(e.reorder_level) AS reorder_level, max(e.vendor) AS vendor,"
            " bool_or(e.active) AS active, TRUE AS changed"
            f" FROM import_eval e WHERE e.sku IN (SELECT sku FROM import_eval e WHERE {changed}) GROUP BY e.sku"
        )
        products = "import_products"
    else:  # one line per SKU (duplicates were refused): read import_eval itself, no copy
        products = (
            "(SELECT e.sku, e.product_id, e.product_version, e.name, e.category, e.unit_price, e.reorder_level,"
            f" e.vendor, e.active, TRUE AS changed FROM import_eval e WHERE {changed})"
        )
    tx.execute(
        "INSERT INTO products (sku, name, category, unit_price, reorder_level, vendor_id, active, updated_by)"
        " SELECT ip.sku, ip.name, ip.category, ip.unit_price, coalesce(ip.reorder_level, 10), v.id,"
        f" coalesce(ip.active, TRUE), CAST($1 AS VARCHAR) FROM {products} ip LEFT JOIN {VENDOR_IDS} v"
        " ON v.lname = lower(ip.vendor) WHERE ip.product_id IS NULL",
        [email],
    )
    expected = tx.scalar(f"SELECT count(*) FROM {products} ip WHERE ip.changed AND ip.product_id IS NOT NULL")
    if expected:
        done = tx.scalar(
            "WITH u AS (UPDATE products SET name = coalesce(c.name, products.name),"
            " category = coalesce(c.category, products.category),"
            " unit_price = coalesce(c.unit_price, products.unit_price),"
            " reorder_level = coalesce(c.reorder_level, products.reorder_level),"
            " vendor_id = CASE WHEN c.vendor IS NULL THEN products.vendor_id ELSE c.vendor_id END,"
            " active = coalesce(c.active, products.active), version = products.version + 1,"
            " updated_at = now(), updated_by = $1"
            f" FROM (SELECT ip.*, v.id AS vendor_id FROM {products} ip"
            f" LEFT JOIN {VENDOR_IDS} v ON v.lname = lower(ip.vendor)"
            " WHERE ip.changed AND ip.product_id IS NOT NULL) c"
            " WHERE products.id = c.product_id AND products.version = c.product_version RETURNING 1)"
            " SELECT count(*) FROM u",
            [email],
        )
        if done != expected:
            raise WriteConflict()
    write_counts(tx, actor, report)


def write_counts(tx: Tx, actor: Actor, report: ImportReport) -> None:
    """Each changed count: an ``adjustment`` movement (delta = new - old) and its stock row (new: version 2)."""
    email = actor.email
    tx.execute(
        "CREATE TEMP TABLE import_moves AS SELECT e.store_id, p.id AS product_id, e.quantity,"
        " e.quantity - e.old_quantity AS delta, e.has_stock FROM import_eval e JOIN products p ON p.sku = e.sku"
        " WHERE e.quantity IS NOT NULL AND e.store_id IS NOT NULL AND e.quantity <> e.old_quantity"
    )
    reason = f"import #{report.import_id}: {report.file_name}"[:200]
    tx.execute(
        "INSERT INTO movements (store_id, product_id, kind, delta, quantity_after, reason, actor)"
        " SELECT store_id, product_id, 'adjustment', delta, quantity, CAST($1 AS VARCHAR), CAST($2 AS VARCHAR)"
        " FROM import_moves",
        [reason, email],
    )
    tx.execute(
        "INSERT INTO stock (store_id, product_id, quantity, version, updated_by)"
        " SELECT store_id, product_id, quantity, 2, CAST($1 AS VARCHAR) FROM import_moves WHERE NOT has_stock",
        [email],
    )
    expected = tx.scalar("SELECT count(*) FROM import_moves WHERE has_stock")
    if expected:
        done = tx.scalar(
            "WITH u AS (UPDATE stock SET quantity = m.quantity, version = stock.version + 1, updated_at = now(),"
            " updated_by = $1 FROM import_moves m WHERE m.has_stock AND stock.store_id = m.store_id"
            " AND stock.product_id = m.product_id AND stock.quantity = m.quantity - m.delta RETURNING 1)"
            " SELECT count(*) FROM u",
            [email],
        )
        if done != expected:
            raise WriteConflict()
