"""Real-browser checks of issue 12's account items: the throttled and locked sign-in messages at desktop and phone
widths, the client address taken from a trusted proxy's X-Forwarded-For, the login cookie's Secure flag behind an
https proxy, and the metrics bearer token in front of Streamlit's own routes."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from core import open_db
from tests.browser.conftest import (
    OWNER_EMAIL,
    PASSWORD,
    STAFF_EMAIL,
    AppServer,
    act_and_wait_run,
    login_cookie,
    open_page,
    sign_in,
    wait_idle,
)

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1400, "height": 900}, "phone": {"width": 390, "height": 844}}
TOKEN = "scrape-token-for-tests-0123456789"


def submit(page: Any, email: str, password: str) -> str:
    """Submit the sign-in form once; the error shown afterwards (or "" when signed in)."""
    wait_idle(page)
    page.get_by_role("textbox", name="Email").fill(email)
    page.get_by_role("textbox", name="Password").fill(password)
    act_and_wait_run(page, page.get_by_role("button", name="Sign in").click)  # not the previous try's answer
    refused = page.locator('[data-testid="stAlertContentError"]')
    refused.or_(page.get_by_role("button", name="Sign out")).first.wait_for()
    wait_idle(page)
    return refused.first.inner_text() if refused.count() else ""


def fits(page: Any, locator: Any) -> None:
    """The element is drawn whole inside the viewport's width and the page does not scroll sideways."""
    box = locator.bounding_box()
    width = page.viewport_size["width"]
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (box, width)
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def audit_clients(server: AppServer) -> list[str]:
    db = open_db(server.target)
    try:
        with db.reader() as tx:
            rows = tx.all("SELECT after FROM audit WHERE action = 'auth.login' AND after IS NOT NULL ORDER BY id")
    finally:
        db.close()
    return [json.loads(r[0]).get("client") for r in rows]


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
def test_throttled_and_locked_messages(app_server_factory: Any, browser: Any, size: str, tmp_path: Path) -> None:
    server: AppServer = app_server_factory(env={"INVENTORY_LOGIN_FREE_FAILURES": "6"})
    # a stranger behind the (trusted, loopback) proxy: uvicorn takes the client from X-Forwarded-For
    stranger = browser.new_context(viewport=VIEWPORTS[size], extra_http_headers={"X-Forwarded-For": "203.0.113.66"})
    owner = browser.new_context(viewport=VIEWPORTS[size], extra_http_headers={"X-Forwarded-For": "198.51.100.10"})
    try:
        page = stranger.new_page()
        open_page(page, server)
        answers = [submit(page, OWNER_EMAIL, "guess 123456") for _ in range(5)]
        assert answers[:4] == ["The email or password is not correct."] * 4
        assert answers[4].startswith("Too many wrong passwords: signing in to this account from this device")
        alert = page.locator('[data-testid="stAlert"]').first
        fits(page, alert)
        page.screenshot(path=str(tmp_path / f"locked-{size}.png"))
        assert submit(page, OWNER_EMAIL, PASSWORD).startswith("Too many wrong passwords")  # the right one too

        # the owner's own device is not locked out
        mine = owner.new_page()
        open_page(mine, server)
        sign_in(mine, OWNER_EMAIL, PASSWORD)

        # the stranger goes on with another account: after 6 failures from that client, waits of 1, 2, 4 ... s
        for _ in range(12):
            answer = submit(page, STAFF_EMAIL, "guess 123456")
            assert answer == "The email or password is not correct." or answer.startswith("Too many failed sign-ins")
            seconds = int(re.sub(r"\D", "", answer) or 0)
            if seconds >= 4:
                break
            page.wait_for_timeout(seconds * 1000 + 300)
        else:
            raise AssertionError("no wait of 4 seconds or more came")
        waiting = submit(page, STAFF_EMAIL, PASSWORD)  # the right password waits too
        assert re.fullmatch(r"Too many failed sign-ins\. Please wait \d+ seconds? and try again\.", waiting), waiting
        fits(page, page.locator('[data-testid="stAlert"]').first)
        page.screenshot(path=str(tmp_path / f"waiting-{size}.png"))
        print(f"\nscreenshots: {tmp_path}")
    finally:
        stranger.close()
        owner.close()
    server.stop()  # a DuckDB file is open in one process at a time
    clients = audit_clients(server)
    assert "203.0.113.66" in clients and "198.51.100.10" in clients


def test_login_cookie_is_secure_behind_an_https_proxy(app_server: AppServer, browser: Any) -> None:
    for forwarded, secure in (("https", True), (None, False)):
        headers = {"X-Forwarded-Proto": forwarded} if forwarded else {}
        context = browser.new_context(extra_http_headers=headers)
        try:
            page = context.new_page()
            open_page(page, app_server)
            sign_in(page, STAFF_EMAIL, PASSWORD)
            cookie = login_cookie(page, STAFF_EMAIL)
            assert cookie is not None and cookie["secure"] is secure and cookie["sameSite"] == "Strict"
            assert cookie["httpOnly"] is False  # set from JavaScript: it cannot be HttpOnly (see the README)
        finally:
            context.close()


def _status(url: str, token: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_metrics_token_guards_both_metrics_routes_of_a_real_server(app_server_factory: Any) -> None:
    server: AppServer = app_server_factory(env={"INVENTORY_METRICS_TOKEN": TOKEN})
    for path in ("/metrics", "/_stcore/metrics", "/_stcore/metrics/", "//metrics"):
        assert _status(server.url + path) == 401, path
        assert _status(server.url + path, "not-the-token") == 401, path
    assert _status(server.url + "/metrics", TOKEN) == 200
    assert _status(server.url + "/_stcore/metrics", TOKEN) == 200
    assert _status(server.url + "/healthz") == 200
