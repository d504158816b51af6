"""Sign-in throttling by client and by account (issue 12, items 9-11): a stranger cannot lock the owner out, one
client cannot guess on and on, guesses spread over many clients are slowed, unknown accounts answer exactly as
real ones, and the Account page's current-password check is throttled and audited like a sign-in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import bcrypt
import pytest

from core.base.errors import AuthError, ValidationError
from core.base.permissions import SYSTEM
from core.db import Database
from core.domain import signin_throttle as throttle
from core.domain.signin import LOCK_MINUTES, MAX_FAILED_LOGINS, authenticate, change_own_password
from core.domain.users import list_users, reset_password, unlock
from tests.conftest import OWNER_EMAIL, PASSWORD, STAFF_EMAIL

STRANGER, OWNER_HOME = "203.0.113.66", "198.51.100.10"
WRONG = "The email or password is not correct."


def attempt(db: Database, email: str, password: str, client: str | None) -> str:
    """The answer to one sign-in: ``ok`` or the refusal's sentence."""
    try:
        authenticate(db, email, password, client=client)
    except AuthError as exc:
        return str(exc)
    return "ok"


def age_failures(db: Database, by: timedelta) -> None:
    """Move every recorded failure and lock ``by`` into the past (as if that much time went by)."""
    with db.transaction() as tx:
        for column in ("last_failure_at", "blocked_until"):
            rows = tx.all(f"SELECT account, client, {column} FROM signin_throttle WHERE {column} IS NOT NULL")
            for account, client, value in rows:
                tx.execute(
                    f"UPDATE signin_throttle SET {column} = $3 WHERE account = $1 AND client = $2",
                    [account, client, value - by],
                )


def audit_rows(db: Database, action: str) -> list[tuple[Any, ...]]:
    with db.reader() as tx:
        return tx.all("SELECT actor, outcome, detail, after FROM audit WHERE action = $1 ORDER BY id", [action])


# ---- item 9: the lock is not a switch a stranger can hold down ----------------------------------------------------


def test_a_strangers_wrong_passwords_do_not_lock_the_owner_out(shop: Database) -> None:
    for _ in range(2):  # again: every lock of the stranger's client
        answers = [attempt(shop, OWNER_EMAIL, "guess 123456", STRANGER) for _ in range(MAX_FAILED_LOGINS)]
        assert answers[:-1] == [WRONG] * (MAX_FAILED_LOGINS - 1)
        assert f"locked for {LOCK_MINUTES} minutes" in answers[-1]
        assert "locked" in attempt(shop, OWNER_EMAIL, PASSWORD, STRANGER)  # even the right password, from there
        assert attempt(shop, OWNER_EMAIL, PASSWORD, OWNER_HOME) == "ok"  # the owner's own device: not affected
        age_failures(shop, timedelta(minutes=LOCK_MINUTES, seconds=1))
    for _ in range(30):  # and on: the stranger is only slowed down more, the owner never
        assert attempt(shop, OWNER_EMAIL, "guess 123456", STRANGER) != "ok"
        assert attempt(shop, OWNER_EMAIL, PASSWORD, OWNER_HOME) == "ok"
    (row,) = [u for u in list_users(shop, SYSTEM) if u["email"] == OWNER_EMAIL]
    assert row["failed_logins"] > 2 * MAX_FAILED_LOGINS  # the owner sees the guessing on the Admin page


def test_one_client_guessing_many_accounts_waits_longer_and_longer(shop: Database) -> None:
    free = throttle.throttle_settings().free_failures
    for n in range(free):
        assert attempt(shop, f"user{n}@elsewhere.test", "guess 123456", STRANGER) == WRONG
    # the next attempt from that client is refused before any password is checked, even a right one
    refused = attempt(shop, STAFF_EMAIL, PASSWORD, STRANGER)
    assert refused.startswith("Too many failed sign-ins. Please wait") and "second" in refused
    assert attempt(shop, STAFF_EMAIL, PASSWORD, OWNER_HOME) == "ok"  # another client is not affected
    waits = []
    for _ in range(4):
        age_failures(shop, timedelta(seconds=2 ** (len(waits) + 1)))
        assert attempt(shop, "another@elsewhere.test", "guess 123456", STRANGER) == WRONG
        with shop.reader() as tx:
            failures = tx.scalar("SELECT failures FROM signin_throttle WHERE account = '' AND client = $1", [STRANGER])
        waits.append(throttle._wait(failures, free, throttle.throttle_settings()).total_seconds())
    assert waits == [2, 4, 8, 16]  # doubling after every further failure
    cap = throttle._wait(free + 40, free, throttle.throttle_settings())
    assert cap == timedelta(minutes=LOCK_MINUTES)


