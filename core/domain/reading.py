"""The read chokepoint: every public read in core goes through ``read``, and a read's stores become SQL in ``scope``.

``read(db, actor, permission, fn, entity=...)`` is to reads what ``core.domain.ops.run`` is to writes: it checks the
permission before anything is read, gives ``fn`` one reader transaction (one snapshot), audits a refusal as
``denied`` in a transaction of its own (also a store refused inside ``fn``), and logs and times the read through
``core.base.observe`` (so reads show on the System page's latency table). Nothing is audited for a read that
succeeds. A read open to everyone signed in (the catalog, the store list) passes ``permission=None``.

``scope(tx, actor, permission, stores)`` resolves the stores a read covers: the chosen ones (each looked up and
checked, so a store outside the actor's is refused) or every store the actor may see; ``Scope.sql(params, column)``
turns that into a condition with bound values (``core.db.sql.Params``), never ids pasted into the SQL.

``public_read`` marks a public read function (``READS``): the architecture test checks that pages and ``app.py``
reach core's reads only through marked functions, and the refusal test walks every one of them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from core.base import observe
from core.base.errors import InventoryError, PermissionDenied, reading
from core.base.permissions import Actor, require, store_scope
from core.db import Database, Tx
from core.db.sql import Params
from core.domain.lookups import store_by_code
from core.domain.ops import _audit_after  # the runner's own refusal row, shared by the read chokepoint

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

READS: set[str] = set()  # "module.function" of every public read
_NOBODY = Actor(email="", role="")  # a read without an actor may do nothing that needs a permission


def public_read(fn: F) -> F:
    """Mark ``fn`` as a public read (it calls ``read``); recorded in ``READS``."""
    READS.add(f"{fn.__module__}.{fn.__qualname__}")
    fn.__public_read__ = True  # type: ignore[attr-defined]
    return fn


def read(
    db: Database,
    actor: Actor | None,
    permission: str | None,
    fn: Callable[[Tx], T],
    *,
    entity: str,
    entity_id: Any = None,
    name: str | None = None,
) -> T:
    """Run the read ``fn(tx)`` for ``actor`` and return its result. ``permission`` is checked first (``None``: open
    to every signed-in role); ``name`` is the read's name in logs and latency figures (default: ``permission``).
    Every query of ``fn`` sees one snapshot (a transaction that writes nothing, so it never conflicts).
    Raises ``PermissionDenied`` (audited ``denied``), ``TooLarge`` (``TooLarge.READ``) and whatever ``fn`` raises;
    an unexpected error carries an ``error_id`` that is logged."""
    started = time.perf_counter()
    outcome, extra = "ok", {"entity_id": None if entity_id is None else str(entity_id)}
    try:
        if permission is not None:
            require(actor or _NOBODY, permission, entity=entity, entity_id=extra["entity_id"])
        with reading(), db.transaction() as tx:  # one snapshot for every query of the read, on both engines
            return fn(tx)
    except PermissionDenied as exc:
        outcome, extra["detail"] = "denied", exc.message
        eid = exc.entity_id or extra["entity_id"]
        _audit_after(db, actor or _NOBODY, exc.action, exc.entity or entity, eid, None, "denied", exc.message)
        raise
    except InventoryError as exc:
        outcome, extra["detail"] = exc.outcome, exc.message
        raise
    except Exception as exc:
        outcome, extra["error_id"] = "error", uuid.uuid4().hex[:12]
        extra["detail"] = f"{type(exc).__name__}: {exc}"
        exc.error_id = extra["error_id"]  # type: ignore[attr-defined]
        raise
    finally:
        who = actor.email if actor else ""
        observe.record(who, name or permission or "read", entity, outcome, time.perf_counter() - started, **extra)


def visible_store(tx: Tx, actor: Actor, permission: str, code: str) -> dict[str, Any]:
    """The store ``code`` when ``actor`` may do ``permission`` there. Raises ``NotFound``, ``PermissionDenied``."""
    store = store_by_code(tx, code)
    require(actor, permission, store["id"], store_label=store["code"], entity="store", entity_id=store["code"])
    return store


@dataclass(frozen=True)
class Scope:
    """The stores one read covers: ``store_ids`` (``None``: every store), and the chosen stores' rows."""

    store_ids: tuple[int, ...] | None
    stores: tuple[dict[str, Any], ...] = field(default=())

    def sql(self, params: Params, column: str) -> str:
        """A condition limiting ``column`` (a store id column written in core) to this scope, its ids bound in
        ``params``. No store at all matches nothing."""
        if self.store_ids is None:
            return "TRUE"
        return f"{column} IN ({params.many(self.store_ids)})"


def scope(tx: Tx, actor: Actor, permission: str, stores: str | Iterable[str] | None = None) -> Scope:
    """The chosen ``stores`` (one code or several; each must be visible to ``actor``), or every store ``actor``
    may see when none is chosen. Raises ``NotFound``, ``PermissionDenied``."""
    codes = [stores] if isinstance(stores, str) else list(stores or ())
    codes = [c for c in codes if c]
    if codes:
        rows = tuple(visible_store(tx, actor, permission, code) for code in codes)
        return Scope(tuple(sorted({int(r["id"]) for r in rows})), rows)
    ids = store_scope(actor)
    return Scope(None if ids is None else tuple(int(i) for i in ids))
