"""Writing a staged import: set-based statements over the temporary tables of ``core.sheets.stage``.

Invariants: only rows without a problem are written; staff rows never write vendors or products (a row that
would is refused); a product changes (version + 1) only if a given value differs; a count changes only if it differs, through an ``adjustment`` movement with ``quantity_after`` = the
count and its stock row (created at version 1 and bumped once, so version 2; else version + 1), so
``stock.quantity`` stays the sum of the movements. A row changed by someone else since it was staged is a
``WriteConflict`` and the runner retries the whole import.
"""

from __future__ import annotations

import pandas as pd

from core.base.errors import PermissionDenied, WriteConflict
from core.base.permissions import Actor, can
from core.db import Tx
from core.domain import audit
from core.sheets.clean import PRODUCT_FIELDS
from core.sheets.report import ImportReport
from core.sheets.stage import ANY_CHANGE, VENDOR_IDS

DENIED_EXAMPLES = 10  # refused lines quoted in an import's one ``denied`` audit row
DETAIL_MAX = 500


def audit_denied(
    tx: Tx, actor: Actor, file_name: str, denied: pd.DataFrame, *, dry_run: bool = False, import_id: int | None = None
) -> None:
    """ONE ``denied`` audit row for the refused lines of an import, whatever their number: how many lines, and the
    first few (line, SKU, store, what was attempted, why refused). ``dry_run``: refused while previewing."""
    lines = int(denied["line"].nunique())
    first = denied.sort_values("line", kind="stable").head(DENIED_EXAMPLES)
    examples = [
        {
            "line": int(line),
            "sku": None if pd.isna(sku) else str(sku),
            "store": None if pd.isna(store) else str(store),
            "attempted": None if pd.isna(attempted) or attempted == "" else str(attempted),
            "refused": str(message),
        }
        for line, sku, store, attempted, message in zip(
            first["line"], first["sku"], first["store"], first["attempted"], first["message"], strict=True
        )
    ]
    catalog = bool((denied["action"] == "import.catalog").any())
    after: dict[str, object] = {"file": file_name, "lines": lines, "examples": examples}
    if dry_run:
        after["dry_run"] = True
    if import_id is not None:
        after["import_id"] = import_id
    what = "a preview of " if dry_run else ""
    noun = "line" if lines == 1 else "lines"
    detail = f"{lines:,} {noun} of {what}{file_name} refused; line {examples[0]['line']}: {examples[0]['refused']}"
    if len(detail) > DETAIL_MAX:
        detail = detail[: DETAIL_MAX - 1] + "…"
    action = "import.catalog" if catalog else "import.counts"
    where = {"entity": "import", "entity_id": file_name[:255]}
    audit.write(tx, actor=actor.email, action=action, **where, after=after, outcome="denied", detail=detail)


def write_rows(tx: Tx, actor: Actor, report: ImportReport, has_store: bool, problems: bool) -> None:
    """Apply the staged rows that have no problem (``problems``: whether ``import_problems`` has rows): vendors, new
    and changed products, then the counts.

    Raises ``WriteConflict`` (the runner retries) when a row changed after it was staged."""
    bad = "bad OR line IN (SELECT line FROM import_problems)" if problems else "bad"
    tx.execute(f"DELETE FROM import_eval WHERE {bad}")
    if not can(actor, "import.catalog"):
        # staff write counts only: the checks refused every row that would touch the catalog; should one slip
        # through (a bug), refuse the whole import rather than create a vendor or a product
        catalog = f"is_new OR {ANY_CHANGE} OR (vendor IS NOT NULL AND vendor_id IS NULL)"
        if tx.scalar(f"SELECT count(*) FROM import_eval WHERE {catalog}"):
            raise PermissionDenied(
                "Staff can import stock counts only, not catalog changes.", action="import.catalog", entity="import"
            )
        write_counts(tx, actor, report, has_store)
        return
    tx.execute(
        "INSERT INTO vendors (name) SELECT min(vendor) FROM import_eval"
        " WHERE vendor IS NOT NULL AND vendor_id IS NULL GROUP BY lower(vendor)"
    )
    products = _stage_products(tx, has_store)
    tx.execute(
        f"INSERT INTO products ({'' if has_store else 'id, '}sku, name, category, unit_price, reorder_level, vendor_id,"
        f" active, updated_by) SELECT {'' if has_store else 'ip.product_id, '}ip.sku, ip.name, ip.category,"
        " ip.unit_price, coalesce(ip.reorder_level, 10), v.id, coalesce(ip.active, TRUE), CAST($1 AS VARCHAR)"
        f" FROM {products} ip LEFT JOIN {VENDOR_IDS} v ON v.lname = lower(ip.vendor) WHERE ip.is_new",
        [actor.email],
    )
    _update_products(tx, actor, products, "NOT ip.is_new" if has_store else f"NOT ip.is_new AND ({CHANGED_IP})")
    write_counts(tx, actor, report, has_store)


