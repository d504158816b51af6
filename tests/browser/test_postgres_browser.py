"""Two app processes on ONE PostgreSQL database, each driven by its own browser: a quantity saved in the grid on
server A is what server B shows when its user reloads; a stale save on server B after A's ends in the conflict
dialog, the database keeps A's value until B chooses, and the choice (keep mine, then take theirs) is what is
stored. The database is checked through core while both servers still run (PostgreSQL allows that)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from core import open_db
from core.domain.check import check
from tests.browser.conftest import OWNER_EMAIL, STAFF_EMAIL, AppServer, seed_shop, wait_idle
from tests.browser.test_inventory_browser import (
    QUANTITY_COLUMN,
    edit_cell,
    inventory,
    quantity_cell,
    row_of,
    save,
    save_then_conflict,
    stored,
    the_grid,
)
from tests.conftest import TEMPLATE
from tests.pg_server import PgServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.flaky(reruns=1, reruns_delay=2, only_rerun=["TimeoutError"]),
]


@pytest.fixture
def shared_db(pg_server: PgServer) -> Iterator[str]:
    """A fresh PostgreSQL database (a copy of the migrated template) seeded once with ``seed_shop``; its URL.
    Dropped after the test (with its servers' connections)."""
    url = pg_server.new_database(TEMPLATE)
    try:
        db = open_db(url)
        try:
            seed_shop(db)
        finally:
            db.close()
        yield url
    finally:
        pg_server.drop_database(url)


@pytest.fixture
def two_servers(app_server_factory: Callable[..., AppServer], shared_db: str) -> tuple[AppServer, AppServer]:
    """Two ``streamlit run`` processes on different ports, both on ``shared_db`` (already seeded)."""
    first = app_server_factory(seed=None, database=shared_db)
    second = app_server_factory(seed=None, database=shared_db)
    assert first.url != second.url and first.target == second.target == shared_db
    assert first.db_path is None and second.db_path is None
    return first, second


@pytest.fixture
def second_page(browser: Any) -> Iterator[Any]:
    """A page in a context of its own (own cookies) for the user on the second server."""
    context = browser.new_context()
    context.set_default_timeout(60_000)
    yield context.new_page()
    context.close()


def audited(target: str) -> list[tuple[str, str, str, str]]:
    """``(actor, action, entity_id, outcome)`` of every grid save's audit row, oldest first: an applied count is
    ``stock.count`` (``SKU@STORE``), a refused save ``grid.save`` (the store)."""
    db = open_db(target)
    try:
        with db.reader() as tx:
            rows = tx.all(
                "SELECT actor, action, entity_id, outcome FROM audit"
                " WHERE action IN ('grid.save', 'stock.count') ORDER BY id"
            )
    finally:
        db.close()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def healthy(target: str) -> dict[str, Any]:
    db = open_db(target)
    try:
        return check(db)
    finally:
        db.close()


def no_errors_logged(server: AppServer) -> None:
    """Neither a traceback nor a JSON log record of an error (an ``error`` outcome or level) in the server's log."""
    log = server.log()
    assert "Traceback" not in log, log[-3000:]
    for line in log.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            assert entry.get("outcome") != "error" and entry.get("levelname") not in ("ERROR", "CRITICAL"), line


def a_saves_soap_while_b_looks(
    server_a: AppServer, server_b: AppServer, page: Any, second_page: Any, quantity: int
) -> None:
    """B (staff, server B) has the inventory open with SOAP-100 at 8; then A (owner, server A) saves ``quantity``."""
    grid_b = inventory(second_page, server_b, STAFF_EMAIL)
    expect(quantity_cell(grid_b, row_of(grid_b, "SOAP-100"))).to_have_text("8")
    grid_a = inventory(page, server_a, OWNER_EMAIL)
    edit_cell(page, grid_a, row_of(grid_a, "SOAP-100"), QUANTITY_COLUMN, quantity)
    save(page)
    page.get_by_text("Saved: 0 product(s) updated, 1 count(s) adjusted.").wait_for()
    assert stored(server_a.target, "SOAP-100") == (quantity, [quantity])


def test_a_save_on_one_server_is_seen_on_the_other_after_reload(
    two_servers: tuple[AppServer, AppServer], page: Any, second_page: Any
) -> None:
    server_a, server_b = two_servers
    a_saves_soap_while_b_looks(server_a, server_b, page, second_page, 12)

    second_page.get_by_role("button", name="Reload (discard edits)").click()
    wait_idle(second_page)
    grid_b = the_grid(second_page)
    expect(quantity_cell(grid_b, row_of(grid_b, "SOAP-100"))).to_have_text("12")

    assert healthy(server_a.target) == {"ok": True, "problems": []}
    assert audited(server_a.target) == [(OWNER_EMAIL, "stock.count", "SOAP-100@S1", "ok")]
    no_errors_logged(server_a)
    no_errors_logged(server_b)


def test_a_browser_reload_on_the_other_server_shows_the_saved_value(
    two_servers: tuple[AppServer, AppServer], page: Any, second_page: Any
) -> None:
    server_a, server_b = two_servers
    a_saves_soap_while_b_looks(server_a, server_b, page, second_page, 12)

    second_page.reload()  # a new session on server B, for the same user and the same grid query
    wait_idle(second_page)
    grid_b = the_grid(second_page)
    expect(quantity_cell(grid_b, row_of(grid_b, "SOAP-100"))).to_have_text("12")


def test_a_stale_save_on_the_other_server_gets_the_conflict_dialog(
    two_servers: tuple[AppServer, AppServer], page: Any, second_page: Any
) -> None:
    server_a, server_b = two_servers
    target = server_a.target
    grid_a = inventory(page, server_a, OWNER_EMAIL)
    inventory(second_page, server_b, STAFF_EMAIL)
    milk = row_of(grid_a, "MILK-1L")
    assert row_of(the_grid(second_page), "MILK-1L") == milk  # the same order on both servers

    def first_save_then_conflict(mine: int, theirs: int) -> Any:
        """A (server A) saves ``theirs``; B (server B), who loaded before, saves ``mine`` and gets the dialog."""
        dialog = save_then_conflict(page, second_page, milk, mine, theirs)  # theirs saved through server A
        expect(dialog.get_by_role("button", name="Keep mine")).to_be_visible()
        expect(dialog.get_by_role("button", name="Take theirs")).to_be_visible()
        # while B decides, the database holds A's value: B's stale save wrote nothing
        assert stored(target, "MILK-1L")[0] == theirs
        return dialog

    # keep mine: B's value is saved over A's
    dialog = first_save_then_conflict(mine=70, theirs=90)
    dialog.get_by_role("button", name="Keep mine").click()
    wait_idle(second_page)
    second_page.get_by_text("Your values were kept.").wait_for()
    expect(quantity_cell(the_grid(second_page), milk)).to_have_text("70")
    assert stored(target, "MILK-1L") == (70, [90, 70])

    # take theirs: A's value stays, B's edit is dropped
    dialog = first_save_then_conflict(mine=50, theirs=60)
    dialog.get_by_role("button", name="Take theirs").click()
    wait_idle(second_page)
    second_page.get_by_text("Nothing was saved: the grid now shows the current values.").wait_for()
    expect(quantity_cell(the_grid(second_page), milk)).to_have_text("60")

    # every save is either applied whole or shown as a conflict: 50 was never written
    assert stored(target, "MILK-1L") == (60, [90, 70, 60])
    assert healthy(target) == {"ok": True, "problems": []}
    assert audited(target) == [
        (OWNER_EMAIL, "stock.count", "MILK-1L@S1", "ok"),  # 90
        (STAFF_EMAIL, "grid.save", "S1", "conflict"),  # 70 refused as stale
        (STAFF_EMAIL, "stock.count", "MILK-1L@S1", "ok"),  # 70 kept
        (OWNER_EMAIL, "stock.count", "MILK-1L@S1", "ok"),  # 60
        (STAFF_EMAIL, "grid.save", "S1", "conflict"),  # 50 refused, then dropped (take theirs)
    ]
    no_errors_logged(server_a)
    no_errors_logged(server_b)
