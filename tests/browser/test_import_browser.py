"""Real browser: the owner uploads a CSV on the Import / export page, sees the preview, commits, sees the result,
and downloads the catalog export holding the new product."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OWNER_EMAIL, PASSWORD, AppServer, open_page, sign_in, wait_idle

pytestmark = pytest.mark.browser

CSV = b"store,sku,name,category,unit_price,quantity\nS1,MILK-1L,,,,90\nS1,JAM-1,Mango Jam,Spreads,2.50,4\n"


def test_owner_uploads_previews_and_imports_a_csv(app_server: AppServer, page: Any) -> None:
    open_page(page, app_server)
    sign_in(page, OWNER_EMAIL, PASSWORD)
    open_page(page, app_server, "/import_export")
    page.get_by_role("heading", name="Import / export").wait_for()

    uploader = page.locator('[data-testid="stFileUploader"]').first
    with page.expect_file_chooser() as chooser:
        uploader.locator("button").first.click()
    chooser.value.set_files(files=[{"name": "counts.csv", "mimeType": "text/csv", "buffer": CSV}])

    commit = page.get_by_role("button", name="Import", exact=True)
    commit.wait_for()
    wait_idle(page)
    # rows, new, updated, unchanged, with errors (looked at again while a busy machine is still drawing them)
    expect(page.locator('[data-testid="stMetricValue"]')).to_have_text(["2", "1", "1", "0", "0"])

    commit.click()
    page.get_by_text("Imported counts.csv: 1 new, 1 updated, 0 unchanged.").wait_for()
    wait_idle(page)

    # the export tab's download holds the imported product (read back through the running app)
    page.get_by_role("tab", name="Export").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download catalog (products) (CSV)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "JAM-1,Mango Jam,Spreads,2.50,10,,true" in text
