"""Inventory: one store's products with their stock in an editable grid, a page of rows at a time.

Filters (search by name or SKU, category chips, low/out of stock) and paging run in core (``core.domain.grid``), so the
browser never receives more than a page. The grid shows exactly the page loaded, with the versions it was loaded
at kept server-side in ``st.session_state[GRID_KEY]``: a save sends only the rows the user edited, with those
versions, in one ``core.domain.grid.save_grid`` call. Staff edit quantities only (the other columns are locked and
marked); a crafted edit of a locked column still reaches core, which refuses it. A conflict opens a dialog: keep
mine, take theirs, or edit again.

``pages.keys.INVENTORY_ONLY_KEY`` and ``INVENTORY_STORE_KEY`` are public: another page sets the filter (``"low"``,
``"low_or_out"``) and the store before switching here (or links with ``?only=low``) to show just those rows. The
owner's product forms (add, deactivate, vendor, reactivate) are the Products page (``pages/products.py``).
"""

from __future__ import annotations

import uuid
from typing import Any

import pandas as pd
import streamlit as st

from core.base.errors import ConflictError
from core.base.permissions import Actor
from core.domain import catalog, grid, grid_conflicts
from pages import ui
from pages.keys import INVENTORY_ONLY_KEY, INVENTORY_STORE_KEY

GRID_KEY = "inventory_grid"
CONFLICT_KEY = "inventory_conflict"
PAGE_KEY = "inventory_page"
SAVE_FORM = "inventory_grid"
ONLY_LABELS = {"all": "All", "low": "Low stock", "out": "Out of stock", "low_or_out": "Low or out"}
STATUS_MARKS = {"out": "🔴 Out", "low": "🟠 Low", "ok": "🟢 OK", "none": "⚪ Not stocked"}
COLUMNS = ["sku", "name", "category", "unit_price", "reorder_level", "quantity", "status", "vendor"]


@st.cache_data(ttl=60, show_spinner=False, max_entries=200)
def _load(key: str, actor: Actor, store: str, search: str, cats: tuple[str, ...], only: str, page: int) -> dict:
    return grid.inventory_page(ui.get_db(), actor, store, search=search, categories=cats, only=only, page=page)


@st.cache_data(ttl=60, show_spinner=False)
def _categories(key: str) -> list[str]:
    return catalog.categories(ui.get_db())


def _reset_grid() -> None:
    """Forget the loaded page: the next run reloads it under a new editor key (discarding the widget's edits)."""
    st.session_state.pop(GRID_KEY, None)
    ui.clear_caches()


def _first_page() -> None:
    st.session_state[PAGE_KEY] = 1


def _show_only(value: str) -> None:
    st.session_state[INVENTORY_ONLY_KEY] = value
    _first_page()


def _saved(result: dict[str, Any], note: str = "") -> None:
    ui.new_op_id(SAVE_FORM)
    _reset_grid()
    if result.get("replayed"):
        ui.flash("That save was already applied; nothing was written twice.", "info")
        return
    products, counts = len(result["products_updated"]), len(result["counts_updated"])
    ui.flash(f"Saved: {products} product(s) updated, {counts} count(s) adjusted.{note}")


def _save(store: str, edits: list[grid.RowEdit], note: str = "") -> None:
    """One ``save_grid`` call; a conflict (re)opens the dialog with these edits."""
    actor, db = ui.current_actor(), ui.get_db()
    try:
        result = grid.save_grid(db, actor, store, edits, client_op_id=ui.op_id(SAVE_FORM))
    except ConflictError as exc:
        st.session_state[CONFLICT_KEY] = {"store": store, "edits": edits, "error": exc}
        return
    except Exception as exc:
        ui.flash(exc, "error")
        return
    _saved(result, note)


# ---- the conflict dialog: each button is an on_click callback ------------------------------------------------


def _keep_mine() -> None:
    pending = st.session_state.pop(CONFLICT_KEY)
    _save(pending["store"], grid_conflicts.keep_mine(pending["edits"], pending["error"]), " Your values were kept.")


def _take_theirs() -> None:
    pending = st.session_state.pop(CONFLICT_KEY)
    rest = grid_conflicts.take_theirs(pending["edits"], pending["error"])
    if rest:
        _save(pending["store"], rest, " The rows changed by someone else keep their values.")
    else:
        _reset_grid()
        ui.flash("Nothing was saved: the grid now shows the current values.", "info")


def _edit_again() -> None:
    pending = st.session_state.pop(CONFLICT_KEY)
    loaded = st.session_state.get(GRID_KEY)
    if loaded is None:
        return
    loaded["data"] = {**loaded["data"], "rows": grid_conflicts.rebase_rows(loaded["data"]["rows"], pending["error"])}
    loaded["changed"] = grid_conflicts.describe_conflicts(pending["error"], pending["edits"])
    ui.flash("Your edits are still in the grid, now on top of the current values. Change them and save.", "info")


