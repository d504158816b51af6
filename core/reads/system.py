"""The System page's figures (owner only): health, size, row counts, latency percentiles, checks and backups; and
the app's unauthenticated health probe (``health``)."""

from __future__ import annotations

import os
import time as clock
from pathlib import Path
from typing import Any

from core.base import observe
from core.base.permissions import Actor
from core.db import Database, Tx
from core.db.schema import current_version
from core.domain.backup import backup
from core.domain.check import check
from core.domain.reading import public_read, read


@public_read
def system_status(db: Database, actor: Actor) -> dict[str, Any]:
    """``{healthy, query_ms, size_bytes, schema_version, tables, latency}``: a trivial query's answer and time,
    the database file size, row counts per table, and p50/p95 per operation in this process.
    Raises ``PermissionDenied`` (owner only)."""

    def body(tx: Tx) -> dict[str, Any]:
        t0 = clock.perf_counter()
        healthy = tx.scalar("SELECT 1") == 1
        query_ms = round((clock.perf_counter() - t0) * 1000, 3)
        names = [
            r[0]
            for r in tx.all(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
            )
        ]
        tables = [
            {"table": n, "rows": int(tx.scalar(f'SELECT count(*) FROM "{n.replace(chr(34), "")}"'))} for n in names
        ]
        return {"healthy": healthy, "query_ms": query_ms, "tables": tables}

    status = read(db, actor, "system.manage", body, entity="database", entity_id="status", name="system.status")
    status["size_bytes"] = db.size_bytes()
    status["schema_version"] = current_version(db)
    status["latency"] = [{"action": a, **v} for a, v in observe.latency_percentiles().items()]
    return status


@public_read
def health_check(db: Database, actor: Actor) -> dict[str, Any]:
    """Run ``core.domain.check`` (every stored invariant): ``{ok, problems}``. Slow on a big database: on demand only.
    Raises ``PermissionDenied`` (owner only)."""

    read(db, actor, "system.manage", lambda tx: None, entity="database", entity_id="check", name="system.check")
    return check(db)  # its own transaction, after the permission: one snapshot for every check


def default_backup_dir(db: Database) -> Path:
    """Env ``INVENTORY_BACKUP_DIR``, else ``backups/`` beside the database file (``data/backups/`` by default)."""
    configured = os.environ.get("INVENTORY_BACKUP_DIR")
    if configured:
        return Path(configured)
    if db.target == ":memory:" or "://" in db.target:
        return Path(__file__).resolve().parent.parent.parent / "data" / "backups"
    return Path(db.target).resolve().parent / "backups"


def backup_now(db: Database, actor: Actor, directory: str | Path | None = None) -> dict[str, Any]:
    """A backup into ``directory`` or ``default_backup_dir``: ``{path, bytes}``. Raises ``PermissionDenied``,
    ``ValidationError`` (folder not writable)."""
    return backup(db, actor, directory or default_backup_dir(db))


def health(db: Database) -> dict[str, Any]:
    """The app's health probe: a trivial query on the database. Never raises; ``ok`` says whether it answered."""
    try:
        with db.reader() as tx:
            answered = tx.scalar("SELECT 1") == 1
            version = tx.scalar("SELECT max(version) FROM schema_migrations")
        return {"ok": bool(answered), "database": "ok" if answered else "no answer", "schema_version": version}
    except Exception as exc:  # details go to the log, never to an unauthenticated caller
        observe.logger.error("health check failed", extra={"error": f"{type(exc).__name__}: {exc}"})
        return {"ok": False, "database": "unavailable"}
