"""Account: who is signed in, and changing one's own password (everyone).

The current password is checked, counted and audited like a sign-in (``core.domain.signin``): wrong guesses here
lock this client out of the account as wrong sign-ins do. A password change ends every earlier session of this
account (``core.domain.signin.change_own_password`` moves ``tokens_valid_after``); this browser stays signed in
through ``pages.session.renew``, which issues a new cookie.
"""

from __future__ import annotations

import streamlit as st

from core.domain import signin
from pages import session, ui


def _password_form() -> tuple[str, str, str] | None:
    """The current and new passwords (twice) when the form was submitted, else ``None``."""
    with st.form("change_password", clear_on_submit=True):
        current = st.text_input("Current password", type="password", key="pw_current", autocomplete="current-password")
        new = st.text_input("New password", type="password", key="pw_new", autocomplete="new-password")
        repeat = st.text_input("New password again", type="password", key="pw_repeat", autocomplete="new-password")
        st.caption(
            f"{signin.PASSWORD_MIN_CHARS} characters at least, {signin.PASSWORD_MAX_BYTES} bytes at most. "
            "Every other signed-in browser of this account is signed out."
        )
        submitted = st.form_submit_button("Change password", type="primary")
    return (current, new, repeat) if submitted else None


def main() -> None:
    actor = ui.page_header("Account")
    st.write(f"**{ui.md(actor.name)}** · {ui.md(actor.email)} · {actor.role}")
    st.subheader("Change password")
    submitted = _password_form()
    if submitted is None:
        return
    current, new, repeat = submitted
    if new != repeat:
        st.error("The two new passwords are not the same.")
        return
    try:  # the current password is throttled like a sign-in from this client
        signin.change_own_password(ui.get_db(), actor, current, new, client=session.client_address())
    except Exception as exc:
        ui.show_error(exc)
        return
    session.renew()
    ui.done("Your password is changed. Other browsers are signed out.")


main()
