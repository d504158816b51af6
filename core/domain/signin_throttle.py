"""Sign-in throttling by client address, by account, and by the two together, kept in the database.

The state is the ``signin_throttle`` table, so several app processes on one PostgreSQL database share it. Rules
(the numbers are settings, see ``throttle_settings``):

- **Account on one client**: ``lock_failures`` (5) wrong passwords for one account from one client lock that
  client out of that account for ``lock_minutes`` (15). Other clients are not affected: a stranger's guesses
  never lock the real user out.
- **Client**: after ``free_failures`` (10) failures from one client address (whatever the accounts), each further
  attempt from it must wait 1 s, 2 s, 4 s ... (at most ``lock_minutes``) after its last failure.
- **Account**: after ``free_failures`` failures for one account (whatever the clients: guessing spread over many
  addresses), the same progressive wait applies to every client that has not signed in to that account in the
  last ``KNOWN_DAYS`` days. A client that has (the user's own device) is not delayed.
- A throttled attempt is refused before any password is checked and counts nothing.
- Unknown accounts are counted exactly as real ones (the key is the typed address), so every answer, the lock
  included, is the same for an account that exists and one that does not.
- Failures are forgotten ``4 x lock_minutes`` after the last one; a success resets only its own (account,
  client) pair, never the client's or the account's count (an attacker's own account must not wash them).

A client is the address ``core.domain.sessions.client_address`` derives (an IPv6 address counts by its /64 network);
without one, all such attempts share the client ``local``.
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.base.errors import InventoryError, ValidationError
from core.db import Database, Tx

KNOWN_DAYS = 30
LOCAL_CLIENT = "local"
NO_ACCOUNT = "-"
ENV = {
    "lock_failures": ("INVENTORY_LOGIN_LOCK_FAILURES", 5),
    "lock_minutes": ("INVENTORY_LOGIN_LOCK_MINUTES", 15),
    "free_failures": ("INVENTORY_LOGIN_FREE_FAILURES", 10),
}
_COLUMNS = "account, client, failures, last_failure_at, blocked_until, last_success_at"


@dataclass(frozen=True)
class ThrottleSettings:
    lock_failures: int = 5
    lock_minutes: int = 15
    free_failures: int = 10

    @property
    def lock(self) -> timedelta:
        return timedelta(minutes=self.lock_minutes)

    @property
    def forget_after(self) -> timedelta:
        return 4 * self.lock


def throttle_settings(env: Mapping[str, str] | None = None) -> ThrottleSettings:
    """The limits from env ``INVENTORY_LOGIN_LOCK_FAILURES`` (5), ``INVENTORY_LOGIN_LOCK_MINUTES`` (15) and
    ``INVENTORY_LOGIN_FREE_FAILURES`` (10). Raises ``ValidationError`` for a value that is not a whole number
    from 1 to 10,000."""
    env = os.environ if env is None else env
    values = {}
    for field, (name, default) in ENV.items():
        raw = str(env.get(name, "") or default).strip()
        if not raw.isdigit() or not 1 <= int(raw) <= 10_000:
            raise ValidationError.single(field, f"{name} must be a whole number from 1 to 10000 (got {raw!r}).")
        values[field] = int(raw)
    return ThrottleSettings(**values)


def account_key(email: Any) -> str:
    """The throttle's key for a typed sign-in address (existing or not)."""
    return str(email or "").strip().lower()[:254] or NO_ACCOUNT


def client_key(address: str | None) -> str:
    """The throttle's key for a client address: an IPv4 address as is, an IPv6 address by its /64 network
    (one subscriber usually holds a whole /64), anything else cut to 64 characters; none -> ``local``."""
    text = str(address or "").strip()
    if not text:
        return LOCAL_CLIENT
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _wait(failures: int, free: int, settings: ThrottleSettings) -> timedelta:
    if failures < free:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - free, 30)), settings.lock)


def _rows(tx: Tx, account: str, client: str) -> dict[str, dict[str, Any]]:
    rows = tx.dicts(
        f"SELECT {_COLUMNS} FROM signin_throttle WHERE (account = $1 AND client = $2) OR (account = '' AND client = $2)"
        " OR (account = $1 AND client = '')",
        [account, client],
    )
    by_kind = {}
    for row in rows:
        kind = "client" if row["account"] == "" else "account" if row["client"] == "" else "pair"
        by_kind[kind] = row
    return by_kind


