"""Sign-in, lockout, per-role navigation, session end, account page and error rendering (AppTest of app.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from core.base.permissions import SYSTEM
from core.db import Database
from core.domain import signin, users
from tests.conftest import OWNER_EMAIL, PASSWORD, STAFF_EMAIL
from tests.test_app_support import app_test, fast_hashing, sign_in_as  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.slow  # each test drives the whole app in AppTest: about 1.5 s of CPU

OWNER_PAGES = {"Admin", "Audit log", "System"}


def texts(elements: Any) -> list[str]:
    return [str(e.value) for e in elements]


def sign_in(at: AppTest, email: str, password: str) -> AppTest:
    at.text_input(key="sign_in_email").input(email)
    at.text_input(key="sign_in_password").input(password)
    return at.button(key="FormSubmitter:sign_in-Sign in").click().run()


def signed_in(at: AppTest) -> bool:
    return at.session_state["authentication_status"] is True and "actor" in at.session_state


def nav_titles(at: AppTest) -> set[str]:
    """The page titles app.py registered with st.navigation in the last run."""
    return {info["page_name"] for info in at._registered_pages.values()}


def user(db: Database, email: str) -> dict[str, Any]:
    return next(u for u in users.list_users(db, SYSTEM) if u["email"] == email)


# ---- sign-in -------------------------------------------------------------------------------------------------


def test_sign_in__owner_sees_every_page_including_owner_pages(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    at = sign_in(app_test(shop, monkeypatch).run(), OWNER_EMAIL, PASSWORD)
    assert not at.exception
    assert signed_in(at) and at.session_state["actor"].role == "owner"
    assert {"Admin", "Account"} <= nav_titles(at)
    assert at.session_state["_signed_in_at"] is not None


def test_sign_in__issues_a_login_cookie_for_that_user(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    import jwt

    from core.domain import sessions

    at = sign_in(app_test(shop, monkeypatch).run(), STAFF_EMAIL, PASSWORD)
    kind, _key = at.session_state["_cookie_action"]
    settings = sessions.session_settings(shop, {}, {})
    token = jwt.decode(at.session_state["_cookie_token"], settings.cookie_key, algorithms=["HS256"])
    assert kind == "set" and token["username"] == STAFF_EMAIL
    assert sessions.actor_from_cookie(shop, token, settings).email == STAFF_EMAIL


def test_sign_in__the_form_answers_at_every_page_address_while_signed_out(
    shop: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app_test(shop, monkeypatch).run()
    paths = {info["url_pathname"] for info in at._registered_pages.values()}
    assert {"inventory", "admin", "account"} <= paths
    assert nav_titles(at) == {"Sign in"}


def test_sign_in__email_is_case_insensitive(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    at = sign_in(app_test(shop, monkeypatch).run(), OWNER_EMAIL.upper(), PASSWORD)
    assert not at.exception and signed_in(at)


def test_sign_in__wrong_password_is_refused_and_counted(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    at = sign_in(app_test(shop, monkeypatch).run(), STAFF_EMAIL, "wrong password 1")
    assert not at.exception
    assert not signed_in(at)
    assert "The email or password is not correct." in texts(at.error)
    assert user(shop, STAFF_EMAIL)["failed_logins"] == 1


def test_sign_in__unknown_email_gets_the_same_message(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    at = sign_in(app_test(shop, monkeypatch).run(), "nobody@shop.test", PASSWORD)
    assert not at.exception and not signed_in(at)
    assert "The email or password is not correct." in texts(at.error)


def test_sign_in__five_failures_lock_even_the_right_password_out(
    shop: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app_test(shop, monkeypatch).run()
    for _ in range(5):
        at = sign_in(at, STAFF_EMAIL, "wrong password 1")
    assert any("locked for 15 minutes" in t for t in texts(at.error))
    at = sign_in(at, STAFF_EMAIL, PASSWORD)
    assert not at.exception and not signed_in(at)
    assert any("locked" in t for t in texts(at.error))
    assert user(shop, STAFF_EMAIL)["locked"]


@pytest.fixture
def client_ip(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """``st.context.ip_address`` as the app sees it: set ``client_ip[0]`` to the address of the next runs."""
    from streamlit.runtime.context import ContextProxy

    address: list[str | None] = [None]
    monkeypatch.setattr(ContextProxy, "ip_address", property(lambda self: address[0]))
    return address


def test_sign_in__a_strangers_lock_does_not_keep_the_owner_out(
    shop: Database, monkeypatch: pytest.MonkeyPatch, client_ip: list[str | None]
) -> None:
    client_ip[0] = "203.0.113.66"
    stranger = app_test(shop, monkeypatch).run()
    for _ in range(signin.MAX_FAILED_LOGINS):
        stranger = sign_in(stranger, OWNER_EMAIL, "guess 123456")
    assert any("locked for 15 minutes" in t for t in texts(stranger.error))
    stranger = sign_in(stranger, OWNER_EMAIL, PASSWORD)
    assert not signed_in(stranger) and any("locked" in t for t in texts(stranger.error))
    client_ip[0] = "198.51.100.10"
    at = sign_in(app_test(shop, monkeypatch).run(), OWNER_EMAIL, PASSWORD)
    assert not at.exception and signed_in(at)
    with shop.reader() as tx:
        clients = {r[0] for r in tx.all("SELECT after FROM audit WHERE action = 'auth.login'")}
    assert any("203.0.113.66" in c for c in clients) and any("198.51.100.10" in c for c in clients)


def test_sign_in__the_fifth_answer_is_the_same_for_an_unknown_account(
    shop: Database, monkeypatch: pytest.MonkeyPatch, client_ip: list[str | None]
) -> None:
    answers = {}
    for n, email in enumerate((STAFF_EMAIL, "nobody@shop.test")):
        client_ip[0] = f"192.0.2.{n + 1}"
        at = app_test(shop, monkeypatch).run()
        answers[email] = []
        for _ in range(signin.MAX_FAILED_LOGINS + 1):
            at = sign_in(at, email, "guess 123456")
            answers[email].append(texts(at.error))
    assert answers[STAFF_EMAIL] == answers["nobody@shop.test"]
    assert any("locked" in t for t in answers[STAFF_EMAIL][-1])


def test_sign_in__the_cookie_is_secure_when_served_over_https(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from extra_streamlit_components.CookieManager import CookieManager
    from streamlit.runtime.context import ContextProxy

    calls: list[dict[str, Any]] = []
    original = CookieManager.set

    def recording_set(self: Any, cookie: str, val: Any, **kwargs: Any) -> None:
        calls.append({"cookie": cookie, **kwargs})
        original(self, cookie, val, **kwargs)

    monkeypatch.setattr(CookieManager, "set", recording_set)
    for forwarded, secure in (("https", True), ("http", False)):
        monkeypatch.setattr(ContextProxy, "headers", property(lambda self, p=forwarded: {"X-Forwarded-Proto": p}))
        calls.clear()
        at = sign_in(app_test(shop, monkeypatch).run(), STAFF_EMAIL, PASSWORD)
        assert signed_in(at) and calls
        assert calls[-1]["secure"] is secure and calls[-1]["same_site"] == "strict"


def test_sign_in__owner_unlock_lets_the_user_in_again(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(5):
        with pytest.raises(Exception, match=r"not correct|locked"):
            signin.authenticate(shop, STAFF_EMAIL, "wrong password 1")
    owner_at = sign_in_as(app_test(shop, monkeypatch), OWNER_EMAIL)
    owner_at.switch_page("pages/admin.py").run()
    owner_at.selectbox(key="manage_user").select(STAFF_EMAIL).run()
    owner_at.button(key=f"unlock:{STAFF_EMAIL}").click().run()
    assert not owner_at.exception
    assert f"{STAFF_EMAIL} is unlocked." in texts(owner_at.success)
    assert not user(shop, STAFF_EMAIL)["locked"]
    at = sign_in(app_test(shop, monkeypatch).run(), STAFF_EMAIL, PASSWORD)
    assert signed_in(at)


def test_sign_in__deactivated_user_is_refused(shop: Database, owner: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    users.set_active(shop, owner, STAFF_EMAIL, False)
    at = sign_in(app_test(shop, monkeypatch).run(), STAFF_EMAIL, PASSWORD)
    assert not at.exception and not signed_in(at)
    assert any("deactivated" in t for t in texts(at.error))


# ---- navigation per role -------------------------------------------------------------------------------------


def test_navigation__staff_never_get_owner_pages(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    at = sign_in(app_test(shop, monkeypatch).run(), STAFF_EMAIL, PASSWORD)
    assert not at.exception and signed_in(at)
    titles = nav_titles(at)
    assert "Account" in titles
    assert not OWNER_PAGES & titles
    owner_files = {"pages/admin.py", "pages/audit.py", "pages/system.py"}
    registered = {Path(info.get("script_path") or "").name for info in at._registered_pages.values()}
    assert not {Path(f).name for f in owner_files} & registered


@pytest.mark.parametrize("page", ["pages/admin.py", "pages/audit.py", "pages/system.py"])
def test_navigation__staff_cannot_switch_to_an_owner_page(
    shop: Database, monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    at = sign_in_as(app_test(shop, monkeypatch), STAFF_EMAIL)
    with pytest.raises(ValueError):
        at.switch_page(page)


def test_navigation__admin_page_refuses_a_staff_actor_by_itself(shop: Database, staff: Any, monkeypatch) -> None:
    from tests.conftest import ROOT

    monkeypatch.setenv("INVENTORY_DB", shop.target)
    at = AppTest.from_file(str(ROOT / "pages" / "admin.py"), default_timeout=30)
    at.session_state["actor"] = staff
    at.run()
    assert not at.exception
    assert "Only the owner can manage user accounts." in texts(at.error)
    assert not at.text_input and not at.button and not at.dataframe
    assert OWNER_EMAIL not in str(at.main)


def test_navigation__signed_out_only_sign_in_exists(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app_test(shop, monkeypatch).run()
    assert not at.exception
    assert nav_titles(at) == {"Sign in"}
    with pytest.raises(ValueError):
        at.switch_page("pages/admin.py")


# ---- sessions end ---------------------------------------------------------------------------------------------


def test_session__sign_out_ends_every_session_of_the_user(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    other = sign_in_as(app_test(shop, monkeypatch), STAFF_EMAIL)
    at = sign_in(app_test(shop, monkeypatch).run(), STAFF_EMAIL, PASSWORD)
    at.sidebar.button(key="sign_out").click().run()
    assert not at.exception and not signed_in(at)
    assert "You are signed out." in texts(at.info)
    assert at.session_state["logout"] is True
    other.run()
    assert not signed_in(other)
    assert nav_titles(other) == {"Sign in"}


def test_session__deactivation_ends_a_live_session(shop: Database, owner: Any, monkeypatch) -> None:
    at = sign_in_as(app_test(shop, monkeypatch), STAFF_EMAIL)
    assert signed_in(at)
    users.set_active(shop, owner, STAFF_EMAIL, False)
    at.run()
    assert not signed_in(at)
    assert nav_titles(at) == {"Sign in"}


def test_session__owner_password_reset_ends_a_live_session(shop: Database, owner: Any, monkeypatch) -> None:
    at = sign_in_as(app_test(shop, monkeypatch), STAFF_EMAIL)
    users.reset_password(shop, owner, STAFF_EMAIL, "brand new secret 9")
    at.run()
    assert not signed_in(at)


# ---- account --------------------------------------------------------------------------------------------------


def change_password(at: AppTest, current: str, new: str, repeat: str | None = None) -> AppTest:
    at.switch_page("pages/account.py").run()
    at.text_input(key="pw_current").input(current)
    at.text_input(key="pw_new").input(new)
    at.text_input(key="pw_repeat").input(new if repeat is None else repeat)
    return at.button(key="FormSubmitter:change_password-Change password").click().run()


def test_account__password_change_keeps_this_session_and_ends_others(
    shop: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = sign_in_as(app_test(shop, monkeypatch), STAFF_EMAIL)
    at = sign_in_as(app_test(shop, monkeypatch), STAFF_EMAIL)
    at = change_password(at, PASSWORD, "brand new secret 9")
    assert not at.exception
    assert signed_in(at)
    assert any("Your password is changed" in t for t in texts(at.success))
    other.run()
    assert not signed_in(other)
    assert signin.authenticate(shop, STAFF_EMAIL, "brand new secret 9").email == STAFF_EMAIL
    with pytest.raises(Exception, match="not correct"):
        signin.authenticate(shop, STAFF_EMAIL, PASSWORD)


def test_account__password_change_keeps_this_session_on_a_host_whose_clock_runs_behind(
    shop: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several app hosts share one database: the renewed session is dated by the database's clock (the one
    ``tokens_valid_after`` is kept by), so a host an hour behind does not end it the moment the password changes."""
    import pages.ui

    class BehindClock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return datetime.now(tz) - timedelta(hours=1)

    monkeypatch.setattr(pages.ui, "datetime", BehindClock, raising=False)
    at = sign_in_as(app_test(shop, monkeypatch), STAFF_EMAIL)
    at = change_password(at, PASSWORD, "brand new secret 9")
    assert not at.exception
    at.run()
    assert signed_in(at)
    assert at.session_state["_signed_in_at"] >= user(shop, STAFF_EMAIL)["tokens_valid_after"]