def _conflict_table(lines: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "SKU": x["sku"],
                "Column": x["label"],
                "Your value": str(x["yours"]),
                "Current value": str(x["current"]),
                "Changed by": x["changed_by"] or "someone",
                "When": x["changed_at"].strftime("%Y-%m-%d %H:%M:%S") if x["changed_at"] else "",
            }
            for x in lines
        ]
    )


@st.dialog("Someone else changed these rows", width="large", dismissible=False)
def _conflict_dialog() -> None:
    pending = st.session_state.get(CONFLICT_KEY)
    if pending is None:  # a button's callback resolved it; the dialog's own rerun closes it with the whole page
        st.rerun()
    st.write(ui.md(pending["error"]))
    st.dataframe(
        _conflict_table(grid_conflicts.describe_conflicts(pending["error"], pending["edits"])),
        hide_index=True,
    )
    keep, theirs, again = st.columns(3)
    keep.button(
        "Keep mine", on_click=_keep_mine, type="primary", key="conflict_keep", help="Save your values over theirs."
    )
    theirs.button(
        "Take theirs",
        on_click=_take_theirs,
        key="conflict_theirs",
        help="Drop your changes to these rows; your other changes are saved.",
    )
    again.button(
        "Edit again",
        on_click=_edit_again,
        key="conflict_again",
        help="Back to the grid with your edits on top of the current values; nothing is saved yet.",
    )


# ---- the page ----------------------------------------------------------------------------------------------


def _grid_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[*COLUMNS, "product_version", "stock_version"])[COLUMNS]
    frame["unit_price"] = frame["unit_price"].astype(float)
    frame["quantity"] = frame["quantity"].astype("int64")
    frame["reorder_level"] = frame["reorder_level"].astype("int64")
    frame["status"] = frame["status"].map(STATUS_MARKS)
    frame["vendor"] = frame["vendor"].fillna("")
    return frame


def _column_config(owner: bool) -> dict[str, Any]:
    lock = "" if owner else "🔒 "
    locked_help = None if owner else "Only the owner can change this."
    return {
        "sku": st.column_config.TextColumn("SKU", disabled=True),
        "name": st.column_config.TextColumn(f"{lock}Name", max_chars=100, required=True, help=locked_help),
        "category": st.column_config.TextColumn(f"{lock}Category", max_chars=50, required=True, help=locked_help),
        "unit_price": st.column_config.NumberColumn(
            f"{lock}Unit price",
            min_value=0,
            step=0.01,
            format="%.2f",
            required=True,
            help="Only the owner can change prices." if not owner else None,
        ),
        "reorder_level": st.column_config.NumberColumn(
            f"{lock}Reorder level", min_value=0, step=1, required=True, help=locked_help
        ),
        "quantity": st.column_config.NumberColumn("Quantity", min_value=0, step=1, required=True),
        "status": st.column_config.TextColumn("Status", disabled=True),
        "vendor": st.column_config.TextColumn("Vendor", disabled=True),
    }


def _consume_link() -> None:
    """``?only=low`` in the URL (a link from the dashboard) sets the filter once."""
    wanted = st.query_params.get("only")
    if wanted in ONLY_LABELS:
        st.session_state[INVENTORY_ONLY_KEY] = wanted
        st.session_state[PAGE_KEY] = 1
    if "only" in st.query_params:
        del st.query_params["only"]


def _loaded(actor: Actor, query: dict[str, Any], key: str) -> dict[str, Any]:
    """The page as loaded for this query: reused until the query changes, a save, or a reload."""
    loaded = st.session_state.get(GRID_KEY)
    if loaded is None or loaded["query"] != query:
        data = _load(key, actor, **query)
        loaded = {"query": {**query, "page": data["page"]}, "data": data, "key": f"grid_{uuid.uuid4().hex[:10]}"}
        st.session_state[GRID_KEY] = loaded
    return loaded


def _banner(data: dict[str, Any], only: str) -> None:
    low, out = data["low"], data["out"]
    if not (low or out):
        return
    with st.container(border=True, horizontal=True, vertical_alignment="center"):
        st.warning(f"{low} product(s) low on stock and {out} out of stock in {ui.md(data['store'])}.", icon="⚠️")
        if only == "low_or_out":
            st.button("Show all products", key="banner_all", on_click=_show_only, args=("all",))
        else:
            st.button("Show just these", key="banner_only", on_click=_show_only, args=("low_or_out",))


