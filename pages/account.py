"""Account: who is signed in, and changing one's own password (everyone).

The current password is checked, counted and audited like a sign-in (``core.domain.signin``): wrong guesses here lock
this client out of the account as wrong sign-ins do. A password change ends every earlier session of this account (``core.domain.signin.change_own_password`` moves
``tokens_valid_after``); this browser stays signed in through ``ui.renew_session``, which issues a new cookie.
"""

from __future__ import annotations

import streamlit as st

from core.domain import signin
from pages import ui

actor = ui.current_actor()
db = ui.get_db()

st.title("Account")
st.write(f"**{ui.md(actor.name)}** · {ui.md(actor.email)} · {actor.role}")

flash = st.session_state.get("_account_flash")
if flash:
    st.success(flash)

st.subheader("Change password")
with st.form("change_password", clear_on_submit=True):
    current = st.text_input("Current password", type="password", key="pw_current", autocomplete="current-password")
    new = st.text_input("New password", type="password", key="pw_new", autocomplete="new-password")
    repeat = st.text_input("New password again", type="password", key="pw_repeat", autocomplete="new-password")
    st.caption(
        f"{signin.PASSWORD_MIN_CHARS} characters at least, {signin.PASSWORD_MAX_BYTES} bytes at most. "
        "Every other signed-in browser of this account is signed out."
    )
    submitted = st.form_submit_button("Change password", type="primary")

if submitted:
    st.session_state.pop("_account_flash", None)
    if new != repeat:
        st.error("The two new passwords are not the same.")
    else:
        try:
            client = st.context.ip_address  # the current password is throttled like a sign-in from here
            signin.change_own_password(db, actor, current, new, client=client)
        except Exception as exc:
            ui.show_error(exc)
        else:
            ui.renew_session()
            st.session_state["_account_flash"] = "Your password is changed. Other browsers are signed out."
            st.rerun()
