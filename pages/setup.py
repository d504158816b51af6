"""First run: create the owner account (email, name, password twice) and optionally load sample data.

Registered by ``app.py`` only while the database has no user. ``core.domain.users.create_first_owner`` refuses when
any user exists, so a second setup can never create another owner.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.domain import signin, users
from pages import ui

SAMPLE = {"stores": 3, "products": 200, "days": 90}


def _setup_form() -> tuple[str, str, str, str, bool] | None:
    """Email, name, password twice and the sample-data choice when the form was submitted, else ``None``."""
    with st.form("setup"):
        email = st.text_input("Email", key="setup_email", autocomplete="username")
        name = st.text_input("Name", key="setup_name")
        password = st.text_input("Password", type="password", key="setup_password", autocomplete="new-password")
        repeat = st.text_input("Password again", type="password", key="setup_repeat", autocomplete="new-password")
        sample = st.checkbox(
            f"Load sample data ({SAMPLE['stores']} stores, {SAMPLE['products']} products, {SAMPLE['days']} days of"
            " sales)",
            key="setup_sample",
        )
        st.caption(
            f"Passwords need {signin.PASSWORD_MIN_CHARS} characters at least and at most {signin.PASSWORD_MAX_BYTES}"
            " bytes."
        )
        submitted = st.form_submit_button("Create owner account", type="primary")
    return (email, name, password, repeat, sample) if submitted else None


def _load_sample(db: Any, owner: dict[str, Any]) -> str:
    """Generate the sample data as the new owner, with a progress bar; the sentence that says how it went."""
    from core.base.errors import InventoryError
    from core.tools import demo

    bar = st.progress(0.0, text="Loading sample data...")

    def progress(fraction: float, message: str) -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=message or "Loading sample data...")

    try:
        demo.generate(db, signin.actor_for(db, owner["email"]), progress=progress, **SAMPLE)
    except InventoryError as exc:
        return f" The sample data was not loaded: {exc}"
    except Exception as exc:
        return f" The sample data was not loaded (error id {ui.error_id_for(exc)})."
    finally:
        ui.clear_caches()
    return f" Sample data loaded: {SAMPLE['stores']} stores, {SAMPLE['products']} products."


def main() -> None:
    db = ui.get_db()
    st.title("Set up Inventory Lite")
    if users.has_users(db):
        st.info("This installation is already set up. Reload the page to sign in.")
        st.stop()
    st.write("Create the owner account. The owner manages stores, staff accounts, prices and the catalog.")
    submitted = _setup_form()
    if submitted is None:
        return
    email, name, password, repeat, sample = submitted
    if password != repeat:
        st.error("The two passwords are not the same.")
        return
    owner = ui.call(users.create_first_owner, db, email, name, password)
    if owner is None:
        return
    notice = f"The owner account {owner['email']} is ready."
    if sample:
        notice += _load_sample(db, owner)
    # The next run finds a user, so app.py shows the sign-in page, with this notice.
    ui.flash(notice + " Sign in to continue.", "info")
    st.rerun()


main()
