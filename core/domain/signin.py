"""Signing in and what belongs to a session: password rules and checks, the signed-in actor, logging out, and
changing one's own password.

Every password check goes through ``_attempt``: first ``core.domain.signin_throttle.refusal`` (a throttled attempt is
refused before any password is checked), then bcrypt (against a dummy hash for an unknown account, so it takes
the same time), then one short transaction asks the throttle again, counts a failure (audited as ``denied``) or
records the success together with what the success does. Unknown and real accounts get the same answers, the
lock included. Passwords are 8 characters to 72 bytes (bcrypt's limit: longer ones are refused, never silently
cut). ``tokens_valid_after`` moves forward on logout and password change: a login cookie issued before it is no
longer accepted (``actor_for``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import bcrypt

from core.base import observe
from core.base.errors import AuthError, ValidationError
from core.base.permissions import Actor
from core.db import Database, Tx
from core.domain import audit
from core.domain import signin_throttle as throttle
from core.domain.ops import Change, run

WRONG = "The email or password is not correct."
WRONG_CURRENT = "The current password is not correct."
DEACTIVATED = "This account is deactivated. Ask the owner."

MAX_FAILED_LOGINS = throttle.ThrottleSettings.lock_failures  # the defaults; env settings can change them
LOCK_MINUTES = throttle.ThrottleSettings.lock_minutes
PASSWORD_MIN_CHARS = 8
PASSWORD_MAX_BYTES = 72

_DUMMY_HASH = bcrypt.hashpw(b"no such account", bcrypt.gensalt()).decode()


def validate_password(password: Any) -> str:
    """Raise ``ValidationError`` unless ``password`` is 8 characters to 72 bytes."""
    if not isinstance(password, str) or len(password) < PASSWORD_MIN_CHARS:
        raise ValidationError.single("password", f"The password must be at least {PASSWORD_MIN_CHARS} characters.")
    if len(password.encode("utf-8")) > PASSWORD_MAX_BYTES:
        raise ValidationError.single(
            "password", f"The password must be at most {PASSWORD_MAX_BYTES} bytes (a shorter passphrase, please)."
        )
    return password


def hash_password(password: str) -> str:
    return bcrypt.hashpw(validate_password(password).encode(), bcrypt.gensalt()).decode()


def verify_password(password: str, hashed: str) -> bool:
    try:
        data = password.encode()
        return len(data) <= PASSWORD_MAX_BYTES and bcrypt.checkpw(data, hashed.encode())
    except (ValueError, TypeError):
        return False


def _verify(password: Any, hashed: str) -> bool:
    return verify_password(str(password or ""), hashed)


def _attempt(
    db: Database,
    actor: Actor,
    action: str,
    account: str,
    client: str,
    password: Any,
    wrong: str,
    on_success: Callable[[Tx, dict[str, Any]], None],
) -> str | None:
    """One throttled password check: ``None`` when right (``on_success(tx, user row)`` then ran in the
    transaction that records it), else the sentence refusing it. A wrong password is counted and audited.

    bcrypt runs between a read (is this attempt throttled? the user's hash) and a short writing transaction, so
    the throttle's rows are never held across a slow hash and concurrent sign-ins seldom conflict. The writing
    transaction asks the throttle again and its answer decides: a burst of parallel guesses gets no more checked
    answers than the limits allow, a right one included."""
    settings = throttle.throttle_settings()
    started = time.perf_counter()
    with db.reader() as tx:
        refused = throttle.refusal(tx, account, client, tx.scalar("SELECT now()"), settings)
        rows = tx.dicts("SELECT id, password_hash, active FROM users WHERE email = $1", [account])
    if refused:  # logged and counted (a WARNING line per refusal), never audited: a flood writes no rows
        observe.record(account, action, "user", "throttled", time.perf_counter() - started, client=client)
        return refused
    row = rows[0] if rows else None
    right = _verify(password, row["password_hash"] if row else _DUMMY_HASH) and row is not None  # same time
    outcome: dict[str, str | None] = {}

    def body(tx: Tx) -> dict[str, Any]:
        now = tx.scalar("SELECT now()")
        outcome["error"] = throttle.refusal(tx, account, client, now, settings)
        if outcome["error"]:
            return {}
        if right and row is not None:
            if not row["active"]:  # only the right password learns that the account exists but is deactivated
                outcome["error"] = DEACTIVATED
                return {}
            throttle.record_success(tx, account, client, now)
            on_success(tx, row)
            return {}
        locked = _count_failure(tx, action, account, client, now, settings, known=row is not None)
        outcome["error"] = throttle.locked_message(settings.lock) if locked else wrong
        return {}

    run(db, actor, action, body, entity="user", entity_id=account)
    throttle.forget_old(db, settings)
    return outcome["error"]


def _count_failure(
    tx: Tx, action: str, account: str, client: str, now: Any, settings: throttle.ThrottleSettings, *, known: bool
) -> bool:
    """Count a wrong password (or an unknown account) and audit it ``denied``; True when it locked the client out."""
    counted = throttle.record_failure(tx, account, client, now, settings)
    reason = ("wrong password" if known else "unknown account") + (
        f"; this client is locked out of the account for {settings.lock_minutes} minutes" if counted["locked"] else ""
    )
    after = {"client": client, "failures": counted["failures"]}
    audit.write(
        tx, actor=account, action=action, entity="user", entity_id=account, after=after, outcome="denied", detail=reason
    )
    return bool(counted["locked"])


def authenticate(db: Database, email: Any, password: Any, *, client: str | None = None) -> Actor:
    """Check a password sign-in from ``client`` (its address; see ``core.domain.signin_throttle`` for the limits).
    Returns the actor. Raises ``AuthError`` with a sentence for the person; the sentence is the same whether the
    account exists or not."""
    account, client_id = throttle.account_key(email), throttle.client_key(client)

    def signed_in(tx: Tx, row: dict[str, Any]) -> None:
        after = {"client": client_id}
        audit.write(tx, actor=account, action="auth.login", entity="user", entity_id=account, after=after)

    actor = Actor(email=account, role="staff")
    error = _attempt(db, actor, "auth.login", account, client_id, password, WRONG, signed_in)
    if error:
        raise AuthError(error)
    return actor_for(db, account)


def actor_for(db: Database, email: str, *, issued_at: datetime | None = None) -> Actor:
    """The signed-in actor for ``email``. With ``issued_at`` (a cookie's issue time) also checks the session is
    still valid. Raises ``AuthError`` for an unknown, deactivated or logged-out session."""
    with db.reader() as tx:
        rows = tx.dicts(
            "SELECT id, email, name, role, active, locked_until, tokens_valid_after, now() AS now FROM users"
            " WHERE email = $1",
            [str(email or "").strip().lower()],
        )
        if not rows or not rows[0]["active"]:
            raise AuthError("This account does not exist or is deactivated.")
        row = rows[0]
        if issued_at is not None:
            if issued_at.tzinfo is None:
                issued_at = issued_at.replace(tzinfo=UTC)
            if issued_at <= row["tokens_valid_after"]:
                raise AuthError("This session has ended; please sign in again.")
            # A lock stops password guessing; it does not end the user's own sessions (otherwise five wrong
            # guesses by anyone would sign the real user out).
        stores = frozenset(
            int(r[0]) for r in tx.all("SELECT store_id FROM user_stores WHERE user_id = $1", [row["id"]])
        )
    return Actor(email=row["email"], role=row["role"], store_ids=stores, name=row["name"], user_id=int(row["id"]))


def end_sessions(db: Database, email: str) -> None:
    """Logout: every login cookie of ``email`` issued until now stops working."""
    actor = Actor(email=str(email).lower(), role="staff")

    def body(tx: Tx) -> Change[dict[str, Any]]:
        tx.execute("UPDATE users SET tokens_valid_after = now() WHERE email = $1", [actor.email])
        return Change({}, entity_id=actor.email)

    run(db, actor, "auth.logout", body, entity="user", entity_id=actor.email)


def change_own_password(
    db: Database, actor: Actor, current_password: Any, new_password: str, *, client: str | None = None
) -> None:
    """Anyone changes their own password (the current one is required); every earlier session ends. The current
    password is checked, counted, throttled and audited exactly as a sign-in from ``client`` is.
    Raises ``AuthError`` for a wrong current password or a throttled attempt, ``ValidationError``."""
    new_hash = hash_password(new_password)
    account, client_id = throttle.account_key(actor.email), throttle.client_key(client)

    def change(tx: Tx, row: dict[str, Any]) -> None:
        tx.execute(
            "UPDATE users SET password_hash = $2, tokens_valid_after = now(), version = version + 1,"
            " updated_at = now() WHERE id = $1",
            [row["id"], new_hash],
        )
        after = {"password": "(changed)"}
        audit.write(tx, actor=account, action="user.change_password", entity="user", entity_id=account, after=after)

    error = _attempt(db, actor, "user.change_password", account, client_id, current_password, WRONG_CURRENT, change)
    if error:
        raise AuthError(error)
