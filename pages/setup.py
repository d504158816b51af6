"""First run: create the owner account (email, name, password twice) and optionally load sample data.

Registered by ``app.py`` only while the database has no user. ``core.users.create_first_owner`` refuses when
any user exists, so a second setup can never create another owner.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core import users
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
        f"Passwords need {users.PASSWORD_MIN_CHARS} characters at least and at most {users.PASSWORD_MAX_BYTES} bytes."
    )
    submitted = st.form_submit_button("Create owner account", type="primary")

if submitted:
    if password != repeat:
        st.error("The two passwords are not the same.")
        st.stop()
    owner = ui.call(users.create_first_owner, db, email, name, password)
    if owner is None:
        st.stop()
    if sample:
        from core import demo

        bar = st.progress(0.0, text="Loading sample data...")

        def progress(done: Any, total: Any = None, message: Any = None) -> None:
            numeric = isinstance(total, int | float) and not isinstance(total, bool) and total > 0
            fraction = float(done) / float(total) if numeric else float(done)
            text = message if isinstance(message, str) else (total if isinstance(total, str) else None)
            bar.progress(min(max(fraction, 0.0), 1.0), text=text or "Loading sample data...")

        actor = users.actor_for(db, owner["email"])
        loaded = ui.call(demo.generate, db, actor, progress=progress, **SAMPLE)
        bar.empty()
        if loaded is not None:
            st.toast("Sample data loaded.")
        ui.clear_caches()
    # The next run finds a user, so app.py shows the sign-in page, with this notice.
    st.session_state["_flash"] = f"The owner account {owner['email']} is ready. Sign in to continue."
    st.rerun()
