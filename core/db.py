"""The one module that talks to the database driver.

DuckDB is the default: one file, one connection per process, a cursor per transaction (a DuckDB connection
must never be used from two threads at once). Every statement elsewhere in core is written in the SQL subset
that DuckDB and PostgreSQL both run, with ``$1`` placeholders, so PostgreSQL is an addition here, not a rewrite.

Driver exceptions are translated here and nowhere else:
- a write-write conflict (DuckDB ``TransactionException``) or a duplicate key -> ``WriteConflict`` (retryable);
- another process holding the file -> ``StoreBusy`` naming that process;
- any other constraint violation, or a number out of the column's range -> ``ValidationError``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from core.errors import StoreBusy, ValidationError, WriteConflict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = PROJECT_ROOT / "data" / "inventory.duckdb"

Params = Sequence[Any] | None


def resolve_target(target: str | os.PathLike[str] | None = None) -> str:
    """The database to open: ``target``, else env ``INVENTORY_DB``, else ``data/inventory.duckdb``."""
    chosen = target or os.environ.get("INVENTORY_DB") or DEFAULT_DB
    return str(chosen)


def _holder_of(message: str) -> str:
    """Describe the process named in DuckDB's lock message, with its command line when we can read it."""
    m = re.search(r"PID (\d+)", message)
    if not m:
        return "another process"
    pid = m.group(1)
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        cmd = ""
    return f"process {pid} ({cmd})" if cmd else f"process {pid}"


def _translate(exc: BaseException) -> BaseException:
    """Map a driver exception to the domain family (or return it unchanged)."""
    text = str(exc)
    if isinstance(exc, duckdb.TransactionException):
        return WriteConflict()
    if isinstance(exc, duckdb.ConstraintException):
        if "Duplicate key" in text or "duplicate key" in text:
            return WriteConflict()
        return ValidationError(f"The change was refused by a database rule: {text.split(':', 1)[-1].strip()}")
    if isinstance(exc, duckdb.OutOfRangeException):
        return ValidationError("A quantity or amount would be too large to store; nothing was saved.")
    if isinstance(exc, duckdb.IOException) and "lock" in text.lower():
        return StoreBusy(f"The database is in use by {_holder_of(text)}. Stop it, or use the app, then try again.")
    return exc


class Tx:
    """A cursor inside one transaction (or, from ``Database.reader``, in autocommit for reads)."""

    kind = "duckdb"

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self._cur = cursor

    def execute(self, sql: str, params: Params = None) -> None:
        try:
            self._cur.execute(sql, params or [])
        except duckdb.Error as exc:
            raise _translate(exc) from exc

    def all(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        self.execute(sql, params)
        return self._cur.fetchall()

    def one(self, sql: str, params: Params = None) -> tuple[Any, ...] | None:
        self.execute(sql, params)
        return self._cur.fetchone()

    def scalar(self, sql: str, params: Params = None) -> Any:
        row = self.one(sql, params)
        return None if row is None else row[0]

    def dicts(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        self.execute(sql, params)
        names = [d[0] for d in self._cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in self._cur.fetchall()]

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        try:
            self._cur.executemany(sql, rows)
        except duckdb.Error as exc:
            raise _translate(exc) from exc

    def frame(self, sql: str, params: Params = None) -> Any:
        """The result as a pandas DataFrame."""
        self.execute(sql, params)
        return self._cur.df()

    def load_frame(self, table: str, frame: Any) -> None:
        """Bulk-insert a pandas DataFrame whose columns are named as ``table``'s (a staging table)."""
        name = f"_frame_{threading.get_ident()}"
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        self._cur.register(name, frame)
        try:
            self.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {name}")
        finally:
            self._cur.unregister(name)


class Database:
    """One open database. Thread-safe: each transaction gets its own cursor."""

    kind = "duckdb"

    def __init__(self, target: str | os.PathLike[str] | None = None) -> None:
        self.target = resolve_target(target)
        if "://" in self.target:
            raise ValidationError.single(
                "db",
                f"{self.target.split('://')[0]}:// databases are not supported by this version; give a DuckDB file path.",
            )
        try:
            if self.target != ":memory:":
                Path(self.target).parent.mkdir(parents=True, exist_ok=True)
            self._con = duckdb.connect(self.target)
        except duckdb.Error as exc:
            translated = _translate(exc)
            if translated is exc:
                raise StoreBusy(f"Cannot open the database {self.target}: {exc}") from exc
            raise translated from exc
        except OSError as exc:  # the folder cannot be created: a sentence, not a traceback
            raise StoreBusy(f"Cannot open the database {self.target}: {exc.strerror or exc}.") from exc
        self._lock = threading.Lock()
        self.closed = False

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:  # creating a cursor touches the shared connection
            return self._con.cursor()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        cur = self._cursor()
        try:
            cur.execute("BEGIN TRANSACTION")
            try:
                yield Tx(cur)
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            try:
                cur.execute("COMMIT")
            except duckdb.Error as exc:
                raise _translate(exc) from exc
        finally:
            cur.close()

    @contextmanager
    def reader(self) -> Iterator[Tx]:
        """A cursor for reads outside an explicit transaction."""
        cur = self._cursor()
        try:
            yield Tx(cur)
        finally:
            cur.close()

    def size_bytes(self) -> int:
        try:
            return os.path.getsize(self.target)
        except OSError:
            return 0

    def backup_to(self, path: str) -> None:
        """Write a consistent, openable copy of the whole database to ``path`` (a new DuckDB file)."""
        with self.reader() as tx:
            name = tx.scalar("SELECT current_database()")
            tx.execute(f"ATTACH '{_sql_text(path)}' AS backup_target")
            try:
                tx.execute(f'COPY FROM DATABASE "{name}" TO backup_target')
            finally:
                tx.execute("DETACH backup_target")

    def close(self) -> None:
        if not self.closed:
            self._con.close()
            self.closed = True

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sql_text(value: str) -> str:
    return value.replace("'", "''")
