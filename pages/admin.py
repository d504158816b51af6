"""Admin (owner only): user accounts, stores and vendors.

Every action is one core call (``core.domain.users``, ``core.domain.catalog``), which checks the permission again and writes
the audit row; this page only hides itself from other roles (``ui.require_permission``) and renders results.
After a successful change the page reruns with a notice, so every table shows the new state.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.domain import catalog, users
from pages import ui

actor = ui.require_permission("user.manage")
db = ui.get_db()

FLASH = "_admin_flash"


def done(message: str) -> None:
    """A change succeeded: remember the notice, drop cached reads, and draw the page again."""
    st.session_state[FLASH] = message
    ui.clear_caches()
    st.rerun()


def attempt(message: str, fn: Any, *args: Any, **kwargs: Any) -> None:
    st.session_state.pop(FLASH, None)
    if ui.call(fn, *args, **kwargs) is not None:
        done(message)


st.title("Admin")
notice = st.session_state.get(FLASH)
if notice:
    st.success(ui.md(notice))

all_stores = ui.call(catalog.list_stores, db, actor, include_inactive=True) or []
active_codes = [s["code"] for s in all_stores if s["active"]]
users_tab, stores_tab, vendors_tab = st.tabs(["Users", "Stores", "Vendors"])

# ---- users ----------------------------------------------------------------------------------------------------
with users_tab:
    accounts = ui.call(users.list_users, db, actor) or []
    if accounts:
        table = pd.DataFrame(
            [
                {
                    "email": a["email"],
                    "name": a["name"],
                    "role": a["role"],
                    "stores": ", ".join(a["stores"]) if a["role"] == "staff" else "all",
                    "active": a["active"],
                    "locked": a["locked"],
                    "failed logins": a["failed_logins"],
                }
                for a in accounts
            ]
        )
        st.dataframe(table, hide_index=True, width="stretch")

    st.subheader("Add a user")
    with st.form("add_user", clear_on_submit=True):
        new_email = st.text_input("Email", key="add_user_email")
        new_name = st.text_input("Name", key="add_user_name")
        new_role = st.selectbox("Role", ["staff", "owner"], key="add_user_role")
        new_password = st.text_input("Password", type="password", key="add_user_password", autocomplete="new-password")
        new_stores = st.multiselect("Stores (staff)", active_codes, key="add_user_stores")
        if st.form_submit_button("Add user", type="primary"):
            attempt(
                f"Added {new_role} {new_email.strip().lower()}.",
                users.add_user,
                db,
                actor,
                new_email,
                new_password,
                new_role,
                name=new_name or None,
                stores=new_stores if new_role == "staff" else [],
            )

    if accounts:
        st.subheader("Manage a user")
        email = st.selectbox("User", [a["email"] for a in accounts], key="manage_user")
        account = next(a for a in accounts if a["email"] == email)
        state = "active" if account["active"] else "deactivated"
        if account["locked"]:
            state += f", locked until {account['locked_until']:%H:%M} UTC"
        st.caption(f"{ui.md(account['name'])} · {account['role']} · {state}")

        if account["role"] == "staff":
            current = [c for c in account["stores"] if c in active_codes]
            chosen = st.multiselect("Stores", active_codes, default=current, key=f"assign_stores:{email}")
            if st.button("Save stores", key=f"save_stores:{email}"):
                attempt(
                    f"Stores of {email}: {', '.join(chosen) or 'none'}.", users.assign_stores, db, actor, email, chosen
                )

        with st.form(f"reset_password:{email}", clear_on_submit=True):
            reset_to = st.text_input("New password", type="password", key=f"reset_password_value:{email}")
            if st.form_submit_button("Reset password"):
                attempt(
                    f"Password of {email} reset; their sessions ended.",
                    users.reset_password,
                    db,
                    actor,
                    email,
                    reset_to,
                )

        left, middle = st.columns(2)
        if account["active"]:
            if left.button("Deactivate", key=f"deactivate:{email}", disabled=email == actor.email):
                attempt(f"{email} is deactivated and signed out.", users.set_active, db, actor, email, False)
        elif left.button("Reactivate", key=f"reactivate:{email}"):
            attempt(f"{email} is active again.", users.set_active, db, actor, email, True)
        if middle.button("Unlock", key=f"unlock:{email}", disabled=not (account["locked"] or account["failed_logins"])):
            attempt(f"{email} is unlocked.", users.unlock, db, actor, email)

# ---- stores ---------------------------------------------------------------------------------------------------
with stores_tab:
    if all_stores:
        st.dataframe(
            pd.DataFrame([{k: s[k] for k in ("code", "name", "active")} for s in all_stores]),
            hide_index=True,
            width="stretch",
        )
    st.subheader("Add a store")
    with st.form("add_store", clear_on_submit=True):
        code = st.text_input("Code", key="add_store_code", max_chars=16)
        name = st.text_input("Name", key="add_store_name")
        if st.form_submit_button("Add store", type="primary"):
            attempt(f"Added store {code.strip()}.", catalog.add_store, db, actor, code, name)

    if all_stores:
        st.subheader("Manage a store")
        store_code = st.selectbox("Store", [s["code"] for s in all_stores], key="manage_store")
        store = next(s for s in all_stores if s["code"] == store_code)
        new_store_name = st.text_input("Name", value=store["name"], key=f"rename_store:{store_code}")
        left, right = st.columns(2)
        if left.button("Rename", key=f"rename_store_button:{store_code}"):
            attempt(
                f"Store {store_code} is now {new_store_name.strip()}.",
                catalog.update_store,
                db,
                actor,
                store_code,
                name=new_store_name,
            )
        if store["active"]:
            if right.button("Deactivate store", key=f"deactivate_store:{store_code}"):
                attempt(
                    f"Store {store_code} is deactivated.", catalog.update_store, db, actor, store_code, active=False
                )
        elif right.button("Reactivate store", key=f"reactivate_store:{store_code}"):
            attempt(f"Store {store_code} is active again.", catalog.update_store, db, actor, store_code, active=True)

# ---- vendors --------------------------------------------------------------------------------------------------
with vendors_tab:
    vendors = ui.call(catalog.list_vendors, db, include_inactive=True) or []
    if vendors:
        st.dataframe(
            pd.DataFrame([{k: v[k] for k in ("name", "contact", "active")} for v in vendors]),
            hide_index=True,
            width="stretch",
        )
    st.subheader("Add a vendor")
    with st.form("add_vendor", clear_on_submit=True):
        vendor_name = st.text_input("Name", key="add_vendor_name")
        vendor_contact = st.text_input("Contact", key="add_vendor_contact")
        if st.form_submit_button("Add vendor", type="primary"):
            attempt(
                f"Added vendor {vendor_name.strip()}.",
                catalog.add_vendor,
                db,
                actor,
                vendor_name,
                vendor_contact or None,
            )

    if vendors:
        st.subheader("Edit a vendor")
        chosen_vendor = st.selectbox("Vendor", [v["name"] for v in vendors], key="manage_vendor")
        vendor = next(v for v in vendors if v["name"] == chosen_vendor)
        contact = st.text_input("Contact", value=vendor["contact"] or "", key=f"vendor_contact:{chosen_vendor}")
        left, right = st.columns(2)
        if left.button("Save contact", key=f"save_vendor_contact:{chosen_vendor}"):
            attempt(
                f"Contact of {chosen_vendor} saved.", catalog.update_vendor, db, actor, chosen_vendor, contact=contact
            )
        if vendor["active"]:
            if right.button("Deactivate vendor", key=f"deactivate_vendor:{chosen_vendor}"):
                attempt(
                    f"{chosen_vendor} is deactivated.", catalog.update_vendor, db, actor, chosen_vendor, active=False
                )
        elif right.button("Reactivate vendor", key=f"reactivate_vendor:{chosen_vendor}"):
            attempt(f"{chosen_vendor} is active again.", catalog.update_vendor, db, actor, chosen_vendor, active=True)
