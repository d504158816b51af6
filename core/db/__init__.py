"""The database adapter: the interface every other module uses, and the DuckDB engine.

Two engines behind one interface (``Database`` opens a transaction, ``Tx`` runs statements in it):
- DuckDB, the default (this module): one file, one connection per process, a cursor per transaction (a DuckDB
  connection must never be used from two threads at once).
- PostgreSQL, for several app processes on one database (``core.db.postgres``): ``INVENTORY_DB=postgresql://...``
  opens a psycopg 3 connection pool; every transaction runs at REPEATABLE READ, so a row changed by another
  transaction since this one's snapshot is a serialization failure, exactly like DuckDB's optimistic write conflict.
  psycopg is imported only when a PostgreSQL target is opened.

Every statement elsewhere in core is written in the SQL subset both engines run, with ``$1`` placeholders (psycopg's
``RawCursor`` sends them to the server as they are). ``Database(target)`` picks the engine from the target.

Driver exceptions are translated in the two adapter modules and nowhere else:
- a write-write conflict (DuckDB ``TransactionException``, PostgreSQL serialization failure or deadlock) or a
  duplicate key -> ``WriteConflict`` (the runner retries the whole operation);
- another process holding the DuckDB file, or a PostgreSQL server that cannot be reached -> ``StoreBusy``;
- any other constraint violation, or a number out of the column's range -> ``ValidationError``;
- a full disk (DuckDB's "No space left on device", whatever exception class carries it; PostgreSQL's SQLSTATE
  53100) -> ``DiskFull``, never a conflict: retrying cannot help.

A DuckDB checkpoint that fails (a full disk) invalidates the connection: every later statement fails until the
database is opened again. ``DuckDatabase`` notices and reopens the file on its next transaction, so once space is
freed the app works again without a restart (the file itself is intact: the WAL is replayed on opening).
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager as ContextManager
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from core.base.errors import DiskFull, DuplicateKey, StoreBusy, TooLarge, ValidationError, WriteConflict

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


@functools.cache
def local_timezone() -> str:
    """The time zone DuckDB works in here (the machine's): PostgreSQL sessions are set to the same one, so both
    engines cut days and show times alike."""
    con = duckdb.connect(":memory:")
    try:
        return str(con.execute("SELECT current_setting('TimeZone')").fetchone()[0])  # type: ignore[index]
    finally:
        con.close()


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


TOO_LARGE = TooLarge.WRITE


DISK_FULL_TEXT = "No space left on device"
COMMITTED_TEXT = "COMMIT succeeded and is durable"  # DuckDB: the commit stands, the automatic checkpoint failed


def _written_file(text: str) -> str | None:
    m = re.search(r'(?:write|open|create|extend) file "([^"]+)"', text)
    return m.group(1) if m else None


def _translate(exc: BaseException) -> BaseException:
    """Map a driver exception to the domain family (or return it unchanged)."""
    text = str(exc)
    if DISK_FULL_TEXT in text:  # a commit's WAL write (TransactionException), a checkpoint (FatalException)...
        return DiskFull(_written_file(text))
    if isinstance(exc, duckdb.TransactionException):
        return WriteConflict()
    if isinstance(exc, duckdb.ConstraintException):
        if "Duplicate key" in text or "duplicate key" in text:
            return DuplicateKey()
        return ValidationError(f"The change was refused by a database rule: {text.split(':', 1)[-1].strip()}")
    if isinstance(exc, duckdb.OutOfRangeException):
        return TooLarge()
    if isinstance(exc, duckdb.IOException) and "lock" in text.lower():
        return StoreBusy(f"The database is in use by {_holder_of(text)}. Stop it, or use the app, then try again.")
    return exc


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class Tx:
    """A cursor inside one transaction (or, from ``Database.reader``, a read-only view of the database)."""

    kind = "duckdb"
    driver_error: type[Exception] = duckdb.Error  # the engine's exceptions, and how they become domain errors
    translate = staticmethod(_translate)

    def __init__(self, cursor: Any) -> None:
        self._cur = cursor

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

    def frame(self, sql: str, params: Params = None) -> pd.DataFrame:
        """The result as a pandas DataFrame."""
        self.execute(sql, params)
        return self._cur.df()

    def frames(self, sql: str, rows: int = FRAME_ROWS) -> Iterator[pd.DataFrame]:
        """The result as DataFrames of up to about ``rows`` rows each (never all of a large table in memory)."""
        self.execute(sql)
        while True:
            chunk = self._cur.fetch_df_chunk(max(1, rows // 2048))
            if not len(chunk):
                return
            yield chunk

    def load_frame(self, table: str, frame: pd.DataFrame) -> None:
        """Bulk-insert a pandas DataFrame whose columns are named as ``table``'s (a staging table)."""
        name = f"_frame_{threading.get_ident()}"
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        self._cur.register(name, frame)
        try:
            self.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {name}")
        finally:
            self._cur.unregister(name)


class Database:
    """One open database. Thread-safe: each transaction gets its own cursor (DuckDB) or connection (PostgreSQL).

    ``Database(target)`` returns the engine's subclass: ``PostgresDatabase`` for a ``postgresql://`` URL,
    ``DuckDatabase`` for a file path (or ``:memory:``).
    """

    kind = "duckdb"
    target: str

    def __new__(cls, target: str | os.PathLike[str] | None = None) -> Database:
        if cls is Database:
            if is_postgres(check_target(resolve_target(target))):
                from core.db.postgres import PostgresDatabase  # psycopg is loaded only when PostgreSQL is used

                cls = PostgresDatabase
            else:
                cls = DuckDatabase
        return super().__new__(cls)

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


class DuckDatabase(Database):
    """A DuckDB file (the default): one connection per process, a cursor per transaction."""

    kind = "duckdb"

    def __init__(self, target: str | os.PathLike[str] | None = None) -> None:
        self.target = check_target(resolve_target(target))
        if is_postgres(self.target):
            raise ValidationError.single("db", "A postgresql:// URL is opened with Database(url), not DuckDatabase.")
        try:
            if self.target != ":memory:":
                Path(self.target).parent.mkdir(parents=True, exist_ok=True)
            self._con = self._connect("")
        except OSError as exc:  # the folder cannot be created: a sentence, not a traceback
            if exc.errno == errno.ENOSPC:
                raise DiskFull(str(Path(self.target).parent)) from exc
            raise StoreBusy(f"Cannot open the database {self.target}: {exc.strerror or exc}.") from exc
        self._lock = threading.Lock()
        self._invalidated = False
        self.closed = False

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:  # creating a cursor touches the shared connection
            if self._invalidated:
                self._reopen()
            return self._con.cursor()

    def _reopen(self) -> None:
        """Open the file again after a fatal error (a checkpoint that failed on a full disk) invalidated the
        connection. Raises ``DiskFull`` (or ``StoreBusy``) while it still cannot be opened; the next call tries
        again."""
        try:
            self._con.close()
        except duckdb.Error:
            pass
        self._con = self._connect(" again")
        self._invalidated = False

    def _connect(self, again: str) -> duckdb.DuckDBPyConnection:
        """A connection to the file. Raises ``DiskFull`` or ``StoreBusy`` (another process holds it) with a sentence."""
        try:
            return duckdb.connect(self.target)
        except duckdb.Error as exc:
            translated = _translate(exc)
            if translated is exc:
                raise StoreBusy(f"Cannot open the database {self.target}{again}: {first_line(exc)}") from exc
            raise translated from exc

    def _note_failure(self, exc: BaseException) -> None:
        """Remember a fatal driver error (it invalidates the whole connection): the next cursor reopens."""
        cause = exc if isinstance(exc, duckdb.Error) else exc.__cause__
        if isinstance(cause, duckdb.FatalException):
            self._invalidated = True

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        cur = self._cursor()
        try:
            try:
                cur.execute("BEGIN TRANSACTION")
            except duckdb.Error as exc:
                self._note_failure(exc)
                raise _translate(exc) from exc
            try:
                yield Tx(cur)
            except BaseException as exc:
                self._note_failure(exc)
                try:
                    cur.execute("ROLLBACK")
                except duckdb.Error as failed:  # an invalidated connection cannot roll back: the error stays
                    self._note_failure(failed)
                raise
            try:
                cur.execute("COMMIT")
            except duckdb.Error as exc:
                self._note_failure(exc)
                if COMMITTED_TEXT not in str(exc):
                    raise _translate(exc) from exc
                # the commit is durable, only the checkpoint after it failed (a full disk): the work is saved, and the
                # next transaction reopens the file
                logging.getLogger("inventory").warning("checkpoint failed after a commit", extra={"error": str(exc)})
        finally:
            cur.close()

    @contextmanager
    def reader(self) -> Iterator[Tx]:
        """A cursor for reads outside an explicit transaction."""
        cur = self._cursor()
        try:
            yield Tx(cur)
        except BaseException as exc:
            self._note_failure(exc)
            raise
        finally:
            cur.close()

    def size_bytes(self) -> int:
        try:
            return os.path.getsize(self.target)
        except OSError:
            return 0

    def backup_to(self, path: str, *, leave_out: Mapping[str, str] | None = None) -> None:
        """Write a consistent, openable copy of the whole database to ``path`` (a new DuckDB file): the schema with
        its sequences, then every table's rows, except the rows a ``leave_out`` condition (table -> SQL condition)
        selects. Raises ``DiskFull`` when the disk fills; the caller removes the partial file."""
        leave_out = leave_out or {}
        with self.reader() as tx:
            name = tx.scalar("SELECT current_database()")
            tx.execute(f"ATTACH '{_sql_text(path)}' AS backup_target")
            try:
                tx.execute("BEGIN TRANSACTION")  # one snapshot for every table: the app may keep writing
                try:
                    tables = tx.all(
                        "SELECT table_name FROM duckdb_tables() WHERE database_name = $1 AND schema_name = 'main'",
                        [name],
                    )
                    tx.execute(f'COPY FROM DATABASE "{name}" TO backup_target (SCHEMA)')
                    for (table,) in tables:
                        where = f" WHERE NOT ({leave_out[table]})" if table in leave_out else ""
                        tx.execute(f'INSERT INTO backup_target."{table}" SELECT * FROM "{name}"."{table}"{where}')
                    tx.execute("COMMIT")
                except BaseException:
                    with suppress(Exception):  # after a failed COMMIT no transaction is left to roll back
                        tx.execute("ROLLBACK")
                    raise
            finally:
                tx.execute("DETACH backup_target")

    def close(self) -> None:
        if not self.closed:
            self._con.close()
            self.closed = True


def _sql_text(value: str) -> str:
    return value.replace("'", "''")
