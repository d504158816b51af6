"""The PostgreSQL engine behind ``core.db``'s interface, for several app processes on one database.

``core.open_db("postgresql://...")`` (``INVENTORY_DB`` or ``--db``) opens ``PostgresDatabase``: a psycopg 3
connection pool (env ``INVENTORY_DB_POOL`` connections a process, default 10), sessions in the time zone DuckDB
works in, every transaction at REPEATABLE READ. A row another transaction changed since this one's snapshot is then
a serialization failure (SQLSTATE 40001), translated to ``WriteConflict`` like DuckDB's optimistic conflicts, so
``core.domain.ops.run`` retries the operation: a read-then-write (a count against the version it read, an existence
check before an insert) never acts on a stale read. Statements are core's ``$1`` SQL, sent as they are through
psycopg's ``RawCursor``; bulk loads use COPY.

Imports only the interface (``core.db.engine``); ``core.open_db`` opens this engine for a PostgreSQL target and
passes it the time zone sessions use. With ``core.db.duck`` the only module that imports a database driver (psycopg
here, duckdb there).
"""

from __future__ import annotations

import codecs
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import psycopg_pool
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict

from core.base.errors import DiskFull, DuplicateKey, StoreBusy, TooLarge, ValidationError, WriteConflict
from core.db.engine import FRAME_ROWS, Database, Params, Tx, first_line, resolve_target

DEFAULT_POOL_SIZE = 10
TEXT = pa.large_string()  # COPY fields
NULL_FIELD = pa.scalar("\\N", TEXT)
COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def _translate_pg(exc: BaseException) -> BaseException:
    """Map a psycopg exception to the domain family (or return it unchanged)."""
    if isinstance(exc, pg_errors.DiskFull):  # SQLSTATE 53100: the server's disk; retrying cannot help
        return DiskFull("the PostgreSQL server's data folder")
    if isinstance(exc, pg_errors.UniqueViolation):
        return DuplicateKey()
    if isinstance(exc, pg_errors.SerializationFailure | pg_errors.DeadlockDetected):
        return WriteConflict()
    if isinstance(exc, psycopg.IntegrityError):
        diag = exc.diag
        rule = diag.constraint_name or diag.message_primary or "a constraint"
        return ValidationError(f"The change was refused by a database rule: {rule}")
    if isinstance(exc, pg_errors.NumericValueOutOfRange):
        return TooLarge()
    if isinstance(exc, psycopg.OperationalError | psycopg_pool.PoolTimeout):
        return StoreBusy(f"The PostgreSQL database cannot be reached right now ({first_line(exc)}). Try again.")
    return exc


class PgTx(Tx):
    """The same interface on a psycopg 3 ``RawCursor`` (``$1`` placeholders) inside a pooled connection."""

    kind = "postgres"
    driver_error = psycopg.Error
    translate = staticmethod(_translate_pg)

    def _fetchall(self) -> list[tuple[Any, ...]]:
        return self._cur.fetchall() if self._cur.description is not None else []

    def _fetchone(self) -> tuple[Any, ...] | None:
        return self._cur.fetchone() if self._cur.description is not None else None

    def frame(self, sql: str, params: Params = None) -> pd.DataFrame:
        """The result as a pandas DataFrame, typed as DuckDB's would be (numbers as numbers, times as datetimes)."""
        self.execute(sql, params)
        return _to_frame(self._fetchall(), [d.name for d in self._cur.description or []])

    def frames(self, sql: str, rows: int = FRAME_ROWS) -> Iterator[pd.DataFrame]:
        """The result as DataFrames of up to ``rows`` rows each, through a server-side cursor in this transaction
        (never all of a large table in memory)."""
        try:
            with psycopg.RawServerCursor(self._cur.connection, f"frames_{id(self)}") as cur:
                cur.execute(sql)
                names = [d.name for d in cur.description or []]
                while batch := cur.fetchmany(rows):
                    yield _to_frame(batch, names)
        except psycopg.Error as exc:
            raise _translate_pg(exc) from exc

    def load_frame(self, table: str, frame: pd.DataFrame) -> None:
        """Bulk-insert a pandas DataFrame whose columns are named as ``table``'s, with one COPY in text format.

        Each column becomes COPY text at once (``_plain``, vectorised in pyarrow: no Python work per cell for the
        usual column types); the rows are joined in pyarrow and sent 50,000 at a time (bounded memory). Raises
        ``ValidationError`` when the table refuses a value by a rule, ``WriteConflict``/``StoreBusy`` as any statement;
        a value the column cannot take (text in an INTEGER column) raises psycopg's ``DataError`` (a program error).
        """
        slice_rows = 50_000
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        encoding = codecs.lookup(self._cur.connection.info.encoding).name
        tab, newline, empty = (pa.scalar(c, TEXT) for c in ("\t", "\n", ""))
        try:
            with self._cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for start in range(0, len(frame), slice_rows):
                    part = frame.iloc[start : start + slice_rows]
                    fields = [_plain(part.iloc[:, i]) for i in range(len(part.columns))]
                    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*fields, tab), empty, newline)
                    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset :][: len(lines) + 1]
                    data = memoryview(lines.buffers()[2])[int(offsets[0]) : int(offsets[-1])]
                    copy.write(data if encoding == "utf-8" else bytes(data).decode("utf-8").encode(encoding))
        except psycopg.Error as exc:
            raise _translate_pg(exc) from exc


