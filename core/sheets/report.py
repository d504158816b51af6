"""The import report: what an import did (or would do), as values: counts, every error, each row's fate.

Invariants: ``errors`` are ``{"line", "column", "message"}`` sorted by line (``line`` is ``None`` only for a
problem with the whole file, which is then the only error); ``created``/``updated``/``unchanged`` count ROWS by
fate, so they add up to ``rows`` minus the rows with errors (a new SKU counted in two stores is two ``create``
rows); ``preview`` has one row per data row: line, sku, store, fate, message.

This module is the one place that fills in an ``ImportReport``: ``fill_report`` builds it from the cleaned rows
(``core.sheets.clean``: their problems) and what the database said of them (``core.sheets.stage``: the fates,
and the problem rows with a flag per kind of ``KINDS``, worded here by ``database_problems``); ``file_report``
and the ``note_*`` functions record the rest (a file that cannot be imported, the rows, the outcome, the time).

The report's size is bounded whatever the file: ``errors`` lists at most ``max_reported_problems()`` problems
(env ``INVENTORY_IMPORT_MAX_REPORTED_PROBLEMS``, default 2,000), the first by line; ``more_errors`` counts the
ones not listed, and ``error_rows`` still counts every row with a problem (the all-or-nothing decision and the
history row use every problem, listed or not).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from core.base.errors import ValidationError
from core.sheets.clean import LABELS, PRODUCT_FIELDS, CleanRows, Mapping, ProblemList, empty_problems

FATES = ("create", "update", "unchanged", "error")
MAX_REPORTED_PROBLEMS = 2_000
MAX_REPORTED_ENV = "INVENTORY_IMPORT_MAX_REPORTED_PROBLEMS"


@dataclass
class Evaluation:
    """What the database says of an import's rows: each row's fate (``FATES`` index, problems aside) and store
    code, the rows with a problem (as ``import_problems``: a flag per kind of ``KINDS``), how many rows have a new
    SKU with a zero-padded twin (for the owner), and the default store."""

    fates: np.ndarray
    store_codes: pd.Series
    problems: pd.DataFrame
    lookalikes: int
    default_store: dict[str, Any] | None


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


def file_report(report: ImportReport, message: str, kind: str = "file", *, needs_store: bool = False) -> ImportReport:
    """The report of a file or a command that cannot be imported as a whole: ``message`` is its only error."""
    report.errors = [{"line": None, "column": None, "message": message}]
    report.file_error, report.applied, report.needs_store = kind, False, needs_store
    report.more_errors, report.bad_rows, report.lookalike_skus = 0, None, 0
    return report


def note_sheet(report: ImportReport, warnings: list[str]) -> None:
    """The warnings about the file's form and columns."""
    report.warnings = list(warnings)


def note_rows(report: ImportReport, rows: int) -> None:
    """The number of data rows (none: a warning)."""
    report.rows = rows
    if rows == 0:
        report.warnings.append("The file has a header but no data rows: nothing to import.")


def note_outcome(report: ImportReport, applied: bool, import_id: int) -> None:
    """Whether the import was applied, and its history row."""
    report.applied, report.import_id = applied, import_id


def note_time(report: ImportReport, started: float) -> None:
    report.seconds = round(time.perf_counter() - started, 3)


def fill_report(report: ImportReport, cleaned: CleanRows, mapping: Mapping, evaluation: Evaluation) -> pd.DataFrame:
    """Each row's fate (error, create, update, unchanged), the counts, the preview and the sorted errors, from the
    cleaned rows and what the database said of them. Returns the refused lines (``DENIED_COLUMNS``)."""
    found, denied = database_problems(cleaned, mapping, evaluation.problems)
    parts = [p for p in (cleaned.problems, found) if len(p)]
    problems = pd.concat(parts, ignore_index=True) if parts else empty_problems()
    rows = cleaned.rows
    bad = rows["bad"].to_numpy(dtype=bool) | rows["line"].isin(problems["line"]).to_numpy()
    codes = np.where(bad, FATES.index("error"), evaluation.fates).astype(np.int8)
    order = problems.assign(_order=range(len(problems))).sort_values(["line", "_order"], kind="stable")
    r = report
    r.preview = _preview(rows, evaluation.store_codes, codes, order)
    counts = np.bincount(codes, minlength=len(FATES))
    r.created, r.updated, r.unchanged = (int(counts[FATES.index(k)]) for k in ("create", "update", "unchanged"))
    r.store = evaluation.default_store["code"] if evaluation.default_store else None
    r.lookalike_skus = evaluation.lookalikes
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
    return denied


def _preview(rows: pd.DataFrame, stores: pd.Series, codes: np.ndarray, order: pd.DataFrame) -> pd.DataFrame:
    """One row per data row: line, sku, store, fate and its problems' messages."""
    fate = pd.Series(pa.array(FATES, pa.large_string()).take(pa.array(codes)), dtype="str")
    messages = order.groupby("line")["message"].agg("; ".join) if len(order) else pd.Series(dtype="str")
    preview = pd.DataFrame(
        {"line": rows["line"].to_numpy(), "sku": rows["sku"].array, "store": stores.array, "fate": fate.array}
    )
    if len(messages):
        preview["message"] = preview["line"].map(messages).fillna("")
    else:
        blank = pa.array([""], pa.large_string()).take(pa.array(np.zeros(len(rows), np.int8)))
        preview["message"] = pd.Series(blank, dtype="str")
    return preview


