"""The one place that decides permissions: a role x action x store table.

``can`` answers; ``require`` raises ``PermissionDenied`` (the runner audits it as ``denied``: the tripwire).
Owners may do everything everywhere. Staff work only in the stores assigned to them and never touch prices,
names, categories, reorder levels, vendors, users or stores. An action missing from the table is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.base.errors import PermissionDenied

ALL = "all stores"
OWN = "own stores"
NEVER = "never"

# action -> {role: scope}
RULES: dict[str, dict[str, str]] = {
    "product.create": {"owner": ALL, "staff": NEVER},
    "product.update": {"owner": ALL, "staff": NEVER},
    "product.deactivate": {"owner": ALL, "staff": NEVER},
    "stock.read": {"owner": ALL, "staff": OWN},
    "stock.count": {"owner": ALL, "staff": OWN},
    "stock.in": {"owner": ALL, "staff": OWN},
    "stock.sale": {"owner": ALL, "staff": OWN},
    "stock.removal": {"owner": ALL, "staff": OWN},
    "stock.transfer": {"owner": ALL, "staff": OWN},
    "order.create": {"owner": ALL, "staff": OWN},
    "order.ship": {"owner": ALL, "staff": OWN},
    "order.cancel": {"owner": ALL, "staff": OWN},
    "import.catalog": {"owner": ALL, "staff": NEVER},
    "import.counts": {"owner": ALL, "staff": OWN},
    "report.read": {"owner": ALL, "staff": OWN},
    "user.manage": {"owner": ALL, "staff": NEVER},
    "store.manage": {"owner": ALL, "staff": NEVER},
    "vendor.manage": {"owner": ALL, "staff": NEVER},
    "audit.read": {"owner": ALL, "staff": NEVER},
    "system.manage": {"owner": ALL, "staff": NEVER},
}

REFUSALS: dict[str, str] = {
    "product.create": "Only the owner can add products.",
    "product.update": "Staff cannot change prices, names, categories, reorder levels or vendors.",
    "product.deactivate": "Only the owner can deactivate products.",
    "import.catalog": "Staff can import stock counts only, not catalog changes.",
    "user.manage": "Only the owner can manage user accounts.",
    "store.manage": "Only the owner can manage stores.",
    "vendor.manage": "Only the owner can manage vendors.",
    "audit.read": "Only the owner can read the audit log.",
    "system.manage": "Only the owner can use the system tools.",
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, or the command line's operator (``SYSTEM``)."""

    email: str
    role: str
    store_ids: frozenset[int] = field(default_factory=frozenset)
    name: str = ""
    user_id: int | None = None

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


SYSTEM = Actor(email="cli", role="owner", name="Command line")


def can(actor: Actor, action: str, store_id: int | None = None) -> bool:
    """True when ``actor`` may do ``action`` (in ``store_id`` when the action is store-scoped)."""
    scope = RULES.get(action, {}).get(actor.role, NEVER)
    if scope == ALL:
        return True
    if scope == OWN:
        return store_id is None or store_id in actor.store_ids
    return False


def require(
    actor: Actor,
    action: str,
    store_id: int | None = None,
    *,
    store_label: str | None = None,
    entity: str = "",
    entity_id: str | None = None,
    attempted: object = None,
) -> None:
    """Raise ``PermissionDenied`` unless ``can(actor, action, store_id)``."""
    if can(actor, action, store_id):
        return
    scope = RULES.get(action, {}).get(actor.role, NEVER)
    if scope == OWN:
        where = f"store {store_label}" if store_label else "this store"  # never an internal id: a person knows codes
        message = f"You are not assigned to {where}."
    else:
        message = REFUSALS.get(action, f"Your role ({actor.role}) may not do this ({action}).")
    raise PermissionDenied(message, action=action, entity=entity, entity_id=entity_id, attempted=attempted)


def store_scope(actor: Actor) -> list[int] | None:
    """The store ids ``actor`` may see: ``None`` means every store."""
    return None if actor.is_owner else sorted(actor.store_ids)
