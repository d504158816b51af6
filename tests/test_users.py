"""User accounts: bcrypt hashes, password rules, lockout, deactivation and session invalidation."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import bcrypt
import pytest

from core.base.errors import AuthError, NotFound, PermissionDenied, ValidationError
from core.base.permissions import SYSTEM
from core.domain.signin import (
    LOCK_MINUTES,
    MAX_FAILED_LOGINS,
    actor_for,
    authenticate,
    change_own_password,
    end_sessions,
    hash_password,
    validate_password,
    verify_password,
)
from core.domain.users import (
    add_user,
    assign_stores,
    create_first_owner,
    get_user,
    has_users,
    list_users,
    reset_password,
    set_active,
    unlock,
)
from tests.conftest import OWNER_EMAIL, PASSWORD, REAL_GENSALT, STAFF_EMAIL


def stored_hash(db, email):
    with db.reader() as tx:
        return tx.scalar("SELECT password_hash FROM users WHERE email = $1", [email])


def now():
    return datetime.now(UTC)


# ---- hashes and password rules ----------------------------------------------------------------------------------


def test_hash_password__is_bcrypt_at_the_library_default_cost(monkeypatch):
    monkeypatch.setattr(bcrypt, "gensalt", REAL_GENSALT)
    hashed = hash_password("correct horse")
    assert hashed.startswith("$2b$12$")
    assert bcrypt.checkpw(b"correct horse", hashed.encode())
    assert verify_password("correct horse", hashed) and not verify_password("correct hors", hashed)


def test_add_user__stores_a_bcrypt_hash_never_the_password(shop):
    hashed = stored_hash(shop, STAFF_EMAIL)
    assert hashed.startswith("$2b$") and PASSWORD not in hashed
    with shop.reader() as tx:
        assert tx.scalar("SELECT count(*) FROM audit WHERE after LIKE $1", [f"%{PASSWORD}%"]) == 0


@pytest.mark.parametrize("password", ["", "short", "7 chars", None])
def test_password__under_8_characters_is_refused(password):
    with pytest.raises(ValidationError, match="at least 8 characters"):
        validate_password(password)


def test_password__over_72_bytes_is_refused_even_when_under_72_characters():
    assert validate_password("x" * 72)
    with pytest.raises(ValidationError, match="at most 72 bytes"):
        validate_password("x" * 73)
    with pytest.raises(ValidationError, match="at most 72 bytes"):
        validate_password("ä" * 37)  # 37 characters, 74 bytes


def test_verify_password__a_long_or_garbage_input_is_false_not_an_error():
    hashed = hash_password("x" * 72)
    assert not verify_password("x" * 80, hashed)
    assert not verify_password("anything", "not a hash")


# ---- add ------------------------------------------------------------------------------------------------------


def test_add_user__lowercases_email_and_assigns_stores(shop):
    user = add_user(shop, SYSTEM, " New.Clerk@Shop.TEST ", "long password", "staff", stores=["s1", "S2"])
    assert (user["email"], user["role"], user["stores"], user["name"]) == (
        "new.clerk@shop.test",
        "staff",
        ["S1", "S2"],
        "New.Clerk",
    )
    assert "password_hash" not in user
    assert actor_for(shop, "new.clerk@shop.test").store_ids == frozenset({1, 2})


def test_add_user__every_bad_field_reported_and_nothing_written(shop):
    with pytest.raises(ValidationError) as err:
        add_user(shop, SYSTEM, "not-an-email", "short", "admin")
    assert {e.field for e in err.value.errors} == {"email", "password", "role"}
    with pytest.raises(ValidationError, match="already exists"):
        add_user(shop, SYSTEM, STAFF_EMAIL.upper(), "long password", "staff")
    with pytest.raises(NotFound, match="no store"):
        add_user(shop, SYSTEM, "x@shop.test", "long password", "staff", stores=["S9"])
    with shop.reader() as tx:
        assert tx.scalar("SELECT count(*) FROM users") == 2


def test_create_first_owner__only_when_no_user_exists(db):
    assert not has_users(db)
    owner = create_first_owner(db, "boss@shop.test", "Boss", "first password")
    assert owner["role"] == "owner" and has_users(db)
    with pytest.raises(ValidationError, match="already exists"):
        create_first_owner(db, "other@shop.test", "Other", "first password")


# ---- authenticate and lockout -------------------------------------------------------------------------------------


def test_authenticate__right_password_returns_the_actor(shop):
    actor = authenticate(shop, " STAFF@shop.test", PASSWORD)
    assert (actor.email, actor.role, actor.store_ids) == (STAFF_EMAIL, "staff", frozenset({1}))


@pytest.mark.parametrize(("email", "password"), [(STAFF_EMAIL, "wrong password"), ("ghost@shop.test", PASSWORD)])
def test_authenticate__wrong_password_or_unknown_email_is_the_same_refusal(shop, email, password):
    with pytest.raises(AuthError, match=r"^The email or password is not correct\.$"):
        authenticate(shop, email, password)


def test_authenticate__five_wrong_passwords_lock_for_15_minutes(shop):
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(AuthError, match="not correct"):
            authenticate(shop, STAFF_EMAIL, "wrong password")
    with pytest.raises(AuthError, match="locked for 15 minutes"):
        authenticate(shop, STAFF_EMAIL, "wrong password")
    with pytest.raises(AuthError, match="locked"):
        authenticate(shop, STAFF_EMAIL, PASSWORD)  # even the right password
    (row,) = [u for u in list_users(shop, SYSTEM) if u["email"] == STAFF_EMAIL]
    with shop.reader() as tx:
        db_now = tx.scalar("SELECT now()")
    assert row["locked"] is True
    assert timedelta(minutes=LOCK_MINUTES - 1) < row["locked_until"] - db_now <= timedelta(minutes=LOCK_MINUTES)
    # the lock stops password guessing, not the user's own live sessions
    assert actor_for(shop, STAFF_EMAIL, issued_at=now()).email == STAFF_EMAIL
    with shop.reader() as tx:
        assert tx.scalar("SELECT count(*) FROM audit WHERE action = 'auth.login' AND outcome = 'denied'") == 5


def test_authenticate__the_lock_ends_after_15_minutes(shop):
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(AuthError):
            authenticate(shop, STAFF_EMAIL, "wrong password")
    with shop.transaction() as tx:
        tx.execute(
            "UPDATE signin_throttle SET blocked_until = now() - INTERVAL '1 second' WHERE account = $1",
            [STAFF_EMAIL],
        )
    assert authenticate(shop, STAFF_EMAIL, PASSWORD).email == STAFF_EMAIL


def test_authenticate__a_success_resets_the_failure_count(shop):
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(AuthError):
            authenticate(shop, STAFF_EMAIL, "wrong password")
    authenticate(shop, STAFF_EMAIL, PASSWORD)
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(AuthError, match="not correct"):
            authenticate(shop, STAFF_EMAIL, "wrong password")
    authenticate(shop, STAFF_EMAIL, PASSWORD)


def test_unlock__lets_a_locked_user_sign_in(shop, owner):
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(AuthError):
            authenticate(shop, STAFF_EMAIL, "wrong password")
    unlock(shop, owner, STAFF_EMAIL)
    assert authenticate(shop, STAFF_EMAIL, PASSWORD).email == STAFF_EMAIL


# ---- deactivate, reset, assign ----------------------------------------------------------------------------------


def test_deactivate__ends_sessions_and_refuses_sign_in(shop, owner):
    issued = now()
    time.sleep(0.002)
    assert actor_for(shop, STAFF_EMAIL, issued_at=issued).email == STAFF_EMAIL
    set_active(shop, owner, STAFF_EMAIL, False)
    with pytest.raises(AuthError, match="deactivated"):
        authenticate(shop, STAFF_EMAIL, PASSWORD)
    with pytest.raises(AuthError, match="deactivated"):
        actor_for(shop, STAFF_EMAIL, issued_at=issued)
    set_active(shop, owner, STAFF_EMAIL, True)
    with pytest.raises(AuthError, match="session has ended"):
        actor_for(shop, STAFF_EMAIL, issued_at=issued)  # the old cookie stays dead after reactivation
    assert authenticate(shop, STAFF_EMAIL, PASSWORD).email == STAFF_EMAIL


def test_deactivate__own_account_is_refused(shop, owner):
    with pytest.raises(ValidationError, match="your own account"):
        set_active(shop, owner, OWNER_EMAIL, False)


def test_reset_password__new_one_works_old_one_and_old_sessions_do_not(shop, owner):
    issued = now()
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(AuthError):
            authenticate(shop, STAFF_EMAIL, "wrong password")
    reset_password(shop, owner, STAFF_EMAIL, "brand new pass")
    with pytest.raises(AuthError):
        authenticate(shop, STAFF_EMAIL, PASSWORD)
    assert authenticate(shop, STAFF_EMAIL, "brand new pass").email == STAFF_EMAIL  # the lock was cleared too
    with pytest.raises(AuthError, match="session has ended"):
        actor_for(shop, STAFF_EMAIL, issued_at=issued)


def test_reset_password__bad_password_is_refused_before_anything(shop, owner):
    before = stored_hash(shop, STAFF_EMAIL)
    with pytest.raises(ValidationError, match="at least 8"):
        reset_password(shop, owner, STAFF_EMAIL, "short")
    assert stored_hash(shop, STAFF_EMAIL) == before


def test_assign_stores__replaces_the_stores(shop, owner):
    assert assign_stores(shop, owner, STAFF_EMAIL, ["S2"])["stores"] == ["S2"]
    assert actor_for(shop, STAFF_EMAIL).store_ids == frozenset({2})
    assert assign_stores(shop, owner, STAFF_EMAIL, [])["stores"] == []
    with pytest.raises(NotFound):
        assign_stores(shop, owner, STAFF_EMAIL, ["S9"])
    assert get_user(shop, owner, STAFF_EMAIL)["stores"] == []


def test_user_changes__bump_the_user_version_and_are_audited(shop, owner):
    v = get_user(shop, owner, STAFF_EMAIL)["version"]
    unlock(shop, owner, STAFF_EMAIL)
    reset_password(shop, owner, STAFF_EMAIL, "another pass")
    assert get_user(shop, owner, STAFF_EMAIL)["version"] == v + 2
    with shop.reader() as tx:
        actions = [r[0] for r in tx.all("SELECT action FROM audit WHERE entity = 'user' ORDER BY id")]
    assert actions[-2:] == ["user.unlock", "user.reset_password"]


def test_unknown_user__is_not_found(shop, owner):
    with pytest.raises(NotFound):
        unlock(shop, owner, "ghost@shop.test")
    with pytest.raises(AuthError):
        actor_for(shop, "ghost@shop.test")


# ---- sessions: tokens_valid_after ---------------------------------------------------------------------------


def test_tokens_valid_after__a_cookie_issued_after_it_is_accepted(shop):
    assert actor_for(shop, STAFF_EMAIL, issued_at=now()).email == STAFF_EMAIL
    naive = datetime.now(UTC).replace(tzinfo=None)  # read as UTC
    assert actor_for(shop, STAFF_EMAIL, issued_at=naive).email == STAFF_EMAIL


def test_end_sessions__invalidates_every_earlier_cookie(shop):
    issued = now()
    time.sleep(0.002)
    end_sessions(shop, STAFF_EMAIL)
    with pytest.raises(AuthError, match="session has ended"):
        actor_for(shop, STAFF_EMAIL, issued_at=issued)
    assert actor_for(shop, STAFF_EMAIL, issued_at=now()).email == STAFF_EMAIL
    assert actor_for(shop, STAFF_EMAIL).email == STAFF_EMAIL  # without a cookie time nothing is checked


def test_change_own_password__needs_the_current_one_and_ends_sessions(shop, staff):
    issued = now()
    with pytest.raises(AuthError, match="current password is not correct"):
        change_own_password(shop, staff, "wrong password", "my new password")
    with pytest.raises(ValidationError, match="at least 8"):
        change_own_password(shop, staff, PASSWORD, "short")
    change_own_password(shop, staff, PASSWORD, "my new password")
    assert authenticate(shop, STAFF_EMAIL, "my new password").email == STAFF_EMAIL
    with pytest.raises(AuthError, match="session has ended"):
        actor_for(shop, STAFF_EMAIL, issued_at=issued)


# ---- reads ----------------------------------------------------------------------------------------------------


def test_list_users__owner_only(shop, owner, staff):
    assert [u["email"] for u in list_users(shop, owner)] == [OWNER_EMAIL, STAFF_EMAIL]
    with pytest.raises(PermissionDenied):
        list_users(shop, staff)
    assert get_user(shop, staff, STAFF_EMAIL)["email"] == STAFF_EMAIL  # one's own account
    with pytest.raises(PermissionDenied):
        get_user(shop, staff, OWNER_EMAIL)


def test_authenticate__unknown_and_deactivated_accounts_look_the_same_to_a_wrong_password(shop, owner):
    set_active(shop, owner, STAFF_EMAIL, False)
    with pytest.raises(AuthError) as unknown:
        authenticate(shop, "nobody@shop.test", "some password 1")
    with pytest.raises(AuthError) as deactivated:
        authenticate(shop, STAFF_EMAIL, "some password 1")
    assert str(unknown.value) == str(deactivated.value) == "The email or password is not correct."


def test_create_first_owner__two_setup_pages_at_once_make_one_owner(db):
    import threading

    results: list[object] = []

    def setup(n: int) -> None:
        try:
            results.append(create_first_owner(db, f"owner{n}@shop.test", f"Owner {n}", PASSWORD))
        except ValidationError as exc:
            results.append(exc)

    threads = [threading.Thread(target=setup, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.reader() as tx:
        assert tx.scalar("SELECT count(*) FROM users") == 1
    assert sum(isinstance(r, dict) for r in results) == 1
