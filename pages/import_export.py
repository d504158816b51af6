"""Import / export: upload a CSV, XLSX, XLS or ODS, preview every row's fate, commit; download exports; import history.

The preview is a dry run of the very import that the commit button runs (``core.sheets.importer.import_file``), so
what the preview says is what the commit does (the commit checks everything again against the database of that
moment). The owner imports catalog changes and counts; staff import counts for their own stores (core refuses
the rest, row by row). Exports: the owner gets the catalog, stock and movements; staff the stock of their stores.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
import streamlit as st

from core.base.errors import InventoryError
from core.base.permissions import Actor
from core.sheets import exporter, importer
from pages import ui

PREVIEW_KEY = "import_preview"
RESULT_KEY = "import_result"
UPLOADER_KEY = "import_uploader_round"
LOOKALIKE_KEY, LOOKALIKE_FILE_KEY = "import_lookalike", "import_lookalike_file"
FATE_LABELS = {"create": "New", "update": "Update", "unchanged": "Unchanged", "error": "Error"}
UPLOAD_TYPES = ["csv", "tsv", "txt", "xlsx", "xls", "ods"]


def _progress_bar(text: str) -> tuple[Any, Any]:
    bar = st.progress(0.0, text=text)

    def update(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=message)

    return bar, update


def _run_import(
    label: str, actor: Actor, data: bytes, name: str, store: str | None, **mode: bool
) -> importer.ImportReport | None:
    """``import_file`` with a progress bar; ``None`` (the error shown) when it raised."""
    bar, update = _progress_bar(label)
    report = ui.call(
        importer.import_file, ui.get_db(), actor, data, file_name=name, store=store, progress=update, **mode
    )
    bar.empty()
    return report


def _preview(
    actor: Actor, data: bytes, name: str, store: str | None, allow: bool = False
) -> importer.ImportReport | None:
    """The dry-run report of this file (kept in the session until the file, the store or the confirmation of
    look-alike SKUs changes)."""
    key = (hashlib.sha256(data).hexdigest(), name, store, actor.email, allow)
    cached = st.session_state.get(PREVIEW_KEY)
    if cached and cached["key"] == key:
        return cached["report"]
    report = _run_import(f"Reading {name}", actor, data, name, store, dry_run=True, allow_new_like_existing=allow)
    if report is not None:
        st.session_state[PREVIEW_KEY] = {"key": key, "report": report}
    return report


def _summary(report: importer.ImportReport) -> None:
    cols = st.columns(5)
    cols[0].metric("Rows", f"{report.rows:,}")
    cols[1].metric("New", f"{report.created:,}")
    cols[2].metric("Updated", f"{report.updated:,}")
    cols[3].metric("Unchanged", f"{report.unchanged:,}")
    cols[4].metric("With errors", f"{report.error_rows:,}")


def _errors(report: importer.ImportReport, key: str) -> None:
    if not report.errors:
        return
    st.error(
        f"{report.error_rows:,} rows have errors ({report.problems:,} problems)."
        " Fix them in the file and upload it again, or skip those rows."
    )
    frame = pd.DataFrame(report.errors, columns=["line", "column", "message"])
    st.dataframe(frame, hide_index=True, width="stretch", height=min(400, 38 + 35 * len(frame)))
    if report.not_listed():
        st.caption(report.not_listed())  # counts only: no text from the file
    stem = report.file_name.rsplit(".", 1)[0] or "import"
    st.download_button(
        "Download the error report (CSV)",
        report.error_report_csv(),
        file_name=f"{stem}-errors.csv",
        mime="text/csv",
        key=f"error_report_{key}",
        on_click="ignore",
    )


def _preview_table(report: importer.ImportReport) -> None:
    preview = report.preview.copy()
    preview["fate"] = preview["fate"].map(FATE_LABELS)
    show = st.segmented_control("Show rows", ["All", *FATE_LABELS.values()], default="All", key="import_filter")
    if show and show != "All":
        preview = preview[preview["fate"] == show]
    st.dataframe(
        preview.rename(columns={"line": "Line", "sku": "SKU", "store": "Store", "fate": "Fate", "message": "Message"}),
        hide_index=True,
        width="stretch",
        height=min(420, 38 + 35 * max(len(preview), 1)),
    )


def _commit(actor: Actor, data: bytes, name: str, store: str | None, skip: bool, allow: bool) -> None:
    report = _run_import("Importing", actor, data, name, store, skip_invalid=skip, allow_new_like_existing=allow)
    if report is None:
        return
    st.session_state[RESULT_KEY] = report
    st.session_state.pop(PREVIEW_KEY, None)
    st.session_state[UPLOADER_KEY] = st.session_state.get(UPLOADER_KEY, 0) + 1
    ui.clear_caches()
    st.rerun()


def _result(report: importer.ImportReport) -> None:
    if report.applied:
        skipped = f" {report.error_rows:,} rows with errors were skipped." if report.error_rows else ""
        st.success(
            f"Imported {ui.md(report.file_name)}: {report.created:,} new, {report.updated:,} updated,"
            f" {report.unchanged:,} unchanged.{skipped}"
        )
    else:
        st.error(f"Nothing was imported from {ui.md(report.file_name)}: {ui.md(report.errors[0]['message'])}")
    _errors(report, "result")
    if st.button("Import another file", key="import_again"):
        st.session_state.pop(RESULT_KEY, None)
        st.rerun()


def import_tab(actor: Actor) -> None:
    result = st.session_state.get(RESULT_KEY)
    if result is not None:
        _result(result)
        return
    if actor.is_owner:
        st.caption(
            "Upload the catalog and/or stock counts as CSV, XLSX, XLS or ODS (the first sheet). A SKU that exists is updated (blank cells"
            " leave a value as it is), a new SKU is added, and a quantity SETS the count of its store."
        )
    else:
        st.caption(
            "Upload a count sheet (CSV, XLSX, XLS or ODS) for your store: each quantity sets the count of its SKU."
        )
    round_ = st.session_state.get(UPLOADER_KEY, 0)
    upload = st.file_uploader("Spreadsheet", type=UPLOAD_TYPES, key=f"import_file_{round_}")
    if upload is None:
        return
    data, name = upload.getvalue(), upload.name
    report = _preview(actor, data, name, None)
    store = None
    if report is not None and report.needs_store:
        st.info("This file has quantities but no store column: choose the store they were counted in.")
        store = ui.store_selector(actor, key="import_store", label="Store for these counts")
        report = _preview(actor, data, name, store)
    allow = False
    if report is not None and not report.file_error and report.lookalike_skus and actor.is_owner:
        allow = _confirm_lookalikes(report, data)
        if allow:
            report = _preview(actor, data, name, store, True)
    if report is None:
        return
    if report.file_error:
        st.error(ui.md(report.errors[0]["message"]))
        return
    for warning in report.warnings:
        st.warning(ui.md(warning))
    _summary(report)
    _errors(report, "preview")
    _preview_table(report)
    skip = st.checkbox("Skip the rows with errors and import the others", key="import_skip", disabled=not report.errors)
    blocked = bool(report.errors) and not skip
    nothing = report.created + report.updated == 0
    label = "Import" if not nothing else "Import (nothing would change)"
    if blocked:
        st.caption("Nothing can be imported while rows have errors, unless you skip those rows.")
    if st.button(label, type="primary", key="import_commit", disabled=blocked):
        _commit(actor, data, name, store or report.store, skip, allow)


def _confirm_lookalikes(report: importer.ImportReport, data: bytes) -> bool:
    """The owner's confirmation that new all-digit SKUs looking like existing ones (``123`` beside ``00123``) are
    new products. Unticked again for every new file."""
    digest = hashlib.sha256(data).hexdigest()
    if st.session_state.get(LOOKALIKE_FILE_KEY) != digest:
        st.session_state.pop(LOOKALIKE_KEY, None)
        st.session_state[LOOKALIKE_FILE_KEY] = digest
    rows = "1 row has" if report.lookalike_skus == 1 else f"{report.lookalike_skus:,} rows have"
    st.warning(
        f"{rows} a new SKU that differs from an existing SKU only by leading zeros."
        " A spreadsheet program drops them when it reads a SKU such as 00123 as a number: correct those SKUs in"
        " the file, or confirm below that they are new products."
    )
    return st.checkbox("These SKUs are new products: add them", key=LOOKALIKE_KEY)


def _export_data(actor: Actor, what: str, store: str | None, fmt: str) -> Any:
    def build() -> bytes:
        try:
            return exporter.export_bytes(ui.get_db(), actor, what, store=store, fmt=fmt)[0]
        except InventoryError as exc:  # runs on Streamlit's download thread: nothing can be drawn from here
            return f"The export was refused: {exc}".encode()
        except Exception as exc:
            return f"The export failed (error id {ui.error_id_for(exc)}); nothing was changed.".encode()

    return build


def export_tab(actor: Actor) -> None:
    choices = {"Stock": "stock"} if not actor.is_owner else {
        "Catalog (products)": "products", "Stock": "stock", "Movements": "movements"
    }  # fmt: skip
    label = st.radio("What", list(choices), horizontal=True, key="export_what")
    what = choices[label]
    store = None
    if what != "products":
        store = ui.store_selector(actor, key="export_store", label="Store", include_all=True)
    fmt = st.radio("Format", ["csv", "xlsx"], horizontal=True, key="export_format", format_func=str.upper)
    suffix = f"-{store}" if store else ""
    st.download_button(
        f"Download {label.lower()} ({fmt.upper()})",
        _export_data(actor, what, store, fmt),
        file_name=f"{what}{suffix}.{fmt}",
        mime=exporter.FORMATS[fmt],
        key="export_download",
        on_click="ignore",
        type="primary",
    )
    st.caption(
        "The file's columns are the import's: an exported file imported again changes nothing."
        + (" A stock export for one store lists every product (a count sheet)." if what == "stock" else "")
    )


def history_tab(actor: Actor) -> None:
    rows = ui.call(importer.history, ui.get_db(), actor)
    if not rows:
        st.caption("No imports yet.")
        return
    frame = pd.DataFrame(rows)[
        ["created_at", "file_name", "actor", "store", "rows", "created", "updated", "unchanged", "errors", "applied"]
    ]
    st.dataframe(frame, hide_index=True, width="stretch")


def main() -> None:
    actor = ui.current_actor()
    st.title("Import / export")
    tabs = st.tabs(["Import", "Export", "History"])
    with tabs[0]:
        import_tab(actor)
    with tabs[1]:
        export_tab(actor)
    with tabs[2]:
        history_tab(actor)


main()
