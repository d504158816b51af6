"""Online backups: a consistent copy of the whole database as a new file that opens like the original."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core import audit
from core.db import Database, Tx
from core.errors import ValidationError
from core.ops import run
from core.permissions import Actor, require


def backup(db: Database, actor: Actor, directory: str | Path) -> dict[str, Any]:
    """Copy the database into ``directory`` as ``inventory-<UTC time>.duckdb``; returns its path and size.
    A PostgreSQL database is copied too, into a DuckDB file that opens like the original (``INVENTORY_DB=<file>``).
    Raises ``ValidationError`` when the directory cannot be written, ``PermissionDenied``."""
    folder = Path(directory)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"inventory-{stamp}.duckdb"

    def body(tx: Any) -> dict[str, Any]:
        require(actor, "system.manage", entity="database", entity_id="backup")  # inside run: a refusal is audited
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValidationError.single(
                "directory", f"Cannot create the backup folder {folder}: {exc.strerror}."
            ) from exc
        if not target.exists():  # a retried transaction must not copy twice
            if db.kind == "postgres":
                copy_into_duckdb(db, tx, target)
            else:
                db.backup_to(str(target))
        audit.write(tx, actor.email, "system.backup", "database", str(target), None, {"path": str(target)})
        return {"path": str(target)}

    result = run(db, actor, "system.backup", body, entity="database", entity_id=str(target))
    result["bytes"] = target.stat().st_size
    return result


def copy_into_duckdb(db: Database, source: Tx, target: Path) -> None:
    """Copy every table and sequence of ``db`` (PostgreSQL), as ``source`` (an open transaction: one snapshot, so
    the copy is consistent while the app keeps writing) sees them, into a new DuckDB file made by the same
    migrations. Streams each table in slices, so memory stays flat however long the ledger is."""
    from core import open_db  # the package's opener: it migrates the new file

    copy = open_db(str(target))
    try:
        with copy.transaction() as dest:
            tables, sequences = db.catalog(source)
            for table in tables:
                dest.execute(f"DELETE FROM {table}")  # the copy's own settings rows give way to the original's
                for frame in source.frames(f"SELECT * FROM {table}"):
                    dest.load_frame(table, frame)
            for name, value in sequences:
                dest.execute(f"SELECT setval('{name}', {int(value)})")
    except BaseException:
        copy.close()
        target.unlink(missing_ok=True)
        raise
    copy.close()
