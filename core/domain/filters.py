"""Filters shared by the read side and the exports: inclusive day ranges and the movement ledger's filter.

``movement_conditions`` turns the Reports page's filters (stores, product text, kinds, dates) into conditions on
``movements m`` alone, bound in a ``core.db.sql.Params``: the movement report (``core.reads.reports``) and the
movement export (``core.sheets.exporter``) select the same rows with it. Stores are checked with ``report.read``
through ``core.domain.reading.scope``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TypedDict, Unpack

from core.base.errors import ValidationError
from core.base.permissions import Actor
from core.db import Tx
from core.db.schema import MOVEMENT_KINDS
from core.db.sql import Params
from core.domain.reading import scope


class MovementFilters(TypedDict, total=False):
    """The Reports page's movement filters, as keyword arguments of every function that takes them."""

    stores: list[str] | None  # store codes; none: every store the actor may see
    product: str | None  # text in the SKU or the name
    kinds: list[str] | None  # movement kinds
    start: date | None  # first day, inclusive
    end: date | None  # last day, inclusive


def day_range(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """Inclusive calendar dates as [start 00:00, day after end 00:00). Raises ``ValidationError``."""
    if start and end and start > end:
        raise ValidationError.single("start", "The start date must be on or before the end date.")
    return (
        datetime.combine(start, time()) if start else None,
        datetime.combine(end + timedelta(days=1), time()) if end else None,
    )


def movement_conditions(tx: Tx, actor: Actor, **filters: Unpack[MovementFilters]) -> Params:
    """The filters as AND-ed conditions on ``movements m`` (``params.conditions()``), values bound in the returned
    ``Params``. ``product`` matches SKU or name, case-insensitively; dates are inclusive.
    Raises ``ValidationError`` (kinds, dates), ``NotFound``, ``PermissionDenied`` (a store)."""
    params = Params()
    params.where(scope(tx, actor, "report.read", filters.get("stores")).sql(params, "m.store_id"))
    text = (filters.get("product") or "").strip().lower()
    if text:
        params.where(
            "m.product_id IN (SELECT p.id FROM products p"
            " WHERE position({0} IN lower(p.sku)) > 0 OR position({0} IN lower(p.name)) > 0)",
            text,
        )
    kinds = filters.get("kinds")
    if kinds:
        unknown = sorted(set(kinds) - set(MOVEMENT_KINDS))
        if unknown:
            raise ValidationError.single("kinds", f"Unknown movement kind: {', '.join(unknown)}.")
        chosen = [k for k in MOVEMENT_KINDS if k in kinds]
        params.where(f"m.kind IN ({', '.join('{}' for _ in chosen)})", *chosen)
    low, high = day_range(filters.get("start"), filters.get("end"))
    if low:
        params.where("m.created_at >= {}", low)
    if high:
        params.where("m.created_at < {}", high)
    return params