DENIED_COLUMNS = ("line", "sku", "store", "action", "message", "attempted")
KINDS = (  # the problems only the database can tell (``core.sheets.stage`` finds them), in the order a line lists them
    "store_missing", "store_unknown", "store_inactive", "store_foreign", "lookalike", "no_name", "no_category",
    "no_unit_price", "inactive", "staff",
)  # fmt: skip


def database_problems(cleaned: CleanRows, mapping: Mapping, found: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The problem rows the database found (``core.sheets.stage``: a flag per kind) as ``(line, column, message)``
    in the order a line lists them, and the refused lines among them (a store that is not the actor's, a staff
    row changing the catalog) with what they attempted."""
    if not len(found):
        return empty_problems(), pd.DataFrame(columns=list(DENIED_COLUMNS))
    found = found.reset_index(drop=True)
    flags = [*KINDS, "is_new", *(f"c_{name}" for name in PRODUCT_FIELDS)]
    flag = {k: found[k].fillna(False).astype(bool) for k in flags}
    sku, twin = found["sku"].astype("str").fillna(""), found["twin"].astype("str")
    code = found["store_code"].astype("str").fillna("")
    out, header = ProblemList(found["line"]), mapping.header
    out.add(flag["store_missing"], header("store"), "The store is missing: fill in the store column or choose a store.")
    out.add(
        flag["store_unknown"],
        header("store"),
        "There is no store with code " + found["store_text"].astype("str").fillna("") + ".",
    )
    out.add(flag["store_inactive"], header("store"), "Store " + code + " is deactivated.")
    foreign = "You are not assigned to store " + code + "."
    out.add(flag["store_foreign"], header("store"), foreign)
    out.add(
        flag["lookalike"],
        header("sku"),
        lambda: (
            sku + " is not in the catalog, but " + twin + " is: did a spreadsheet program drop its leading zeros?"
            " Correct the SKU, or confirm that " + sku + " is a new product."
        ),
    )
    for name in ("name", "category", "unit_price"):
        out.add(flag[f"no_{name}"], header(name), sku + f" is a new product: its {LABELS[name].lower()} is required.")
    out.add(
        flag["inactive"],
        header("quantity"),
        "Product " + sku + " is deactivated; set its active column to yes to count it.",
    )
    column, message, attempted = _staff_problems(cleaned, mapping, found, flag)
    out.add(flag["staff"], column, message)
    quantity = "quantity=" + found["quantity"].astype("Int64").astype("str")
    denied = [
        _denied(found, flag["store_foreign"], "import.counts", foreign, quantity),
        _denied(found, flag["staff"], "import.catalog", message, attempted),
    ]
    return out.frame(), pd.concat(denied, ignore_index=True)


def _staff_problems(
    cleaned: CleanRows, mapping: Mapping, found: pd.DataFrame, flag: dict[str, pd.Series]
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """For staff rows that would change the catalog: the column of the first field changed, the message (a new SKU,
    or the fields changed) and what was attempted (``name=value`` of each, from the file's cells)."""
    sku = found["sku"].astype("str").fillna("")
    column = pd.Series(mapping.header("sku"), index=found.index, dtype=object)
    if not flag["staff"].any():
        return column, pd.Series("", index=found.index, dtype="str"), pd.Series("", index=found.index, dtype="str")
    rows = cleaned.rows
    given = rows.iloc[pd.Index(rows["line"]).get_indexer(found["line"])].reset_index(drop=True)
    new = flag["staff"] & flag["is_new"]
    editing = flag["staff"] & ~new
    what = pd.Series("", index=found.index, dtype="str")
    attempted = pd.Series("", index=found.index, dtype="str")
    for name in reversed(PRODUCT_FIELDS):
        changed = flag[f"c_{name}"]
        column = column.mask(editing & changed, mapping.header(name))
        label = LABELS[name].lower()
        what = (label + (", " + what).where(what != "", "")).where(changed, what)
        value = (name + "=" + given[name].astype("str")).where((changed | new) & given[name].notna(), "")
        attempted = (value + " " + attempted).str.strip()
    hint = (" (" + found["twin"].astype("str") + " is: did a spreadsheet program drop its leading zeros?)").fillna("")
    msg_new = sku + " is not in the catalog" + hint + ": only the owner can add products."
    msg_edit = "Staff can import stock counts only, not catalog changes (this row changes the " + what + ")."
    return column, msg_new.where(new, msg_edit), attempted


def _denied(
    found: pd.DataFrame, mask: pd.Series, action: str, message: pd.Series | str, attempted: pd.Series
) -> pd.DataFrame:
    """The rows in ``mask`` as refused attempts, for the ``denied`` audit row."""
    message = message if isinstance(message, pd.Series) else pd.Series(message, index=found.index)
    return pd.DataFrame(
        {
            "line": found["line"][mask].astype("int64"),
            "sku": found["sku"][mask].astype(object),
            "store": found["store_code"][mask].astype(object),
            "action": action,
            "message": message[mask].astype(object).to_numpy(),
            "attempted": attempted[mask].astype(object).to_numpy(),
        }
    )