def _plain(column: pd.Series) -> Any:
    r"""One pandas column as COPY text-format fields: a pyarrow ``large_string`` array without nulls.

    NULL (None, NaN, NaT, pd.NA) is ``\N``, so an empty string stays an empty string; backslash, tab, newline and
    carriage return are escaped (``\\``, ``\t``, ``\n``, ``\r``); booleans are ``t``/``f``; a whole float is
    written as an integer (``3``, not ``3.0``: a whole-number column with gaps arrives as floats, and an INTEGER
    column refuses ``3.0``), any other float in its shortest exact form; Decimals, dates, times and timestamps
    (with their UTC offset) in PostgreSQL's input syntax. A column pyarrow cannot type as one of those (mixed
    objects, bytes, durations) is rendered a cell at a time the same way (``_cell``). Raises nothing of its own.
    """
    fields, is_text = _typed_fields(_arrow_values(column), column)
    if is_text and pc.any(pc.match_substring_regex(fields, r"[\\\t\n\r]")).as_py():
        for raw, escaped in COPY_ESCAPES:
            fields = pc.replace_substring(fields, raw, escaped)
    return pc.fill_null(fields, NULL_FIELD)


def _arrow_values(column: pd.Series) -> Any:
    """The column as one pyarrow array, typed by pyarrow; text cell by cell when pyarrow cannot type it."""
    try:
        values = pa.array(column, from_pandas=True)
        if isinstance(values, pa.ChunkedArray):  # an Arrow-backed column may come in chunks
            values = values.combine_chunks()
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        values = pa.array([_cell(v) for v in column], type=TEXT)
    return values


def _typed_fields(values: Any, column: pd.Series) -> tuple[Any, bool]:
    """``values`` as text fields (nulls kept), and whether they may hold characters COPY needs escaped."""
    kind = values.type
    if pa.types.is_boolean(kind):
        return pc.if_else(values, "t", "f").cast(TEXT), False
    if pa.types.is_floating(kind):
        return _float_fields(values), False
    if pa.types.is_integer(kind) or pa.types.is_decimal(kind) or pa.types.is_date(kind) or _is_moment(kind):
        return values.cast(TEXT), False
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind):
        return values.cast(TEXT), True
    return pa.array([_cell(v) for v in column], type=TEXT), True  # categories, bytes, durations, nested values


def _is_moment(kind: Any) -> bool:
    return bool(pa.types.is_timestamp(kind) or pa.types.is_time(kind))


def _float_fields(values: Any) -> Any:
    """Floats as text: a whole number as an integer (``3``), any other in its shortest exact form; NaN is null."""
    numbers = values.cast(pa.float64())
    numbers = pc.if_else(pc.is_nan(numbers), pa.scalar(None, pa.float64()), numbers)
    whole = pc.and_(pc.equal(pc.floor(numbers), numbers), pc.less(pc.abs(numbers), 2.0**63))
    integers = pc.if_else(whole, numbers, 0.0).cast(pa.int64()).cast(TEXT)
    return pc.if_else(whole, integers, numbers.cast(TEXT))


def _cell(value: Any) -> str | None:
    """One value as a COPY text field (``None`` for NULL), when its column is rendered a cell at a time: bytes as
    bytea hex, a duration in days, seconds and microseconds, anything else as ``_plain`` writes its type."""
    try:
        if value is None or bool(pd.isna(value)):
            return None
    except (TypeError, ValueError):  # a list-like cell is not missing
        pass
    item = getattr(value, "item", None)
    if item is not None and not isinstance(value, str | bytes):
        value = item()  # a numpy scalar as the Python one
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"{value.days} days {value.seconds} seconds {value.microseconds} microseconds"
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    return str(value)


def _to_frame(records: list[tuple[Any, ...]], names: list[str]) -> pd.DataFrame:
    """Rows as a DataFrame typed like DuckDB's ``df()``: DECIMAL columns as float64, not objects."""
    frame = pd.DataFrame.from_records(records, columns=names, coerce_float=True)
    for name in names:
        column = frame[name]
        if column.dtype == object and len(column) and column.map(type).eq(Decimal).any():
            frame[name] = pd.to_numeric(column, errors="coerce").astype("float64")
    return frame


