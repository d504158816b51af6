"""``PgTx.load_frame`` (COPY in text format, built a column at a time) against a real PostgreSQL server: what each
pandas column type becomes in the table, NULL versus empty text, the characters COPY's text format must escape,
whole floats in INTEGER columns, frames longer than one slice sent, and any text at all round-tripping unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import open_db
from core.db import Database
from tests.conftest import TEMPLATE
from tests.pg_server import PgServer


@pytest.fixture(scope="module")
def pg(pg_server: PgServer) -> Iterator[Database]:
    """One migrated PostgreSQL database for this file: every load goes into a TEMP table dropped at its commit."""
    url = pg_server.new_database(TEMPLATE)
    db = open_db(url)
    yield db
    db.close()
    pg_server.drop_database(url)


def loaded(db: Database, columns: str, frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Load ``frame`` into a new TEMP table ``t (pos INTEGER, <columns>)`` and read it back in ``pos`` order."""
    frame = frame.copy()
    frame.insert(0, "pos", np.arange(len(frame)))
    names = ", ".join(frame.columns[1:])
    with db.transaction() as tx:  # nothing stays behind
        tx.execute(f"CREATE TEMP TABLE t (pos INTEGER, {columns}) ON COMMIT DROP")
        tx.load_frame("t", frame)
        return tx.all(f"SELECT {names} FROM t ORDER BY pos")


TRICKY = ["", "plain", "tab\there", "new\nline", "cr\rlf\r\n", "back\\slash", "\\N", "\\.", "\\", 'say "hi"', "a,b;c"]


def test_text__null_stays_null_empty_stays_empty_and_special_characters_round_trip(pg):
    values = [*TRICKY, None, "émoji 🧃 ünïcode"]
    for dtype in ("str", object):
        frame = pd.DataFrame({"v": pd.Series(values, dtype=dtype)})
        assert [r[0] for r in loaded(pg, "v VARCHAR", frame)] == values, dtype


def test_text__a_column_in_several_arrow_chunks_and_an_arrow_typed_column(pg):
    chunked = pd.concat([pd.Series(["a", None], dtype="str"), pd.Series(["b\tc", ""], dtype="str")], ignore_index=True)
    typed = pd.Series(pd.array(["x", None, "y\\", "z"], dtype=pd.ArrowDtype(pa.string())))
    rows = loaded(pg, "s VARCHAR, t VARCHAR", pd.DataFrame({"s": chunked, "t": typed}))
    assert rows == [("a", "x"), (None, None), ("b\tc", "y\\"), ("", "z")]


def test_integers__whole_floats_with_gaps_go_into_integer_columns_as_integers(pg):
    frame = pd.DataFrame(
        {
            "a": [1.0, np.nan, -0.0],  # a whole-number column with gaps arrives as floats
            "b": pd.array([7, None, -2], dtype="Int64"),
            "c": np.array([1, 2, 3], dtype=np.int64),
            "d": [1e16, 2.0**62, np.nan],  # whole, beyond any float's decimals shown
        }
    )
    rows = loaded(pg, "a INTEGER, b INTEGER, c BIGINT, d BIGINT", frame)
    assert rows == [(1, 7, 1, 10**16), (None, None, 2, 2**62), (0, -2, 3, None)]


def test_decimals__from_floats_decimals_and_text(pg):
    frame = pd.DataFrame(
        {
            "f": [1.5, 0.1, 2.25, np.nan],
            "d": [Decimal("12.30"), Decimal("0.05"), None, Decimal("-3")],
            "s": pd.Series(["1697.82", None, "3", "0.10"], dtype="str"),
            "x": [0.1 + 0.2, 1 / 3, 12345.5, 1e-5],
        }
    )
    rows = loaded(pg, "f DECIMAL(12, 2), d DECIMAL(12, 2), s DECIMAL(12, 2), x DOUBLE PRECISION", frame)
    assert [r[:3] for r in rows] == [
        (Decimal("1.50"), Decimal("12.30"), Decimal("1697.82")),
        (Decimal("0.10"), Decimal("0.05"), None),
        (Decimal("2.25"), None, Decimal("3.00")),
        (None, Decimal("-3.00"), Decimal("0.10")),
    ]
    assert [r[3] for r in rows] == [0.1 + 0.2, 1 / 3, 12345.5, 1e-5]  # the exact same doubles


