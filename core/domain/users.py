"""User accounts: bcrypt password hashes, roles, store assignments, lockout and session invalidation.

Passwords are 8 characters to 72 bytes (bcrypt's limit: longer ones are refused, never silently cut).
Password checks are throttled by client and by account (``core.domain.signin``, ``core.domain.signin_throttle``): five
wrong passwords from one client lock that client out of the account for 15 minutes; the owner can unlock it.
``tokens_valid_after`` moves forward on logout, password change and deactivation: a login cookie issued before it
is no longer accepted.
Only the owner manages accounts, except the very first owner, created by the setup page when no user exists.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import bcrypt

from core.base.errors import AuthError, NotFound, ValidationError
from core.base.permissions import SYSTEM, Actor, require
from core.base.validate import NAME_MAX, clean_text, collect
from core.db import Database, Tx
from core.domain import audit, signin_throttle
from core.domain.catalog import store_by_code
from core.domain.ops import refuse_early, run
from core.domain.reading import public_read, read

MAX_FAILED_LOGINS = signin_throttle.ThrottleSettings.lock_failures  # the defaults; env settings can change them
LOCK_MINUTES = signin_throttle.ThrottleSettings.lock_minutes
PASSWORD_MIN_CHARS = 8
PASSWORD_MAX_BYTES = 72
ROLES = ("owner", "staff")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
USER_COLUMNS = (
    "id, email, name, role, active, failed_logins, locked_until, tokens_valid_after, version, created_at, updated_at"
)


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


def create_first_owner(
    db: Database, email: str, name: str, password: str, *, stores: list[str] | None = None
) -> dict[str, Any]:
    """The setup page's (and the first ``user add``'s) one call: create the owner when there are no users yet,
    with ``stores`` assigned in the same transaction (an unknown store creates nothing).
    Raises ``ValidationError``, ``NotFound``."""
    values = _clean_new_user(email, password, "owner", name)

    def body(tx: Tx) -> dict[str, Any]:
        if tx.scalar("SELECT count(*) FROM users"):
            raise ValidationError.single("email", "The owner account already exists; sign in instead.")
        # Two setup pages submitted at once: both write this one row, so the second transaction conflicts, retries
        # and then sees the first owner (counting users alone would let both insert).
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('owner_created', $1)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [values["email"]],
        )
        user_id = _insert_user(tx, values["email"], values["name"], values["password"], "owner")
        codes = _set_stores(tx, user_id, list(stores or []))
        after = {"id": user_id, "email": values["email"], "role": "owner"} | ({"stores": codes} if codes else {})
        audit.write(tx, values["email"], "user.setup", "user", values["email"], None, after)
        return _public(_user(tx, values["email"]))

    return run(db, SYSTEM, "user.setup", body, entity="user", entity_id=values["email"])


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
    refuse_early(db, actor, "user.add", "user.manage", entity="user", entity_id=email, attempted={"role": role})
    values = _clean_new_user(email, password, role, name)

    def body(tx: Tx) -> dict[str, Any]:
        require(
            actor,
            "user.manage",
            entity="user",
            entity_id=values["email"],
            attempted={"email": values["email"], "role": values["role"]},
        )
        user_id = _insert_user(tx, values["email"], values["name"], values["password"], values["role"])
        codes = _set_stores(tx, user_id, list(stores or []))
        after = {"email": values["email"], "name": values["name"], "role": values["role"], "stores": codes}
        audit.write(tx, actor.email, "user.add", "user", values["email"], None, after)
        return _public(_user(tx, values["email"]))

    return run(db, actor, "user.add", body, entity="user", entity_id=values["email"])


def _owner_change(
    db: Database,
    actor: Actor,
    action: str,
    email: str,
    sql: str,
    params: list[Any],
    attempted: Any = None,
    after_fn: Any = None,
) -> dict[str, Any]:
    def body(tx: Tx) -> dict[str, Any]:
        require(actor, "user.manage", entity="user", entity_id=email, attempted=attempted)
        before = _public(_user(tx, email))
        if sql:
            tx.execute(sql, [before["id"], *params])
        if after_fn:
            after_fn(tx, before)
        after = _public(_user(tx, email))
        audit.write(tx, actor.email, action, "user", before["email"], before, after)
        return after

    return run(db, actor, action, body, entity="user", entity_id=email)


def assign_stores(db: Database, actor: Actor, email: str, stores: list[str]) -> dict[str, Any]:
    """Replace a staff member's stores. Raises ``NotFound``, ``PermissionDenied``."""
    return _owner_change(
        db,
        actor,
        "user.assign_stores",
        email,
        "",
        [],
        {"stores": stores},
        lambda tx, before: _set_stores(tx, before["id"], list(stores)),
    )


