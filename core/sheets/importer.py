"""Spreadsheet import: upsert products by SKU and SET stock counts, set-based, in one transaction.

``import_file`` reads a CSV/XLSX (``core.sheets.read``), checks every cell without the database
(``core.sheets.clean``), then inside ONE ``core.domain.ops.run`` transaction (action ``import.catalog`` for the
owner, ``import.counts`` for staff) loads the rows into a staging table once, finds there in SQL what the
database makes wrong (``core.sheets.stage``: a new SKU without name/category/unit_price, a count for a deactivated
product, an unknown or foreign store, a staff row changing anything but counts) and what each row would do, reads
back only the problem rows for the report (``core.sheets.report``), then writes from the staging table with a
handful of set-based statements (``core.sheets.write``): vendors, new products, changed products (version + 1),
and for each changed count an ``adjustment`` movement (delta = new - old, quantity_after = new) plus its stock row
(a new stock row is created at version 1 and bumped once: version 2; an existing one gets version + 1).

Invariants: bad input is never raised, it is returned as values in the ``ImportReport`` (every error at once,
with the spreadsheet's line and the file's column header); by default any row error means nothing is written
(``skip_invalid`` applies the valid rows); an unchanged row is never touched (no version bump, no movement),
so re-importing a file changes nothing; a blank cell leaves the stored value alone; staff rows that would change
the catalog (a vendor that does not exist included) or another store's counts are errors and are audited as
``denied`` (a dry run too: the page always previews first). A new all-digit SKU whose zero-padded twin is in the
catalog is an error unless ``allow_new_like_existing`` (a spreadsheet program turned ``00123`` into ``123``).

Recorded per real run (a ``dry_run`` writes no data, only its ``denied`` audit row): one ``imports`` history row
(sha256, file name, actor, counts, applied) whether applied or refused; one ``ok`` audit row when the import
changed something; ONE ``denied`` audit row when lines were refused (their number and the first few), however
large the file; a refused ``store`` (not the actor's) is one ``denied`` row too, on a dry run as well. A crash at
any moment leaves the database as before.
"""

from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from core.base import observe
from core.base.errors import InventoryError, PermissionDenied
from core.base.permissions import Actor
from core.db import Database, Tx
from core.db.sql import Params
from core.domain import audit
from core.domain.ops import _audit_after, run, transact
from core.domain.reading import public_read, read
from core.sheets.clean import Mapping, clean_rows, is_sku_header, map_headers
from core.sheets.read import FileProblem, Sheet, read_sheet
from core.sheets.report import (
    FATES,
    ImportFileError,
    ImportReport,
    file_report,
    fill_report,
    note_outcome,
    note_rows,
    note_sheet,
    note_time,
)
from core.sheets.stage import TEMP_TABLES, Progress, Staging
from core.sheets.write import audit_denied, write_rows


def _read_source(source: str | os.PathLike[str] | bytes, file_name: str | None) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), file_name or "upload"
    path = Path(source)
    return path.read_bytes(), file_name or path.name


LARGE_IMPORT_ROWS = 10_000  # written rows after which the planner's statistics are refreshed


