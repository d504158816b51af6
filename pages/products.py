"""Products (owner only): add a product, deactivate one, change a product's vendor or reactivate it.

Each form is one core call (``core.domain.catalog``), which checks the permission again and writes the audit
row; the grid of the Inventory page edits the other product fields (name, category, price, reorder level).
Staff never get here: app.py does not register the page for them, and this page checks ``product.create``
itself. After a success the page reruns with a notice (``ui.done``).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.base.permissions import Actor
from core.domain import catalog, grid
from pages import ui

ADD_FORM = "add_product"


def _add_product_form(actor: Actor) -> None:
    st.subheader("Add a product")
    with st.form(ADD_FORM, clear_on_submit=False):
        sku = st.text_input("SKU", key="add_sku", max_chars=64)
        name = st.text_input("Name", key="add_name")
        category = st.text_input("Category", key="add_category")
        price = st.text_input("Unit price", key="add_price", placeholder="0.00")
        reorder = st.text_input("Reorder level", key="add_reorder", value="10")
        vendor = st.text_input("Vendor (optional; a new name is added)", key="add_vendor")
        if not st.form_submit_button("Add product", type="primary"):
            return
    values = {"sku": sku, "name": name, "category": category, "price": price, "reorder": reorder, "vendor": vendor}
    if ui.op_id_for(ADD_FORM, values) != ui.op_id(ADD_FORM):  # the same product sent again at once
        st.info(f"Product {ui.md(sku.strip())} was just added; it was not added twice.")
        return
    created = ui.call(catalog.create_product, ui.get_db(), actor, sku, name, category, price, reorder, vendor or None)
    if created is not None:
        ui.remember_success(ADD_FORM, ui.op_id(ADD_FORM), values)
        ui.done(f"Product {created['sku']} added.")


def _deactivate_form(actor: Actor) -> None:
    st.subheader("Deactivate a product")
    products = ui.call(grid.product_options, ui.get_db())
    if not products:
        st.caption("No active product.")
        return
    with st.form("deactivate_product"):
        choices = {p["sku"]: p["name"] for p in products}
        sku = st.selectbox(
            "Product",
            list(choices),
            format_func=lambda s: f"{s} — {choices[s]}",
            key="deactivate_sku",
            index=None,
            placeholder="Type a name or SKU",
        )
        sure = st.checkbox("Hide it from the catalog (its history stays)", key="deactivate_sure")
        if not st.form_submit_button("Deactivate"):
            return
    if sku is None or not sure:
        st.error("Choose a product and tick the box to confirm.")
        return
    if ui.call(catalog.deactivate_product, ui.get_db(), actor, sku) is not None:
        ui.done(f"Product {sku} deactivated.")


def _details_fields(sku: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The product named ``sku`` and the vendor and active flag chosen for it; ``None`` when there is none."""
    product = ui.call(catalog.get_product, ui.get_db(), sku)
    if product is None:
        return None
    st.caption(
        f"{ui.md(product['name'])} · version {product['version']} · " + ("active" if product["active"] else "inactive")
    )
    vendor = st.text_input(
        "Vendor (blank: none; a new name is added)", value=product["vendor"] or "", key=f"details_vendor_{sku}"
    )
    active = st.checkbox("Active (shown in the catalog)", value=bool(product["active"]), key=f"details_active_{sku}")
    return product, {"vendor": vendor.strip() or None, "active": active}


def _product_details_form(actor: Actor) -> None:
    """Vendor and active flag: the owner's product fields that the grid does not show (any SKU, inactive too)."""
    st.subheader("Change a product's vendor, or reactivate it")
    sku = st.text_input("SKU", key="details_sku", max_chars=64).strip()
    if not sku:
        return
    fields = _details_fields(sku)
    if fields is None or not st.button("Save product", key="details_save"):
        return
    product, changes = fields
    saved = ui.call(catalog.update_product, ui.get_db(), actor, sku, product["version"], **changes)
    if saved is not None:
        ui.done(f"Product {sku} saved (version {saved['version']}).")


def main() -> None:
    actor = ui.page_header("Products", "product.create")
    st.caption("Names, categories, prices and reorder levels are edited in the Inventory grid.")
    add, deactivate, details = st.tabs(["Add", "Deactivate", "Vendor / reactivate"])
    with add:
        _add_product_form(actor)
    with deactivate:
        _deactivate_form(actor)
    with details:
        _product_details_form(actor)


main()
