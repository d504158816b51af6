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

INVENTORY_PAGE = "pages/inventory.py"
INVENTORY_ONLY_KEY = "inventory_only"  # pages/inventory.py's public filter key
INVENTORY_STORE_KEY = "inventory_store"
STORE_BARS = 25


def _money(value: Any) -> str:
    return f"{Decimal(str(value)):,.2f}"  # exact however large (a float would round off the cents)


def _delta(pct: float | None) -> str | None:
    return None if pct is None else f"{pct:+.1f}% vs previous"


def _bar(frame: pd.DataFrame, x: str, y: str, *, title: str, horizontal: bool = False, **labels: str) -> None:
    """A bar chart (graph_objects: plotly.express costs ~25x more server time per chart)."""
    frame = frame.assign(**{x: frame[x].map(ui.chart_text)})  # names and SKUs: text, never plotly's HTML
    if horizontal:
        bar = go.Bar(x=frame[y], y=frame[x].astype(str), orientation="h", name=labels.get(y, y))
        axes = {"xaxis_title": labels.get(y, y), "yaxis_title": labels.get(x, x)}
    else:
        bar = go.Bar(x=frame[x], y=frame[y], name=labels.get(y, y))
        axes = {"xaxis_title": labels.get(x, x), "yaxis_title": labels.get(y, y)}
    fig = go.Figure(bar)
    fig.update_layout(title=title, margin={"l": 10, "r": 10, "t": 40, "b": 10}, height=320, **axes)
    if horizontal:
        fig.update_yaxes(autorange="reversed", type="category")
    st.plotly_chart(fig, width="stretch")


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


def _charts(data: dict[str, Any]) -> None:
    left, right = st.columns(2)
    with left:
        if data["by_category"]:
            _bar(
                pd.DataFrame(data["by_category"]).astype({"stock_value": float}),
                "category",
                "stock_value",
                title="Stock value by category",
                stock_value="Stock value",
                category="Category",
            )
        else:
            st.info("No stock on hand yet: record a stock-in or import a count sheet.")
    with right:
        stores = data["by_store"]
        if stores:
            title = "Stock value by store" if len(stores) <= STORE_BARS else f"Stock value, top {STORE_BARS} stores"
            _bar(
                pd.DataFrame(stores[:STORE_BARS]).astype({"stock_value": float}),
                "store",
                "stock_value",
                title=title,
                horizontal=True,
                stock_value="Stock value",
                store="Store",
            )
        else:
            st.info("No store holds any stock yet.")
    if data["sales"]["units"] == 0:
        st.info(f"No sales in the last {data['period']['days']} days yet.")
    else:
        daily = pd.DataFrame(data["daily"]).astype({"revenue": float})
        fig = go.Figure(
            go.Bar(
                x=daily["day"],
                y=daily["units"],
                customdata=daily["revenue"],
                hovertemplate="%{x|%d %b %Y}<br>%{y} units<br>revenue %{customdata:,.2f}<extra></extra>",
            )
        )
        fig.update_layout(
            title="Units sold per day",
            xaxis_title="Day",
            yaxis_title="Units sold",
            margin={"l": 10, "r": 10, "t": 40, "b": 10},
            height=300,
        )
        st.plotly_chart(fig, width="stretch")
    left, right = st.columns(2)
    with left:
        if data["top_sellers"]:
            _bar(
                pd.DataFrame(data["top_sellers"]),
                "sku",
                "units",
                title="Top sellers (units)",
                horizontal=True,
                sku="SKU",
                units="Units sold",
            )
        else:
            st.info("Top sellers appear once something sells.")
    with right:
        if data["slowest_movers"]:
            _bar(
                pd.DataFrame(data["slowest_movers"]),
                "sku",
                "units",
                title="Slowest movers (units sold)",
                horizontal=True,
                sku="SKU",
                units="Units sold",
            )
        else:
            st.info("Slowest movers appear once products are on hand.")


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
    actor = ui.current_actor()
    st.title("Dashboard")
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
