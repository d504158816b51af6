"""Staging an import inside its transaction: rows into a temporary table, then what the database makes wrong.

``Staging.evaluate`` loads the cleaned rows (``core.sheets.clean``) into ``import_eval`` as new rows, then
updates the rows that match a vendor, a product or a stock row (one flag per changed field, the count on hand:
a fresh catalog costs little more than its load), and adds the
problems only the database can tell: an unknown or deactivated store, a store outside a staff member's, a new SKU
without name/category/unit_price, a new all-digit SKU whose zero-padded twin is in the catalog (``123`` beside
``00123``: a spreadsheet program dropped the zeros; refused unless the caller confirms), a count for a deactivated
product, and any staff row that would change the catalog (``denied``), a vendor that does not exist included
(it would be created). It writes nothing but temporary tables, so a dry run is this and a rollback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from core.base.permissions import Actor, can, require
from core.db import Tx
from core.sheets.clean import LABELS, PRODUCT_FIELDS, CleanRows, Mapping, ProblemList, empty_problems
from core.sheets.report import ImportFileError, ImportReport, fill_report

Progress = Callable[[float, str], None]
VENDOR_IDS = "(SELECT lower(name) AS lname, min(id) AS id FROM vendors GROUP BY lower(name))"
STAGING = (  # the file's rows, then what the database says of each; a row starts as new, changing what it gives
    "CREATE TEMP TABLE import_eval (line INTEGER, sku VARCHAR, name VARCHAR, category VARCHAR,"
    " unit_price DECIMAL(12, 2), reorder_level INTEGER, vendor VARCHAR, active BOOLEAN, quantity INTEGER,"
    " store_id BIGINT, bad BOOLEAN, product_id BIGINT, is_new BOOLEAN DEFAULT TRUE, product_version INTEGER,"
    " product_active BOOLEAN, vendor_id BIGINT, c_name BOOLEAN, c_category BOOLEAN, c_unit_price BOOLEAN,"
    " c_reorder_level BOOLEAN, c_vendor BOOLEAN DEFAULT FALSE, c_active BOOLEAN, old_quantity INTEGER DEFAULT 0,"
    " has_stock BOOLEAN DEFAULT FALSE)"
)
CHANGED = {
    "name": "r.name IS NOT NULL AND r.name IS DISTINCT FROM p.name",
    "category": "r.category IS NOT NULL AND r.category IS DISTINCT FROM p.category",
    "unit_price": "r.unit_price IS NOT NULL AND r.unit_price IS DISTINCT FROM p.unit_price",
    "reorder_level": "r.reorder_level IS NOT NULL AND r.reorder_level IS DISTINCT FROM p.reorder_level",
    # a vendor not found (vendor_id NULL) is always a change: it is created, and the product linked to it
    "vendor": "r.vendor IS NOT NULL AND (r.vendor_id IS NULL OR r.vendor_id IS DISTINCT FROM p.vendor_id)",
    "active": "r.active IS NOT NULL AND r.active IS DISTINCT FROM p.active",
}
TEMP_TABLES = ("import_eval", "import_bad", "import_products", "import_moves")
# New all-digit SKUs whose twin (the same digits with other leading zeros) is in the catalog. One of the two has
# leading zeros: the twin is the new SKU without its zeros (found by the key), or a SKU starting with 0 (a range)
LOOKALIKES = (
    "WITH n AS (SELECT line, sku, ltrim(sku, '0') AS k FROM import_eval"
    " WHERE is_new AND ltrim(sku, '0123456789') = ''),"
    " t AS (SELECT n.line, p.sku FROM n JOIN products p ON p.sku = n.k WHERE p.sku <> n.sku"
    " UNION ALL SELECT n.line, z.sku FROM n JOIN (SELECT sku, ltrim(sku, '0') AS k FROM products"
    " WHERE sku >= '0' AND sku < '1') z ON z.k = n.k WHERE z.sku <> n.sku)"
    " SELECT line, min(sku) AS twin FROM t GROUP BY line"
)


class Staging:
    """One import's evaluation inside a transaction; it may run several times (the runner retries conflicts)."""

    def __init__(
        self,
        actor: Actor,
        action: str,
        report: ImportReport,
        cleaned: CleanRows,
        mapping: Mapping,
        store: str | None,
        step: Progress,
        allow_new_like_existing: bool = False,
    ) -> None:
        self.actor, self.action, self.report, self.cleaned = actor, action, report, cleaned
        self.mapping, self.store_option, self.step = mapping, store, step
        self.allow_new_like_existing = allow_new_like_existing
        self.default_store: dict[str, Any] | None = None

    # ---- evaluation (no writes) -------------------------------------------------------------------------------

    def evaluate(self, tx: Tx) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """Stage the rows and decide each one's fate. Returns (rows with flags, problems, denied lines)."""
        require(self.actor, self.action, entity="import", entity_id=self.report.file_name)
        rows = self.cleaned.rows.copy(deep=False)  # copy-on-write: the cleaned rows stay as they are for a retry
        store_problems, store_denied = self._resolve_stores(tx, rows)
        rows["bad"] = rows["bad"] | rows["line"].isin(store_problems["line"])
        for t in TEMP_TABLES:
            tx.execute(f"DROP TABLE IF EXISTS {t}")
        tx.execute(STAGING)
        # Loaded as new rows (a change wherever a value is given); the updates below touch only the rows that
        # match a vendor, a product or a stock row, so a fresh catalog costs no more than its load.
        staged = rows.drop(columns=["store", "store_code"])
        for name in CHANGED:
            if name != "vendor":  # a new product's vendor counts as a change only once the vendor is found
                staged[f"c_{name}"] = staged[name].notna().to_numpy()
        tx.load_frame("import_eval", staged)
        tx.execute(
            f"UPDATE import_eval AS r SET vendor_id = v.id, c_vendor = TRUE FROM {VENDOR_IDS} v"
            " WHERE v.lname = lower(r.vendor)"
        )
        changed = ", ".join(f"c_{name} = ({sql})" for name, sql in CHANGED.items())
        tx.execute(
            "UPDATE import_eval AS r SET product_id = p.id, is_new = FALSE, product_version = p.version,"
            f" product_active = p.active, {changed} FROM products p WHERE p.sku = r.sku"
        )
        tx.execute(
            "UPDATE import_eval AS r SET old_quantity = s.quantity, has_stock = TRUE FROM stock s"
            " WHERE s.store_id = r.store_id AND s.product_id = r.product_id"
        )
        per_field = "" if can(self.actor, "import.catalog") else "".join(f" c_{n}," for n in CHANGED)  # staff only
        select_flags = (
            "SELECT line, product_id IS NULL AS is_new, coalesce(product_active, TRUE) AS product_active,"
            f"{per_field} ({' OR '.join('c_' + n for n in CHANGED)}) AS product_change,"
            " coalesce(quantity IS NOT NULL AND store_id IS NOT NULL AND quantity <> old_quantity, FALSE)"
            " AS count_change FROM import_eval"
        )

        def aligned(frame: pd.DataFrame) -> bool:
            return len(frame) == len(rows) and bool((frame["line"].to_numpy() == rows["line"].to_numpy()).all())

        # DuckDB keeps the load's order (sorted only if it ever did not); PostgreSQL's updates move rows around
        flags = tx.frame(select_flags + (" ORDER BY line" if tx.kind == "postgres" else ""))
        if not aligned(flags):
            flags = tx.frame(select_flags + " ORDER BY line")
            if not aligned(flags):
                raise AssertionError("the staged rows do not match the file's rows")  # pragma: no cover
        for name in flags.columns.drop("line"):  # both are in line order: no join needed
            rows[name] = flags[name].to_numpy()
        rows["twin"] = self._lookalikes(tx, rows)
        db_problems, db_denied = self._database_checks(rows)
        parts = [p for p in (self.cleaned.problems, store_problems, db_problems) if len(p)]
        problems = pd.concat(parts, ignore_index=True) if parts else empty_problems()
        rows["bad"] = rows["bad"] | rows["line"].isin(problems["line"])
        fill_report(self.report, rows, problems)
        denied = [d for d in (store_denied, db_denied) if len(d)]
        return rows, problems, pd.concat(denied, ignore_index=True) if denied else store_denied

    def _resolve_stores(self, tx: Tx, rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Give every row with a quantity its store id; problems and denied lines for the rest."""
        stores = tx.frame("SELECT id, code, name, active FROM stores ORDER BY code")
        by_code = {str(c).upper(): i for c, i in zip(stores["code"], stores["id"], strict=True)}
        names = stores["name"].str.lower()
        once = names.value_counts()
        by_name = {n: i for n, i in zip(names, stores["id"], strict=True) if once.get(n) == 1}
        code_of = dict(zip(stores["id"], stores["code"], strict=True))
        active = dict(zip(stores["id"], stores["active"], strict=True))

        def find(text: str) -> int | None:
            key = str(text).strip()
            return by_code.get(key.upper(), by_name.get(key.lower()))

        default_id = None
        if self.store_option:
            default_id = find(self.store_option)
            if default_id is None:
                raise ImportFileError(f"There is no store with code {self.store_option!r}.")
            require(
                self.actor,
                self.action,
                default_id,
                store_label=code_of[default_id],
                entity="store",
                entity_id=code_of[default_id],
                attempted={"file": self.report.file_name},
            )
        elif not self.cleaned.has_store:
            usable = [int(i) for i, a in active.items() if a and can(self.actor, self.action, int(i))]
            default_id = usable[0] if len(usable) == 1 else None
        if default_id is not None:
            self.default_store = {"id": int(default_id), "code": code_of[default_id]}
            self.report.store = code_of[default_id]
        counted = rows["quantity"].notna() & rows["sku"].notna()
        if counted.any() and default_id is None and not self.cleaned.has_store:
            raise ImportFileError(
                "The file has quantities but no store column: choose the store they were counted in"
                " (the store selector, or --store CODE).",
                needs_store=True,
            )
        default_code = code_of.get(default_id)
        if self.cleaned.has_store:
            text = rows["store"].fillna(default_code) if default_code else rows["store"]
            codes, uniques = pd.factorize(text.where(counted))  # -1 (no store) picks the NA appended last
            found = [find(t) for t in uniques]
            ids = pd.array([*found, None], dtype="Int64")[codes]
            names_found = pd.array([code_of.get(i) if i is not None else None for i in found] + [None], dtype="str")
            rows["store_id"] = pd.Series(ids, index=rows.index)
            rows["store_code"] = pd.Series(names_found[codes], index=rows.index)
        else:
            text = pd.Series(default_code, index=rows.index, dtype="str").where(counted)
            rows["store_id"] = pd.Series(pd.NA, index=rows.index, dtype="Int64").mask(counted, default_id)
            rows["store_code"] = text
        header = self.mapping.header("store")
        out = ProblemList(rows["line"])
        out.add(counted & text.isna(), header, "The store is missing: fill in the store column or choose a store.")
        unknown = counted & text.notna() & rows["store_id"].isna()
        out.add(unknown, header, lambda: "There is no store with code " + text.fillna("") + ".")
        known = counted & rows["store_id"].notna()
        inactive_ids = [i for i, a in active.items() if not a]
        out.add(known & rows["store_id"].isin(inactive_ids), header, lambda: "Store " + rows["store_code"].fillna("") +
                " is deactivated.")  # fmt: skip
        allowed = [int(i) for i in stores["id"] if can(self.actor, self.action, int(i))]
        foreign = known & ~rows["store_id"].isin(allowed)
        if not foreign.any():
            return out.frame(), denied_frame(rows, foreign, "import.counts", "")
        message = "You are not assigned to store " + rows["store_code"].fillna("") + "."
        out.add(foreign, header, message)
        attempted = "quantity=" + rows["quantity"].astype("str")
        return out.frame(), denied_frame(rows, foreign, "import.counts", message, attempted)

    def _lookalikes(self, tx: Tx, rows: pd.DataFrame) -> pd.Series:
        """For each new all-digit SKU whose twin with other leading zeros is in the catalog (``123`` when ``00123``
        exists: a spreadsheet program read the SKU as a number), that twin; else NA. One query on the staging
        table, run only when the file has a new all-digit SKU."""
        twin = pd.Series(pd.NA, index=rows.index, dtype="str")
        new = rows["is_new"].fillna(False).astype(bool) & rows["sku"].notna()
        if not (new & rows["sku"].str.isdecimal().fillna(False).astype(bool)).any():  # the query checks [0-9] itself
            return twin
        found = tx.frame(LOOKALIKES)
        if len(found):
            twin = rows["line"].map(pd.Series(found["twin"].to_numpy(), index=found["line"].to_numpy())).astype("str")
        return twin

    def _database_checks(self, rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """New SKUs need name/category/price; deactivated products are not counted; staff change counts only."""
        out = ProblemList(rows["line"])
        good = ~rows["bad"]
        sku = rows["sku"].fillna("")
        new = good & rows["is_new"].fillna(False).astype(bool)
        owner_rules = can(self.actor, "import.catalog")
        twin = rows["twin"]
        if owner_rules:
            lookalike = rows["sku"].notna() & rows["is_new"].fillna(False).astype(bool) & twin.notna()
            self.report.lookalike_skus = int(lookalike.sum())
            if not self.allow_new_like_existing:
                out.add(
                    lookalike,
                    self.mapping.header("sku"),
                    lambda: (
                        sku + " is not in the catalog, but " + twin + " is: did a spreadsheet program drop its"
                        " leading zeros? Correct the SKU, or confirm that " + sku + " is a new product."
                    ),
                )
        if owner_rules and new.any():
            for name in ("name", "category", "unit_price"):
                if self.cleaned.has_store:  # a value on any line of the SKU will do
                    given = rows[name][new].notna().groupby(sku[new]).transform("any").reindex(rows.index)
                    missing = new & ~given.fillna(False).astype(bool)
                else:
                    missing = new & rows[name].isna()
                label = LABELS[name].lower()
                out.add(
                    missing,
                    self.mapping.header(name),
                    lambda label=label: sku + f" is a new product: its {label} is required.",
                )
        counting = good & rows["quantity"].notna() & rows["store_id"].notna()
        count_changes = counting & rows["count_change"]
        inactive = count_changes & ~rows["product_active"].fillna(True).astype(bool)
        if inactive.any():
            reactivating = sku[(rows["active"] == True).fillna(False).astype(bool)]  # noqa: E712
            inactive &= ~sku.isin(reactivating)
            out.add(
                inactive,
                self.mapping.header("quantity"),
                lambda: "Product " + sku + " is deactivated; set its active column to yes to count it.",
            )
        if owner_rules:
            return out.frame(), denied_frame(rows, pd.Series(False, index=rows.index), "", "")
        # Staff: every line with a SKU is looked at, also lines with other errors (a bad count must not hide a
        # price change from the tripwire).
        new = rows["sku"].notna() & rows["is_new"].fillna(False).astype(bool)
        changes = pd.DataFrame({n: rows[f"c_{n}"].fillna(False).astype(bool) for n in PRODUCT_FIELDS})
        editing = rows["sku"].notna() & ~new & changes.any(axis=1)
        hit = new | editing
        if not hit.any():
            return out.frame(), denied_frame(rows, hit & False, "", "")
        column = pd.Series(self.mapping.header("sku"), index=rows.index, dtype=object)
        what = pd.Series("", index=rows.index, dtype="str")
        attempted = pd.Series("", index=rows.index, dtype="str")
        for name in reversed(PRODUCT_FIELDS):
            column = column.mask(editing & changes[name], self.mapping.header(name))
            label = LABELS[name].lower()
            what = (label + (", " + what).where(what != "", "")).where(changes[name], what)
            value = (name + "=" + rows[name].astype("str")).where((changes[name] | new) & rows[name].notna(), "")
            attempted = (value + " " + attempted).str.strip()
        hint = (" (" + twin + " is: did a spreadsheet program drop its leading zeros?)").fillna("")
        msg_new = sku + " is not in the catalog" + hint + ": only the owner can add products."
        msg_edit = "Staff can import stock counts only, not catalog changes (this row changes the " + what + ")."
        message = msg_new.where(new, msg_edit)
        out.add(hit, column, message)
        return out.frame(), denied_frame(rows, hit, "import.catalog", message, attempted)


def denied_frame(
    rows: pd.DataFrame, mask: pd.Series, action: str, message: pd.Series | str, attempted: pd.Series | str = ""
) -> pd.DataFrame:
    """The lines in ``mask`` as refused attempts, for the ``denied`` audit rows."""
    pick = mask.fillna(False).astype(bool)

    def part(value: pd.Series | str) -> Any:
        return value[pick].astype(object).to_numpy() if isinstance(value, pd.Series) else value

    return pd.DataFrame(
        {
            "line": rows["line"][pick],
            "sku": rows["sku"][pick].astype(object),
            "store": rows["store_code"][pick].astype(object),
            "action": action,
            "message": part(message),
            "attempted": part(attempted),
        }
    )
