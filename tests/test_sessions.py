"""core.domain.sessions: cookie settings without default secrets, the authenticator's credentials, cookie validation
against tokens_valid_after; and the health probe (core.reads.system)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from core.base.errors import AuthError, ValidationError
from core.db import Database
from core.db.schema import get_setting
from core.domain import sessions, signin, users
from core.reads import system
from tests.conftest import OWNER_EMAIL, PASSWORD, STAFF_EMAIL
from tests.test_app_support import fast_hashing  # noqa: F401  (autouse fixture)

KEY = "k" * 40


def token_for(email: str, settings: sessions.SessionSettings, issued: datetime) -> dict[str, Any]:
    """What streamlit-authenticator puts in its cookie: ``{username, exp_date}``, round-tripped through JWT."""
    exp = (issued + settings.lifetime).timestamp()
    encoded = jwt.encode({"username": email, "exp_date": exp}, settings.cookie_key, algorithm="HS256")
    return jwt.decode(encoded, settings.cookie_key, algorithms=["HS256"])


def later(seconds: float = 1.0) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


# ---- settings -------------------------------------------------------------------------------------------------


def test_settings__key_comes_from_the_database_and_is_not_a_default(db: Database) -> None:
    settings = sessions.session_settings(db, {}, {})
    assert settings.cookie_key == get_setting(db, "cookie_secret")
    assert settings.cookie_key != "some_key" and len(settings.cookie_key) >= 32


def test_settings__every_database_gets_its_own_key(db: Database, tmp_path: Any) -> None:
    from core import open_db

    other = open_db(str(tmp_path / "other.duckdb"))
    try:
        assert sessions.session_settings(other, {}, {}).cookie_key != sessions.session_settings(db, {}, {}).cookie_key
    finally:
        other.close()


def test_settings__secrets_override_key_and_lifetime(db: Database) -> None:
    settings = sessions.session_settings(db, {"auth": {"cookie_key": KEY, "cookie_lifetime_hours": 2}}, {})
    assert settings.cookie_key == KEY
    assert settings.lifetime == timedelta(hours=2)
    assert settings.expiry_days == pytest.approx(2 / 24)


def test_settings__short_lifetime_by_default_and_env_can_change_it(db: Database) -> None:
    assert sessions.session_settings(db, {}, {}).lifetime_hours == sessions.DEFAULT_LIFETIME_HOURS <= 12
    assert sessions.session_settings(db, {}, {sessions.LIFETIME_ENV: "0.5"}).lifetime == timedelta(minutes=30)


def test_settings__the_lifetime_is_part_of_the_cookie_name(db: Database) -> None:
    a = sessions.session_settings(db, {}, {sessions.LIFETIME_ENV: "8"})
    b = sessions.session_settings(db, {}, {sessions.LIFETIME_ENV: "0.5"})
    assert a.cookie_name != b.cookie_name
    assert all(c.isalnum() or c == "_" for c in a.cookie_name + b.cookie_name)


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "nan", "100000"])
def test_settings__a_bad_lifetime_is_refused(db: Database, bad: str) -> None:
    with pytest.raises(ValidationError):
        sessions.session_settings(db, {}, {sessions.LIFETIME_ENV: bad})


def test_settings__a_short_secret_key_is_refused(db: Database) -> None:
    with pytest.raises(ValidationError, match="32 characters"):
        sessions.session_settings(db, {"auth": {"cookie_key": "some_key"}}, {})


# ---- credentials ----------------------------------------------------------------------------------------------


def test_credentials__active_users_only_and_no_password_hashes(shop: Database, owner: Any) -> None:
    users.set_active(shop, owner, STAFF_EMAIL, False)
    creds = sessions.credentials(shop)
    assert set(creds["usernames"]) == {OWNER_EMAIL}
    entry = creds["usernames"][OWNER_EMAIL]
    assert entry["roles"] == ["owner"] and "password" not in entry
    assert "$2b$" not in repr(creds)


# ---- cookies --------------------------------------------------------------------------------------------------


@pytest.fixture
def settings(shop: Database) -> sessions.SessionSettings:
    return sessions.session_settings(shop, {}, {})


def test_cookie__a_fresh_cookie_signs_in(shop: Database, settings: sessions.SessionSettings) -> None:
    actor = sessions.actor_from_cookie(shop, token_for(STAFF_EMAIL, settings, later()), settings)
    assert actor.email == STAFF_EMAIL and actor.role == "staff" and actor.store_ids


def test_cookie__issued_before_logout_is_refused(shop: Database, settings: sessions.SessionSettings) -> None:
    token = token_for(STAFF_EMAIL, settings, datetime.now(UTC) - timedelta(seconds=5))
    signin.end_sessions(shop, STAFF_EMAIL)
    with pytest.raises(AuthError, match="session has ended"):
        sessions.actor_from_cookie(shop, token, settings)


def test_cookie__issued_after_logout_is_accepted(shop: Database, settings: sessions.SessionSettings) -> None:
    signin.end_sessions(shop, STAFF_EMAIL)
    assert sessions.actor_from_cookie(shop, token_for(STAFF_EMAIL, settings, later()), settings).email == STAFF_EMAIL


def test_cookie__issued_before_a_password_change_is_refused(shop: Database, staff: Any, settings) -> None:
    token = token_for(STAFF_EMAIL, settings, datetime.now(UTC) - timedelta(seconds=5))
    signin.change_own_password(shop, staff, PASSWORD, "brand new secret 9")
    with pytest.raises(AuthError):
        sessions.actor_from_cookie(shop, token, settings)


def test_cookie__of_a_deactivated_user_is_refused(shop: Database, owner: Any, settings) -> None:
    token = token_for(STAFF_EMAIL, settings, later())
    users.set_active(shop, owner, STAFF_EMAIL, False)
    with pytest.raises(AuthError, match="deactivated"):
        sessions.actor_from_cookie(shop, token, settings)


def test_cookie__of_a_locked_user_still_works(shop: Database, settings: sessions.SessionSettings) -> None:
    """A lock stops password guessing; five wrong guesses by someone else must not sign the real user out."""
    token = token_for(STAFF_EMAIL, settings, later())
    for _ in range(signin.MAX_FAILED_LOGINS):
        with pytest.raises(AuthError):
            signin.authenticate(shop, STAFF_EMAIL, "wrong password 1")
    with pytest.raises(AuthError, match="locked"):
        signin.authenticate(shop, STAFF_EMAIL, PASSWORD)
    assert sessions.actor_from_cookie(shop, token, settings).email == STAFF_EMAIL


def test_cookie__expired_is_refused(shop: Database, settings: sessions.SessionSettings) -> None:
    token = token_for(STAFF_EMAIL, settings, datetime.now(UTC) - settings.lifetime - timedelta(seconds=1))
    with pytest.raises(AuthError, match="expired"):
        sessions.actor_from_cookie(shop, token, settings)


def test_cookie__claiming_a_longer_life_than_allowed_is_refused(shop: Database, settings) -> None:
    token = token_for(STAFF_EMAIL, settings, later(3600))
    with pytest.raises(AuthError, match="not valid"):
        sessions.actor_from_cookie(shop, token, settings)


@pytest.mark.parametrize(
    "token",
    [None, False, {}, {"username": STAFF_EMAIL}, {"username": STAFF_EMAIL, "exp_date": "soon"}, {"exp_date": 1.0}],
)
def test_cookie__malformed_is_refused(shop: Database, settings: sessions.SessionSettings, token: Any) -> None:
    with pytest.raises(AuthError):
        sessions.actor_from_cookie(shop, token, settings)


def test_cookie__unknown_user_is_refused(shop: Database, settings: sessions.SessionSettings) -> None:
    with pytest.raises(AuthError):
        sessions.actor_from_cookie(shop, token_for("ghost@shop.test", settings, later()), settings)


def test_session__a_live_session_ends_at_logout(shop: Database) -> None:
    started = datetime.now(UTC)
    assert sessions.session_actor(shop, STAFF_EMAIL, later()).email == STAFF_EMAIL
    signin.end_sessions(shop, STAFF_EMAIL)
    with pytest.raises(AuthError):
        sessions.session_actor(shop, STAFF_EMAIL, started)


# ---- health ---------------------------------------------------------------------------------------------------


def test_health__ok_when_the_database_answers(db: Database) -> None:
    report = system.health(db)
    assert report["ok"] is True and report["schema_version"] >= 1


def test_health__not_ok_when_the_database_is_closed(tmp_path: Any) -> None:
    from core import open_db

    closed = open_db(str(tmp_path / "closed.duckdb"))
    closed.close()
    report = system.health(closed)
    assert report == {"ok": False, "database": "unavailable"}


def test_issue_token__is_read_back_by_the_authenticators_format(shop: Database, settings) -> None:
    value = sessions.issue_token(STAFF_EMAIL, settings)
    decoded = jwt.decode(value, settings.cookie_key, algorithms=["HS256"])  # what the cookie manager does
    assert set(decoded) == {"username", "exp_date"}
    assert sessions.actor_from_cookie(shop, decoded, settings).email == STAFF_EMAIL


def test_issue_token__signed_with_another_key_does_not_decode(settings: sessions.SessionSettings) -> None:
    value = sessions.issue_token(STAFF_EMAIL, settings)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(value, "x" * 40, algorithms=["HS256"])


# ---- the cookie key: rotation, a missing key, Secure -------------------------------------------------------------


def test_rotate_secret__new_key_and_every_session_ends(shop: Database, owner: Any) -> None:
    from core.base.permissions import SYSTEM

    before = sessions.session_settings(shop, {}, {})
    old_cookie = jwt.encode(
        {"username": OWNER_EMAIL, "exp_date": (datetime.now(UTC) + before.lifetime).timestamp()},
        before.cookie_key,
        algorithm="HS256",
    )
    live_since = datetime.now(UTC)  # a session that began after the accounts were made
    assert sessions.session_actor(shop, STAFF_EMAIL, live_since).email == STAFF_EMAIL
    assert sessions.rotate_secret(shop, SYSTEM) == {"users": 2}
    after = sessions.session_settings(shop, {}, {})
    assert after.cookie_key != before.cookie_key and len(after.cookie_key) >= 48
    with pytest.raises(jwt.InvalidSignatureError):  # the old key's cookies no longer even decode
        jwt.decode(old_cookie, after.cookie_key, algorithms=["HS256"])
    decoded_with_old_key = jwt.decode(old_cookie, before.cookie_key, algorithms=["HS256"])
    with pytest.raises(AuthError, match="session has ended"):  # and were issued before every session ended
        sessions.actor_from_cookie(shop, decoded_with_old_key, after)
    for email in (OWNER_EMAIL, STAFF_EMAIL):
        with pytest.raises(AuthError, match="session has ended"):
            sessions.session_actor(shop, email, live_since)
    with shop.reader() as tx:
        rows = tx.all("SELECT actor, entity_id, after FROM audit WHERE action = 'auth.rotate_secret'")
    assert rows == [("cli", "cookie_secret", '{"sessions_ended": 2}')]  # audited, never the key itself
    assert after.cookie_key not in str(rows) and before.cookie_key not in str(rows)
    assert signin.authenticate(shop, OWNER_EMAIL, PASSWORD).email == OWNER_EMAIL  # signing in again works


def test_rotate_secret__staff_are_refused_and_audited(shop: Database, staff: Any) -> None:
    from core.base.errors import PermissionDenied

    key = get_setting(shop, "cookie_secret")
    with pytest.raises(PermissionDenied):
        sessions.rotate_secret(shop, staff)
    assert get_setting(shop, "cookie_secret") == key
    with shop.reader() as tx:
        rows = tx.all("SELECT actor, outcome FROM audit WHERE entity_id = 'cookie_secret'")
    assert rows == [(STAFF_EMAIL, "denied")]


def test_cookie_secret__a_database_without_the_key_gets_a_fresh_random_one(db: Database) -> None:
    """A backup copy leaves the ``cookie_secret`` row out; the database opened from it makes a new key."""
    from core.db.schema import migrate

    old = get_setting(db, "cookie_secret")
    with db.transaction() as tx:
        tx.execute("DELETE FROM settings WHERE key = 'cookie_secret'")
    with pytest.raises(ValidationError, match="cookie key is missing"):
        sessions.session_settings(db, {}, {})  # nothing signs without a key...
    migrate(db)  # ...until the database is opened again (every process migrates on open)
    new = get_setting(db, "cookie_secret")
    assert new and new != old and len(new) >= 48


@pytest.mark.parametrize(
    ("url", "headers", "env", "secure"),
    [
        ("https://shop.example/", {}, {}, True),
        ("http://shop.example/", {}, {}, False),
        (None, None, {}, False),
        ("http://127.0.0.1:8501/", {"X-Forwarded-Proto": "https"}, {}, True),  # TLS ended at the proxy
        ("http://127.0.0.1:8501/", {"X-Forwarded-Proto": "HTTPS, http"}, {}, True),
        ("http://127.0.0.1:8501/", {"X-Forwarded-Proto": "http"}, {}, False),
        ("http://127.0.0.1:8501/", {}, {"INVENTORY_COOKIE_SECURE": "always"}, True),
        ("http://127.0.0.1:8501/", {}, {"INVENTORY_COOKIE_SECURE": "auto"}, False),
    ],
)
def test_cookie_secure__over_https_only(url: Any, headers: Any, env: dict[str, str], secure: bool) -> None:
    assert sessions.cookie_secure(url, headers, env) is secure


def test_cookie_secure__a_bad_setting_is_a_sentence() -> None:
    with pytest.raises(ValidationError, match="INVENTORY_COOKIE_SECURE must be auto or always"):
        sessions.cookie_secure("https://x/", {}, {"INVENTORY_COOKIE_SECURE": "yes"})


# ---- metrics token -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "env", "allowed"),
    [
        (None, {}, True),  # no token set: open (keep it off the public side of the proxy)
        (None, {"INVENTORY_METRICS_TOKEN": "s3cret-token"}, False),
        ("Bearer s3cret-token", {"INVENTORY_METRICS_TOKEN": "s3cret-token"}, True),
        ("bearer  s3cret-token ", {"INVENTORY_METRICS_TOKEN": "s3cret-token"}, True),
        ("Bearer s3cret-tokeN", {"INVENTORY_METRICS_TOKEN": "s3cret-token"}, False),
        ("Bearer s3cret-token-and-more", {"INVENTORY_METRICS_TOKEN": "s3cret-token"}, False),
        ("Basic czNjcmV0LXRva2Vu", {"INVENTORY_METRICS_TOKEN": "s3cret-token"}, False),
        ("Bearer ", {"INVENTORY_METRICS_TOKEN": "s3cret-token"}, False),
        ("Bearer t\u00f6ken", {"INVENTORY_METRICS_TOKEN": "s3cret-token"}, False),
    ],
)
def test_metrics_allowed(authorization: Any, env: dict[str, str], allowed: bool) -> None:
    assert sessions.metrics_allowed(authorization, env) is allowed


@pytest.mark.parametrize(
    ("path", "guarded"),
    [
        ("/metrics", True),
        ("/metrics/", True),
        ("//metrics", True),
        ("/_stcore/metrics", True),
        ("/_stcore//metrics/", True),
        ("/inventory/_stcore/metrics", True),
        ("/_stcore/METRICS", True),
        ("/healthz", False),
        ("/_stcore/health", False),
        ("/", False),
    ],
)
def test_is_metrics_path(path: str, guarded: bool) -> None:
    assert sessions.is_metrics_path(path) is guarded
