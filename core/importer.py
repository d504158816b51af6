"""Spreadsheet import: upsert products by SKU and SET stock counts, set-based, in one transaction.

``import_file`` reads a CSV/XLSX (``core.spreadsheet_read``), checks every cell without the database
(``core.spreadsheet_clean``), then inside ONE ``core.ops.run`` transaction (action ``import.catalog`` for the
owner, ``import.counts`` for staff) loads the rows into a staging table, finds what the database makes wrong
(a new SKU without name/category/unit_price, a count for a deactivated product, an unknown or foreign store, a
staff row changing anything but counts) and what each row would do, then writes with a handful of set-based
statements: vendors, new products, changed products (version + 1), and for each changed count an
``adjustment`` movement (delta = new - old, quantity_after = new) plus its stock row (a new stock row is
created at version 1 and bumped once: version 2; an existing one gets version + 1).

Invariants: bad input is never raised, it is returned as values in the ``ImportReport`` (every error at once,
with the spreadsheet's line and the file's column header); by default any row error means nothing is written
(``skip_invalid`` applies the valid rows); an unchanged row is never touched (no version bump, no movement),
so re-importing a file changes nothing; a blank cell leaves the stored value alone; staff rows that would change
the catalog or another store's counts are errors and are audited as ``denied`` (when not a dry run).

Recorded per real run (not for ``dry_run``, which writes nothing at all): one ``imports`` history row (sha256,
file name, actor, counts, applied) whether applied or refused, one ``ok`` audit row when applied, and one
``denied`` audit row per denied line. A crash at any moment leaves the database as before (one transaction).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core import audit
from core.db import Database, Tx
from core.errors import InventoryError, PermissionDenied, ValidationError, WriteConflict
from core.ops import run
from core.permissions import Actor, can, require
from core.spreadsheet_clean import (
    LABELS,
    PRODUCT_FIELDS,
    CleanRows,
    Mapping,
    ProblemList,
    clean_rows,
    empty_problems,
    is_sku_header,
    map_headers,
)
from core.spreadsheet_read import FileProblem, read_sheet

Progress = Callable[[float, str], None]
FATES = ("create", "update", "unchanged", "error")
_VENDOR_IDS = "(SELECT lower(name) AS lname, min(id) AS id FROM vendors GROUP BY lower(name))"
_STAGING = (
    "CREATE TEMP TABLE import_rows (line INTEGER, sku VARCHAR, name VARCHAR, category VARCHAR,"
    " unit_price DECIMAL(12, 2), reorder_level INTEGER, vendor VARCHAR, active BOOLEAN, quantity INTEGER,"
    " store_id BIGINT, bad BOOLEAN)"
)
_CHANGED = {
    "name": "r.name IS NOT NULL AND r.name IS DISTINCT FROM p.name",
    "category": "r.category IS NOT NULL AND r.category IS DISTINCT FROM p.category",
    "unit_price": "r.unit_price IS NOT NULL AND r.unit_price IS DISTINCT FROM p.unit_price",
    "reorder_level": "r.reorder_level IS NOT NULL AND r.reorder_level IS DISTINCT FROM p.reorder_level",
    "vendor": "r.vendor IS NOT NULL AND v.id IS DISTINCT FROM p.vendor_id",
    "active": "r.active IS NOT NULL AND r.active IS DISTINCT FROM p.active",
}
_TEMP_TABLES = ("import_rows", "import_eval", "import_bad", "import_products", "import_moves", "import_denied")


class ImportFileError(ValidationError):
    """A problem with the whole file or the command (no store for the counts, unknown --store)."""

    def __init__(self, message: str, *, needs_store: bool = False) -> None:
        super().__init__(message)
        self.needs_store = needs_store


@dataclass
class ImportReport:
    """What an import did (or would do). ``to_json()`` is the SPEC's object."""

    file_name: str
    sha256: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    applied: bool = False
    dry_run: bool = False
    skip_invalid: bool = False
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    preview: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["line", "sku", "store", "fate"]))
    file_error: str | None = None  # "file" (unreadable, exit 2) or "refused" (permission/conflict, exit 1)
    import_id: int | None = None
    store: str | None = None
    needs_store: bool = False  # the file has counts but no store column: the caller must choose a store
    seconds: float = 0.0

    @property
    def error_rows(self) -> int:
        return len({e["line"] for e in self.errors if e["line"] is not None})

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)

    @property
    def exit_code(self) -> int:
        """0 applied (or a dry run that would apply), 1 refused, 2 unreadable file or bad command input."""
        if self.file_error == "file":
            return 2
        if self.file_error == "refused" or (self.errors and not self.skip_invalid):
            return 1
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "applied": self.applied,
            "errors": [dict(e) for e in self.errors],
            "warnings": list(self.warnings),
        }

    def error_report_csv(self) -> bytes:
        """Every error as a CSV (line, column, message), UTF-8 with BOM so spreadsheets show accents."""
        frame = pd.DataFrame(self.errors, columns=["line", "column", "message"])
        frame["line"] = frame["line"].astype("Int64")
        return frame.to_csv(index=False).encode("utf-8-sig")


