"""Account administration: creating accounts, roles, store assignments, deactivation, password resets and unlocks.

Only the owner manages accounts (``core.domain.ops.run`` refuses anyone else before looking at the input), except the
very first owner, created by the setup page when no user exists. Signing in, the session's actor, logging out and
changing one's own password are ``core.domain.signin``'s; the rules for passwords are there too. A deactivation or
a password reset moves ``tokens_valid_after`` forward: a login cookie issued before it is no longer accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from core.base.errors import NotFound, ValidationError
from core.base.permissions import Actor
from core.base.validate import NAME_MAX, clean_text, collect
from core.db import Database, Tx
from core.domain import signin_throttle
from core.domain.lookups import store_by_code
from core.domain.ops import Change, run
from core.domain.reading import public_read, read
from core.domain.signin import hash_password, validate_password

ROLES = ("owner", "staff")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
USER_COLUMNS = (
    "id, email, name, role, active, failed_logins, locked_until, tokens_valid_after, version, created_at, updated_at"
)


def clean_email(email: Any) -> str:
    text = clean_text("email", email, 254)
    assert text is not None
    if not EMAIL_RE.match(text):
        raise ValidationError.single("email", f"{text!r} is not an email address.")
    return text.lower()


def _user(tx: Tx, email: str) -> dict[str, Any]:
    rows = tx.dicts(f"SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1", [str(email).strip().lower()])
    if not rows:
        raise NotFound(f"There is no user {email!r}.")
    row = rows[0]
    row["stores"] = [
        r[0]
        for r in tx.all(
            "SELECT s.code FROM user_stores us JOIN stores s ON s.id = us.store_id WHERE us.user_id = $1 ORDER BY s.code",
            [row["id"]],
        )
    ]
    return row


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "password_hash"}


def _set_stores(tx: Tx, user_id: int, stores: list[str]) -> list[str]:
    ids = {}
    for code in stores:
        st = store_by_code(tx, code)
        ids[st["id"]] = st["code"]
    tx.execute("DELETE FROM user_stores WHERE user_id = $1", [user_id])
    tx.many("INSERT INTO user_stores (user_id, store_id) VALUES ($1, $2)", [[user_id, sid] for sid in ids])
    return sorted(ids.values())


def has_users(db: Database) -> bool:
    with db.reader() as tx:
        return bool(tx.scalar("SELECT count(*) FROM users"))


def _insert_user(tx: Tx, email: str, name: str, password: str, role: str) -> int:
    if tx.scalar("SELECT id FROM users WHERE email = $1", [email]) is not None:
        raise ValidationError.single("email", f"A user with email {email} already exists.")
    return int(
        tx.scalar(
            "INSERT INTO users (email, name, password_hash, role) VALUES ($1, $2, $3, $4) RETURNING id",
            [email, name, hash_password(password), role],
        )
    )


def _clean_new_user(email: Any, password: Any, role: Any, name: Any) -> dict[str, Any]:
    return collect(
        {
            "email": lambda: clean_email(email),
            "password": lambda: validate_password(password),
            "role": lambda: _clean_role(role),
            "name": lambda: clean_text("name", name or (str(email).split("@")[0] if email else None), NAME_MAX),
        }
    )


def _clean_role(role: Any) -> str:
    if role not in ROLES:
        raise ValidationError.single("role", f"Role must be owner or staff (got {role!r}).")
    return str(role)


def _create(tx: Tx, values: dict[str, Any], stores: list[str] | None) -> tuple[int, list[str]]:
    """Insert the account of cleaned ``values`` with ``stores`` (codes); returns its id and the stores' codes."""
    user_id = _insert_user(tx, values["email"], values["name"], values["password"], values["role"])
    return user_id, _set_stores(tx, user_id, list(stores or []))


def create_first_owner(
    db: Database, email: str, name: str, password: str, *, stores: list[str] | None = None
) -> dict[str, Any]:
    """The setup page's (and the first ``user add``'s) one call: create the owner when there are no users yet,
    with ``stores`` assigned in the same transaction (an unknown store creates nothing).
    Raises ``ValidationError``, ``NotFound``."""
    values = _clean_new_user(email, password, "owner", name)

    def body(tx: Tx) -> Change[dict[str, Any]]:
        if tx.scalar("SELECT count(*) FROM users"):
            raise ValidationError.single("email", "The owner account already exists; sign in instead.")
        # Two setup pages submitted at once: both write this one row, so the second transaction conflicts, retries
        # and then sees the first owner (counting users alone would let both insert).
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('owner_created', $1)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [values["email"]],
        )
        user_id, codes = _create(tx, values, stores)
        after = {"id": user_id, "email": values["email"], "role": "owner"} | ({"stores": codes} if codes else {})
        return Change(_public(_user(tx, values["email"])), entity_id=values["email"], after=after)

    newcomer = Actor(email=values["email"], role="owner", name=values["name"])  # the audit row names them
    return run(db, newcomer, "user.setup", body, entity="user", entity_id=values["email"])


def add_user(
    db: Database,
    actor: Actor,
    email: str,
    password: str,
    role: str,
    *,
    name: str | None = None,
    stores: list[str] | None = None,
) -> dict[str, Any]:
    """Create an account. Raises ``ValidationError`` listing every bad field, ``NotFound`` for an unknown store,
    ``PermissionDenied``."""

    def body(tx: Tx) -> Change[dict[str, Any]]:
        values = _clean_new_user(email, password, role, name)
        _user_id, codes = _create(tx, values, stores)
        after = {"email": values["email"], "name": values["name"], "role": values["role"], "stores": codes}
        return Change(_public(_user(tx, values["email"])), entity_id=values["email"], after=after)

    attempted = {"role": role}
    return run(
        db, actor, "user.add", body, entity="user", entity_id=email, permission="user.manage", attempted=attempted
    )


