"""First run: create the owner account (email, name, password twice) and optionally load sample data.

Registered by ``app.py`` only while the database has no user. ``core.domain.users.create_first_owner`` refuses when
any user exists, so a second setup can never create another owner.
"""

from __future__ import annotations

import streamlit as st

from core.domain import signin, users
from pages import ui

SAMPLE = {"stores": 3, "products": 200, "days": 90}

db = ui.get_db()
st.title("Set up Inventory Lite")

if users.has_users(db):
    st.info("This installation is already set up. Reload the page to sign in.")
    st.stop()

st.write("Create the owner account. The owner manages stores, staff accounts, prices and the catalog.")
with st.form("setup"):
    email = st.text_input("Email", key="setup_email", autocomplete="username")
    name = st.text_input("Name", key="setup_name")
    password = st.text_input("Password", type="password", key="setup_password", autocomplete="new-password")
    repeat = st.text_input("Password again", type="password", key="setup_repeat", autocomplete="new-password")
    sample = st.checkbox(
        f"Load sample data ({SAMPLE['stores']} stores, {SAMPLE['products']} products, {SAMPLE['days']} days of sales)",
        key="setup_sample",
    )
    st.caption(
        f"Passwords need {signin.PASSWORD_MIN_CHARS} characters at least and at most {signin.PASSWORD_MAX_BYTES} bytes."
    )
    submitted = st.form_submit_button("Create owner account", type="primary")

if submitted:
    if password != repeat:
        st.error("The two passwords are not the same.")
        st.stop()
    owner = ui.call(users.create_first_owner, db, email, name, password)
    if owner is None:
        st.stop()
    notice = f"The owner account {owner['email']} is ready."
    if sample:
        from core.base.errors import InventoryError
        from core.tools import demo

        bar = st.progress(0.0, text="Loading sample data...")

        def progress(fraction: float, message: str) -> None:
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=message or "Loading sample data...")

        try:
            demo.generate(db, signin.actor_for(db, owner["email"]), progress=progress, **SAMPLE)
        except InventoryError as exc:
            notice += f" The sample data was not loaded: {exc}"
        except Exception as exc:
            notice += f" The sample data was not loaded (error id {ui.error_id_for(exc)})."
        else:
            notice += f" Sample data loaded: {SAMPLE['stores']} stores, {SAMPLE['products']} products."
        ui.clear_caches()
    # The next run finds a user, so app.py shows the sign-in page, with this notice.
    st.session_state["_flash"] = notice + " Sign in to continue."
    st.rerun()
