"""Sign-in sessions for the web app: cookie settings, the authenticator's credentials, cookie validation.

The login cookie (streamlit-authenticator's HS256 JWT) carries only ``{username, exp_date}``. Invariants:
- No secret has a default: the cookie key comes from the app's secrets (``[auth] cookie_key``) or else the
  database setting ``cookie_secret`` (random, created by ``core.db.schema.migrate``). Without either, nothing signs.
- The cookie lifetime is short by default (``DEFAULT_LIFETIME_HOURS``), configurable through secrets
  (``[auth] cookie_lifetime_hours``) or env ``INVENTORY_SESSION_HOURS``. The lifetime is part of the cookie name,
  so a cookie issued under another lifetime is ignored rather than mis-dated.
- A cookie's issue time is ``exp_date - lifetime``; a cookie is accepted only while it has not expired, its
  expiry is not further away than one lifetime, and it was issued after the user's ``tokens_valid_after`` (which
  logout, password change and deactivation move forward). So replaying an old cookie never signs anyone in.
- ``rotate_secret`` replaces the database key and ends every session of every user. The cookie is set from
  JavaScript (the authenticator's cookie manager), so it cannot be HttpOnly; it is ``Secure`` when the page is
  served over https (``cookie_secure``) and ``SameSite=Strict``.
- Only active accounts are handed to the authenticator, and without password hashes: passwords are checked by
  ``core.domain.signin.authenticate`` (which counts failures and locks), never by the authenticator.
"""

from __future__ import annotations

import hmac
import math
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from core.base.errors import AuthError, ValidationError
from core.base.permissions import Actor
from core.db import Database, Tx
from core.db.schema import get_setting, set_setting
from core.domain.ops import Change, run
from core.domain.signin import actor_for

DEFAULT_LIFETIME_HOURS = 8.0
MAX_LIFETIME_HOURS = 24.0 * 30
LIFETIME_ENV = "INVENTORY_SESSION_HOURS"
COOKIE_PREFIX = "inventory_lite_session"
CLOCK_SLACK = timedelta(seconds=60)
COOKIE_SECURE_ENV = "INVENTORY_COOKIE_SECURE"
METRICS_TOKEN_ENV = "INVENTORY_METRICS_TOKEN"


@dataclass(frozen=True)
class SessionSettings:
    """What the authenticator needs to issue and read the login cookie."""

    cookie_name: str
    cookie_key: str
    lifetime_hours: float

    @property
    def expiry_days(self) -> float:
        return self.lifetime_hours / 24.0

    @property
    def lifetime(self) -> timedelta:
        return timedelta(hours=self.lifetime_hours)


def _lifetime_hours(value: Any) -> float:
    try:
        hours = float(value)
    except (TypeError, ValueError):
        raise ValidationError.single(
            "cookie_lifetime_hours", f"The session lifetime {value!r} is not a number."
        ) from None
    if not math.isfinite(hours) or hours <= 0 or hours > MAX_LIFETIME_HOURS:
        raise ValidationError.single(
            "cookie_lifetime_hours",
            f"The session lifetime must be more than 0 and at most {MAX_LIFETIME_HOURS:g} hours.",
        )
    return hours


def session_settings(
    db: Database, secrets: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> SessionSettings:
    """The cookie settings: key from ``secrets['auth']['cookie_key']`` else the database's ``cookie_secret``;
    lifetime from ``secrets['auth']['cookie_lifetime_hours']`` else env ``INVENTORY_SESSION_HOURS`` else 8 hours.
    Raises ``ValidationError`` for a bad lifetime or a missing / too short key."""
    env = os.environ if env is None else env
    auth = dict((secrets or {}).get("auth", {}) or {})
    key = auth.get("cookie_key") or get_setting(db, "cookie_secret")
    if not key or len(str(key)) < 32:
        raise ValidationError.single(
            "cookie_key", "The login cookie key is missing or shorter than 32 characters; set a long random one."
        )
    raw = auth.get("cookie_lifetime_hours") or env.get(LIFETIME_ENV) or DEFAULT_LIFETIME_HOURS
    hours = _lifetime_hours(raw)
    name = f"{COOKIE_PREFIX}_{hours:g}h".replace(".", "_")
    return SessionSettings(cookie_name=name, cookie_key=str(key), lifetime_hours=hours)


def credentials(db: Database) -> dict[str, Any]:
    """streamlit-authenticator's credentials dict built from the database: active accounts only, keyed by
    lower-case email, without password hashes (the authenticator never checks passwords here)."""
    with db.reader() as tx:
        rows = tx.dicts("SELECT email, name, role FROM users WHERE active ORDER BY email")
    return {
        "usernames": {
            r["email"]: {"email": r["email"], "name": r["name"], "roles": [r["role"]], "failed_login_attempts": 0}
            for r in rows
        }
    }


def database_now(db: Database) -> datetime:
    """The database's clock. A session's start is taken from it, as ``tokens_valid_after`` is: with several app
    hosts, a host whose clock runs behind the database's must not date a fresh sign-in (or the session renewed
    after a password change) before the change that it follows, which would end it at once."""
    with db.reader() as tx:
        now = tx.scalar("SELECT now()")
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def issue_token(email: str, settings: SessionSettings, *, now: datetime | None = None) -> str:
    """A login cookie value in streamlit-authenticator's format (HS256 JWT of ``{username, exp_date}``), so its
    cookie manager reads it back; it expires one lifetime from ``now``."""
    import jwt

    expires = (now or datetime.now(UTC)) + settings.lifetime
    return jwt.encode({"username": email, "exp_date": expires.timestamp()}, settings.cookie_key, algorithm="HS256")


def cookie_issued_at(token: Mapping[str, Any], settings: SessionSettings) -> datetime:
    """When a cookie was issued: its ``exp_date`` (a Unix time) minus the lifetime. Raises ``AuthError`` for a
    token without a numeric expiry."""
    exp = token.get("exp_date") if isinstance(token, Mapping) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float) or not math.isfinite(exp):
        raise AuthError("The sign-in cookie is not valid; please sign in again.")
    return datetime.fromtimestamp(exp, UTC) - settings.lifetime


