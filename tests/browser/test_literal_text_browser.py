"""Real browser: hostile text (a markdown image and link, HTML, emphasis, math, directives) in an audit detail, a
SKU, a product name and a user name is shown literally on the Audit log, Reports and the sidebar, and the
browser never asks the remote host for anything (every request the page makes is recorded).

Screenshots at 1400x900 and 390x844 are written to the test's temporary folder (paths printed) for a person to
look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.base.permissions import SYSTEM
from core.db import Database
from core.domain import audit
from core.domain.catalog import create_product
from core.domain.ops import transact
from core.domain.users import add_user
from tests.browser.conftest import PASSWORD, AppServer, open_page, seed_shop, sign_in, wait_idle

pytestmark = pytest.mark.browser

HOST = "evil.test"
SKU = f"![x](http://{HOST}/x.png)"
NAME = f"**b** [click](http://{HOST}) <img src=http://{HOST}/i.png> `c` $x$ :red[x]"
DETAIL = f"Refused SKU {SKU} [click](http://{HOST}/login) <img src=http://{HOST}/d.png> :material/home:"
USER = f"[u](http://{HOST}) **Boss** :smile:"
EMAIL = "boss@shop.test"
SIZES = {"wide": (1400, 900), "phone": (390, 844)}


def seed_hostile(db: Database) -> None:
    seed_shop(db)
    add_user(db, SYSTEM, EMAIL, PASSWORD, "owner", name=USER)
    create_product(db, SYSTEM, SKU, NAME, "Misc", "1.00")
    denied = {"actor": "staff@shop.test", "action": "product.create", "entity": "product", "entity_id": SKU}
    transact(db, lambda tx: audit.write(tx, **denied, outcome="denied", detail=DETAIL))


def visible_text(page: Any) -> str:
    return page.locator('[data-testid="stMain"]').inner_text().replace("\u2060", "")


def assert_inert(page: Any) -> None:
    """No link, image or formatted element made from the hostile text anywhere in the app."""
    assert page.locator(f'a[href*="{HOST}"]').count() == 0
    assert page.locator(f'img[src*="{HOST}"]').count() == 0
    assert page.locator('[data-testid="stMain"] strong:has-text("b")').count() == 0
    assert page.locator('[data-testid="stMain"] .katex').count() == 0


@pytest.mark.parametrize("size", list(SIZES))
def test_hostile_text_is_literal_and_fetches_nothing(
    app_server_factory: Any, page: Any, tmp_path: Path, size: str
) -> None:
    server: AppServer = app_server_factory(seed=seed_hostile)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.set_viewport_size(dict(zip(("width", "height"), SIZES[size], strict=True)))
    page.goto(server.url)
    wait_idle(page)
    sign_in(page, EMAIL, PASSWORD)

    open_page(page, server, "/audit")
    page.get_by_role("button", name="Show only denied").click()
    wait_idle(page)
    page.get_by_text("Refused:", exact=False).first.wait_for()
    wait_idle(page)
    refused = page.locator('[data-testid="stAlertContentError"]').filter(has_text="Refused:").first
    assert refused.inner_text().replace("\u2060", "").strip() == f"Refused: {DETAIL}"
    assert_inert(page)
    shot = tmp_path / f"audit-{size}.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot: {shot}")

    open_page(page, server, "/reports")
    page.get_by_role("tab", name="One product across stores").click()
    page.get_by_role("textbox", name="SKU").fill(SKU)
    page.get_by_role("textbox", name="SKU").press("Enter")
    wait_idle(page)
    page.get_by_text("unit price 1.00").first.wait_for()
    assert f"{SKU} — {NAME} · Misc" in visible_text(page)
    if size == "wide":  # the sidebar is folded away at phone width
        sidebar = page.locator('[data-testid="stSidebar"]').inner_text().replace("\u2060", "")
        assert f"Signed in as {USER} (owner)" in sidebar
    assert_inert(page)
    shot = tmp_path / f"reports-{size}.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")

    assert not [url for url in requests if HOST in url], requests
