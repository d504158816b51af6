"""The inventory grid: one page of a store's products with their stock, and the grid's save.

Reading (``inventory_page``) is one bounded query per call: search, category and status filters and paging all
run in SQL with bound parameters, so no more than a page of rows ever leaves the database. Status per row is
``core.domain.status``'s: ``out``, ``low``, ``ok``, or ``none`` (never stocked in this store: shown with quantity 0 so
it can be counted, but counted neither as low nor as out, as in ``core.reads.kpis``).

Writing (``save_grid``) takes every edited row of a save in one operation (one ``core.domain.ops.run``, one
transaction) and guarantees:
- rows the user did not touch are never written; an edited row whose values equal what is stored writes nothing;
- every edited field is validated first and every problem is reported at once (nothing written);
- staff change quantities only: any other field is refused with ``PermissionDenied`` (audited ``denied``);
- if ANY edited part of a row (product fields: the product version; quantity: the stock version) changed since
  the user loaded it, nothing is applied and one ``ConflictError`` lists every stale row. ``core.domain.grid_conflicts``
  gives the conflict dialog what it needs (keep mine, take theirs, edit again);
- a quantity edit SETS the count: the difference is an ``adjustment`` movement (``core.domain.stock.apply_count``);
  product edits are versioned updates (``core.domain.catalog.apply_product_update``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.base.errors import Conflict, ConflictError, FieldError, ValidationError
from core.base.permissions import Actor, require
from core.base.validate import CATEGORY_MAX, NAME_MAX, clean_int, clean_price, clean_sku, clean_text
from core.db import Database, Tx
from core.db.sql import Params
from core.domain import audit, status
from core.domain.catalog import apply_product_update
from core.domain.ops import run
from core.domain.reading import public_read, read, visible_store
from core.domain.stock import apply_count, scoped_store

PRODUCT_FIELDS = ("name", "category", "unit_price", "reorder_level")
GRID_FIELDS = (*PRODUCT_FIELDS, "quantity")
STAFF_FIELDS = ("quantity",)
ONLY = ("all", "low", "out", "low_or_out")
PAGE_SIZE = 200
PAGE_SIZE_MAX = 500
SEARCH_MAX = 100

_ONLY_SQL = {"all": "TRUE", "low": status.low_sql(), "out": status.out_sql(), "low_or_out": status.needs_reorder_sql()}
_JOINED = "products p LEFT JOIN stock s ON s.product_id = p.id AND s.store_id = $1"


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` as a case-insensitive substring (``%``, ``_`` and ``\\`` escaped)."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# ---- reading -------------------------------------------------------------------------------------------------


def _filters(text: str, chosen: list[str], only: str, params: Params) -> str:
    """The grid's filters as one condition on ``products p`` / ``stock s``, values bound in ``params``."""
    params.where("p.active")
    params.where(_ONLY_SQL[only])
    if text:
        params.where("(lower(p.name) LIKE {0} ESCAPE '\\' OR lower(p.sku) LIKE {0} ESCAPE '\\')", like_pattern(text))
    if chosen:
        params.where(f"p.category IN ({', '.join('{}' for _ in chosen)})", *chosen)
    return params.conditions()


def _page_rows(tx: Tx, params: Params, where: str, size: int, offset: int) -> list[dict[str, Any]]:
    return tx.dicts(
        "SELECT p.sku, p.name, p.category, p.unit_price, p.reorder_level, v.name AS vendor,"
        " coalesce(s.quantity, 0) AS quantity, p.version AS product_version,"
        f" coalesce(s.version, 1) AS stock_version, {status.status_sql()} AS status"
        f" FROM {_JOINED} LEFT JOIN vendors v ON v.id = p.vendor_id"
        f" WHERE {where} ORDER BY lower(p.name), p.sku LIMIT {params.add(size)} OFFSET {params.add(offset)}",
        params.values,
    )


