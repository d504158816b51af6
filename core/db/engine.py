"""The database interface every engine implements and every other module uses: ``Database`` opens a transaction,
``Tx`` runs statements in it; the type of statement parameters (``Params``), and the helpers both engines share
(choosing and checking a target, masking its password, an error's first line).

Imports no database driver: the DuckDB engine (``core.db.duck``) and the PostgreSQL engine (``core.db.postgres``)
each import this module and nothing of each other; ``core.open_db`` chooses between them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager as ContextManager
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.base.errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_DB = PROJECT_ROOT / "data" / "inventory.duckdb"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
FRAME_ROWS = 100_000

Params = Sequence[Any] | None


def resolve_target(target: str | os.PathLike[str] | None = None) -> str:
    """The database to open: ``target``, else env ``INVENTORY_DB``, else ``data/inventory.duckdb``."""
    chosen = target or os.environ.get("INVENTORY_DB") or DEFAULT_DB
    return str(chosen)


def is_postgres(target: str) -> bool:
    """Whether ``target`` is a PostgreSQL URL (else a DuckDB file path or ``:memory:``)."""
    return target.startswith(POSTGRES_SCHEMES)


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+:(?://)?)")  # two letters or more: a Windows drive (C:) is a path


def check_target(target: str) -> str:
    """``target`` if it names a DuckDB file (or ``:memory:``) or a PostgreSQL URL. Anything else with a scheme
    (``md:``, ``s3://``, ``http://``, ``sqlite:``...) is refused: DuckDB would try to download an extension for it.
    Raises ``ValidationError`` naming only the scheme (the rest may hold a password)."""
    found = _SCHEME.match(target)
    if found and not is_postgres(target):
        raise ValidationError.single(
            "db",
            f"{found.group(1)} databases are not supported: the database must be a DuckDB file path"
            " (such as data/inventory.duckdb) or a postgresql:// URL.",
        )
    return target


def safe_label(target: str) -> str:
    """The target as it may be shown or logged: a PostgreSQL URL without its password (``user:pw@`` or a
    ``password=`` parameter; any URL form, several hosts included)."""
    if not is_postgres(target):
        return target
    masked = re.sub(r"^([a-z]+://[^:/@?#]*):[^@/?#]*@", r"\1:***@", target)
    return re.sub(r"([?&]password=)[^&#]*", r"\1***", masked, flags=re.IGNORECASE)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its class name when it has none)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class Tx:
    """A cursor inside one transaction (or, from ``Database.reader``, a read-only view of the database).

    The statement methods work on any DB-API cursor; an engine's subclass names its driver's exception class
    (``driver_error``) and how one becomes a domain error (``translate``), and implements the DataFrame methods.
    """

    kind = "none"
    driver_error: type[Exception] = Exception  # every engine names its own

    def __init__(self, cursor: Any) -> None:
        self._cur = cursor

    @staticmethod
    def translate(exc: BaseException) -> BaseException:
        """A driver exception as the domain error it means (or unchanged)."""
        return exc

    def execute(self, sql: str, params: Params = None) -> None:
        try:
            self._cur.execute(sql, params or None)
        except self.driver_error as exc:
            raise self.translate(exc) from exc

    def _fetchall(self) -> list[tuple[Any, ...]]:
        return self._cur.fetchall()

    def _fetchone(self) -> tuple[Any, ...] | None:
        return self._cur.fetchone()

    def all(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        self.execute(sql, params)
        return self._fetchall()

    def one(self, sql: str, params: Params = None) -> tuple[Any, ...] | None:
        self.execute(sql, params)
        return self._fetchone()

    def scalar(self, sql: str, params: Params = None) -> Any:
        row = self.one(sql, params)
        return None if row is None else row[0]

    def dicts(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        self.execute(sql, params)
        names = [d[0] for d in self._cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in self._fetchall()]

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        try:
            self._cur.executemany(sql, rows)
        except self.driver_error as exc:
            raise self.translate(exc) from exc

    def frame(self, sql: str, params: Params = None) -> pd.DataFrame:  # pragma: no cover - every engine overrides
        """The result as a pandas DataFrame."""
        raise NotImplementedError

    def frames(self, sql: str, rows: int = FRAME_ROWS) -> Iterator[pd.DataFrame]:  # pragma: no cover
        """The result as DataFrames of up to about ``rows`` rows each (never all of a large table in memory)."""
        raise NotImplementedError

    def load_frame(self, table: str, frame: pd.DataFrame) -> None:  # pragma: no cover
        """Bulk-insert a pandas DataFrame whose columns are named as ``table``'s (a staging table)."""
        raise NotImplementedError


class Database:
    """One open database. Thread-safe: each transaction gets its own cursor (DuckDB) or connection (PostgreSQL).

    ``core.open_db(target)`` opens the engine the target names: ``core.db.duck.DuckDatabase`` for a file path (or
    ``:memory:``), ``core.db.postgres.PostgresDatabase`` for a ``postgresql://`` URL.
    """

    kind = "none"
    target: str

    @property
    def label(self) -> str:
        """The target as it may be shown to a person or written to a log (no password)."""
        return safe_label(self.target)

    def transaction(self) -> ContextManager[Tx]:  # pragma: no cover - every engine overrides
        raise NotImplementedError

    def reader(self) -> ContextManager[Tx]:  # pragma: no cover
        raise NotImplementedError

    def refresh_statistics(self) -> None:
        """After a bulk load: let the planner see the new row counts (PostgreSQL's ANALYZE; DuckDB keeps its
        statistics as it writes)."""

    def schema_lock(self) -> ContextManager[None]:
        """Held while migrating, so two processes starting at once apply each migration once."""
        return nullcontext()

    def size_bytes(self) -> int:  # pragma: no cover
        raise NotImplementedError

    def backup_to(self, path: str, *, leave_out: Mapping[str, str] | None = None) -> None:  # pragma: no cover
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover
        raise NotImplementedError

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
