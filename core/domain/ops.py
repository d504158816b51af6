"""The operation runner: every write in core goes through ``run``.

``run`` refuses an actor who may never do the operation's ``permission`` before the operation looks at its input
(audited ``denied``: the tripwire), gives the operation one transaction (retried when the driver reports a
write-write conflict, so the retry sees the other writer's change), makes it idempotent when the caller passes a
``client_op_id`` (the first result is stored in ``operations`` in the same transaction and returned again for a
re-submission), writes the ok audit row from the ``Change`` the operation returns, audits refusals, conflicts and
unexpected errors in a transaction of their own, and logs and counts every outcome through ``core.base.observe``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_random_exponential

from core.base import observe
from core.base.errors import (
    ConflictError,
    DiskFull,
    DuplicateKey,
    InventoryError,
    PermissionDenied,
    ValidationError,
    WriteConflict,
)
from core.base.permissions import Actor, require
from core.base.validate import clean_op_id
from core.db import Database, Tx
from core.domain import audit

T = TypeVar("T")

RETRY_ATTEMPTS = 30
DUPLICATE_ATTEMPTS = 3  # a duplicate key that survives a few fresh attempts is not a race: stop early


def _stop(state: RetryCallState) -> bool:
    failed = state.outcome.exception() if state.outcome is not None else None
    limit = DUPLICATE_ATTEMPTS if isinstance(failed, DuplicateKey) else RETRY_ATTEMPTS
    return state.attempt_number >= limit


def _retrying() -> Retrying:
    return Retrying(
        retry=retry_if_exception_type(WriteConflict),
        stop=_stop,
        wait=wait_random_exponential(multiplier=0.002, max=0.1),
        reraise=True,
    )


def transact(db: Database, fn: Callable[[Tx], T]) -> T:
    """Run ``fn`` in one transaction, retrying the whole of it on a driver write conflict."""
    for attempt in _retrying():
        with attempt, db.transaction() as tx:
            return fn(tx)
    raise AssertionError("unreachable")  # pragma: no cover


def _replayed(tx: Tx, op_id: str, action: str, actor: str) -> dict[str, Any] | None:
    row = tx.one("SELECT action, result, actor FROM operations WHERE client_op_id = $1", [op_id])
    if row is None:
        return None
    if row[0] != action or row[2] != actor:  # another person's result is not theirs to read
        raise ValidationError.single("client_op_id", f"Operation id {op_id} was already used for another operation.")
    result = json.loads(row[1])
    result["replayed"] = True
    return result


def _check_current_access(tx: Tx, actor: Actor, action: str) -> None:
    """A signed-in actor's account must still be active, with the role and stores it had when the actor was made:
    a page left open after a deactivation or a change of stores must not go on writing with what it knew then.
    Raises ``PermissionDenied``. (The command line's operator and sign-in itself carry no user id.)"""
    if actor.user_id is None:
        return
    row = tx.one("SELECT active, role FROM users WHERE id = $1", [actor.user_id])
    if row is None or not row[0]:
        raise PermissionDenied(
            "This account is deactivated; sign in again.", action=action, entity="user", entity_id=actor.email
        )
    stores = {int(r[0]) for r in tx.all("SELECT store_id FROM user_stores WHERE user_id = $1", [actor.user_id])}
    if row[1] != actor.role or (actor.role != "owner" and stores != set(actor.store_ids)):
        raise PermissionDenied(
            "Your role or stores changed since this page was loaded; reload the page.",
            action=action,
            entity="user",
            entity_id=actor.email,
        )


@dataclass(frozen=True)
class Change(Generic[T]):
    """What an operation changed, as its ``fn`` returns it to ``run``: the runner writes the operation's one ok
    audit row (the run's actor, action and entity; this ``entity_id``, ``before`` and ``after``) in the same
    transaction and hands ``result`` to the caller. An ``fn`` that returns anything else is returned as it is and
    gets no row from the runner: it changed nothing, or it wrote its own rows (a grid save writes one per row)."""

    result: T
    entity_id: Any = None
    before: Any = None
    after: Any = None


def run(
    db: Database,
    actor: Actor,
    action: str,
    fn: Callable[[Tx], Change[T] | T],
    *,
    entity: str,
    entity_id: Any = None,
    permission: str | None = None,
    attempted: Any = None,
    client_op_id: str | None = None,
) -> T:
    """Run one operation. ``fn(tx)`` does the work and returns a ``Change`` (the runner writes the ok audit row)
    or the result itself.

    With ``permission``, an actor who may never do it is refused before ``fn`` runs, so before it validates its
    input: a crafted attempt with bad values is still audited ``denied`` (the tripwire), with ``attempted``. Inside
    the transaction the actor's account is checked again as it is now (still active, same role and stores).
    With ``client_op_id`` the result must be a JSON-serialisable dict; a repeat returns the stored result with
    ``replayed: True`` and writes nothing. Raises ``ValidationError`` for an operation id over 100 characters, and
    whatever ``fn`` raises (domain errors reach callers unchanged; ``WriteConflict`` only after every retry failed,
    ``DiskFull`` at once: a full disk is never retried).
    """
    client_op_id = clean_op_id(client_op_id)  # before the transaction: a sentence, not the column's CHECK text
    started = time.perf_counter()
    failure: tuple[str, str | None, str | None] | None = None
    try:
        if permission is not None:  # before fn validates anything
            eid = None if entity_id is None else str(entity_id).strip()
            require(actor, permission, entity=entity, entity_id=eid, attempted=attempted)
        return transact(db, _in_transaction(actor, action, fn, entity=entity, client_op_id=client_op_id))
    except Exception as exc:
        failure = _failed(db, actor, action, entity, entity_id, exc)
        raise
    finally:
        outcome, detail, error_id = failure or ("ok", None, None)
        extra: dict[str, Any] = {"entity_id": None if entity_id is None else str(entity_id)}
        if detail:
            extra["detail"] = detail
        if error_id:
            extra["error_id"] = error_id
        if client_op_id:
            extra["client_op_id"] = client_op_id
        observe.record(actor.email, action, entity, outcome, time.perf_counter() - started, **extra)


def _in_transaction(
    actor: Actor, action: str, fn: Callable[[Tx], Change[T] | T], *, entity: str, client_op_id: str | None
) -> Callable[[Tx], T]:
    """The body ``run`` retries: the current-access check, a replay, ``fn``, its audit row, its stored result."""

    def body(tx: Tx) -> T:
        _check_current_access(tx, actor, action)
        if client_op_id:
            previous = _replayed(tx, client_op_id, action, actor.email)
            if previous is not None:
                return previous  # type: ignore[return-value]
        result = fn(tx)
        if isinstance(result, Change):
            audit.write(
                tx,
                actor=actor.email,
                action=action,
                entity=entity,
                entity_id=result.entity_id,
                before=result.before,
                after=result.after,
            )
            result = result.result
        if client_op_id:
            tx.execute(
                "INSERT INTO operations (client_op_id, action, actor, result) VALUES ($1, $2, $3, $4)",
                [client_op_id, action, actor.email, audit.to_json(result)],
            )
        return result  # type: ignore[return-value]

    return body


def _failed(
    db: Database, actor: Actor, action: str, entity: str, entity_id: Any, exc: Exception
) -> tuple[str, str | None, str | None]:
    """Audit a failed operation as its kind requires; returns its ``(outcome, detail, error_id)`` for the log.
    Refusals, conflicts and unexpected errors get an audit row; an invalid input does not."""
    if isinstance(exc, PermissionDenied):
        eid = exc.entity_id or entity_id
        _audit_after(db, actor, exc.action, exc.entity or entity, eid, exc.attempted, "denied", exc.message)
        return "denied", exc.message, None
    if isinstance(exc, ConflictError):
        conflicts = [c.__dict__ for c in exc.conflicts] or None
        _audit_after(db, actor, action, entity, entity_id, conflicts, "conflict", exc.message)
        return "conflict", exc.message, None
    if isinstance(exc, InventoryError):
        return exc.outcome, exc.message, None
    error_id = uuid.uuid4().hex[:12]
    detail = f"{type(exc).__name__}: {exc}"
    exc.error_id = error_id  # type: ignore[attr-defined]
    _audit_after(db, actor, action, entity, entity_id, None, "error", f"error {error_id}: {detail}"[:500])
    return "error", detail, error_id


def _audit_after(
    db: Database, actor: Actor, action: str, entity: str, entity_id: Any, attempted: Any, outcome: str, detail: str
) -> None:
    """Audit a failed operation or a refused read in a transaction of its own (the work's transaction, if any, was
    rolled back). Never hides the original error: a row that cannot be written is logged instead."""

    def row(tx: Tx) -> None:
        audit.write(
            tx,
            actor=actor.email,
            action=action,
            entity=entity,
            entity_id=entity_id,
            after=attempted,
            outcome=outcome,
            detail=detail,
        )

    try:
        transact(db, row)
    except DiskFull:  # no room for the audit row either: say so in one line, not with a traceback
        observe.logger.warning("could not write the audit row: the disk is full", extra={"action": action})
    except Exception:  # pragma: no cover - the original error matters more than its audit row
        observe.logger.exception("could not write the audit row", extra={"action": action, "outcome": outcome})
