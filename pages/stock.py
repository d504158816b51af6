"""Stock: stock-in (vendor), a sale of several lines at once, removal (with a reason), transfer between stores,
and the store's recent movements below the forms.

Each form sends one core call (``core.domain.stock``) carrying its own client operation id (``ui.op_id``), rotated only
after a success: a resubmission of the same operation is replayed by core, never applied twice. The same values
sent again within ``ui.DOUBLE_SUBMIT_SECONDS`` of a success (a double click whose first run already finished) reuse
that success's id too. A sale is all or nothing: one line short of stock and no line is sold.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.base.permissions import Actor
from core.domain import catalog, grid, stock
from pages import ui

SALE_ROUND_KEY = "sale_round"
SALE_EDITOR = "sale_lines"
NO_VENDOR = "(no vendor)"
SALE_ROWS = 5


@st.cache_data(ttl=60, show_spinner=False)
def _products(key: str) -> dict[str, str]:
    return {p["sku"]: p["name"] for p in grid.product_options(ui.get_db())}


@st.cache_data(ttl=60, show_spinner=False)
def _vendors(key: str) -> list[str]:
    return [v["name"] for v in catalog.list_vendors(ui.get_db())]


@st.cache_data(ttl=30, show_spinner=False)
def _movements(key: str, actor: Actor, store: str) -> list[dict[str, Any]]:
    return stock.recent_movements(ui.get_db(), actor, store, limit=50)


def _done(form_key: str, op: str, values: Any, result: dict[str, Any], message: str) -> None:
    """After a success: remember it (double-click guard), rotate the id, rerun with a note."""
    ui.remember_success(form_key, op, values)
    ui.done(message, result, replayed="That was already recorded; nothing was applied twice.")


def _submit(form_key: str, values: dict[str, Any], fn: Any, *args: Any, message: Any, **kwargs: Any) -> None:
    op = ui.op_id_for(form_key, values)
    result = ui.call(fn, ui.get_db(), ui.current_actor(), *args, client_op_id=op, **kwargs)
    if result is not None:
        _done(form_key, op, values, result, message(result))


def _product_select(label: str, products: dict[str, str], key: str) -> str | None:
    return st.selectbox(
        label,
        list(products),
        index=None,
        format_func=lambda s: f"{s} — {products[s]}",
        key=key,
        placeholder="Type a name or SKU",
    )


def _moved(result: dict[str, Any]) -> str:
    return ", ".join(f"{m['sku']} {m['delta']:+d} (now {m['quantity_after']})" for m in result["movements"])


def _stock_in(store: str, products: dict[str, str], key: str) -> None:
    with st.form("stock_in"):
        sku = _product_select("Product", products, "in_sku")
        qty = st.number_input("Quantity received", min_value=1, value=1, step=1, key="in_qty")
        vendor = st.selectbox("Vendor", [NO_VENDOR, *_vendors(key)], key="in_vendor")
        note = st.text_input("Note (optional)", key="in_note", max_chars=200)
        if not st.form_submit_button("Record stock-in", type="primary"):
            return
    values = {"store": store, "sku": sku, "qty": qty, "vendor": vendor, "note": note}
    if sku is None:
        st.error("Choose a product.")
        return
    _submit(
        "stock_in",
        values,
        stock.stock_in,
        store,
        sku,
        qty,
        vendor=None if vendor == NO_VENDOR else vendor,
        reason=note or None,
        message=lambda r: f"Stock-in recorded: {_moved(r)}.",
    )


def _sale(store: str) -> None:
    round_no = st.session_state.setdefault(SALE_ROUND_KEY, 0)
    with st.form("sale"):
        st.caption("All lines are sold together, or none if any line is short of stock.")
        frame = ui.lines_editor(f"{SALE_EDITOR}_{round_no}", SALE_ROWS)
        if not st.form_submit_button("Record sale", type="primary"):
            return
    lines = ui.filled_lines(frame)
    values = {"store": store, "lines": lines}
    op = ui.op_id_for("sale", values)
    result = ui.call(stock.record_sale, ui.get_db(), ui.current_actor(), store, lines, client_op_id=op)
    if result is not None:
        st.session_state[SALE_ROUND_KEY] = round_no + 1
        units = sum(-m["delta"] for m in result["movements"])
        _done("sale", op, values, result, f"Sale recorded: {len(result['movements'])} line(s), {units} unit(s).")


def _removal(store: str, products: dict[str, str]) -> None:
    with st.form("removal"):
        sku = _product_select("Product", products, "removal_sku")
        qty = st.number_input("Quantity removed", min_value=1, value=1, step=1, key="removal_qty")
        reason = st.selectbox("Reason", stock.REMOVAL_REASONS, key="removal_reason")
        note = st.text_input("Note", key="removal_note", max_chars=120)
        if not st.form_submit_button("Record removal", type="primary"):
            return
    if sku is None:
        st.error("Choose a product.")
        return
    values = {"store": store, "sku": sku, "qty": qty, "reason": reason, "note": note}
    _submit(
        "removal",
        values,
        stock.record_removal,
        store,
        sku,
        qty,
        reason,
        note=note or None,
        message=lambda r: f"Removal recorded ({reason}): {_moved(r)}.",
    )


def _transfer(actor: Actor, store: str, products: dict[str, str]) -> None:
    others = [s["code"] for s in catalog.list_stores(ui.get_db(), actor) if s["code"] != store]
    if not others:
        st.info("A transfer needs a second store you are assigned to.")
        return
    with st.form("transfer"):
        st.write(f"From **{ui.md(store)}**")
        to_store = st.selectbox("To store", others, key="transfer_to")
        sku = _product_select("Product", products, "transfer_sku")
        qty = st.number_input("Quantity", min_value=1, value=1, step=1, key="transfer_qty")
        if not st.form_submit_button("Transfer", type="primary"):
            return
    if sku is None:
        st.error("Choose a product.")
        return
    values = {"from": store, "to": to_store, "sku": sku, "qty": qty}
    _submit(
        "transfer",
        values,
        stock.transfer,
        store,
        to_store,
        [(sku, qty)],
        message=lambda r: f"Transferred {qty} of {sku} from {r['from']} to {r['to']}.",
    )


def _recent(actor: Actor, store: str, key: str) -> None:
    st.subheader(f"Recent movements in {ui.md(store)}")
    rows = ui.call(_movements, key, actor, store)
    if not rows:
        st.caption("No movements yet.")
        return
    frame = pd.DataFrame(rows)[["created_at", "sku", "name", "kind", "delta", "quantity_after", "reason", "actor"]]
    st.dataframe(frame, hide_index=True, width="stretch", column_config=ui.movement_columns())


def main() -> None:
    actor = ui.page_header("Stock")
    store = ui.store_selector(actor, key="stock_store")
    key = ui.data_key()  # one look at the latest change serves every cached read of this run
    products = _products(key)
    if not products:
        st.info("The catalog has no active products yet.")
    tab_in, tab_sale, tab_removal, tab_transfer = st.tabs(
        ["Stock-in", "Sale", "Removal", "Transfer"], key="stock_tab", on_change="rerun"
    )
    with tab_in:
        _stock_in(store, products, key)
    with tab_sale:
        _sale(store)
    with tab_removal:
        _removal(store, products)
    with tab_transfer:
        _transfer(actor, store, products)
    _recent(actor, store, key)


main()