def set_active(db: Database, actor: Actor, email: str, active: bool) -> dict[str, Any]:
    """Deactivate (ends every session) or reactivate an account. Raises ``ValidationError`` when the owner would
    deactivate themself, ``NotFound``, ``PermissionDenied``."""
    action = "user.deactivate" if not active else "user.reactivate"
    refuse_early(db, actor, action, "user.manage", entity="user", entity_id=email, attempted={"active": active})
    if not active and str(email).strip().lower() == actor.email:
        raise ValidationError.single("email", "You cannot deactivate your own account.")
    return _owner_change(
        db,
        actor,
        "user.deactivate" if not active else "user.reactivate",
        email,
        "UPDATE users SET active = $2, tokens_valid_after = CASE WHEN $2 THEN tokens_valid_after ELSE now() END,"
        " version = version + 1, updated_at = now() WHERE id = $1",
        [bool(active)],
        {"active": active},
    )


def reset_password(db: Database, actor: Actor, email: str, new_password: str) -> dict[str, Any]:
    """The owner sets a new password for someone; their earlier sessions end. Raises ``ValidationError``,
    ``NotFound``, ``PermissionDenied``."""
    attempted = {"password": "(new)"}
    refuse_early(db, actor, "user.reset_password", "user.manage", entity="user", entity_id=email, attempted=attempted)
    hashed = hash_password(new_password)
    return _owner_change(
        db,
        actor,
        "user.reset_password",
        email,
        "UPDATE users SET password_hash = $2, tokens_valid_after = now(), failed_logins = 0, locked_until = NULL,"
        " version = version + 1, updated_at = now() WHERE id = $1",
        [hashed],
        {"password": "(new)"},
        lambda tx, before: signin_throttle.clear_account(tx, before["email"]),
    )


def unlock(db: Database, actor: Actor, email: str) -> dict[str, Any]:
    """Clear every lock and failure count of an account, on every client (``core.domain.signin_throttle``), and the
    counts of the clients that failed on it. Raises ``NotFound``, ``PermissionDenied``."""
    return _owner_change(
        db,
        actor,
        "user.unlock",
        email,
        "UPDATE users SET failed_logins = 0, locked_until = NULL, version = version + 1, updated_at = now()"
        " WHERE id = $1",
        [],
        {"unlock": True},
        lambda tx, before: signin_throttle.clear_account(tx, before["email"]),
    )


def change_own_password(
    db: Database, actor: Actor, current_password: str, new_password: str, *, client: str | None = None
) -> None:
    """Anyone changes their own password (the current one is required); every earlier session ends. A wrong
    current password is counted, throttled and audited as a wrong sign-in from ``client`` is
    (``core.domain.signin``). Raises ``AuthError`` for a wrong current password or a throttled attempt,
    ``ValidationError``."""
    from core.domain import signin

    signin.change_own_password(db, actor, current_password, hash_password(new_password), client=client)


def end_sessions(db: Database, email: str) -> None:
    """Logout: every login cookie issued until now stops working."""
    actor = Actor(email=str(email).lower(), role="staff")

    def body(tx: Tx) -> dict[str, Any]:
        tx.execute("UPDATE users SET tokens_valid_after = now() WHERE email = $1", [actor.email])
        audit.write(tx, actor.email, "auth.logout", "user", actor.email)
        return {}

    run(db, actor, "auth.logout", body, entity="user", entity_id=actor.email)


def authenticate(db: Database, email: str, password: str, *, client: str | None = None) -> Actor:
    """Check a password sign-in from ``client`` (its address), throttled by client and by account
    (``core.domain.signin``, ``core.domain.signin_throttle``). Returns the actor. Raises ``AuthError`` with a sentence for the
    person; the sentence is the same whether the account exists or not."""
    from core.domain import signin

    return signin.authenticate(db, email, password, client=client)


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
