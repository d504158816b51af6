"""First run (AppTest of app.py): only the setup page exists; it creates the owner and can load sample data."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from core.base.permissions import SYSTEM
from core.db import Database
from core.domain.catalog import list_stores
from core.domain.users import has_users, list_users
from tests.conftest import OWNER_EMAIL, PASSWORD
from tests.test_app_support import app_test, fast_hashing  # noqa: F401  (autouse fixture)


def fill_setup(
    at: AppTest, *, email: str = OWNER_EMAIL, password: str = PASSWORD, repeat: str | None = None
) -> AppTest:
    at.text_input(key="setup_email").input(email)
    at.text_input(key="setup_name").input("Olivia Owner")
    at.text_input(key="setup_password").input(password)
    at.text_input(key="setup_repeat").input(password if repeat is None else repeat)
    return at


def submit(at: AppTest) -> AppTest:
    return at.button(key="FormSubmitter:setup-Create owner account").click().run()


def texts(elements: Any) -> list[str]:
    return [str(e.value) for e in elements]


def test_first_run__only_the_setup_page_is_shown(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app_test(db, monkeypatch).run()
    assert not at.exception
    assert texts(at.title) == ["Set up Inventory Lite"]
    assert "sign_in_email" not in [t.key for t in at.text_input]


def test_setup__creates_the_owner_then_shows_sign_in(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    at = submit(fill_setup(app_test(db, monkeypatch).run()))
    assert not at.exception
    owner = next(u for u in list_users(db, SYSTEM) if u["email"] == OWNER_EMAIL)
    assert owner["role"] == "owner" and owner["active"]
    assert texts(at.title) == ["Inventory Lite"]
    assert any("is ready" in t for t in texts(at.info))
    assert at.text_input(key="sign_in_email") is not None


def test_setup__different_passwords_create_nothing(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    at = submit(fill_setup(app_test(db, monkeypatch).run(), repeat="something else 1"))
    assert not at.exception
    assert "The two passwords are not the same." in texts(at.error)
    assert not has_users(db)


def test_setup__a_password_over_72_bytes_is_refused(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    at = submit(fill_setup(app_test(db, monkeypatch).run(), password="é" * 37))
    assert not at.exception
    assert any("72 bytes" in t for t in texts(at.error))
    assert not has_users(db)


def test_setup__a_bad_email_is_refused(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    at = submit(fill_setup(app_test(db, monkeypatch).run(), email="not-an-email"))
    assert not at.exception
    assert any("not an email address" in t for t in texts(at.error))
    assert not has_users(db)


def test_setup__sample_data_option_calls_demo_with_a_progress_bar(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.tools import demo

    calls: list[dict[str, Any]] = []

    def fake_generate(database: Database, actor: Any, *, progress: Any, **sizes: Any) -> dict[str, Any]:
        calls.append({"actor": actor.email, "role": actor.role, **sizes})
        progress(0.5, "halfway")
        progress(1.0, "done")
        return {}

    monkeypatch.setattr(demo, "generate", fake_generate)
    at = fill_setup(app_test(db, monkeypatch).run())
    at.checkbox(key="setup_sample").check()
    at = submit(at)
    assert not at.exception
    assert calls == [{"actor": OWNER_EMAIL, "role": "owner", "stores": 3, "products": 200, "days": 90}]
    assert any("Sample data loaded" in t for t in texts(at.info))


@pytest.mark.slow
def test_setup__sample_data_is_really_loaded(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    at = fill_setup(app_test(db, monkeypatch, timeout=120).run())
    at.checkbox(key="setup_sample").check()
    at = submit(at)
    assert not at.exception
    assert len(list_stores(db)) == 3
    assert any("Sample data loaded" in t for t in texts(at.info))


def test_setup__page_is_gone_once_a_user_exists(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app_test(shop, monkeypatch).run()
    assert not at.exception
    assert texts(at.title) == ["Inventory Lite"]
    with pytest.raises(ValueError):
        at.switch_page("pages/setup.py")
