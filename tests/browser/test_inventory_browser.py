"""Real-browser inventory flows: a quantity edited in the canvas grid is saved; two browsers editing the same
product end in the conflict dialog, and keep mine / take theirs / edit again each do what they say; search plus
category chips."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

from core import open_db
from tests.browser.conftest import OWNER_EMAIL, PASSWORD, STAFF_EMAIL, AppServer, open_page, sign_in, wait_idle

pytestmark = pytest.mark.browser

QUANTITY_COLUMN = 5  # sku, name, category, unit_price, reorder_level, quantity, status, vendor
ROW_PX, HEADER_PX = 35, 35


def the_grid(page: Any) -> Any:
    """The inventory data editor (not the read-only tables that may sit beside it)."""
    return page.locator('[data-testid="stDataFrame"]').filter(has=page.locator("th", has_text="Reorder level"))


def edit_cell(
    page: Any, grid: Any, row: int, column: int, value: Any, *, left_px: int = 30, row_markers: bool = False
) -> None:
    """Click the first cell, move with the arrow keys, open the cell editor, type the value, commit.

    The selected cell is checked in the grid's accessibility table before typing, and the whole move retried
    when it is not the one wanted (a rerun that had not started when the script looked idle may redraw the grid
    under the first click). With ``row_markers`` (a dynamic editor) the accessibility ids count the marker
    column, and ``left_px`` must land past it."""
    editor = page.locator('[data-testid="portal"] .gdg-input')
    wanted = f"glide-cell-{column + int(row_markers)}-{row}"
    for _attempt in range(4):
        wait_idle(page)
        grid.locator("td").first.wait_for(state="attached")
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        if box is None:  # the grid was being redrawn between the two looks: look again
            page.wait_for_timeout(300)
            continue
        page.mouse.click(box["x"] + left_px, box["y"] + HEADER_PX + ROW_PX // 2)
        page.wait_for_timeout(100)
        if editor.count():  # a click on the cell already selected opens its editor: close it unchanged
            page.keyboard.press("Escape")
        for _ in range(column):
            page.keyboard.press("ArrowRight")
        for _ in range(row):
            page.keyboard.press("ArrowDown")
        try:  # the accessibility table follows the canvas a moment later
            expect(grid.locator(f'[data-testid="{wanted}"]')).to_have_attribute("aria-selected", "true", timeout=1500)
        except AssertionError:
            selected = False
        else:
            selected = True
        if selected:
            page.keyboard.press("Enter")
            try:
                editor.wait_for(timeout=3000)
                break
            except Exception:
                page.keyboard.press("Escape")
        page.wait_for_timeout(300)
    else:
        raise AssertionError(f"could not open the editor of cell {wanted}")
    editor.fill(str(value))
    page.keyboard.press("Enter")
    # the edit reaches the server with the rerun it triggers: wait until the grid draws it, then until idle
    expect(grid.locator(f'[data-testid="{wanted}"]')).to_have_text(str(value))
    page.wait_for_timeout(200)
    wait_idle(page)


def quantity_cell(grid: Any, row: int) -> Any:
    return grid.locator(f'[data-testid="glide-cell-{QUANTITY_COLUMN}-{row}"]')


def column(grid: Any, index: int) -> list[str]:
    grid.locator("td").first.wait_for(state="attached")
    return grid.locator(f'td[aria-colindex="{index + 1}"]').all_inner_texts()


def wait_skus(page: Any, expected: list[str], timeout_s: float = 20.0) -> None:
    """Wait until the grid lists exactly ``expected`` (in any order): a rerun may start after the page looked idle."""
    deadline = time.perf_counter() + timeout_s
    seen: list[str] = []
    while time.perf_counter() < deadline:
        grid = the_grid(page)
        if grid.count() == 1:
            seen = sorted(grid.locator('td[aria-colindex="1"]').all_inner_texts())
            if seen == sorted(expected):
                wait_idle(page)
                return
        page.wait_for_timeout(100)
    raise AssertionError(f"the grid shows {seen}, not {sorted(expected)}")


def row_of(grid: Any, sku: str, timeout_s: float = 15.0) -> int:
    """The row of ``sku`` in the grid, waiting while a rerun redraws it (after a save the grid is drawn anew)."""
    deadline = time.perf_counter() + timeout_s
    while True:
        skus = column(grid, 0)
        if sku in skus:
            return skus.index(sku)
        if time.perf_counter() > deadline:
            raise AssertionError(f"{sku} is not in the grid, which shows {skus}")
        time.sleep(0.1)


def inventory(page: Any, server: AppServer, email: str) -> Any:
    open_page(page, server)
    sign_in(page, email, PASSWORD)
    open_page(page, server, "/inventory")
    grid = the_grid(page)
    grid.locator("td").first.wait_for(state="attached")
    return grid


def save(page: Any) -> None:
    page.get_by_role("button", name="Save 1 edited row(s)").click()
    wait_idle(page)


def stored(target: str, sku: str) -> tuple[int, list[int]]:
    """Through core: the quantity of ``sku`` in S1 and its adjustments' quantity_after, oldest first."""
    db = open_db(target)
    try:
        with db.reader() as tx:
            quantity = tx.scalar(
                "SELECT s.quantity FROM stock s JOIN products p ON p.id = s.product_id WHERE p.sku = $1", [sku]
            )
            after = [
                r[0]
                for r in tx.all(
                    "SELECT m.quantity_after FROM movements m JOIN products p ON p.id = m.product_id"
                    " WHERE p.sku = $1 AND m.kind = 'adjustment' ORDER BY m.id",
                    [sku],
                )
            ]
    finally:
        db.close()
    return int(quantity), [int(a) for a in after]


