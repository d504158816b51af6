"""The DuckDB engine (the default): one database file, one connection per process, a cursor per transaction (a
DuckDB connection must never be used from two threads at once). Implements ``core.db.engine``'s interface and
translates DuckDB's exceptions into the domain's:

- a write-write conflict (``TransactionException``) -> ``WriteConflict`` (the runner retries the whole operation), a
  duplicate key -> ``DuplicateKey``;
- another process holding the file -> ``StoreBusy``;
- any other constraint violation -> ``ValidationError``, a number out of the column's range -> ``TooLarge``;
- a full disk ("No space left on device", whatever exception class carries it) -> ``DiskFull``, never a conflict.

A checkpoint that fails (a full disk) invalidates the connection: every later statement fails until the database is
opened again. ``DuckDatabase`` notices and reopens the file on its next transaction, so once space is freed the app
works again without a restart (the file itself is intact: the WAL is replayed on opening).
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb
import pandas as pd

from core.base.errors import DiskFull, DuplicateKey, StoreBusy, TooLarge, ValidationError, WriteConflict
from core.db.engine import FRAME_ROWS, Database, Params, Tx, check_target, first_line, is_postgres, resolve_target


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


class DuckTx(Tx):
    """The interface on a DuckDB cursor: DataFrames straight from DuckDB, bulk loads through a registered frame."""

    kind = "duckdb"
    translate = staticmethod(_translate)
    driver_error = duckdb.Error

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


class DuckDatabase(Database):
    """A DuckDB file (the default): one connection per process, a cursor per transaction."""

    kind = "duckdb"

    def __init__(self, target: str | os.PathLike[str] | None = None) -> None:
        self.target = check_target(resolve_target(target))
        if is_postgres(self.target):
            raise ValidationError.single(
                "db", "A postgresql:// URL is opened with core.open_db(url), not DuckDatabase."
            )
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
    def transaction(self) -> Iterator[DuckTx]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        cur = self._cursor()
        try:
            try:
                cur.execute("BEGIN TRANSACTION")
            except duckdb.Error as exc:
                self._note_failure(exc)
                raise _translate(exc) from exc
            try:
                yield DuckTx(cur)
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
    def reader(self) -> Iterator[DuckTx]:
        """A cursor for reads outside an explicit transaction."""
        cur = self._cursor()
        try:
            yield DuckTx(cur)
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
