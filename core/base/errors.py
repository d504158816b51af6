"""The domain error family.

Every refusal the product makes is one of these, carrying a sentence meant for a person (``str(err)``).
Driver exceptions never leave ``core.db``: it translates them into this family.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


class InventoryError(Exception):
    """Base of every error core raises on purpose. ``str(err)`` is a sentence for a person."""

    outcome = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field (or one spreadsheet cell when ``line`` is set)."""

    field: str
    message: str
    line: int | None = None


class ValidationError(InventoryError):
    """Bad input. Carries every field problem found, not just the first."""

    outcome = "invalid"

    def __init__(self, message: str | None = None, errors: list[FieldError] | None = None) -> None:
        self.errors: list[FieldError] = list(errors or [])
        if message is None:
            message = "; ".join(e.message for e in self.errors) or "The input is not valid."
        super().__init__(message)

    @classmethod
    def single(cls, field_name: str, message: str) -> ValidationError:
        return cls(message, [FieldError(field_name, message)])


class TooLarge(ValidationError):
    """A number too large for its column or computation (the driver's numeric overflow, translated by
    ``core.db``). Said as a write's refusal; ``reading`` says it as a read's."""

    WRITE = "A quantity or amount would be too large to store; nothing was saved."
    READ = "A figure here is too large to compute; nothing was changed."

    def __init__(self, message: str = WRITE) -> None:
        super().__init__(message)


@contextmanager
def reading() -> Iterator[None]:
    """Around a read that writes nothing (a report, the dashboard): a ``TooLarge`` says so instead of
    "nothing was saved". Raises ``TooLarge`` with ``TooLarge.READ``."""
    try:
        yield
    except TooLarge as exc:
        raise TooLarge(TooLarge.READ) from exc


class InsufficientStock(ValidationError):
    """A sale, removal, order or transfer asked for more than is on hand."""

    def __init__(self, store: str, sku: str, requested: int, available: int) -> None:
        self.store, self.sku, self.requested, self.available = store, sku, requested, available
        msg = f"Not enough stock of {sku} in store {store}: {requested} requested, {available} available."
        super().__init__(msg, [FieldError("quantity", msg)])


class InvalidTransition(ValidationError):
    """An order status change that the order's current status does not allow."""


class NotFound(InventoryError):
    outcome = "invalid"


class ConflictError(InventoryError):
    """The row changed since the caller read it. Nothing was written.

    ``conflicts`` lists one entry per stale row, each with the current values (and who changed it, when).
    """

    outcome = "conflict"

    def __init__(self, message: str, conflicts: list[Conflict] | None = None) -> None:
        super().__init__(message)
        self.conflicts: list[Conflict] = list(conflicts or [])

    @property
    def current(self) -> dict[str, Any] | None:
        return self.conflicts[0].current if self.conflicts else None


@dataclass
class Conflict:
    entity: str
    key: str
    expected_version: int | None
    current: dict[str, Any] = field(default_factory=dict)


class PermissionDenied(InventoryError):
    """The actor's role or stores do not allow the action. Core audits it as ``denied``."""

    outcome = "denied"

    def __init__(
        self, message: str, *, action: str, entity: str = "", entity_id: str | None = None, attempted: Any = None
    ) -> None:
        super().__init__(message)
        self.action, self.entity, self.entity_id, self.attempted = action, entity, entity_id, attempted


class StoreBusy(InventoryError):
    """Another process holds the database file, or the database stayed busy through every retry."""

    outcome = "busy"


class DiskFull(InventoryError):
    """The disk holding the database, a backup or an export is full. Nothing was written (a partial file never stays
    under its final name). Not transient in the way a write conflict is: the runner never retries it."""

    outcome = "disk_full"

    def __init__(self, where: str | None = None) -> None:
        place = f" (writing {where})" if where else ""
        super().__init__(f"The disk is full{place}: nothing was saved. Free some space, then try again.")


def is_disk_full(exc: BaseException) -> bool:
    """True for an ``OSError`` that says the disk (or the user's quota) is full."""
    import errno

    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def from_os_error(exc: OSError, folder: object) -> InventoryError:
    """An ``OSError`` from writing into ``folder`` as a sentence: ``DiskFull`` for a full disk, else a
    ``ValidationError`` naming the folder and the reason ("permission denied", "read-only file system"...)."""
    if is_disk_full(exc):
        return DiskFull(str(folder))
    reason = (exc.strerror or str(exc)).lower()
    return ValidationError.single("path", f"Cannot write into {folder}: {reason}.")


class AuthError(InventoryError):
    """Sign-in refused: wrong password, locked or deactivated account."""

    outcome = "denied"


class WriteConflict(ConflictError):
    """Two transactions wrote the same row at the same moment (the driver refused one).

    Transient: the operation runner retries the whole transaction, which then sees the other write.
    """

    def __init__(
        self, message: str = "Someone else changed the same data at the same moment; please try again."
    ) -> None:
        super().__init__(message)


class DuplicateKey(WriteConflict):
    """A row with the same key was written by another transaction (a unique index refused this one).

    Usually two people adding the same thing at once: the retry then finds it and says so. A duplicate that
    persists after a few attempts is not transient, so the runner stops retrying it early.
    """

    def __init__(
        self, message: str = "That already exists (someone may have just added it); nothing was saved."
    ) -> None:
        super().__init__(message)
