"""System (owner only): database health, size and row counts, p50/p95 latency per operation, backup now.

The quick health figures come from ``core.reads.system.system_status`` on every render; the full invariant check
(``core.domain.check``, slow on a big database) runs only when asked. Latency covers the operations this app process
has run since it started. Staff never get here: app.py does not register the page for them, and this page checks
``system.manage`` itself (core checks it again).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.reads.system import backup_now, default_backup_dir, health_check, system_status
from pages import ui


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"  # pragma: no cover


def main() -> None:
    actor = ui.page_header("System", "system.manage")
    db = ui.get_db()
    status = ui.call(system_status, db, actor)
    if status is None:
        return
    ui.tiles(
        ("Database", "Healthy" if status["healthy"] else "Not answering"),
        ("Trivial query", f"{status['query_ms']:.1f} ms"),
        ("Database size", _size(status["size_bytes"])),
        ("Schema version", str(status["schema_version"])),
    )

    left, right = st.columns(2)
    with left:
        st.subheader("Rows per table")
        st.dataframe(pd.DataFrame(status["tables"]), hide_index=True, column_config={"table": "Table", "rows": "Rows"})
    with right:
        st.subheader("Latency per operation")
        if status["latency"]:
            st.dataframe(
                pd.DataFrame(status["latency"]),
                hide_index=True,
                column_config={
                    "action": "Operation",
                    "count": "Count",
                    "p50_ms": st.column_config.NumberColumn("p50 (ms)", format="%.1f"),
                    "p95_ms": st.column_config.NumberColumn("p95 (ms)", format="%.1f"),
                },
            )
            st.caption("The most recent operations (up to 2,000 per kind) run by this app process since it started.")
        else:
            st.info("No operation has run in this app process yet.")

    st.subheader("Full check")
    st.caption("Verifies every stored invariant (stock equals the ledger, nothing negative, versions, references).")
    if st.button("Run full check", key="sys_check"):
        result = ui.call(health_check, db, actor)
        if result is not None and result["ok"]:
            st.success("Every invariant holds.")
        elif result is not None:
            st.error(f"{len(result['problems'])} problem(s) found:")
            st.markdown("\n".join(f"- {ui.md(p)}" for p in result["problems"]))

    st.subheader("Backup")
    st.caption(
        f"A consistent copy of the whole database, written to {ui.md(str(default_backup_dir(db)))}. It leaves out the key that"
        " signs login cookies: a database opened from a backup makes a new one, and everyone signs in again there."
    )
    if st.button("Back up now", key="sys_backup", type="primary"):
        result = ui.call(backup_now, db, actor)
        if result is not None:
            st.success(f"Backup written: `{result['path']}` ({_size(result['bytes'])}).")


main()
