"""Audit log (owner only): who did what, filtered by actor, action, outcome and dates.

``denied`` rows are the tripwires (a refused attempt, e.g. staff trying to change a price): they are counted
above the table, highlighted in it, and one click filters to them. Before/after values are parsed by core and
shown as a per-field diff. Staff never get here: app.py does not register the page for them, and this page
checks ``audit.read`` itself (core checks it again).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.reads.audit_log import audit_log, audit_options
from pages import ui

ANY = "Any"
OUTCOME_KEY = "aud_outcome"
HIGHLIGHT = {"denied": "background-color: rgba(255, 75, 75, 0.25)", "error": "background-color: rgba(255, 170, 0, 0.2)"}


def _only_denied() -> None:
    st.session_state[OUTCOME_KEY] = "denied"


def _summary(changes: list[dict[str, str]]) -> str:
    parts = [f"{c['field']}: {c['before'] or '∅'} → {c['after'] or '∅'}" for c in changes[:4]]
    return "; ".join(parts) + (f" (+{len(changes) - 4} more)" if len(changes) > 4 else "")


def _filters(options: dict[str, list[str]]) -> dict[str, Any]:
    cols = st.columns(5)
    who = cols[0].selectbox("Who", [ANY, *options["actors"]], key="aud_actor")
    action = cols[1].selectbox("Action", [ANY, *options["actions"]], key="aud_action")
    outcome = cols[2].selectbox("Outcome", [ANY, *options["outcomes"]], key=OUTCOME_KEY)
    start = cols[3].date_input("From", value=None, key="aud_from")
    end = cols[4].date_input("To", value=None, key="aud_to")
    return {
        "who": None if who == ANY else who,
        "action": None if action == ANY else action,
        "outcome": None if outcome == ANY else outcome,
        "start": start,
        "end": end,
    }


def _table(rows: list[dict[str, Any]]) -> None:
    frame = pd.DataFrame(
        [
            {
                "id": r["id"],
                "at": r["created_at"],
                "actor": r["actor"],
                "action": r["action"],
                "entity": f"{r['entity']} {r['entity_id'] or ''}".strip(),
                "outcome": r["outcome"],
                "changes": _summary(r["changes"]),
                "detail": r["detail"] or "",
            }
            for r in rows
        ]
    )
    styled = frame.style.apply(lambda row: [HIGHLIGHT.get(row["outcome"], "")] * len(row), axis=1)
    st.dataframe(
        styled,
        hide_index=True,
        column_config={
            "id": st.column_config.NumberColumn("#", format="%d"),
            "at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm:ss"),
            "actor": "Who",
            "action": "Action",
            "entity": "What",
            "outcome": "Outcome",
            "changes": st.column_config.TextColumn("Changes", width="large"),
            "detail": "Detail",
        },
    )


def _details(rows: list[dict[str, Any]]) -> None:
    row = ui.pick(
        "Show one entry in full",
        rows,
        lambda r: f"#{r['id']} · {r['action']} · {r['actor']} · {r['outcome']}",
        key="aud_detail",
    )
    if row is None:
        return
    if row["outcome"] == "denied":
        st.error(f"Refused: {ui.md(row['detail']) if row['detail'] else 'no reason recorded'}")
    elif row["detail"]:
        st.caption(ui.md(row["detail"]))
    if row["changes"]:
        st.dataframe(
            pd.DataFrame(row["changes"]),
            hide_index=True,
            column_config={"field": "Field", "before": "Before", "after": "After"},
        )
    left, right = st.columns(2)
    with left:
        st.caption("Before")
        st.json(row["before"] if row["before"] is not None else {}, expanded=True)
    with right:
        st.caption("After (or what was attempted)" if row["outcome"] != "ok" else "After")
        st.json(row["after"] if row["after"] is not None else {}, expanded=True)


def _counts(log: dict[str, Any], filters: dict[str, Any]) -> None:
    """The entries by outcome; refused attempts (tripwires) are called out, with a button that shows only them."""
    counts = log["by_outcome"]
    ui.tiles(
        ("Entries", f"{log['total']:,}"),
        ("Denied (tripwires)", f"{counts['denied']:,}"),
        ("Conflicts", f"{counts['conflict']:,}"),
        ("Errors", f"{counts['error']:,}"),
    )
    if counts["denied"] and filters["outcome"] != "denied":
        warn, act = st.columns([4, 1])
        warn.error(
            f"{counts['denied']:,} refused attempt(s) match these filters: someone tried something their role forbids."
        )
        act.button("Show only denied", key="aud_only_denied", on_click=_only_denied)


def main() -> None:
    actor = ui.page_header("Audit log", "audit.read")
    options = ui.call(audit_options, ui.get_db(), actor)
    if options is None:
        return
    filters = _filters(options)
    log = ui.call(audit_log, ui.get_db(), actor, **filters)
    if log is None:
        return
    _counts(log, filters)
    if not log["rows"]:
        st.info("No audit entries match these filters.")
        return
    _table(log["rows"])
    if log["total"] > len(log["rows"]):
        st.caption(f"The newest {len(log['rows']):,} of {log['total']:,} entries; the counts above cover them all.")
    _details(log["rows"])


main()
