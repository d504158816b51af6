"""Online backups: a consistent copy of the whole database as a new file that opens like the original.

Invariants:
- A backup appears under its final name only when it is complete: it is written as ``<name>.partial`` in the same
  folder and renamed (``os.replace``) at the end; on any failure the partial file and its ``.wal`` are removed.
- A backup never carries the login cookie's signing key (``settings.cookie_secret``): whoever holds a backup could
  otherwise forge a sign-in cookie for the live app. Opening a backup (``open_db`` migrates it) makes a fresh
  random key, so a cookie of the original never signs in there either.
- A full disk is ``DiskFull``; a folder that cannot be written is a ``ValidationError`` naming the folder.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.base.errors import DiskFull, ValidationError, from_os_error, is_disk_full
from core.base.permissions import Actor
from core.db import Database, Tx
from core.domain.ops import Change, run

SECRET_SETTINGS = ("cookie_secret",)  # settings rows that stay out of every backup
LEAVE_OUT = {"settings": "key IN (" + ", ".join(f"'{k}'" for k in SECRET_SETTINGS) + ")"}


def backup(db: Database, actor: Actor, directory: str | Path) -> dict[str, Any]:
    """Copy the database into ``directory`` as ``inventory-<UTC time>.duckdb``; returns its path and size.
    A PostgreSQL database is copied too, into a DuckDB file that opens like the original (``INVENTORY_DB=<file>``).
    Raises ``ValidationError`` when the folder cannot be created or written, ``DiskFull``, ``PermissionDenied``."""
    folder = Path(directory)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"inventory-{stamp}.duckdb"

    def body(tx: Any) -> Change[dict[str, Any]]:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except FileExistsError as exc:
            raise ValidationError.single(
                "directory", f"Cannot create the backup folder {folder}: it is a file."
            ) from exc
        except OSError as exc:
            if is_disk_full(exc):
                raise DiskFull(str(folder)) from exc
            raise ValidationError.single(
                "directory", f"Cannot create the backup folder {folder}: {(exc.strerror or str(exc)).lower()}."
            ) from exc
        if not target.exists():  # a retried transaction must not copy twice
            write_backup(db, tx, target)
        return Change({"path": str(target)}, entity_id=str(target), after={"path": str(target)})

    result = run(db, actor, "system.backup", body, entity="database", entity_id=str(target), permission="system.manage")
    result["bytes"] = target.stat().st_size
    return result


def _remove_partial(partial: Path) -> None:
    for leftover in (partial, partial.with_name(partial.name + ".wal")):
        leftover.unlink(missing_ok=True)


def write_backup(db: Database, source: Tx, target: Path) -> None:
    """Write the copy as ``target``'s ``.partial`` sibling, then rename it to ``target``; on failure leave nothing.
    Raises ``ValidationError`` (folder not writable), ``DiskFull``."""
    partial = target.with_name(target.name + ".partial")
    try:  # a probe that names the folder in a sentence, before the database engine says it in its own words
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        partial.unlink()
    except OSError as exc:
        raise from_os_error(exc, target.parent) from exc
    try:
        if db.kind == "postgres":
            copy_into_duckdb(db, source, partial)
        else:
            db.backup_to(str(partial), leave_out=LEAVE_OUT)
        partial.with_name(partial.name + ".wal").unlink(missing_ok=True)  # empty once the copy is closed
        os.replace(partial, target)
    except OSError as exc:
        _remove_partial(partial)
        raise from_os_error(exc, target.parent) from exc
    except DiskFull as exc:  # named by the folder, not by the temporary file that is gone now
        _remove_partial(partial)
        raise DiskFull(str(target.parent)) from exc
    except BaseException:
        _remove_partial(partial)
        raise


def copy_into_duckdb(db: Database, source: Tx, target: Path) -> None:
    """Copy every table and sequence of ``db`` (PostgreSQL), as ``source`` (an open transaction: one snapshot, so
    the copy is consistent while the app keeps writing) sees them, into a new DuckDB file made by the same
    migrations, leaving out the secret settings. Streams each table in slices, so memory stays flat however long
    the ledger is. The caller removes ``target`` when this raises."""
    from core import open_db  # the package's opener: it migrates the new file

    copy = open_db(str(target))
    try:
        with copy.transaction() as dest:
            tables, sequences = db.catalog(source)
            for table in tables:
                dest.execute(f"DELETE FROM {table}")  # the copy's own settings rows give way to the original's
                where = f" WHERE NOT ({LEAVE_OUT[table]})" if table in LEAVE_OUT else ""
                for frame in source.frames(f"SELECT * FROM {table}{where}"):
                    dest.load_frame(table, frame)
            for name, value in sequences:
                dest.execute(f"SELECT setval('{name}', {int(value)})")
    finally:
        copy.close()
