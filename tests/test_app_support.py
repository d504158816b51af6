"""Helpers for AppTest page tests of the whole app (``app.py`` + ``pages/``), and the test of the trap they fix.

The trap (streamlit 1.67): ``AppTest.run`` resets ``PagesManager.uses_pages_directory`` to ``None`` on every run,
and a new ``PagesManager`` then sets it to ``True`` because a ``pages/`` folder exists. From the second run on,
Streamlit's v1 multipage mode runs the current page file *directly*, without ``app.py``: no sign-in check, no
navigation per role. The real server does not do this (``app.py`` switches v1 off at import time), so tests must
not either. Use the ``v2_pages`` fixture (or call ``force_v2_pages(monkeypatch)``) in every AppTest of the app.

Usage in another test file::

    from tests.test_app_support import app_test, sign_in_as

    def test_x(shop, monkeypatch):
        at = sign_in_as(app_test(shop, monkeypatch), OWNER_EMAIL)
        at.switch_page("pages/inventory.py").run()
        assert not at.exception
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from core.db import Database
from core.domain.signin import actor_for
from tests.conftest import ROOT

APP = str(ROOT / "app.py")


def force_v2_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every ``PagesManager`` built during the test leave v1 multipage mode off."""
    original = PagesManager.__init__

    def init(self: PagesManager, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture
def v2_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    force_v2_pages(monkeypatch)


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """bcrypt at 4 rounds instead of 12 while testing pages (the same algorithm; 0.6 s -> 2 ms a hash on this
    machine). Autouse in every module that imports it, so it is in place before ``shop`` creates users."""
    import bcrypt

    real = bcrypt.gensalt
    monkeypatch.setattr(bcrypt, "gensalt", lambda rounds=4, prefix=b"2b": real(4, prefix))


def app_test(db: Database, monkeypatch: pytest.MonkeyPatch, *, timeout: float = 30) -> AppTest:
    """An AppTest of ``app.py`` on ``db``'s file (env ``INVENTORY_DB``), with v1 multipage mode off and
    ``st.cache_resource`` cleared so the app opens that very database (DuckDB shares one instance per file
    within a process)."""
    force_v2_pages(monkeypatch)
    monkeypatch.setenv("INVENTORY_DB", db.target)
    st.cache_resource.clear()
    st.cache_data.clear()
    return AppTest.from_file(APP, default_timeout=timeout)


def sign_in_as(at: AppTest, email: str) -> AppTest:
    """Put a signed-in session for ``email`` into ``at`` (as the sign-in form would) and run the app."""
    from pages import keys, ui

    db = ui.get_db()
    actor = actor_for(db, email)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = actor.email
    at.session_state["name"] = actor.name
    at.session_state["email"] = actor.email
    at.session_state["roles"] = [actor.role]
    at.session_state["logout"] = False
    at.session_state[keys.SIGNED_IN_AT_KEY] = datetime.now(UTC)
    at.session_state[keys.ACTOR_KEY] = actor
    return at.run()


def test_support__app_py_runs_on_every_rerun_once_v1_pages_are_off(
    shop: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``force_v2_pages`` the second run would execute the page file alone; with it, app.py re-checks
    the session each run, so ending the session in the database signs this AppTest out."""
    from core.domain.signin import end_sessions

    at = sign_in_as(app_test(shop, monkeypatch), "staff@shop.test")
    at.switch_page("pages/account.py").run()
    assert at.session_state["actor"].email == "staff@shop.test"
    end_sessions(shop, "staff@shop.test")
    at.run()
    assert "actor" not in at.session_state
    assert [t.value for t in at.title] == ["Inventory Lite"]
