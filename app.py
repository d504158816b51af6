"""Inventory Lite's frame: page config, the cached database, sign-in, and the navigation built per role.

Start it with ``streamlit run app.py`` (the database is env ``INVENTORY_DB``, else ``data/inventory.duckdb``).

Every run, in this order (so reloading any page keeps the user on it):
1. No user in the database yet -> only the setup page (``pages/setup.py``) exists.
2. The session is resolved before ``st.navigation`` by ``pages/session.py`` (the live session re-checked against
   the database, else the login cookie; sign-in, sign-out and the cookie itself are that module's).
3. Signed out -> the sign-in page (answering at every page's address). Signed in -> the pages of ``PAGES`` whose
   roles include the actor's role (a page file that does not exist yet is left out). An owner page never reaches
   a staff session: it is not registered for staff (its URL opens nothing of it), and the page calls
   ``ui.require_permission`` itself.
An unexpected error in a page becomes a short apology with an error id (``ui.show_error``); ``/healthz`` and
``/metrics`` are served beside the app through ``st.App``, behind ``MetricsGuard`` (env
``INVENTORY_METRICS_TOKEN``).
"""

from __future__ import annotations

import json
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

# file, title, roles, icon, section: the navigation, in order (a role sees the rows that name it)
PAGES: tuple[tuple[str, str, tuple[str, ...], str, str], ...] = (
    ("pages/dashboard.py", "Dashboard", BOTH, ":material/dashboard:", "Shop"),
    ("pages/inventory.py", "Inventory", BOTH, ":material/inventory_2:", "Shop"),
    ("pages/stock.py", "Stock", BOTH, ":material/swap_vert:", "Shop"),
    ("pages/orders.py", "Orders", BOTH, ":material/receipt_long:", "Shop"),
    ("pages/import_export.py", "Import / export", BOTH, ":material/upload_file:", "Shop"),
    ("pages/reports.py", "Reports", BOTH, ":material/bar_chart:", "Shop"),
    ("pages/products.py", "Products", OWNER, ":material/category:", "Owner"),
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


def _no_pages() -> None:
    st.info("No page of this app is installed for your role yet.")


def _not_for_your_role() -> None:
    st.error("This page is for the owner only.")


def _signed_out_pages() -> list[Any]:
    """The sign-in page, also answering at every page's address (hidden), so a bookmarked or reloaded URL shows
    the sign-in form instead of "Page not found", and after sign-in the user lands on the page they asked for."""
    from pages.session import sign_in_page

    pages = [st.Page(sign_in_page, title="Sign in", url_path="sign-in", default=True)]
    for file in (SETUP_PAGE, *(row[0] for row in PAGES)):
        pages.append(st.Page(sign_in_page, title="Sign in", url_path=Path(file).stem, visibility="hidden"))
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


def _navigation(db: Any, settings: Any) -> Any:
    """The navigation of this run: the sign-in page while signed out, else the actor's pages and the sidebar."""
    from pages import session

    authenticator = session.authenticator_for(db, settings)
    actor = session.resolve(db, authenticator, settings)
    if actor is None:
        return st.navigation(_signed_out_pages(), position="hidden")
    sections = _pages_for(actor.role)
    nav = st.navigation(sections or [st.Page(_no_pages, title="Inventory Lite", default=True)])
    session.sidebar(db, authenticator, actor)
    return nav


def main() -> None:
    from core.domain import sessions, users
    from pages import session, ui

    st.set_page_config(page_title="Inventory Lite", page_icon=":material/inventory:", layout="wide")
    try:
        db = ui.get_db()
        first_run = not users.has_users(db)
        settings = None if first_run else sessions.session_settings(db, session.secrets())
    except Exception as exc:
        ui.show_error(exc)
        st.stop()
    if first_run:
        session.forget(delete_cookie=False)
        nav = st.navigation(
            [st.Page(SETUP_PAGE, title="Set up", icon=":material/build:", default=True)], position="hidden"
        )
    else:
        nav = _navigation(db, settings)
    try:
        nav.run()
    except Exception as exc:
        ui.show_error(exc)


if __name__ == "__main__":
    main()
