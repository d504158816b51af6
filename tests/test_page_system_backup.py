"""The System page's "Back up now" when the backup cannot be written: a sentence naming the folder, never
"something went wrong" (issue 12, items 18 and 19)."""

# ruff: noqa: F401, F811  (pytest fixtures imported from tests/test_dashboard_data.py)

from __future__ import annotations

import errno
import os

import pytest

from pages import ui
from tests.conftest import run_page
from tests.test_backup import _read_only_folder
from tests.test_dashboard_data import SHOP_SEED, owner, staff  # the shop without accounts; plain actors

pytestmark = pytest.mark.slow  # AppTest runs of a page: about 1-3 s of CPU each


def _back_up(owner):
    at = run_page("system.py", owner)
    at.button(key="sys_backup").click().run()
    assert not at.exception
    return [e.value for e in at.error]


def test_backup_now__a_read_only_folder_is_named(shop, owner, app_db, tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    with _read_only_folder(folder) as reason:
        monkeypatch.setenv("INVENTORY_BACKUP_DIR", str(folder))
        assert _back_up(owner) == [ui.md(f"Cannot write into {folder}: {reason}.")]  # shown as text: escaped


def test_backup_now__a_full_disk_is_said_in_words(shop, owner, app_db, tmp_path, monkeypatch):
    monkeypatch.setenv("INVENTORY_BACKUP_DIR", str(tmp_path / "b"))

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("core.domain.backup.os.replace", no_space)
    errors = _back_up(owner)
    assert len(errors) == 1 and errors[0].startswith("The disk is full")
    assert os.listdir(tmp_path / "b") == []


def test_backup_now__the_caption_says_the_cookie_key_stays_out(shop, owner, app_db):
    at = run_page("system.py", owner)
    assert any("leaves out the key that signs login cookies" in c.value for c in at.caption)
