"""Password checks: signing in, and the current password asked by a password change, both throttled.

Every password check goes through ``_check``: first ``core.signin_throttle.refusal`` (a throttled attempt is
refused before any password is checked), then bcrypt (against a dummy hash for an unknown account, so it takes
the same time), then the throttle counts a failure or records the success, and a failure is audited as
``denied``, all in one transaction. Unknown and real accounts get the same answers, the lock included.
``core.users.authenticate`` and ``core.users.change_own_password`` are the public names.
"""

from __future__ import annotations

from typing import Any

import bcrypt

from core import audit
from core import signin_throttle as throttle
from core.db import Database, Tx
from core.errors import AuthError
from core.ops import run
from core.permissions import Actor

WRONG = "The email or password is not correct."
WRONG_CURRENT = "The current password is not correct."
DEACTIVATED = "This account is deactivated. Ask the owner."

_DUMMY_HASH = bcrypt.hashpw(b"no such account", bcrypt.gensalt()).decode()


def _verify(password: Any, hashed: str) -> bool:
    from core.users import verify_password

    return verify_password(str(password or ""), hashed)


def _check(
    tx: Tx,
    action: str,
    account: str,
    client: str,
    password: Any,
    settings: throttle.ThrottleSettings,
    wrong: str,
) -> tuple[dict[str, Any] | None, str | None]:
    """One throttled password check inside ``tx``: ``(user row, None)`` when right, else ``(row or None,
    sentence)``. A wrong password is counted and audited here."""
    now = tx.scalar("SELECT now()")
    refused = throttle.refusal(tx, account, client, now, settings)
    if refused:
        return None, refused
    rows = tx.dicts("SELECT id, password_hash, active FROM users WHERE email = $1", [account])
    row = rows[0] if rows else None
    if row is not None and _verify(password, row["password_hash"]):
        if not row["active"]:  # only the right password learns that the account exists but is deactivated
            return row, DEACTIVATED
        throttle.record_success(tx, account, client, now)
        return row, None
    if row is None:
        _verify(password, _DUMMY_HASH)  # the same time as a real check
    counted = throttle.record_failure(tx, account, client, now, settings)
    reason = ("wrong password" if row is not None else "unknown account") + (
        f"; this client is locked out of the account for {settings.lock_minutes} minutes" if counted["locked"] else ""
    )
    audit.write(
        tx,
        account,
        action,
        "user",
        account,
        None,
        {"client": client, "failures": counted["failures"]},
        "denied",
        reason,
    )
    return row, throttle.locked_message(settings.lock) if counted["locked"] else wrong


def authenticate(db: Database, email: Any, password: Any, *, client: str | None = None) -> Actor:
    """Check a password sign-in from ``client`` (its address; see ``core.signin_throttle`` for the limits).
    Returns the actor. Raises ``AuthError`` with a sentence for the person."""
    from core.users import actor_for

    account, client_id = throttle.account_key(email), throttle.client_key(client)
    settings = throttle.throttle_settings()
    outcome: dict[str, Any] = {}

    def body(tx: Tx) -> dict[str, Any]:
        _row, error = _check(tx, "auth.login", account, client_id, password, settings, WRONG)
        outcome["error"] = error
        if error is None:
            audit.write(tx, account, "auth.login", "user", account, None, {"client": client_id})
        return {}

    run(db, Actor(email=account, role="staff"), "auth.login", body, entity="user", entity_id=account)
    throttle.forget_old(db, settings)
    if outcome["error"]:
        raise AuthError(outcome["error"])
    return actor_for(db, account)


def change_own_password(
    db: Database, actor: Actor, current_password: Any, new_hash: str, *, client: str | None = None
) -> None:
    """Set ``actor``'s password hash to ``new_hash`` when ``current_password`` is right; every earlier session
    ends. The current password is checked, counted and audited exactly as a sign-in from ``client`` is.
    Raises ``AuthError``."""
    account, client_id = throttle.account_key(actor.email), throttle.client_key(client)
    settings = throttle.throttle_settings()
    outcome: dict[str, Any] = {}

    def body(tx: Tx) -> dict[str, Any]:
        row, error = _check(tx, "user.change_password", account, client_id, current_password, settings, WRONG_CURRENT)
        outcome["error"] = error
        if error is None and row is not None:
            tx.execute(
                "UPDATE users SET password_hash = $2, tokens_valid_after = now(), version = version + 1,"
                " updated_at = now() WHERE id = $1",
                [row["id"], new_hash],
            )
            audit.write(tx, account, "user.change_password", "user", account, None, {"password": "(changed)"})
        return {"email": account}

    run(db, actor, "user.change_password", body, entity="user", entity_id=account)
    if outcome["error"]:
        raise AuthError(outcome["error"])