def _save_button(actor: Actor, store: str, loaded: dict[str, Any]) -> None:
    state = st.session_state.get(loaded["key"]) or {}
    edited = state.get("edited_rows") or {}
    left, right = st.columns([1, 1])
    clicked = left.button(
        f"Save {len(edited)} edited row(s)" if edited else "Save",
        type="primary",
        disabled=not edited,
        key="grid_save",
    )
    if right.button("Reload (discard edits)", key="grid_reload"):
        _reset_grid()
        st.rerun()  # the whole page: the button sits in the grid's fragment
    if not clicked:
        return
    edits = ui.call(grid.edits_from_positions, loaded["data"]["rows"], edited)
    if edits is None:
        return
    _save(store, edits)
    st.rerun()


def _edits_fit(loaded: dict[str, Any]) -> bool:
    """True when the editor's diff names only positions of the loaded page (a crafted one would crash it)."""
    state = st.session_state.get(loaded["key"]) or {}
    count = len(loaded["data"]["rows"])
    try:
        return all(0 <= int(p) < count for p in (state.get("edited_rows") or {}))
    except (TypeError, ValueError):
        return False


@st.fragment
def _grid_section(actor: Actor, store: str) -> None:
    loaded = st.session_state.get(GRID_KEY)
    if loaded is None:  # forgotten during a fragment-only rerun: reload the whole page
        st.rerun()
    data = loaded["data"]
    if not data["rows"]:
        st.info("No products match these filters.")
        return
    if loaded.get("changed"):
        st.caption("Changed by someone else since you loaded the grid (your edits are still in the grid):")
        st.dataframe(_conflict_table(loaded["changed"]), hide_index=True)
    if not _edits_fit(loaded):
        _reset_grid()
        ui.flash("The edits sent did not match the rows on this page; the grid was reloaded.", "error")
        st.rerun()
    owner = actor.is_owner
    st.data_editor(
        _grid_frame(data["rows"]),
        key=loaded["key"],
        hide_index=True,
        num_rows="fixed",
        column_config=_column_config(owner),
        disabled=["sku", "status", "vendor"] if owner else [c for c in COLUMNS if c != "quantity"],
        width="stretch",
    )
    if not owner:
        st.caption("🔒 Staff change quantities only; prices and product details are set by the owner.")
    _save_button(actor, store, loaded)


def _query(actor: Actor, key: str) -> dict[str, Any]:
    """The filters' widgets, read into the query of the page to load (page 1 when other rows were asked for)."""
    store = ui.store_selector(actor, key=INVENTORY_STORE_KEY)
    search = st.text_input(
        "Search by name or SKU", key="inventory_search", on_change=_first_page, placeholder="e.g. rice or RICE-5KG"
    )
    categories = _categories(key)
    chosen = st.pills(
        "Categories", categories, selection_mode="multi", key="inventory_categories", on_change=_first_page
    )
    only = st.segmented_control(
        "Show", list(ONLY_LABELS), format_func=ONLY_LABELS.get, key=INVENTORY_ONLY_KEY, on_change=_first_page
    )
    query = {
        "store": store,
        "search": (search or "").strip(),
        "cats": tuple(sorted(c for c in chosen or () if c in categories)),
        "only": only or "all",
        "page": max(1, int(st.session_state.get(PAGE_KEY) or 1)),
    }
    previous = st.session_state.get(GRID_KEY)
    if previous and any(previous["query"][k] != query[k] for k in ("store", "search", "cats", "only")):
        query["page"] = 1  # other rows (another store, or filters set from another page): start at the top
    return query


def _pager(data: dict[str, Any]) -> None:
    first = data["offset"] + 1 if data["shown"] else 0
    info, pager = st.columns([3, 1])
    info.write(
        f"Showing {data['shown']} of {data['total']} (rows {first}–{data['offset'] + data['shown']}; "
        f"page {data['page']} of {data['pages']}; {data['products']} products in {ui.md(data['store'])})"
    )
    pager.number_input("Page", min_value=1, max_value=data["pages"], step=1, key=PAGE_KEY)


def main() -> None:
    actor = ui.page_header("Inventory")
    _consume_link()
    st.session_state.setdefault(INVENTORY_ONLY_KEY, "all")
    st.session_state.setdefault(PAGE_KEY, 1)
    key = ui.data_key()  # one look at the latest change serves every cached read of this run
    query = _query(actor, key)
    loaded = ui.call(_loaded, actor, query, key)
    if loaded is None:
        st.stop()
    data = loaded["data"]
    st.session_state[PAGE_KEY] = data["page"]
    _banner(data, query["only"])
    _pager(data)
    _grid_section(actor, query["store"])
    if actor.is_owner:
        st.caption("New products, deactivating one, vendors and reactivating: the Products page.")
    if CONFLICT_KEY in st.session_state:
        _conflict_dialog()


main()