def _minutes(delta: timedelta) -> str:
    n = max(1, int(delta.total_seconds() // 60) + (1 if delta.total_seconds() % 60 else 0))
    return f"{n} minute{'s' if n > 1 else ''}"


def locked_message(remaining: timedelta) -> str:
    return (
        f"Too many wrong passwords: signing in to this account from this device is locked for"
        f" {_minutes(remaining)}. The owner can unlock it."
    )


def wait_message(remaining: timedelta) -> str:
    seconds = max(1, int(remaining.total_seconds() + 0.999))
    when = f"{seconds} second{'s' if seconds > 1 else ''}" if seconds < 120 else _minutes(remaining)
    return f"Too many failed sign-ins. Please wait {when} and try again."


def refusal(tx: Tx, account: str, client: str, now: datetime, settings: ThrottleSettings) -> str | None:
    """The sentence refusing this attempt before any password is checked, or ``None`` when it may be checked."""
    rows = _rows(tx, account, client)
    pair = rows.get("pair")
    if pair and pair["blocked_until"] is not None and pair["blocked_until"] > now:
        return locked_message(pair["blocked_until"] - now)
    known = bool(pair and pair["last_success_at"] and pair["last_success_at"] > now - timedelta(days=KNOWN_DAYS))
    for kind in ("client", "account"):
        row = rows.get(kind)
        if row is None or row["last_failure_at"] is None or (kind == "account" and known):
            continue
        until = row["last_failure_at"] + _wait(int(row["failures"]), settings.free_failures, settings)
        if until > now:
            return wait_message(until - now)
    return None


def _upsert(tx: Tx, row: dict[str, Any]) -> None:
    tx.execute(
        f"INSERT INTO signin_throttle ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account, client)"
        " DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at,"
        " blocked_until = excluded.blocked_until, last_success_at = excluded.last_success_at",
        [row[c] for c in ("account", "client", "failures", "last_failure_at", "blocked_until", "last_success_at")],
    )


def record_failure(tx: Tx, account: str, client: str, now: datetime, settings: ThrottleSettings) -> dict[str, Any]:
    """Count one wrong password for ``account`` from ``client``. Returns ``{"failures": n, "locked": bool}`` for
    the pair (``locked``: this failure locked the client out of the account)."""
    rows = _rows(tx, account, client)
    result: dict[str, Any] = {}
    for kind, key in (("pair", (account, client)), ("client", ("", client)), ("account", (account, ""))):
        row = rows.get(kind) or {"account": key[0], "client": key[1], "failures": 0, "last_failure_at": None}
        row.setdefault("blocked_until", None)
        row.setdefault("last_success_at", None)
        recent = row["last_failure_at"] is not None and row["last_failure_at"] > now - settings.forget_after
        failures = (int(row["failures"]) if recent else 0) + 1
        row.update(failures=failures, last_failure_at=now)
        if kind == "pair":
            locked = failures >= settings.lock_failures
            result = {"failures": failures, "locked": locked}
            if locked:
                row.update(failures=0, blocked_until=now + settings.lock)
        _upsert(tx, row)
    return result


def record_success(tx: Tx, account: str, client: str, now: datetime) -> None:
    """A right password from ``client``: its pair with ``account`` starts again and the client becomes known."""
    _upsert(
        tx,
        {
            "account": account,
            "client": client,
            "failures": 0,
            "last_failure_at": None,
            "blocked_until": None,
            "last_success_at": now,
        },
    )


def clear_account(tx: Tx, account: str) -> None:
    """Unlock ``account`` everywhere: its locks and counts, and the counts of the clients that failed on it."""
    account = account_key(account)
    tx.execute(
        "DELETE FROM signin_throttle WHERE account = '' AND client IN"
        " (SELECT client FROM signin_throttle WHERE account = $1 AND client <> '' AND last_failure_at IS NOT NULL)",
        [account],
    )
    tx.execute("DELETE FROM signin_throttle WHERE account = $1 AND client = ''", [account])
    tx.execute(
        "UPDATE signin_throttle SET failures = 0, last_failure_at = NULL, blocked_until = NULL WHERE account = $1",
        [account],
    )


def account_states(tx: Tx, now: datetime, settings: ThrottleSettings) -> dict[str, dict[str, Any]]:
    """Per account: ``failed_logins`` (recent failures, any client) and ``locked_until`` (the latest lock of any
    client, ``None`` when no client is locked out)."""
    states: dict[str, dict[str, Any]] = {}
    recent = now - settings.forget_after
    for row in tx.dicts(
        f"SELECT {_COLUMNS} FROM signin_throttle WHERE account <> '' AND (last_failure_at > $1 OR blocked_until > $2)",
        [recent, now],
    ):
        state = states.setdefault(row["account"], {"failed_logins": 0, "locked_until": None})
        if row["client"] == "":
            state["failed_logins"] = int(row["failures"])
        elif row["blocked_until"] is not None and row["blocked_until"] > now:
            state["locked_until"] = max(filter(None, [state["locked_until"], row["blocked_until"]]))
    return states


_last_cleanup = 0.0
CLEANUP_SECONDS = 300.0


def forget_old(db: Database, settings: ThrottleSettings, *, force: bool = False) -> None:
    """Delete rows with nothing left to remember (at most every ``CLEANUP_SECONDS`` per process unless
    ``force``), so addresses sprayed by a stranger do not pile up. A conflict with a concurrent sign-in is left
    for the next time."""
    global _last_cleanup
    if not force and time.monotonic() - _last_cleanup < CLEANUP_SECONDS:
        return
    _last_cleanup = time.monotonic()
    try:
        with db.transaction() as tx:
            now = tx.scalar("SELECT now()")
            tx.execute(
                "DELETE FROM signin_throttle WHERE (last_failure_at IS NULL OR last_failure_at < $1)"
                " AND (blocked_until IS NULL OR blocked_until < $2)"
                " AND (last_success_at IS NULL OR last_success_at < $3)",
                [now - settings.forget_after, now, now - timedelta(days=KNOWN_DAYS)],
            )
    except InventoryError:
        pass
