"""The routes served beside the app through ``st.App``: ``/healthz`` (JSON, checks the database) and ``/metrics``
(Prometheus text), and that ``streamlit run app.py`` finds the module-level ``app``."""

from __future__ import annotations

import importlib.util
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import pytest
import streamlit as st
from streamlit.web.server.app_discovery import discover_asgi_app

from core import open_db
from core.base.errors import AuthError
from core.db import Database
from core.domain import signin
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
    # user middleware runs before Streamlit's own routes (``/_stcore/metrics`` included)
    assert [m.cls for m in app_module.app._user_middleware] == [app_module.MetricsGuard]


def _get(app_module: ModuleType, path: str, authorization: str | None = None) -> tuple[int, dict[str, str], str]:
    """One GET through ``MetricsGuard`` in front of the app's routes and a stand-in for Streamlit's
    ``/_stcore/metrics``: (status, headers, body)."""
    import asyncio

    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    inner = Starlette(
        routes=[*app_module.app._user_routes, Route("/_stcore/metrics", lambda r: PlainTextResponse("streamlit"))]
    )
    guarded = app_module.MetricsGuard(inner)
    headers = [(b"authorization", authorization.encode())] if authorization else []
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b""}
    scope |= {"headers": headers, "http_version": "1.1", "scheme": "http", "server": ("t", 80), "root_path": ""}
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    # in a thread of its own: an earlier test may have left an event loop running in this one
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, guarded(scope, receive, send)).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body").decode()
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


@pytest.mark.parametrize("path", ["/metrics", "/_stcore/metrics"])
def test_metrics__a_token_setting_requires_the_bearer_token(
    app_module: ModuleType, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.delenv("INVENTORY_METRICS_TOKEN", raising=False)
    assert _get(app_module, path)[0] == 200  # no token set: as before
    monkeypatch.setenv("INVENTORY_METRICS_TOKEN", "a-long-scrape-token")
    status, headers, body = _get(app_module, path)
    assert status == 401 and headers["www-authenticate"].startswith("Bearer") and "inventory_" not in body
    assert _get(app_module, path, "Bearer wrong-token")[0] == 401
    assert _get(app_module, path, "Basic YS1sb25nLXNjcmFwZS10b2tlbg==")[0] == 401
    status, _, body = _get(app_module, path, "Bearer a-long-scrape-token")
    assert status == 200 and body


def test_metrics__the_token_guards_nothing_else(app_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_METRICS_TOKEN", "a-long-scrape-token")
    status, _, body = _get(app_module, "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"


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
        signin.authenticate(shop, STAFF_EMAIL, "wrong password 1")
    response = app_module.metrics(None)
    text = response.body.decode()
    assert response.media_type.startswith("text/plain")
    assert 'inventory_operations_total{action="auth.login",outcome="ok"} ' in text
    assert "inventory_operation_seconds_bucket" in text
