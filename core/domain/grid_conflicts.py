"""What the grid's conflict dialog needs, from the ``ConflictError`` a stale ``core.domain.grid.save_grid`` raised.

- ``describe_conflicts``: per stale field, your value, the current value, who changed it and when;
- ``keep_mine``: the same edits moved onto the current versions (saving them re-applies your values);
- ``take_theirs``: the edits without their stale parts;
- ``rebase_rows``: the loaded rows with each stale row's current values and versions ("edit again").
Pure functions: nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core.base.errors import ConflictError
from core.base.validate import LABELS
from core.domain.grid import PRODUCT_FIELDS, RowEdit


def describe_conflicts(error: ConflictError, edits: list[RowEdit]) -> list[dict[str, Any]]:
    """One line per stale field: ``{sku, part, field, label, yours, current, changed_by, changed_at}``."""
    by_sku = {e.sku.strip(): e for e in edits}
    lines = []
    for conflict in error.conflicts:
        sku = conflict.current.get("sku")
        edit = by_sku.get(sku)
        if edit is None:
            continue
        fields = ["quantity"] if conflict.entity == "stock" else list(edit.product_changes)
        for name in fields:
            lines.append(
                {
                    "sku": sku,
                    "part": conflict.entity,
                    "field": name,
                    "label": LABELS.get(name, name),
                    "yours": edit.changes.get(name),
                    "current": conflict.current.get(name),
                    "changed_by": conflict.current.get("updated_by"),
                    "changed_at": conflict.current.get("updated_at"),
                }
            )
    return lines


def _current_versions(error: ConflictError) -> dict[tuple[str, str], int]:
    return {(c.entity, c.current["sku"]): int(c.current["version"]) for c in error.conflicts}


def keep_mine(edits: list[RowEdit], error: ConflictError) -> list[RowEdit]:
    """The same edits, with each stale part moved onto the version it has now: saving them re-applies mine."""
    versions = _current_versions(error)
    return [
        replace(
            e,
            product_version=versions.get(("product", e.sku.strip()), e.product_version),
            stock_version=versions.get(("stock", e.sku.strip()), e.stock_version),
        )
        for e in edits
    ]


def take_theirs(edits: list[RowEdit], error: ConflictError) -> list[RowEdit]:
    """The edits without their stale parts (a row keeps a part that did not conflict); empty rows dropped."""
    versions = _current_versions(error)
    kept = []
    for e in edits:
        sku = e.sku.strip()
        changes = dict(e.changes)
        if ("product", sku) in versions:
            changes = {k: v for k, v in changes.items() if k == "quantity"}
        if ("stock", sku) in versions:
            changes.pop("quantity", None)
        if changes:
            kept.append(replace(e, changes=changes))
    return kept


def rebase_rows(rows: list[dict[str, Any]], error: ConflictError) -> list[dict[str, Any]]:
    """The loaded grid rows with each stale row's current values and versions (positions unchanged): the grid
    for "edit again", where the user's edits stay on top of what is stored now."""
    fresh = {(c.entity, c.current.get("sku")): c.current for c in error.conflicts}
    out = []
    for row in rows:
        row = dict(row)
        product = fresh.get(("product", row["sku"]))
        if product is not None:
            row.update({k: product[k] for k in PRODUCT_FIELDS if k in product})
            row["product_version"] = int(product["version"])
        stock = fresh.get(("stock", row["sku"]))
        if stock is not None:
            row["quantity"], row["stock_version"] = int(stock["quantity"]), int(stock["version"])
        out.append(row)
    return out