@public_read
def inventory_page(
    db: Database,
    actor: Actor,
    store: str,
    *,
    search: str = "",
    categories: tuple[str, ...] | list[str] = (),
    only: str = "all",
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> dict[str, Any]:
    """One page of the active products of ``store`` with their stock, ordered by name then SKU.

    Returns ``{store, rows, total, shown, page, pages, page_size, offset, categories, low, out, products}``:
    ``total`` counts the rows matching the filters ("Showing shown of total"), ``low``/``out`` and ``products``
    count the whole store (the banner), ``categories`` is every active category (the chips). A page past the
    end is clamped to the last page. Raises ``NotFound`` (store), ``PermissionDenied`` (staff, other store),
    ``ValidationError`` (bad filter or paging values).
    """
    if only not in ONLY:
        raise ValidationError.single("only", f"Choose one of {', '.join(ONLY)} (got {only!r}).")
    size = clean_int(page_size, "page_size", minimum=1, maximum=PAGE_SIZE_MAX)
    wanted = clean_int(page, "page", minimum=1)
    text = clean_text("search", search, SEARCH_MAX, required=False)
    chosen = sorted({str(c) for c in categories or () if str(c).strip()})

    def body(tx: Tx) -> dict[str, Any]:
        st = visible_store(tx, actor, "stock.read", store)
        params = Params(st["id"])  # $1: the store, in _JOINED
        where = _filters(text, chosen, only, params)
        counts = tx.dicts(
            f"SELECT count(*) FILTER (WHERE {where}) AS total, count(*) FILTER (WHERE {status.low_sql()}) AS low,"
            f" count(*) FILTER (WHERE {status.out_sql()}) AS out, count(*) AS products FROM {_JOINED} WHERE p.active",
            params.values,
        )[0]
        total = int(counts["total"])
        pages = max(1, -(-total // size))
        current = min(wanted, pages)
        offset = (current - 1) * size
        rows = _page_rows(tx, params, where, size, offset)
        return {
            "store": st["code"],
            "rows": rows,
            "total": total,
            "shown": len(rows),
            "page": current,
            "pages": pages,
            "page_size": size,
            "offset": offset,
            "categories": [r[0] for r in tx.all("SELECT DISTINCT category FROM products WHERE active ORDER BY 1")],
            **{k: int(counts[k]) for k in ("low", "out", "products")},
        }

    return read(db, actor, "stock.read", body, entity="stock", entity_id=store, name="grid.page")


# ---- saving --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowEdit:
    """One edited grid row: the versions the user loaded and only the fields the user changed."""

    sku: str
    product_version: int | None
    stock_version: int | None
    changes: dict[str, Any] = field(default_factory=dict)

    @property
    def product_changes(self) -> dict[str, Any]:
        return {k: v for k, v in self.changes.items() if k != "quantity"}

    @property
    def touches_stock(self) -> bool:
        return "quantity" in self.changes


def _refuse_locked_fields(actor: Actor, edits: list[RowEdit]) -> None:
    """The tripwire: staff may send quantities only. Raises ``PermissionDenied`` naming what was attempted."""
    if actor.is_owner:
        return
    locked = {e.sku: {k: v for k, v in e.changes.items() if k not in STAFF_FIELDS} for e in edits}
    locked = {sku: fields for sku, fields in locked.items() if fields}
    if locked:
        first = next(iter(locked))
        require(actor, "product.update", entity="product", entity_id=first, attempted=locked)


def _clean_field(name: str, value: Any) -> Any:
    if name == "name":
        return clean_text("name", value, NAME_MAX)
    if name == "category":
        return clean_text("category", value, CATEGORY_MAX)
    if name == "unit_price":
        return clean_price(value)
    return clean_int(value, name)  # reorder_level, quantity: whole numbers >= 0


def clean_edits(edits: list[RowEdit]) -> list[RowEdit]:
    """Validate every edited field of every row; return the cleaned edits. Raises one ``ValidationError``
    listing every problem (``field`` is the column, ``line`` the row's position in ``edits`` from 1)."""
    errors: list[FieldError] = []
    cleaned: list[RowEdit] = []
    seen: set[str] = set()
    for n, edit in enumerate(edits, start=1):
        try:
            sku = clean_sku(edit.sku)
        except ValidationError as exc:
            errors.extend(FieldError("sku", f"Row {n}: {e.message}", n) for e in exc.errors)
            continue
        if sku in seen:
            errors.append(FieldError("sku", f"{sku}: the row appears more than once in one save.", n))
        seen.add(sku)
        changes: dict[str, Any] = {}
        for name, value in edit.changes.items():
            if name not in GRID_FIELDS:
                errors.append(FieldError(name, f"{sku}: the column {name!r} cannot be changed in the grid.", n))
                continue
            try:
                changes[name] = _clean_field(name, value)
            except ValidationError as exc:
                errors.extend(FieldError(name, f"{sku}: {e.message}", n) for e in exc.errors)
        for part, version in (("product_version", edit.product_version), ("stock_version", edit.stock_version)):
            needed = edit.touches_stock if part == "stock_version" else bool(edit.product_changes)
            if needed and (version is None or isinstance(version, bool) or not isinstance(version, int)):
                errors.append(FieldError(part, f"{sku}: the loaded version is missing; reload the grid.", n))
        cleaned.append(RowEdit(sku, edit.product_version, edit.stock_version, changes))
    if errors:
        raise ValidationError(errors=errors)
    return cleaned


def _current_rows(tx: Tx, store_id: int, skus: list[str]) -> dict[str, dict[str, Any]]:
    params = Params()
    store_ph = params.add(store_id)
    rows = tx.dicts(
        "SELECT p.id, p.sku, p.name, p.category, p.unit_price, p.reorder_level, p.active, p.version,"
        " p.updated_by, p.updated_at, coalesce(s.quantity, 0) AS quantity, coalesce(s.version, 1) AS stock_version,"
        " s.updated_by AS stock_updated_by, s.updated_at AS stock_updated_at"
        f" FROM products p LEFT JOIN stock s ON s.product_id = p.id AND s.store_id = {store_ph}"
        f" WHERE p.sku IN ({params.many(skus)})",
        params.values,
    )
    return {r["sku"]: r for r in rows}


def _stale(edit: RowEdit, row: dict[str, Any], store_code: str) -> list[Conflict]:
    found = []
    if edit.product_changes and row["version"] != edit.product_version:
        current = {k: row[k] for k in ("sku", *PRODUCT_FIELDS, "version", "updated_by", "updated_at")}
        found.append(Conflict("product", row["sku"], edit.product_version, current))
    if edit.touches_stock and row["stock_version"] != edit.stock_version:
        current = {
            "sku": row["sku"],
            "store": store_code,
            "quantity": row["quantity"],
            "version": row["stock_version"],
            "updated_by": row["stock_updated_by"],
            "updated_at": row["stock_updated_at"],
        }
        found.append(Conflict("stock", f"{row['sku']}@{store_code}", edit.stock_version, current))
    return found


def _conflict_message(conflicts: list[Conflict]) -> str:
    skus = sorted({c.current["sku"] for c in conflicts})
    who = sorted({c.current.get("updated_by") or "someone" for c in conflicts})
    rows = "1 row" if len(skus) == 1 else f"{len(skus)} rows"
    return (
        f"{rows} changed since you loaded the grid ({', '.join(skus[:5])}{', ...' if len(skus) > 5 else ''};"
        f" changed by {', '.join(who)}); nothing was saved. Keep yours, take theirs, or edit again."
    )


def save_grid(
    db: Database, actor: Actor, store: str, edits: list[RowEdit], *, client_op_id: str | None = None
) -> dict[str, Any]:
    """Apply every edited row of one grid save in one transaction, all or nothing.

    Returns ``{store, products_updated, counts_updated, unchanged, movements}`` (SKU lists and a count; JSON
    ready, so a repeated ``client_op_id`` returns the first result and writes nothing). Raises
    ``PermissionDenied`` (other store; staff sending any field but quantity: audited ``denied``),
    ``ValidationError`` listing every bad field, unknown or deactivated SKU, ``ConflictError`` listing every
    stale row (audited ``conflict``), ``NotFound`` (store).
    """
    edits = list(edits)

    def body(tx: Tx) -> dict[str, Any]:
        st = scoped_store(tx, actor, "stock.count", store, {e.sku: e.changes for e in edits})
        _refuse_locked_fields(actor, edits)
        cleaned, current = _checked(tx, st, edits)
        result: dict[str, Any] = {"store": st["code"], "products_updated": [], "counts_updated": [], "unchanged": []}
        for edit in cleaned:
            for key in _apply_row(tx, actor, st, edit, current[edit.sku], client_op_id):
                result[key].append(edit.sku)
        result["movements"] = len(result["counts_updated"])  # one adjustment per count that changed
        return result

    options = {"entity_id": store, "permission": "stock.count", "client_op_id": client_op_id}
    return run(db, actor, "grid.save", body, entity="stock", **options)


def _checked(tx: Tx, st: dict[str, Any], edits: list[RowEdit]) -> tuple[list[RowEdit], dict[str, dict[str, Any]]]:
    """The edited rows that change something, cleaned, with their current rows. Raises ``ValidationError`` (every
    bad field, unknown or deactivated SKU), ``ConflictError`` (every stale row)."""
    checked = clean_edits(edits)
    line_of = {e.sku: n for n, e in enumerate(checked, start=1)}
    cleaned = [e for e in checked if e.changes]
    if not cleaned:
        return [], {}
    current = _current_rows(tx, st["id"], [e.sku for e in cleaned])
    errors = [
        FieldError("sku", f"There is no product with SKU {e.sku}.", line_of[e.sku])
        if e.sku not in current
        else FieldError("sku", f"Product {e.sku} is deactivated.", line_of[e.sku])
        for e in cleaned
        if e.sku not in current or not current[e.sku]["active"]
    ]
    if errors:
        raise ValidationError(errors=errors)
    conflicts = [c for e in cleaned for c in _stale(e, current[e.sku], st["code"])]
    if conflicts:
        raise ConflictError(_conflict_message(conflicts), conflicts)
    return cleaned, current


def _apply_row(
    tx: Tx, actor: Actor, st: dict[str, Any], edit: RowEdit, row: dict[str, Any], op_id: str | None
) -> list[str]:
    """Apply one checked row: its product fields, then its count (with its own ``stock.count`` audit row). Returns
    the lists of the result the row belongs in."""
    done = []
    if edit.product_changes and apply_product_update(tx, actor, edit.sku, edit.product_version, edit.product_changes):
        done.append("products_updated")
    if edit.touches_stock:
        product, quantity = {"id": row["id"], "sku": row["sku"]}, edit.changes["quantity"]
        moved = apply_count(tx, actor, st, product, quantity, edit.stock_version, reason="count", client_op_id=op_id)
        if moved:
            done.append("counts_updated")
            counted = {"before": {"quantity": row["quantity"]}, "after": {"quantity": moved["quantity_after"]}}
            key = f"{edit.sku}@{st['code']}"
            audit.write(tx, actor=actor.email, action="stock.count", entity="stock", entity_id=key, **counted)
    return done or ["unchanged"]


def edits_from_positions(rows: list[dict[str, Any]], edited_rows: dict[Any, dict[str, Any]]) -> list[RowEdit]:
    """The grid widget's diff (``{position: {column: value}}`` over ``rows``, the page as loaded) as RowEdits
    carrying the versions loaded with each row. Every column sent is kept, locked ones included, so that
    ``save_grid`` can refuse them. Raises ``ValidationError`` for a position outside the page."""
    edits, errors = [], []
    for position, changes in edited_rows.items():
        try:
            index = int(position)
        except (TypeError, ValueError):
            index = -1
        if not 0 <= index < len(rows):
            errors.append(FieldError("row", f"Row {position} is not on this page; reload the grid."))
            continue
        row = rows[index]
        edits.append(RowEdit(row["sku"], row["product_version"], row["stock_version"], dict(changes or {})))
    if errors:
        raise ValidationError(errors=errors)
    return [e for e in edits if e.changes]


@public_read
def product_options(db: Database) -> list[dict[str, Any]]:
    """Every active product's SKU and name, by name: the choices of the stock and order forms."""
    return read(
        db,
        None,
        None,
        lambda tx: tx.dicts("SELECT sku, name FROM products WHERE active ORDER BY lower(name), sku"),
        entity="product",
        name="product.options",
    )
