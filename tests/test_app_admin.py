"""The Admin page (AppTest of app.py, owner signed in): every user, store and vendor action, and its refusals."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from core.base.permissions import SYSTEM
from core.db import Database
from core.domain import catalog, signin, users
from tests.conftest import OWNER_EMAIL, PASSWORD, STAFF_EMAIL
from tests.test_app_support import app_test, fast_hashing, sign_in_as  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.slow  # each test drives the whole app in AppTest: about 1.5 s of CPU


def texts(elements: Any) -> list[str]:
    return [str(e.value) for e in elements]


@pytest.fixture
def admin(shop: Database, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    at = sign_in_as(app_test(shop, monkeypatch), OWNER_EMAIL)
    at.switch_page("pages/admin.py").run()
    assert not at.exception
    return at


def user(db: Database, email: str) -> dict[str, Any]:
    return next(u for u in users.list_users(db, SYSTEM) if u["email"] == email)


def store(db: Database, code: str) -> dict[str, Any]:
    return next(s for s in catalog.list_stores(db, include_inactive=True) if s["code"] == code)


def vendor(db: Database, name: str) -> dict[str, Any]:
    return next(v for v in catalog.list_vendors(db, include_inactive=True) if v["name"] == name)


def manage(at: AppTest, email: str) -> AppTest:
    return at.selectbox(key="manage_user").select(email).run()


# ---- users ----------------------------------------------------------------------------------------------------


def test_admin__lists_every_user(admin: AppTest) -> None:
    table = admin.dataframe[0].value
    assert set(table["email"]) == {OWNER_EMAIL, STAFF_EMAIL}


def test_admin__add_staff_with_stores(admin: AppTest, shop: Database) -> None:
    admin.text_input(key="add_user_email").input("Nia@Shop.test")
    admin.text_input(key="add_user_name").input("Nia")
    admin.selectbox(key="add_user_role").select("staff")
    admin.text_input(key="add_user_password").input("a good secret 1")
    admin.multiselect(key="add_user_stores").select("S2")
    admin.button(key="FormSubmitter:add_user-Add user").click().run()
    assert not admin.exception
    assert "Added staff nia@shop.test." in texts(admin.success)
    created = user(shop, "nia@shop.test")
    assert created["role"] == "staff" and created["stores"] == ["S2"]
    assert signin.authenticate(shop, "nia@shop.test", "a good secret 1").role == "staff"


def test_admin__add_owner(admin: AppTest, shop: Database) -> None:
    admin.text_input(key="add_user_email").input("partner@shop.test")
    admin.selectbox(key="add_user_role").select("owner")
    admin.text_input(key="add_user_password").input("a good secret 1")
    admin.button(key="FormSubmitter:add_user-Add user").click().run()
    assert not admin.exception
    assert user(shop, "partner@shop.test")["role"] == "owner"


def test_admin__duplicate_email_is_refused(admin: AppTest, shop: Database) -> None:
    admin.text_input(key="add_user_email").input(STAFF_EMAIL)
    admin.text_input(key="add_user_password").input("a good secret 1")
    admin.button(key="FormSubmitter:add_user-Add user").click().run()
    assert not admin.exception
    assert f"A user with email {STAFF_EMAIL} already exists." in texts(admin.error)
    assert len(users.list_users(shop, SYSTEM)) == 2


def test_admin__assign_stores(admin: AppTest, shop: Database) -> None:
    at = manage(admin, STAFF_EMAIL)
    at.multiselect(key=f"assign_stores:{STAFF_EMAIL}").select("S2").run()
    at.button(key=f"save_stores:{STAFF_EMAIL}").click().run()
    assert not at.exception
    assert user(shop, STAFF_EMAIL)["stores"] == ["S1", "S2"]
    assert "Stores of staff@shop.test: S1, S2." in texts(at.success)


def test_admin__reset_password(admin: AppTest, shop: Database) -> None:
    at = manage(admin, STAFF_EMAIL)
    at.text_input(key=f"reset_password_value:{STAFF_EMAIL}").input("reset secret 22")
    at.button(key=f"FormSubmitter:reset_password:{STAFF_EMAIL}-Reset password").click().run()
    assert not at.exception
    assert signin.authenticate(shop, STAFF_EMAIL, "reset secret 22").email == STAFF_EMAIL


def test_admin__reset_password_too_short_is_refused(admin: AppTest, shop: Database) -> None:
    at = manage(admin, STAFF_EMAIL)
    at.text_input(key=f"reset_password_value:{STAFF_EMAIL}").input("short")
    at.button(key=f"FormSubmitter:reset_password:{STAFF_EMAIL}-Reset password").click().run()
    assert any("at least 8 characters" in t for t in texts(at.error))
    assert signin.authenticate(shop, STAFF_EMAIL, PASSWORD).email == STAFF_EMAIL


def test_admin__deactivate_then_reactivate(admin: AppTest, shop: Database) -> None:
    at = manage(admin, STAFF_EMAIL)
    at.button(key=f"deactivate:{STAFF_EMAIL}").click().run()
    assert not at.exception
    assert not user(shop, STAFF_EMAIL)["active"]
    at = manage(at, STAFF_EMAIL)
    at.button(key=f"reactivate:{STAFF_EMAIL}").click().run()
    assert not at.exception
    assert user(shop, STAFF_EMAIL)["active"]


def test_admin__owner_cannot_deactivate_themself(admin: AppTest) -> None:
    at = manage(admin, OWNER_EMAIL)
    assert at.button(key=f"deactivate:{OWNER_EMAIL}").disabled


def test_admin__unlock(admin: AppTest, shop: Database) -> None:
    for _ in range(5):
        with pytest.raises(Exception, match=r"not correct|locked"):
            signin.authenticate(shop, STAFF_EMAIL, "wrong password 1")
    at = admin.run()
    at = manage(at, STAFF_EMAIL)
    assert not at.button(key=f"unlock:{STAFF_EMAIL}").disabled
    at.button(key=f"unlock:{STAFF_EMAIL}").click().run()
    assert not at.exception
    assert not user(shop, STAFF_EMAIL)["locked"]


# ---- stores ---------------------------------------------------------------------------------------------------


def test_admin__add_store(admin: AppTest, shop: Database) -> None:
    admin.text_input(key="add_store_code").input("S3")
    admin.text_input(key="add_store_name").input("Station Road")
    admin.button(key="FormSubmitter:add_store-Add store").click().run()
    assert not admin.exception
    assert store(shop, "S3")["name"] == "Station Road"


def test_admin__add_duplicate_store_is_refused(admin: AppTest, shop: Database) -> None:
    admin.text_input(key="add_store_code").input("S1")
    admin.text_input(key="add_store_name").input("Again")
    admin.button(key="FormSubmitter:add_store-Add store").click().run()
    assert "A store with code S1 already exists." in texts(admin.error)
    assert store(shop, "S1")["name"] == "Main Street"


def test_admin__rename_store(admin: AppTest, shop: Database) -> None:
    at = admin.selectbox(key="manage_store").select("S2").run()
    at.text_input(key="rename_store:S2").input("Market Road West")
    at.button(key="rename_store_button:S2").click().run()
    assert not at.exception
    assert store(shop, "S2")["name"] == "Market Road West"


def test_admin__deactivate_and_reactivate_store(admin: AppTest, shop: Database) -> None:
    at = admin.selectbox(key="manage_store").select("S2").run()
    at.button(key="deactivate_store:S2").click().run()
    assert not store(shop, "S2")["active"]
    at = at.selectbox(key="manage_store").select("S2").run()
    at.button(key="reactivate_store:S2").click().run()
    assert not at.exception
    assert store(shop, "S2")["active"]


# ---- vendors --------------------------------------------------------------------------------------------------


def test_admin__add_vendor(admin: AppTest, shop: Database) -> None:
    admin.text_input(key="add_vendor_name").input("Britannia")
    admin.text_input(key="add_vendor_contact").input("orders@britannia.test")
    admin.button(key="FormSubmitter:add_vendor-Add vendor").click().run()
    assert not admin.exception
    assert vendor(shop, "Britannia")["contact"] == "orders@britannia.test"


def test_admin__edit_vendor_contact(admin: AppTest, shop: Database) -> None:
    at = admin.selectbox(key="manage_vendor").select("Amul").run()
    at.text_input(key="vendor_contact:Amul").input("+91 22 5555 0101")
    at.button(key="save_vendor_contact:Amul").click().run()
    assert not at.exception
    assert vendor(shop, "Amul")["contact"] == "+91 22 5555 0101"


def test_admin__deactivate_vendor(admin: AppTest, shop: Database) -> None:
    at = admin.selectbox(key="manage_vendor").select("Daawat").run()
    at.button(key="deactivate_vendor:Daawat").click().run()
    assert not at.exception
    assert not vendor(shop, "Daawat")["active"]


# ---- refusals -------------------------------------------------------------------------------------------------


def test_admin__a_staff_session_gets_nothing_even_with_a_crafted_actor_switch(
    shop: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = sign_in_as(app_test(shop, monkeypatch), STAFF_EMAIL)
    with pytest.raises(ValueError):
        at.switch_page("pages/admin.py")
    assert "Admin" not in {info["page_name"] for info in at._registered_pages.values()}