def import_file(
    db: Database,
    actor: Actor,
    source: str | os.PathLike[str] | bytes,
    *,
    file_name: str | None = None,
    store: str | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    allow_new_like_existing: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a spreadsheet (a path or its bytes). Returns the report; row and file problems are values in it.

    ``store`` is the store code for rows without a store column (default: the actor's only store).
    ``allow_new_like_existing`` confirms that new all-digit SKUs that differ from an existing SKU only by leading
    zeros are new products. Raises only for the unexpected (the database itself failing), never for bad input or
    a refusal.
    """
    started = time.perf_counter()
    step = progress or (lambda fraction, text: None)
    step(0.0, "Reading the file")
    report, sheet, problem = _read(source, file_name, dry_run, skip_invalid)
    if sheet is None:
        return report if report.file_error else _record_file_problem(db, actor, report, problem)
    mapping = map_headers(sheet)
    note_sheet(report, [*sheet.warnings, *mapping.warnings])
    if "sku" not in mapping.columns:
        found = ", ".join(h for h in sheet.headers if h.strip()) or "none"
        message = f"The file has no SKU column (its columns are: {found}). Name the column that holds the SKU 'sku'."
        return _record_file_problem(db, actor, report, message)
    step(0.2, f"Checking {len(sheet.frame):,} rows")
    cleaned = clean_rows(sheet, mapping)
    note_rows(report, len(cleaned.rows))
    step(0.4, "Comparing with the database")
    action = "import.catalog" if actor.is_owner else "import.counts"
    staging = Staging(actor, action, report.file_name, cleaned, store, step, allow_new_like_existing)
    try:
        if dry_run:
            _dry_run(db, staging, report, mapping)
        else:
            body = lambda tx: _apply(tx, staging, report, mapping)  # noqa: E731
            run(db, actor, action, body, entity="import", entity_id=report.file_name)
    except ImportFileError as exc:
        file_report(report, exc.message, needs_store=exc.needs_store)
    except InventoryError as exc:  # a refusal (PermissionDenied), or a conflict after every retry
        file_report(report, str(exc), "refused")
    if report.applied and report.created + report.updated >= LARGE_IMPORT_ROWS:
        db.refresh_statistics()  # PostgreSQL plans the next queries with the new row counts
    note_time(report, started)
    step(1.0, "Done")
    return report


def _read(
    source: str | os.PathLike[str] | bytes, file_name: str | None, dry_run: bool, skip_invalid: bool
) -> tuple[ImportReport, Sheet | None, str]:
    """The report begun, and the file's sheet (``None``: unreadable, and why; a source that cannot be read at all
    is already the report's file error)."""
    try:
        data, name = _read_source(source, file_name)
    except OSError as exc:
        report = ImportReport(str(file_name or source), "0" * 64, dry_run=dry_run, skip_invalid=skip_invalid)
        return file_report(report, f"The file could not be read: {exc.strerror or exc}."), None, ""
    with ThreadPoolExecutor(max_workers=1) as pool:  # hashing releases the GIL: it runs beside the parsing
        digest = pool.submit(lambda: hashlib.sha256(data).hexdigest())
        try:
            sheet, problem = read_sheet(data, is_sku_header), ""
        except FileProblem as exc:
            sheet, problem = None, str(exc)
        return ImportReport(name, digest.result(), dry_run=dry_run, skip_invalid=skip_invalid), sheet, problem


class _Rollback(Exception):
    pass


def _dry_run(db: Database, staging: Staging, report: ImportReport, mapping: Mapping) -> None:
    """Evaluate in a transaction that is then rolled back: the report is filled in and no data is written.

    Refusals are still audited as ``denied`` (one row), in a transaction of their own: the page always previews (a
    dry run) before it offers to import, so a staff attempt to change the catalog or to count another store must
    trip the wire right here. Raises ``PermissionDenied`` for a refused store (after auditing it)."""
    denied = None
    actor = staging.actor
    started = time.perf_counter()
    try:
        with db.transaction() as tx:
            denied = fill_report(report, staging.cleaned, mapping, staging.evaluate(tx))
            raise _Rollback
    except _Rollback:
        pass
    except PermissionDenied as exc:
        attempted = exc.attempted if isinstance(exc.attempted, dict) else {"attempted": exc.attempted}
        after = {**attempted, "dry_run": True}
        entity = exc.entity or "import"
        _audit_after(db, actor, exc.action, entity, exc.entity_id, after, "denied", exc.message)
        observe.record(actor.email, exc.action, entity, "denied", time.perf_counter() - started, detail=exc.message)
        raise
    if denied is not None and len(denied):
        transact(db, lambda tx: audit_denied(tx, actor, report.file_name, denied, dry_run=True))


def _record_file_problem(db: Database, actor: Actor, report: ImportReport, message: str) -> ImportReport:
    """A file that cannot be read: reported (and, unless a dry run, kept in the import history)."""
    file_report(report, message)
    if report.dry_run:
        return report

    def body(tx: Tx) -> None:
        _insert_history(tx, actor, report, None, False)

    try:
        run(db, actor, "import.catalog" if actor.is_owner else "import.counts", body, entity="import")
    except InventoryError:
        pass  # the history row is a courtesy; the report already says what is wrong
    return report


def _insert_history(tx: Tx, actor: Actor, report: ImportReport, store_id: int | None, applied: bool) -> int:
    """The import's history row (its counts, and whether it was applied); returns its id."""
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
                report.error_rows,
                applied,
            ],
        )
    )


def _apply(tx: Tx, staging: Staging, report: ImportReport, mapping: Mapping) -> ImportReport:
    """The body of the import's one transaction: evaluate, record, and (unless refused) write."""
    evaluation = staging.evaluate(tx)
    denied = fill_report(report, staging.cleaned, mapping, evaluation)
    actor = staging.actor
    apply = not report.error_rows or report.skip_invalid
    store_id = evaluation.default_store["id"] if evaluation.default_store else None
    note_outcome(report, apply, _insert_history(tx, actor, report, store_id, apply))
    if len(denied):
        audit_denied(tx, actor, report.file_name, denied, import_id=report.import_id)
    if apply:
        staging.step(0.6, "Writing")
        write_rows(tx, actor, report, staging.cleaned.has_store, bool(len(evaluation.problems)))
        summary = {
            "file": report.file_name,
            "sha256": report.sha256,
            "store": report.store,
            "rows": report.rows,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "errors": report.error_rows,
            "skip_invalid": report.skip_invalid,
        }
        if report.created or report.updated:  # an import that changed nothing leaves only its history row
            audit.write(
                tx, actor=actor.email, action=staging.action, entity="import", entity_id=report.import_id, after=summary
            )
    for table in TEMP_TABLES:
        tx.execute(f"DROP TABLE IF EXISTS {table}")
    staging.step(0.9, "Saving")  # the commit follows: until it is done, a crash leaves everything as before
    return report


@public_read
def history(db: Database, actor: Actor, limit: int = 50) -> list[dict[str, Any]]:
    """The latest imports, newest first: every import for the owner, one's own for staff."""
    params = Params(int(limit))  # $1
    where = "TRUE" if actor.is_owner else f"i.actor = {params.add(actor.email)}"
    return read(
        db,
        actor,
        None,
        lambda tx: tx.dicts(
            "SELECT i.id, i.created_at, i.file_name, i.actor, s.code AS store, i.rows, i.created, i.updated,"
            " i.unchanged, i.errors, i.applied, i.sha256 FROM imports i LEFT JOIN stores s ON s.id = i.store_id"
            f" WHERE {where} ORDER BY i.id DESC LIMIT $1",
            params.values,
        ),
        entity="import",
        name="import.history",
    )


__all__ = ["FATES", "ImportReport", "history", "import_file"]
