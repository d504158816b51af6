"""The shop's own settings an owner chooses: the currency money is shown in, and what staff may see.

``shop_settings(db)`` is a plain read (every page formats money with it, signed in or not); ``set_shop_settings``
is an owner operation through the runner (audited with the values before and after).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core.base.errors import ValidationError
from core.base.money import DEFAULT_CURRENCY, is_known_currency
from core.base.permissions import Actor
from core.db import Database, Tx
from core.db.schema import set_setting
from core.domain.ops import Change, run

CURRENCY_KEY = "currency"
STAFF_VALUES_KEY = "staff_sees_values"


@dataclass(frozen=True)
class ShopSettings:
    """``currency``: an ISO 4217 code (``INR``); ``staff_sees_values``: staff see money (revenue, stock value) for
    their stores too, not only quantities."""

    currency: str = DEFAULT_CURRENCY
    staff_sees_values: bool = True


def _load(tx: Tx) -> ShopSettings:
    rows = dict(tx.all("SELECT key, value FROM settings WHERE key IN ($1, $2)", [CURRENCY_KEY, STAFF_VALUES_KEY]))
    currency = rows.get(CURRENCY_KEY) or DEFAULT_CURRENCY
    return ShopSettings(
        currency=currency if is_known_currency(currency) else DEFAULT_CURRENCY,
        staff_sees_values=rows.get(STAFF_VALUES_KEY, "true") == "true",
    )


def shop_settings(db: Database) -> ShopSettings:
    """The shop's settings (defaults until the owner changes them)."""
    with db.reader() as tx:
        return _load(tx)


def may_see_values(settings: ShopSettings, actor: Actor) -> bool:
    """True when ``actor`` may see money figures: the owner always, staff when the owner allows it."""
    return actor.is_owner or settings.staff_sees_values


def set_shop_settings(
    db: Database,
    actor: Actor,
    *,
    currency: str | None = None,
    staff_sees_values: bool | None = None,
    client_op_id: str | None = None,
) -> ShopSettings:
    """Change the settings given (``None``: leave as is). Owner only. Raises ``ValidationError`` for an unknown
    currency code, ``PermissionDenied``."""
    code = None if currency is None else str(currency).strip().upper()
    attempted: dict[str, Any] = {"currency": code, "staff_sees_values": staff_sees_values}

    def body(tx: Tx) -> Change[ShopSettings]:
        if code is not None and not is_known_currency(code):
            raise ValidationError.single("currency", f"{currency!r} is not a currency code (for example INR or USD).")
        before = _load(tx)
        if code is not None:
            set_setting(tx, CURRENCY_KEY, code)
        if staff_sees_values is not None:
            set_setting(tx, STAFF_VALUES_KEY, "true" if staff_sees_values else "false")
        after = _load(tx)
        return Change(after, entity_id="shop", before=asdict(before), after=asdict(after))

    return run(
        db,
        actor,
        "settings.update",
        body,
        entity="settings",
        entity_id="shop",
        permission="system.manage",
        attempted=attempted,
        client_op_id=client_op_id,
    )