def _owner_change(
    db: Database, actor: Actor, action: str, email: str, change: Callable[[Tx, dict[str, Any]], Any], attempted: Any
) -> dict[str, Any]:
    """One owner-only change of one account: ``change(tx, the account as it was)``; audited with before and after.
    Raises ``NotFound``, ``PermissionDenied``, and what ``change`` raises."""

    def body(tx: Tx) -> Change[dict[str, Any]]:
        before = _public(_user(tx, email))
        change(tx, before)
        after = _public(_user(tx, email))
        return Change(after, entity_id=before["email"], before=before, after=after)

    return run(db, actor, action, body, entity="user", entity_id=email, permission="user.manage", attempted=attempted)


def assign_stores(db: Database, actor: Actor, email: str, stores: list[str]) -> dict[str, Any]:
    """Replace a staff member's stores. Raises ``NotFound``, ``PermissionDenied``."""

    def change(tx: Tx, before: dict[str, Any]) -> None:
        _set_stores(tx, before["id"], list(stores))

    return _owner_change(db, actor, "user.assign_stores", email, change, {"stores": stores})


def set_active(db: Database, actor: Actor, email: str, active: bool) -> dict[str, Any]:
    """Deactivate (ends every session) or reactivate an account. Raises ``ValidationError`` when the owner would
    deactivate themself, ``NotFound``, ``PermissionDenied``."""

    def change(tx: Tx, before: dict[str, Any]) -> None:
        if not active and before["email"] == actor.email:
            raise ValidationError.single("email", "You cannot deactivate your own account.")
        tx.execute(
            "UPDATE users SET active = $2, tokens_valid_after = CASE WHEN $2 THEN tokens_valid_after ELSE now() END,"
            " version = version + 1, updated_at = now() WHERE id = $1",
            [before["id"], bool(active)],
        )

    action = "user.deactivate" if not active else "user.reactivate"
    return _owner_change(db, actor, action, email, change, {"active": active})


def reset_password(db: Database, actor: Actor, email: str, new_password: str) -> dict[str, Any]:
    """The owner sets a new password for someone; their earlier sessions end. Raises ``ValidationError``,
    ``NotFound``, ``PermissionDenied``."""

    def change(tx: Tx, before: dict[str, Any]) -> None:
        tx.execute(
            "UPDATE users SET password_hash = $2, tokens_valid_after = now(), failed_logins = 0, locked_until = NULL,"
            " version = version + 1, updated_at = now() WHERE id = $1",
            [before["id"], hash_password(new_password)],
        )
        signin_throttle.clear_account(tx, before["email"])

    return _owner_change(db, actor, "user.reset_password", email, change, {"password": "(new)"})


def unlock(db: Database, actor: Actor, email: str) -> dict[str, Any]:
    """Clear every lock and failure count of an account, on every client (``core.domain.signin_throttle``), and the
    counts of the clients that failed on it. Raises ``NotFound``, ``PermissionDenied``."""

    def change(tx: Tx, before: dict[str, Any]) -> None:
        tx.execute(
            "UPDATE users SET failed_logins = 0, locked_until = NULL, version = version + 1, updated_at = now()"
            " WHERE id = $1",
            [before["id"]],
        )
        signin_throttle.clear_account(tx, before["email"])

    return _owner_change(db, actor, "user.unlock", email, change, {"unlock": True})


@public_read
def get_user(db: Database, actor: Actor, email: str) -> dict[str, Any]:
    """One account (without its password hash): one's own, or any for the owner. Raises ``NotFound``,
    ``PermissionDenied``."""
    own = str(email).strip().lower() == actor.email
    return read(
        db, actor, None if own else "user.manage", lambda tx: _public(_user(tx, email)), entity="user", entity_id=email
    )


def _accounts(tx: Tx) -> tuple[list[dict[str, Any]], dict[str, Any], list[tuple[Any, ...]]]:
    rows = tx.dicts(f"SELECT {USER_COLUMNS}, now() AS now FROM users ORDER BY role, email")
    now = rows[0]["now"] if rows else None
    throttled = signin_throttle.account_states(tx, now, signin_throttle.throttle_settings()) if rows else {}
    stores = tx.all("SELECT us.user_id, s.code FROM user_stores us JOIN stores s ON s.id = us.store_id ORDER BY s.code")
    return rows, throttled, stores


@public_read
def list_users(db: Database, actor: Actor) -> list[dict[str, Any]]:
    """Every account with its stores and lock state (owner only). Raises ``PermissionDenied``."""
    rows, throttled, stores = read(
        db, actor, "user.manage", _accounts, entity="user", entity_id="list", name="user.list"
    )
    by_user: dict[int, list[str]] = {}
    for uid, code in stores:
        by_user.setdefault(uid, []).append(code)
    for row in rows:
        row["stores"] = by_user.get(row["id"], [])
        row.update(throttled.get(row["email"], {"failed_logins": 0, "locked_until": None}))
        row["locked"] = row["locked_until"] is not None
        row.pop("now", None)
    return rows