def quantity_history(server: AppServer, sku: str) -> tuple[int, list[int]]:
    """After the server stopped (it holds the DuckDB file): ``stored`` for its database."""
    server.stop()
    return stored(str(server.db_path), sku)


def save_then_conflict(first: Any, second: Any, row: int, mine: int, theirs: int) -> Any:
    """``first`` (the owner) saves ``theirs`` in ``row``; ``second``, who loaded before, saves ``mine`` and gets the
    conflict dialog listing that row: your value, the current value and who changed it. Returns the dialog."""
    first.get_by_role("button", name="Reload (discard edits)").click()
    wait_idle(first)
    edit_cell(first, the_grid(first), row, QUANTITY_COLUMN, theirs)
    save(first)
    first.get_by_text("Saved:").first.wait_for()
    edit_cell(second, the_grid(second), row, QUANTITY_COLUMN, mine)
    save(second)
    dialog = second.get_by_role("dialog")
    dialog.get_by_text("Someone else changed these rows").wait_for()
    table = dialog.locator('[data-testid="stDataFrame"]')
    assert column(table, 0) == ["MILK-1L"]
    assert column(table, 2) == [str(mine)]  # your value
    assert column(table, 3) == [str(theirs)]  # current value
    assert column(table, 4) == [OWNER_EMAIL]  # who changed it
    return dialog


def test_staff_edits_a_quantity_in_the_grid_and_it_is_saved(app_server: AppServer, page: Any) -> None:
    grid = inventory(page, app_server, STAFF_EMAIL)
    headers = grid.locator("th").all_inner_texts()
    assert "🔒 Unit price" in headers  # the price column is visibly locked for staff
    assert grid.locator('td[aria-colindex="4"]').first.get_attribute("aria-readonly") == "true"
    soap = row_of(grid, "SOAP-100")
    expect(quantity_cell(grid, soap)).to_have_text("8")

    edit_cell(page, grid, soap, QUANTITY_COLUMN, 12)
    save(page)
    page.get_by_text("Saved: 0 product(s) updated, 1 count(s) adjusted.").wait_for()
    grid = the_grid(page)
    expect(quantity_cell(grid, row_of(grid, "SOAP-100"))).to_have_text("12")
    page.reload()
    wait_idle(page)
    grid = the_grid(page)
    expect(quantity_cell(grid, row_of(grid, "SOAP-100"))).to_have_text("12")  # stored, not just drawn
    assert quantity_history(app_server, "SOAP-100") == (12, [12])


