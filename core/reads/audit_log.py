"""Reading the audit trail (owner only): filtered rows with ``before``/``after`` parsed and a per-field diff.

``denied`` rows are the tripwires: staff attempts that core refused. Counts cover every matching row, not only the
rows returned. Reading is itself checked (``audit.read``) by the read chokepoint (``core.domain.reading.read``), so a staff
attempt is audited as ``denied`` too.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from core.base.errors import ValidationError
from core.base.permissions import Actor
from core.base.validate import clean_int
from core.db import Database, Tx
from core.db.sql import Params
from core.domain.filters import day_range
from core.domain.reading import public_read, read

AUDIT_ROWS = 500
OUTCOMES = ("ok", "denied", "conflict", "error")


def _parse(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def audit_changes(before: Any, after: Any) -> list[dict[str, str]]:
    """A per-field diff for people: ``[{field, before, after}]`` of the fields that differ (every field of a
    creation or of a refused attempt). Values are text; nested values are compact JSON."""
    if before is None and after is None:
        return []
    if isinstance(before, dict) or isinstance(after, dict):
        old = before if isinstance(before, dict) else {}
        new = after if isinstance(after, dict) else {}
        fields = list(dict.fromkeys([*old, *new]))
        return [
            {"field": f, "before": _shown(old.get(f)), "after": _shown(new.get(f))}
            for f in fields
            if old.get(f) != new.get(f)
        ]
    return [] if before == after else [{"field": "value", "before": _shown(before), "after": _shown(after)}]


@public_read
def audit_log(
    db: Database,
    actor: Actor,
    *,
    who: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    start: date | None = None,
    end: date | None = None,
    limit: int = AUDIT_ROWS,
) -> dict[str, Any]:
    """Audit rows matching the filters, newest first: ``{rows, total, by_outcome, denied}``. Each row has
    ``before``/``after`` parsed from JSON and ``changes`` (``audit_changes``). ``by_outcome`` and ``denied``
    count every matching row, not only the rows returned.
    Raises ``PermissionDenied`` (owner only), ``ValidationError``."""
    limit = clean_int(limit, "Rows to show", minimum=1, maximum=10_000)
    if outcome is not None and outcome not in OUTCOMES:
        raise ValidationError.single("outcome", f"Outcome must be one of {', '.join(OUTCOMES)} (got {outcome!r}).")

    low, high = day_range(start, end)
    where = Params()
    for template, value in (
        ("a.actor = {}", who),
        ("a.action = {}", action),
        ("a.outcome = {}", outcome),
        ("a.created_at >= {}", low),
        ("a.created_at < {}", high),
    ):
        if value:
            where.where(template, value)

    def body(tx: Tx) -> dict[str, Any]:
        counts = dict(
            tx.all(
                f"SELECT a.outcome, count(*) FROM audit a WHERE {where.conditions()} GROUP BY a.outcome", where.values
            )
        )
        page = Params(*where.values)
        rows = tx.dicts(
            "SELECT a.id, a.created_at, a.actor, a.action, a.entity, a.entity_id, a.outcome, a.detail, a.before,"
            f" a.after FROM audit a WHERE {where.conditions()} ORDER BY a.id DESC LIMIT {page.add(limit)}",
            page.values,
        )
        for r in rows:
            r["before"], r["after"] = _parse(r["before"]), _parse(r["after"])
            r["changes"] = audit_changes(r["before"], r["after"])
        by_outcome = {o: int(counts.get(o, 0)) for o in OUTCOMES}
        return {
            "rows": rows,
            "total": sum(by_outcome.values()),
            "by_outcome": by_outcome,
            "denied": by_outcome["denied"],
        }

    return read(db, actor, "audit.read", body, entity="audit", entity_id="log")


@public_read
def audit_options(db: Database, actor: Actor) -> dict[str, list[str]]:
    """The actors and actions on record, for the audit log's filters. Raises ``PermissionDenied`` (owner only)."""

    def body(tx: Tx) -> dict[str, list[str]]:
        return {
            "actors": [r[0] for r in tx.all("SELECT DISTINCT actor FROM audit ORDER BY actor")],
            "actions": [r[0] for r in tx.all("SELECT DISTINCT action FROM audit ORDER BY action")],
            "outcomes": list(OUTCOMES),
        }

    return read(db, actor, "audit.read", body, entity="audit", entity_id="options")
