"""The browser session of the app: who is signed in this run, the login cookie, the sign-in page and sign-out.

``app.py`` calls ``resolve(db, settings)`` once per run, before ``st.navigation``; it returns the validated actor
(or ``None``: signed out). Invariants:
- A live session is re-checked against the database on every run (``core.domain.sessions.session_actor``: still
  active, not locked, not logged out since it began); otherwise the login cookie, if any, is read through
  streamlit-authenticator and accepted only when ``core.domain.sessions.actor_from_cookie`` agrees.
- Passwords are checked only by ``core.domain.signin.authenticate`` (throttled by client address and by account).
- The login cookie is issued (``Secure`` over https) and deleted only through the authenticator's cookie
  manager, one request at a time, drawn on every run until the browser confirms it (``_apply_cookie_action``).
- Logout moves ``tokens_valid_after`` forward (``core.domain.signin.end_sessions``), so an earlier cookie never
  signs in again.
This module is UI glue (it imports streamlit); the decisions are core's. Its session keys are in ``pages.keys``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import streamlit as st

from core.base.errors import AuthError
from core.domain import sessions, signin
from pages import keys, ui


def secrets() -> dict[str, Any]:
    """The ``[auth]`` table of ``.streamlit/secrets.toml`` (empty when there is no secrets file)."""
    try:
        return {"auth": dict(st.secrets.get("auth", {}))}
    except Exception:
        return {}


def client_address() -> str | None:
    """This browser's address as the server saw it (``st.context.ip_address``: the TCP peer; ``None`` on
    loopback). Behind a proxy, uvicorn (Streamlit's server) takes the client from ``X-Forwarded-For`` only when
    the proxy's own address is trusted: env ``FORWARDED_ALLOW_IPS``, default ``127.0.0.1,::1``."""
    try:
        return st.context.ip_address
    except Exception:
        return None


def _cookie_is_secure() -> bool:
    """``Secure`` for the login cookie when the page is served over https (``core.domain.sessions.cookie_secure``)."""
    try:
        url, headers = st.context.url, st.context.headers
    except Exception:
        url, headers = None, None
    return sessions.cookie_secure(url, headers)


def establish(actor: Any, signed_in_at: datetime) -> None:
    """Record a signed-in session in the keys streamlit-authenticator uses, plus the validated actor."""
    ss = st.session_state
    ss[keys.AUTH_STATUS_KEY] = True
    ss[keys.USERNAME_KEY] = ss[keys.EMAIL_KEY] = actor.email
    ss[keys.NAME_KEY] = actor.name
    ss[keys.ROLES_KEY] = [actor.role]
    ss[keys.LOGOUT_KEY] = False
    ss[keys.SIGNED_IN_AT_KEY] = signed_in_at
    ss[keys.ACTOR_KEY] = actor


def forget(message: str | None = None, *, delete_cookie: bool = True) -> None:
    """End this browser session locally (the database side is ``core.domain.signin.end_sessions``); ``message``
    is the one notice the sign-in page then shows."""
    ss = st.session_state
    for key in keys.AUTH_KEYS:
        ss[key] = None
    ss[keys.LOGOUT_KEY] = True
    for key in (keys.SIGNED_IN_AT_KEY, keys.SIGN_IN_ERROR_KEY, keys.ACTOR_KEY):
        ss.pop(key, None)
    if delete_cookie:
        ss[keys.COOKIE_ACTION_KEY] = "delete"
    if message:  # the one notice: nothing a page left waiting is shown on the sign-in page
        ss.pop(keys.FLASH_KEY, None)
        ui.flash(message, "info")


def renew() -> None:
    """Keep this browser signed in after its user changed their own password (which ended every earlier
    session): the session starts again now, by the database's clock, and a fresh login cookie is issued."""
    st.session_state[keys.SIGNED_IN_AT_KEY] = sessions.database_now(ui.get_db())
    st.session_state[keys.COOKIE_ACTION_KEY] = "set"


def _actor_of_this_run(db: Any, authenticator: Any, settings: Any) -> Any | None:
    """The validated actor of this run, or ``None`` (signed out)."""
    ss = st.session_state
    signed_in_at, email = ss.get(keys.SIGNED_IN_AT_KEY), ss.get(keys.USERNAME_KEY)
    if ss.get(keys.AUTH_STATUS_KEY) and signed_in_at and email:
        try:
            actor = sessions.session_actor(db, email, signed_in_at)
        except AuthError as exc:
            forget(str(exc))
            return None
        establish(actor, signed_in_at)
        return actor
    if ss.get(keys.LOGOUT_KEY):
        return None
    try:
        token = authenticator.cookie_controller.get_cookie()
    except Exception:
        token = None
    if not token:
        return None
    try:
        actor = sessions.actor_from_cookie(db, token, settings)
    except AuthError as exc:
        forget(str(exc))
        return None
    establish(actor, sessions.cookie_issued_at(token, settings))
    return actor


def _cookie_request(settings: Any) -> tuple[str, str] | None:
    """The pending cookie request as (kind, component key), numbering a new one; ``None`` when there is none
    or the browser has confirmed it (the component's value turned true)."""
    ss = st.session_state
    action = ss.get(keys.COOKIE_ACTION_KEY)
    if action is None:
        return None
    if isinstance(action, str):
        ss[keys.COOKIE_SEQ_KEY] = ss.get(keys.COOKIE_SEQ_KEY, 0) + 1
        action = (action, f"auth_cookie_{action}_{ss[keys.COOKIE_SEQ_KEY]}")
        ss[keys.COOKIE_ACTION_KEY] = action
        if action[0] == "set" and ss.get(keys.USERNAME_KEY):
            issued = ss.get(keys.SIGNED_IN_AT_KEY)
            ss[keys.COOKIE_TOKEN_KEY] = sessions.issue_token(ss[keys.USERNAME_KEY], settings, now=issued)
    kind, key = action
    if ss.get(key) is True or (kind == "set" and not ss.get(keys.AUTH_STATUS_KEY)):
        ss.pop(keys.COOKIE_ACTION_KEY, None)
        ss.pop(keys.COOKIE_TOKEN_KEY, None)
        return None
    return kind, key


def _apply_cookie_action(authenticator: Any, settings: Any) -> None:
    """Issue or delete the login cookie through streamlit-authenticator's cookie manager.

    Each request gets a component key of its own and is drawn on every run until the browser confirms it:
    a component that a rerun replaces before its frame loaded would otherwise never reach the browser."""
    request = _cookie_request(settings)
    if request is None:
        return
    kind, key = request
    manager = authenticator.cookie_controller.cookie_model.cookie_manager
    try:
        if kind == "set":
            manager.set(
                settings.cookie_name,
                st.session_state[keys.COOKIE_TOKEN_KEY],
                key=key,
                expires_at=datetime.now() + timedelta(hours=settings.lifetime_hours),
                secure=_cookie_is_secure(),
                same_site="strict",
            )
        else:
            manager.delete(settings.cookie_name, key=key)
    except KeyError:  # the manager had not seen the cookie yet; the delete was still sent
        pass
    except Exception as exc:  # the cookie is a convenience; the session itself is already decided
        ui.error_id_for(exc)


def authenticator_for(db: Any, settings: Any) -> Any:
    """streamlit-authenticator on the database's credentials (one instance per run: it registers widgets)."""
    import streamlit_authenticator as stauth

    return stauth.Authenticate(
        sessions.credentials(db),
        settings.cookie_name,
        settings.cookie_key,
        settings.expiry_days,
        auto_hash=False,
        login_sleep_time=0,
    )


def resolve(db: Any, authenticator: Any, settings: Any) -> Any | None:
    """This run's actor (``None``: signed out), with the pending login-cookie request drawn.

    The cookie components go into a block at a fixed place: when one comes or goes, the page below keeps its
    element positions, so nothing a user is typing is re-created (and lost) by the rerun they cause."""
    cookie_slot = st.container()
    actor = _actor_of_this_run(db, authenticator, settings)
    with cookie_slot:
        _apply_cookie_action(authenticator, settings)
    return actor


# ---- signing in and out ----------------------------------------------------------------------------------------


def _submit_sign_in() -> None:
    """The sign-in form's callback. It runs before the script body, so a rerun that something else requests
    meanwhile (the cookie component answering) cannot drop the submit halfway."""
    ss = st.session_state
    ss.pop(keys.FLASH_KEY, None)
    ss.pop(keys.SIGN_IN_ERROR_KEY, None)
    db = ui.get_db()
    email, password = ss.get(keys.SIGN_IN_EMAIL_KEY, ""), ss.get(keys.SIGN_IN_PASSWORD_KEY, "")
    try:
        actor = signin.authenticate(db, email, password, client=client_address())
    except AuthError as exc:
        ss[keys.SIGN_IN_ERROR_KEY] = str(exc)
        return
    except Exception as exc:
        ss[keys.SIGN_IN_ERROR_KEY] = f"Sorry, signing in failed. Error id: {ui.error_id_for(exc)}."
        return
    establish(actor, sessions.database_now(db))  # the clock tokens_valid_after is kept by
    ss[keys.COOKIE_ACTION_KEY] = "set"


def sign_in_page() -> None:
    """The sign-in page (the only page while nobody is signed in). Notices stay until the next submit: the
    cookie component's first answer reruns the script once, which must not wipe them."""
    st.title("Inventory Lite")
    ui.show_flashes(keep=True)
    error = st.session_state.get(keys.SIGN_IN_ERROR_KEY)
    if error:
        st.error(ui.md(error))
    with st.form("sign_in", clear_on_submit=True):
        st.subheader("Sign in")
        st.text_input("Email", key=keys.SIGN_IN_EMAIL_KEY, autocomplete="username")
        st.text_input("Password", type="password", key=keys.SIGN_IN_PASSWORD_KEY, autocomplete="current-password")
        st.form_submit_button("Sign in", type="primary", on_click=_submit_sign_in)


def _sign_out(db: Any, authenticator: Any) -> None:
    """Sidebar callback: end every session of this user in the database, then this one."""
    email = st.session_state.get(keys.USERNAME_KEY)
    if email:
        try:
            signin.end_sessions(db, email)
        except Exception as exc:
            ui.error_id_for(exc)
    authenticator.authentication_controller.logout()
    forget("You are signed out.")


def sidebar(db: Any, authenticator: Any, actor: Any) -> None:
    """Who is signed in, and the Sign out button."""
    with st.sidebar:
        st.caption(f"Signed in as **{ui.md(actor.name)}** ({actor.role})")
        st.button("Sign out", key="sign_out", on_click=_sign_out, args=(db, authenticator))