def test_two_browsers_editing_one_product_end_in_the_conflict_dialog(
    app_server: AppServer, page: Any, browser: Any
) -> None:
    other = browser.new_context().new_page()
    other.set_default_timeout(60_000)
    try:
        grid_a = inventory(page, app_server, OWNER_EMAIL)
        grid_b = inventory(other, app_server, STAFF_EMAIL)
        milk = row_of(grid_a, "MILK-1L")

        def first_save_then_conflict(mine: int, theirs: int) -> Any:
            dialog = save_then_conflict(page, other, milk, mine, theirs)
            assert column(dialog.locator('[data-testid="stDataFrame"]'), 5)[0][:4].isdigit()  # when
            return dialog

        # keep mine: B's value is saved over A's
        dialog = first_save_then_conflict(mine=70, theirs=90)
        dialog.get_by_role("button", name="Keep mine").click()
        wait_idle(other)
        other.get_by_text("Your values were kept.").wait_for()
        expect(quantity_cell(the_grid(other), milk)).to_have_text("70")

        # take theirs: A's value stays, B's edit is dropped
        dialog = first_save_then_conflict(mine=50, theirs=60)
        dialog.get_by_role("button", name="Take theirs").click()
        wait_idle(other)
        other.get_by_text("Nothing was saved: the grid now shows the current values.").wait_for()
        expect(quantity_cell(the_grid(other), milk)).to_have_text("60")

        # edit again: back in the grid with my edit on top of the current value; change it and save
        dialog = first_save_then_conflict(mine=30, theirs=40)
        dialog.get_by_role("button", name="Edit again").click()
        wait_idle(other)
        other.get_by_text("Your edits are still in the grid, now on top of the current values").wait_for()
        assert other.get_by_role("dialog").count() == 0
        grid_b = the_grid(other)
        expect(quantity_cell(grid_b, milk)).to_have_text("30")
        edit_cell(other, grid_b, milk, QUANTITY_COLUMN, 35)
        save(other)
        other.get_by_text("Saved: 0 product(s) updated, 1 count(s) adjusted.").wait_for()
        expect(quantity_cell(the_grid(other), milk)).to_have_text("35")
    finally:
        other.context.close()
    # every save is either applied whole or shown as a conflict: 50 and 30 were never written
    assert quantity_history(app_server, "MILK-1L") == (35, [90, 70, 60, 40, 35])


def test_search_plus_category_chips(app_server: AppServer, page: Any) -> None:
    grid = inventory(page, app_server, OWNER_EMAIL)
    assert sorted(column(grid, 0)) == ["MILK-1L", "RICE-5KG", "SOAP-100"]

    search = page.get_by_role("textbox", name="Search by name or SKU")
    search.fill("milk")
    search.press("Enter")
    wait_idle(page)
    wait_skus(page, ["MILK-1L"])
    page.get_by_text("Showing 1 of 1").wait_for()

    search.fill("")
    search.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Dairy").click()
    wait_idle(page)
    page.get_by_role("button", name="Staples").click()
    wait_idle(page)
    wait_skus(page, ["MILK-1L", "RICE-5KG"])
    page.get_by_text("Showing 2 of 2").wait_for()

    search.fill("RICE")
    search.press("Enter")
    wait_skus(page, ["RICE-5KG"])

    page.get_by_role("button", name="Staples").click()  # chip off: Dairy only, no rice in it
    wait_idle(page)
    page.get_by_text("No products match these filters.").wait_for()


def test_low_stock_banner_shows_just_those_rows(app_server: AppServer, page: Any) -> None:
    inventory(page, app_server, OWNER_EMAIL)
    page.get_by_text("1 product(s) low on stock and 0 out of stock in S1.").wait_for()
    page.get_by_role("button", name="Show just these").click()
    wait_skus(page, ["SOAP-100"])
    page.get_by_role("button", name="Show all products").click()
    wait_skus(page, ["MILK-1L", "RICE-5KG", "SOAP-100"])
    open_page(page, app_server, "/inventory?only=low")
    wait_skus(page, ["SOAP-100"])
