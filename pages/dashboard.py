"""Dashboard: KPI tiles, sales for a period against the previous one, plotly charts and the low-stock list.

Everything is computed by ``core.reads.dashboard.dashboard`` in one call; this page only draws it. The owner filters
by store ("All stores" or one); staff see their own stores. Revenue is units sold x the current catalog price
(sale movements carry no price), as the caption under the tiles says.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.domain import status
from core.reads.dashboard import DEFAULT_COVER_DAYS, PERIODS, dashboard
from pages import ui
from pages.keys import INVENTORY_ONLY_KEY, INVENTORY_STORE_KEY

INVENTORY_PAGE = "pages/inventory.py"
STORE_BARS = 25


def _money(value: Any) -> str:
    return f"{Decimal(str(value)):,.2f}"  # exact however large (a float would round off the cents)


def _delta(pct: float | None) -> str | None:
    return None if pct is None else f"{pct:+.1f}% vs previous"


def _bar(rows: list[dict[str, Any]], x: str, y: str, *, title: str, horizontal: bool = False, **labels: str) -> None:
    """A bar chart of ``rows`` (graph_objects: plotly.express costs ~25x more server time per chart)."""
    frame = pd.DataFrame(rows)
    frame = frame.assign(**{x: frame[x].map(ui.chart_text), y: pd.to_numeric(frame[y])})  # names: text, not HTML
    x_title, y_title = labels.get(x, x), labels.get(y, y)
    if horizontal:
        fig = go.Figure(go.Bar(x=frame[y], y=frame[x].astype(str), orientation="h", name=y_title))
        fig.update_yaxes(autorange="reversed", type="category")
        ui.show_figure(fig, title=title, x_title=y_title, y_title=x_title)
    else:
        fig = go.Figure(go.Bar(x=frame[x], y=frame[y], name=y_title))
        ui.show_figure(fig, title=title, x_title=x_title, y_title=y_title)


def _bar_or_note(rows: list[dict[str, Any]], note: str, x: str, y: str, **chart: Any) -> None:
    """The bar chart of ``rows``, or ``note`` while there are none."""
    if rows:
        _bar(rows, x, y, **chart)
    else:
        st.info(note)


def _open_low_stock(store: str | None) -> None:
    st.session_state[INVENTORY_ONLY_KEY] = "low_or_out"
    if store:
        st.session_state[INVENTORY_STORE_KEY] = store
    st.switch_page(INVENTORY_PAGE)


def _tiles(data: dict[str, Any]) -> None:
    kpis, sales, days = data["kpis"], data["sales"], data["period"]["days"]
    cols = st.columns(5)
    cols[0].metric("SKUs stocked", f"{kpis['total_skus']:,}")
    cols[1].metric("Units on hand", ui.compact(kpis["total_units"], 0), help=f"{kpis['total_units']:,}")
    cols[2].metric("Stock value", ui.compact(kpis["stock_value"]), help=_money(kpis["stock_value"]))
    cols[3].metric("Low stock", f"{kpis['low_stock']:,}")
    cols[4].metric("Out of stock", f"{kpis['out_of_stock']:,}")
    cols = st.columns(2)
    cols[0].metric(
        f"Units sold, last {days} days",
        ui.compact(sales["units"], 0),
        _delta(sales["units_change_pct"]),
        help=f"{sales['units']:,}",
    )
    cols[1].metric(
        f"Revenue, last {days} days",
        ui.compact(sales["revenue"]),
        _delta(sales["revenue_change_pct"]),
        help=_money(sales["revenue"]),
    )
    st.caption(
        f"Period {data['period']['start']:%d %b %Y} to {data['period']['end']:%d %b %Y}, compared with the "
        f"{days} days before. Revenue = units sold x current catalog price (sales carry no price snapshot)."
    )


def _daily_sales(data: dict[str, Any]) -> None:
    if data["sales"]["units"] == 0:
        st.info(f"No sales in the last {data['period']['days']} days yet.")
        return
    daily = pd.DataFrame(data["daily"]).astype({"revenue": float})
    bars = go.Bar(
        x=daily["day"],
        y=daily["units"],
        customdata=daily["revenue"],
        hovertemplate="%{x|%d %b %Y}<br>%{y} units<br>revenue %{customdata:,.2f}<extra></extra>",
    )
    ui.show_figure(go.Figure(bars), title="Units sold per day", x_title="Day", y_title="Units sold", height=300)


def _charts(data: dict[str, Any]) -> None:
    stores = data["by_store"]
    value = {"stock_value": "Stock value"}
    left, right = st.columns(2)
    with left:
        note = "No stock on hand yet: record a stock-in or import a count sheet."
        title = "Stock value by category"
        _bar_or_note(data["by_category"], note, "category", "stock_value", title=title, category="Category", **value)
    with right:
        title = "Stock value by store" if len(stores) <= STORE_BARS else f"Stock value, top {STORE_BARS} stores"
        note = "No store holds any stock yet."
        _bar_or_note(
            stores[:STORE_BARS], note, "store", "stock_value", title=title, horizontal=True, store="Store", **value
        )
    _daily_sales(data)
    units = {"sku": "SKU", "units": "Units sold", "horizontal": True}
    left, right = st.columns(2)
    with left:
        note = "Top sellers appear once something sells."
        _bar_or_note(data["top_sellers"], note, "sku", "units", title="Top sellers (units)", **units)
    with right:
        note = "Slowest movers appear once products are on hand."
        _bar_or_note(data["slowest_movers"], note, "sku", "units", title="Slowest movers (units sold)", **units)


def _low_stock(data: dict[str, Any], store: str | None, cover_days: int) -> None:
    low = data["low_stock"]
    st.subheader("Low stock")
    if not low["total"]:
        st.success("Nothing is at or below its reorder level.")
        return
    kpis = data["kpis"]
    banner, action = st.columns([4, 1])
    banner.warning(
        f"{kpis['low_stock']:,} low and {kpis['out_of_stock']:,} out of stock "
        f"({low['total']:,} store/product rows at or below the reorder level)."
    )
    if action.button("Show just these in Inventory", key="dash_open_low"):
        _open_low_stock(store)
    frame = pd.DataFrame(low["rows"])
    frame["days_of_cover"] = frame["days_of_cover"].astype(float)
    frame["status"] = frame["status"].map(status.LABELS)
    st.dataframe(
        frame[
            [
                "store",
                "sku",
                "name",
                "status",
                "quantity",
                "reorder_level",
                "units_sold",
                "daily_sales",
                "days_of_cover",
                "suggested_reorder",
            ]
        ],
        hide_index=True,
        width="stretch",
        column_config={
            "store": "Store",
            "sku": "SKU",
            "name": "Name",
            "status": "Status",
            "quantity": st.column_config.NumberColumn("On hand"),
            "reorder_level": st.column_config.NumberColumn("Reorder level"),
            "units_sold": st.column_config.NumberColumn(f"Sold ({data['period']['days']} d)"),
            "daily_sales": st.column_config.NumberColumn("Per day", format="%.2f"),
            "days_of_cover": st.column_config.NumberColumn(
                "Days of cover", format="%.1f", help="On hand / average daily sales; empty when nothing sold."
            ),
            "suggested_reorder": st.column_config.NumberColumn(
                "Suggested reorder",
                help=f"Enough for {cover_days} days of average sales, and at least one above the reorder level.",
            ),
        },
    )
    if low["total"] > len(low["rows"]):
        st.caption(f"The {len(low['rows']):,} most urgent of {low['total']:,} rows (least cover first).")


def main() -> None:
    actor = ui.page_header("Dashboard")
    left, middle, right = st.columns(3)
    with left:
        store = ui.store_selector(actor, key="dash_store", include_all=True)
    days = middle.selectbox(
        "Period", PERIODS, index=PERIODS.index(30), format_func=lambda d: f"Last {d} days", key="dash_days"
    )
    cover = right.number_input(
        "Reorder for days of cover", min_value=1, max_value=365, value=DEFAULT_COVER_DAYS, step=1, key="dash_cover"
    )
    data = ui.call(dashboard, ui.get_db(), actor, store, days=days, cover_days=int(cover))
    if data is None:
        return
    _tiles(data)
    _charts(data)
    _low_stock(data, store, int(cover))


main()