def test_guessing_spread_over_many_clients_is_slowed_but_not_for_the_users_own_device(shop: Database) -> None:
    assert attempt(shop, OWNER_EMAIL, PASSWORD, OWNER_HOME) == "ok"  # the owner's usual device
    free = throttle.throttle_settings().free_failures
    for n in range(free):
        assert attempt(shop, OWNER_EMAIL, "guess 123456", f"192.0.2.{n + 1}") == WRONG
    # a new client now waits, right password or not: the guessing gets one try per wait, whatever the addresses
    assert attempt(shop, OWNER_EMAIL, PASSWORD, "192.0.2.200").startswith("Too many failed sign-ins")
    assert attempt(shop, OWNER_EMAIL, "guess 123456", "192.0.2.201").startswith("Too many failed sign-ins")
    assert attempt(shop, OWNER_EMAIL, PASSWORD, OWNER_HOME) == "ok"  # the owner's own device is not delayed
    assert attempt(shop, STAFF_EMAIL, PASSWORD, "192.0.2.200") == "ok"  # nor are other accounts


def test_a_right_password_resets_only_its_own_client_and_account_pair(shop: Database) -> None:
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert attempt(shop, STAFF_EMAIL, "guess 123456", STRANGER) == WRONG
    assert attempt(shop, OWNER_EMAIL, PASSWORD, STRANGER) == "ok"  # the stranger's own account...
    assert "locked" in attempt(shop, STAFF_EMAIL, "guess 123456", STRANGER)  # ...did not wash the count
    assert attempt(shop, STAFF_EMAIL, PASSWORD, OWNER_HOME) == "ok"


def test_unlock_and_set_password_clear_every_lock_and_the_failed_clients_waits(shop: Database, owner: Any) -> None:
    free = throttle.throttle_settings().free_failures
    for _ in range(free):
        attempt(shop, OWNER_EMAIL, "guess 123456", STRANGER)
    assert attempt(shop, OWNER_EMAIL, PASSWORD, STRANGER) != "ok"
    unlock(shop, SYSTEM, OWNER_EMAIL)
    assert attempt(shop, OWNER_EMAIL, PASSWORD, STRANGER) == "ok"
    for _ in range(free):
        attempt(shop, STAFF_EMAIL, "guess 123456", STRANGER)
    reset_password(shop, owner, STAFF_EMAIL, "brand new pass 1")
    assert attempt(shop, STAFF_EMAIL, "brand new pass 1", STRANGER) == "ok"
    assert not any(u["locked"] or u["failed_logins"] for u in list_users(shop, SYSTEM))


def test_rows_with_nothing_left_to_remember_are_deleted(shop: Database) -> None:
    for n in range(5):
        attempt(shop, f"sprayed{n}@elsewhere.test", "guess 123456", f"192.0.2.{n}")
    assert attempt(shop, STAFF_EMAIL, PASSWORD, OWNER_HOME) == "ok"
    age_failures(shop, throttle.throttle_settings().forget_after + timedelta(seconds=1))
    throttle.forget_old(shop, throttle.throttle_settings(), force=True)
    with shop.reader() as tx:
        left = tx.all("SELECT account, client FROM signin_throttle")
    assert left == [(STAFF_EMAIL, OWNER_HOME)]  # a known device is remembered (30 days)


# ---- item 10: unknown accounts answer exactly as real ones --------------------------------------------------------


def test_unknown_and_real_accounts_get_the_same_answers_lock_included(shop: Database, monkeypatch) -> None:
    checks: list[str] = []
    real_checkpw = bcrypt.checkpw
    monkeypatch.setattr(bcrypt, "checkpw", lambda pw, hashed: checks.append("bcrypt") or real_checkpw(pw, hashed))
    answers: dict[str, list[str]] = {}
    counts: dict[str, list[int]] = {}
    for email, client in ((STAFF_EMAIL, "192.0.2.1"), ("nobody@shop.test", "192.0.2.2")):
        answers[email], counts[email] = [], []
        for _ in range(MAX_FAILED_LOGINS + 2):
            checks.clear()
            answers[email].append(attempt(shop, email, "guess 123456", client))
            counts[email].append(len(checks))
    assert answers[STAFF_EMAIL] == answers["nobody@shop.test"]
    assert "locked" in answers[STAFF_EMAIL][MAX_FAILED_LOGINS - 1]
    # the same work, so the same time: one bcrypt check per counted attempt, none once locked
    assert counts[STAFF_EMAIL] == counts["nobody@shop.test"] == [1] * MAX_FAILED_LOGINS + [0, 0]
    denied = [(r[0], r[1]) for r in audit_rows(shop, "auth.login")]
    assert denied.count((STAFF_EMAIL, "denied")) == denied.count(("nobody@shop.test", "denied")) == MAX_FAILED_LOGINS


# ---- item 11: the Account page's current password is no oracle ----------------------------------------------------