def test_account__wrong_current_password_changes_nothing(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    at = change_password(sign_in_as(app_test(shop, monkeypatch), STAFF_EMAIL), "wrong password 1", "brand new 9")
    assert not at.exception and signed_in(at)
    assert "The current password is not correct." in texts(at.error)
    assert signin.authenticate(shop, STAFF_EMAIL, PASSWORD).email == STAFF_EMAIL


def test_account__wrong_current_passwords_lock_and_are_audited_like_sign_ins(
    shop: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = sign_in_as(app_test(shop, monkeypatch), STAFF_EMAIL)
    for n in range(signin.MAX_FAILED_LOGINS):
        at = change_password(at, f"guess {n:06d}", "brand new secret 9")
        assert not at.exception and signed_in(at)
    assert any("locked for 15 minutes" in t for t in texts(at.error))
    at = change_password(at, PASSWORD, "brand new secret 9")  # then the right one is refused too
    assert any("locked" in t for t in texts(at.error))
    assert not any("Your password is changed" in t for t in texts(at.success))
    with shop.reader() as tx:
        denied = tx.scalar(
            "SELECT count(*) FROM audit WHERE action = 'user.change_password' AND outcome = 'denied' AND actor = $1",
            [STAFF_EMAIL],
        )
    assert denied == signin.MAX_FAILED_LOGINS


def test_account__mismatched_new_passwords_change_nothing(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    at = sign_in_as(app_test(shop, monkeypatch), STAFF_EMAIL)
    at = change_password(at, PASSWORD, "brand new secret 9", "brand new secret 8")
    assert "The two new passwords are not the same." in texts(at.error)
    assert signin.authenticate(shop, STAFF_EMAIL, PASSWORD).email == STAFF_EMAIL


# ---- errors ---------------------------------------------------------------------------------------------------


def test_errors__unexpected_error_shows_an_apology_with_the_logged_id(
    shop: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    at = sign_in_as(app_test(shop, monkeypatch), OWNER_EMAIL)
    monkeypatch.setattr(users, "list_users", broken)
    logger = logging.getLogger("inventory")
    monkeypatch.setattr(logger, "propagate", True)
    with caplog.at_level(logging.ERROR, logger="inventory"):
        at.switch_page("pages/admin.py").run()
    assert not at.exception
    apology = next(t for t in texts(at.error) if t.startswith("Sorry, something went wrong"))
    assert "disk on fire" not in apology and "Traceback" not in str(at.main)
    error_id = apology.rsplit("Error id: ", 1)[1].rstrip(".")
    assert any(getattr(r, "error_id", None) == error_id for r in caplog.records)


def test_errors__domain_error_lists_every_field_problem(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    at = sign_in_as(app_test(shop, monkeypatch), OWNER_EMAIL)
    at.switch_page("pages/admin.py").run()
    at.text_input(key="add_user_email").input("bad")
    at.text_input(key="add_user_password").input("short")
    at.button(key="FormSubmitter:add_user-Add user").click().run()
    assert not at.exception
    shown = " ".join(texts(at.error)) + " ".join(texts(at.markdown))
    assert "not an email address" in shown and "at least 8 characters" in shown


def test_secrets__a_cookie_key_in_secrets_replaces_the_database_one(
    shop: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jwt

    key = "s" * 48
    at = app_test(shop, monkeypatch)
    at.secrets["auth"] = {"cookie_key": key, "cookie_lifetime_hours": 1}
    at = sign_in(at.run(), STAFF_EMAIL, PASSWORD)
    token = jwt.decode(at.session_state["_cookie_token"], key, algorithms=["HS256"])
    assert token["username"] == STAFF_EMAIL
    lifetime = token["exp_date"] - datetime.now(UTC).timestamp()
    assert 3500 < lifetime <= 3600
