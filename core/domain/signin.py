"""Password checks: signing in, and the current password asked by a password change, both throttled.

Every password check goes through ``_attempt``: first ``core.domain.signin_throttle.refusal`` (a throttled attempt is
refused before any password is checked), then bcrypt (against a dummy hash for an unknown account, so it takes
the same time), then one short transaction asks the throttle again, counts a failure (audited as ``denied``) or
records the success together with what the success does. Unknown and real accounts get the same answers, the
lock included. ``core.domain.users.authenticate`` and ``core.domain.users.change_own_password`` are the public names.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import bcrypt

from core.base import observe
from core.base.errors import AuthError
from core.base.permissions import Actor
from core.db import Database, Tx
from core.domain import audit
from core.domain import signin_throttle as throttle
from core.domain.ops import run

WRONG = "The email or password is not correct."
WRONG_CURRENT = "The current password is not correct."
DEACTIVATED = "This account is deactivated. Ask the owner."

_DUMMY_HASH = bcrypt.hashpw(b"no such account", bcrypt.gensalt()).decode()


def _verify(password: Any, hashed: str) -> bool:
    from core.domain.users import verify_password

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
        counted = throttle.record_failure(tx, account, client, now, settings)
        reason = ("wrong password" if row is not None else "unknown account") + (
            f"; this client is locked out of the account for {settings.lock_minutes} minutes"
            if counted["locked"]
            else ""
        )
        after = {"client": client, "failures": counted["failures"]}
        audit.write(tx, account, action, "user", account, None, after, "denied", reason)
        outcome["error"] = throttle.locked_message(settings.lock) if counted["locked"] else wrong
        return {}

    run(db, actor, action, body, entity="user", entity_id=account)
    throttle.forget_old(db, settings)
    return outcome["error"]


def authenticate(db: Database, email: Any, password: Any, *, client: str | None = None) -> Actor:
    """Check a password sign-in from ``client`` (its address; see ``core.domain.signin_throttle`` for the limits).
    Returns the actor. Raises ``AuthError`` with a sentence for the person."""
    from core.domain.users import actor_for

    account, client_id = throttle.account_key(email), throttle.client_key(client)

    def signed_in(tx: Tx, row: dict[str, Any]) -> None:
        audit.write(tx, account, "auth.login", "user", account, None, {"client": client_id})

    actor = Actor(email=account, role="staff")
    error = _attempt(db, actor, "auth.login", account, client_id, password, WRONG, signed_in)
    if error:
        raise AuthError(error)
    return actor_for(db, account)


def change_own_password(
    db: Database, actor: Actor, current_password: Any, new_hash: str, *, client: str | None = None
) -> None:
    """Set ``actor``'s password hash to ``new_hash`` when ``current_password`` is right; every earlier session
    ends. The current password is checked, counted and audited exactly as a sign-in from ``client`` is.
    Raises ``AuthError``."""
    account, client_id = throttle.account_key(actor.email), throttle.client_key(client)

    def change(tx: Tx, row: dict[str, Any]) -> None:
        tx.execute(
            "UPDATE users SET password_hash = $2, tokens_valid_after = now(), version = version + 1,"
            " updated_at = now() WHERE id = $1",
            [row["id"], new_hash],
        )
        audit.write(tx, account, "user.change_password", "user", account, None, {"password": "(changed)"})

    error = _attempt(db, actor, "user.change_password", account, client_id, current_password, WRONG_CURRENT, change)
    if error:
        raise AuthError(error)
