"""The database layer: one interface, two engines, the schema and the SQL builder.

Two engines behind one interface (``core.db.engine``: ``Database`` opens a transaction, ``Tx`` runs statements in it):
- DuckDB, the default (``core.db.duck``): one file, one connection per process, a cursor per transaction.
- PostgreSQL, for several app processes on one database (``core.db.postgres``): ``INVENTORY_DB=postgresql://...``
  opens a psycopg 3 connection pool; every transaction runs at REPEATABLE READ, so a row changed by another
  transaction since this one's snapshot is a serialization failure, exactly like DuckDB's optimistic write conflict.

Each engine imports the interface and nothing of the other; ``core.open_db`` chooses one from the target, and
imports the PostgreSQL engine (and with it psycopg) only for a PostgreSQL target. Every statement elsewhere in core
is written in the SQL subset both engines run, with ``$1`` placeholders (``core.db.sql`` numbers them).

Driver exceptions are translated in the two engine modules and nowhere else: a write-write conflict or a duplicate
key -> ``WriteConflict``/``DuplicateKey`` (the runner retries the whole operation); a database held by another
process or a server that cannot be reached -> ``StoreBusy``; any other constraint violation -> ``ValidationError``,
a number out of the column's range -> ``TooLarge``; a full disk -> ``DiskFull``, never a conflict: retrying cannot
help.

This package re-exports the interface only (``from core.db import Database, Tx``), no engine module.
"""

from __future__ import annotations

from core.db.engine import (
    FRAME_ROWS,
    Database,
    Params,
    Tx,
    check_target,
    first_line,
    is_postgres,
    resolve_target,
    safe_label,
)

__all__ = [
    "FRAME_ROWS",
    "Database",
    "Params",
    "Tx",
    "check_target",
    "first_line",
    "is_postgres",
    "resolve_target",
    "safe_label",
]
