"""Admin (owner only): user accounts, stores and vendors.

Every action is one core call (``core.domain.users``, ``core.domain.catalog``), which checks the permission again
and writes the audit row; this page only hides itself from other roles (``ui.require_permission``) and renders
results. After a successful change the page reruns with a notice (``ui.done``), so every table shows the new state.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from core.base.permissions import Actor
from core.db import Database
from core.domain import catalog, users
from pages import ui


def attempt(message: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """One core call; on success the page reruns with ``message``, on failure the error is shown here."""
    if ui.call(fn, *args, **kwargs) is not None:
        ui.done(message)


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    if rows:
        st.dataframe(pd.DataFrame([{k: r[k] for k in columns} for r in rows]), hide_index=True, width="stretch")


def _toggle_active(column: Any, thing: str, subject: str, name: str, active: bool, update: Callable[..., Any]) -> None:
    """The Deactivate / Reactivate button of a store or a vendor (``update(name, active=...)``)."""
    verb = "deactivate" if active else "reactivate"
    if column.button(f"{verb.capitalize()} {thing}", key=f"{verb}_{thing}:{name}"):
        attempt(f"{subject} is {'deactivated' if active else 'active again'}.", update, name, active=not active)


def _choose(title: str, label: str, rows: list[dict[str, Any]], by: str, *, key: str) -> dict[str, Any] | None:
    """The row (a store, a vendor) to manage, picked by its ``by`` field; ``None`` while there is none."""
    if not rows:
        return None
    st.subheader(title)
    return ui.pick(label, rows, lambda r: r[by], key=key, by=by)


# ---- users ----------------------------------------------------------------------------------------------------


def _user_rows(accounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
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


def _add_user(db: Database, actor: Actor, active_codes: list[str]) -> None:
    st.subheader("Add a user")
    with st.form("add_user", clear_on_submit=True):
        email = st.text_input("Email", key="add_user_email")
        name = st.text_input("Name", key="add_user_name")
        role = st.selectbox("Role", ["staff", "owner"], key="add_user_role")
        password = st.text_input("Password", type="password", key="add_user_password", autocomplete="new-password")
        stores = st.multiselect("Stores (staff)", active_codes, key="add_user_stores")
        if not st.form_submit_button("Add user", type="primary"):
            return
    stores = stores if role == "staff" else []
    message = f"Added {role} {email.strip().lower()}."
    attempt(message, users.add_user, db, actor, email, password, role, name=name or None, stores=stores)


def _account_buttons(db: Database, actor: Actor, account: dict[str, Any]) -> None:
    email = account["email"]
    left, middle = st.columns(2)
    if account["active"]:
        if left.button("Deactivate", key=f"deactivate:{email}", disabled=email == actor.email):
            attempt(f"{email} is deactivated and signed out.", users.set_active, db, actor, email, False)
    elif left.button("Reactivate", key=f"reactivate:{email}"):
        attempt(f"{email} is active again.", users.set_active, db, actor, email, True)
    if middle.button("Unlock", key=f"unlock:{email}", disabled=not (account["locked"] or account["failed_logins"])):
        attempt(f"{email} is unlocked.", users.unlock, db, actor, email)


def _manage_user(db: Database, actor: Actor, accounts: list[dict[str, Any]], active_codes: list[str]) -> None:
    st.subheader("Manage a user")
    account = ui.pick("User", accounts, lambda a: a["email"], key="manage_user", by="email")
    if account is None:
        return
    email = account["email"]
    state = "active" if account["active"] else "deactivated"
    if account["locked"]:
        state += f", locked until {account['locked_until']:%H:%M} UTC"
    st.caption(f"{ui.md(account['name'])} · {account['role']} · {state}")
    if account["role"] == "staff":
        current = [c for c in account["stores"] if c in active_codes]
        chosen = st.multiselect("Stores", active_codes, default=current, key=f"assign_stores:{email}")
        if st.button("Save stores", key=f"save_stores:{email}"):
            message = f"Stores of {email}: {', '.join(chosen) or 'none'}."
            attempt(message, users.assign_stores, db, actor, email, chosen)
    with st.form(f"reset_password:{email}", clear_on_submit=True):
        reset_to = st.text_input("New password", type="password", key=f"reset_password_value:{email}")
        if st.form_submit_button("Reset password"):
            message = f"Password of {email} reset; their sessions ended."
            attempt(message, users.reset_password, db, actor, email, reset_to)
    _account_buttons(db, actor, account)


def _users_tab(db: Database, actor: Actor, active_codes: list[str]) -> None:
    accounts = ui.call(users.list_users, db, actor) or []
    _table(_user_rows(accounts), ("email", "name", "role", "stores", "active", "locked", "failed logins"))
    _add_user(db, actor, active_codes)
    if accounts:
        _manage_user(db, actor, accounts, active_codes)


# ---- stores and vendors -----------------------------------------------------------------------------------------


def _stores_tab(db: Database, actor: Actor, all_stores: list[dict[str, Any]]) -> None:
    _table(all_stores, ("code", "name", "active"))
    st.subheader("Add a store")
    with st.form("add_store", clear_on_submit=True):
        code = st.text_input("Code", key="add_store_code", max_chars=16)
        name = st.text_input("Name", key="add_store_name")
        if st.form_submit_button("Add store", type="primary"):
            attempt(f"Added store {code.strip()}.", catalog.add_store, db, actor, code, name)
    store = _choose("Manage a store", "Store", all_stores, "code", key="manage_store")
    if store is None:
        return
    code = store["code"]
    new_name = st.text_input("Name", value=store["name"], key=f"rename_store:{code}")
    left, right = st.columns(2)
    if left.button("Rename", key=f"rename_store_button:{code}"):
        attempt(f"Store {code} is now {new_name.strip()}.", catalog.update_store, db, actor, code, name=new_name)
    _toggle_active(right, "store", f"Store {code}", code, store["active"], partial(catalog.update_store, db, actor))


def _vendors_tab(db: Database, actor: Actor) -> None:
    vendors = ui.call(catalog.list_vendors, db, include_inactive=True) or []
    _table(vendors, ("name", "contact", "active"))
    st.subheader("Add a vendor")
    with st.form("add_vendor", clear_on_submit=True):
        name = st.text_input("Name", key="add_vendor_name")
        contact = st.text_input("Contact", key="add_vendor_contact")
        if st.form_submit_button("Add vendor", type="primary"):
            attempt(f"Added vendor {name.strip()}.", catalog.add_vendor, db, actor, name, contact or None)
    vendor = _choose("Edit a vendor", "Vendor", vendors, "name", key="manage_vendor")
    if vendor is None:
        return
    name = vendor["name"]
    contact = st.text_input("Contact", value=vendor["contact"] or "", key=f"vendor_contact:{name}")
    left, right = st.columns(2)
    if left.button("Save contact", key=f"save_vendor_contact:{name}"):
        attempt(f"Contact of {name} saved.", catalog.update_vendor, db, actor, name, contact=contact)
    _toggle_active(right, "vendor", name, name, vendor["active"], partial(catalog.update_vendor, db, actor))


def main() -> None:
    actor = ui.page_header("Admin", "user.manage")
    db = ui.get_db()
    all_stores = ui.call(catalog.list_stores, db, actor, include_inactive=True) or []
    active_codes = [s["code"] for s in all_stores if s["active"]]
    users_tab, stores_tab, vendors_tab = st.tabs(["Users", "Stores", "Vendors"])
    with users_tab:
        _users_tab(db, actor, active_codes)
    with stores_tab:
        _stores_tab(db, actor, all_stores)
    with vendors_tab:
        _vendors_tab(db, actor)


main()
