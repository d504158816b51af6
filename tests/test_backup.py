"""Online backups: a consistent copy that opens like the original and keeps working."""

from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager

import pytest

from core import open_db
from core.base.errors import ValidationError
from core.base.permissions import SYSTEM
from core.domain.backup import backup
from core.domain.catalog import add_store
from core.domain.check import check
from core.domain.stock import record_sale, stock_in

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


def _signs_in(db, token) -> bool:
    """Whether ``db``'s cookie key accepts a login cookie (the signature only)."""
    import jwt

    from core.domain.sessions import session_settings

    try:
        jwt.decode(token, session_settings(db, {}, env={}).cookie_key, algorithms=["HS256"])
    except jwt.InvalidSignatureError:
        return False
    return True


def test_backup__leaves_the_cookie_key_out_and_the_copy_makes_its_own(shop, tmp_path):
    """Whoever holds a backup must not be able to forge a sign-in cookie for the live app (issue 12)."""
    from core.db.schema import get_setting
    from core.domain.sessions import issue_token, session_settings

    secret = get_setting(shop, "cookie_secret")
    assert secret and len(secret) >= 32
    path = backup(shop, SYSTEM, tmp_path)["path"]
    assert secret.encode() not in open(path, "rb").read()  # noqa: SIM115 - the raw bytes, before anything opens it
    import duckdb

    raw = duckdb.connect(path, read_only=True)
    try:
        assert raw.execute("SELECT value FROM settings WHERE key = 'cookie_secret'").fetchall() == []
    finally:
        raw.close()
    original_cookie = issue_token("owner@shop.test", session_settings(shop, {}, env={}))
    copy = open_db(path)  # opening the backup (migrate) makes a fresh random key
    try:
        fresh = get_setting(copy, "cookie_secret")
        assert fresh and len(fresh) >= 32 and fresh != secret
        assert not _signs_in(copy, original_cookie)
        assert _signs_in(copy, issue_token("owner@shop.test", session_settings(copy, {}, env={})))
        assert _signs_in(shop, original_cookie)  # the live app keeps its key
    finally:
        copy.close()


@contextmanager
def _read_only_folder(folder):
    """A folder nobody may write into: a read-only tmpfs as root (root ignores file modes), else mode 0555."""
    folder.mkdir()
    if os.geteuid() == 0:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1M", "tmpfs", str(folder)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a read-only tmpfs: {done.stderr.decode(errors='replace').strip()}")
        try:
            yield "read-only file system"
        finally:
            subprocess.run(["umount", "-l", str(folder)], check=False)
        return
    folder.chmod(0o555)
    try:
        yield "permission denied"
    finally:
        folder.chmod(0o755)


def test_backup__into_a_read_only_folder_names_the_folder(shop, tmp_path):
    folder = tmp_path / "ro"
    with _read_only_folder(folder) as reason:
        with pytest.raises(ValidationError) as refused:
            backup(shop, SYSTEM, folder)
        assert str(refused.value) == f"Cannot write into {folder}: {reason}."
        assert list(folder.iterdir()) == []


def test_backup__a_folder_that_cannot_be_made_names_it(shop, tmp_path):
    with _read_only_folder(tmp_path / "ro") as reason:
        message = f"Cannot create the backup folder .*/ro/sub: {reason}"
        with pytest.raises(ValidationError, match=message):
            backup(shop, SYSTEM, tmp_path / "ro" / "sub")