def actor_from_cookie(
    db: Database, token: Mapping[str, Any] | None, settings: SessionSettings, *, now: datetime | None = None
) -> Actor:
    """The actor a decoded login cookie stands for. Raises ``AuthError`` when the cookie is malformed, expired,
    claims a longer life than allowed, or was issued before the user's last logout / password change /
    deactivation (or the account is deactivated or locked)."""
    if not isinstance(token, Mapping) or not isinstance(token.get("username"), str):
        raise AuthError("The sign-in cookie is not valid; please sign in again.")
    now = now or datetime.now(UTC)
    issued = cookie_issued_at(token, settings)
    expires = issued + settings.lifetime
    if expires <= now:
        raise AuthError("The session has expired; please sign in again.")
    if expires > now + settings.lifetime + CLOCK_SLACK:
        raise AuthError("The sign-in cookie is not valid; please sign in again.")
    return actor_for(db, token["username"], issued_at=issued)


def session_actor(db: Database, email: str, signed_in_at: datetime) -> Actor:
    """Re-check a live session on every page run: the account must still be active, unlocked and not logged out
    since ``signed_in_at``. Raises ``AuthError``."""
    return actor_for(db, email, issued_at=signed_in_at)


def cookie_secure(url: str | None, headers: Mapping[str, str] | None, env: Mapping[str, str] | None = None) -> bool:
    """Whether the login cookie gets the ``Secure`` attribute: when the browser's address (``url``) is https, or a
    proxy says it served https (``X-Forwarded-Proto: https``), or env ``INVENTORY_COOKIE_SECURE`` is ``always``
    (default ``auto``). The cookie is set from JavaScript, so ``Secure`` on a plain-http page (other than
    localhost) would make the browser drop it: ``auto`` follows the page. Raises ``ValidationError`` for another
    value of the setting."""
    env = os.environ if env is None else env
    mode = str(env.get(COOKIE_SECURE_ENV, "") or "auto").strip().lower()
    if mode not in ("auto", "always"):
        raise ValidationError.single("cookie_secure", f"{COOKIE_SECURE_ENV} must be auto or always (got {mode!r}).")
    proto = str((headers or {}).get("X-Forwarded-Proto") or "").split(",")[0].strip().lower()
    return mode == "always" or str(url or "").lower().startswith("https://") or proto == "https"


def is_metrics_path(path: str) -> bool:
    """``/metrics`` (the app's) or ``/_stcore/metrics`` (Streamlit's), under any base path, however written."""
    return re.sub("/+", "/", str(path or "")).rstrip("/").lower().endswith("/metrics")


def metrics_allowed(authorization: str | None, env: Mapping[str, str] | None = None) -> bool:
    """Whether a metrics request may be answered: always when env ``INVENTORY_METRICS_TOKEN`` is not set,
    otherwise only with ``Authorization: Bearer <that token>`` (compared in constant time)."""
    env = os.environ if env is None else env
    token = str(env.get(METRICS_TOKEN_ENV) or "")
    if not token:
        return True
    scheme, _, given = str(authorization or "").strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def rotate_secret(db: Database, actor: Actor) -> dict[str, Any]:
    """A new random login cookie key in the database, and every session of every user ends (each user's
    ``tokens_valid_after`` moves to now), so no cookie signed with the old key, or issued before, signs in again.
    Audited (never the key itself). Returns ``{"users": n}``. Raises ``PermissionDenied``."""

    def body(tx: Tx) -> Change[dict[str, Any]]:
        set_setting(tx, "cookie_secret", secrets.token_urlsafe(48))
        count = int(tx.scalar("SELECT count(*) FROM users"))
        tx.execute("UPDATE users SET tokens_valid_after = now()")
        return Change({"users": count}, entity_id="cookie_secret", after={"sessions_ended": count})

    return run(
        db, actor, "auth.rotate_secret", body, entity="settings", entity_id="cookie_secret", permission="system.manage"
    )