class PostgresDatabase(Database):
    """A PostgreSQL database shared by several app processes, through a psycopg 3 connection pool.

    Pool size: env ``INVENTORY_DB_POOL`` (default 10 connections a process, at least 2). Sessions use the time zone
    ``time_zone`` (``core.open_db`` passes the one DuckDB works in, ``core.db.duck.local_timezone``), so both engines
    cut days alike; JIT compilation is off (it cost whole seconds on the short analytical queries here).
    """

    kind = "postgres"

    def __init__(self, target: str | os.PathLike[str] | None = None, *, time_zone: str) -> None:
        self.target = resolve_target(target)
        size = _pool_size()
        self._held = threading.local()  # how many pooled connections this thread holds (see _connection)
        self._pool = psycopg_pool.ConnectionPool(
            self.target,
            min_size=1,
            max_size=size,
            kwargs={
                "cursor_factory": psycopg.RawCursor,
                "options": f"-c timezone={time_zone} -c jit=off",
                "connect_timeout": 10,
            },
            configure=_configure,
            check=psycopg_pool.ConnectionPool.check_connection,  # a connection lost to a restart is replaced
            open=False,
            timeout=30,
            name="inventory",
        )
        try:
            _refused_for_good(self.target)
            self._pool.open(wait=True, timeout=15)
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            self._pool.close()
            reason = _connect_failure(self.target)
            raise StoreBusy(f"Cannot open the PostgreSQL database {self.label}: {reason}") from exc
        self.closed = False

    @contextmanager
    def _connection(
        self, *, autocommit: bool = False, read_only: bool = False, counted: bool = True
    ) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection for one block. A thread asking for a second while it holds one could deadlock the
        pool (every thread holding one, waiting for another): with env ``INVENTORY_STRICT_POOL=1`` (the tests)
        that raises at once; code passes its open ``Tx`` down instead."""
        depth = getattr(self._held, "depth", 0)
        if depth and counted and os.environ.get("INVENTORY_STRICT_POOL") == "1":
            raise RuntimeError("a second pooled connection was asked for while this thread holds one")
        self._held.depth = depth + (1 if counted else 0)
        try:
            with self._pool.connection() as conn:
                conn.autocommit = autocommit
                conn.read_only = read_only  # sent with BEGIN: no extra round trip
                yield conn
        except psycopg.Error as exc:
            raise _translate_pg(exc) from exc
        except psycopg_pool.PoolTimeout as exc:
            raise StoreBusy("The PostgreSQL database is busy: no connection became free in time. Try again.") from exc
        finally:
            self._held.depth = depth

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
        """Reads on one snapshot: a READ ONLY, REPEATABLE READ transaction (a write in it is a bug, and fails)."""
        with self._connection(read_only=True) as conn, conn.cursor() as cur:
            try:
                yield PgTx(cur)
            finally:
                conn.rollback()

    @contextmanager
    def schema_lock(self) -> Iterator[None]:
        """A session advisory lock: a second process starting at the same time waits, then finds it all done.
        Its connection is held while the migrations take another (hence a pool of at least two)."""
        with self._connection(autocommit=True, counted=False) as conn:
            conn.execute("SELECT pg_advisory_lock(7340011)")
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(7340011)")

    def refresh_statistics(self) -> None:
        """ANALYZE now rather than when autovacuum gets round to it: right after a demo load the dashboard's plan
        took 2.6 s without statistics and 0.1 s with them."""
        with self._connection(autocommit=True) as conn:
            conn.execute("ANALYZE")

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
        return max(2, int(raw)) if raw else DEFAULT_POOL_SIZE
    except ValueError:
        message = f"INVENTORY_DB_POOL must be a whole number, not {raw!r}."
        raise ValidationError.single("INVENTORY_DB_POOL", message) from None


# The server answered, but may let us in a moment later (starting up, shutting down, too many connections).
_COME_BACK_LATER = ("starting up", "shutting down", "too many clients", "recovery mode", "not yet accepting")


def _refused_for_good(target: str) -> None:
    """Raise at once when the server answers that this connection can never work (``FATAL: database "x" does not
    exist``, a wrong password, no such role): waiting for the pool would only delay that sentence by the pool's
    whole timeout. A server that does not answer yet, or says to come back later, is waited for by the pool.
    (libpq gives no SQLSTATE for a refused connection, so its words decide; unknown words mean waiting.)"""
    try:
        psycopg.connect(target, connect_timeout=10).close()
    except psycopg.OperationalError as exc:
        text = str(exc)
        if "FATAL:" in text and not any(words in text for words in _COME_BACK_LATER):
            raise


def _connect_failure(target: str) -> str:
    """Why a connection fails, in the server's words (first line), without the password."""
    password = None
    try:
        password = conninfo_to_dict(target).get("password")
        psycopg.connect(target, connect_timeout=5).close()
    except psycopg.Error as exc:
        text = first_line(exc)
        return text.replace(str(password), "***") if password else text
    return "no connection became ready in time."
