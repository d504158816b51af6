"""The audit trail: one row per operation, written in the operation's own transaction.

Refusals (``denied``), conflicts and unexpected errors are written afterwards in a transaction of their own,
because the operation's transaction was rolled back.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from core.db import Database, Tx


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    return str(value)


def latest_change(db: Database) -> str:
    """A mark that moves whenever the data may have changed, whichever app process changed it: a cheap key for
    caches of reads (every write leaves an audit row). The newest audit id alone is not enough: ids are handed out
    when a row is written, not when its transaction commits, so a transaction holding a lower id can commit after
    a higher one; the count of the newest thousand ids moves then too."""
    with db.reader() as tx:
        newest, recent = tx.one(
            "SELECT m, (SELECT count(*) FROM audit WHERE id > m - 1000) FROM (SELECT coalesce(max(id), 0) AS m FROM audit) t"
        ) or (0, 0)
    return f"{newest}.{recent}"


def to_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=_default, ensure_ascii=False, sort_keys=True)


def write(
    tx: Tx,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: Any = None,
    before: Any = None,
    after: Any = None,
    outcome: str = "ok",
    detail: str | None = None,
) -> None:
    """Append one audit row inside ``tx`` (every value by name)."""
    tx.execute(
        "INSERT INTO audit (actor, action, entity, entity_id, before, after, outcome, detail)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [
            actor,
            action,
            entity,
            None if entity_id is None else str(entity_id),
            to_json(before),
            to_json(after),
            outcome,
            detail,
        ],
    )
