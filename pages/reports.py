"""Reports: the movements ledger filtered by stores, product, kinds and dates, with totals, a chart and export;
and one product across every store.

Totals and the chart are computed by ``core.reads.reports`` over every matching movement; only the newest rows are sent
to the browser. Exports are built when the button is pressed (``st.download_button`` with a callable), holding
every matching row. Staff see and export their own stores only (core enforces it).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.base.permissions import Actor
from core.db.schema import MOVEMENT_KINDS
from core.domain import status
from core.domain.catalog import list_stores
from core.reads.reports import movement_report, product_across_stores
from core.sheets.exporter import export_movements
from pages import ui

KIND_LABELS = {
    "stock_in": "Stock in",
    "sale": "Sale",
    "removal": "Removal",
    "adjustment": "Adjustment (count)",
    "transfer_out": "Transfer out",
    "transfer_in": "Transfer in",
    "order": "Order",
    "order_cancel": "Order cancelled",
}
PREPARED_KEY = "rep_prepared"
MIME = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _filters(actor: Actor) -> dict[str, Any]:
    codes = [s["code"] for s in list_stores(ui.get_db(), actor)]
    top = st.columns([2, 2, 3])
    stores = top[0].multiselect("Stores", codes, key="rep_stores", placeholder="All your stores")
    product = top[1].text_input("Product (SKU or name)", key="rep_product", placeholder="Any product")
    kinds = top[2].multiselect(
        "Kinds", MOVEMENT_KINDS, format_func=KIND_LABELS.get, key="rep_kinds", placeholder="Every kind"
    )
    today = date.today()
    picked = st.date_input("Dates", (today - timedelta(days=29), today), key="rep_dates", max_value=today)
    if isinstance(picked, tuple | list):  # a range; one date while the second is being picked
        start = picked[0] if picked else None
        end = picked[1] if len(picked) > 1 else start
    else:
        start = end = picked
    return {
        "stores": stores or None,
        "product": product.strip() or None,
        "kinds": kinds or None,
        "start": start,
        "end": end,
    }


def _totals(report: dict[str, Any]) -> None:
    totals = pd.DataFrame(report["totals"])
    totals["kind"] = totals["kind"].map(KIND_LABELS)
    st.dataframe(
        totals,
        hide_index=True,
        column_config={"kind": "Kind", "count": "Movements", "units": "Units moved", "net": "Net change"},
        key="rep_totals",
    )


def _chart(report: dict[str, Any]) -> None:
    daily = pd.DataFrame(report["daily"])
    bars = [
        go.Bar(x=part["day"], y=part["units"], name=KIND_LABELS[kind])
        for kind, part in daily.groupby("kind", sort=False)
    ]
    ui.show_figure(go.Figure(bars), title="Units moved per day", x_title="Day", y_title="Units", barmode="stack")


def _rows(report: dict[str, Any]) -> None:
    rows = pd.DataFrame(report["rows"]).drop(columns=["id"])
    rows["kind"] = rows["kind"].map(KIND_LABELS)
    st.dataframe(rows, hide_index=True, key="rep_rows", column_config=ui.movement_columns())
    if report["total_rows"] > report["shown"]:
        st.caption(
            f"The newest {report['shown']:,} of {report['total_rows']:,} movements; totals, chart and "
            "exports cover them all."
        )


def _exports(actor: Actor, filters: dict[str, Any]) -> None:
    """Export buttons. A file is built on a button press through ``ui.call``, so a refusal (e.g. too many rows) is
    shown as a sentence here instead of failing inside the browser's download; it is kept for these filters only."""
    prepared = st.session_state.setdefault(PREPARED_KEY, {})
    wanted = repr(sorted(filters.items()))
    left, right, _ = st.columns([1, 1, 3])
    for col, fmt in ((left, "csv"), (right, "xlsx")):
        if col.button(f"Export {fmt.upper()}", key=f"rep_prepare_{fmt}"):
            data = ui.call(export_movements, ui.get_db(), actor, fmt, **filters)
            if data is not None:
                prepared[fmt] = (wanted, data)
        ready = prepared.get(fmt)
        if ready and ready[0] == wanted:
            col.download_button(
                f"Download movements.{fmt}",
                data=ready[1],
                file_name=f"movements.{fmt}",
                mime=MIME[fmt],
                on_click="ignore",
                key=f"rep_export_{fmt}",
            )


def _movements(actor: Actor) -> None:
    filters = _filters(actor)
    report = ui.call(movement_report, ui.get_db(), actor, **filters)
    if report is None:
        return
    overall = report["overall"]
    ui.tiles(
        ("Movements", f"{overall['count']:,}"),
        ("Units in", f"{overall['units_in']:,}"),
        ("Units out", f"{overall['units_out']:,}"),
        ("Net change", f"{overall['net']:+,}"),
    )
    if not report["total_rows"]:
        st.info("No movements match these filters.")
        return
    _totals(report)
    _chart(report)
    _rows(report)
    _exports(actor, filters)


def _one_product(actor: Actor) -> None:
    sku = st.text_input("SKU", key="rep_sku", placeholder="e.g. RICE-5KG").strip()
    if not sku:
        st.info("Enter a SKU to see its quantity, value and last movement in every store.")
        return
    result = ui.call(product_across_stores, ui.get_db(), actor, sku)
    if result is None:
        return
    product, totals = result["product"], result["totals"]
    st.markdown(
        f"**{ui.md(product['sku'])}** — {ui.md(product['name'])} · {ui.md(product['category'])} · unit price "
        f"{float(product['unit_price']):,.2f} · reorder level {product['reorder_level']}"
        + ("" if product["active"] else " · *deactivated*")
    )
    ui.tiles(
        ("Stores holding it", f"{totals['stores']:,}"),
        ("Units on hand", ui.compact(totals["quantity"], 0), f"{totals['quantity']:,}"),
        ("Stock value", ui.compact(totals["stock_value"]), f"{totals['stock_value']:,.2f}"),
    )
    if not result["stores"]:
        st.info("No store you can see has held this product yet.")
        return
    frame = pd.DataFrame(result["stores"]).drop(columns=["store_active"])
    frame["stock_value"] = frame["stock_value"].astype(float)
    frame["last_kind"] = frame["last_kind"].map(KIND_LABELS)
    frame["status"] = frame["status"].map(status.LABELS)
    st.dataframe(
        frame,
        hide_index=True,
        key="rep_product_rows",
        column_config={
            "store": "Store",
            "store_name": "Store name",
            "quantity": "On hand",
            "stock_value": st.column_config.NumberColumn("Stock value", format="%.2f"),
            "status": "Status",
            "last_movement_at": st.column_config.DatetimeColumn("Last movement", format="YYYY-MM-DD HH:mm"),
            "last_kind": "Last kind",
            "last_delta": st.column_config.NumberColumn("Last change", format="%+d"),
        },
    )


def main() -> None:
    actor = ui.page_header("Reports")
    movements, one = st.tabs(["Movements", "One product across stores"])
    with movements:
        _movements(actor)
    with one:
        _one_product(actor)


main()
