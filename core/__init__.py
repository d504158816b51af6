"""Inventory Lite's core: schema, the database engines, domain operations, permissions, KPIs, audit, CLI.

Never imports streamlit. Pages and the CLI call the functions re-exported here (or their modules) with an
open ``Database`` and an ``Actor``; every refusal is an ``InventoryError`` whose ``str`` is a sentence for a person.
``open_db`` is the one place that chooses a database engine.
"""

from __future__ import annotations

import os

from core.db import Database, check_target, is_postgres, resolve_target
from core.db.duck import DuckDatabase, local_timezone
from core.db.schema import migrate


def open_db(target: str | os.PathLike[str] | None = None) -> Database:
    """Open (creating if needed) the database named by ``target`` / ``INVENTORY_DB`` and bring its schema up to
    date: a DuckDB file (or ``:memory:``), or a PostgreSQL database for a ``postgresql://`` URL (psycopg is imported
    only then). Raises ``ValidationError`` for any other kind of target, ``StoreBusy`` when another process holds
    the DuckDB file or the server cannot be reached."""
    chosen = check_target(resolve_target(target))
    if is_postgres(chosen):
        from core.db.postgres import PostgresDatabase

        db: Database = PostgresDatabase(chosen, time_zone=local_timezone())
    else:
        db = DuckDatabase(chosen)
    try:
        migrate(db)
    except BaseException:
        db.close()
        raise
    return db


__all__ = ["Database", "migrate", "open_db", "resolve_target"]
