"""Inventory Lite's frame: page config, the cached database, sign-in, and the navigation built per role.

Start it with ``streamlit run app.py`` (the database is env ``INVENTORY_DB``, else ``data/inventory.duckdb``).

Every run, in this order (so reloading any page keeps the user on it):
1. No user in the database yet -> only the setup page (``pages/setup.py``) exists.
2. The session is resolved before ``st.navigation``: a live session is re-checked against the database (still
   active, not locked, not logged out since it began); otherwise the login cookie, if any, is read through
   streamlit-authenticator and accepted only when ``core.domain.sessions.actor_from_cookie`` agrees.
3. Signed out -> the sign-in page (answering at every page's address). Signed in -> the pages of ``PAGES`` whose roles include the actor's
   role (a page file that does not exist yet is left out). An owner page never reaches a staff session: it is
   not registered for staff (its URL opens nothing of it), and the page calls ``ui.require_permission`` itself.
Passwords are checked only by ``core.domain.signin.authenticate``, throttled by client address and by account
(``core.domain.signin_throttle``: 5 wrong passwords lock that client out of the account for 15 minutes, others are not
affected); the authenticator's cookie manager issues (``Secure`` over https), reads and deletes the cookie.
Logout moves ``tokens_valid_after`` forward, so an earlier cookie never signs in again. An unexpected error in a
page becomes a short apology with an error id (``ui.show_error``); ``/healthz`` and ``/metrics`` are served beside
the app through ``st.App``, behind ``MetricsGuard`` (env ``INVENTORY_METRICS_TOKEN``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import streamlit as st
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from streamlit.runtime.pages_manager import PagesManager

ROOT = Path(__file__).resolve().parent
BOTH = ("owner", "staff")
OWNER = ("owner",)

# file, title, roles, icon, section (the table in the project's preamble)
PAGES: tuple[tuple[str, str, tuple[str, ...], str, str], ...] = (
    ("pages/dashboard.py", "Dashboard", BOTH, ":material/dashboard:", "Shop"),
    ("pages/inventory.py", "Inventory", BOTH, ":material/inventory_2:", "Shop"),
    ("pages/stock.py", "Stock", BOTH, ":material/swap_vert:", "Shop"),
    ("pages/orders.py", "Orders", BOTH, ":material/receipt_long:", "Shop"),
    ("pages/import_export.py", "Import / export", BOTH, ":material/upload_file:", "Shop"),
    ("pages/reports.py", "Reports", BOTH, ":material/bar_chart:", "Shop"),
    ("pages/admin.py", "Admin", OWNER, ":material/admin_panel_settings:", "Owner"),
    ("pages/audit.py", "Audit log", OWNER, ":material/history:", "Owner"),
    ("pages/system.py", "System", OWNER, ":material/monitor_heart:", "Owner"),
    ("pages/account.py", "Account", BOTH, ":material/person:", "You"),
)
SETUP_PAGE = "pages/setup.py"


# ---- routes served beside the app (st.App) ------------------------------------------------------------------


def healthz(request: Request) -> Response:
    """JSON health: 200 when the database answers a trivial query, 503 otherwise."""
    from core.reads.system import health
    from pages import ui

    try:
        report = health(ui.get_db())
    except Exception as exc:  # e.g. the database file is held by another process: details only in the log
        ui.error_id_for(exc)
        report = {"ok": False, "database": "unavailable"}
    body = {"status": "ok" if report["ok"] else "unavailable", **report}
    return Response(
        json.dumps(body, default=str), status_code=200 if report["ok"] else 503, media_type="application/json"
    )


def metrics(request: Request) -> Response:
    """Prometheus text: operation counts and latency histograms by action and outcome."""
    from prometheus_client import CONTENT_TYPE_LATEST

    from core.base.observe import metrics_text

    return Response(metrics_text(), media_type=CONTENT_TYPE_LATEST)


class MetricsGuard:
    """ASGI middleware in front of every route, Streamlit's own included (``st.App`` runs user middleware first):
    with env ``INVENTORY_METRICS_TOKEN`` set, ``/metrics`` and ``/_stcore/metrics`` answer only a request that
    carries ``Authorization: Bearer <token>``; any other gets 401 (``core.domain.sessions.metrics_allowed``)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        from core.domain.sessions import is_metrics_path, metrics_allowed

        if scope.get("type") == "http" and is_metrics_path(scope.get("path", "")):
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            if not metrics_allowed(headers.get("authorization")):
                response = Response(
                    "A bearer token is required.\n",
                    status_code=401,
                    media_type="text/plain",
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def on_script_error(exc: BaseException) -> bool:
    """An error that escaped the frame itself: a short apology with an id that is also in the JSON log."""
    from pages import ui

    ui.show_error(exc)
    return True


app = st.App(
    "app.py",
    routes=[Route("/healthz", healthz), Route("/metrics", metrics)],
    middleware=[Middleware(MetricsGuard)],
    on_script_error=on_script_error,
)

# Streamlit treats a script beside a ``pages/`` folder as a v1 multipage app until the first ``st.navigation`` call:
# the very first run of a fresh process would list every file in pages/ (owner pages included) and run the
# requested one without this frame. Switch that off before any session starts (``streamlit run`` imports this
# module once, at start-up, to find ``app``).
PagesManager.uses_pages_directory = False


# ---- the Streamlit script ----------------------------------------------------------------------------------

AUTH_KEYS = ("authentication_status", "username", "name", "email", "roles")


def _secrets() -> dict[str, Any]:
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
    from core.domain import sessions

    try:
        url, headers = st.context.url, st.context.headers
    except Exception:
        url, headers = None, None
    return sessions.cookie_secure(url, headers)


def _establish(actor: Any, signed_in_at: datetime) -> None:
    """Record a signed-in session in the keys streamlit-authenticator uses, plus the validated actor."""
    from pages import ui

    ss = st.session_state
    ss.update(
        authentication_status=True,
        username=actor.email,
        name=actor.name,
        email=actor.email,
        roles=[actor.role],
        logout=False,
        _signed_in_at=signed_in_at,
    )
    ss[ui.ACTOR_KEY] = actor


def _forget(message: str | None = None, *, delete_cookie: bool = True) -> None:
    """End this browser session locally (the database side is ``core.domain.signin.end_sessions``)."""
    from pages import ui

    ss = st.session_state
    for key in AUTH_KEYS:
        ss[key] = None
    ss["logout"] = True
    ss.pop("_signed_in_at", None)
    ss.pop("_sign_in_error", None)
    ss.pop(ui.ACTOR_KEY, None)
    if delete_cookie:
        ss["_cookie_action"] = "delete"
    if message:
        ss["_flash"] = message


def _resolve_actor(db: Any, authenticator: Any, settings: Any) -> Any | None:
    """The validated actor of this run, or ``None`` (signed out)."""
    from core.base.errors import AuthError
    from core.domain import sessions

    ss = st.session_state
    if ss.get("authentication_status") and ss.get("_signed_in_at") and ss.get("username"):
        try:
            actor = sessions.session_actor(db, ss["username"], ss["_signed_in_at"])
        except AuthError as exc:
            _forget(str(exc))
            return None
        _establish(actor, ss["_signed_in_at"])
        return actor
    if ss.get("logout"):
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
        _forget(str(exc))
        return None
    _establish(actor, sessions.cookie_issued_at(token, settings))
    return actor


def _apply_cookie_action(authenticator: Any, settings: Any) -> None:
    """Issue or delete the login cookie through streamlit-authenticator's cookie manager.

    Each request gets a component key of its own and is drawn on every run until the browser confirms it
    (the component's value turns true): a component that a rerun replaces before its frame loaded would
    otherwise never reach the browser."""
    from core.domain import sessions

    ss = st.session_state
    action = ss.get("_cookie_action")
    if action is None:
        return
    if isinstance(action, str):
        ss["_cookie_seq"] = ss.get("_cookie_seq", 0) + 1
        action = (action, f"auth_cookie_{action}_{ss['_cookie_seq']}")
        ss["_cookie_action"] = action
        if action[0] == "set" and ss.get("username"):
            ss["_cookie_token"] = sessions.issue_token(ss["username"], settings, now=ss.get("_signed_in_at"))
    kind, key = action
    if ss.get(key) is True or (kind == "set" and not ss.get("authentication_status")):
        ss.pop("_cookie_action", None)
        ss.pop("_cookie_token", None)
        return
    manager = authenticator.cookie_controller.cookie_model.cookie_manager
    try:
        if kind == "set":
            expires = datetime.now() + timedelta(hours=settings.lifetime_hours)
            manager.set(
                settings.cookie_name,
                ss["_cookie_token"],
                key=key,
                expires_at=expires,
                secure=_cookie_is_secure(),
                same_site="strict",
            )
        else:
            manager.delete(settings.cookie_name, key=key)
    except KeyError:  # the manager had not seen the cookie yet; the delete was still sent
        pass
    except Exception as exc:  # the cookie is a convenience; the session itself is already decided
        from pages import ui

        ui.error_id_for(exc)


def _submit_sign_in() -> None:
    """The sign-in form's callback. It runs before the script body, so a rerun that something else requests
    meanwhile (the cookie component answering) cannot drop the submit halfway."""
    from core.base.errors import AuthError
    from core.domain import sessions, signin
    from pages import ui

    ss = st.session_state
    ss.pop("_flash", None)
    ss.pop("_sign_in_error", None)
    try:
        actor = signin.authenticate(
            ui.get_db(), ss.get("sign_in_email", ""), ss.get("sign_in_password", ""), client=client_address()
        )
    except AuthError as exc:
        ss["_sign_in_error"] = str(exc)
        return
    except Exception as exc:
        ss["_sign_in_error"] = f"Sorry, signing in failed. Error id: {ui.error_id_for(exc)}."
        return
    _establish(actor, sessions.database_now(ui.get_db()))  # the clock tokens_valid_after is kept by
    ss["_cookie_action"] = "set"


def sign_in() -> None:
    """The sign-in page (the only page while nobody is signed in). Notices stay until the next submit: the
    cookie component's first answer reruns the script once, which must not wipe them."""
    from pages import ui

    st.title("Inventory Lite")
    if st.session_state.get("_flash"):
        st.info(ui.md(st.session_state["_flash"]))
    if st.session_state.get("_sign_in_error"):
        st.error(ui.md(st.session_state["_sign_in_error"]))
    with st.form("sign_in", clear_on_submit=True):
        st.subheader("Sign in")
        st.text_input("Email", key="sign_in_email", autocomplete="username")
        st.text_input("Password", type="password", key="sign_in_password", autocomplete="current-password")
        st.form_submit_button("Sign in", type="primary", on_click=_submit_sign_in)


def _sign_out(db: Any, authenticator: Any) -> None:
    """Sidebar callback: end every session of this user in the database, then this one."""
    from core.domain import signin

    email = st.session_state.get("username")
    if email:
        try:
            signin.end_sessions(db, email)
        except Exception as exc:
            from pages import ui

            ui.error_id_for(exc)
    authenticator.authentication_controller.logout()
    _forget("You are signed out.")


def _no_pages() -> None:
    st.info("No page of this app is installed for your role yet.")


def _not_for_your_role() -> None:
    st.error("This page is for the owner only.")


def _signed_out_pages() -> list[Any]:
    """The sign-in page, also answering at every page's address (hidden), so a bookmarked or reloaded URL shows
    the sign-in form instead of "Page not found", and after sign-in the user lands on the page they asked for."""
    pages = [st.Page(sign_in, title="Sign in", url_path="sign-in", default=True)]
    for file in (SETUP_PAGE, *(row[0] for row in PAGES)):
        pages.append(st.Page(sign_in, title="Sign in", url_path=Path(file).stem, visibility="hidden"))
    return pages


def _pages_for(role: str) -> dict[str, list[Any]]:
    """The role's pages by section. Another role's page is not registered at all; its address answers with a
    refusal (hidden), never with any of its content."""
    present = [row for row in PAGES if role in row[2] and (ROOT / row[0]).exists()]
    default = next((row[0] for row in present if row[0] == "pages/dashboard.py"), present[0][0] if present else None)
    sections: dict[str, list[Any]] = {}
    for file, title, _roles, icon, section in present:
        sections.setdefault(section, []).append(st.Page(file, title=title, icon=icon, default=file == default))
    refused = [
        st.Page(_not_for_your_role, title="Not available", url_path=Path(row[0]).stem, visibility="hidden")
        for row in PAGES
        if role not in row[2]
    ]
    if sections and refused:
        sections[next(iter(sections))].extend(refused)
    return sections


def main() -> None:
    import streamlit_authenticator as stauth

    from core.domain import sessions, users
    from pages import ui

    st.set_page_config(page_title="Inventory Lite", page_icon=":material/inventory:", layout="wide")
    try:
        db = ui.get_db()
        first_run = not users.has_users(db)
        settings = None if first_run else sessions.session_settings(db, _secrets())
    except Exception as exc:
        ui.show_error(exc)
        st.stop()
    if first_run:
        _forget(delete_cookie=False)
        nav = st.navigation(
            [st.Page(SETUP_PAGE, title="Set up", icon=":material/build:", default=True)], position="hidden"
        )
    else:
        authenticator = stauth.Authenticate(
            sessions.credentials(db),
            settings.cookie_name,
            settings.cookie_key,
            settings.expiry_days,
            auto_hash=False,
            login_sleep_time=0,
        )
        # The cookie components go into a block at a fixed place: when one comes or goes, the page below keeps
        # its element positions, so nothing a user is typing is re-created (and lost) by the rerun they cause.
        cookie_slot = st.container()
        actor = _resolve_actor(db, authenticator, settings)
        with cookie_slot:
            _apply_cookie_action(authenticator, settings)
        if actor is None:
            nav = st.navigation(_signed_out_pages(), position="hidden")
        else:
            sections = _pages_for(actor.role)
            nav = st.navigation(sections or [st.Page(_no_pages, title="Inventory Lite", default=True)])
            with st.sidebar:
                st.caption(f"Signed in as **{ui.md(actor.name)}** ({actor.role})")
                st.button("Sign out", key="sign_out", on_click=_sign_out, args=(db, authenticator))
    try:
        nav.run()
    except Exception as exc:
        ui.show_error(exc)


if __name__ == "__main__":
    main()
