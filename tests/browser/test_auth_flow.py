"""Real-browser sign-in flows: first run, owner and staff sign-in, reload, logout, cookie replay, owner URLs."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    OWNER_EMAIL,
    PASSWORD,
    STAFF_EMAIL,
    AppServer,
    open_page,
    sign_in,
    wait_for_login_cookie,
    wait_idle,
)

pytestmark = pytest.mark.browser

NEW_STAFF, NEW_STAFF_PASSWORD = "new.staff@shop.test", "another secret 7"


def heading(page: Any) -> list[str]:
    return page.locator("h1").all_inner_texts()


def sidebar_links(page: Any) -> list[str]:
    """The page titles in the sidebar navigation (each link also holds its icon's name on a first line)."""
    return [text.strip().split("\n")[-1] for text in page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()]


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    wait_idle(page)


def test_first_run_to_cookie_replay(app_server_factory: Any, page: Any, browser: Any) -> None:
    server: AppServer = app_server_factory(seed=None)

    # first run: the setup page creates the owner
    open_page(page, server)
    assert heading(page) == ["Set up Inventory Lite"]
    page.get_by_role("textbox", name="Email").fill(OWNER_EMAIL)
    page.get_by_role("textbox", name="Name").fill("Olivia Owner")
    page.get_by_role("textbox", name="Password", exact=True).fill(PASSWORD)
    page.get_by_role("textbox", name="Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create owner account").click()
    page.get_by_text("Sign in to continue").wait_for()

    # owner signs in and adds a store and a staff account
    sign_in(page, OWNER_EMAIL, PASSWORD)
    assert "Admin" in sidebar_links(page)
    open_page(page, server, "/admin")
    page.get_by_role("tab", name="Stores").click()
    page.get_by_role("textbox", name="Code").fill("S1")
    store_form = page.locator('[data-testid="stForm"]').filter(has=page.get_by_role("button", name="Add store"))
    store_form.get_by_role("textbox", name="Name").fill("Main Street")
    store_form.get_by_role("button", name="Add store").click()
    page.get_by_text("Added store S1.").wait_for()
    wait_idle(page)

    user_form = page.locator('[data-testid="stForm"]').filter(has=page.get_by_role("button", name="Add user"))
    user_form.get_by_role("textbox", name="Email").fill(NEW_STAFF)
    user_form.get_by_role("textbox", name="Name").fill("Nia Staff")
    user_form.get_by_role("textbox", name="Password").fill(NEW_STAFF_PASSWORD)
    user_form.get_by_role("button", name="Add user").click()
    page.get_by_text(f"Added staff {NEW_STAFF}.").wait_for()
    wait_idle(page)
    sign_out(page)

    # staff signs in: no owner page in the navigation
    sign_in(page, NEW_STAFF, NEW_STAFF_PASSWORD)
    links = sidebar_links(page)
    assert "Account" in links and not {"Admin", "Audit log", "System"} & set(links)

    # reload keeps the user on the same page
    open_page(page, server, "/account")
    page.get_by_role("heading", name="Account").wait_for()
    page.reload()
    wait_idle(page)
    page.get_by_role("heading", name="Account").wait_for()
    assert page.url.endswith("/account")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # logout, then replaying the old cookie in a fresh browser does not sign in
    old_cookie = wait_for_login_cookie(page, NEW_STAFF)
    sign_out(page)
    replay = browser.new_context()
    try:
        replay.add_cookies([{k: old_cookie[k] for k in ("name", "value", "domain", "path")}])
        other = replay.new_page()
        open_page(other, server, "/account")
        other.get_by_role("button", name="Sign in").wait_for()
        assert other.get_by_role("button", name="Sign out").count() == 0
        assert "Account" not in heading(other)
    finally:
        replay.close()


def test_staff_opening_an_owner_url_gets_nothing_of_it(app_server: AppServer, page: Any) -> None:
    open_page(page, app_server)
    sign_in(page, STAFF_EMAIL, PASSWORD)
    open_page(page, app_server, "/admin")
    page.get_by_role("button", name="Sign out").wait_for()
    wait_idle(page)
    page.get_by_text("This page is for the owner only.").wait_for()
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "Add a user" not in body and OWNER_EMAIL not in body
    assert "Admin" not in heading(page)
    assert page.get_by_text("Page not found").count() == 0


def test_signed_out_deep_link_signs_in_on_that_page(app_server: AppServer, page: Any) -> None:
    open_page(page, app_server, "/account")
    assert page.get_by_text("Page not found").count() == 0
    sign_in(page, STAFF_EMAIL, PASSWORD)
    page.get_by_role("heading", name="Account").wait_for()
    assert page.url.endswith("/account")


def test_health_and_metrics_routes_answer_over_http(app_server: AppServer) -> None:
    import json
    import urllib.request

    with urllib.request.urlopen(app_server.url + "/healthz", timeout=10) as response:
        assert response.status == 200
        assert json.loads(response.read())["database"] == "ok"
    with urllib.request.urlopen(app_server.url + "/metrics", timeout=10) as response:
        assert response.status == 200
        assert "inventory_operation_seconds" in response.read().decode()


def test_cookie_signs_in_again_until_logout(app_server: AppServer, page: Any, browser: Any) -> None:
    open_page(page, app_server)
    sign_in(page, OWNER_EMAIL, PASSWORD)
    cookie = wait_for_login_cookie(page, OWNER_EMAIL)
    second = browser.new_context()
    try:
        second.add_cookies([{k: cookie[k] for k in ("name", "value", "domain", "path")}])
        tab = second.new_page()
        open_page(tab, app_server, "/account")
        tab.get_by_role("heading", name="Account").wait_for()
        sign_out(page)  # ends every session of this user, the other browser's too
        tab.reload()
        wait_idle(tab)
        tab.get_by_role("button", name="Sign in").wait_for()
    finally:
        second.close()
