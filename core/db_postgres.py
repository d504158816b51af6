"""The PostgreSQL engine behind ``core.db``'s interface, for several app processes on one database.

``Database("postgresql://...")`` (``INVENTORY_DB`` or ``--db``) returns ``PostgresDatabase``: a psycopg 3 connection
pool (env ``INVENTORY_DB_POOL`` connections a process, default 10), sessions in UTC, every transaction at REPEATABLE
READ. A row another transaction changed since this one's snapshot is then a serialization failure (SQLSTATE 40001),
translated to ``WriteConflict`` like DuckDB's optimistic conflicts, so ``core.ops.run`` retries the operation: a
read-then-write (a count against the version it read, an existence check before an insert) never acts on a stale
read. Statements are core's ``$1`` SQL, sent as they are through psycopg's ``RawCursor``; bulk loads use COPY.

With ``core.db`` the only module that imports a database driver (psycopg here, duckdb there).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import psycopg
import psycopg_pool
from psycopg import errors as pg_errors

from core.db import TOO_LARGE, Database, Params, Tx, first_line, resolve_target
from core.errors import StoreBusy, ValidationError, WriteConflict

DEFAULT_POOL_SIZE = 10


def _translate_pg(exc: BaseException) -> BaseException:
    """Map a psycopg exception to the domain family (or return it unchanged)."""
    if isinstance(exc, pg_errors.SerializationFailure | pg_errors.DeadlockDetected | pg_errors.UniqueViolation):
        return WriteConflict()
    if isinstance(exc, psycopg.IntegrityError):
        diag = exc.diag
        rule = diag.constraint_name or diag.message_primary or "a constraint"
        return ValidationError(f"The change was refused by a database rule: {rule}")
    if isinstance(exc, pg_errors.NumericValueOutOfRange):
        return ValidationError(TOO_LARGE)
    if isinstance(exc, psycopg.OperationalError | psycopg_pool.PoolTimeout):
        return StoreBusy(f"The PostgreSQL database cannot be reached right now ({first_line(exc)}). Try again.")
    return exc


class PgTx(Tx):
    """The same interface on a psycopg 3 ``RawCursor`` (``$1`` placeholders) inside a pooled connection."""

    kind = "postgres"

    def execute(self, sql: str, params: Params = None) -> None:
        try:
            self._cur.execute(sql, params or None)
        except psycopg.Error as exc:
            raise _translate_pg(exc) from exc

    def _fetchall(self) -> list[tuple[Any, ...]]:
        return self._cur.fetchall() if self._cur.description is not None else []

    def _fetchone(self) -> tuple[Any, ...] | None:
        return self._cur.fetchone() if self._cur.description is not None else None

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        try:
            self._cur.executemany(sql, rows)
        except psycopg.Error as exc:
            raise _translate_pg(exc) from exc

    def frame(self, sql: str, params: Params = None) -> pd.DataFrame:
        """The result as a pandas DataFrame, typed as DuckDB's would be (numbers as numbers, times as datetimes)."""
        self.execute(sql, params)
        names = [d.name for d in self._cur.description or []]
        frame = pd.DataFrame.from_records(self._fetchall(), columns=names, coerce_float=True)
        for name in names:
            column = frame[name]
            if column.dtype == object and len(column) and column.map(type).eq(Decimal).any():
                frame[name] = pd.to_numeric(column, errors="coerce").astype("float64")
        return frame

    def load_frame(self, table: str, frame: pd.DataFrame) -> None:
        """Bulk-insert a pandas DataFrame whose columns are named as ``table``'s, with COPY."""
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        values = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
        try:
            with self._cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row([_plain(v) for v in row])
        except psycopg.Error as exc:
            raise _translate_pg(exc) from exc


def _plain(value: Any) -> Any:
    """A pandas/numpy cell as a value psycopg can write (numpy scalars become Python ones)."""
    if value is None:
        return None
    item = getattr(value, "item", None)
    if item is not None and not isinstance(value, str | bytes):
        value = item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():  # a whole-number column with gaps arrives as floats: COPY wants "3", not "3.0"
            return int(value)
    return value


class PostgresDatabase(Database):
    """A PostgreSQL database shared by several app processes, through a psycopg 3 connection pool.

    Pool size: env ``INVENTORY_DB_POOL`` (default 10 connections a process). Sessions run in UTC.
    """

    kind = "postgres"

    def __init__(self, target: str | os.PathLike[str] | None = None) -> None:
        self.target = resolve_target(target)
        size = _pool_size()
        self._pool = psycopg_pool.ConnectionPool(
            self.target,
            min_size=1,
            max_size=size,
            kwargs={"cursor_factory": psycopg.RawCursor, "options": "-c timezone=UTC", "connect_timeout": 10},
            configure=_configure,
            open=False,
            timeout=30,
            name="inventory",
        )
        try:
            self._pool.open(wait=True, timeout=15)
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            self._pool.close()
            reason = _connect_failure(self.target)
            raise StoreBusy(f"Cannot open the PostgreSQL database {self.label}: {reason}") from exc
        self.closed = False

    @contextmanager
    def _connection(self, *, autocommit: bool = False) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._pool.connection() as conn:
                conn.autocommit = autocommit
                yield conn
        except psycopg.Error as exc:
            raise _translate_pg(exc) from exc
        except psycopg_pool.PoolTimeout as exc:
            raise StoreBusy("The PostgreSQL database is busy: no connection became free in time. Try again.") from exc

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One REPEATABLE READ transaction: committed when the block ends, rolled back if it raises."""
        with self._connection() as conn, conn.cursor() as cur:
            try:
                yield PgTx(cur)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    @contextmanager
    def reader(self) -> Iterator[Tx]:
        """Reads on one snapshot (a REPEATABLE READ transaction that commits nothing)."""
        with self._connection() as conn, conn.cursor() as cur:
            try:
                yield PgTx(cur)
            finally:
                conn.rollback()

    @contextmanager
    def schema_lock(self) -> Iterator[None]:
        """A session advisory lock: a second process starting at the same time waits, then finds it all done."""
        with self._connection(autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(7340011)")
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(7340011)")

    def size_bytes(self) -> int:
        with self.reader() as tx:
            return int(tx.scalar("SELECT pg_database_size(current_database())") or 0)

    def catalog(self, tx: Tx) -> tuple[list[str], list[tuple[str, int]]]:
        """The schema's tables, and its sequences with the last value each handed out (those used at all)."""
        tables = tx.all(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            " AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
        sequences = tx.all(
            "SELECT sequencename, last_value FROM pg_sequences"
            " WHERE schemaname = current_schema() AND last_value IS NOT NULL ORDER BY sequencename"
        )
        return [t[0] for t in tables], [(s[0], int(s[1])) for s in sequences]

    def close(self) -> None:
        if not self.closed:
            self._pool.close()
            self.closed = True


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ


def _pool_size() -> int:
    raw = os.environ.get("INVENTORY_DB_POOL", "")
    try:
        return max(1, int(raw)) if raw else DEFAULT_POOL_SIZE
    except ValueError:
        message = f"INVENTORY_DB_POOL must be a whole number, not {raw!r}."
        raise ValidationError.single("INVENTORY_DB_POOL", message) from None


def _connect_failure(target: str) -> str:
    """Why a connection fails, in the server's words (first line), without the password."""
    try:
        psycopg.connect(target, connect_timeout=5).close()
    except psycopg.Error as exc:
        return first_line(exc).replace(urlsplit(target).password or "\0", "***")
    return "no connection became ready in time."
