"""The import report: what an import did (or would do), as values: counts, every error, each row's fate.

Invariants: ``errors`` are ``{"line", "column", "message"}`` sorted by line (``line`` is ``None`` only for a
problem with the whole file, which is then the only error); ``created``/``updated``/``unchanged`` count ROWS by
fate, so they add up to ``rows`` minus the rows with errors (a new SKU counted in two stores is two ``create``
rows); ``preview`` has one row per data row: line, sku, store, fate, message.

The report's size is bounded whatever the file: ``errors`` lists at most ``max_reported_problems()`` problems
(env ``INVENTORY_IMPORT_MAX_REPORTED_PROBLEMS``, default 2,000), the first by line; ``more_errors`` counts the
ones not listed, and ``error_rows`` still counts every row with a problem (the all-or-nothing decision and the
history row use every problem, listed or not).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from core.base.errors import ValidationError

FATES = ("create", "update", "unchanged", "error")
MAX_REPORTED_PROBLEMS = 2_000
MAX_REPORTED_ENV = "INVENTORY_IMPORT_MAX_REPORTED_PROBLEMS"


def max_reported_problems() -> int:
    """How many problems a report lists (env ``INVENTORY_IMPORT_MAX_REPORTED_PROBLEMS``, at least 1).

    Raises ``ValidationError`` for a setting that is not a whole number of at least 1."""
    raw = os.environ.get(MAX_REPORTED_ENV, "").strip()
    if not raw:
        return MAX_REPORTED_PROBLEMS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValidationError.single(
            MAX_REPORTED_ENV, f"{MAX_REPORTED_ENV} must be a whole number of at least 1, not {raw!r}."
        )
    return value


class ImportFileError(ValidationError):
    """A problem with the whole file or the command (no store for the counts, unknown --store)."""

    def __init__(self, message: str, *, needs_store: bool = False) -> None:
        super().__init__(message)
        self.needs_store = needs_store


@dataclass
class ImportReport:
    """What an import did (or would do). ``to_json()`` is the object ``import --json`` prints."""

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
    more_errors: int = 0  # problems found but not listed in ``errors`` (the list is capped)
    bad_rows: int | None = None  # rows with a problem, listed or not (``None``: count the lines in ``errors``)
    lookalike_skus: int = 0  # rows refused as a new SKU whose zero-padded twin is in the catalog (see importer)

    @property
    def error_rows(self) -> int:
        """Rows with at least one problem, including those whose problems are beyond the listed ones."""
        if self.bad_rows is not None:
            return self.bad_rows
        return len({e["line"] for e in self.errors if e["line"] is not None})

    @property
    def problems(self) -> int:
        """Every problem found, listed or not."""
        return len(self.errors) + self.more_errors

    def not_listed(self) -> str | None:
        """The sentence saying how many problems were not listed (``None`` when every one is)."""
        if not self.more_errors:
            return None
        return (
            f"{self.more_errors:,} more problems were not listed (only the first {len(self.errors):,} are):"
            " fix these and check the file again."
        )

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
            "more_errors": self.more_errors,
        }

    def error_report_csv(self) -> bytes:
        """The listed errors as a CSV (line, column, message), UTF-8 with BOM so spreadsheets show accents; a
        last row without a line says how many more problems were not listed."""
        rows = [*self.errors]
        note = self.not_listed()
        if note:
            rows.append({"line": None, "column": None, "message": note})
        frame = pd.DataFrame(rows, columns=["line", "column", "message"])
        frame["line"] = frame["line"].astype("Int64")
        return frame.to_csv(index=False).encode("utf-8-sig")


def file_report(report: ImportReport, message: str, kind: str = "file") -> ImportReport:
    report.errors = [{"line": None, "column": None, "message": message}]
    report.file_error, report.applied = kind, False
    report.more_errors, report.bad_rows, report.lookalike_skus = 0, None, 0
    return report


def fill_report(report: ImportReport, rows: pd.DataFrame, problems: pd.DataFrame) -> None:
    """Each row's fate (error, create, update, unchanged), the counts, the preview and the sorted errors.

    ``rows`` carries the staging flags ``is_new``, ``product_change`` and ``count_change`` (booleans)."""
    flag = {name: rows[name].fillna(False).to_numpy(dtype=bool) for name in ("bad", "is_new", "product_change",
            "count_change")}  # fmt: skip
    codes = np.select(
        [flag["bad"], flag["is_new"], flag["product_change"] | flag["count_change"]],
        [FATES.index("error"), FATES.index("create"), FATES.index("update")],
        FATES.index("unchanged"),
    ).astype(np.int8)
    fate = pd.Series(pa.array(FATES, pa.large_string()).take(pa.array(codes)), dtype="str")
    order = problems.assign(_order=range(len(problems))).sort_values(["line", "_order"], kind="stable")
    messages = order.groupby("line")["message"].agg("; ".join) if len(order) else pd.Series(dtype="str")
    preview = pd.DataFrame(
        {
            "line": rows["line"].to_numpy(),
            "sku": rows["sku"].array,
            "store": rows["store_code"].array,
            "fate": fate.array,
        }
    )
    if len(messages):
        preview["message"] = preview["line"].map(messages).fillna("")
    else:
        preview["message"] = pd.Series(pa.array([""], pa.large_string()).take(pa.array(np.zeros(len(rows), np.int8))),
                                       dtype="str")  # fmt: skip
    counts = np.bincount(codes, minlength=len(FATES))
    r = report
    r.created, r.updated, r.unchanged = (int(counts[FATES.index(k)]) for k in ("create", "update", "unchanged"))
    r.preview = preview
    limit = max_reported_problems()
    r.bad_rows = int(order["line"].nunique())
    r.more_errors = max(len(order) - limit, 0)
    errors = order.drop(columns="_order").head(limit)
    errors = errors.astype({"line": "object", "column": "object", "message": "object"})
    errors = errors.where(errors.notna(), None)
    r.errors = [
        {"line": None if line is None else int(line), "column": column, "message": message}
        for line, column, message in zip(errors["line"], errors["column"], errors["message"], strict=True)
    ]
