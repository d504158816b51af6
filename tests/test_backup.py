"""Online backups: a consistent copy that opens like the original and keeps working."""

from __future__ import annotations

import pytest

from core import open_db
from core.backup import backup
from core.catalog import add_store
from core.check import check
from core.errors import ValidationError
from core.permissions import SYSTEM
from core.stock import record_sale, stock_in

TABLES = ("stores", "vendors", "products", "stock", "movements", "orders", "order_lines", "users", "settings")


def contents(db):
    """Every table's rows; settings without the cookie key (a backup never carries it: see the tests below)."""
    with db.reader() as tx:
        rows = {t: sorted(tx.all(f"SELECT * FROM {t}"), key=repr) for t in TABLES}
    rows["settings"] = [r for r in rows["settings"] if r[0] != "cookie_secret"]
    return rows


def test_backup__opens_with_the_same_rows_and_passes_check(shop, tmp_path):
    record_sale(shop, SYSTEM, "S1", [("MILK-1L", 3)])
    result = backup(shop, SYSTEM, tmp_path / "backups")
    assert result["bytes"] > 0
    assert result["path"].startswith(str(tmp_path / "backups" / "inventory-"))
    expected = contents(shop)
    copy = open_db(result["path"])
    try:
        assert contents(copy) == expected
        assert check(copy)["ok"]
        # sequences came along: new rows in the copy do not collide with copied ones
        add_store(copy, SYSTEM, "S3", "Third")
        stock_in(copy, SYSTEM, "S1", "MILK-1L", 1)
        assert check(copy)["ok"]
    finally:
        copy.close()


def test_backup__is_audited_and_the_original_keeps_working(shop, tmp_path):
    backup(shop, SYSTEM, tmp_path)
    stock_in(shop, SYSTEM, "S1", "MILK-1L", 1)
    with shop.reader() as tx:
        assert tx.scalar("SELECT count(*) FROM audit WHERE action = 'system.backup' AND outcome = 'ok'") == 1


def test_backup__two_backups_are_two_files(shop, tmp_path):
    first = backup(shop, SYSTEM, tmp_path)["path"]
    second = backup(shop, SYSTEM, tmp_path)["path"]
    assert first != second
    assert len(list(tmp_path.glob("inventory-*.duckdb"))) == 2


def test_backup__unwritable_folder_is_a_clear_refusal(shop, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ValidationError, match="Cannot create the backup folder"):
        backup(shop, SYSTEM, blocker / "sub")
