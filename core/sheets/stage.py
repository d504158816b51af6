"""Staging an import inside its transaction: the cleaned rows go into the database once, and everything the
database says of them is computed there, in SQL. It writes nothing but temporary tables, so a dry run is this
and a rollback.

``Staging.evaluate``:
1. finds the default store: ``--store`` (matched as a row's store is; it must be the actor's), else, for a file
   without a store column, the actor's only usable store;
2. loads the rows into ``import_rows`` (one COPY on PostgreSQL), each counted row with the store it names (or
   the default);
3. fills ``import_eval`` with one INSERT ... SELECT joining the stores, vendors, products and stock: each row's
   store (by code, else by a name only one store has), its product (id, version, active) or none (new), a flag
   per product field it changes, and the count on hand;
4. when the file has an all-digit SKU, ``import_twins``: new all-digit SKUs whose twin with other leading zeros
   is in the catalog (``123`` beside ``00123``: a spreadsheet program dropped the zeros);
5. fills ``import_problems`` in one pass: the rows the database makes wrong, one flag per kind (``KINDS``): a
   missing, unknown, deactivated or foreign store, a lookalike SKU (refused unless the caller confirms), a new
   SKU without name/category/unit_price, a count for a deactivated product, and any staff row that would change
   the catalog (``denied``), a vendor that does not exist included (it would be created);
6. reads back only what the report needs: the problem rows, the count of each fate and the lines whose fate is
   not the most common one, the store each store text names. The report is worded in ``core.sheets.report``;
   ``core.sheets.write`` writes from ``import_eval``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from core.base.permissions import Actor, can, require
from core.db import Tx
from core.db.sql import Params
from core.sheets import cells
from core.sheets.clean import PRODUCT_FIELDS, CleanRows
from core.sheets.report import KINDS, Evaluation, ImportFileError

Progress = Callable[[float, str], None]
VENDOR_IDS = "(SELECT lower(name) AS lname, min(id) AS id FROM vendors GROUP BY lower(name))"
TEMP_TABLES = (
    "import_rows", "import_stores", "import_eval", "import_twins", "import_problems", "import_products",
    "import_moves",
)  # fmt: skip
ROW_COLUMNS = (
    "line INTEGER, sku VARCHAR, name VARCHAR, category VARCHAR, unit_price DECIMAL(12, 2), reorder_level INTEGER,"
    " vendor VARCHAR, active BOOLEAN, quantity INTEGER"
)
CHANGES = ", ".join(f"c_{name} BOOLEAN" for name in PRODUCT_FIELDS)
# A store text names the store with that code, else the one store with that name
STORE_MATCH = (
    "SELECT t.text, s.id, s.code, s.active FROM ({texts}) t LEFT JOIN stores c ON upper(c.code) = upper(t.text)"
    " LEFT JOIN (SELECT lower(name) AS lname, min(id) AS id FROM stores GROUP BY lower(name) HAVING count(*) = 1) n"
    " ON n.lname = lower(t.text) LEFT JOIN stores s ON s.id = coalesce(c.id, n.id)"
)
CHANGED = {  # a row changes a field of its existing product ``p`` (a new product: wherever a value is given)
    name: f"r.{name} IS NOT NULL AND r.{name} IS DISTINCT FROM p.{name}"
    for name in ("name", "category", "unit_price", "reorder_level", "active")
}
# a vendor not found is always a change: it is created, and the product linked to it; for a new product a
# vendor counts as a change once it is found
CHANGED["vendor"] = "r.vendor IS NOT NULL AND (v.id IS NULL OR v.id IS DISTINCT FROM p.vendor_id)"
NEW_CHANGE = {name: f"r.{name} IS NOT NULL" for name in CHANGED} | {"vendor": "v.id IS NOT NULL"}
EVALUATE = (
    "INSERT INTO import_eval SELECT r.line, r.sku, r.name, r.category, r.unit_price, r.reorder_level, r.vendor,"
    " r.active, r.quantity, r.bad, r.store, st.id, st.code, st.active, p.id, p.id IS NULL, p.version, p.active,"
    " v.id, "
    + ", ".join(f"CASE WHEN p.id IS NULL THEN {NEW_CHANGE[n]} ELSE {CHANGED[n]} END" for n in PRODUCT_FIELDS)
    + ", coalesce(s.quantity, 0), s.product_id IS NOT NULL FROM import_rows r"
    " LEFT JOIN import_stores st ON st.text = r.store"
    f" LEFT JOIN {VENDOR_IDS} v ON v.lname = lower(r.vendor) LEFT JOIN products p ON p.sku = r.sku"
    " LEFT JOIN stock s ON s.store_id = st.id AND s.product_id = p.id"
)
ANY_CHANGE = " OR ".join(f"c_{name}" for name in PRODUCT_FIELDS)
COUNT_CHANGE = "quantity IS NOT NULL AND store_id IS NOT NULL AND quantity <> old_quantity"
FATES = (  # each row's fate, problems aside: ``core.sheets.report.FATES``' create, update, unchanged
    f"SELECT line, CASE WHEN is_new THEN 0 WHEN {ANY_CHANGE} OR coalesce({COUNT_CHANGE}, FALSE) THEN 1 ELSE 2 END"
    " AS fate FROM import_eval"
)
# New all-digit SKUs whose twin (the same digits with other leading zeros) is in the catalog. One of the two has
# leading zeros: the twin is the new SKU without its zeros (found by the key), or a SKU starting with 0 (a range)
LOOKALIKES = (
    "INSERT INTO import_twins WITH n AS (SELECT line, sku, ltrim(sku, '0') AS k FROM import_eval"
    " WHERE is_new AND ltrim(sku, '0123456789') = ''),"
    " t AS (SELECT n.line, p.sku FROM n JOIN products p ON p.sku = n.k WHERE p.sku <> n.sku"
    " UNION ALL SELECT n.line, z.sku FROM n JOIN (SELECT sku, ltrim(sku, '0') AS k FROM products"
    " WHERE sku >= '0' AND sku < '1') z ON z.k = n.k WHERE z.sku <> n.sku)"
    " SELECT line, min(sku) AS twin FROM t GROUP BY line"
)
TABLES = {  # each staging table's columns
    "import_rows": f"{ROW_COLUMNS}, store VARCHAR, bad BOOLEAN",  # the cleaned rows; store: the one each counts in
    "import_stores": "text VARCHAR, id BIGINT, code VARCHAR, active BOOLEAN",  # each store text, and its store
    "import_eval": f"{ROW_COLUMNS}, bad BOOLEAN, store_text VARCHAR, store_id BIGINT, store_code VARCHAR,"
    " store_active BOOLEAN, product_id BIGINT, is_new BOOLEAN, product_version INTEGER, product_active BOOLEAN,"
    f" vendor_id BIGINT, {CHANGES}, old_quantity INTEGER, has_stock BOOLEAN",
    "import_twins": "line INTEGER, twin VARCHAR",
    "import_problems": "line INTEGER, sku VARCHAR, store_text VARCHAR, store_code VARCHAR, twin VARCHAR,"
    f" quantity INTEGER, is_new BOOLEAN, {CHANGES}, " + ", ".join(f"{kind} BOOLEAN" for kind in KINDS),
}


class Staging:
    """One import's evaluation inside a transaction; it may run several times (the runner retries conflicts)."""

    def __init__(
        self,
        actor: Actor,
        action: str,
        file_name: str,
        cleaned: CleanRows,
        store: str | None,
        step: Progress,
        allow_new_like_existing: bool = False,
    ) -> None:
        self.actor, self.action, self.file_name, self.cleaned = actor, action, file_name, cleaned
        self.store_option, self.step, self.allow_new_like_existing = store, step, allow_new_like_existing
        self.default_store: dict[str, Any] | None = None

    def evaluate(self, tx: Tx) -> Evaluation:
        """Stage the rows and find what the database makes wrong; read back only what the report needs."""
        require(self.actor, self.action, entity="import", entity_id=self.file_name)
        stores = tx.all("SELECT id, code, active FROM stores ORDER BY code")
        self.default_store = self._default_store(tx, stores)
        for table in TEMP_TABLES:
            tx.execute(f"DROP TABLE IF EXISTS {table}")
        for table, columns in TABLES.items():
            tx.execute(f"CREATE TEMP TABLE {table} ({columns})")
        store_text = self._load(tx)
        tx.execute(
            "INSERT INTO import_stores "
            + STORE_MATCH.format(texts="SELECT DISTINCT store AS text FROM import_rows WHERE store IS NOT NULL")
        )
        tx.execute(EVALUATE)
        twins = self._twins(tx)
        foreign = [int(i) for i, _code, _active in stores if not can(self.actor, self.action, int(i))]
        tx.execute(*self._problems_sql(twins, foreign))
        lookalikes = int(tx.scalar("SELECT count(*) FROM import_twins")) if twins and self.owner_rules else 0
        problems = tx.frame("SELECT * FROM import_problems ORDER BY line")
        return Evaluation(self._fates(tx), self._store_codes(tx, store_text), problems, lookalikes, self.default_store)

    @property
    def owner_rules(self) -> bool:
        return can(self.actor, "import.catalog")

    def _default_store(self, tx: Tx, stores: list[tuple[Any, ...]]) -> dict[str, Any] | None:
        """The store for rows that name none: ``--store`` (the actor's), else the actor's only usable store when the
        file has no store column. Raises ``ImportFileError`` (unknown store, counts without a store),
        ``PermissionDenied`` (not the actor's store)."""
        found: tuple[Any, ...] | None = None
        if self.store_option:
            found = tx.one(STORE_MATCH.format(texts="SELECT CAST($1 AS VARCHAR) AS text"), [self.store_option.strip()])
            if found is None or found[1] is None:
                raise ImportFileError(f"There is no store with code {self.store_option!r}.")
            found = found[1:]
            require(
                self.actor,
                self.action,
                int(found[0]),
                store_label=found[1],
                entity="store",
                entity_id=found[1],
                attempted={"file": self.file_name},
            )
        elif not self.cleaned.has_store:
            usable = [s for s in stores if s[2] and can(self.actor, self.action, int(s[0]))]
            found = usable[0] if len(usable) == 1 else None
        rows = self.cleaned.rows
        if found is None and not self.cleaned.has_store and (rows["quantity"].notna() & rows["sku"].notna()).any():
            raise ImportFileError(
                "The file has quantities but no store column: choose the store they were counted in"
                " (the store selector, or --store CODE).",
                needs_store=True,
            )
        return None if found is None else {"id": int(found[0]), "code": str(found[1])}

    def _load(self, tx: Tx) -> pd.Series:
        """The cleaned rows into ``import_rows``, each counted row with the store it names (or the default).
        Returns that store text, row by row."""
        rows = self.cleaned.rows
        counted = rows["quantity"].notna() & rows["sku"].notna()
        named = rows["store"] if self.cleaned.has_store else pd.Series(pd.NA, index=rows.index, dtype="str")
        text = (named.fillna(self.default_store["code"]) if self.default_store else named).where(counted)
        staged = rows.drop(columns=["store"])
        if text.notna().any():
            staged["store"] = text
        tx.load_frame("import_rows", staged)
        return text

    def _twins(self, tx: Tx) -> bool:
        """``import_twins``, when the file has an all-digit SKU (the query checks for new ones itself)."""
        sku = pc.drop_null(cells.arrow(self.cleaned.rows["sku"]))
        if not len(sku) or not cells.any_of(pc.ascii_is_decimal(sku)):
            return False
        tx.execute(LOOKALIKES)
        return True

    def _problems_sql(self, twins: bool, foreign: list[int]) -> tuple[str, list[Any]]:
        """One pass over ``import_eval`` into ``import_problems``: the rows with a problem, a flag per kind.
        ``foreign``: the stores that are not the actor's."""
        params = Params()
        kinds, joins = self._kinds(twins, f"e.store_id IN ({params.many(foreign)})" if foreign else "FALSE")
        flags = ", ".join(f"coalesce({kinds[kind]}, FALSE) AS {kind}" for kind in KINDS)
        twin = "t.twin" if twins else "CAST(NULL AS VARCHAR)"
        changes = ", ".join(f"e.c_{n}" for n in PRODUCT_FIELDS)
        return (
            "INSERT INTO import_problems SELECT * FROM (SELECT e.line, e.sku, e.store_text, e.store_code,"
            f" {twin} AS twin, e.quantity, e.is_new, {changes}, {flags} FROM import_eval e{''.join(joins)}) q"
            f" WHERE {' OR '.join(KINDS)}",
            params.values,
        )

    def _kinds(self, twins: bool, foreign: str) -> tuple[dict[str, str], list[str]]:
        """Each kind of problem as a condition on a row ``e`` of ``import_eval`` (``FALSE``: not for this import),
        and the joins the conditions read. ``foreign``: the condition of a store that is not the actor's."""
        counted = "e.quantity IS NOT NULL AND e.sku IS NOT NULL"
        kinds = {
            "store_missing": f"{counted} AND e.store_text IS NULL",
            "store_unknown": "e.store_text IS NOT NULL AND e.store_id IS NULL",
            "store_inactive": "e.store_id IS NOT NULL AND NOT e.store_active",
            "store_foreign": f"e.store_id IS NOT NULL AND {foreign}",
        }
        good = f"NOT e.bad AND NOT ({' OR '.join(f'coalesce({c}, FALSE)' for c in kinds.values())})"
        joins = [" LEFT JOIN import_twins t ON t.line = e.line"] if twins else []
        owner, has_store = self.owner_rules, self.cleaned.has_store
        kinds["lookalike"] = "t.twin IS NOT NULL" if twins and owner and not self.allow_new_like_existing else "FALSE"
        for name in ("name", "category", "unit_price"):
            given = f"g.{name}" if has_store else f"e.{name} IS NOT NULL"  # a store file: on any line of the SKU
            kinds[f"no_{name}"] = f"{good} AND e.is_new AND NOT coalesce({given}, FALSE)" if owner else "FALSE"
        if owner and has_store:
            given = ", ".join(f"bool_or({n} IS NOT NULL) AS {n}" for n in ("name", "category", "unit_price"))
            grouped = f"SELECT e.sku, {given} FROM import_eval e WHERE e.is_new AND {good} GROUP BY e.sku"
            joins.append(f" LEFT JOIN ({grouped}) g ON g.sku = e.sku")
        reactivated = "TRUE"  # a count for a deactivated product is fine where the file sets it active
        if self.cleaned.rows["active"].fillna(False).astype(bool).any():
            joins.append(" LEFT JOIN (SELECT DISTINCT sku FROM import_eval WHERE active) ra ON ra.sku = e.sku")
            reactivated = "ra.sku IS NULL"
        inactive = f"{COUNT_CHANGE} AND NOT coalesce(e.product_active, TRUE) AND {reactivated}"
        kinds["inactive"] = f"{good} AND {inactive}"
        staff = f"e.sku IS NOT NULL AND (e.is_new OR {' OR '.join(f'e.c_{n}' for n in PRODUCT_FIELDS)})"
        kinds["staff"] = "FALSE" if owner else staff  # every line with a SKU: a bad count must not hide a change
        return kinds, joins

    def _fates(self, tx: Tx) -> np.ndarray:
        """Each row's fate, problems aside: the count of each, then only the lines whose fate is not the most
        common one (a fresh catalog is all ``create``, a re-import all ``unchanged``: little is read)."""
        lines = self.cleaned.rows["line"]
        counts = tx.all(f"SELECT fate, count(*) FROM ({FATES}) f GROUP BY fate")
        common = int(max(counts, key=lambda fate_count: fate_count[1])[0]) if counts else 0
        fates = np.full(len(lines), common, dtype=np.int8)
        if len(counts) > 1:
            other = tx.frame(f"SELECT line, fate FROM ({FATES}) f WHERE fate <> $1", [common])
            fates[pd.Index(lines).get_indexer(other["line"])] = other["fate"].to_numpy()
        return fates

    def _store_codes(self, tx: Tx, text: pd.Series) -> pd.Series:
        """The code of the store each row counts in (``NA`` where none): its store text, as the database matched it."""
        if not self.cleaned.has_store:  # the default store's code, or none
            return text
        found = tx.all("SELECT text, code FROM import_stores WHERE code IS NOT NULL")
        return text.map(dict(found)).astype("str")
