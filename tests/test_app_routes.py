"""The routes served beside the app through ``st.App``: ``/healthz`` (JSON, checks the database) and ``/metrics``
(Prometheus text), and that ``streamlit run app.py`` finds the module-level ``app``."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
import streamlit as st
from streamlit.web.server.app_discovery import discover_asgi_app

from core import open_db, users
from core.db import Database
from core.errors import AuthError
from tests.conftest import ROOT, STAFF_EMAIL
from tests.test_app_support import fast_hashing  # noqa: F401  (autouse fixture)


@pytest.fixture
def app_module(db: Database, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """app.py imported as a module (as uvicorn does under ``streamlit run``), on the test database."""
    monkeypatch.setenv("INVENTORY_DB", db.target)
    st.cache_resource.clear()
    spec = importlib.util.spec_from_file_location("inventory_app_under_test", ROOT / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_streamlit_run_finds_the_module_level_app() -> None:
    found = discover_asgi_app(ROOT / "app.py")
    assert found.is_asgi_app and found.app_name == "app"


def test_app_declares_healthz_and_metrics(app_module: ModuleType) -> None:
    assert isinstance(app_module.app, st.App)
    assert {r.path for r in app_module.app._user_routes} == {"/healthz", "/metrics"}


def test_healthz__200_json_when_the_database_answers(app_module: ModuleType) -> None:
    response = app_module.healthz(None)
    body = json.loads(response.body)
    assert response.status_code == 200 and response.media_type == "application/json"
    assert body["status"] == "ok" and body["database"] == "ok"


def test_healthz__503_when_the_database_does_not_answer(
    app_module: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pages import ui

    closed = open_db(str(tmp_path / "gone.duckdb"))
    closed.close()
    monkeypatch.setattr(ui, "get_db", lambda: closed)
    response = app_module.healthz(None)
    assert response.status_code == 503
    body = json.loads(response.body)
    assert body["status"] == "unavailable" and body["database"] == "unavailable"  # no details to strangers


def test_metrics__prometheus_text_with_counts_by_action_and_outcome(shop: Database, app_module: ModuleType) -> None:
    with pytest.raises(AuthError):
        users.authenticate(shop, STAFF_EMAIL, "wrong password 1")
    response = app_module.metrics(None)
    text = response.body.decode()
    assert response.media_type.startswith("text/plain")
    assert 'inventory_operations_total{action="auth.login",outcome="ok"} ' in text
    assert "inventory_operation_seconds_bucket" in text