def test_password_change_guesses_are_counted_locked_and_audited(shop: Database, staff: Any) -> None:
    for n in range(30):
        with pytest.raises(AuthError) as refused:
            change_own_password(shop, staff, f"guess {n:06d}", "my new password 1", client=STRANGER)
        if n < MAX_FAILED_LOGINS - 1:
            assert str(refused.value) == "The current password is not correct."
    assert "locked" in str(refused.value)
    with pytest.raises(AuthError, match="locked"):  # then the right one is not accepted either
        change_own_password(shop, staff, PASSWORD, "my new password 1", client=STRANGER)
    assert attempt(shop, STAFF_EMAIL, PASSWORD, STRANGER) != "ok"  # the same throttle as sign-in
    assert attempt(shop, STAFF_EMAIL, PASSWORD, OWNER_HOME) == "ok"  # the password did not change
    denied = [r for r in audit_rows(shop, "user.change_password") if r[1] == "denied"]
    assert len(denied) == MAX_FAILED_LOGINS and denied[0][0] == STAFF_EMAIL and "wrong password" in denied[0][2]


def test_password_change_sign_in_failures_count_together(shop: Database, staff: Any) -> None:
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert attempt(shop, STAFF_EMAIL, "guess 123456", STRANGER) == WRONG
    with pytest.raises(AuthError, match="locked"):
        change_own_password(shop, staff, "guess 654321", "my new password 1", client=STRANGER)
    change_own_password(shop, staff, PASSWORD, "my new password 1", client=OWNER_HOME)  # another client: fine


# ---- settings and client keys ---------------------------------------------------------------------------------


def test_settings__defaults_and_env() -> None:
    assert throttle.throttle_settings({}) == throttle.ThrottleSettings(5, 15, 10)
    env = {
        "INVENTORY_LOGIN_LOCK_FAILURES": "3",
        "INVENTORY_LOGIN_LOCK_MINUTES": "60",
        "INVENTORY_LOGIN_FREE_FAILURES": "20",
    }
    assert throttle.throttle_settings(env) == throttle.ThrottleSettings(3, 60, 20)


@pytest.mark.parametrize("bad", ["0", "-1", "five", "1.5", "100000"])
def test_settings__a_bad_value_is_a_sentence(bad: str) -> None:
    with pytest.raises(ValidationError, match="INVENTORY_LOGIN_LOCK_MINUTES must be a whole number"):
        throttle.throttle_settings({"INVENTORY_LOGIN_LOCK_MINUTES": bad})


def test_settings__the_lock_follows_the_env(shop: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_LOGIN_LOCK_FAILURES", "2")
    monkeypatch.setenv("INVENTORY_LOGIN_LOCK_MINUTES", "7")
    assert attempt(shop, STAFF_EMAIL, "guess 123456", STRANGER) == WRONG
    assert "locked for 7 minutes" in attempt(shop, STAFF_EMAIL, "guess 123456", STRANGER)


@pytest.mark.parametrize(
    ("address", "key"),
    [
        (None, "local"),
        ("", "local"),
        (" 203.0.113.5 ", "203.0.113.5"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),  # the same subscriber's /64
        ("::ffff:203.0.113.5", "203.0.113.5"),
        ("x" * 100, "x" * 64),
    ],
)
def test_client_key(address: str | None, key: str) -> None:
    assert throttle.client_key(address) == key


def test_a_burst_of_parallel_guesses_gets_no_more_checked_answers_than_the_limit(shop: Database) -> None:
    from concurrent.futures import ThreadPoolExecutor

    guesses = [f"guess {n:06d}" for n in range(3 * MAX_FAILED_LOGINS)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda pw: attempt(shop, STAFF_EMAIL, pw, STRANGER), guesses))
    assert answers.count(WRONG) <= MAX_FAILED_LOGINS - 1 and any("locked" in a for a in answers)
    with shop.reader() as tx:
        denied = tx.scalar("SELECT count(*) FROM audit WHERE action = 'auth.login' AND outcome = 'denied'")
    assert denied == MAX_FAILED_LOGINS  # the writing transaction asks the throttle again


# ---- several app processes --------------------------------------------------------------------------------------


def test_the_state_is_shared_by_app_processes_on_one_postgresql_database(shop: Database, engine: str) -> None:
    """Another OS process (another app process behind the load balancer) locks the stranger's client out; this
    process sees the lock, and the owner's device is still let in here."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    if engine != "postgres":
        pytest.skip("a DuckDB file is open in one process only")
    script = (
        "import sys\n"
        "from core import open_db\n"
        "from core.domain.signin import authenticate\n"
        "db = open_db(sys.argv[1])\n"
        f"for _ in range({MAX_FAILED_LOGINS}):\n"
        "    try:\n"
        f"        authenticate(db, {OWNER_EMAIL!r}, 'guess 123456', client={STRANGER!r})\n"
        "    except Exception as exc:\n"
        "        print(exc)\n"
        "db.close()\n"
    )
    env = {**os.environ, "INVENTORY_LOG_LEVEL": "ERROR"}
    done = subprocess.run(
        [sys.executable, "-c", script, shop.target], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "locked" in done.stdout.splitlines()[-1]
    assert "locked" in attempt(shop, OWNER_EMAIL, PASSWORD, STRANGER)
    assert attempt(shop, OWNER_EMAIL, PASSWORD, OWNER_HOME) == "ok"
