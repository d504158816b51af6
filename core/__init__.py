"""Inventory Lite's core: schema, the database adapter, domain operations, permissions, KPIs, audit, CLI.

Never imports streamlit. Pages and the CLI call the functions re-exported here (or their modules) with an
open ``Database`` and an ``Actor``; every refusal is an ``InventoryError`` whose ``str`` is a sentence for a person.
"""

from __future__ import annotations

from core.db import Database, resolve_target
from core.db.schema import migrate


def open_db(target: str | None = None) -> Database:
    """Open (creating if needed) the database named by ``target`` / ``INVENTORY_DB`` and bring its schema up to
    date. Raises ``StoreBusy`` when another process holds the DuckDB file."""
    db = Database(target)
    try:
        migrate(db)
    except BaseException:
        db.close()
        raise
    return db


__all__ = ["Database", "migrate", "open_db", "resolve_target"]