def test_booleans__numpy_nullable_and_objects(pg):
    frame = pd.DataFrame(
        {
            "a": np.array([True, False, True]),
            "b": pd.array([True, None, False], dtype="boolean"),
            "c": pd.Series([None, True, False], dtype=object),
        }
    )
    rows = loaded(pg, "a BOOLEAN, b BOOLEAN, c BOOLEAN", frame)
    assert rows == [(True, True, None), (False, None, True), (True, False, False)]


def test_times__aware_and_naive_timestamps_dates_and_object_datetimes(pg):
    moment = datetime(2024, 3, 31, 1, 30, 15, 123456, tzinfo=UTC)
    frame = pd.DataFrame(
        {
            "utc": pd.Series([moment, None], dtype="datetime64[us, UTC]"),
            "paris": pd.Series([moment, moment]).dt.tz_convert("Europe/Paris"),
            "naive": pd.Series([datetime(2024, 1, 2, 3, 4, 5), None], dtype="datetime64[us]"),
            "day": [date(2024, 2, 29), None],
            "obj": pd.Series([moment.astimezone(timezone(timedelta(hours=5, minutes=30))), None], dtype=object),
        }
    )
    rows = loaded(pg, "utc TIMESTAMPTZ, paris TIMESTAMPTZ, naive TIMESTAMP, day DATE, obj TIMESTAMPTZ", frame)
    assert rows == [
        (moment, moment, datetime(2024, 1, 2, 3, 4, 5), date(2024, 2, 29), moment),
        (None, moment, None, None, None),
    ]


def test_odd_columns__mixed_objects_categories_bytes_and_durations_render_a_cell_at_a_time(pg):
    frame = pd.DataFrame(
        {
            "mixed": pd.Series([1, "a\tb", 2.0, None, np.int64(5), True], dtype=object),
            "cat": pd.Categorical(["x", None, "y\\z", "x", "", "y\\z"]),
            "raw": [b"\x00\xff\\", None, b"", b"ab", b"\n", b"\t"],
            "span": pd.to_timedelta(["1 days 02:00:00", None, "1.5s", "0s", "-3s", "00:00:00.000001"]),
        }
    )
    rows = loaded(pg, "mixed VARCHAR, cat VARCHAR, raw BYTEA, span INTERVAL", frame)
    assert [r[0] for r in rows] == ["1", "a\tb", "2", None, "5", "t"]
    assert [r[1] for r in rows] == ["x", None, "y\\z", "x", "", "y\\z"]
    assert [None if r[2] is None else bytes(r[2]) for r in rows] == [b"\x00\xff\\", None, b"", b"ab", b"\n", b"\t"]
    assert [r[3] for r in rows] == [
        timedelta(days=1, hours=2),
        None,
        timedelta(seconds=1.5),
        timedelta(0),
        timedelta(seconds=-3),
        timedelta(microseconds=1),
    ]


def test_a_frame_longer_than_one_slice__arrives_whole_and_in_order(pg):
    n = 120_001  # three slices of COPY text
    frame = pd.DataFrame({"n": np.arange(n), "s": pd.Series([f"r{i}" for i in range(n)], dtype="str")})
    frame = frame.set_axis(np.arange(n)[::-1] * 3)  # an index that is neither 0..n-1 nor sorted
    with pg.transaction() as tx:
        tx.execute("CREATE TEMP TABLE big (n INTEGER, s VARCHAR) ON COMMIT DROP")
        tx.load_frame("big", frame)
        count, total, mismatched = tx.one(
            "SELECT count(*), sum(n), count(*) FILTER (WHERE s <> 'r' || n) FROM big"
        ) or (0, 0, 0)
    assert (count, total, mismatched) == (n, n * (n - 1) // 2, 0)


def test_an_empty_frame__loads_nothing(pg):
    frame = pd.DataFrame({"a": pd.Series([], dtype="Int64"), "b": pd.Series([], dtype="str")})
    assert loaded(pg, "a INTEGER, b VARCHAR", frame) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00")),
            st.sampled_from(TRICKY),
        ),
        max_size=30,
    )
)
def test_any_text__round_trips_unchanged(pg, values):
    frame = pd.DataFrame({"v": pd.Series(values, dtype="str")})
    assert [r[0] for r in loaded(pg, "v VARCHAR", frame)] == values
