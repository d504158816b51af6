"""Orders: create an order with lines (stock is reduced at once and each line keeps the price of the moment),
list a store's orders by status, ship or cancel a pending one (cancelling puts the stock back).

Only pending orders change status; core refuses any other transition (for instance an order someone else
shipped a moment ago) with a sentence shown here. Each submit carries its own client operation id
(``ui.op_id``), rotated after a success, so a resubmission is applied once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from core.base.permissions import Actor
from core.domain import orders
from pages import ui

ORDER_ROUND_KEY = "order_round"
STATUS_KEY = "orders_status"
STATUS_FILTER = ["all", *orders.STATUSES]
ORDER_ROWS = 5


@st.cache_data(ttl=30, show_spinner=False)
def _orders(key: str, actor: Actor, store: str, status: str) -> list[dict[str, Any]]:
    return orders.list_orders(ui.get_db(), actor, store=store, status=None if status == "all" else status)


@st.cache_data(ttl=30, show_spinner=False)
def _lines_of(key: str, actor: Actor, order_id: int) -> list[dict[str, Any]]:
    return orders.order_lines(ui.get_db(), actor, order_id)


def _done(form_key: str, result: dict[str, Any], message: str, op: str = "", values: Any = None) -> None:
    if op:
        ui.remember_success(form_key, op, values)
    else:
        ui.new_op_id(form_key)
    ui.done(message, result)


def _new_order(store: str) -> None:
    round_no = st.session_state.setdefault(ORDER_ROUND_KEY, 0)
    with st.expander("New order", expanded=True), st.form("new_order"):
        customer = st.text_input("Customer (optional)", key="order_customer", max_chars=100)
        frame = ui.lines_editor(f"order_lines_{round_no}", ORDER_ROWS)
        st.caption("Stock is reduced when the order is created; each line keeps today's price.")
        if not st.form_submit_button("Create order", type="primary"):
            return
    lines = ui.filled_lines(frame)
    values = {"store": store, "customer": customer, "lines": lines}
    op = ui.op_id_for("new_order", values)
    result = ui.call(
        orders.create_order, ui.get_db(), ui.current_actor(), store, lines, customer=customer or None, client_op_id=op
    )
    if result is not None:
        st.session_state[ORDER_ROUND_KEY] = round_no + 1
        total = sum(Decimal(line["unit_price"]) * line["quantity"] for line in result["lines"])
        message = f"Order #{result['order_id']} created: {len(result['lines'])} line(s), total {total}."
        _done("new_order", result, message, op, values)


def _transition(order_id: int, action: str) -> None:
    form_key = f"order_{action}:{order_id}"
    fn = orders.ship_order if action == "ship" else orders.cancel_order
    result = ui.call(fn, ui.get_db(), ui.current_actor(), order_id, client_op_id=ui.op_id(form_key))
    if result is not None:
        restored = f"; {len(result['movements'])} line(s) back in stock" if result["movements"] else ""
        _done(form_key, result, f"Order #{order_id} {result['status']}{restored}.")


def _order_list(actor: Actor, store: str) -> None:
    st.subheader(f"Orders of {ui.md(store)}")
    st.session_state.setdefault(STATUS_KEY, "all")
    status = st.segmented_control("Status", STATUS_FILTER, key=STATUS_KEY, format_func=str.capitalize)
    key = ui.data_key()  # one look at the latest change serves both cached reads
    rows = ui.call(_orders, key, actor, store, status or "all")
    if not rows:
        st.caption("No orders with this status.")
        return
    frame = pd.DataFrame(rows)[["id", "status", "customer", "lines", "units", "total", "created_by", "created_at"]]
    frame["total"] = frame["total"].astype(float)
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={"total": st.column_config.NumberColumn("Total", format="%.2f")},
    )
    order = ui.pick(
        "Order", rows, lambda o: f"#{o['id']} — {o['status']} — {o['customer'] or 'no customer'}", key="order_pick"
    )
    if order is None:
        return
    chosen = order["id"]
    lines = ui.call(_lines_of, key, actor, chosen)
    if lines:
        st.dataframe(pd.DataFrame(lines), hide_index=True, width="stretch")
    pending = order["status"] == "pending"
    ship, cancel = st.columns(2)
    if ship.button("Ship", key="order_ship", type="primary", disabled=not pending):
        _transition(chosen, "ship")
    if cancel.button("Cancel order (restores stock)", key="order_cancel", disabled=not pending):
        _transition(chosen, "cancel")
    if not pending:
        st.caption(f"Order #{chosen} is {order['status']}: only pending orders can be shipped or cancelled.")


def main() -> None:
    actor = ui.page_header("Orders")
    store = ui.store_selector(actor, key="orders_store")
    _new_order(store)
    _order_list(actor, store)


main()