def _file_report(report: ImportReport, message: str, kind: str = "file") -> ImportReport:
    report.errors = [{"line": None, "column": None, "message": message}]
    report.file_error, report.applied = kind, False
    return report


def _read_source(source: str | os.PathLike[str] | bytes, file_name: str | None) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), file_name or "upload"
    path = Path(source)
    return path.read_bytes(), file_name or path.name


def import_file(
    db: Database,
    actor: Actor,
    source: str | os.PathLike[str] | bytes,
    *,
    file_name: str | None = None,
    store: str | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a spreadsheet (a path or its bytes). Returns the report; row and file problems are values in it.

    ``store`` is the store code for rows without a store column (default: the actor's only store). Raises only
    for the unexpected (the database itself failing), never for bad input or a refusal.
    """
    import time

    started = time.perf_counter()
    step = progress or (lambda fraction, text: None)
    step(0.0, "Reading the file")
    try:
        data, name = _read_source(source, file_name)
    except OSError as exc:
        report = ImportReport(str(file_name or source), "0" * 64, dry_run=dry_run, skip_invalid=skip_invalid)
        return _file_report(report, f"The file could not be read: {exc.strerror or exc}.")
    report = ImportReport(name, hashlib.sha256(data).hexdigest(), dry_run=dry_run, skip_invalid=skip_invalid)
    try:
        sheet = read_sheet(data, is_sku_header)
    except FileProblem as exc:
        return _record_file_problem(db, actor, report, str(exc))
    mapping = map_headers(sheet)
    report.warnings = [*sheet.warnings, *mapping.warnings]
    if "sku" not in mapping.columns:
        found = ", ".join(h for h in sheet.headers if h.strip()) or "none"
        message = f"The file has no SKU column (its columns are: {found}). Name the column that holds the SKU 'sku'."
        return _record_file_problem(db, actor, report, message)
    step(0.2, f"Checking {len(sheet.frame):,} rows")
    cleaned = clean_rows(sheet, mapping)
    report.rows = len(cleaned.rows)
    if report.rows == 0:
        report.warnings.append("The file has a header but no data rows: nothing to import.")
    step(0.4, "Comparing with the database")
    action = "import.catalog" if actor.is_owner else "import.counts"
    work = _Import(actor, action, report, cleaned, mapping, store, step)
    try:
        if dry_run:
            _dry_run(db, work)
        else:
            run(db, actor, action, work.body, entity="import", entity_id=name)
    except ImportFileError as exc:
        _file_report(report, exc.message)
        report.needs_store = exc.needs_store
    except (PermissionDenied, InventoryError) as exc:
        _file_report(report, str(exc), "refused")
    report.seconds = round(time.perf_counter() - started, 3)
    step(1.0, "Done")
    return report


class _Rollback(Exception):
    pass


def _dry_run(db: Database, work: _Import) -> None:
    try:
        with db.transaction() as tx:
            work.evaluate(tx)
            raise _Rollback
    except _Rollback:
        pass


def _record_file_problem(db: Database, actor: Actor, report: ImportReport, message: str) -> ImportReport:
    """A file that cannot be read: reported (and, unless a dry run, kept in the import history)."""
    _file_report(report, message)
    if report.dry_run:
        return report

    def body(tx: Tx) -> None:
        _insert_history(tx, actor, report, None, 0)

    try:
        run(db, actor, "import.catalog" if actor.is_owner else "import.counts", body, entity="import")
    except InventoryError:
        pass  # the history row is a courtesy; the report already says what is wrong
    return report


def _insert_history(tx: Tx, actor: Actor, report: ImportReport, store_id: int | None, error_rows: int) -> int:
    return int(
        tx.scalar(
            "INSERT INTO imports (sha256, file_name, actor, store_id, rows, created, updated, unchanged, errors,"
            " applied) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            [
                report.sha256,
                report.file_name[:255],
                actor.email,
                store_id,
                report.rows,
                report.created,
                report.updated,
                report.unchanged,
                error_rows,
                report.applied,
            ],
        )
    )


class _Import:
    """One import's database work; ``body`` may run several times (the runner retries write conflicts)."""

    def __init__(
        self,
        actor: Actor,
        action: str,
        report: ImportReport,
        cleaned: CleanRows,
        mapping: Mapping,
        store: str | None,
        step: Progress,
    ) -> None:
        self.actor, self.action, self.report, self.cleaned = actor, action, report, cleaned
        self.mapping, self.store_option, self.step = mapping, store, step
        self.default_store: dict[str, Any] | None = None

    # ---- evaluation (no writes) -------------------------------------------------------------------------------

    def evaluate(self, tx: Tx) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """Stage the rows and decide each one's fate. Returns (rows with flags, problems, denied lines)."""
        require(self.actor, self.action, entity="import", entity_id=self.report.file_name)
        rows = self.cleaned.rows.copy()
        store_problems, store_denied = self._resolve_stores(tx, rows)
        rows["bad"] = rows["bad"] | rows["line"].isin(store_problems["line"])
        for t in _TEMP_TABLES:
            tx.execute(f"DROP TABLE IF EXISTS {t}")
        tx.execute(_STAGING)
        tx.load_frame("import_rows", rows.drop(columns=["store", "store_code"]))
        changed = ", ".join(f"({sql}) AS c_{name}" for name, sql in _CHANGED.items())
        tx.execute(
            "CREATE TEMP TABLE import_eval AS SELECT r.*, p.id AS product_id, p.version AS product_version,"
            f" p.active AS product_active, v.id AS vendor_id, {changed},"
            " coalesce(s.quantity, 0) AS old_quantity, s.store_id IS NOT NULL AS has_stock"
            " FROM import_rows r LEFT JOIN products p ON p.sku = r.sku"
            f" LEFT JOIN {_VENDOR_IDS} v ON v.lname = lower(r.vendor)"
            " LEFT JOIN stock s ON s.store_id = r.store_id AND s.product_id = p.id"
        )
        flags = tx.frame(
            "SELECT line, product_id IS NULL AS is_new, coalesce(product_active, TRUE) AS product_active,"
            f" {', '.join('c_' + n for n in _CHANGED)}, old_quantity FROM import_eval ORDER BY line"
        )
        if len(flags) != len(rows) or not (flags["line"].to_numpy() == rows["line"].to_numpy()).all():
            raise AssertionError("the staged rows do not match the file's rows")  # pragma: no cover
        for name in flags.columns.drop("line"):  # both are in line order: no join needed
            rows[name] = flags[name].to_numpy()
        db_problems, db_denied = self._database_checks(rows)
        parts = [p for p in (self.cleaned.problems, store_problems, db_problems) if len(p)]
        problems = pd.concat(parts, ignore_index=True) if parts else empty_problems()
        rows["bad"] = rows["bad"] | rows["line"].isin(problems["line"])
        self._fill_report(rows, problems)
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
            return out.frame(), _denied_frame(rows, foreign, "import.counts", "")
        message = "You are not assigned to store " + rows["store_code"].fillna("") + "."
        out.add(foreign, header, message)
        attempted = "quantity=" + rows["quantity"].astype("str")
        return out.frame(), _denied_frame(rows, foreign, "import.counts", message, attempted)

    def _database_checks(self, rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """New SKUs need name/category/price; deactivated products are not counted; staff change counts only."""
        out = ProblemList(rows["line"])
        good = ~rows["bad"]
        sku = rows["sku"].fillna("")
        new = good & rows["is_new"].fillna(False).astype(bool)
        owner_rules = can(self.actor, "import.catalog")
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
        count_changes = counting & (rows["quantity"] != rows["old_quantity"]).fillna(False)
        inactive = count_changes & ~rows["product_active"].fillna(True).astype(bool)
        if inactive.any():
            reactivating = sku[(rows["active"] == True).fillna(False).astype(bool)]  # noqa: E712
            inactive &= ~sku.isin(reactivating)
            out.add(
                inactive,
                self.mapping.header("quantity"),
                lambda: "Product " + sku + " is deactivated; set its active column to yes to count it.",
            )
        changes = pd.DataFrame({n: rows[f"c_{n}"].fillna(False).astype(bool) for n in PRODUCT_FIELDS})
        editing = good & ~new & changes.any(axis=1)
        hit = new | editing
        if owner_rules or not hit.any():
            return out.frame(), _denied_frame(rows, hit & False, "", "")
        column = pd.Series(self.mapping.header("sku"), index=rows.index, dtype=object)
        what = pd.Series("", index=rows.index, dtype="str")
        attempted = pd.Series("", index=rows.index, dtype="str")
        for name in reversed(PRODUCT_FIELDS):
            column = column.mask(editing & changes[name], self.mapping.header(name))
            label = LABELS[name].lower()
            what = (label + (", " + what).where(what != "", "")).where(changes[name], what)
            value = (name + "=" + rows[name].astype("str")).where((changes[name] | new) & rows[name].notna(), "")
            attempted = (value + " " + attempted).str.strip()
        msg_new = sku + " is not in the catalog: only the owner can add products."
        msg_edit = "Staff can import stock counts only, not catalog changes (this row changes the " + what + ")."
        message = msg_new.where(new, msg_edit)
        out.add(hit, column, message)
        return out.frame(), _denied_frame(rows, hit, "import.catalog", message, attempted)

    def _fill_report(self, rows: pd.DataFrame, problems: pd.DataFrame) -> None:
        changed_product = rows[[f"c_{n}" for n in _CHANGED]].fillna(False).astype(bool).any(axis=1)
        is_new = rows["is_new"].fillna(False).astype(bool)
        count_change = rows["quantity"].notna() & rows["store_id"].notna()
        count_change &= (rows["quantity"] != rows["old_quantity"]).fillna(False).astype(bool)
        fate = pd.Series("unchanged", index=rows.index, dtype="str")
        fate = fate.mask(changed_product | count_change, "update").mask(is_new, "create").mask(rows["bad"], "error")
        order = problems.assign(_order=range(len(problems))).sort_values(["line", "_order"], kind="stable")
        messages = order.groupby("line")["message"].agg("; ".join) if len(order) else pd.Series(dtype="str")
        preview = pd.DataFrame(
            {
                "line": rows["line"].to_numpy(),
                "sku": rows["sku"].to_numpy(),
                "store": rows["store_code"].to_numpy(),
                "fate": fate.to_numpy(),
            }
        )
        preview["message"] = preview["line"].map(messages).fillna("")
        counts = fate.value_counts()
        r = self.report
        r.created, r.updated, r.unchanged = (int(counts.get(k, 0)) for k in ("create", "update", "unchanged"))
        r.preview = preview
        errors = order.drop(columns="_order")
        errors = errors.astype({"line": "object", "column": "object", "message": "object"})
        errors = errors.where(errors.notna(), None)
        r.errors = [
            {"line": None if line is None else int(line), "column": column, "message": message}
            for line, column, message in zip(errors["line"], errors["column"], errors["message"], strict=True)
        ]

    # ---- the transaction ----------------------------------------------------------------------------------------

    def body(self, tx: Tx) -> ImportReport:
        rows, problems, denied = self.evaluate(tx)
        report = self.report
        apply = not problems.shape[0] or report.skip_invalid
        report.applied = bool(apply)
        store_id = self.default_store["id"] if self.default_store else None
        report.import_id = _insert_history(tx, self.actor, report, store_id, int(problems["line"].nunique()))
        if len(denied):
            self._audit_denied(tx, denied)
        if apply:
            self.step(0.6, "Writing")
            bad_lines = rows.loc[rows["bad"], ["line"]]
            self._write(tx, bad_lines)
            audit.write(
                tx,
                self.actor.email,
                self.action,
                "import",
                report.import_id,
                None,
                {
                    "file": report.file_name,
                    "sha256": report.sha256,
                    "store": report.store,
                    "rows": report.rows,
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "errors": report.error_rows,
                    "skip_invalid": report.skip_invalid,
                },
            )
        for t in _TEMP_TABLES:
            tx.execute(f"DROP TABLE IF EXISTS {t}")
        self.step(0.9, "Saving")  # the commit follows: until it is done, a crash leaves everything as before
        return report

    def _audit_denied(self, tx: Tx, denied: pd.DataFrame) -> None:
        """One ``denied`` audit row per refused line, set-based."""
        frame = pd.DataFrame(
            {
                "entity_id": (denied["sku"].fillna("") + ("@" + denied["store"]).fillna("")).astype("str"),
                "action": denied["action"].astype("str"),
                "after": [
                    json.dumps({"file": self.report.file_name, "line": int(line), "attempted": att}, ensure_ascii=False)
                    for line, att in zip(denied["line"], denied["attempted"].fillna(""), strict=True)
                ],
                "detail": denied["message"].astype("str"),
            }
        )
        tx.execute("CREATE TEMP TABLE import_denied (entity_id VARCHAR, action VARCHAR, after VARCHAR, detail VARCHAR)")
        tx.load_frame("import_denied", frame)
        tx.execute(
            "INSERT INTO audit (actor, action, entity, entity_id, after, outcome, detail)"
            " SELECT $1, action, 'import', entity_id, after, 'denied', detail FROM import_denied",
            [self.actor.email],
        )

    def _write(self, tx: Tx, bad_lines: pd.DataFrame) -> None:
        actor = self.actor.email
        tx.execute("DELETE FROM import_eval WHERE bad")
        if len(bad_lines):
            tx.execute("CREATE TEMP TABLE import_bad (line INTEGER)")
            tx.load_frame("import_bad", bad_lines)
            tx.execute("DELETE FROM import_eval WHERE line IN (SELECT line FROM import_bad)")
        tx.execute(
            "INSERT INTO vendors (name) SELECT min(vendor) FROM import_eval"
            " WHERE vendor IS NOT NULL AND vendor_id IS NULL GROUP BY lower(vendor)"
        )
        changed = "e.product_id IS NULL OR " + " OR ".join(f"e.c_{n}" for n in _CHANGED)
        if self.cleaned.has_store:  # one SKU may have a line per store: their product values agree
            tx.execute(
                "CREATE TEMP TABLE import_products AS SELECT e.sku, max(e.product_id) AS product_id,"
                " max(e.product_version) AS product_version, max(e.name) AS name, max(e.category) AS category,"
                " max(e.unit_price) AS unit_price, max(e.reorder_level) AS reorder_level, max(e.vendor) AS vendor,"
                " bool_or(e.active) AS active, TRUE AS changed"
                f" FROM import_eval e WHERE e.sku IN (SELECT sku FROM import_eval e WHERE {changed}) GROUP BY e.sku"
            )
        else:  # one line per SKU (duplicates were refused)
            tx.execute(
                "CREATE TEMP TABLE import_products AS SELECT e.sku, e.product_id, e.product_version, e.name,"
                " e.category, e.unit_price, e.reorder_level, e.vendor, e.active, TRUE AS changed"
                f" FROM import_eval e WHERE {changed}"
            )
        tx.execute(
            "INSERT INTO products (sku, name, category, unit_price, reorder_level, vendor_id, active, updated_by)"
            " SELECT ip.sku, ip.name, ip.category, ip.unit_price, coalesce(ip.reorder_level, 10), v.id,"
            f" coalesce(ip.active, TRUE), $1 FROM import_products ip LEFT JOIN {_VENDOR_IDS} v"
            " ON v.lname = lower(ip.vendor) WHERE ip.product_id IS NULL",
            [actor],
        )
        expected = tx.scalar("SELECT count(*) FROM import_products WHERE changed AND product_id IS NOT NULL")
        if expected:
            done = tx.scalar(
                "WITH u AS (UPDATE products SET name = coalesce(c.name, products.name),"
                " category = coalesce(c.category, products.category),"
                " unit_price = coalesce(c.unit_price, products.unit_price),"
                " reorder_level = coalesce(c.reorder_level, products.reorder_level),"
                " vendor_id = CASE WHEN c.vendor IS NULL THEN products.vendor_id ELSE c.vendor_id END,"
                " active = coalesce(c.active, products.active), version = products.version + 1,"
                " updated_at = now(), updated_by = $1"
                " FROM (SELECT ip.*, v.id AS vendor_id FROM import_products ip"
                f" LEFT JOIN {_VENDOR_IDS} v ON v.lname = lower(ip.vendor)"
                " WHERE ip.changed AND ip.product_id IS NOT NULL) c"
                " WHERE products.id = c.product_id AND products.version = c.product_version RETURNING 1)"
                " SELECT count(*) FROM u",
                [actor],
            )
            if done != expected:
                raise WriteConflict()
        self._write_counts(tx)

    def _write_counts(self, tx: Tx) -> None:
        actor = self.actor.email
        tx.execute(
            "CREATE TEMP TABLE import_moves AS SELECT e.store_id, p.id AS product_id, e.quantity,"
            " e.quantity - e.old_quantity AS delta, e.has_stock FROM import_eval e JOIN products p ON p.sku = e.sku"
            " WHERE e.quantity IS NOT NULL AND e.store_id IS NOT NULL AND e.quantity <> e.old_quantity"
        )
        reason = f"import #{self.report.import_id}: {self.report.file_name}"[:200]
        tx.execute(
            "INSERT INTO movements (store_id, product_id, kind, delta, quantity_after, reason, actor)"
            " SELECT store_id, product_id, 'adjustment', delta, quantity, $1, $2 FROM import_moves",
            [reason, actor],
        )
        tx.execute(
            "INSERT INTO stock (store_id, product_id, quantity, version, updated_by)"
            " SELECT store_id, product_id, quantity, 2, $1 FROM import_moves WHERE NOT has_stock",
            [actor],
        )
        expected = tx.scalar("SELECT count(*) FROM import_moves WHERE has_stock")
        if expected:
            done = tx.scalar(
                "WITH u AS (UPDATE stock SET quantity = m.quantity, version = stock.version + 1, updated_at = now(),"
                " updated_by = $1 FROM import_moves m WHERE m.has_stock AND stock.store_id = m.store_id"
                " AND stock.product_id = m.product_id AND stock.quantity = m.quantity - m.delta RETURNING 1)"
                " SELECT count(*) FROM u",
                [actor],
            )
            if done != expected:
                raise WriteConflict()


def _denied_frame(
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


def history(db: Database, actor: Actor, limit: int = 50) -> list[dict[str, Any]]:
    """The latest imports, newest first: every import for the owner, one's own for staff."""
    with db.reader() as tx:
        where, params = ("TRUE", [int(limit)]) if actor.is_owner else ("i.actor = $2", [int(limit), actor.email])
        return tx.dicts(
            "SELECT i.id, i.created_at, i.file_name, i.actor, s.code AS store, i.rows, i.created, i.updated,"
            " i.unchanged, i.errors, i.applied, i.sha256 FROM imports i LEFT JOIN stores s ON s.id = i.store_id"
            f" WHERE {where} ORDER BY i.id DESC LIMIT $1",
            params,
        )


__all__ = ["FATES", "ImportReport", "history", "import_file"]
