"""Real browser, Import page: a file whose SKUs lost their leading zeros is held back until the owner ticks the
confirmation, then imports; a file with thousands of duplicate lines shows a short, capped error list. Screenshots
at desktop (1400x900) and phone (390x844) width are saved in the test's temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.base.permissions import SYSTEM
from core.db import Database
from core.domain.catalog import create_product
from tests.browser.conftest import OWNER_EMAIL, PASSWORD, AppServer, open_page, seed_shop, sign_in, wait_idle

pytestmark = pytest.mark.browser

LOOKALIKE = b"sku,name,category,unit_price,quantity\n123,Other thing,Misc,2.00,4\n"
DUPLICATES = b"sku,quantity\n" + b"MILK-1L,1\n" * 5_000
DESKTOP, PHONE = {"width": 1400, "height": 900}, {"width": 390, "height": 844}


def seed(db: Database) -> None:
    seed_shop(db)
    create_product(db, SYSTEM, "00123", "Padded thing", "Misc", "1.00", 5)


def choose_file(page: Any, name: str, data: bytes) -> None:
    uploader = page.locator('[data-testid="stFileUploader"]').first
    with page.expect_file_chooser() as chooser:
        uploader.locator("button").first.click()
    chooser.value.set_files(files=[{"name": name, "mimeType": "text/csv", "buffer": data}])


def shots(page: Any, folder: Path, name: str, focus: str) -> None:
    """Screenshots at both widths, scrolled to the text ``focus`` (the app scrolls inside its own container)."""
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        wait_idle(page)
        page.get_by_text(focus).first.scroll_into_view_if_needed()
        page.screenshot(path=str(folder / f"{name}-{label}.png"))
    page.set_viewport_size(DESKTOP)


def test_lookalike_skus_need_the_owners_confirmation(app_server_factory: Any, page: Any, tmp_path: Path) -> None:
    server: AppServer = app_server_factory(seed)
    page.set_viewport_size(DESKTOP)
    open_page(page, server)
    sign_in(page, OWNER_EMAIL, PASSWORD)
    open_page(page, server, "/import_export")
    page.get_by_role("heading", name="Import / export").wait_for()

    choose_file(page, "saved-by-calc.csv", LOOKALIKE)
    page.get_by_text("differs from an existing SKU only by leading zeros").wait_for()
    wait_idle(page)
    assert page.locator(".st-key-import_commit button").is_disabled()
    shots(page, tmp_path, "lookalike", "These SKUs are new products: add them")

    page.get_by_text("These SKUs are new products: add them").click()
    wait_idle(page)
    commit = page.get_by_role("button", name="Import", exact=True)
    commit.wait_for()
    assert commit.is_enabled() and page.get_by_text("did a spreadsheet program drop").count() == 0
    shots(page, tmp_path, "lookalike-confirmed", "Skip the rows with errors")
    commit.click()
    page.get_by_text("Imported saved-by-calc.csv: 1 new, 0 updated, 0 unchanged.").wait_for()
    wait_idle(page)

    page.get_by_role("button", name="Import another file").click()
    wait_idle(page)
    choose_file(page, "dups.csv", DUPLICATES)
    page.get_by_text("5,000 rows have errors (5,000 problems).").wait_for()
    page.get_by_text("3,000 more problems were not listed (only the first 2,000 are)").wait_for()
    wait_idle(page)
    shots(page, tmp_path, "duplicates", "more problems were not listed")
    print(f"\nscreenshots in {tmp_path}")