CHANGED_IP = "ip.is_new OR " + " OR ".join(f"ip.c_{name}" for name in PRODUCT_FIELDS)


def _stage_products(tx: Tx, has_store: bool) -> str:
    """The table of the products to write: ``import_eval`` itself (one line per SKU; a new product's id is drawn
    here, so the counts need no lookup of the products just written), or with a store column (a SKU may have a
    line per store, their product values agree) ``import_products``, a row per SKU that changes."""
    if not has_store:
        tx.execute("UPDATE import_eval SET product_id = nextval('product_ids') WHERE is_new")
        return "import_eval"
    changed = "e.is_new OR " + " OR ".join(f"e.c_{name}" for name in PRODUCT_FIELDS)
    tx.execute(
        "CREATE TEMP TABLE import_products AS SELECT e.sku, max(e.product_id) AS product_id,"
        " max(e.product_version) AS product_version, max(e.name) AS name, max(e.category) AS category,"
        " max(e.unit_price) AS unit_price, max(e.reorder_level) AS reorder_level, max(e.vendor) AS vendor,"
        " bool_or(e.active) AS active, bool_and(e.is_new) AS is_new, TRUE AS changed"
        f" FROM import_eval e WHERE e.sku IN (SELECT sku FROM import_eval e WHERE {changed}) GROUP BY e.sku"
    )
    return "import_products"


def _update_products(tx: Tx, actor: Actor, products: str, existing: str) -> None:
    """The changed existing products (version + 1), each only if it is still the version staged."""
    expected = tx.scalar(f"SELECT count(*) FROM {products} ip WHERE {existing}")
    if not expected:
        return
    done = tx.scalar(
        "WITH u AS (UPDATE products SET name = coalesce(c.name, products.name),"
        " category = coalesce(c.category, products.category),"
        " unit_price = coalesce(c.unit_price, products.unit_price),"
        " reorder_level = coalesce(c.reorder_level, products.reorder_level),"
        " vendor_id = CASE WHEN c.vendor IS NULL THEN products.vendor_id ELSE c.new_vendor_id END,"
        " active = coalesce(c.active, products.active), version = products.version + 1,"
        " updated_at = now(), updated_by = $1"
        f" FROM (SELECT ip.sku, ip.product_id, ip.product_version, ip.name, ip.category, ip.unit_price,"
        " ip.reorder_level, ip.vendor, ip.active, v.id AS new_vendor_id"
        f" FROM {products} ip LEFT JOIN {VENDOR_IDS} v ON v.lname = lower(ip.vendor) WHERE {existing}) c"
        " WHERE products.id = c.product_id AND products.version = c.product_version RETURNING 1)"
        " SELECT count(*) FROM u",
        [actor.email],
    )
    if done != expected:
        raise WriteConflict()


def write_counts(tx: Tx, actor: Actor, report: ImportReport, has_store: bool = True) -> None:
    """Each changed count: an ``adjustment`` movement (delta = new - old) and its stock row (new: version 2).

    Without a store column every staged row already carries its product id (``write_rows`` drew the new ones)."""
    email = actor.email
    changed_count = "e.quantity IS NOT NULL AND e.store_id IS NOT NULL AND e.quantity <> e.old_quantity"
    if has_store:
        tx.execute(
            "CREATE TEMP TABLE import_moves AS SELECT e.store_id, p.id AS product_id, e.quantity,"
            " e.quantity - e.old_quantity AS delta, e.has_stock FROM import_eval e JOIN products p ON p.sku = e.sku"
            f" WHERE {changed_count}"
        )
        moves = "import_moves"
    else:
        moves = (
            "(SELECT e.store_id, e.product_id, e.quantity, e.quantity - e.old_quantity AS delta, e.has_stock"
            f" FROM import_eval e WHERE {changed_count})"
        )
    reason = f"import #{report.import_id}: {report.file_name}"[:200]
    tx.execute(
        "INSERT INTO movements (store_id, product_id, kind, delta, quantity_after, reason, actor)"
        " SELECT store_id, product_id, 'adjustment', delta, quantity, CAST($1 AS VARCHAR), CAST($2 AS VARCHAR)"
        f" FROM {moves} m",
        [reason, email],
    )
    tx.execute(
        "INSERT INTO stock (store_id, product_id, quantity, version, updated_by)"
        f" SELECT store_id, product_id, quantity, 2, CAST($1 AS VARCHAR) FROM {moves} m WHERE NOT has_stock",
        [email],
    )
    expected = tx.scalar(f"SELECT count(*) FROM {moves} m WHERE has_stock")
    if expected:
        done = tx.scalar(
            "WITH u AS (UPDATE stock SET quantity = m.quantity, version = stock.version + 1, updated_at = now(),"
            f" updated_by = $1 FROM {moves} m WHERE m.has_stock AND stock.store_id = m.store_id"
            " AND stock.product_id = m.product_id AND stock.quantity = m.quantity - m.delta RETURNING 1)"
            " SELECT count(*) FROM u",
            [email],
        )
        if done != expected:
            raise WriteConflict()
